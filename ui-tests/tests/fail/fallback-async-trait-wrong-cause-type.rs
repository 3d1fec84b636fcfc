// Under `#[async_trait]`, a fallback whose cause carries another error type.
use async_trait::async_trait;
use cb_runtime::{circuit_breaker, CallError, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[async_trait]
pub trait Store {
    async fn get(&self, id: u64) -> Result<u64, Error>;
}

pub struct Db;

#[async_trait]
impl Store for Db {
    #[circuit_breaker(name = "x", fallback = cached)]
    async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

impl Db {
    async fn cached(&self, id: u64, _cause: CallError<std::io::Error>) -> Result<u64, Error> {
        Ok(id)
    }
}

fn main() {}
