//! `#[async_trait]` impls with every receiver, each with a fallback (issue 11, item 5).
use async_trait::async_trait;
use cb_runtime::{circuit_breaker, CallError, Rejected};

#[derive(Debug, Clone)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[async_trait]
pub trait Store {
    async fn get(&self, id: u64) -> Result<u64, Error>;
    async fn put(&mut self, id: u64, value: String) -> Result<(), Error>;
    async fn close(self, reason: String) -> Result<String, Error>;
    async fn shared(self: std::sync::Arc<Self>, id: u64) -> Result<u64, Error>;
}

#[derive(Clone)]
pub struct Db {
    rows: Vec<(u64, String)>,
}

#[async_trait]
impl Store for Db {
    #[circuit_breaker(name = "pass-at-ref", fallback = cached_get)]
    async fn get(&self, id: u64) -> Result<u64, Error> {
        Ok(self.rows.len() as u64 + id)
    }

    #[circuit_breaker(name = "pass-at-mut", fallback = queue_put)]
    async fn put(&mut self, id: u64, value: String) -> Result<(), Error> {
        self.rows.push((id, value));
        Ok(())
    }

    #[circuit_breaker(name = "pass-at-value", fallback = Self::close_later, timeout = "2s")]
    async fn close(self, reason: String) -> Result<String, Error> {
        Ok(format!("{} rows closed: {reason}", self.rows.len()))
    }

    #[circuit_breaker(name = "pass-at-arc", fallback = cached_shared)]
    async fn shared(self: std::sync::Arc<Self>, id: u64) -> Result<u64, Error> {
        Ok(id + self.rows.len() as u64)
    }
}

impl Db {
    async fn cached_get(&self, id: u64, _cause: CallError<Error>) -> Result<u64, Error> {
        Ok(id)
    }

    fn queue_put(&mut self, id: u64, value: String) -> Result<(), Error> {
        self.rows.push((id, value));
        Ok(())
    }

    async fn close_later(self, reason: String, _cause: CallError<Error>) -> Result<String, Error> {
        Ok(reason)
    }

    fn cached_shared(self: std::sync::Arc<Self>, id: u64) -> Result<u64, Error> {
        Ok(id)
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let mut db = Db { rows: vec![] };
    assert_send(db.get(1));
    assert_send(db.put(1, "a".into()));
    assert_send(db.clone().close("done".into()));
    assert_send(std::sync::Arc::new(db).shared(1));
}
