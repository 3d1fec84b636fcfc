//! `fallback = cache` keys its entries by an owned copy of every argument: a `&T` parameter
//! is copied into a `T`, but a borrow *inside* a type (`Option<&str>`, `Cow<'a, str>`) cannot
//! be copied into a `'static` key. Reported here, on the argument's type, before the type
//! system would report a borrow "escaping the function body" without naming the cache.

use crate::ctxt::Ctxt;
use crate::item::Param;
use syn::{GenericArgument, PathArguments, Type};

/// Reports each parameter whose owned copy would still borrow.
pub(crate) fn check(params: &[Param], cx: &mut Ctxt) {
    for param in params {
        let ty = match crate::item::ungroup(&param.ty) {
            Type::Reference(r) if param.is_reference => &*r.elem,
            ty => ty,
        };
        if borrows(ty) {
            cx.error_spanned_by(
                &param.ty,
                "`fallback = cache` keys its entries by an owned copy of this argument, but this type borrows (it holds a reference or a lifetime inside), so no copy of it can outlive the call; take an owned type (`Option<String>` for `Option<&str>`) or leave `cache` out of this function's fallback",
            );
        }
    }
}

/// Whether the type holds a reference or a lifetime other than `'static` (function pointers
/// and trait objects aside: their lifetimes are their arguments', not a borrow they hold).
fn borrows(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => r.lifetime.as_ref().is_none_or(|l| l.ident != "static") || borrows(&r.elem),
        Type::Path(p) => {
            p.qself.as_ref().is_some_and(|q| borrows(&q.ty))
                || p.path.segments.iter().any(|s| match &s.arguments {
                    PathArguments::AngleBracketed(a) => a.args.iter().any(|arg| match arg {
                        GenericArgument::Lifetime(l) => l.ident != "static",
                        GenericArgument::Type(t) => borrows(t),
                        _ => false,
                    }),
                    _ => false,
                })
        }
        Type::Tuple(t) => t.elems.iter().any(borrows),
        Type::Array(a) => borrows(&a.elem),
        Type::Slice(s) => borrows(&s.elem),
        Type::Paren(p) => borrows(&p.elem),
        Type::Group(g) => borrows(&g.elem),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::borrows;

    #[test]
    fn finds_borrows_inside_types() {
        for ty in [
            "Option<&str>",
            "Cow<'a, str>",
            "(u32, &[u8])",
            "[&'_ str; 2]",
            "Vec<Option<&'a T>>",
            "&&str",
        ] {
            assert!(borrows(&syn::parse_str(ty).unwrap()), "{ty}");
        }
        for ty in [
            "Option<String>",
            "&'static str",
            "Cow<'static, str>",
            "fn(&str) -> bool",
            "u32",
            "Vec<(u8, String)>",
        ] {
            assert!(!borrows(&syn::parse_str(ty).unwrap()), "{ty}");
        }
    }
}
