//! `queue = "..."`: what a queued call needs from the function, checked before expansion
//! (`expand/queue.rs` builds the code). Each problem is one error on the offending token.

use crate::ctxt::Ctxt;
use crate::item::{Function, Receiver, Shape, contains_impl_trait};
use crate::lit;
use proc_macro2::Span;
use syn::{Expr, FnArg, GenericParam, Ident, LitStr, Type};

/// How a queued call is stored and replayed.
pub(crate) struct QueuePlan {
    /// The queue's name, as written.
    pub(crate) name: LitStr,
    /// The function, called again by the replay (`Self::f` for a method).
    pub(crate) fn_ident: Ident,
    /// The receiver and where it is written (for the `Clone` requirement's error).
    pub(crate) receiver: Option<(Receiver, Span)>,
    pub(crate) params: Vec<QueueParam>,
}

/// One parameter as the queue stores it.
pub(crate) struct QueueParam {
    pub(crate) ident: Ident,
    /// The type stored: the parameter's, or the referent of a reference.
    pub(crate) stored: Type,
    /// `None` for a value, `Some(mutable)` for a reference.
    pub(crate) reference: Option<bool>,
}

/// The queue's name: a non-empty string literal without `/` (which separates the queue from
/// the breaker in the backend's sub-queue names).
pub(crate) fn name(expr: &Expr) -> syn::Result<LitStr> {
    let s = lit::string(expr, "queue")?;
    let value = s.value();
    if value.is_empty() || value.contains('/') {
        return Err(syn::Error::new_spanned(
            &s,
            "`queue` must be a non-empty name without `/`, e.g. `queue = \"notifications\"`",
        ));
    }
    Ok(s)
}

/// Reports `queue = ..` when cb-runtime's `queue` feature is off (the runtime support the
/// expansion calls would be missing).
pub(crate) fn require_feature(name: &LitStr, cx: &mut Ctxt) {
    if !cfg!(feature = "queue") {
        cx.error_spanned_by(
            name,
            "`queue` needs the `queue` feature of cb-runtime: `cb-runtime = { version = \"0.1\", features = [\"queue\"] }`",
        );
    }
}

/// The plan of `queue = name` on `func`, reporting what cannot be queued.
pub(crate) fn plan(func: &Function, name: LitStr, has_fallback: bool, cx: &mut Ctxt) -> QueuePlan {
    let sig = &func.item.sig;
    if has_fallback {
        cx.error_spanned_by(
            &name,
            "`queue` and `fallback` both answer a rejected call: keep one of them",
        );
    }
    if !matches!(func.shape, Shape::Async) {
        cx.error_spanned_by(
            &name,
            "`queue` needs a native `async fn` (not a sync function, nor an `#[async_trait]` or `-> impl Future` one): a queued call is replayed later on cb's queue thread, which awaits it",
        );
    }
    for param in sig.generics.params.iter() {
        if !matches!(param, GenericParam::Lifetime(_)) {
            cx.error_spanned_by(
                param,
                "`queue` cannot replay a generic function: the replay handler is registered once, for one type",
            );
        }
    }
    let receiver = sig.inputs.iter().find_map(|arg| match arg {
        FnArg::Receiver(r) => Some(r),
        FnArg::Typed(_) => None,
    });
    if let Some(r) = receiver
        && r.colon_token.is_some()
    {
        cx.error_spanned_by(
            r,
            "`queue` replays methods taking `self`, `&self` or `&mut self`; not a typed receiver",
        );
    }
    let mut params = Vec::new();
    for param in &func.params {
        let Some(ident) = &param.ident else {
            cx.error_spanned_by(
                &param.pat,
                "a queued call stores every parameter: bind this one to a plain name",
            );
            continue;
        };
        if contains_impl_trait(&param.ty) {
            cx.error_spanned_by(
                &param.ty,
                "a queued call stores every parameter: `impl Trait` cannot be stored; name the type",
            );
            continue;
        }
        let (stored, reference) = match ungroup(&param.ty) {
            Type::Reference(r) => ((*r.elem).clone(), Some(r.mutability.is_some())),
            ty => (ty.clone(), None),
        };
        params.push(QueueParam {
            ident: ident.clone(),
            stored,
            reference,
        });
    }
    QueuePlan {
        name,
        fn_ident: sig.ident.clone(),
        receiver: func.receiver.zip(receiver.map(|r| r.self_token.span)),
        params,
    }
}

fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn errors(item: proc_macro2::TokenStream, has_fallback: bool) -> Vec<String> {
        let func = Function::new(syn::parse2(item).unwrap());
        let mut cx = Ctxt::new();
        plan(&func, syn::parse_quote!("q"), has_fallback, &mut cx);
        match cx.check() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    #[test]
    fn accepts_an_async_method_with_owned_and_borrowed_parameters() {
        assert!(
            errors(
                quote!(
                    async fn f(&self, a: String, b: &u32) -> Result<(), E> {
                        Ok(())
                    }
                ),
                false
            )
            .is_empty()
        );
    }

    #[test]
    fn refuses_what_cannot_be_replayed() {
        assert_eq!(
            errors(
                quote!(
                    fn f<T>((a, b): (u8, u8)) -> Result<(), E> {
                        Ok(())
                    }
                ),
                true
            ),
            [
                "`queue` and `fallback` both answer a rejected call: keep one of them",
                "`queue` needs a native `async fn` (not a sync function, nor an `#[async_trait]` or `-> impl Future` one): a queued call is replayed later on cb's queue thread, which awaits it",
                "`queue` cannot replay a generic function: the replay handler is registered once, for one type",
                "a queued call stores every parameter: bind this one to a plain name",
            ]
        );
    }

    #[test]
    fn without_the_runtime_feature_queue_is_an_error_that_names_it() {
        let mut cx = Ctxt::new();
        require_feature(&syn::parse_quote!("q"), &mut cx);
        let errors: Vec<String> = match cx.check() {
            Ok(()) => vec![],
            Err(e) => e.into_iter().map(|e| e.to_string()).collect(),
        };
        match cfg!(feature = "queue") {
            true => assert!(errors.is_empty()),
            false => assert_eq!(
                errors,
                [
                    "`queue` needs the `queue` feature of cb-runtime: `cb-runtime = { version = \"0.1\", features = [\"queue\"] }`"
                ]
            ),
        }
    }

    #[test]
    fn names_are_checked() {
        assert!(name(&syn::parse_quote!("a/b")).is_err());
        assert!(name(&syn::parse_quote!("")).is_err());
        assert!(name(&syn::parse_quote!(notifications)).is_err());
        assert_eq!(name(&syn::parse_quote!("n")).unwrap().value(), "n");
    }
}
