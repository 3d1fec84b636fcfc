// An async function taking any `&str`, with a fallback that needs `&'static str`: one error on
// the fallback path with the expected signature.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = cached)]
pub async fn lookup(key: &str) -> Result<usize, Error> {
    Ok(key.len())
}

fn cached(key: &'static str) -> Result<usize, Error> {
    Ok(key.len())
}

fn main() {}
