//! `"off"` turns a trigger off in the macro, as in every other source (issue 11, item 10).
use cb_runtime::{circuit_breaker, CircuitProtected, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "pass-off", consecutive_failures = "off", failure_rate_threshold = "off", slow_call_rate_threshold = "off")]
pub fn never_trips() -> Result<(), Error> { Ok(()) }

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-off-struct", failure_rate_threshold = "off", half_open_max_wait = "off")]
pub struct Client;

fn main() {
    let _ = never_trips();
}
