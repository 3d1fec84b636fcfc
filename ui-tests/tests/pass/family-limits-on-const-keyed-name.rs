//! A function whose constant name is a keyed `family/key` may carry the family's limits.
use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const VIP: &str = "webhook/vip";

#[circuit_breaker(name = VIP, max_keys = 100)]
pub fn notify() -> Result<(), Error> { Ok(()) }

fn main() {
    let _ = notify();
}
