//! Reads literal values: durations, rates, integers, floats, windows; every error is spanned on
//! the literal.

use syn::{Expr, ExprLit, ExprUnary, Lit, LitStr, UnOp};

/// The longest duration any key accepts, as in the runtime (`cb_runtime::config::MAX_DURATION`).
const MAX_DURATION_NANOS: u64 = 24 * 3_600_000_000_000;

const DURATION_HELP: &str = "expected an integer followed by ms, s, m or h, at most 24h (e.g. \"150ms\", \"2s\")";

/// `expr` without the invisible groups `macro_rules!` wraps around `$x:expr` and `$x:literal`.
pub(crate) fn ungroup(expr: &Expr) -> &Expr {
    match expr {
        Expr::Group(g) => ungroup(&g.expr),
        other => other,
    }
}

/// The literal of `expr`, looking through invisible groups and a leading minus sign (reported
/// as out of range).
fn literal(expr: &Expr) -> Option<(&Lit, bool)> {
    match ungroup(expr) {
        Expr::Lit(ExprLit { lit, .. }) => Some((lit, false)),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_), expr, ..
        }) => match ungroup(expr) {
            Expr::Lit(ExprLit { lit, .. }) => Some((lit, true)),
            _ => None,
        },
        _ => None,
    }
}

/// A string literal.
pub(crate) fn string(expr: &Expr, key: &str) -> syn::Result<LitStr> {
    match literal(expr) {
        Some((Lit::Str(s), false)) => Ok(s.clone()),
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` expects a string literal, e.g. `{key} = \"...\"`"),
        )),
    }
}

/// Nanoseconds of a duration string such as "150ms" or "2s".
pub(crate) fn duration(expr: &Expr, key: &str) -> syn::Result<u64> {
    let lit = match literal(expr) {
        Some((Lit::Str(s), false)) => s.clone(),
        Some((Lit::Int(i), false)) => {
            let unit = match i.suffix() {
                unit @ ("ms" | "s" | "m" | "h") => unit,
                _ => "s",
            };
            let msg = format!(
                "`{key}` expects a duration string: write `{key} = \"{}{unit}\"` (an integer followed by ms, s, m or h)",
                i.base10_digits()
            );
            return Err(syn::Error::new_spanned(expr, msg));
        }
        _ => {
            let msg = format!("`{key}` expects a duration string such as `{key} = \"30s\"`: {DURATION_HELP}");
            return Err(syn::Error::new_spanned(expr, msg));
        }
    };
    let nanos = parse_duration(&lit.value())
        .ok_or_else(|| syn::Error::new_spanned(&lit, format!("invalid duration {:?}: {DURATION_HELP}", lit.value())))?;
    if nanos == 0 || nanos > MAX_DURATION_NANOS {
        return Err(syn::Error::new_spanned(
            &lit,
            format!("`{key}` must be positive and at most 24h"),
        ));
    }
    Ok(nanos)
}

/// Parses "150ms", "2s", "5m", "1h" into nanoseconds (saturating: an absurd value is then
/// refused as above the 24h bound, not as malformed).
pub(crate) fn parse_duration(text: &str) -> Option<u64> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let value: u64 = digits.parse().ok()?;
    let scale: u64 = match unit {
        "ms" => 1_000_000,
        "s" => 1_000_000_000,
        "m" => 60_000_000_000,
        "h" => 3_600_000_000_000,
        _ => return None,
    };
    Some(value.saturating_mul(scale))
}

fn number(expr: &Expr, key: &str, what: &str) -> syn::Result<(f64, bool)> {
    match literal(expr) {
        Some((Lit::Int(i), neg)) => {
            let v: f64 = i.base10_parse::<u64>()? as f64;
            Ok((if neg { -v } else { v }, true))
        }
        Some((Lit::Float(f), neg)) => {
            let v: f64 = f.base10_parse()?;
            Ok((if neg { -v } else { v }, false))
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` expects {what}{}", not_a_constant(expr)),
        )),
    }
}

/// Why a constant does not do where a literal is read.
fn not_a_constant(expr: &Expr) -> &'static str {
    match ungroup(expr) {
        Expr::Path(_) => " (the macro reads the value at compile time: it cannot see a constant's value)",
        _ => "",
    }
}

/// `N %` written where a fraction belongs.
fn percentage(expr: &Expr) -> Option<f64> {
    let Expr::Verbatim(tokens) = ungroup(expr) else {
        return None;
    };
    let mut tokens = tokens.clone().into_iter();
    let number = match (tokens.next(), tokens.next(), tokens.next()) {
        (Some(proc_macro2::TokenTree::Literal(n)), Some(proc_macro2::TokenTree::Punct(p)), None)
            if p.as_char() == '%' =>
        {
            n.to_string()
        }
        _ => return None,
    };
    number.parse::<f64>().ok()
}

/// A rate in (0, 1].
pub(crate) fn rate(expr: &Expr, key: &str) -> syn::Result<f64> {
    if let Some(percent) = percentage(expr) {
        let msg = format!(
            "`{key}` is a fraction, not a percentage: write `{key} = {:?}`",
            percent / 100.0
        );
        return Err(syn::Error::new_spanned(expr, msg));
    }
    let (v, is_int) = number(expr, key, &format!("a number in (0.0, 1.0], e.g. `{key} = 0.5`"))?;
    if v > 0.0 && v <= 1.0 {
        Ok(v)
    } else if is_int && v > 1.0 && v <= 100.0 {
        let msg = format!(
            "`{key}` must be in (0.0, 1.0]: a fraction, not a percentage; for {v}% write `{key} = {:?}`",
            v / 100.0
        );
        Err(syn::Error::new_spanned(expr, msg))
    } else {
        Err(syn::Error::new_spanned(expr, format!("`{key}` must be in (0.0, 1.0]")))
    }
}

/// The suffixes an integer literal may carry here: none, or an integer type's.
const INT_SUFFIXES: &[&str] = &[
    "", "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
];

/// A whole number in `min..=max`.
pub(crate) fn int(expr: &Expr, key: &str, min: u64, max: u64) -> syn::Result<u64> {
    let out_of_range = || {
        let rule = if max == u64::from(u32::MAX) {
            format!("at least {min}")
        } else {
            format!("in {min}..={max}")
        };
        syn::Error::new_spanned(expr, format!("`{key}` must be {rule}"))
    };
    match literal(expr) {
        Some((Lit::Int(i), _)) if !INT_SUFFIXES.contains(&i.suffix()) => {
            let msg = match i.suffix() {
                "ms" | "s" | "m" | "h" if key == "window" => format!(
                    "a time `window` is a duration string: write `window = \"{}{}\"` (`window = {0}` counts calls)",
                    i.base10_digits(),
                    i.suffix()
                ),
                suffix => format!(
                    "`{key}` is a number: write `{key} = {}`, without `{suffix}`",
                    i.base10_digits()
                ),
            };
            Err(syn::Error::new_spanned(expr, msg))
        }
        Some((Lit::Int(_), true)) => Err(out_of_range()),
        Some((Lit::Int(i), false)) => {
            let v: u64 = i.base10_parse().map_err(|_| out_of_range())?;
            if (min..=max).contains(&v) {
                Ok(v)
            } else {
                Err(out_of_range())
            }
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            format!(
                "`{key}` expects an integer literal, e.g. `{key} = {min}`{}",
                not_a_constant(expr)
            ),
        )),
    }
}

/// A number in `[min, max]` (or `[min, max)`).
pub(crate) fn float(expr: &Expr, key: &str, min: f64, max: f64, max_inclusive: bool) -> syn::Result<f64> {
    let (v, _) = number(expr, key, &format!("a number literal in [{min:?}, {max:?}]"))?;
    let ok = v >= min && if max_inclusive { v <= max } else { v < max };
    if ok {
        Ok(v)
    } else {
        let close = if max_inclusive { "]" } else { ")" };
        Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` must be in [{min:?}, {max:?}{close}"),
        ))
    }
}

/// A window: an integer is a count window, a duration string a time window.
pub(crate) enum WindowValue {
    Count(u32),
    TimeNanos(u64),
}

pub(crate) fn window(expr: &Expr) -> syn::Result<WindowValue> {
    match literal(expr) {
        Some((Lit::Int(_), _)) => int(expr, "window", 1, 65_535).map(|n| WindowValue::Count(n as u32)),
        Some((Lit::Str(s), false)) if !s.value().is_empty() && s.value().bytes().all(|b| b.is_ascii_digit()) => {
            Err(syn::Error::new_spanned(
                expr,
                format!(
                    "`window` counts calls with a number, without quotes: `window = {}` (a time window is a duration: `window = \"60s\"`)",
                    s.value()
                ),
            ))
        }
        Some((Lit::Str(_), false)) => {
            let nanos = duration(expr, "window")?;
            if (10_000_000..=600_000_000_000).contains(&nanos) {
                Ok(WindowValue::TimeNanos(nanos))
            } else {
                Err(syn::Error::new_spanned(
                    expr,
                    "a time `window` must be between \"10ms\" and \"10m\"",
                ))
            }
        }
        _ => Err(syn::Error::new_spanned(
            expr,
            "`window` expects a call count (e.g. `window = 100`) or a duration (e.g. `window = \"60s\"`)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn expr(tokens: proc_macro2::TokenStream) -> Expr {
        syn::parse2(tokens).unwrap()
    }

    #[test]
    fn a_unit_suffix_is_never_read_as_a_count() {
        assert!(window(&expr(quote!(60s))).is_err(), "60s read as a 60-call window");
        assert!(int(&expr(quote!(5s)), "consecutive_failures", 1, 10).is_err());
        assert_eq!(int(&expr(quote!(5u32)), "consecutive_failures", 1, 10).unwrap(), 5);
        assert!(matches!(window(&expr(quote!(60))), Ok(WindowValue::Count(60))));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("150ms"), Some(150_000_000));
        assert_eq!(parse_duration("2s"), Some(2_000_000_000));
        assert_eq!(parse_duration("5m"), Some(300_000_000_000));
        assert_eq!(parse_duration("1h"), Some(3_600_000_000_000));
        assert_eq!(parse_duration("2 s"), None);
        assert_eq!(parse_duration("s"), None);
        assert_eq!(parse_duration("1.5s"), None);
        let err = duration(&expr(quote!("2 s")), "timeout").unwrap_err();
        assert_eq!(err.to_string(), format!("invalid duration \"2 s\": {DURATION_HELP}"));
        assert_eq!(
            duration(&expr(quote!("0ms")), "timeout").unwrap_err().to_string(),
            "`timeout` must be positive and at most 24h"
        );
        assert_eq!(
            duration(&expr(quote!("99999999h")), "open_timeout")
                .unwrap_err()
                .to_string(),
            "`open_timeout` must be positive and at most 24h"
        );
        assert!(duration(&expr(quote!("24h")), "open_timeout").is_ok());
    }

    #[test]
    fn ranges() {
        assert_eq!(rate(&expr(quote!(0.5)), "r").unwrap(), 0.5);
        assert_eq!(rate(&expr(quote!(1)), "r").unwrap(), 1.0);
        assert!(rate(&expr(quote!(1.5)), "r").is_err());
        assert!(rate(&expr(quote!(0.0)), "r").is_err());
        assert!(int(&expr(quote!(-3)), "n", 1, 10).is_err());
        assert!(int(&expr(quote!(0)), "n", 1, 10).is_err());
        assert_eq!(int(&expr(quote!(7)), "n", 1, 10).unwrap(), 7);
        assert!(float(&expr(quote!(1.0)), "jitter", 0.0, 1.0, false).is_err());
        assert!(matches!(window(&expr(quote!(100))).unwrap(), WindowValue::Count(100)));
        assert!(matches!(
            window(&expr(quote!("60s"))).unwrap(),
            WindowValue::TimeNanos(60_000_000_000)
        ));
        assert!(window(&expr(quote!("1h"))).is_err());
    }

    #[test]
    fn mistakes_show_the_expected_form() {
        let err = |e: syn::Result<_>| e.map(|_: u64| ()).unwrap_err().to_string();
        assert_eq!(
            err(duration(&expr(quote!(30)), "open_timeout")),
            "`open_timeout` expects a duration string: write `open_timeout = \"30s\"` (an integer followed by ms, s, m or h)"
        );
        assert_eq!(
            err(duration(&expr(quote!(150ms)), "timeout")),
            "`timeout` expects a duration string: write `timeout = \"150ms\"` (an integer followed by ms, s, m or h)"
        );
        let percent = rate(&Expr::Verbatim(quote!(50%)), "failure_rate_threshold").unwrap_err();
        assert_eq!(
            percent.to_string(),
            "`failure_rate_threshold` is a fraction, not a percentage: write `failure_rate_threshold = 0.5`"
        );
    }

    #[test]
    fn looks_through_macro_rules_groups() {
        let grouped = Expr::Group(syn::ExprGroup {
            attrs: vec![],
            group_token: Default::default(),
            expr: Box::new(expr(quote!("2s"))),
        });
        assert_eq!(duration(&grouped, "timeout").unwrap(), 2_000_000_000);
    }
}
