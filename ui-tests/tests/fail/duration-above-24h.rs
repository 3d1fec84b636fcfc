use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", open_timeout = "99999999h")]
pub fn f() -> Result<(), Error> { Ok(()) }

fn main() {}
