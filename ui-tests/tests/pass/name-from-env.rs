//! `name = concat!(env!(..), ..)`: a crate-prefixed breaker name.
use cb_runtime::{circuit_breaker, registry, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = concat!(env!("CARGO_PKG_NAME"), "-db"))]
pub fn query() -> Result<(), Error> {
    Ok(())
}

fn main() {
    query().unwrap();
    assert!(registry().get(concat!(env!("CARGO_PKG_NAME"), "-db")).is_some());
}
