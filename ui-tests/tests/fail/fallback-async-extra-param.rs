// An async function's fallback with one parameter too many: one error on the fallback, with
// the expected signature (not a cause mismatch on the attribute).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = cached)]
    pub async fn get(&self, id: u64) -> Result<u64, Error> { Ok(id) }

    async fn cached(&self, id: u64, fresh: bool) -> Result<u64, Error> { Ok(id + fresh as u64) }
}

fn main() {}
