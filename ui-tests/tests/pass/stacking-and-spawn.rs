//! Stacking with `#[tracing::instrument]` in both orders, `#[cfg_attr]`, `-> impl Future`
//! trait methods, native async trait methods, and futures spawned on tokio (`Send`).
use cb_runtime::{circuit_breaker, CircuitProtected, Rejected, Timeout};
use std::future::Future;

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}
impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("error")
    }
}

#[tracing::instrument]
#[circuit_breaker(name = "pass-instrument-outer", timeout = "1s")]
pub async fn instrumented_outer(id: u32) -> Result<u32, Error> {
    Ok(id)
}

#[circuit_breaker(name = "pass-instrument-inner")]
#[tracing::instrument(skip(payload))]
pub async fn instrumented_inner(id: u32, payload: Vec<u8>) -> Result<u32, Error> {
    Ok(id + payload.len() as u32)
}

#[tracing::instrument(err)]
#[circuit_breaker(name = "pass-instrument-sync")]
pub fn instrumented_sync(id: u32) -> Result<u32, Error> {
    Ok(id)
}

#[cfg_attr(all(), circuit_breaker(name = "pass-cfg-attr", consecutive_failures = 2))]
pub async fn configured(id: u32) -> Result<u32, Error> {
    Ok(id)
}

pub trait Fetch {
    fn fetch(&self, id: u32) -> impl Future<Output = Result<u32, Error>> + Send;
    #[allow(async_fn_in_trait)]
    async fn fetch_native(&self, id: u32) -> Result<u32, Error>;
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-impl-future")]
pub struct Api;

impl Fetch for Api {
    #[circuit_breaker(timeout = "1s")]
    fn fetch(&self, id: u32) -> impl Future<Output = Result<u32, Error>> + Send {
        async move { Ok(id) }
    }

    #[circuit_breaker]
    async fn fetch_native(&self, id: u32) -> Result<u32, Error> {
        Ok(id)
    }
}

impl Api {
    #[circuit_breaker(fallback = later)]
    pub async fn send(&self, body: String) -> Result<usize, Error> {
        tokio::task::yield_now().await;
        Ok(body.len())
    }

    async fn later(&self, body: String) -> Result<usize, Error> {
        Ok(body.len())
    }
}

#[tokio::main]
async fn main() {
    let api = std::sync::Arc::new(Api);
    let a = api.clone();
    let _ = tokio::spawn(async move { a.send("x".into()).await }).await;
    let _ = tokio::spawn(instrumented_outer(1)).await;
    let _ = tokio::spawn(instrumented_inner(1, vec![])).await;
    let _ = tokio::spawn(configured(1)).await;
    let b = api.clone();
    let _ = tokio::spawn(async move { b.fetch(1).await }).await;
    let _ = instrumented_sync(1);
    let _ = api.fetch_native(1).await;
}
