// The cause must be the fallback's last parameter.
use cb_runtime::{circuit_breaker, CallError, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = cached)]
    pub fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }

    fn cached(&self, _cause: CallError<Error>, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {}
