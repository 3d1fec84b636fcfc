use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", consecutive_failures = 16_777_216)]
pub fn f() -> Result<(), Error> { Ok(()) }

fn main() {}
