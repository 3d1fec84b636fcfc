//! The protected body.
//!
//! Input:
//! ```text
//! async fn fetch(&self, since: Option<u64>) -> Result<Vec<Alert>, E> { BODY }
//! ```
//! Output (with `fallback = cached`, served on any failure):
//! ```text
//! {
//!     let __cb_handle = { static __CB_SITE: CallSite = CallSite::new(None, &[SETTINGS]); __CB_SITE.breaker_of::<Self>(self) };
//!     let __cb_breaker: &CircuitBreaker = &__cb_handle;
//!     let __cb_permit = match quick_permit(&span, __cb_breaker) {
//!         Some(permit) => permit,
//!         None => match __cb_breaker.try_acquire() {
//!             Ok(permit) => permit,
//!             Err(rejected) => return { record_fallback; Self::cached(self, since, CallError::Rejected(rejected)).await },
//!         },
//!     };
//!     let __cb_arg_since = since.clone_for_fallback();
//!     let __cb_ran = run_async(__cb_permit, CLASSIFY, typed::<R, _>(async { BODY })).await;
//!     match __cb_ran {
//!         Ran::Done(value) => value,
//!         Ran::Failed(value) => match value.into_err() {
//!             Ok(value) => value,
//!             Err(error) => { record_fallback; Self::cached(self, __cb_arg_since, CallError::Inner(error)).await }
//!         },
//!     }
//! }
//! ```
//! `__cb_*` bindings are `Span::mixed_site()`: user code can neither name nor shadow them.

use super::fallback::{Cause, call as call_fallback};
use super::settings::{duration, setting};
use crate::item::Receiver;
use crate::plan::{Plan, Source};
use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

/// The protected body in two parts: `prelude` (the return type's kind, the call site and its
/// breaker) and `call` (acquire, run, record, fall back), which runs where the body ran.
pub(crate) struct Wrapped {
    pub(crate) prelude: TokenStream,
    pub(crate) call: TokenStream,
}

impl Wrapped {
    /// Both parts in one block, for a body that is not a returned future.
    pub(crate) fn joined(self) -> TokenStream {
        let Wrapped { prelude, call } = self;
        quote!(#prelude #call)
    }
}

/// The statements that replace (or, under `#[async_trait]`, fill) the function's block.
///
/// With `built`, `body` awaits a future the function built before the call (see
/// `Shape::AsyncTrait`): the fallback's copies of the parameters are taken in the prelude,
/// before building it can consume them, and every fallback call uses them.
pub(crate) fn wrap(plan: &Plan, body: &syn::Block, is_async: bool, built: bool) -> Wrapped {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let output = &plan.output;
    let site = ident("__CB_SITE");
    let breaker = ident("__cb_breaker");
    let handle = ident("__cb_handle");
    let permit = ident("__cb_permit");
    let rejected = ident("__cb_rejected");
    let ran = ident("__cb_ran");
    let value = ident("__cb_value");
    let timed_out = ident("__cb_timeout");
    let span = ident("__cb_span");
    let entered = ident("__cb_entered");

    let kind = ident("__cb_kind");
    // The runtime path located at the return type, for the calls whose bound is about the
    // return type: rustc reports an unmet bound at the path, which must not be the attribute.
    let p_at_output = located_at(p.clone(), output.span());
    let this = &plan.self_name;

    let name = match &plan.source {
        Source::Named(name) => quote!(#p::Some(#name)),
        Source::Derived(_) => quote!(#p::None),
    };
    let settings = plan.settings.iter().map(|s| setting(k, s));
    let resolve = match &plan.source {
        Source::Named(_) => quote!(#p::CallSite::breaker(&#site)),
        Source::Derived(None) => quote!(#p::CallSite::breaker_for::<Self>(&#site)),
        Source::Derived(Some(receiver)) => {
            let this = match receiver {
                Receiver::Ref => quote!(#this),
                Receiver::RefMut => quote!(&*#this),
                Receiver::Value => quote!(&#this),
            };
            quote!(#p::CallSite::breaker_of::<Self>(&#site, #this))
        }
    };
    // What the return type is (a `Result` or `Option` under any name, or something else) is
    // decided by the type system: see `__private::Probe`.
    let probe = quote_spanned! {output.span()=>
        #[allow(unused_imports)]
        use #p::{ViaFuture as _, ViaPlain as _, ViaResult as _};
        #[allow(clippy::needless_borrow)]
        let #kind = (&#p_at_output::Probe::<#output>::NEW).cb_kind();
    };
    let needs_errors = [&plan.failure_if, &plan.ignore_if]
        .into_iter()
        .flatten()
        .map(|path| quote_spanned!(path.span()=> <#output as #p::HasErrors>::assert_has_errors();));

    let on_reject = match &plan.fallback {
        Some(fb) => {
            let call = call_fallback(plan, fb, Cause::Rejected(&rejected), is_async, built);
            quote!({ #p::CircuitBreaker::record_fallback(#breaker); #call })
        }
        None => quote_spanned!(output.span()=> #p_at_output::reject_into::<#output>(#rejected)),
    };

    let serves_failures = plan.fallback.as_ref().filter(|fb| fb.on_failure);
    // Under `built` even a rejection's fallback needs the copies.
    let clones = match serves_failures.is_some() || (built && plan.fallback.is_some()) {
        true => clones(plan),
        false => TokenStream::new(),
    };
    let (early_clones, clones) = match built {
        true => (clones, TokenStream::new()),
        false => (TokenStream::new(), clones),
    };

    let classify = {
        let option = |path: &Option<syn::Path>| match path {
            Some(path) => quote_spanned!(path.span()=> #p::Some(&#path)),
            None => quote!(#p::None::<&#p::NoPredicate>),
        };
        let (failure_if, ignore_if) = (option(&plan.failure_if), option(&plan.ignore_if));
        let result = ident("__cb_result");
        quote_spanned!(output.span()=> move |#result: &#output| #kind.classify(#result, #failure_if, #ignore_if))
    };

    let on_failed = match serves_failures {
        Some(fb) => {
            let error = ident("__cb_error");
            let served = ident("__cb_served");
            let call = call_fallback(plan, fb, Cause::Inner(&error), is_async, true);
            quote! {{
                #[allow(unreachable_patterns)]
                let #served = match #kind.split(#value) {
                    #p::Ok(#value) => #value,
                    #p::Err(#error) => { #p::CircuitBreaker::record_fallback(#breaker); #call }
                };
                #served
            }}
        }
        None => quote!(#value),
    };

    let run = if is_async {
        // The body's value is checked against the declared type inside the block, so a type
        // error in the body is one error there, not a cascade through the wrapper.
        let ret = ident("__cb_ret");
        let future = quote_spanned! {output.span()=>
            #p::typed::<#output, _>(async {
                let #ret: #output = #body;
                #[allow(unreachable_code)]
                #ret
            })
        };
        match plan.timeout {
            None => {
                let running = ident("__cb_running");
                quote!({
                    let #running = #p::Running::start(&#span);
                    let #value = #p::Instrument::instrument(#future, #p::Running::child(&#running, &#permit)).await;
                    #p::Running::finish(#running, #permit, #classify, #value)
                })
            }
            Some(nanos) => {
                let after = duration(&p, nanos);
                let on_timeout = match serves_failures {
                    Some(fb) => {
                        let call = call_fallback(plan, fb, Cause::Timeout(&timed_out), is_async, true);
                        quote!({ #p::CircuitBreaker::record_fallback(#breaker); #call })
                    }
                    None => quote_spanned!(output.span()=> #p_at_output::timeout_into::<#output>(#timed_out)),
                };
                quote! {
                    match #p::run_async_with_timeout(#permit, &#span, #after, #classify, #future).await {
                        #p::Ok(#ran) => #ran,
                        #p::Err(#timed_out) => return #on_timeout,
                    }
                }
            }
        }
    } else {
        quote!(#p::run_sync(#permit, &#span, #classify, || -> #output #body))
    };

    // An async call does not run inside its span (a future around the whole call costs a
    // layer per poll): it takes the permit and records inside it, and the body and the
    // fallback run in child spans of their own.
    let acquire = if is_async {
        quote!(#p::acquire_in(&#span, #breaker))
    } else {
        quote!(#p::CircuitBreaker::try_acquire(#breaker))
    };
    // The common case first: a permit built in place (through a `Result` it would be copied
    // with wider loads than the stores that wrote it, a stall on every call).
    let rest = quote! {
        let #permit = match #p::quick_permit(&#span, #breaker) {
            #p::Some(#permit) => #permit,
            #p::None => match #acquire {
                #p::Ok(#permit) => #permit,
                #p::Err(#rejected) => {
                    #p::record_rejected(&#span, &#rejected);
                    return #on_reject;
                }
            },
        };
        #clones
        let #ran = #run;
        match #ran {
            #p::Ran::Done(#value) => #value,
            #p::Ran::Failed(#value) => #on_failed,
        }
    };
    let traced = if is_async {
        rest
    } else {
        quote!(let #entered = #p::Span::enter(&#span); #rest)
    };
    Wrapped {
        prelude: quote! {
            #probe
            #(#needs_errors)*
            // The static in its own block: two stacked attributes on a returned future put
            // both preludes in one block.
            let #handle = {
                static #site: #p::CallSite = #p::CallSite::new(#name, &[#(#settings),*]);
                #resolve
            };
            #early_clones
        },
        call: quote! {
            let #breaker: &#p::CircuitBreaker = &#handle;
            let #span = #p::call_span(#breaker);
            #traced
        },
    }
}

/// Copies of the owned parameters (and an owned receiver), taken before the call consumes them.
fn clones(plan: &Plan) -> TokenStream {
    let p = {
        let k = &plan.krate;
        quote!(#k::__private)
    };
    let this = &plan.self_name;
    let receiver = (plan.receiver == Some(Receiver::Value)).then(|| {
        let copy = ident("__cb_self");
        quote!(let #copy = #p::FallbackArg::clone_for_fallback(&#this);)
    });
    let params = plan.params.iter().filter_map(|(name, is_reference)| {
        let name = name.as_ref().filter(|_| !is_reference)?;
        let copy = arg_copy(name);
        Some(quote_spanned!(name.span()=> let #copy = #p::FallbackArg::clone_for_fallback(&#name);))
    });
    quote!(#receiver #(#params)*)
}

/// The binding that holds a parameter's copy for the fallback.
pub(crate) fn arg_copy(name: &syn::Ident) -> syn::Ident {
    format_ident!("__cb_arg_{}", name, span = Span::mixed_site())
}

/// An internal binding, invisible to user code.
pub(crate) fn ident(name: &str) -> syn::Ident {
    syn::Ident::new(name, Span::mixed_site())
}

/// `tokens` with every token located at `span` (hygiene unchanged).
fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), located_at(group.stream(), span));
                inner.set_span(group.span().located_at(span));
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(tree.span().located_at(span));
            }
            tree
        })
        .collect()
}
