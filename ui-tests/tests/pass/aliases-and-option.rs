//! Return types under any name, `Option`, boxed errors, `?` and early return (issue 11, item 1).
use cb_runtime::{circuit_breaker, CallError, Rejected, Timeout};
use std::time::Duration;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<std::io::Error> for Error {
    fn from(_: std::io::Error) -> Self { Error }
}

pub type Fallible<T> = Result<T, Error>;
pub type Res<T, E = Error> = Result<T, E>;
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn transient(_: &Error) -> bool {
    true
}

#[circuit_breaker(name = "pass-alias", failure_if = transient)]
pub fn alias(n: u32) -> Fallible<u32> {
    Ok(n)
}

#[circuit_breaker(name = "pass-alias-default-param", fallback = res_fallback)]
pub fn alias_with_default(n: u32) -> Res<u32> {
    if n == 0 {
        return Err(Error);
    }
    let parsed: u32 = "7".parse().map_err(|_| Error)?;
    Ok(n + parsed)
}

fn res_fallback(_n: u32, _cause: CallError<Error>) -> Res<u32> {
    Ok(0)
}

#[circuit_breaker(name = "pass-io-result")]
pub fn io(path: &str) -> std::io::Result<String> {
    std::fs::read_to_string(path)
}

#[circuit_breaker(name = "pass-anyhow", timeout = "1s")]
pub async fn any(n: u32) -> anyhow::Result<u32> {
    anyhow::ensure!(n > 0, "zero");
    Ok(n)
}

#[circuit_breaker(name = "pass-box-dyn-error", fallback = boxed_fallback)]
pub async fn boxed(n: u32) -> Result<u32, BoxError> {
    let _ = std::fs::metadata("/")?;
    Ok(n)
}

async fn boxed_fallback(_n: u32, cause: CallError<BoxError>) -> Result<u32, BoxError> {
    Err(cause.to_string().into())
}

#[circuit_breaker(name = "pass-option", timeout = "1s")]
pub async fn lookup(id: u32) -> Option<String> {
    let found = (id == 1).then(|| "ada".to_owned())?;
    Some(found)
}

#[circuit_breaker(name = "pass-option-fallback", fallback = nobody)]
pub fn lookup_sync(id: u32) -> Option<String> {
    (id == 1).then(|| "ada".to_owned())
}

fn nobody(_id: u32, _cause: CallError<std::convert::Infallible>) -> Option<String> {
    None
}

#[circuit_breaker(name = "pass-plain-with-fallback", fallback = distance_eta, timeout = "1s")]
pub async fn eta(km: u32) -> Duration {
    Duration::from_secs(u64::from(km))
}

fn distance_eta(km: u32) -> Duration {
    Duration::from_secs(u64::from(km) * 2)
}

impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

fn main() {
    let _ = alias(1);
    let _ = alias_with_default(1);
    let _ = io("/dev/null");
    let _ = any(1);
    let _ = boxed(1);
    let _ = lookup(1);
    let _ = lookup_sync(1);
    let _ = eta(1);
}
