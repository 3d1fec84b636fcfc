use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x")]
#[track_caller]
pub fn parse(input: &str) -> Result<u32, Error> {
    input.parse().map_err(|_| Error)
}

fn main() {}
