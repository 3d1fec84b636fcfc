// An async method taking `&self` with a fallback taking `&mut self`.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = cached)]
    pub async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }

    async fn cached(&mut self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {}
