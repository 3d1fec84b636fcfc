//! Reads a `#[derive(CircuitProtected)]` struct: its `#[circuit_breaker(..)]` defaults and key
//! field.

use crate::args::RawArgs;
use crate::ctxt::Ctxt;
use crate::symbol::Scope;
use crate::validate::{self, Setting};
use proc_macro2::Span;
use syn::{Data, DeriveInput, Expr, Fields, Member, Type};

/// The key field.
pub(crate) struct KeyField {
    pub(crate) member: Member,
    /// `String`, `str`, `Box<str>`, `Arc<str>` or `Cow<str>`: borrowed, not formatted.
    pub(crate) is_string: bool,
    /// Spelled like a primitive integer: written in decimal by the runtime's integer writer
    /// when it is one (the same text as `Display`, without the formatting machinery on every
    /// call), through `Display` when the name stands for another type.
    pub(crate) integer: bool,
    /// Its type, where an error about the key belongs.
    pub(crate) ty: Type,
}

/// What the derive needs from the struct.
#[derive(Default)]
pub(crate) struct Struct {
    pub(crate) name: Option<Expr>,
    pub(crate) settings: Vec<Setting>,
    pub(crate) krate: Option<syn::Path>,
    pub(crate) key: Option<KeyField>,
}

impl Struct {
    pub(crate) fn from_syn(input: &DeriveInput, cx: &mut Ctxt) -> Struct {
        let fields = match &input.data {
            Data::Struct(s) => &s.fields,
            Data::Enum(e) => {
                cx.error_spanned_by(e.enum_token, "`CircuitProtected` can only be derived for structs");
                return Struct::default();
            }
            Data::Union(u) => {
                cx.error_spanned_by(u.union_token, "`CircuitProtected` can only be derived for structs");
                return Struct::default();
            }
        };
        let mut raw = RawArgs::default();
        for attr in input.attrs.iter().filter(|a| a.path().is_ident("circuit_breaker")) {
            match attr.parse_args_with(<RawArgs as syn::parse::Parse>::parse) {
                Ok(args) => raw.args.extend(args.args),
                Err(err) => cx.syn_error(err),
            }
        }
        let args = validate::args(&raw, Scope::Both, cx);
        // A `name` that was given but is wrong has its own error already.
        if !raw.args.iter().any(|a| a.key == "name") {
            cx.error_at(
                input.ident.span(),
                "missing `name`: add `#[circuit_breaker(name = \"...\")]` below `#[derive(CircuitProtected)]`",
            );
        }
        let key = key_field(fields, cx);
        if key.is_none() {
            let why = format!(
                "and `{}` has no `#[circuit_breaker(key)]` field, so one breaker: remove it, or mark the field that tells instances apart with `#[circuit_breaker(key)]`",
                input.ident
            );
            validate::family_limits_on_one_breaker(&raw, &why, cx);
        }
        if key.is_some()
            && let Some(Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(name),
                ..
            })) = &args.name
            && let Some((family, _)) = name.value().split_once('/')
        {
            cx.error_spanned_by(
                name,
                format!(
                    "a keyed type's `name` cannot hold `/`: its breakers are `name/key`, and a family is the part before the first `/` (this name would join family `{family}`); write `{}`",
                    name.value().replace('/', "-")
                ),
            );
        }
        Struct {
            name: args.name,
            settings: args.settings,
            krate: args.krate,
            key,
        }
    }
}

fn key_field(fields: &Fields, cx: &mut Ctxt) -> Option<KeyField> {
    let mut key: Option<KeyField> = None;
    for (i, field) in fields.iter().enumerate() {
        for attr in field.attrs.iter().filter(|a| a.path().is_ident("circuit_breaker")) {
            let args = match attr.parse_args_with(<RawArgs as syn::parse::Parse>::parse) {
                Ok(raw) => validate::args(&raw, Scope::Field, cx),
                Err(err) => {
                    cx.syn_error(err);
                    continue;
                }
            };
            if !args.key {
                continue;
            }
            if key.is_some() {
                cx.error_spanned_by(attr, "only one field can be the breaker `key`");
                continue;
            }
            let member = match &field.ident {
                Some(ident) => Member::Named(ident.clone()),
                None => Member::Unnamed(syn::Index {
                    index: i as u32,
                    span: Span::call_site(),
                }),
            };
            key = Some(KeyField {
                member,
                is_string: is_string(&field.ty),
                integer: is_integer(&field.ty),
                ty: field.ty.clone(),
            });
        }
    }
    key
}

fn is_string(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => is_string(&r.elem),
        Type::Path(p) => p.path.segments.last().is_some_and(|s| {
            s.ident == "String"
                || s.ident == "str"
                || (["Box", "Arc", "Rc", "Cow"].iter().any(|w| s.ident == w) && has_str_argument(&s.arguments))
        }),
        _ => false,
    }
}

/// A type spelled like a primitive integer (`u64`, `i32`, `usize`, …); whether it is one is
/// left to the type system (see `IntegerProbe` in the runtime).
fn is_integer(ty: &Type) -> bool {
    let Type::Path(p) = ty else {
        return false;
    };
    p.qself.is_none()
        && p.path.get_ident().is_some_and(|ident| {
            [
                "u8", "u16", "u32", "u64", "u128", "usize", "i8", "i16", "i32", "i64", "i128", "isize",
            ]
            .iter()
            .any(|name| ident == name)
        })
}

/// Whether `<str>` / `<'a, str>` is the (last) type argument: `Box<Destroyer>` is not a string.
fn has_str_argument(arguments: &syn::PathArguments) -> bool {
    let syn::PathArguments::AngleBracketed(args) = arguments else {
        return false;
    };
    args.args
        .iter()
        .rev()
        .find_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .is_some_and(|t| matches!(t, Type::Path(p) if p.qself.is_none() && p.path.is_ident("str")))
}
