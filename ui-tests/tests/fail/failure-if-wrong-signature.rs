use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", failure_if = is_transient)]
pub fn f() -> Result<(), Error> { Ok(()) }

fn is_transient(code: u16) -> bool { code >= 500 }

fn main() {}
