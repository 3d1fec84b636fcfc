use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "x", fallback = [cache, 42], cache(max_entries = 0, max_age = "1m"))]
pub fn user(id: u32) -> Result<String, Error> { Ok(id.to_string()) }

#[circuit_breaker(name = "y", fallback = default, cache(max_stale = "5m"))]
pub fn other(id: u32) -> Result<String, Error> { Ok(id.to_string()) }

#[circuit_breaker(name = "z", fallback = default, fallback_value = Ok(String::new()))]
pub fn third(id: u32) -> Result<String, Error> { Ok(id.to_string()) }

fn main() {}
