use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const BILLING: &str = "billing";

#[circuit_breaker(name = BILLING, max_keys = 100, idle_ttl = "5m")]
pub fn charge() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = concat!("bill", "ing2"), max_keys = 100)]
pub fn charge2() -> Result<(), Error> { Ok(()) }

fn main() {}
