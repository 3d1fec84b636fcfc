//! Fallbacks as written in services: generic over the cause's error, and a sync function
//! returning a future for an async protected function.
use cb_runtime::{circuit_breaker, registry, CallError, Rejected, State};
use std::future::Future;

#[derive(Debug, PartialEq)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "pass-generic-cause", consecutive_failures = 1, fallback = any_cause)]
pub fn price(id: u32) -> Result<u32, Error> {
    if id == 0 { Err(Error) } else { Ok(id) }
}

fn any_cause<E>(_id: u32, cause: CallError<E>) -> Result<u32, Error> {
    Ok(if matches!(cause, CallError::Inner(_)) { 100 } else { 200 })
}

#[circuit_breaker(name = "pass-future-fallback", consecutive_failures = 1, fallback = later)]
pub async fn quote(id: u32) -> Result<u32, Error> {
    if id == 0 { Err(Error) } else { Ok(id) }
}

fn later(id: u32, _cause: CallError<Error>) -> impl Future<Output = Result<u32, Error>> {
    async move { Ok(id + 1000) }
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    assert_eq!(price(0), Ok(100));
    assert_eq!(registry().get("pass-generic-cause").unwrap().state(), State::Open);
    assert_eq!(price(1), Ok(200));
    assert_eq!(quote(0).await, Ok(1000));
    assert_eq!(quote(5).await, Ok(1005), "rejected: served by the future");
}
