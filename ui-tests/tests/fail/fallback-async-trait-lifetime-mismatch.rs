// Under `#[async_trait]`: the method's result borrows `self`, the fallback's result borrows
// `key` instead. One error on the fallback path with the expected signature.
use async_trait::async_trait;
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[async_trait]
pub trait Store {
    async fn get(&self, key: &str) -> Result<&str, Error>;
}

pub struct Db {
    name: String,
}

#[async_trait]
impl Store for Db {
    #[circuit_breaker(name = "x", fallback = echo)]
    async fn get(&self, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.name)
    }
}

impl Db {
    fn echo<'k>(&self, key: &'k str) -> Result<&'k str, Error> {
        Ok(key)
    }
}

fn main() {}
