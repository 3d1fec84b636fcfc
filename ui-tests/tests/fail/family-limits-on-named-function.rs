use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "billing", max_keys = 100, idle_ttl = "5m")]
pub fn charge() -> Result<(), Error> { Ok(()) }

fn main() {}
