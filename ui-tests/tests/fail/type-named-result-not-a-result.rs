use cb_runtime::{circuit_breaker, CallError};

/// A domain type that happens to be called `Result`: not a `std` `Result`, so nothing in it
/// is a failure and its fallback's cause carries no error.
#[derive(Debug, PartialEq)]
pub enum Outcome<'a> {
    Found(&'a str),
    Missing,
}

mod domain {
    pub type Result<T, U> = (T, U);
}

#[circuit_breaker(name = "pass-domain-result", fallback = domain_cached)]
pub fn lookup(key: &str) -> domain::Result<Outcome<'_>, u8> {
    (Outcome::Found(key), 0)
}

fn domain_cached(_key: &str, _cause: CallError<std::convert::Infallible>) -> domain::Result<Outcome<'_>, u8> {
    (Outcome::Missing, 1)
}

fn main() {}
