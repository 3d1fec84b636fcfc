// A sync function's chain: the first stage needs `&'static str` where the function takes any
// `&str`. The error is on that stage.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = [interned, default])]
pub fn lookup(key: &str) -> Result<usize, Error> {
    Ok(key.len())
}

fn interned(key: &'static str) -> Result<usize, Error> {
    Ok(key.len())
}

fn main() {}
