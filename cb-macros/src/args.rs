//! Parses attribute arguments, `key = value` or a bare `key`, keeping every token's span.
//! Only syntax is checked here; `validate` judges keys and values.

use syn::ext::IdentExt;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

/// One `key = value` or `key`.
#[derive(Clone)]
pub(crate) struct RawArg {
    pub(crate) key: Ident,
    pub(crate) value: Option<Expr>,
}

/// Every argument of one `#[circuit_breaker(...)]`, in order.
#[derive(Clone, Default)]
pub(crate) struct RawArgs {
    pub(crate) args: Vec<RawArg>,
}

impl Parse for RawArg {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let key = Ident::parse_any(input)?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        Ok(RawArg { key, value })
    }
}

impl Parse for RawArgs {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        let args = Punctuated::<RawArg, Token![,]>::parse_terminated(input)?;
        Ok(RawArgs {
            args: args.into_iter().collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_values_flags_and_keywords() {
        let args: RawArgs = syn::parse2(quote!(
            name = "sentinel",
            fallback = Self::cached,
            key,
            crate = "deps::cb",
            jitter = 0.2,
        ))
        .unwrap();
        let keys: Vec<String> = args.args.iter().map(|a| a.key.to_string()).collect();
        assert_eq!(keys, ["name", "fallback", "key", "crate", "jitter"]);
        assert!(args.args[2].value.is_none());
    }

    #[test]
    fn rejects_what_is_not_an_argument() {
        assert!(syn::parse2::<RawArgs>(quote!(name "x")).is_err());
        assert!(syn::parse2::<RawArgs>(quote!(= 3)).is_err());
    }
}
