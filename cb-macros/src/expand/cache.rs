//! The last-good cache of `fallback = cache`: its `static` (one per call site, created at first
//! use), the key (an owned copy of every argument but the receiver, taken before the call can
//! consume them; each copied through `CacheKey`, spanned on the argument, so an argument that
//! cannot be a key is one error there), and keeping each `Ok` value (through `CacheValue`,
//! spanned on `cache`).

use super::body::{ident, located_at};
use super::settings::duration;
use crate::plan::{Plan, StagePlan};
use proc_macro2::{Literal, Span, TokenStream};
use quote::{quote, quote_spanned};

/// The `cache` token, if a stage is the cache.
fn cache_span(plan: &Plan) -> Option<Span> {
    plan.fallback.as_ref()?.stages.iter().find_map(|s| match s {
        StagePlan::Cache(span) => Some(*span),
        _ => None,
    })
}

/// `let __cb_cache = { static .. };` and `let __cb_key = (..);`, or nothing without a cache.
pub(crate) fn site_and_key(plan: &Plan) -> (TokenStream, TokenStream) {
    let (Some(span), Some(config)) = (cache_span(plan), plan.fallback.as_ref().and_then(|f| f.cache)) else {
        return (TokenStream::new(), TokenStream::new());
    };
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let cache = ident("__cb_cache");
    let site = ident("__CB_CACHE");
    let key = ident("__cb_key");
    let max_entries = Literal::u64_unsuffixed(config.max_entries);
    let max_stale = duration(&p, config.max_stale_nanos);
    let parts = plan.params.iter().filter_map(|(name, is_reference)| {
        let name = name.as_ref()?;
        let p = located_at(p.clone(), name.span());
        let arg = match is_reference {
            true => quote_spanned!(name.span()=> &*#name),
            false => quote_spanned!(name.span()=> &#name),
        };
        Some(quote_spanned!(name.span()=> {
            #p::CacheKey::assert_key(#arg);
            (&#p::KeyProbe(#arg)).cb_key()
        }))
    });
    let site_tokens = quote_spanned! {span=>
        let #cache: &'static #p::LastGood = {
            static #site: #p::LastGood = #p::LastGood::new(#max_entries, #max_stale);
            &#site
        };
    };
    let key_tokens = quote! {
        let #key = {
            #[allow(unused_imports)]
            use #p::{ViaKey as _, ViaNotKey as _};
            #[allow(clippy::needless_borrow)]
            (#(#parts,)*)
        };
    };
    (site_tokens, key_tokens)
}

/// Keeps the call's `Ok` value (`value` holds the return value) for its key.
pub(crate) fn keep(plan: &Plan, value: &syn::Ident) -> TokenStream {
    let Some(span) = cache_span(plan) else {
        return TokenStream::new();
    };
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let kind = ident("__cb_kind");
    let cache = ident("__cb_cache");
    let breaker = ident("__cb_breaker");
    let key = ident("__cb_key");
    let ok = ident("__cb_ok");
    let at = located_at(p.clone(), span);
    let keep = quote_spanned!(span=> <_ as #at::CacheValue>::keep(#ok, #cache, #breaker, #key));
    quote! {
        if let #p::Some(#ok) = #kind.ok_ref(&#value) {
            #keep;
        }
    }
}
