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
                if let Some(inner) = async_trait_block_mut(&mut item.block) {
                    let rebinds = own_async_trait_mut_params(&mut inner.block, plan);
                    if let Some(user_block) = async_trait_ret_block_mut(&mut inner.block) {
                        let body = match rebinds.is_empty() {
                            true => user_block.clone(),
                            false => syn::parse_quote!({ #(#rebinds)* #user_block }),
                        };
                        let wrapped = body::wrap(plan, &body, true, false);
                        *user_block = block(wrapped.joined());
                    }
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
            let body = own_mut_params(&mut item, plan);
            let wrapped = body::wrap(plan, &body, true, false);
            *item.block = block(wrapped.joined());
        }
        Shape::Sync => {
            let body = own_mut_params(&mut item, plan);
            let wrapped = body::wrap(plan, &body, false, false);
            *item.block = block(wrapped.joined());
        }
    }
    quote!(#item)
}

/// The body, given its own copy of each `mut` parameter when a `fallback_value` may read the
/// parameters after it ran: the value then reads what the caller passed, as a fallback
/// function (which gets copies taken before the call) and a rejection do, not what the body
/// left in its scratch variable.
///
/// Only the parameters the value names; one the body consumes is then an error at the value
/// (`borrow of moved value`), as for any argument the body consumed.
///
/// Input: `fn page(mut n: u32) -> R { n += 1; .. }` with `fallback_value = Ok(n)`
/// Output: `fn page(n: u32) -> R { ..wrapper.. { let mut n = n; n += 1; .. } }`
fn own_mut_params(item: &mut syn::ItemFn, plan: &Plan) -> Block {
    let read = value_reads(plan);
    let mut rebinds = Vec::new();
    for arg in &mut item.sig.inputs {
        if let syn::FnArg::Typed(typed) = arg {
            strip_mut(&mut typed.pat, &read, &mut rebinds);
        }
    }
    let body = &item.block;
    match rebinds.is_empty() {
        true => (**body).clone(),
        false => syn::parse_quote!({ #(#rebinds)* #body }),
    }
}

/// What the `fallback_value` expressions serving failures name.
fn value_reads(plan: &Plan) -> Vec<String> {
    let mut read = Vec::new();
    for fb in plan.fallback.iter().filter(|fb| fb.on_failure) {
        for stage in &fb.stages {
            if let crate::plan::StagePlan::Value(expr) = stage {
                idents(quote!(#expr), &mut read);
            }
        }
    }
    read
}

/// [`own_mut_params`] under `#[async_trait]`, which moved each parameter into its future as
/// `let mut page = page;`: that binding loses its `mut`, and the returned statements give the
/// body its own mutable copy.
fn own_async_trait_mut_params(future: &mut Block, plan: &Plan) -> Vec<TokenStream> {
    let read = value_reads(plan);
    let mut rebinds = Vec::new();
    for stmt in &mut future.stmts {
        // async_trait moves each parameter in (`let mut page = page;`, `let (mut a, b) = {
        // let __arg1 = __arg1; __arg1 };`); the body itself is one level down, in `__ret`'s block.
        if let syn::Stmt::Local(local) = stmt {
            strip_mut(&mut local.pat, &read, &mut rebinds);
        }
    }
    rebinds
}

/// Takes `mut` off every binding of `pat` that `read` names, giving the body its own mutable
/// copy of each instead (`rebinds`).
fn strip_mut(pat: &mut syn::Pat, read: &[String], rebinds: &mut Vec<TokenStream>) {
    match pat {
        syn::Pat::Ident(ident) => {
            if ident.by_ref.is_none()
                && read.contains(&ident.ident.to_string())
                && let Some(mutability) = ident.mutability.take()
            {
                let name = &ident.ident;
                rebinds.push(quote!(#[allow(unused_mut, clippy::redundant_locals)] let #mutability #name = #name;));
            }
            if let Some((_, sub)) = &mut ident.subpat {
                strip_mut(sub, read, rebinds);
            }
        }
        syn::Pat::Tuple(t) => t.elems.iter_mut().for_each(|p| strip_mut(p, read, rebinds)),
        syn::Pat::TupleStruct(t) => t.elems.iter_mut().for_each(|p| strip_mut(p, read, rebinds)),
        syn::Pat::Slice(t) => t.elems.iter_mut().for_each(|p| strip_mut(p, read, rebinds)),
        syn::Pat::Struct(t) => t.fields.iter_mut().for_each(|f| strip_mut(&mut f.pat, read, rebinds)),
        syn::Pat::Reference(r) => strip_mut(&mut r.pat, read, rebinds),
        syn::Pat::Type(t) => strip_mut(&mut t.pat, read, rebinds),
        syn::Pat::Paren(p) => strip_mut(&mut p.pat, read, rebinds),
        _ => {}
    }
}

/// Every identifier in `tokens`, and every word of a literal (a format string's inline
/// arguments, `"{page}"`, name parameters too).
fn idents(tokens: TokenStream, out: &mut Vec<String>) {
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Ident(ident) => out.push(ident.to_string()),
            proc_macro2::TokenTree::Group(group) => idents(group.stream(), out),
            proc_macro2::TokenTree::Literal(lit) => out.extend(
                lit.to_string()
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .filter(|w| !w.is_empty())
                    .map(str::to_owned),
            ),
            proc_macro2::TokenTree::Punct(_) => {}
        }
    }
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
