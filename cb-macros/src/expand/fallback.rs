//! Calling the fallback, counted with its kind (the `type` label) and recorded for
//! `fallback::last_served`.
//!
//! A fallback function is called spanned on the user's path, so that a mismatch (arity, a
//! parameter type, the return type, sync against async) is reported there, with the message of
//! the `Fallback` traits' `#[diagnostic::on_unimplemented]`. The trait's method is called
//! directly (not through a runtime function bounded by the trait), so the error carries no
//! "required by a bound in" note naming runtime internals. The other strategies are checked the
//! same way on their own token: `default` through `EmptyResponse`, `cache` through
//! `CacheValue` (and `CacheKey` on each argument, see `cache_key`), a value by its type.
//!
//! A chain (`fallback = [cache, Self::replica, default]`) runs in one fallback span, its stages
//! in order inside a labelled block: the first that answers breaks out with the value. A
//! function stage answers unless its result is an error, which becomes the next stage's cause
//! (`CallError::Inner`); a cache stage answers on a fresh hit. When the last stage is `cache`
//! and it has nothing, the call returns what it would without a fallback: the rejection or
//! timeout as the return type, or the last error.

use super::body::{arg_copy, ident, into_return, located_at};
use crate::item::Receiver;
use crate::plan::{FallbackPlan, FunctionStage, Plan, StagePlan};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// Why the fallback runs, with the binding that holds the reason.
#[derive(Clone, Copy)]
pub(crate) enum Cause<'a> {
    Rejected(&'a syn::Ident),
    Timeout(&'a syn::Ident),
    Inner(&'a syn::Ident),
}

/// The fallback's value for `cause` (awaited when async), counted with its kind. After the
/// call ran (`after_call`), owned parameters come from their copies.
pub(crate) fn call(plan: &Plan, fb: &FallbackPlan, cause: Cause<'_>, is_async: bool, after_call: bool) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let breaker = ident("__cb_breaker");
    let kind = match fb.stages.as_slice() {
        [StagePlan::Function(_)] => quote!(Function),
        [StagePlan::Cache(_)] => quote!(Cache),
        [StagePlan::Empty(_)] => quote!(Empty),
        [StagePlan::Value(_)] => quote!(Static),
        _ => quote!(Chain),
    };
    let reason = match cause {
        Cause::Rejected(_) => quote!(Rejected),
        Cause::Timeout(_) => quote!(Timeout),
        Cause::Inner(_) => quote!(Failure),
    };
    let reason = quote!(#p::FallbackReason::#reason);
    let source = &fb.written;
    let call_span = ident("__cb_span");
    let served = ident("__cb_served");
    let body = match fb.stages.as_slice() {
        [StagePlan::Function(f)] => {
            let cause_ident = ident("__cb_cause");
            let cause_value = first_cause(plan, cause);
            let call = function_call(plan, f, 0, &cause_ident, is_async, after_call, true);
            let serve = match is_async {
                true => {
                    quote!(#p::serve_fallback_async(&#call_span, #breaker, #p::FallbackKind::#kind, #reason, #source, #call).await)
                }
                false => {
                    quote!(#p::serve_fallback(&#call_span, #breaker, #p::FallbackKind::#kind, #reason, #source, || #call))
                }
            };
            quote! {
                let #cause_ident = #cause_value;
                let #served = #serve;
                #p::served(#p::FallbackKind::Function, 0, #p::None);
                #served
            }
        }
        _ => {
            let chain = chain(plan, fb, cause, is_async, after_call);
            let serve = match is_async {
                true => {
                    quote!(#p::serve_fallback_async(&#call_span, #breaker, #p::FallbackKind::#kind, #reason, #source, async { #chain }).await)
                }
                false => {
                    quote!(#p::serve_fallback(&#call_span, #breaker, #p::FallbackKind::#kind, #reason, #source, || { #chain }))
                }
            };
            quote!(#serve)
        }
    };
    // A `Pin<&mut Self>` the call never used (see `function_call`).
    let takes_receiver = fb
        .stages
        .iter()
        .any(|s| matches!(s, StagePlan::Function(f) if f.with_receiver));
    let pinned = (plan.pinned && plan.pinned_self.is_none() && takes_receiver).then(|| {
        let (pinned, this) = (ident("__cb_pinned"), &plan.self_name);
        quote!(#[allow(unused_mut)] let mut #pinned = #this;)
    });
    quote!({
        #pinned
        #p::CircuitBreaker::record_fallback_as(#breaker, #p::FallbackKind::#kind);
        #body
    })
}

/// The cause a first fallback function receives.
fn first_cause(plan: &Plan, cause: Cause<'_>) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let kind = ident("__cb_kind");
    match cause {
        Cause::Rejected(r) => quote!(#kind.rejected(#r)),
        Cause::Timeout(t) => quote!(#kind.timed_out(#t)),
        Cause::Inner(e) => quote!(#p::CallError::Inner(#e)),
    }
}

/// `<_ as Fallback<Args, _, R, _>>::call(cause, (args..,), callee)`, spanned on the path
/// (awaited when async), for the stage at `index`. `last` says whether this is the last call to
/// take the parameters: an earlier one gets copies of owned ones and reborrows of `&mut` ones.
fn function_call(
    plan: &Plan,
    f: &FunctionStage,
    index: usize,
    cause: &syn::Ident,
    is_async: bool,
    after_call: bool,
    last: bool,
) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let receiver = f.with_receiver.then(|| match plan.receiver {
        // A `Pin<&mut Self>`: moved to `self_name` before the call, which only reborrowed it,
        // or (a fallback for rejections only) to `__cb_pinned` in the rejection's block.
        Some(Receiver::Value) if plan.pinned => {
            let this = match plan.pinned_self {
                Some(_) => plan.self_name.clone(),
                None => ident("__cb_pinned"),
            };
            match last {
                true => quote!(#this,),
                false => quote!(::core::pin::Pin::as_mut(&mut #this),),
            }
        }
        Some(Receiver::Value) => {
            let this = match after_call {
                true => ident("__cb_self"),
                false => plan.self_name.clone(),
            };
            match last {
                true => quote!(#this,),
                false => quote!(#p::FallbackArg::clone_for_fallback(&#this),),
            }
        }
        Some(Receiver::RefMut) if !last => {
            let this = &plan.self_name;
            quote!(&mut *#this,)
        }
        _ => {
            let this = &plan.self_name;
            quote!(#this,)
        }
    });
    let params = plan
        .params
        .iter()
        .zip(&plan.mut_refs)
        .map(|((name, is_reference), mut_ref)| {
            let Some(name) = name else { return quote!() };
            match (is_reference, after_call, last) {
                (false, true, true) => {
                    let copy = arg_copy(name);
                    quote!(#copy,)
                }
                (false, true, false) => {
                    let copy = arg_copy(name);
                    quote!(#p::FallbackArg::clone_for_fallback(&#copy),)
                }
                (false, false, false) => quote!(#p::FallbackArg::clone_for_fallback(&#name),),
                (true, _, false) if *mut_ref => quote!(&mut *#name,),
                _ => quote!(#name,),
            }
        });
    let receiver_ty = plan.receiver_ty.as_ref().filter(|_| f.with_receiver);
    let types = receiver_ty.into_iter().chain(&plan.arg_types);
    let args_ty = quote!((#(#types,)*));
    let callee = &f.callee;
    let span = f.path.span();
    let output = &plan.output;
    match (is_async, &f.higher_ranked) {
        (true, _) => quote_spanned! {span=>
            <_ as #p::Fallback<#args_ty, _, #output, _>>::call(#cause, (#receiver #(#params)*), #callee)
        },
        // Through the checked fallback (see `lifetime_check`).
        (false, Some(_)) => {
            let checked = checked(index);
            quote!(#p::SyncFallback::call_dyn(#checked, #cause, (#receiver #(#params)*)))
        }
        (false, None) => quote_spanned! {span=>
            <_ as #p::SyncFallback<#args_ty, _, #output, _>>::call(#cause, (#receiver #(#params)*), #callee)
        },
    }
}

/// For a function whose signature borrows, each fallback function checked for every lifetime
/// the signature leaves open (see `signature`), spanned on its path: a fallback that serves
/// only some lifetimes (a result borrowed from the wrong parameter, `&'static str` for `&str`)
/// is one error there, and the body's borrow check, whose help would edit the protected
/// function, never runs.
///
/// Sync: `let __cb_fallback_N` = the fallback as a `&dyn for<'_0, ..> SyncFallback<(ARGS),
/// CallError<E>, R, _>`, which `function_call` then calls through. Async: the fallback's
/// future borrows its arguments, so no one trait object calls it for every lifetime; the check
/// is the coercion to `&dyn for<'_0, ..> FallbackForAll<..>`, and the call stays direct. Its
/// supertrait is the call's `Fallback`, so a fallback of the wrong shape fails both and rustc
/// reports only the check (the error it implies is left out): still one error.
pub(crate) fn lifetime_check(plan: &Plan, fb: &FallbackPlan, is_async: bool) -> TokenStream {
    let k = &plan.krate;
    let checks = fb.stages.iter().enumerate().filter_map(|(index, stage)| {
        let StagePlan::Function(f) = stage else { return None };
        let hr = f.higher_ranked.as_ref()?;
        let (binder, args, output, cause) = (&hr.binder, &hr.args, &hr.output, &hr.cause);
        let span = f.path.span();
        let callee: TokenStream = f
            .callee
            .clone()
            .into_iter()
            .map(|mut tree| {
                tree.set_span(span);
                tree
            })
            .collect();
        let (binding, trait_) = match is_async {
            true => (quote!(_), quote!(FallbackForAll)),
            false => {
                let checked = checked(index);
                (quote!(#checked), quote!(SyncFallback))
            }
        };
        Some(quote_spanned! {span=>
            #[allow(clippy::type_complexity)]
            let #binding: &dyn for<#(#binder),*> #k::__private::#trait_<(#(#args,)*), #cause, #output, _> = &#callee;
        })
    });
    quote!(#(#checks)*)
}

/// The binding of the checked fallback of the stage at `index` (see `lifetime_check`).
fn checked(index: usize) -> syn::Ident {
    quote::format_ident!("__cb_fallback_{}", index, span = Span::mixed_site())
}

/// The stages of a chain (or a lone `cache`, `default` or value) in a labelled block.
fn chain(plan: &Plan, fb: &FallbackPlan, cause: Cause<'_>, is_async: bool, after_call: bool) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let kind = ident("__cb_kind");
    let breaker = ident("__cb_breaker");
    let label = syn::Lifetime::new("'__cb_chain", Span::mixed_site());
    let failed = ident("__cb_failed");
    let value = ident("__cb_stage_value");
    let output = &plan.output;
    let traced = fb.stages.len() > 1 || matches!(fb.stages.as_slice(), [StagePlan::Cache(_)]);
    let functions = fb.stages.iter().filter(|s| matches!(s, StagePlan::Function(_))).count();
    let mut functions_run = 0;
    let mut steps = Vec::new();
    for (i, stage) in fb.stages.iter().enumerate() {
        let name = written(stage);
        let trace = |result: &str| match traced {
            true => quote!(#p::trace_stage(#breaker, #i, #name, #result);),
            false => quote!(),
        };
        let last_stage = i + 1 == fb.stages.len();
        let step = match stage {
            StagePlan::Function(f) => {
                let cause_ident = ident("__cb_cause");
                let cause_value = match functions_run {
                    0 => first_cause(plan, cause),
                    _ => quote!(#p::CallError::Inner(#failed)),
                };
                functions_run += 1;
                let call = function_call(
                    plan,
                    f,
                    i,
                    &cause_ident,
                    is_async,
                    after_call,
                    functions_run == functions,
                );
                let call = match is_async {
                    true => quote!(#call.await),
                    false => call,
                };
                let answered = trace("answered");
                let failed_trace = trace("failed");
                match last_stage {
                    true => quote! {
                        let #cause_ident = #cause_value;
                        let #value: #output = #call;
                        #answered
                        #p::served(#p::FallbackKind::Function, #i, #p::None);
                        break #label #value;
                    },
                    false => quote! {
                        let #cause_ident = #cause_value;
                        #[allow(unreachable_patterns)]
                        let #failed = match #kind.split(#call) {
                            #p::Ok(#value) => {
                                #answered
                                #p::served(#p::FallbackKind::Function, #i, #p::None);
                                break #label #value;
                            }
                            #p::Err(#failed) => {
                                #failed_trace
                                #failed
                            }
                        };
                    },
                }
            }
            StagePlan::Cache(span) => {
                let cache = ident("__cb_cache");
                let key = ident("__cb_key");
                let lookup = ident("__cb_lookup");
                let age = ident("__cb_age");
                let result = match traced {
                    true => quote!(#p::trace_stage(#breaker, #i, #name, #p::Lookup::as_str(&#lookup));),
                    false => quote!(),
                };
                let at = located_at(p.clone(), *span);
                let serve = quote_spanned!(*span=> <_ as #at::CacheValue>::serve(#cache, #breaker, #key));
                quote! {
                    let #lookup = #serve;
                    #result
                    if let #p::Lookup::Hit(#value, #age) = #lookup {
                        #p::served(#p::FallbackKind::Cache, #i, #p::Some(#age));
                        break #label #kind.answer(#value);
                    }
                }
            }
            StagePlan::Empty(span) => {
                let answered = trace("answered");
                let at = located_at(p.clone(), *span);
                let empty = quote_spanned!(*span=> <_ as #at::EmptyResponse<_>>::empty());
                quote! {
                    let #value: #output = #empty;
                    #answered
                    #p::served(#p::FallbackKind::Empty, #i, #p::None);
                    break #label #value;
                }
            }
            StagePlan::Value(expr) => {
                let answered = trace("answered");
                let typed = quote_spanned!(expr.span()=> let #value: #output = #expr;);
                quote! {
                    #typed
                    #answered
                    #p::served(#p::FallbackKind::Static, #i, #p::None);
                    break #label #value;
                }
            }
        };
        steps.push(step);
    }
    // Only `cache` can leave the chain without an answer: the call's own answer then.
    let unserved = match fb.stages.last() {
        Some(StagePlan::Cache(_)) => {
            let answer = match (functions_run, cause) {
                (0, Cause::Rejected(r)) => into_return(&p, output, "from_rejected_on_miss", r),
                (0, Cause::Timeout(t)) => into_return(&p, output, "from_timeout_on_miss", t),
                (0, Cause::Inner(e)) => quote!(#kind.failed(#e)),
                _ => quote!(#kind.failed(#failed)),
            };
            quote! {
                #p::not_served();
                #answer
            }
        }
        _ => quote!(),
    };
    quote! {
        #[allow(unreachable_code, clippy::diverging_sub_expression)]
        let #value: #output = #label: {
            #(#steps)*
            #unserved
        };
        #value
    }
}

fn written(stage: &StagePlan) -> String {
    match stage {
        StagePlan::Function(f) => quote::ToTokens::to_token_stream(&f.path).to_string().replace(' ', ""),
        StagePlan::Cache(_) => "cache".to_owned(),
        StagePlan::Empty(_) => "default".to_owned(),
        StagePlan::Value(_) => "value".to_owned(),
    }
}
