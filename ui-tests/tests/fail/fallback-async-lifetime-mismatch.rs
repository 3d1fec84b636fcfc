// An async method whose result borrows `id`, with an async fallback whose result borrows
// `other` instead: one error on the fallback path with the expected signature, not a borrow
// error whose help edits the protected function.
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    #[circuit_breaker(name = "x", fallback = other_half)]
    pub async fn pick<'a>(&self, id: &'a str, other: &str) -> Result<&'a str, Error> {
        let _ = other;
        Ok(id)
    }

    async fn other_half<'o>(&self, id: &str, other: &'o str) -> Result<&'o str, Error> {
        let _ = id;
        Ok(other)
    }
}

fn main() {}
