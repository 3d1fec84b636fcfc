//! `name = Self::NAME` is refused (README: "not `Self::NAME`, which the call site's `static`
//! cannot name"): with `max_keys` it should still be that one error.
use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

pub struct Client;

impl Client {
    const NAME: &'static str = "webhook/vip";

    #[circuit_breaker(name = Self::NAME, max_keys = 100)]
    pub fn charge(&self) -> Result<(), Error> { Ok(()) }
}

fn main() {}
