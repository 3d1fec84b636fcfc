//! The fallback strategies of `fallback = ..`, `fallback_value = ..` and `cache(..)`: what a
//! stage is, parsed and judged here (each mistake a `syn::Error` on its token); `plan` and
//! `expand::fallback` take them from there.
//!
//! ```text
//! fallback = Self::replica                       a function (as before)
//! fallback = default                             the empty response
//! fallback_value = Ok(Vec::new())                a value (same as `fallback = value(Ok(Vec::new()))`)
//! fallback = cache, cache(max_entries = 1000, max_stale = "15m")
//! fallback = [cache, Self::replica, default]     tried in order, the first that answers wins
//! ```

use crate::args::RawArg;
use crate::lit;
use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{Expr, ExprPath, Lit, Path};

/// One fallback strategy, as written.
#[derive(Clone)]
pub(crate) enum Stage {
    /// A function (`f`, `Self::f`, `module::f`).
    Function(Path),
    /// The last-good cache: `cache`.
    Cache(Span),
    /// The empty response: `default`.
    Empty(Span),
    /// A value: `value(expr)` in a chain, or `fallback_value = expr`.
    Value(Expr),
}

impl Stage {
    /// Whether the stage always answers (no stage after it could run).
    pub(crate) fn always_answers(&self) -> bool {
        matches!(self, Stage::Empty(_) | Stage::Value(_))
    }

    /// The stage as written, for the fallback's log event and trace events.
    pub(crate) fn written(&self) -> String {
        match self {
            Stage::Function(path) => quote::ToTokens::to_token_stream(path).to_string().replace(' ', ""),
            Stage::Cache(_) => "cache".to_owned(),
            Stage::Empty(_) => "default".to_owned(),
            Stage::Value(_) => "value".to_owned(),
        }
    }

    fn span(&self) -> Span {
        match self {
            Stage::Function(path) => path.span(),
            Stage::Cache(span) | Stage::Empty(span) => *span,
            Stage::Value(expr) => expr.span(),
        }
    }
}

/// `cache(max_entries = .., max_stale = "..")`.
#[derive(Clone, Copy)]
pub(crate) struct CacheConfig {
    pub(crate) max_entries: u64,
    pub(crate) max_stale_nanos: u64,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_entries: 10_000,
            max_stale_nanos: 15 * 60 * 1_000_000_000,
        }
    }
}

const STAGE_HELP: &str = "`fallback` expects a function path (`fallback = my_fn`, `fallback = Self::my_fn`), `cache`, `default`, `value(expr)`, or a list of them tried in order: `fallback = [cache, Self::my_fn, default]`";

/// The stages of `fallback = ..`, in order; every mistake in them reported at once.
pub(crate) fn stages(expr: &Expr) -> Result<Vec<Stage>, syn::Error> {
    let written: Vec<&Expr> = match lit::ungroup(expr) {
        Expr::Array(array) if array.elems.is_empty() => {
            return Err(syn::Error::new_spanned(
                array,
                "an empty fallback chain: list at least one fallback",
            ));
        }
        Expr::Array(array) => array.elems.iter().collect(),
        other => vec![other],
    };
    let mut errors: Option<syn::Error> = None;
    let mut push = |err: syn::Error| match &mut errors {
        Some(all) => all.combine(err),
        None => errors = Some(err),
    };
    let mut out: Vec<Stage> = Vec::new();
    for expr in written {
        let stage = match stage(expr) {
            Ok(stage) => stage,
            Err(err) => {
                push(err);
                continue;
            }
        };
        if let Some(last) = out.last().filter(|s| s.always_answers()) {
            push(syn::Error::new(
                stage.span(),
                format!(
                    "this fallback never runs: `{}` before it always answers",
                    last.written()
                ),
            ));
        }
        let twice = match &stage {
            Stage::Cache(_) => out.iter().any(|s| matches!(s, Stage::Cache(_))),
            _ => false,
        };
        if twice {
            push(syn::Error::new(stage.span(), "`cache` appears twice in this chain"));
        }
        #[cfg(not(feature = "fallback-cache"))]
        if let Stage::Cache(span) = &stage {
            push(syn::Error::new(
                *span,
                "`fallback = cache` needs cb-runtime's `fallback-cache` feature: `cb-runtime = { version = \"..\", features = [\"fallback-cache\"] }`",
            ));
        }
        out.push(stage);
    }
    match errors {
        Some(err) => Err(err),
        None => Ok(out),
    }
}

fn stage(expr: &Expr) -> syn::Result<Stage> {
    match lit::ungroup(expr) {
        Expr::Path(ExprPath { path, qself: None, .. }) => Ok(match path.get_ident() {
            Some(ident) if ident == "cache" => Stage::Cache(ident.span()),
            Some(ident) if ident == "default" => Stage::Empty(ident.span()),
            _ => Stage::Function(path.clone()),
        }),
        Expr::Path(ExprPath {
            qself: Some(_), path, ..
        }) => {
            let f = path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
            Err(syn::Error::new_spanned(
                expr,
                format!(
                    "`fallback` cannot name a function through a qualified path `<T as Trait>::{f}`: name a function or method directly (`fallback = Self::{f}` when the trait is in scope and the name is unambiguous)"
                ),
            ))
        }
        Expr::Call(call) if matches!(&*call.func, Expr::Path(p) if p.path.is_ident("value")) => match call.args.len() {
            1 => Ok(Stage::Value(call.args[0].clone())),
            _ => Err(syn::Error::new_spanned(
                call,
                "`value(..)` takes one expression: `value(Ok(Vec::new()))`",
            )),
        },
        Expr::Lit(syn::ExprLit { lit: Lit::Str(s), .. }) if s.parse::<Path>().is_ok() => Err(syn::Error::new_spanned(
            expr,
            format!(
                "`fallback` expects a path, not a string: write `fallback = {}`",
                s.value()
            ),
        )),
        Expr::Array(array) => Err(syn::Error::new_spanned(
            array,
            "a fallback chain cannot hold another chain",
        )),
        _ => Err(syn::Error::new_spanned(expr, STAGE_HELP)),
    }
}

/// `cache(..)`'s settings, every mistake at once.
pub(crate) fn cache_config(arg: &RawArg) -> syn::Result<CacheConfig> {
    let mut config = CacheConfig::default();
    let Some(nested) = &arg.nested else {
        return Err(syn::Error::new_spanned(
            &arg.key,
            "`cache` takes its settings in parentheses: `cache(max_entries = 10_000, max_stale = \"15m\")`; to serve from the cache write `fallback = cache`",
        ));
    };
    let mut errors: Option<syn::Error> = None;
    let mut seen = Vec::new();
    for setting in &nested.args {
        let name = setting.key.to_string();
        let result = match (name.as_str(), &setting.value) {
            _ if seen.contains(&name) => Err(syn::Error::new_spanned(
                &setting.key,
                format!("duplicate `cache` setting `{name}`"),
            )),
            ("max_entries", Some(v)) => lit::int(v, "max_entries", 1, 100_000_000).map(|n| config.max_entries = n),
            ("max_stale", Some(v)) => lit::duration(v, "max_stale").map(|n| config.max_stale_nanos = n),
            ("max_entries" | "max_stale", None) => Err(syn::Error::new_spanned(
                &setting.key,
                format!("`{name}` expects a value: `{name} = ...`"),
            )),
            _ => Err(syn::Error::new_spanned(
                &setting.key,
                format!("unknown `cache` setting `{name}`; expected `max_entries` or `max_stale`"),
            )),
        };
        seen.push(name);
        if let Err(err) = result {
            match &mut errors {
                Some(all) => all.combine(err),
                None => errors = Some(err),
            }
        }
    }
    match errors {
        Some(err) => Err(err),
        None => Ok(config),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse(tokens: proc_macro2::TokenStream) -> Result<Vec<String>, Vec<String>> {
        let expr: Expr = syn::parse2(tokens).unwrap();
        stages(&expr)
            .map(|s| s.iter().map(Stage::written).collect())
            .map_err(|e| e.into_iter().map(|e| e.to_string()).collect())
    }

    #[test]
    fn reads_stages_and_chains() {
        assert_eq!(parse(quote!(Self::cached)).unwrap(), ["Self::cached"]);
        assert_eq!(parse(quote!(default)).unwrap(), ["default"]);
        assert_eq!(
            parse(quote!([replica, Self::other, value(Ok(vec![]))])).unwrap(),
            ["replica", "Self::other", "value"]
        );
    }

    #[test]
    fn refuses_what_cannot_work() {
        assert_eq!(
            parse(quote!([default, replica])).unwrap_err(),
            ["this fallback never runs: `default` before it always answers"]
        );
        assert_eq!(
            parse(quote!([])).unwrap_err(),
            ["an empty fallback chain: list at least one fallback"]
        );
        assert_eq!(parse(quote!([3, "f"])).unwrap_err().len(), 2);
        assert_eq!(
            parse(quote!(value(1, 2))).unwrap_err(),
            ["`value(..)` takes one expression: `value(Ok(Vec::new()))`"]
        );
    }
}
