//! Configuration values as `Setting` constructors.

use crate::lit::WindowValue;
use crate::validate::{Setting, SettingValue};
use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use syn::Path;

/// `Setting::OpenTimeout(Duration::from_nanos(30000000000))` and the like.
pub(crate) fn setting(krate: &Path, setting: &Setting) -> TokenStream {
    let variant = format_ident!("{}", camel_case(setting.key));
    let p = quote!(#krate::__private);
    let value = match &setting.value {
        SettingValue::Preset(name) => {
            let preset = format_ident!("{name}");
            quote!(#p::Preset::#preset)
        }
        SettingValue::Int(n) => {
            let n = Literal::u32_unsuffixed(*n as u32);
            quote!(#n)
        }
        SettingValue::Float(f) => {
            let f = Literal::f64_unsuffixed(*f);
            quote!(#f)
        }
        SettingValue::Duration(nanos) => duration(&p, *nanos),
        SettingValue::Window(WindowValue::Count(n)) => {
            let n = Literal::u32_unsuffixed(*n);
            quote!(#p::Window::Count(#n))
        }
        SettingValue::Off(toggle) => {
            let toggle = format_ident!("{toggle}");
            return quote!(#p::Setting::Off(#p::Toggle::#toggle));
        }
        SettingValue::Window(WindowValue::TimeNanos(nanos)) => {
            let d = duration(&p, *nanos);
            quote!(#p::Window::Time(#d))
        }
    };
    quote!(#p::Setting::#variant(#value))
}

/// `Duration::from_nanos(n)`.
pub(crate) fn duration(private: &TokenStream, nanos: u64) -> TokenStream {
    let n = Literal::u64_unsuffixed(nanos);
    quote!(#private::Duration::from_nanos(#n))
}

fn camel_case(key: &str) -> String {
    key.split('_')
        .map(|word| {
            let mut chars = word.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase().to_string() + chars.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_become_variants() {
        assert_eq!(camel_case("half_open_max_calls"), "HalfOpenMaxCalls");
        let krate: Path = syn::parse_quote!(::cb_runtime);
        let s = Setting {
            key: "window",
            value: SettingValue::Window(WindowValue::Count(10)),
        };
        assert_eq!(
            setting(&krate, &s).to_string(),
            ":: cb_runtime :: __private :: Setting :: Window (:: cb_runtime :: __private :: Window :: Count (10))"
        );
    }
}
