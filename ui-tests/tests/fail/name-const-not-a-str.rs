use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const NAME: u32 = 42;

#[circuit_breaker(name = NAME)]
pub fn f() -> Result<(), Error> { Ok(()) }

fn main() {}
