//! A method whose constant name has no `/` gets the same error as a free function (the const
//! assert), not an unrelated one.
use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const BILLING: &str = "billing";

pub struct Client;

impl Client {
    #[circuit_breaker(name = BILLING, max_keys = 100)]
    pub fn charge(&self) -> Result<(), Error> { Ok(()) }
}

fn main() {}
