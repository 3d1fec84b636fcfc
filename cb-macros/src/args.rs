//! Parses attribute arguments, `key = value` or a bare `key`, keeping every token's span.
//! Only syntax is checked here; `validate` judges keys and values.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Expr, Ident, Token};

/// One `key = value` or `key`.
#[derive(Clone)]
pub(crate) struct RawArg {
    pub(crate) key: Ident,
    /// The value; tokens that are no expression (`50%`) are kept as `Expr::Verbatim`, so that
    /// `validate` reports them once, with what the key expects, and the other keys still count.
    pub(crate) value: Option<Expr>,
    /// `key(a = 1, b)`: arguments of their own (`cache(max_entries = 100)`).
    pub(crate) nested: Option<RawArgs>,
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
            let eq = input.parse::<Token![=]>()?;
            Some(value(input, eq)?)
        } else {
            None
        };
        let nested = match value.is_none() && input.peek(syn::token::Paren) {
            true => {
                let content;
                syn::parenthesized!(content in input);
                Some(content.parse::<RawArgs>()?)
            }
            false => None,
        };
        Ok(RawArg { key, value, nested })
    }
}

/// An expression up to the next `,`, or the tokens up to it when they are none.
fn value(input: ParseStream<'_>, eq: Token![=]) -> syn::Result<Expr> {
    let fork = input.fork();
    if let Ok(expr) = fork.parse::<Expr>()
        && (fork.is_empty() || fork.peek(Token![,]))
    {
        input.advance_to(&fork);
        return Ok(expr);
    }
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    if tokens.is_empty() {
        return Err(syn::Error::new(eq.span, "expected a value after `=`"));
    }
    Ok(Expr::Verbatim(tokens))
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
    fn keeps_going_past_a_value_that_is_no_expression() {
        let args: RawArgs =
            syn::parse2(quote!(failure_rate_threshold = 50%, name = "x", fallback = f::<A, B>)).unwrap();
        assert!(matches!(args.args[0].value, Some(Expr::Verbatim(_))));
        assert_eq!(args.args[1].key, "name");
        assert!(matches!(args.args[2].value, Some(Expr::Path(_))));
    }

    #[test]
    fn parses_nested_arguments() {
        let args: RawArgs = syn::parse2(quote!(fallback = cache, cache(max_entries = 10, max_stale = "1m"))).unwrap();
        let nested = args.args[1].nested.as_ref().unwrap();
        let keys: Vec<String> = nested.args.iter().map(|a| a.key.to_string()).collect();
        assert_eq!(keys, ["max_entries", "max_stale"]);
        assert!(args.args[0].nested.is_none());
    }

    #[test]
    fn rejects_what_is_not_an_argument() {
        assert!(syn::parse2::<RawArgs>(quote!(name "x")).is_err());
        assert!(syn::parse2::<RawArgs>(quote!(= 3)).is_err());
    }
}
