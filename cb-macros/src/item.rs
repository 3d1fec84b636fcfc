//! The protected function as the macro sees it: signature, receiver, parameters and the shape
//! of its body (native async, `#[async_trait]`-boxed async, or sync).

use syn::visit_mut::{self, VisitMut};
use syn::{
    Block, Expr, ExprAsync, ExprCall, FnArg, GenericArgument, Ident, ItemFn, Pat, PathArguments, ReturnType, Stmt,
    Type, TypeParamBound,
};

/// How the body runs.
pub(crate) enum Shape {
    /// `async fn`.
    Async,
    /// `fn f(..) -> Pin<Box<dyn Future<Output = R> + ..>> { Box::pin(async move { .. }) }`, as
    /// `#[async_trait]` writes it, or `fn f(..) -> impl Future<Output = R> { async move { .. } }`:
    /// the inner block is what gets wrapped.
    ///
    /// With `built`, the body may return its future some other way (an early `return`, a
    /// macro call, a tail that is not an `async` block): the body runs as written and the
    /// future it returns is awaited inside the breaker.
    AsyncTrait { output: Box<Type>, built: Option<Built> },
    /// A plain function.
    Sync,
}

/// How a future-returning body that does not end in its only `async` block is protected.
#[derive(Clone, Copy)]
pub(crate) struct Built {
    /// `Pin<Box<dyn Future ..>>` (the protected future is boxed), not `impl Future`.
    pub(crate) boxed: bool,
}

/// How the method takes `self`.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Receiver {
    Ref,
    RefMut,
    Value,
}

/// One parameter after the receiver.
pub(crate) struct Param {
    pub(crate) pat: Box<Pat>,
    pub(crate) ty: Box<Type>,
    pub(crate) ident: Option<Ident>,
    pub(crate) is_reference: bool,
}

/// The analysed function.
pub(crate) struct Function {
    pub(crate) item: ItemFn,
    pub(crate) shape: Shape,
    pub(crate) receiver: Option<Receiver>,
    /// The receiver's type as declared (`&Self` for `&self`).
    pub(crate) receiver_ty: Option<Type>,
    /// Whether the receiver is `self: Pin<&mut Self>` (a `Receiver::Value` that cannot be
    /// cloned, but can be reborrowed).
    pub(crate) pinned: bool,
    pub(crate) params: Vec<Param>,
}

impl Function {
    pub(crate) fn new(item: ItemFn) -> Function {
        let receiver = item.sig.inputs.iter().find_map(|arg| match arg {
            FnArg::Receiver(r) => Some(match (&r.reference, r.mutability) {
                (Some(_), Some(_)) => Receiver::RefMut,
                (Some(_), None) => Receiver::Ref,
                (None, _) if matches!(&*r.ty, Type::Reference(t) if t.mutability.is_some()) => Receiver::RefMut,
                (None, _) if matches!(&*r.ty, Type::Reference(_)) => Receiver::Ref,
                (None, _) => Receiver::Value,
            }),
            FnArg::Typed(_) => None,
        });
        let params = item
            .sig
            .inputs
            .iter()
            .filter_map(|arg| match arg {
                FnArg::Typed(t) => Some(Param {
                    ident: match &*t.pat {
                        Pat::Ident(p) if p.subpat.is_none() && p.by_ref.is_none() => Some(p.ident.clone()),
                        _ => None,
                    },
                    pat: t.pat.clone(),
                    ty: t.ty.clone(),
                    is_reference: matches!(ungroup(&t.ty), Type::Reference(_)),
                }),
                FnArg::Receiver(_) => None,
            })
            .collect();
        let shape = if item.sig.asyncness.is_some() {
            Shape::Async
        } else {
            match future_output(&item.sig.output) {
                Some(output) => {
                    let mut early = MayReturnEarly::default();
                    early.visit_block_mut(&mut (*item.block).clone());
                    // A plain `async { .. }` tail is the user's own (`#[async_trait]` writes
                    // `async move`): wrapped in place, the breaker code in it would borrow the
                    // function's locals, so it is built like any other future.
                    let moves = async_trait_block(&item.block).is_some_and(|a| a.capture.is_some());
                    let simple = moves && !early.0;
                    Shape::AsyncTrait {
                        output: Box::new(output.clone()),
                        built: (!simple).then(|| Built {
                            boxed: !matches!(&item.sig.output, ReturnType::Type(_, ty) if matches!(ungroup(ty), Type::ImplTrait(_))),
                        }),
                    }
                }
                None => Shape::Sync,
            }
        };
        let receiver_ty = item.sig.inputs.iter().find_map(|arg| match arg {
            FnArg::Receiver(r) => Some((*r.ty).clone()),
            FnArg::Typed(_) => None,
        });
        let pinned = receiver_ty.as_ref().is_some_and(is_pin_mut_self);
        Function {
            item,
            shape,
            receiver,
            receiver_ty,
            pinned,
            params,
        }
    }

    /// The type the caller gets: the declared return type, or the future's output under
    /// `#[async_trait]`.
    pub(crate) fn output(&self) -> Type {
        match (&self.shape, &self.item.sig.output) {
            (Shape::AsyncTrait { output, .. }, _) => (**output).clone(),
            (_, ReturnType::Type(_, ty)) => (**ty).clone(),
            (_, ReturnType::Default) => syn::parse_quote!(()),
        }
    }

    /// Whether the body is `#[async_trait]`'s, with the user's block in `let __ret: R = { .. };`
    /// after `let __self = self;`: then only that block is wrapped, and it names the receiver
    /// `__self`.
    pub(crate) fn async_trait_self(&self) -> bool {
        let Some(inner) = async_trait_block(&self.item.block) else {
            return false;
        };
        self.receiver.is_some() && async_trait_ret_block(&inner.block).is_some() && binds_self(&inner.block)
    }

    pub(crate) fn is_async(&self) -> bool {
        !matches!(self.shape, Shape::Sync)
    }
}

/// The `async move { .. }` of a body whose tail is `Box::pin(async move { .. })` or
/// `async move { .. }`.
pub(crate) fn async_trait_block(block: &Block) -> Option<&ExprAsync> {
    match block.stmts.last()? {
        Stmt::Expr(Expr::Async(inner), None) => Some(inner),
        Stmt::Expr(Expr::Call(ExprCall { func, args, .. }), None) => {
            let is_pin = matches!(&**func, Expr::Path(p) if p.path.segments.last().is_some_and(|s| s.ident == "pin"));
            match (is_pin, args.first()) {
                (true, Some(Expr::Async(inner))) if args.len() == 1 => Some(inner),
                _ => None,
            }
        }
        _ => None,
    }
}

/// Whether a function body may leave before its tail: a `return` (not one of its closures,
/// `async` blocks or nested items), or a macro call, which may expand to one.
#[derive(Default)]
struct MayReturnEarly(bool);

impl VisitMut for MayReturnEarly {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        match expr {
            Expr::Closure(_) | Expr::Async(_) | Expr::Const(_) => {}
            Expr::Return(_) => self.0 = true,
            _ => visit_mut::visit_expr_mut(self, expr),
        }
    }

    fn visit_item_mut(&mut self, _: &mut syn::Item) {}

    fn visit_macro_mut(&mut self, _: &mut syn::Macro) {
        self.0 = true;
    }
}

/// `{ .. }` of `let __ret: R = { .. };`, where `#[async_trait]` puts the user's block.
pub(crate) fn async_trait_ret_block(block: &Block) -> Option<&Block> {
    block.stmts.iter().find_map(|stmt| match stmt {
        Stmt::Local(local) => match (&local.pat, local.init.as_ref().map(|i| &*i.expr)) {
            (Pat::Type(t), Some(Expr::Block(b))) if matches!(&*t.pat, Pat::Ident(i) if i.ident == "__ret") => {
                Some(&b.block)
            }
            _ => None,
        },
        _ => None,
    })
}

/// The same block, for rewriting it.
pub(crate) fn async_trait_ret_block_mut(block: &mut Block) -> Option<&mut Block> {
    block.stmts.iter_mut().find_map(|stmt| match stmt {
        Stmt::Local(local) => match (&local.pat, local.init.as_mut().map(|i| &mut *i.expr)) {
            (Pat::Type(t), Some(Expr::Block(b))) if matches!(&*t.pat, Pat::Ident(i) if i.ident == "__ret") => {
                Some(&mut b.block)
            }
            _ => None,
        },
        _ => None,
    })
}

/// Whether the block binds `let __self = self;` (or `let mut __self = self;`).
fn binds_self(block: &Block) -> bool {
    block
        .stmts
        .iter()
        .any(|stmt| matches!(stmt, Stmt::Local(local) if matches!(&local.pat, Pat::Ident(i) if i.ident == "__self")))
}

/// Mutable access to the same block, for rewriting it.
pub(crate) fn async_trait_block_mut(block: &mut Block) -> Option<&mut ExprAsync> {
    match block.stmts.last_mut()? {
        Stmt::Expr(Expr::Async(inner), None) => Some(inner),
        Stmt::Expr(Expr::Call(ExprCall { args, .. }), None) => match args.first_mut() {
            Some(Expr::Async(inner)) => Some(inner),
            _ => None,
        },
        _ => None,
    }
}

/// `R` of `Pin<Box<dyn Future<Output = R> + ..>>` or `impl Future<Output = R> + ..`.
pub(crate) fn future_output(ret: &ReturnType) -> Option<&Type> {
    let ReturnType::Type(_, ty) = ret else { return None };
    let bounds = match ungroup(ty) {
        Type::ImplTrait(opaque) => &opaque.bounds,
        ty => {
            let boxed = single_generic(ty, "Pin")?;
            let Type::TraitObject(object) = single_generic(boxed, "Box")? else {
                return None;
            };
            &object.bounds
        }
    };
    bounds.iter().find_map(|bound| {
        let TypeParamBound::Trait(t) = bound else { return None };
        let segment = t.path.segments.last().filter(|s| s.ident == "Future")?;
        let PathArguments::AngleBracketed(args) = &segment.arguments else {
            return None;
        };
        args.args.iter().find_map(|a| match a {
            GenericArgument::AssocType(assoc) if assoc.ident == "Output" => Some(&assoc.ty),
            _ => None,
        })
    })
}

/// Whether the returned future is declared `+ 'static` (`impl Future<..> + 'static` or
/// `Pin<Box<dyn Future<..> + 'static>>`): it cannot hold a borrow of `self`.
pub(crate) fn future_is_static(ret: &ReturnType) -> bool {
    let ReturnType::Type(_, ty) = ret else { return false };
    let bounds = match ungroup(ty) {
        Type::ImplTrait(opaque) => &opaque.bounds,
        ty => {
            let Some(Type::TraitObject(object)) = single_generic(ty, "Pin").and_then(|b| single_generic(b, "Box"))
            else {
                return false;
            };
            &object.bounds
        }
    };
    bounds
        .iter()
        .any(|bound| matches!(bound, TypeParamBound::Lifetime(l) if l.ident == "static"))
}

/// Whether the type is `Pin<&mut Self>` (under any path to `Pin`).
fn is_pin_mut_self(ty: &Type) -> bool {
    let Some(Type::Reference(r)) = single_generic(ungroup(ty), "Pin") else {
        return false;
    };
    r.mutability.is_some() && matches!(ungroup(&r.elem), Type::Path(p) if p.qself.is_none() && p.path.is_ident("Self"))
}

fn single_generic<'a>(ty: &'a Type, name: &str) -> Option<&'a Type> {
    let Type::Path(p) = ty else { return None };
    let segment = p.path.segments.last().filter(|s| s.ident == name)?;
    let PathArguments::AngleBracketed(args) = &segment.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t),
        _ => None,
    })
}

/// Whether a type contains `impl Trait` (which cannot be named in the generated code).
pub(crate) fn contains_impl_trait(ty: &Type) -> bool {
    fn any_impl(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "impl",
            proc_macro2::TokenTree::Group(g) => any_impl(g.stream()),
            _ => false,
        })
    }
    any_impl(quote::ToTokens::to_token_stream(ty))
}

/// `ty` without the invisible groups `macro_rules!` wraps around `$t:ty`.
pub(crate) fn ungroup(ty: &Type) -> &Type {
    match ty {
        Type::Group(g) => ungroup(&g.elem),
        Type::Paren(p) => ungroup(&p.elem),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    #[test]
    fn recognises_an_async_trait_body() {
        let item: ItemFn = parse_quote! {
            fn get<'a>(&'a self) -> ::core::pin::Pin<Box<dyn ::core::future::Future<Output = Result<u8, E>> + Send + 'a>> {
                Box::pin(async move { let __self = self; Ok(1) })
            }
        };
        let f = Function::new(item);
        assert!(matches!(f.shape, Shape::AsyncTrait { .. }));
        assert!(f.receiver == Some(Receiver::Ref));
        let out = f.output();
        assert_eq!(quote::quote!(#out).to_string(), "Result < u8 , E >");
    }

    #[test]
    fn recognises_an_impl_future_body() {
        let item: ItemFn = parse_quote! {
            fn get(&self) -> impl Future<Output = Result<u8, E>> + Send { async move { Ok(1) } }
        };
        let f = Function::new(item);
        assert!(matches!(f.shape, Shape::AsyncTrait { .. }));
        let out = f.output();
        assert_eq!(quote::quote!(#out).to_string(), "Result < u8 , E >");
    }

    #[test]
    fn reads_receivers_and_params() {
        let f = Function::new(parse_quote! { fn f(&mut self, a: &str, (b, c): (u8, u8), mut d: String) {} });
        assert!(f.receiver == Some(Receiver::RefMut));
        let idents: Vec<_> = f
            .params
            .iter()
            .map(|p| p.ident.as_ref().map(|i| i.to_string()))
            .collect();
        assert_eq!(idents, [Some("a".into()), None, Some("d".into())]);
        assert!(f.params[0].is_reference && !f.params[2].is_reference);
        assert!(matches!(f.shape, Shape::Sync));
        assert!(!f.pinned);
    }

    #[test]
    fn recognises_a_pinned_receiver() {
        let f = Function::new(parse_quote! { fn f(self: Pin<&mut Self>) {} });
        assert!(f.pinned && f.receiver == Some(Receiver::Value));
        let f = Function::new(parse_quote! { fn f(self: ::core::pin::Pin<&Self>) {} });
        assert!(!f.pinned);
    }

    #[test]
    fn impl_trait_anywhere() {
        assert!(contains_impl_trait(&parse_quote!(Result<impl Display, E>)));
        assert!(contains_impl_trait(&parse_quote!(Result<(u8, impl Display), E>)));
        assert!(!contains_impl_trait(&parse_quote!(Result<(u8, String), E>)));
    }
}
