//! `name` from a `&'static str` constant or `concat!` (issue 11, item 7).
use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const BILLING: &str = "pass-const-billing";

mod names {
    pub const LEDGER: &str = "pass-const-ledger";
}

#[circuit_breaker(name = BILLING)]
pub fn charge(cents: u64) -> Result<u64, Error> {
    Ok(cents)
}

#[circuit_breaker(name = names::LEDGER)]
pub fn post(cents: u64) -> Result<u64, Error> {
    Ok(cents)
}

#[circuit_breaker(name = concat!("pass-const-", "eta"))]
pub async fn eta(km: u32) -> Result<u32, Error> {
    Ok(km)
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = BILLING)]
pub struct Billing;

impl Billing {
    #[circuit_breaker]
    pub fn refund(&self, cents: u64) -> Result<u64, Error> {
        Ok(cents)
    }
}

fn main() {
    let _ = charge(1);
    let _ = post(1);
    let _ = eta(1);
    let _ = Billing.refund(1);
}
