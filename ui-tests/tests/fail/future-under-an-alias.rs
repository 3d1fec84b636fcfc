// A sync function returning a future under an alias the macro cannot read: protecting it
// would count building the future, never its errors, so it is refused.
use cb_runtime::{Rejected, circuit_breaker};
use std::future::Future;
use std::pin::Pin;

#[derive(Debug)]
struct ApiError;

impl From<Rejected> for ApiError {
    fn from(_: Rejected) -> Self {
        ApiError
    }
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

#[circuit_breaker(name = "boxed", fallback = boxed_default)]
fn boxed(up: bool) -> BoxFuture<'static, Result<u8, ApiError>> {
    Box::pin(async move { if up { Ok(1) } else { Err(ApiError) } })
}

fn boxed_default(_up: bool) -> BoxFuture<'static, Result<u8, ApiError>> {
    Box::pin(async { Ok(0) })
}

#[circuit_breaker(name = "spawned", fallback = spawned_default)]
fn spawned() -> tokio::task::JoinHandle<Result<u8, ApiError>> {
    tokio::spawn(async { Ok(1) })
}

fn spawned_default() -> tokio::task::JoinHandle<Result<u8, ApiError>> {
    tokio::spawn(async { Ok(0) })
}

fn main() {}
