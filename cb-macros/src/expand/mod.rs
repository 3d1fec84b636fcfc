//! Builds the protected function from a `Plan`. Nothing here can fail.

mod body;
mod cache;
mod fallback;
mod queue;
pub(crate) mod settings;

use crate::item::{Function, Shape, async_trait_block_mut, async_trait_ret_block_mut, contains_impl_trait};
use crate::plan::Plan;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::{AttrStyle, Block, ReturnType};

/// The function with its body routed through the breaker; signature, attributes, docs and
/// visibility unchanged (inner attributes move outside, where they mean the same).
pub(crate) fn function(func: Function, plan: &Plan) -> TokenStream {
    let async_trait_self = func.async_trait_self();
    let Function { mut item, shape, .. } = func;
    for attr in &mut item.attrs {
        attr.style = AttrStyle::Outer;
    }
    // `mut self: Pin<&mut Self>` for `self.as_mut()`: the body now reborrows a copy.
    if plan.pinned_self.is_some() {
        for arg in &mut item.sig.inputs {
            if let syn::FnArg::Receiver(r) = arg
                && r.mutability.is_some()
            {
                r.attrs.push(syn::parse_quote!(#[allow(unused_mut)]));
            }
        }
    }
    match shape {
        Shape::AsyncTrait { built: Some(built), .. } => {
            // The body runs as written in a closure called at once, so that every `return`
            // (even one a macro writes) yields the future it built; the returned future
            // awaits that one inside the breaker.
            let future = syn::Ident::new("__cb_built", Span::mixed_site());
            let wrapped = body::wrap(plan, &block(quote!(#future.await)), true, true);
            let (prelude, call) = (wrapped.prelude, wrapped.call);
            let body = &item.block;
            let ty = match &item.sig.output {
                ReturnType::Type(_, ty) if !contains_impl_trait(ty) => quote!(-> #ty),
                _ => quote!(),
            };
            let protected = match built.boxed {
                true => quote!(::std::boxed::Box::pin(async move { #call })),
                false => quote!(async move { #call }),
            };
            *item.block = syn::parse_quote!({
                #prelude
                #[allow(clippy::redundant_closure_call)]
                let #future = (|| #ty #body)();
                #protected
            });
        }
        Shape::AsyncTrait { built: None, .. } => {
            if async_trait_self {
                if let Some(user_block) =
                    async_trait_block_mut(&mut item.block).and_then(|inner| async_trait_ret_block_mut(&mut inner.block))
                {
                    let wrapped = body::wrap(plan, user_block, true, false);
                    *user_block = block(wrapped.joined());
                }
            } else if let Some(inner) = async_trait_block_mut(&mut item.block) {
                // A returned future may outlive the borrow of `self` (`+ 'static` after cloning
                // what it needs): the breaker is resolved before the future is built, so the
                // future holds the `&'static` breaker, not `self`.
                let wrapped = body::wrap(plan, &inner.block, true, false);
                let call = wrapped.call;
                inner.block = block(call);
                let prelude = wrapped.prelude;
                let stmts = std::mem::take(&mut item.block.stmts);
                *item.block = syn::parse_quote!({ #prelude #(#stmts)* });
            }
        }
        Shape::Async => {
            let wrapped = body::wrap(plan, &item.block, true, false);
            *item.block = block(wrapped.joined());
        }
        Shape::Sync => {
            let wrapped = body::wrap(plan, &item.block, false, false);
            *item.block = block(wrapped.joined());
        }
    }
    quote!(#item)
}

fn block(tokens: TokenStream) -> Block {
    syn::parse_quote!({ #tokens })
}

/// The original item followed by the errors: the user keeps their function and sees every
/// mistake at once, without a cascade of unrelated errors.
pub(crate) fn with_errors(original: TokenStream, err: syn::Error) -> TokenStream {
    let errors = err.to_compile_error();
    quote!(#original #errors)
}
