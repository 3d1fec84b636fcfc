// A generic fallback whose type parameter would stand for a borrowed parameter: no one
// instance serves every lifetime the caller may pass, so the fallback is rejected with the
// signature it must have (take `&str` itself).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = by_len)]
    pub async fn get(&self, id: &str) -> Result<usize, Error> {
        Ok(id.len())
    }

    fn by_len<S: AsRef<str>>(&self, id: S) -> Result<usize, Error> {
        Ok(id.as_ref().len())
    }
}

fn main() {}
