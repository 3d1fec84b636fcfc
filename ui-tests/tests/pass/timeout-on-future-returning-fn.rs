//! `timeout` on a sync function returning a future: the future can be abandoned, so it is accepted.
use cb_runtime::{circuit_breaker, Rejected, Timeout};
use std::future::Future;

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

#[circuit_breaker(name = "fut-timeout", timeout = "2s")]
pub fn fetch(id: u32) -> impl Future<Output = Result<u32, Error>> + Send {
    async move { Ok(id) }
}

fn main() {
    let _ = fetch(1);
}
