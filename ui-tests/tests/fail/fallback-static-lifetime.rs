// The fallback takes `&'static str` where the protected function takes any `&str`: the error
// is on the fallback, not a borrow error whose help edits the protected function.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = cached)]
pub fn lookup(key: &str) -> Result<usize, Error> {
    Ok(key.len())
}

fn cached(key: &'static str) -> Result<usize, Error> {
    Ok(key.len())
}

fn main() {}
