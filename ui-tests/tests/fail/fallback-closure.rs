use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "closure", fallback = |_id| Ok(0))]
pub fn price(id: u32) -> Result<u32, Error> { Ok(id) }

#[circuit_breaker(name = "call", fallback = cached(0))]
pub fn price2(id: u32) -> Result<u32, Error> { Ok(id) }

fn cached(id: u32) -> Result<u32, Error> { Ok(id) }

fn main() {}
