// In a chain, the second stage returns a borrow of `key` where the method returns a borrow of
// `self`: the error is on that stage.
use cb_runtime::{circuit_breaker, CallError, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    name: String,
    spare: String,
}

impl Client {
    #[circuit_breaker(name = "x", fallback = [Self::spare, Self::echo, default])]
    pub async fn get(&self, key: &str) -> Result<&str, Error> {
        let _ = key;
        Ok(&self.name)
    }

    fn spare(&self, _key: &str, _cause: CallError<Error>) -> Result<&str, Error> {
        Ok(&self.spare)
    }

    fn echo<'k>(&self, key: &'k str) -> Result<&'k str, Error> {
        Ok(key)
    }
}

fn main() {}
