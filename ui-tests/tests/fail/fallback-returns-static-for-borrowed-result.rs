// The method returns a borrow of `self`; the fallback returns `&'static str`. The contract is
// the same return type: one error on the fallback with the signature it must have (a
// `&'static str` value still fits it: `fn fixed(&self, ..) -> Result<&str, Error> { Ok("x") }`).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client {
    name: String,
}

impl Client {
    #[circuit_breaker(name = "x", fallback = fixed)]
    pub async fn name(&self, id: u64) -> Result<&str, Error> {
        let _ = id;
        Ok(&self.name)
    }

    fn fixed(&self, _id: u64) -> Result<&'static str, Error> {
        Ok("unknown")
    }
}

fn main() {}
