use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const FAILURES: u32 = 3;

#[circuit_breaker(name = "x", consecutive_failures = FAILURES)]
pub fn f() -> Result<(), Error> { Ok(()) }

fn main() {}
