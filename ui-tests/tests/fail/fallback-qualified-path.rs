use cb_runtime::{circuit_breaker, CallError, CircuitProtected, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub trait Fallbacks {
    fn cached(&self, id: u32, cause: CallError<Error>) -> Result<u32, Error>;
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "qualified")]
pub struct Svc;

impl Fallbacks for Svc {
    fn cached(&self, id: u32, _cause: CallError<Error>) -> Result<u32, Error> { Ok(id) }
}

impl Svc {
    #[circuit_breaker(fallback = <Self as Fallbacks>::cached)]
    pub fn get(&self, id: u32) -> Result<u32, Error> { Ok(id) }
}

fn main() {}
