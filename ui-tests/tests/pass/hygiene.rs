#![deny(unused_qualifications, clippy::all)]

use cb_runtime::{circuit_breaker, Rejected};

mod core {}

#[allow(dead_code)]
struct Ok;
#[allow(dead_code)]
struct Err;
#[allow(dead_code)]
struct Some;
#[allow(dead_code)]
struct Option;
#[allow(dead_code)]
struct Duration;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

type Result<T> = ::std::result::Result<T, Error>;

#[circuit_breaker(name = "pass-hygiene", timeout = "1s", fallback = fallback)]
pub async fn hygienic(__cb_breaker: u32, __cb_permit: u32) -> Result<u32> {
    ::std::result::Result::Ok(__cb_breaker + __cb_permit)
}

async fn fallback(a: u32, _b: u32) -> Result<u32> {
    ::std::result::Result::Ok(a)
}

fn main() {
    let _ = hygienic(1, 2);
}
