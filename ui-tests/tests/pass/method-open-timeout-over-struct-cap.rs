//! A method's `open_timeout` raises its type's struct-level cap; a method's cap at or above the
//! struct's wait is fine.
use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "billing-ok", max_open_timeout = "1m")]
pub struct Billing;

impl Billing {
    #[circuit_breaker(open_timeout = "10m")]
    pub fn charge(&self) -> Result<(), Error> { Ok(()) }

    #[circuit_breaker(max_open_timeout = "2m")]
    pub fn refund(&self) -> Result<(), Error> { Ok(()) }
}

fn main() {
    let _ = Billing.charge();
    let _ = Billing.refund();
}
