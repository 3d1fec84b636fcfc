use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = [cache, no_such_replica, default])]
pub fn user(id: u32) -> Result<String, Error> { Ok(id.to_string()) }

fn main() {}
