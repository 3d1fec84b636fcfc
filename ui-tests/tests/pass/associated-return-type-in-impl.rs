//! In an impl the associated type's value is known: spelling it is accepted and classified.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error
    }
}

pub trait Service {
    type Output;
    fn call(&self) -> Self::Output;
}

pub struct Api;

impl Service for Api {
    type Output = Result<u32, Error>;

    #[circuit_breaker(name = "assoc")]
    fn call(&self) -> Result<u32, Error> {
        Ok(1)
    }
}

fn main() {
    assert!(Api.call().is_ok());
}
