use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = cached)]
pub fn f(id: u32) -> Result<u32, Error> { Ok(id) }

fn cached(id: u32, extra: bool) -> Result<u32, Error> { Ok(id + extra as u32) }

fn main() {}
