//! The protected function's signature as a higher-ranked fallback type: every lifetime the
//! signature leaves out gets a name bound by `for<..>`, and the return type's elided lifetimes
//! follow the elision rules. The fallback is checked against it, so a fallback whose lifetimes
//! do not line up (`&'static str` for `&str`, a result borrowed from the wrong parameter) is
//! one error on the fallback path, not a borrow error whose help edits the protected function.
//!
//! Input: `fn get<'a>(&'a self, key: &str) -> Result<&'a str, E>`
//! Output: `for<'_0> (&'a Self, &'_0 str) -> Result<&'a str, E>`

use crate::item::{Function, Receiver, contains_impl_trait};
use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{Lifetime, PathArguments, Type};

/// The signature the fallback must accept for every lifetime in `binder`.
pub(crate) struct HigherRanked {
    pub(crate) binder: Vec<Lifetime>,
    /// The receiver's type (if the fallback receives it), then the parameters' types.
    pub(crate) args: Vec<Type>,
    pub(crate) output: Type,
    /// The type of the fallback's optional last parameter: `CallError<E>`.
    pub(crate) cause: Type,
}

/// The signature, when it can be checked this way: a sync function (an async fallback's future
/// borrows its arguments, so no one future type serves every lifetime) whose signature
/// borrows something, whose parameters are nameable types, and whose return type is spelt
/// `..Result<..>` or `..Option<..>` (see `spelt_result_or_option`).
pub(crate) fn higher_ranked(func: &Function, with_receiver: bool, krate: &syn::Path) -> Option<HigherRanked> {
    if func.is_async() || func.params.iter().any(|p| contains_impl_trait(&p.ty)) {
        return None;
    }
    let mut output = func.output();
    if !spelt_result_or_option(&output) || contains_impl_trait(&output) {
        return None;
    }
    let mut namer = Namer::default();
    let receiver = func.receiver_ty.clone().map(|mut ty| {
        namer.visit_type_mut(&mut ty);
        ty
    });
    let receiver_lifetime = match (func.receiver, &receiver) {
        (Some(Receiver::Ref | Receiver::RefMut), Some(Type::Reference(r))) => r.lifetime.clone(),
        _ => None,
    };
    let mut args: Vec<Type> = receiver.into_iter().filter(|_| with_receiver).collect();
    for param in &func.params {
        let mut ty = (*param.ty).clone();
        namer.visit_type_mut(&mut ty);
        args.push(ty);
    }
    let only = match namer.named.as_slice() {
        [one] => Some(one.clone()),
        _ => None,
    };
    let mut elided = Elided {
        with: receiver_lifetime.or(only),
        unresolved: false,
    };
    elided.visit_type_mut(&mut output);
    if elided.unresolved || (namer.binder.is_empty() && !borrows(&output) && !args.iter().any(borrows)) {
        return None;
    }
    let cause = syn::parse_quote!(<#output as #krate::__private::FallbackCause>::Cause);
    Some(HigherRanked {
        binder: namer.binder,
        args,
        output,
        cause,
    })
}

/// Whether the return type is spelt `..Result<..>` or `..Option<..>` (any arguments, in any
/// order: `io::Result<T>`, `type Result<E, T>`): its cause is then
/// `<R as FallbackCause>::Cause`, which the type system reads from the type itself.
fn spelt_result_or_option(output: &Type) -> bool {
    let Type::Path(p) = crate::item::ungroup(output) else {
        return false;
    };
    p.path.segments.last().is_some_and(|last| {
        matches!(last.arguments, PathArguments::AngleBracketed(_)) && (last.ident == "Result" || last.ident == "Option")
    })
}

/// Whether the type holds a reference or a lifetime.
fn borrows(ty: &Type) -> bool {
    fn any(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '&' || p.as_char() == '\'',
            proc_macro2::TokenTree::Group(g) => any(g.stream()),
            _ => false,
        })
    }
    any(quote::ToTokens::to_token_stream(ty))
}

/// Names every elided lifetime of the parameters (`&T`, `'_`), and collects the lifetimes
/// they name.
#[derive(Default)]
struct Namer {
    binder: Vec<Lifetime>,
    named: Vec<Lifetime>,
}

impl Namer {
    fn fresh(&mut self) -> Lifetime {
        let lifetime = Lifetime::new(&format!("'_{}", self.binder.len()), Span::mixed_site());
        self.binder.push(lifetime.clone());
        self.named.push(lifetime.clone());
        lifetime
    }
}

impl VisitMut for Namer {
    fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
        if r.lifetime.is_none() {
            r.lifetime = Some(self.fresh());
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        if l.ident == "_" {
            *l = self.fresh();
        } else if l.ident != "static" && !self.named.contains(l) {
            self.named.push(l.clone());
        }
    }

    // Elision inside `fn(&T)` and `Fn(&T)` is their own.
    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments_mut(&mut self, _: &mut syn::ParenthesizedGenericArguments) {}
}

/// Gives the return type's elided lifetimes the one the elision rules pick.
struct Elided {
    with: Option<Lifetime>,
    unresolved: bool,
}

impl Elided {
    fn pick(&mut self) -> Option<Lifetime> {
        self.unresolved |= self.with.is_none();
        self.with.clone()
    }
}

impl VisitMut for Elided {
    fn visit_type_reference_mut(&mut self, r: &mut syn::TypeReference) {
        if r.lifetime.is_none() {
            r.lifetime = self.pick();
        }
        visit_mut::visit_type_reference_mut(self, r);
    }

    fn visit_lifetime_mut(&mut self, l: &mut Lifetime) {
        if l.ident == "_"
            && let Some(picked) = self.pick()
        {
            *l = picked;
        }
    }

    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments_mut(&mut self, _: &mut syn::ParenthesizedGenericArguments) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn check(item: proc_macro2::TokenStream) -> Option<String> {
        let func = Function::new(syn::parse2(item).unwrap());
        let hr = higher_ranked(&func, true, &syn::parse_quote!(::cb_runtime))?;
        let (binder, args, output) = (hr.binder, hr.args, hr.output);
        Some(quote!(for<#(#binder),*> (#(#args),*) -> #output).to_string())
    }

    #[test]
    fn names_elided_lifetimes_and_follows_elision_in_the_output() {
        assert_eq!(
            check(quote!(
                fn get<'a>(&'a self, key: &str) -> Result<&'a str, E> {}
            ))
            .unwrap(),
            "for < '_0 > (& 'a Self , & '_0 str) -> Result < & 'a str , E >"
        );
        assert_eq!(
            check(quote!(
                fn get(&self, key: &str) -> Result<&str, E> {}
            ))
            .unwrap(),
            "for < '_0 , '_1 > (& '_0 Self , & '_1 str) -> Result < & '_0 str , E >"
        );
        assert_eq!(
            check(quote!(
                fn get(key: &str) -> Option<&str> {}
            ))
            .unwrap(),
            "for < '_0 > (& '_0 str) -> Option < & '_0 str >"
        );
    }

    #[test]
    fn checks_a_result_under_another_spelling() {
        assert_eq!(
            check(quote!(
                fn get(a: &str) -> io::Result<&str> {}
            ))
            .unwrap(),
            "for < '_0 > (& '_0 str) -> io :: Result < & '_0 str >"
        );
    }

    #[test]
    fn leaves_out_what_it_cannot_check() {
        assert!(
            check(quote!(
                fn get(a: &str, b: &str) -> Result<&str, E> {}
            ))
            .is_none()
        );
        assert!(
            check(quote!(
                async fn get(a: &str) -> Result<u8, E> {}
            ))
            .is_none()
        );
        assert!(
            check(quote!(
                fn get(a: u8) -> Result<u8, E> {}
            ))
            .is_none()
        );
        assert!(
            check(quote!(
                fn get(a: &str) -> Fallible<u8> {}
            ))
            .is_none()
        );
        assert!(
            check(quote!(
                fn get(a: impl AsRef<str>) -> Result<u8, E> {}
            ))
            .is_none()
        );
    }
}
