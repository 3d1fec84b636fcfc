use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", timout = "2s", jitter = 1.0, window = "1h")]
pub fn f() -> Result<(), Error> { Ok(()) }

fn main() {}
