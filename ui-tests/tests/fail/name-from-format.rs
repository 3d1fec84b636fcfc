// `name = format!(..)`: the name is read once into a `static`, so a `String` built at run time
// cannot be it. One error on `format!(..)` saying what to write (was rustc's E0308 "expected
// `&str`, found `String`", which does not say what works).
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

const REGION: &str = "eu";

#[circuit_breaker(name = format!("billing-{}", REGION))]
pub fn charge(cents: u64) -> Result<u64, Error> {
    Ok(cents)
}

fn main() {}
