use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = cached)]
pub fn f((a, b): (u32, u32)) -> Result<u32, Error> { Ok(a + b) }

fn cached(pair: (u32, u32)) -> Result<u32, Error> { Ok(pair.0) }

fn main() {}
