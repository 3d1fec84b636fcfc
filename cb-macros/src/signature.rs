//! The protected function's signature as a higher-ranked fallback type: every lifetime the
//! signature leaves out gets a name bound by `for<..>`, and the return type's elided lifetimes
//! follow the elision rules. The fallback is checked against it, so a fallback whose lifetimes
//! do not line up (`&'static str` for `&str`, a result borrowed from the wrong parameter) is
//! one error on the fallback path, not a borrow error whose help edits the protected function.
//!
//! The function's own lifetime parameters are bound too (renamed `'_a` for `'a`, since a
//! `for<'a>` inside the function would shadow its `'a`) when its parameters name them and no
//! bound constrains them: the fallback must serve every choice of them as well.
//!
//! Input: `fn get<'a>(&'a self, key: &str) -> Result<&'a str, E>`
//! Output: `for<'_a, '_0> (&'_a Self, &'_0 str) -> Result<&'_a str, E>`

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

/// The signature, when it can be checked this way: a function (sync or async) whose signature
/// borrows something, whose parameters are nameable types, and whose return type is spelt
/// `..Result<..>` or `..Option<..>` (see `spelt_result_or_option`).
pub(crate) fn higher_ranked(func: &Function, with_receiver: bool, krate: &syn::Path) -> Option<HigherRanked> {
    if func.params.iter().any(|p| contains_impl_trait(&p.ty)) {
        return None;
    }
    let mut output = func.output();
    if !spelt_result_or_option(&output) || contains_impl_trait(&output) || hides_a_lifetime(&output) {
        return None;
    }
    let mut namer = Namer {
        unbounded: unbounded_lifetimes(&func.item.sig.generics),
        ..Namer::default()
    };
    // A fallback that does not receive the receiver (`Type::f`) cannot serve every lifetime of
    // it: a result borrowing the receiver is then any one lifetime (`'_`, inferred at the
    // call), which a `'static` value fits.
    let receiver = func.receiver_ty.clone().filter(|_| with_receiver).map(|mut ty| {
        namer.visit_type_mut(&mut ty);
        ty
    });
    let receiver_lifetime = match (func.receiver, &receiver) {
        (Some(Receiver::Ref | Receiver::RefMut), Some(Type::Reference(r))) => r.lifetime.clone(),
        (Some(Receiver::Ref | Receiver::RefMut), None) => match func.receiver_ty.as_ref().map(crate::item::ungroup) {
            Some(Type::Reference(r)) => Some(
                r.lifetime
                    .clone()
                    .unwrap_or_else(|| Lifetime::new("'_", Span::call_site())),
            ),
            _ => None,
        },
        // `self: Pin<&mut Self>`: the elision rules pick the receiver's lifetime too.
        (Some(Receiver::Value), None) if func.pinned => Some(Lifetime::new("'_", Span::call_site())),
        _ => None,
    };
    let mut args: Vec<Type> = receiver.into_iter().collect();
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
        renamed: namer.renamed,
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

/// Whether the type names a standard type that carries a lifetime without writing it
/// (`Cow<str>`, `Ref<T>`, `Chars`): the elision rules give it one the check could not name (a
/// lifetime left out of a path is inferred inside the function, outside the `for<..>`), so
/// such a return type is left to the compiler's own check at the call. A user's type written
/// without its lifetime is not recognised; `Parser<'_>` is.
fn hides_a_lifetime(ty: &Type) -> bool {
    const CARRY_A_LIFETIME: &[&str] = &[
        "Cow",
        "Ref",
        "RefMut",
        "MutexGuard",
        "RwLockReadGuard",
        "RwLockWriteGuard",
        "Chars",
        "CharIndices",
        "Lines",
        "Split",
        "SplitWhitespace",
        "Iter",
        "IterMut",
        "Drain",
        "Formatter",
        "Arguments",
        "Components",
        "Display",
        "Entry",
    ];
    struct Finder(bool);
    impl<'ast> syn::visit::Visit<'ast> for Finder {
        fn visit_type_path(&mut self, p: &'ast syn::TypePath) {
            if let Some(last) = p.path.segments.last() {
                let names_a_lifetime = match &last.arguments {
                    PathArguments::AngleBracketed(a) => {
                        a.args.iter().any(|a| matches!(a, syn::GenericArgument::Lifetime(_)))
                    }
                    _ => false,
                };
                self.0 |= !names_a_lifetime && CARRY_A_LIFETIME.iter().any(|n| last.ident == n);
            }
            syn::visit::visit_type_path(self, p);
        }
        fn visit_type_bare_fn(&mut self, _: &'ast syn::TypeBareFn) {}
        fn visit_parenthesized_generic_arguments(&mut self, _: &'ast syn::ParenthesizedGenericArguments) {}
    }
    let mut finder = Finder(false);
    syn::visit::Visit::visit_type(&mut finder, ty);
    finder.0
}

/// The function's lifetime parameters that no bound constrains: neither their own bounds nor
/// the other parameters' or the where clause name them. `#[async_trait]`'s `'x: 'async_trait`
/// and `T: 'async_trait` do not count: they tie the lifetimes to the returned future, which the
/// check does not name.
fn unbounded_lifetimes(generics: &syn::Generics) -> Vec<syn::Ident> {
    let is_async_trait = |l: &Lifetime| l.ident == "async_trait";
    let mut constrained = Vec::new();
    let outlives = |lifetime: &Lifetime, bounds: &mut dyn Iterator<Item = &Lifetime>, constrained: &mut Vec<String>| {
        for bound in bounds.filter(|b| !is_async_trait(b)) {
            constrained.push(lifetime.ident.to_string());
            constrained.push(bound.ident.to_string());
        }
    };
    let type_bounds = |bounds: &syn::punctuated::Punctuated<syn::TypeParamBound, syn::Token![+]>| {
        bounds
            .iter()
            .filter(|b| !matches!(b, syn::TypeParamBound::Lifetime(l) if is_async_trait(l)))
            .map(quote::ToTokens::to_token_stream)
            .collect::<proc_macro2::TokenStream>()
    };
    for param in &generics.params {
        match param {
            syn::GenericParam::Lifetime(l) => outlives(&l.lifetime, &mut l.bounds.iter(), &mut constrained),
            syn::GenericParam::Type(t) => {
                lifetimes_in(type_bounds(&t.bounds), &mut constrained);
                lifetimes_in(quote::ToTokens::to_token_stream(&t.default), &mut constrained);
            }
            syn::GenericParam::Const(c) => lifetimes_in(quote::ToTokens::to_token_stream(&c.ty), &mut constrained),
        }
    }
    for predicate in generics.where_clause.iter().flat_map(|w| &w.predicates) {
        match predicate {
            syn::WherePredicate::Lifetime(l) => outlives(&l.lifetime, &mut l.bounds.iter(), &mut constrained),
            syn::WherePredicate::Type(t) => {
                lifetimes_in(quote::ToTokens::to_token_stream(&t.bounded_ty), &mut constrained);
                lifetimes_in(type_bounds(&t.bounds), &mut constrained);
            }
            other => lifetimes_in(quote::ToTokens::to_token_stream(other), &mut constrained),
        }
    }
    generics
        .lifetimes()
        .map(|l| l.lifetime.ident.clone())
        .filter(|ident| !constrained.iter().any(|c| ident == c))
        .collect()
}

/// Pushes the name of every lifetime in the tokens.
pub(crate) fn lifetimes_in(tokens: proc_macro2::TokenStream, names: &mut Vec<String>) {
    let mut after_quote = false;
    for token in tokens {
        match token {
            proc_macro2::TokenTree::Punct(p) => {
                after_quote = p.as_char() == '\'';
                continue;
            }
            proc_macro2::TokenTree::Ident(i) if after_quote => names.push(i.to_string()),
            proc_macro2::TokenTree::Group(g) => lifetimes_in(g.stream(), names),
            _ => {}
        }
        after_quote = false;
    }
}

/// Whether the type holds a reference or a lifetime.
pub(crate) fn borrows(ty: &Type) -> bool {
    fn any(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Punct(p) => p.as_char() == '&' || p.as_char() == '\'',
            proc_macro2::TokenTree::Group(g) => any(g.stream()),
            _ => false,
        })
    }
    any(quote::ToTokens::to_token_stream(ty))
}

/// Names every elided lifetime of the parameters (`&T`, `'_`), renames the function's
/// unbounded lifetime parameters they name (both then bound), and collects the lifetimes they
/// name.
#[derive(Default)]
struct Namer {
    binder: Vec<Lifetime>,
    named: Vec<Lifetime>,
    /// The function's lifetime parameters that may be bound (see `unbounded_lifetimes`).
    unbounded: Vec<syn::Ident>,
    /// Each bound lifetime parameter with its new name.
    renamed: Vec<(syn::Ident, Lifetime)>,
    elided: usize,
}

impl Namer {
    fn fresh(&mut self) -> Lifetime {
        let lifetime = Lifetime::new(&format!("'_{}", self.elided), Span::mixed_site());
        self.elided += 1;
        self.binder.push(lifetime.clone());
        self.named.push(lifetime.clone());
        lifetime
    }

    fn rename(&mut self, l: &Lifetime) -> Option<Lifetime> {
        if let Some((_, new)) = self.renamed.iter().find(|(old, _)| *old == l.ident) {
            return Some(new.clone());
        }
        if !self.unbounded.contains(&l.ident) {
            return None;
        }
        // `#[async_trait]` names the lifetimes the user left out `'life0`, `'life1`, ..: they
        // read as left out (`'_0`) in the expected signature.
        let name = l.ident.to_string();
        let new = match name.strip_prefix("life") {
            Some(n) if !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) => self.fresh(),
            _ => {
                let new = Lifetime::new(&format!("'_{}", l.ident), Span::mixed_site());
                self.binder.push(new.clone());
                self.named.push(new.clone());
                new
            }
        };
        self.renamed.push((l.ident.clone(), new.clone()));
        Some(new)
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
        } else if let Some(new) = self.rename(l) {
            *l = new;
        } else if l.ident != "static" && !self.named.contains(l) {
            self.named.push(l.clone());
        }
    }

    // Elision inside `fn(&T)` and `Fn(&T)` is their own.
    fn visit_type_bare_fn_mut(&mut self, _: &mut syn::TypeBareFn) {}
    fn visit_parenthesized_generic_arguments_mut(&mut self, _: &mut syn::ParenthesizedGenericArguments) {}
}

/// Gives the return type's elided lifetimes the one the elision rules pick, and its bound
/// lifetime parameters their new names.
struct Elided {
    with: Option<Lifetime>,
    unresolved: bool,
    renamed: Vec<(syn::Ident, Lifetime)>,
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
        } else if let Some((_, new)) = self.renamed.iter().find(|(old, _)| *old == l.ident) {
            *l = new.clone();
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
            "for < '_a , '_0 > (& '_a Self , & '_0 str) -> Result < & '_a str , E >"
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
    fn checks_async_functions_too() {
        assert_eq!(
            check(quote!(
                async fn get(a: &str) -> Result<u8, E> {}
            ))
            .unwrap(),
            "for < '_0 > (& '_0 str) -> Result < u8 , E >"
        );
    }

    #[test]
    fn binds_only_the_lifetime_parameters_no_bound_constrains() {
        // `'long: 'short` may be what the fallback relies on; `'out` is in the output only
        // (early-bound), so no fallback could serve it for every choice.
        assert_eq!(
            check(quote!(
                fn get<'long: 'short, 'short, 'free, 'out>(
                    a: &'long str,
                    b: &'short str,
                    c: &'free str,
                ) -> Result<&'short str, &'out E> {
                }
            ))
            .unwrap(),
            "for < '_free > (& 'long str , & 'short str , & '_free str) -> Result < & 'short str , & 'out E >"
        );
        assert_eq!(
            check(quote!(
                fn get<'a, T: 'a>(a: &'a T) -> Result<&'a T, E> {}
            ))
            .unwrap(),
            "for < > (& 'a T) -> Result < & 'a T , E >"
        );
    }

    #[test]
    fn binds_async_trait_lifetimes_despite_their_bound_on_the_future() {
        assert_eq!(
            check(quote!(
                fn get<'life0, 'life1, 'async_trait>(
                    &'life0 self,
                    key: &'life1 str,
                ) -> Pin<Box<dyn Future<Output = Result<&'life0 str, E>> + Send + 'async_trait>>
                where
                    'life0: 'async_trait,
                    'life1: 'async_trait,
                    Self: 'async_trait,
                {
                    Box::pin(async move {
                        let __self = self;
                        let __ret: Result<&'life0 str, E> = { Ok("") };
                        __ret
                    })
                }
            ))
            .unwrap(),
            "for < '_0 , '_1 > (& '_0 Self , & '_1 str) -> Result < & '_0 str , E >"
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

    #[test]
    fn leaves_a_standard_type_with_a_hidden_lifetime_to_the_compiler() {
        assert!(
            check(quote!(
                fn get(&self, key: &str) -> Result<Cow<str>, E> {}
            ))
            .is_none()
        );
        assert!(
            check(quote!(
                fn get(&self, key: &str) -> Option<std::cell::Ref<u8>> {}
            ))
            .is_none()
        );
        assert_eq!(
            check(quote!(
                fn get(&self, key: &str) -> Result<Cow<'_, str>, E> {}
            ))
            .unwrap(),
            "for < '_0 , '_1 > (& '_0 Self , & '_1 str) -> Result < Cow < '_0 , str > , E >"
        );
    }

    #[test]
    fn a_fallback_without_the_receiver_returns_one_lifetime_of_it() {
        let func = Function::new(syn::parse_quote! {
            fn get(&self, key: &str) -> Result<&str, E> {}
        });
        let hr = higher_ranked(&func, false, &syn::parse_quote!(::cb_runtime)).unwrap();
        let (binder, args, output) = (hr.binder, hr.args, hr.output);
        assert_eq!(
            quote!(for<#(#binder),*> (#(#args),*) -> #output).to_string(),
            "for < '_0 > (& '_0 str) -> Result < & '_ str , E >"
        );
    }
}
