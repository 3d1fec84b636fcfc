use async_trait::async_trait;
use cb_runtime::{circuit_breaker, Rejected};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[allow(async_fn_in_trait)]
pub trait Native {
    async fn get(&self, id: u64) -> Result<u64, Error>;
}

#[async_trait]
pub trait Boxed {
    async fn get(&self, id: u64) -> Result<u64, Error>;
    async fn get_with_fallback(&self, id: u64) -> Result<u64, Error>;
}

#[async_trait(?Send)]
pub trait LocalBoxed {
    async fn get(&self, id: u64) -> Result<u64, Error>;
}

pub struct Backend;

impl Native for Backend {
    #[circuit_breaker(name = "pass-native-trait")]
    async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

#[async_trait]
impl Boxed for Backend {
    #[circuit_breaker(name = "pass-async-trait")]
    async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }

    #[circuit_breaker(name = "pass-async-trait-fallback", fallback = cached, timeout = "1s")]
    async fn get_with_fallback(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

impl Backend {
    async fn cached(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

#[async_trait(?Send)]
impl LocalBoxed for Backend {
    #[circuit_breaker(name = "pass-async-trait-local")]
    async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    assert_send(Boxed::get(&Backend, 1));
    assert_send(Boxed::get_with_fallback(&Backend, 1));
    let _ = LocalBoxed::get(&Backend, 1);
}
