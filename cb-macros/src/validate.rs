//! Turns raw arguments into typed ones: every key known and allowed where it stands, every
//! value in range, no duplicates, consistent combinations. Errors go to the `Ctxt`, spanned on
//! the offending key or literal.

use crate::args::{RawArg, RawArgs};
use crate::ctxt::Ctxt;
use crate::lit::{self, WindowValue};
use crate::strategy::{self, CacheConfig, Stage};
use crate::symbol::{self, Kind, Scope};
use proc_macro2::Span;
use std::collections::HashSet;
use syn::{Expr, ExprPath, Lit};

/// A configuration value, typed.
pub(crate) enum SettingValue {
    Preset(&'static str),
    Int(u64),
    Float(f64),
    Duration(u64),
    Window(WindowValue),
    /// `"off"`: the `Toggle` variant of the key.
    Off(&'static str),
}

/// Keys that `"off"` turns off, with their `Toggle` variant.
const TOGGLES: [(&str, &str); 4] = [
    ("consecutive_failures", "ConsecutiveFailures"),
    ("failure_rate_threshold", "FailureRateThreshold"),
    ("slow_call_rate_threshold", "SlowCallRateThreshold"),
    ("half_open_max_wait", "HalfOpenMaxWait"),
];

/// One configuration key with its value.
pub(crate) struct Setting {
    pub(crate) key: &'static str,
    pub(crate) value: SettingValue,
}

/// The validated arguments of one `#[circuit_breaker(...)]`.
#[derive(Default)]
pub(crate) struct Args {
    /// A string literal, or an expression naming a `&'static str` constant (`NAME`,
    /// `concat!(..)`), which the compiler checks where the name is used.
    pub(crate) name: Option<Expr>,
    /// In application order: a preset first, then the keys as written.
    pub(crate) settings: Vec<Setting>,
    pub(crate) krate: Option<syn::Path>,
    /// The fallback's stages in order (`fallback_value = e` is `[value(e)]`).
    pub(crate) fallback: Option<Vec<Stage>>,
    /// `cache(..)`, or its defaults when `cache` is a stage.
    pub(crate) cache: Option<CacheConfig>,
    /// `fallback_value = ..` and the span of its key.
    fallback_value: Option<(Expr, Span)>,
    /// The span of `cache(..)`.
    cache_span: Option<Span>,
    /// Where `max_open_timeout` is written: a method's cap below its type's `open_timeout` is
    /// only found at compile time, and reported there.
    pub(crate) max_open_timeout_span: Option<Span>,
    pub(crate) rejected_only: bool,
    pub(crate) timeout: Option<(u64, Span)>,
    pub(crate) failure_if: Option<syn::Path>,
    pub(crate) ignore_if: Option<syn::Path>,
    pub(crate) key: bool,
    /// `queue = "..."`: the queue's name.
    pub(crate) queue: Option<syn::LitStr>,
    /// The span of `fallback_on`, for combination errors.
    fallback_on: Option<Span>,
}

const PRESETS: [(&str, &str); 3] = [
    ("default", "Default"),
    ("aggressive", "Aggressive"),
    ("lenient", "Lenient"),
];

/// Validates `raw` for an attribute standing at `scope`.
pub(crate) fn args(raw: &RawArgs, scope: Scope, cx: &mut Ctxt) -> Args {
    let mut out = Args::default();
    let mut seen = HashSet::new();
    let mut preset = None;
    let mut open_timeout = None;
    let mut max_open_timeout: Option<(u64, Span)> = None;
    for arg in &raw.args {
        let name = arg.key.to_string();
        let Some(key) = symbol::lookup(&name) else {
            let hint = match symbol::did_you_mean(&name) {
                Some(close) => format!("did you mean `{close}`?"),
                None => format!("expected one of {}", symbol::allowed(scope)),
            };
            cx.error_spanned_by(&arg.key, format!("unknown circuit_breaker argument `{name}`; {hint}"));
            continue;
        };
        if !allowed_at(key.scope, scope) {
            cx.error_spanned_by(&arg.key, misplaced(key.name, key.scope, scope));
            continue;
        }
        if !seen.insert(key.name) {
            cx.error_spanned_by(&arg.key, format!("duplicate circuit_breaker argument `{}`", key.name));
            continue;
        }
        if key.kind == Kind::List {
            match strategy::cache_config(arg) {
                Ok(config) => out.cache = Some(config),
                Err(err) => cx.syn_error(err),
            }
            out.cache_span = Some(arg.key.span());
            continue;
        }
        let Some(value) = value_of(arg, key.kind, cx) else {
            continue;
        };
        if let (Kind::Expr, Some(expr)) = (key.kind, value) {
            out.fallback_value = Some((expr.clone(), arg.key.span()));
            continue;
        }
        let result = read(&mut out, key.name, key.kind, value, &mut preset);
        match result {
            Ok(Some(Setting {
                key: "open_timeout",
                value: SettingValue::Duration(d),
            })) => {
                open_timeout = Some(d);
                out.settings.push(Setting {
                    key: "open_timeout",
                    value: SettingValue::Duration(d),
                });
            }
            Ok(Some(Setting {
                key: "max_open_timeout",
                value: SettingValue::Duration(d),
            })) => {
                max_open_timeout = Some((d, arg.key.span()));
                out.max_open_timeout_span = Some(arg.key.span());
                out.settings.push(Setting {
                    key: "max_open_timeout",
                    value: SettingValue::Duration(d),
                });
            }
            Ok(Some(setting)) => out.settings.push(setting),
            Ok(None) => {}
            Err(err) => cx.syn_error(err),
        }
    }
    if let Some(p) = preset {
        out.settings.insert(
            0,
            Setting {
                key: "preset",
                value: SettingValue::Preset(p),
            },
        );
    }
    if let (Some(open), Some((max, span))) = (open_timeout, max_open_timeout)
        && max < open
    {
        cx.error_at(span, "`max_open_timeout` must be at least `open_timeout`");
    }
    strategies(&mut out, cx);
    if let (Some(span), None) = (out.fallback_on, &out.fallback) {
        cx.error_at(span, "`fallback_on` has no effect without `fallback`");
    }
    out
}

/// Folds `fallback_value` into the stages and checks `cache(..)` against them.
fn strategies(out: &mut Args, cx: &mut Ctxt) {
    match (out.fallback_value.take(), &out.fallback) {
        (Some((_, span)), Some(_)) => cx.error_at(
            span,
            "`fallback_value` and `fallback` cannot both be set: put the value last in the chain, `fallback = [.., value(..)]`",
        ),
        (Some((expr, _)), None) => out.fallback = Some(vec![Stage::Value(expr)]),
        (None, _) => {}
    }
    let caches = out.fallback.iter().flatten().any(|s| matches!(s, Stage::Cache(_)));
    let judged = out.fallback.as_ref().is_none_or(|stages| !stages.is_empty());
    match (caches, out.cache_span) {
        (false, Some(span)) if judged => cx.error_at(span, "`cache(..)` has no effect without `cache` in `fallback`"),
        (true, _) if out.cache.is_none() => out.cache = Some(CacheConfig::default()),
        _ => {}
    }
}

fn allowed_at(key: Scope, at: Scope) -> bool {
    key == at || (key == Scope::Both && at != Scope::Field)
}

fn misplaced(key: &str, key_scope: Scope, at: Scope) -> String {
    match (key_scope, at) {
        (Scope::Field, _) => format!("`{key}` belongs on a field of a `#[derive(CircuitProtected)]` struct"),
        (_, Scope::Field) => format!("a field takes only `#[circuit_breaker(key)]`, not `{key}`"),
        _ => format!("`{key}` belongs on a function or method, not on the struct"),
    }
}

fn value_of<'a>(arg: &'a RawArg, kind: Kind, cx: &mut Ctxt) -> Option<Option<&'a Expr>> {
    if arg.nested.is_some() {
        cx.error_spanned_by(&arg.key, format!("`{0}` takes no list: write `{0} = ...`", arg.key));
        return None;
    }
    match (kind, &arg.value) {
        (Kind::Flag, None) => Some(None),
        (Kind::Flag, Some(v)) => {
            cx.error_spanned_by(v, format!("`{}` takes no value", arg.key));
            None
        }
        (_, None) => {
            cx.error_spanned_by(&arg.key, format!("`{0}` expects a value: `{0} = ...`", arg.key));
            None
        }
        (_, Some(v)) => Some(Some(v)),
    }
}

/// Reads one key's value into `out`; a configuration key becomes a `Setting`.
fn read(
    out: &mut Args,
    key: &'static str,
    kind: Kind,
    value: Option<&Expr>,
    preset: &mut Option<&'static str>,
) -> syn::Result<Option<Setting>> {
    let Some(expr) = value else {
        out.key = true;
        return Ok(None);
    };
    let setting = |value| Ok(Some(Setting { key, value }));
    if TOGGLES.iter().any(|(k, _)| *k == key)
        && let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = lit::ungroup(expr)
        && s.value() != "off"
        && s.value().trim().eq_ignore_ascii_case("off")
    {
        return Err(syn::Error::new_spanned(
            s,
            format!("`{key}` is turned off with \"off\" in lower case: `{key} = \"off\"`"),
        ));
    }
    if let Some((_, toggle)) = TOGGLES.iter().find(|(k, _)| *k == key)
        && let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = lit::ungroup(expr)
        && kind != Kind::Duration
    {
        return match s.value().as_str() {
            "off" => setting(SettingValue::Off(toggle)),
            number if number.parse::<f64>().is_ok() => Err(syn::Error::new_spanned(
                s,
                format!("`{key}` expects a number without quotes: `{key} = {number}` (only \"off\" is a string)"),
            )),
            percent
                if percent
                    .strip_suffix('%')
                    .is_some_and(|n| n.trim().parse::<f64>().is_ok()) =>
            {
                let fraction = percent.trim_end_matches('%').trim().parse::<f64>().unwrap_or_default() / 100.0;
                Err(syn::Error::new_spanned(
                    s,
                    format!("`{key}` is a fraction, not a percentage: write `{key} = {fraction:?}`"),
                ))
            }
            other => Err(syn::Error::new_spanned(
                s,
                format!("`{key}` expects a number or \"off\", found \"{other}\""),
            )),
        };
    }
    if TOGGLES.iter().any(|(k, _)| *k == key) && spells_off(lit::ungroup(expr)) {
        return Err(syn::Error::new_spanned(
            expr,
            format!("`{key}` is turned off with a string: `{key} = \"off\"`"),
        ));
    }
    if let Some((_, toggle)) = TOGGLES.iter().find(|(k, _)| *k == key)
        && let Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) = lit::ungroup(expr)
        && s.value() == "off"
    {
        return setting(SettingValue::Off(toggle));
    }
    match (key, kind) {
        ("name", _) => {
            out.name = Some(name(expr)?);
            Ok(None)
        }
        ("preset", _) => {
            let s = lit::string(expr, key)?;
            let found = PRESETS.iter().find(|(name, _)| *name == s.value()).ok_or_else(|| {
                let msg = format!(
                    "unknown preset `{}`: expected one of default, aggressive, lenient",
                    s.value()
                );
                syn::Error::new_spanned(&s, msg)
            })?;
            *preset = Some(found.1);
            Ok(None)
        }
        ("queue", _) => {
            out.queue = Some(crate::queue::name(expr)?);
            Ok(None)
        }
        ("crate", _) => {
            out.krate = Some(lit::string(expr, key)?.parse()?);
            Ok(None)
        }
        ("fallback_on", _) => {
            let s = lit::string(expr, key)?;
            out.rejected_only = match s.value().as_str() {
                "rejected" => true,
                "any" => false,
                _ => {
                    return Err(syn::Error::new_spanned(
                        &s,
                        "`fallback_on` must be \"rejected\" or \"any\"",
                    ));
                }
            };
            out.fallback_on = Some(s.span());
            Ok(None)
        }
        ("fallback", _) => {
            // A fallback with mistakes still counts as given (no "without `fallback`" errors).
            out.fallback = Some(Vec::new());
            out.fallback = Some(strategy::stages(expr)?);
            Ok(None)
        }
        ("timeout", _) => {
            out.timeout = Some((lit::duration(expr, key)?, expr_span(expr)));
            Ok(None)
        }
        (_, Kind::Path) => {
            let path = match lit::ungroup(expr) {
                Expr::Path(ExprPath { path, qself: None, .. }) => path.clone(),
                Expr::Path(ExprPath {
                    qself: Some(_), path, ..
                }) => {
                    let f = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
                    return Err(syn::Error::new_spanned(
                        expr,
                        format!(
                            "`{key}` cannot name a function through a qualified path `<T as Trait>::{f}`: name a function or method directly (`{key} = Self::{f}` when the trait is in scope and the name is unambiguous)"
                        ),
                    ));
                }
                Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) if s.parse::<syn::Path>().is_ok() => {
                    return Err(syn::Error::new_spanned(
                        expr,
                        format!("`{key}` expects a path, not a string: write `{key} = {}`", s.value()),
                    ));
                }
                _ => {
                    return Err(syn::Error::new_spanned(
                        expr,
                        format!("`{key}` expects a path to a function, e.g. `{key} = my_fn` or `{key} = Self::my_fn`"),
                    ));
                }
            };
            match key {
                "failure_if" => out.failure_if = Some(path),
                _ => out.ignore_if = Some(path),
            }
            Ok(None)
        }
        (_, Kind::Duration) => setting(SettingValue::Duration(lit::duration(expr, key)?)),
        (_, Kind::Rate) => setting(SettingValue::Float(lit::rate(expr, key)?)),
        (_, Kind::Int { min, max }) => setting(SettingValue::Int(lit::int(expr, key, min, max)?)),
        (
            _,
            Kind::Float {
                min,
                max,
                max_inclusive,
            },
        ) => setting(SettingValue::Float(lit::float(expr, key, min, max, max_inclusive)?)),
        (_, Kind::Window) => setting(SettingValue::Window(lit::window(expr)?)),
        _ => Ok(None),
    }
}

/// Whether a toggle's value spells "off" as something other than the string: `off`, `Off`,
/// `None`, `false`.
fn spells_off(expr: &Expr) -> bool {
    match expr {
        Expr::Path(p) => {
            p.qself.is_none()
                && p.path
                    .get_ident()
                    .is_some_and(|i| i == "off" || i == "Off" || i == "OFF" || i == "None")
        }
        Expr::Lit(syn::ExprLit { lit: Lit::Bool(b), .. }) => !b.value,
        _ => false,
    }
}

/// A breaker name: a non-empty string literal, or a constant path or macro call (`NAME`,
/// `Type::NAME`, `concat!(..)`) that the compiler checks is a `&'static str` constant; not
/// `Self::NAME`, which the call site's `static` cannot name.
fn name(expr: &Expr) -> syn::Result<Expr> {
    match lit::ungroup(expr) {
        Expr::Lit(l) => match &l.lit {
            Lit::Str(s) if s.value().is_empty() => Err(syn::Error::new_spanned(s, "`name` must not be empty")),
            Lit::Str(_) => Ok(Expr::Lit(l.clone())),
            _ => Err(syn::Error::new_spanned(expr, NAME_HELP)),
        },
        Expr::Path(p) if p.qself.is_none() && p.path.segments.len() > 1 && p.path.segments[0].ident == "Self" => {
            Err(syn::Error::new_spanned(
                expr,
                format!(
                    "`name` cannot read a constant through `Self` (the name is read in a `static`, which cannot name `Self`): name the type, `name = Type::{}`",
                    p.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default()
                ),
            ))
        }
        Expr::Macro(m)
            if m.mac
                .path
                .segments
                .last()
                .is_some_and(|s| s.ident == "format" || s.ident == "format_args") =>
        {
            Err(syn::Error::new_spanned(
                expr,
                "`name` is read at compile time into a `static`, but `format!` builds a `String` at run time: write a literal or `concat!(..)` (`name = concat!(\"billing-\", \"eu\")`); for one breaker per instance, derive `CircuitProtected` with a `#[circuit_breaker(key)]` field (breakers `name/key`)",
            ))
        }
        e @ (Expr::Path(_) | Expr::Macro(_)) => Ok(e.clone()),
        _ => Err(syn::Error::new_spanned(expr, NAME_HELP)),
    }
}

/// `max_keys` and `idle_ttl` limit a keyed family: written for one breaker (a function with
/// a literal name without `/`, or a derived type without a key field), they could never apply.
/// `why` says why there is one breaker and what to do, for the message.
pub(crate) fn family_limits_on_one_breaker(raw: &RawArgs, why: &str, cx: &mut Ctxt) {
    for arg in raw.args.iter().filter(|a| a.key == "max_keys" || a.key == "idle_ttl") {
        cx.error_spanned_by(
            &arg.key,
            format!("`{}` limits a keyed family (one breaker per key), {why}", arg.key),
        );
    }
}

const NAME_HELP: &str =
    "`name` expects a string literal or a `&'static str` constant, e.g. `name = \"billing\"` or `name = BILLING`";

fn expr_span(expr: &Expr) -> Span {
    syn::spanned::Spanned::span(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors(tokens: proc_macro2::TokenStream, scope: Scope) -> Vec<String> {
        let raw: RawArgs = syn::parse2(tokens).unwrap();
        let mut cx = Ctxt::new();
        args(&raw, scope, &mut cx);
        match cx.check() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn reports_every_mistake_at_once() {
        let errs = errors(
            quote!(
                name = "a",
                timout = "2s",
                name = "b",
                failure_rate_threshold = 1.5,
                fallback_on = "rejected"
            ),
            Scope::Function,
        );
        assert_eq!(
            errs,
            [
                "unknown circuit_breaker argument `timout`; did you mean `timeout`?",
                "duplicate circuit_breaker argument `name`",
                "`failure_rate_threshold` must be in (0.0, 1.0]",
                "`fallback_on` has no effect without `fallback`",
            ]
        );
    }

    #[test]
    fn keys_are_checked_against_where_they_stand() {
        assert_eq!(
            errors(quote!(fallback = f), Scope::Both),
            ["`fallback` belongs on a function or method, not on the struct"]
        );
        assert_eq!(
            errors(quote!(key), Scope::Function),
            ["`key` belongs on a field of a `#[derive(CircuitProtected)]` struct"]
        );
        assert_eq!(
            errors(quote!(name = "x"), Scope::Field),
            ["a field takes only `#[circuit_breaker(key)]`, not `name`"]
        );
    }

    #[test]
    fn a_preset_applies_before_the_keys_beside_it() {
        let raw: RawArgs = syn::parse2(quote!(open_timeout = "5s", preset = "lenient")).unwrap();
        let mut cx = Ctxt::new();
        let a = args(&raw, Scope::Function, &mut cx);
        cx.check().unwrap();
        let keys: Vec<_> = a.settings.iter().map(|s| s.key).collect();
        assert_eq!(keys, ["preset", "open_timeout"]);
    }

    #[test]
    fn triggers_can_be_turned_off() {
        let raw: RawArgs = syn::parse2(quote!(
            consecutive_failures = "off",
            failure_rate_threshold = "off",
            slow_call_rate_threshold = "off",
            half_open_max_wait = "off"
        ))
        .unwrap();
        let mut cx = Ctxt::new();
        let a = args(&raw, Scope::Both, &mut cx);
        cx.check().unwrap();
        assert!(a.settings.iter().all(|s| matches!(s.value, SettingValue::Off(_))));
        assert_eq!(
            errors(quote!(consecutive_failures = "never"), Scope::Both),
            ["`consecutive_failures` expects a number or \"off\", found \"never\""]
        );
        assert_eq!(
            errors(quote!(open_timeout = "off"), Scope::Both),
            [
                "invalid duration \"off\": expected an integer followed by ms, s, m or h, at most 24h (e.g. \"150ms\", \"2s\")"
            ]
        );
    }

    #[test]
    fn fallback_strategy_rules() {
        assert_eq!(
            errors(quote!(fallback = default, fallback_value = Ok(1)), Scope::Function),
            [
                "`fallback_value` and `fallback` cannot both be set: put the value last in the chain, `fallback = [.., value(..)]`"
            ]
        );
        assert_eq!(
            errors(quote!(fallback = default, cache(max_stale = "1m")), Scope::Function),
            ["`cache(..)` has no effect without `cache` in `fallback`"]
        );
        assert_eq!(
            errors(
                quote!(fallback = [default, 3], cache(max_stale = "1m")),
                Scope::Function
            )
            .len(),
            1,
            "a fallback with mistakes is still given"
        );
        assert_eq!(
            errors(quote!(fallback_value = 3, fallback_on = "rejected"), Scope::Function),
            Vec::<String>::new()
        );
        assert_eq!(
            errors(quote!(fallback(x)), Scope::Function),
            ["`fallback` takes no list: write `fallback = ...`"]
        );
    }

    #[test]
    fn cross_key_rules() {
        assert_eq!(
            errors(quote!(open_timeout = "1m", max_open_timeout = "30s"), Scope::Both),
            ["`max_open_timeout` must be at least `open_timeout`"]
        );
    }
}
