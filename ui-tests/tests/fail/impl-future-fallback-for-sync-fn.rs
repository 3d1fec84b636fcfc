// A sync function's fallback returning `impl Future`: a sync function needs a sync fallback.
use cb_runtime::{circuit_breaker, Rejected};
use std::future::Future;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = cached)]
pub fn get(id: u64) -> Result<u64, Error> {
    Ok(id)
}

fn cached(id: u64) -> impl Future<Output = Result<u64, Error>> {
    async move { Ok(id) }
}

fn main() {}
