use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", half_open_max_wait = "Off", consecutive_failures = "OFF")]
pub fn f() -> Result<(), Error> { Ok(()) }

fn main() {}
