use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "")]
pub fn ping() -> Result<(), Error> { Ok(()) }

fn main() {}
