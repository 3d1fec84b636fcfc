use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "billing", open_timeout = "10m")]
pub struct Billing;

impl Billing {
    #[circuit_breaker(max_open_timeout = "1m")]
    pub fn charge(&self) -> Result<(), Error> { Ok(()) }
}

fn main() {}
