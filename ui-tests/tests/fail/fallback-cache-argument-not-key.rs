use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

/// `f64` is not `Hash` or `Eq`, and an `impl Trait` argument can be anything: neither can key the cache.
#[circuit_breaker(name = "x", fallback = cache)]
pub fn price(item: u32, weight: f64, label: impl Into<String>) -> Result<u32, Error> { Ok(item + weight as u32 + label.into().len() as u32) }

fn main() {}
