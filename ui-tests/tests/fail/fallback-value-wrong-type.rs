use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback_value = Some(0))]
pub fn count(id: u32) -> Result<u32, Error> { Ok(id) }

fn main() {}
