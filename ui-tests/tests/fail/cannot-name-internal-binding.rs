use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x")]
pub fn f() -> Result<(), Error> {
    let _ = __cb_breaker;
    Ok(())
}

fn main() {}
