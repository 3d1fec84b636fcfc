//! Calling the fallback, spanned on the user's `fallback = path` so that a mismatch (arity, a
//! parameter type, the return type, sync against async) is reported there, with the message of
//! the `Fallback` traits' `#[diagnostic::on_unimplemented]`. The trait's method is called
//! directly (not through a runtime function bounded by the trait), so the error carries no
//! "required by a bound in" note naming runtime internals.

use super::body::{arg_copy, ident};
use crate::item::Receiver;
use crate::plan::{FallbackPlan, Plan};
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// Why the fallback runs, with the binding that holds the reason.
pub(crate) enum Cause<'a> {
    Rejected(&'a syn::Ident),
    Timeout(&'a syn::Ident),
    Inner(&'a syn::Ident),
}

/// `<_ as Fallback<Args, _, R, _>>::call(cause, (args..,), callee)` through `serve_fallback`
/// (awaited when async); the cause's type (`CallError<E>`) comes from the return type's kind. After the call ran (`after_call`), owned parameters
/// come from their copies.
pub(crate) fn call(plan: &Plan, fb: &FallbackPlan, cause: Cause<'_>, is_async: bool, after_call: bool) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let kind = ident("__cb_kind");
    let (cause, reason) = match cause {
        Cause::Rejected(r) => (quote!(#kind.rejected(#r)), quote!(Rejected)),
        Cause::Timeout(t) => (quote!(#kind.timed_out(#t)), quote!(Timeout)),
        Cause::Inner(e) => (quote!(#p::CallError::Inner(#e)), quote!(Failure)),
    };
    let reason = quote!(#p::FallbackReason::#reason);
    let breaker = ident("__cb_breaker");
    // The fallback as written, for its log event's `data_source`.
    let source = quote::ToTokens::to_token_stream(&fb.path).to_string().replace(' ', "");
    let receiver = fb.with_receiver.then(|| match plan.receiver {
        Some(Receiver::Value) if after_call => {
            let copy = ident("__cb_self");
            quote!(#copy,)
        }
        _ => {
            let this = &plan.self_name;
            quote!(#this,)
        }
    });
    let params = plan.params.iter().map(|(name, is_reference)| match name {
        Some(name) if after_call && !is_reference => {
            let copy = arg_copy(name);
            quote!(#copy,)
        }
        Some(name) => quote!(#name,),
        None => quote!(),
    });
    let receiver_ty = plan.receiver_ty.as_ref().filter(|_| fb.with_receiver);
    let types = receiver_ty.into_iter().chain(&plan.arg_types);
    let args_ty = quote!((#(#types,)*));
    let callee = &fb.callee;
    let span = fb.path.span();
    let output = &plan.output;
    let call_span = ident("__cb_span");
    let cause_ident = ident("__cb_cause");
    if is_async {
        let call = quote_spanned! {span=>
            <_ as #p::Fallback<#args_ty, _, #output, _>>::call(#cause_ident, (#receiver #(#params)*), #callee)
        };
        quote!({
            let #cause_ident = #cause;
            #p::serve_fallback_async(&#call_span, #breaker, #reason, #source, #call).await
        })
    } else {
        let call = match fb.higher_ranked {
            // Through the checked fallback (see `lifetime_check`).
            Some(_) => {
                let checked = ident("__cb_fallback");
                quote!(#p::SyncFallback::call_dyn(#checked, #cause_ident, (#receiver #(#params)*)))
            }
            None => quote_spanned! {span=>
                <_ as #p::SyncFallback<#args_ty, _, #output, _>>::call(#cause_ident, (#receiver #(#params)*), #callee)
            },
        };
        quote!({
            let #cause_ident = #cause;
            #p::serve_fallback(&#call_span, #breaker, #reason, #source, || #call)
        })
    }
}

/// For a sync function whose signature borrows: `let __cb_fallback` = the fallback as a
/// `&dyn for<'__cb0, ..> SyncFallback<(ARGS), CallError<E>, R, _>`, spanned on the fallback
/// path, which `call` then calls through. A fallback that serves only some lifetimes (a result borrowed from the wrong
/// parameter, `&'static str` for `&str`) is one error there, and the body's borrow check,
/// whose help would edit the protected function, never runs.
pub(crate) fn lifetime_check(plan: &Plan, fb: &FallbackPlan) -> TokenStream {
    let Some(hr) = &fb.higher_ranked else {
        return TokenStream::new();
    };
    let k = &plan.krate;
    let (binder, args, output, cause) = (&hr.binder, &hr.args, &hr.output, &hr.cause);
    let span = fb.path.span();
    let callee: TokenStream = fb
        .callee
        .clone()
        .into_iter()
        .map(|mut tree| {
            tree.set_span(span);
            tree
        })
        .collect();
    let checked = ident("__cb_fallback");
    quote_spanned! {span=>
        #[allow(clippy::type_complexity)]
        let #checked: &dyn for<#(#binder),*> #k::__private::SyncFallback<(#(#args,)*), #cause, #output, _> = &#callee;
    }
}
