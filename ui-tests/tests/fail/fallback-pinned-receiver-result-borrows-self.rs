// A `self: Pin<&mut Self>` method whose result borrows `self`, with a fallback that receives
// `self` after a failed call: the result would still hold the receiver the fallback needs.
// One error on the receiver, saying what to do.
use cb_runtime::{circuit_breaker, Rejected};
use std::pin::Pin;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Reader {
    name: String,
}

impl Reader {
    #[circuit_breaker(name = "x", fallback = fixed)]
    pub fn name(self: Pin<&mut Self>) -> Result<&str, Error> {
        Ok(&self.get_mut().name)
    }

    fn fixed(self: Pin<&mut Self>) -> Result<&str, Error> {
        Ok(&self.get_mut().name)
    }
}

fn main() {}
