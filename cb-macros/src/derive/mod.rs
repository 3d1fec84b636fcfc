//! `#[derive(CircuitProtected)]`: struct-level defaults and the optional key field.

mod ast;

use crate::ctxt::Ctxt;
use crate::expand::settings::setting;
use ast::Struct;
use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::DeriveInput;
use syn::spanned::Spanned;

/// The `CircuitProtected` impl, or the errors plus a stub impl (so that methods relying on it
/// report nothing more).
pub(crate) fn expand(input: &DeriveInput) -> TokenStream {
    let mut cx = Ctxt::new();
    let parsed = Struct::from_syn(input, &mut cx);
    match cx.check() {
        Ok(()) => implementation(input, &parsed),
        Err(err) => {
            let errors = err.to_compile_error();
            let stub = implementation(input, &Struct::default());
            quote!(#errors #stub)
        }
    }
}

fn implementation(input: &DeriveInput, parsed: &Struct) -> TokenStream {
    let k = parsed.krate.clone().unwrap_or_else(|| syn::parse_quote!(::cb_runtime));
    let p = quote!(#k::__private);
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let name = match &parsed.name {
        Some(name) => quote!(#name),
        None => quote!(""),
    };
    let settings = parsed.settings.iter().map(|s| setting(&k, s));
    let key = match &parsed.key {
        None => quote!(#p::None),
        Some(field) if field.is_string => {
            let member = &field.member;
            quote!(#p::Some(::core::convert::AsRef::<str>::as_ref(&self.#member).as_bytes()))
        }
        Some(field) if field.integer => {
            let member = &field.member;
            // Spelled like a primitive integer: its digits if it is one, `Display` if the name
            // stands for another type (method resolution picks, not the spelling).
            quote! {{
                #[allow(unused_imports)]
                use #p::{DisplayKey as _, IntegerKey as _};
                #p::Some((&&#p::IntegerProbe(&self.#member)).key_bytes(__cb_buf))
            }}
        }
        Some(field) => {
            let (member, ty) = (&field.member, &field.ty);
            // At the field's type: a key that cannot be formatted is that type's mistake.
            quote_spanned!(field.ty.span()=> #p::Some(<#ty as #p::BreakerKey>::format_key(&self.#member, __cb_buf).as_bytes()))
        }
    };
    // A constant name is checked where it is known: a keyed family's name has no `/`.
    let family_name_check = match (&parsed.key, &parsed.name) {
        (Some(_), Some(name)) if !matches!(name, syn::Expr::Lit(_)) => quote_spanned! {name.span()=>
            const _: () = ::core::assert!(
                #p::is_family_name(#name),
                "a keyed type's `name` cannot hold `/`: its breakers are `name/key`, and a family is the part before the first `/`"
            );
        },
        _ => TokenStream::new(),
    };
    quote! {
        #family_name_check
        #[automatically_derived]
        impl #impl_generics #p::CircuitProtected for #ident #ty_generics #where_clause {
            const __CB_DEFAULTS: #p::Defaults = #p::Defaults { name: #name, settings: &[#(#settings),*] };

            fn __cb_key<'__cb>(&'__cb self, __cb_buf: &'__cb mut #p::KeyBuf) -> #p::Option<&'__cb [u8]> {
                let _ = &__cb_buf;
                #key
            }
        }
    }
}
