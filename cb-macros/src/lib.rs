//! Procedural macros of cb: `#[circuit_breaker]` and `#[derive(CircuitProtected)]`.
//!
//! Use them through `cb_runtime`, which re-exports them:
//!
//! ```
//! use cb_runtime::{circuit_breaker, CallError};
//!
//! #[derive(Debug)]
//! enum EtaError { Upstream, Breaker }
//! impl From<cb_runtime::Rejected> for EtaError {
//!     fn from(_: cb_runtime::Rejected) -> Self { EtaError::Breaker }
//! }
//!
//! #[circuit_breaker(name = "macro-docs-eta", consecutive_failures = 3, open_timeout = "15s")]
//! fn eta(km: u32) -> Result<u32, EtaError> {
//!     if km > 1000 { Err(EtaError::Upstream) } else { Ok(km * 2) }
//! }
//!
//! assert_eq!(eta(10).unwrap(), 20);
//! # let _: Option<CallError<()>> = None;
//! ```
//!
//! The expansion calls the runtime only through `cb_runtime::__private`, with absolute paths.

mod args;
mod cache_key;
mod ctxt;
mod derive;
mod expand;
mod item;
mod lit;
mod plan;
mod queue;
mod signature;
mod strategy;
mod symbol;
mod validate;

use proc_macro::TokenStream;

/// Routes every call of a function or method through a circuit breaker from the global
/// registry, keeping its signature. See the `cb_runtime` crate docs for the arguments.
///
/// The breaker is `name = "..."`; without it, a method's is its `CircuitProtected` type's.
/// A function without `self` needs `name` unless its signature names `Self` (the macro sees
/// the function alone and cannot tell a free function from an associated one);
/// `name = Self` takes the type's breaker explicitly. A function returning a stream is refused:
/// protect its items with `protect_stream` instead.
#[proc_macro_attribute]
pub fn circuit_breaker(args: TokenStream, item: TokenStream) -> TokenStream {
    attr::expand(args.into(), item.into()).into()
}

/// Gives a struct's `#[circuit_breaker]` methods struct-level defaults, and each instance its
/// own breaker through a `#[circuit_breaker(key)]` field. Put it before the struct-level
/// `#[circuit_breaker(..)]`.
#[proc_macro_derive(CircuitProtected, attributes(circuit_breaker))]
pub fn derive_circuit_protected(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    derive::expand(&input).into()
}

mod attr {
    //! The attribute's pipeline: parse, validate, plan, expand.

    use crate::args::RawArgs;
    use crate::ctxt::Ctxt;
    use crate::item::Function;
    use crate::symbol::Scope;
    use crate::{expand, plan, validate};
    use proc_macro2::TokenStream;

    /// The error for an item that is not a function with a body, saying where the attribute goes.
    fn not_a_function(item: TokenStream) -> syn::Error {
        let msg = match syn::parse2::<syn::Item>(item.clone()) {
            Ok(syn::Item::Impl(_)) => {
                "`#[circuit_breaker]` protects one function: put it on each method of this `impl` that calls out, not on the `impl` block"
            }
            Ok(syn::Item::Trait(_)) => {
                "`#[circuit_breaker]` protects one function: put it on a default method of this trait, or on the methods of its implementations"
            }
            Ok(syn::Item::Struct(_)) => {
                "`#[circuit_breaker]` protects functions and methods; on a struct it goes below `#[derive(CircuitProtected)]`"
            }
            _ if syn::parse2::<syn::TraitItemFn>(item).is_ok_and(|f| f.default.is_none()) => {
                "a trait method without a body has nothing to protect: put `#[circuit_breaker]` on its implementations, or give it a default body"
            }
            _ => "`#[circuit_breaker]` protects functions and methods (with a body)",
        };
        syn::Error::new(proc_macro2::Span::call_site(), msg)
    }

    pub(crate) fn expand(args: TokenStream, item: TokenStream) -> TokenStream {
        let func = match syn::parse2::<syn::ItemFn>(item.clone()) {
            Ok(func) => Function::new(func),
            Err(_) => return expand::with_errors(item.clone(), not_a_function(item)),
        };
        let mut cx = Ctxt::new();
        let raw = syn::parse2::<RawArgs>(args).unwrap_or_else(|err| {
            cx.syn_error(err);
            RawArgs::default()
        });
        let args = validate::args(&raw, Scope::Function, &mut cx);
        if let Some(syn::Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Str(name),
            ..
        })) = &args.name
            && !name.value().contains('/')
        {
            let why = format!(
                "and this function has one breaker, `{}`: remove it (a breaker per key comes from `#[derive(CircuitProtected)]` with a `#[circuit_breaker(key)]` field)",
                name.value()
            );
            validate::family_limits_on_one_breaker(&raw, &why, &mut cx);
        }
        // A constant name is checked where it is known: family limits need a keyed name.
        let limited = raw.args.iter().find(|a| a.key == "max_keys" || a.key == "idle_ttl");
        let const_name = match (&args.name, limited) {
            (Some(name), Some(arg)) if !literal_or_self(name) => Some((name.clone(), arg.key.clone())),
            _ => None,
        };
        let mut plan = plan::plan(&func, args, &mut cx);
        if let Some((name, key)) = const_name {
            let k = &plan.krate;
            plan.const_checks = quote::quote_spanned! {key.span()=>
                const {
                    ::core::assert!(
                        !#k::__private::is_family_name(#name),
                        "`max_keys` and `idle_ttl` limit a keyed family, and this function has one breaker (its name has no `/`): remove them (a breaker per key comes from `#[derive(CircuitProtected)]` with a `#[circuit_breaker(key)]` field)"
                    )
                };
            };
        }
        match cx.check() {
            Ok(()) => expand::function(func, &plan),
            Err(err) => expand::with_errors(item, err),
        }
    }

    /// A literal name (checked as written) or `Self` (the type's name, checked by the derive).
    fn literal_or_self(name: &syn::Expr) -> bool {
        matches!(name, syn::Expr::Lit(_))
            || matches!(name, syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
    }
}
