//! A method's fallback written as a single identifier means `Self::f`; a free helper function
//! taking the client first is not found there.
use cb_runtime::{circuit_breaker, CallError, CircuitProtected, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "free-helper")]
pub struct Svc;

fn cached_price(_svc: &Svc, id: u32, _cause: CallError<Error>) -> Result<u32, Error> {
    Ok(id)
}

impl Svc {
    #[circuit_breaker(fallback = cached_price)]
    pub fn price(&self, id: u32) -> Result<u32, Error> {
        Ok(id)
    }
}

fn main() {}
