//! The code of `queue = "..."`.
//!
//! Input:
//! ```text
//! #[circuit_breaker(name = "notify", queue = "notifications")]
//! async fn send(&self, to: String, body: &Body) -> Result<(), E> { BODY }
//! ```
//! Output (beside the usual acquire / run / record, see `body.rs`):
//! ```text
//! let __cb_queue: &'static QueueSite = { static __CB_QUEUE: QueueSite = QueueSite::new("notifications", "app::send"); &__CB_QUEUE };
//! let __cb_make = || {                               // the replay handler, built once
//!     let __cb_recv = <Self as QueueReceiver>::clone_receiver(self);
//!     queue::handler(move |__cb_payload| {
//!         let __cb_recv = <Self as QueueReceiver>::clone_receiver(&__cb_recv);
//!         async move {
//!             let (mut to, mut body) = decode::<(String, Body)>(&__cb_payload)?;
//!             let __cb_r: Result<(), E> = Self::send(&__cb_recv, to, &body).await;
//!             queue::outcome::<Result<(), E>>(&__cb_r)
//!         }
//!     })
//! };
//! QueueSite::register(__cb_queue, type_name::<Self>(), __cb_breaker, &__cb_make);   // first call: replay a backlog
//! // on rejection:
//! return queue::answer::<Result<(), E>>(
//!     serve_fallback_async(.., "queue:notifications", enqueue(__cb_queue, type_name::<Self>(), __cb_breaker, rejected, encode((&to, &*body)), &__cb_make)).await);
//! ```
//! The `QueueArg` calls are spanned on each parameter's type, the `QueueReceiver` ones on the
//! receiver and `answer` on the return type, so a missing trait is reported there.

use super::body::ident;
use crate::item::Receiver;
use crate::plan::Plan;
use crate::queue::QueuePlan;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

/// The site static, the replay handler's builder and its registration; after the breaker is
/// bound.
pub(crate) fn register(plan: &Plan, q: &QueuePlan) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let site = ident("__cb_queue");
    let static_site = ident("__CB_QUEUE");
    let make = ident("__cb_make");
    let breaker = ident("__cb_breaker");
    let name = &q.name;
    let function = q.fn_ident.to_string();
    let handler = handler(plan, q);
    let self_type = self_type(q);
    quote! {
        let #site: &'static #p::queue::QueueSite = {
            static #static_site: #p::queue::QueueSite =
                #p::queue::QueueSite::new(#name, ::core::concat!(::core::module_path!(), "::", #function));
            &#static_site
        };
        let #make = || #handler;
        #p::queue::QueueSite::register(#site, #self_type, #breaker, &#make);
    }
}

/// A method's `Self` as `core::any::type_name` gives it, `""` for a free function: a method's
/// entries name its type too (two types of one module may both have a `send`, and two
/// instantiations of one generic type are two receivers).
fn self_type(q: &QueuePlan) -> TokenStream {
    match q.receiver {
        Some(_) => quote!(::core::any::type_name::<Self>()),
        None => quote!(""),
    }
}

/// The rejection's answer: the arguments queued, the caller told.
pub(crate) fn on_reject(plan: &Plan, q: &QueuePlan) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let output = &plan.output;
    let (site, make, breaker, span) = (
        ident("__cb_queue"),
        ident("__cb_make"),
        ident("__cb_breaker"),
        ident("__cb_span"),
    );
    let (rejected, payload, enc, answer) = (
        ident("__cb_rejected"),
        ident("__cb_payload"),
        ident("__cb_enc"),
        ident("__cb_answer"),
    );
    let source = format!("queue:{}", q.name.value());
    let self_type = self_type(q);
    let encode = q.params.iter().map(|param| {
        let (name, ty) = (&param.ident, &param.stored);
        let arg = match param.reference {
            None => quote!(&#name),
            Some(_) => quote!(&*#name),
        };
        quote_spanned!(ty.span()=> <#ty as #p::queue::QueueArg>::encode(#arg, &mut #enc);)
    });
    let p_at_output = super::body::located_at(p.clone(), output.span());
    let answer_call = quote_spanned!(output.span()=> #p_at_output::queue::answer::<#output>(#answer));
    quote!({
        let #payload = {
            let mut #enc = #p::queue::Encoder::new();
            #(#encode)*
            #p::queue::Encoder::finish(#enc)
        };
        let #answer = #p::serve_fallback_async(
            &#span,
            #breaker,
            #p::FallbackKind::Queue,
            #p::FallbackReason::Rejected,
            #source,
            #p::queue::enqueue(#site, #self_type, #breaker, #rejected, #payload, &#make),
        )
        .await;
        #answer_call
    })
}

/// `queue::handler(move |payload| async move { decode; call the function; outcome })`.
fn handler(plan: &Plan, q: &QueuePlan) -> TokenStream {
    let k = &plan.krate;
    let p = quote!(#k::__private);
    let output = &plan.output;
    let (recv, payload, dec, args, error, result) = (
        ident("__cb_recv"),
        ident("__cb_payload"),
        ident("__cb_dec"),
        ident("__cb_args"),
        ident("__cb_error"),
        ident("__cb_r"),
    );
    let this = &plan.self_name;
    let (clone_outer, clone_inner, recv_arg) = match q.receiver {
        None => (quote!(), quote!(), quote!()),
        Some((kind, span)) => {
            let source = match kind {
                Receiver::Ref => quote!(#this),
                Receiver::RefMut => quote!(&*#this),
                Receiver::Value => quote!(&#this),
            };
            let outer = quote_spanned!(span=> let #recv = <Self as #p::queue::QueueReceiver>::clone_receiver(#source););
            let inner = quote_spanned!(span=> #[allow(unused_mut)] let mut #recv = <Self as #p::queue::QueueReceiver>::clone_receiver(&#recv););
            let arg = match kind {
                Receiver::Ref => quote!(&#recv,),
                Receiver::RefMut => quote!(&mut #recv,),
                Receiver::Value => quote!(#recv,),
            };
            (outer, inner, arg)
        }
    };
    let fn_ident = &q.fn_ident;
    let callee = match q.receiver {
        Some(_) => quote!(Self::#fn_ident),
        None => quote!(#fn_ident),
    };
    let names: Vec<_> = q.params.iter().map(|param| &param.ident).collect();
    let types: Vec<_> = q.params.iter().map(|param| &param.stored).collect();
    let decode = types
        .iter()
        .map(|ty| quote_spanned!(ty.span()=> <#ty as #p::queue::QueueArg>::decode(&mut #dec)?,));
    let pass = q.params.iter().map(|param| {
        let name = &param.ident;
        match param.reference {
            None => quote!(#name),
            Some(false) => quote!(&#name),
            Some(true) => quote!(&mut #name),
        }
    });
    let outcome = quote!(#p::queue::outcome::<#output>(&#result));
    quote!({
        #clone_outer
        #p::queue::handler(move |#payload: #p::queue::Vec<u8>| {
            #clone_inner
            async move {
                #[allow(clippy::redundant_closure_call)]
                let #args = (|| -> #p::queue::Result<(#(#types,)*), #p::queue::String> {
                    let mut #dec = #p::queue::Decoder::new(&#payload)?;
                    let #args = (#(#decode)*);
                    #p::queue::Decoder::finish(#dec)?;
                    #p::Ok(#args)
                })();
                #[allow(unused_mut)]
                let (#(mut #names,)*) = match #args {
                    #p::Ok(#args) => #args,
                    #p::Err(#error) => return #p::queue::ReplayOutcome::Undecodable(#error),
                };
                let #result: #output = #callee(#recv_arg #(#pass,)*).await;
                #outcome
            }
        })
    })
}
