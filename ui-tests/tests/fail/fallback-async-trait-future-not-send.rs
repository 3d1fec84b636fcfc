// Under `#[async_trait]` the method's future must be `Send`; the async fallback holds an `Rc`
// across an `.await`. rustc reports it on the method, with notes on the fallback's `.await`.
use async_trait::async_trait;
use cb_runtime::{circuit_breaker, Rejected};
use std::rc::Rc;

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
    async fn cached(&self, id: u64) -> Result<u64, Error> {
        let local = Rc::new(id);
        std::future::ready(()).await;
        Ok(*local)
    }
}

fn main() {}
