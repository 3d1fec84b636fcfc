//! The protected body.
//!
//! Input:
//! ```text
//! async fn fetch(&self, since: Option<u64>) -> Result<Vec<Alert>, E> { BODY }
//! ```
//! Output (with `fallback = cached`, served on any failure):
//! ```text
//! {
//!     let __cb_handle = { static __CB_SITE: CallSite = CallSite::new(None, &[SETTINGS]); <Self as CircuitProtected>::__cb_breaker_of(self, &__CB_SITE) };
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

use super::cache;
use super::fallback::{Cause, call as call_fallback, lifetime_check};
use super::settings::{duration, setting};
use crate::item::Receiver;
use crate::plan::{Plan, Source, StagePlan};
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
    let (rebound, rebind) = match &plan.pinned_self {
        Some(name) => {
            let (body, rebind) = reborrow_pinned(body.clone(), name, &plan.self_name);
            (Some(body), rebind)
        }
        None => (None, TokenStream::new()),
    };
    let body = rebound.as_ref().unwrap_or(body);
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let output = &plan.output;
    let site = ident("__CB_SITE");
    let breaker = ident("__cb_breaker");
    let handle = ident("__cb_handle");
    let permit = ident("__cb_permit");
    let rejected = ident("__cb_rejected");
    let ran = ident("__cb_ran");
    // Located at the body's tail expression (hygiene unchanged): a borrow checker error about
    // the value the function returns then points at the user's expression, not the attribute.
    let ret_at = match body.stmts.last() {
        Some(syn::Stmt::Expr(tail, None)) => tail.span(),
        _ => body.brace_token.span.join(),
    };
    let value = syn::Ident::new("__cb_value", Span::mixed_site().located_at(ret_at));
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
        Source::Derived(..) => quote!(#p::None),
    };
    let settings: Vec<TokenStream> = plan.settings.iter().map(|s| setting(k, s)).collect();
    let const_checks = &plan.const_checks;
    // A method's own cap against the wait its type's struct-level arguments set: checked where
    // both are known, at compile time (a single attribute is checked by the macro itself).
    let caps_the_wait = match &plan.source {
        Source::Derived(_, at) if plan.settings.iter().any(|s| s.key == "max_open_timeout") => {
            let self_ty = quote_spanned!(*at=> Self);
            // Spanned at the key, so that rustc's error points at it, not at the attribute.
            let cap = plan.max_open_timeout_span.unwrap_or(*at);
            quote_spanned! {cap=>
                const {
                    ::core::assert!(
                        #p::caps_the_wait(<#self_ty as #p::CircuitProtected>::__CB_DEFAULTS.settings, &[#(#settings),*]),
                        "this method's `max_open_timeout` is below the `open_timeout` of its type's `#[circuit_breaker(..)]`: `max_open_timeout` must be at least `open_timeout`"
                    )
                };
            }
        }
        _ => TokenStream::new(),
    };
    let resolve = match &plan.source {
        Source::Named(_) => quote!(#p::CallSite::breaker(&#site)),
        Source::Derived(None, at) => {
            let self_ty = quote_spanned!(*at=> Self);
            quote!(<#self_ty as #p::CircuitProtected>::__cb_breaker_for(&#site))
        }
        Source::Derived(Some(receiver), at) => {
            let self_ty = quote_spanned!(*at=> Self);
            let this = match receiver {
                Receiver::Ref => quote!(#this),
                Receiver::RefMut => quote!(&*#this),
                Receiver::Value => quote!(&#this),
            };
            quote!(<#self_ty as #p::CircuitProtected>::__cb_breaker_of(#this, &#site))
        }
    };
    // What the return type is (a `Result` or `Option` under any name, or something else) is
    // decided by the type system: see `__private::Probe`.
    // A future or a stream under a name the macro does not read is one error at the return
    // type (`NotAFuture`, `NotAStream`).
    let not_a_future = on_type(&p, output, None, quote!(NotAFuture<#output>), "check");
    let not_a_stream = on_type(&p, output, None, quote!(NotAStream<#output>), "check");
    let probe = quote_spanned! {output.span()=>
        #[allow(unused_imports)]
        use #p::{ViaFuture as _, ViaPlain as _, ViaResult as _, ViaStream as _};
        #[allow(clippy::needless_borrow)]
        let #kind = (&#p_at_output::Probe::<#output>::NEW).cb_kind();
        #not_a_future(&#kind);
        #not_a_stream(&#kind);
    };

    let on_reject = match (&plan.queue, &plan.fallback) {
        (Some(q), _) => super::queue::on_reject(plan, q),
        (None, Some(fb)) => call_fallback(plan, fb, Cause::Rejected(&rejected), is_async, built),
        (None, None) => into_return(&p, output, "from_rejected", &rejected),
    };
    let queue_register = plan.queue.as_ref().map(|q| super::queue::register(plan, q));

    let serves_failures = plan.fallback.as_ref().filter(|fb| fb.on_failure);
    // Under `built` even a rejection's fallback needs the copies.
    // Only a fallback function takes the parameters.
    let calls_functions = plan.fallback.as_ref().is_some_and(|fb| {
        fb.stages
            .iter()
            .any(|s| matches!(s, crate::plan::StagePlan::Function(_)))
    });
    let clones = match calls_functions && (serves_failures.is_some() || built) {
        true => clones(plan),
        false => TokenStream::new(),
    };
    let (cache_site, key) = cache::site_and_key(plan);
    // The cache's key before the call can consume the arguments (and before a rejection).
    let (early_clones, key, clones) = match built {
        true => (quote!(#key #clones), TokenStream::new(), TokenStream::new()),
        false => (TokenStream::new(), key, clones),
    };

    let classify = {
        // Checked at the path: a function of the wrong shape, or a return type that is not a
        // `Result`, is one error there.
        let option = |path: &Option<syn::Path>| match path {
            Some(path) => {
                let p = located_at(p.clone(), path.span());
                quote_spanned!(path.span()=> <_ as #p::Predicate<<#output as #p::HasErrors>::Err>>::as_fn(&#path))
            }
            None => quote!(#p::NoPredicate),
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
                    #p::Ok(#value) => {
                        #p::not_served();
                        #value
                    }
                    #p::Err(#error) => #call
                };
                #served
            }}
        }
        None if plan.fallback.is_some() => quote!({
            #p::not_served();
            #value
        }),
        None => quote!(#value),
    };

    let run = if is_async {
        // The body's value is checked against the declared type inside the block, so a type
        // error in the body is one error there, not a cascade through the wrapper. A body that
        // only diverges (`unimplemented!("..")`) is no sub-expression of the user's.
        let ret = ident("__cb_ret");
        let future = quote_spanned! {output.span()=>
            #p::typed::<#output, _>(async {
                #[allow(clippy::diverging_sub_expression)]
                let #ret: #output = #body;
                #[allow(unreachable_code)]
                #ret
            })
        };
        match plan.timeout {
            None => {
                let running = ident("__cb_running");
                let body = ident("__cb_body");
                // Watched (a panic elsewhere that drops the waiting call is not its failure);
                // while tracing is off, no span of its own.
                quote!({
                    let #running = #p::Running::start(&#span);
                    let #body = #p::watch(&#permit, #future);
                    let #value = if #p::Running::traced(&#running) {
                        #p::Instrument::instrument(#body, #p::Running::child(&#running, &#permit)).await
                    } else {
                        #body.await
                    };
                    #p::Running::finish(#running, #permit, #classify, #value)
                })
            }
            Some(nanos) => {
                let after = duration(&p, nanos);
                let on_timeout = match serves_failures {
                    Some(fb) => call_fallback(plan, fb, Cause::Timeout(&timed_out), is_async, true),
                    None => {
                        // A fallback narrowed to rejections: the timeout is the answer.
                        let into = into_return(&p, output, "from_timeout", &timed_out);
                        match plan.fallback {
                            Some(_) => quote!({ #p::not_served(); #into }),
                            None => into,
                        }
                    }
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
    let on_done = match &plan.fallback {
        Some(_) => {
            let keep = cache::keep(plan, &value);
            quote!({
                #keep
                #p::not_served();
                #value
            })
        }
        None => quote!(#value),
    };
    // The common case first: a permit built in place (through a `Result` it would be copied
    // with wider loads than the stores that wrote it, a stall on every call).
    let rest = quote! {
        #key
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
            #p::Ran::Done(#value) => #on_done,
            #p::Ran::Failed(#value) => #on_failed,
        }
    };
    let traced = if is_async {
        rest
    } else {
        quote!(let #entered = #p::CallSpan::enter(&#span); #rest)
    };
    let lifetimes = match &plan.fallback {
        Some(fb) => lifetime_check(plan, fb, is_async),
        None => TokenStream::new(),
    };
    Wrapped {
        prelude: quote! {
            #rebind
            #const_checks
            #caps_the_wait
            #probe
            #lifetimes
            // The static in its own block: two stacked attributes on a returned future put
            // both preludes in one block.
            let #handle = {
                static #site: #p::CallSite = #p::CallSite::new(#name, &[#(#settings),*]);
                #resolve
            };
            #cache_site
            #early_clones
        },
        call: quote! {
            let #breaker: &#p::CircuitBreaker = &#handle;
            let #span = #p::CallSpan::of(#breaker);
            #queue_register
            #traced
        },
    }
}

/// For a `self: Pin<&mut Self>` receiver the fallback receives after the call: the body with
/// every use of the receiver `name` reborrowed from `pinned`, and the statement that moves the
/// receiver there. Nested items keep their own `self`; in a macro's arguments `self` is
/// replaced unless a path follows (`self::module`).
///
/// Input: `{ self.project().inner.poll(cx) }`
/// Output: `{ (Pin::as_mut(&mut __cb_pinned)).project().inner.poll(cx) }`, `let mut __cb_pinned = self;`
fn reborrow_pinned(mut body: syn::Block, name: &syn::Ident, pinned: &syn::Ident) -> (syn::Block, TokenStream) {
    struct Reborrow<'a> {
        name: &'a syn::Ident,
        pinned: &'a syn::Ident,
    }
    impl Reborrow<'_> {
        fn replacement(&self, at: Span) -> TokenStream {
            let pinned = syn::Ident::new(&self.pinned.to_string(), self.pinned.span().located_at(at));
            quote_spanned!(at=> (::core::pin::Pin::as_mut(&mut #pinned)))
        }

        fn tokens(&self, tokens: TokenStream) -> TokenStream {
            let mut out = Vec::new();
            let mut tokens = tokens.into_iter().peekable();
            while let Some(token) = tokens.next() {
                match token {
                    proc_macro2::TokenTree::Ident(i)
                        if i == *self.name
                            && !matches!(tokens.peek(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == ':') =>
                    {
                        out.extend(self.replacement(i.span()));
                    }
                    proc_macro2::TokenTree::Group(g) => {
                        let mut group = proc_macro2::Group::new(g.delimiter(), self.tokens(g.stream()));
                        group.set_span(g.span());
                        out.push(proc_macro2::TokenTree::Group(group));
                    }
                    other => out.push(other),
                }
            }
            out.into_iter().collect()
        }
    }
    impl syn::visit_mut::VisitMut for Reborrow<'_> {
        fn visit_expr_mut(&mut self, expr: &mut syn::Expr) {
            match expr {
                syn::Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.name) => {
                    let replacement = self.replacement(p.path.span());
                    *expr = syn::parse_quote!(#replacement);
                }
                _ => syn::visit_mut::visit_expr_mut(self, expr),
            }
        }

        fn visit_item_mut(&mut self, _: &mut syn::Item) {}

        fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
            mac.tokens = self.tokens(std::mem::take(&mut mac.tokens));
        }
    }
    syn::visit_mut::VisitMut::visit_block_mut(&mut Reborrow { name, pinned }, &mut body);
    let rebind = quote! {
        #[allow(unused_mut)]
        let mut #pinned = #name;
    };
    (body, rebind)
}

/// `<R as CarriesRejection>::wrap(FromRejected::from_rejected(value))` (or `FromTimeout::from_timeout`)
/// at the user's return type `R`, so that an error type without `From<Rejected>` (or
/// `From<Timeout>`) is one error there.
pub(crate) fn into_return(p: &TokenStream, output: &syn::Type, convert: &str, value: &syn::Ident) -> TokenStream {
    let trait_ = match convert {
        "from_rejected" => quote!(FromRejected),
        "from_rejected_on_miss" => quote!(FromRejectedOnMiss),
        "from_timeout_on_miss" => quote!(FromTimeoutOnMiss),
        _ => quote!(FromTimeout),
    };
    let first = first_span(output);
    let carrier_of = value_as_unit(output);
    let carrier = respanned(quote!(<#carrier_of as #p::CarriesRejection>::Carrier), first);
    let carrier: syn::Type = syn::parse_quote!(#carrier);
    let convert = on_type(p, output, Some(&carrier), trait_, convert);
    let wrap = on_type(p, output, Some(output), quote!(CarriesRejection), "wrap");
    quote_spanned!(first=> #wrap(#convert(#value)))
}

/// `output` with `()` for a value type holding an inferred `_` (from `impl Trait`):
/// `Result<(), E>` for `Result<Vec<_>, E>`, `Option<()>` for `Option<_>`. The carrier of a rejection depends only on
/// the error type, and a `_` there would be a type nothing infers.
fn value_as_unit(output: &syn::Type) -> syn::Type {
    let mut ty = output.clone();
    if let syn::Type::Path(p) = &mut ty
        && let Some(last) = p.path.segments.last_mut()
        && let syn::PathArguments::AngleBracketed(args) = &mut last.arguments
        && let Some(syn::GenericArgument::Type(value)) = args
            .args
            .iter_mut()
            .find(|a| matches!(a, syn::GenericArgument::Type(_)))
        && has_infer(quote::ToTokens::to_token_stream(value))
    {
        *value = syn::parse_quote!(());
    }
    ty
}

/// Whether the tokens hold a `_` type.
fn has_infer(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|t| match t {
        proc_macro2::TokenTree::Ident(i) => i == "_",
        proc_macro2::TokenTree::Group(g) => has_infer(g.stream()),
        _ => false,
    })
}

/// `<Self as PRIVATE::Trait>::method` (`Self` inferred when not given), every token at the
/// first token of the user's type `ty` with its hygiene: an unmet bound of the call is one
/// error there, with no note about the expansion (rustc underlines that first token).
fn on_type(
    p: &TokenStream,
    ty: &syn::Type,
    self_ty: Option<&syn::Type>,
    trait_: TokenStream,
    method: &str,
) -> TokenStream {
    let first = first_span(ty);
    let p = respanned(p.clone(), first);
    let trait_ = respanned(trait_, first);
    let method = syn::Ident::new(method, first);
    let self_ty = match self_ty {
        Some(ty) => quote!(#ty),
        None => quote_spanned!(first=> _),
    };
    quote_spanned!(first=> <#self_ty as #p::#trait_>::#method)
}

/// The span of the first token of `ty`.
fn first_span(ty: &syn::Type) -> Span {
    let mut tokens = quote::ToTokens::to_token_stream(ty).into_iter();
    tokens.next().map_or_else(Span::call_site, |t| t.span())
}

/// `tokens` with every token at `span`: the user's token, its location and its hygiene.
fn respanned(tokens: TokenStream, span: Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut tree| {
            if let proc_macro2::TokenTree::Group(group) = &tree {
                let mut inner = proc_macro2::Group::new(group.delimiter(), respanned(group.stream(), span));
                inner.set_span(span);
                tree = proc_macro2::TokenTree::Group(inner);
            } else {
                tree.set_span(span);
            }
            tree
        })
        .collect()
}

/// Copies of the owned parameters (and of an owned receiver a fallback function receives:
/// one named `Type::f` does not, and then `Self` need not be `Clone`), taken before the call
/// consumes them.
fn clones(plan: &Plan) -> TokenStream {
    let p = {
        let k = &plan.krate;
        quote!(#k::__private)
    };
    let this = &plan.self_name;
    let takes_receiver = plan
        .fallback
        .iter()
        .flat_map(|fb| &fb.stages)
        .any(|s| matches!(s, StagePlan::Function(f) if f.with_receiver));
    let receiver =
        (plan.receiver == Some(Receiver::Value) && plan.pinned_self.is_none() && takes_receiver).then(|| {
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
pub(crate) fn located_at(tokens: TokenStream, span: Span) -> TokenStream {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reborrows_the_pinned_receiver_outside_nested_items_and_paths() {
        let body: syn::Block = syn::parse_quote!({
            let this = self.get_mut();
            let max = self::limits::MAX;
            println!("{}", self.pos);
            fn inner(x: u8) -> u8 {
                x
            }
            this.pos
        });
        let (body, rebind) = reborrow_pinned(body, &ident_at("self"), &ident("__cb_pinned"));
        let body = quote!(#body).to_string();
        assert_eq!(
            body.matches("(:: core :: pin :: Pin :: as_mut (& mut __cb_pinned))")
                .count(),
            2,
            "{body}"
        );
        assert!(body.contains("self :: limits :: MAX"), "{body}");
        assert!(!body.contains("self . "), "{body}");
        assert_eq!(
            rebind.to_string(),
            "# [allow (unused_mut)] let mut __cb_pinned = self ;"
        );
    }

    fn ident_at(name: &str) -> syn::Ident {
        syn::Ident::new(name, Span::call_site())
    }
}
