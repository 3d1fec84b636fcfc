//! `queue = "..."` on free functions and on methods with every receiver (issue 17, item 4).
use cb_runtime::circuit_breaker;
use cb_runtime::queue::{NotQueued, Queued};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

#[derive(Debug)]
pub enum Error {
    Queued(Queued),
    NotQueued(NotQueued),
    Timeout,
}
impl From<Queued> for Error {
    fn from(q: Queued) -> Self { Error::Queued(q) }
}
impl From<NotQueued> for Error {
    fn from(n: NotQueued) -> Self { Error::NotQueued(n) }
}
impl From<cb_runtime::Timeout> for Error {
    fn from(_: cb_runtime::Timeout) -> Self { Error::Timeout }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Message {
    pub subject: String,
    pub tags: Vec<String>,
}

#[circuit_breaker(name = "pass-queue-free", queue = "pass-free", timeout = "1s")]
pub async fn notify(user: u64, message: &Message, retries: Option<u8>) -> Result<u64, Error> {
    Ok(user + message.tags.len() as u64 + u64::from(retries.unwrap_or(0)))
}

#[circuit_breaker(name = "pass-queue-io", queue = "pass-io")]
pub async fn write(line: String) -> std::io::Result<()> {
    let _ = line;
    Ok(())
}

#[derive(Clone)]
pub struct Client {
    pub base: Arc<String>,
}

impl Client {
    #[circuit_breaker(name = "pass-queue-ref", queue = "pass-ref")]
    pub async fn by_ref(&self, to: String) -> Result<(), Error> {
        let _ = (&self.base, to);
        Ok(())
    }

    #[circuit_breaker(name = "pass-queue-mut", queue = "pass-mut")]
    pub async fn by_mut(&mut self, counter: &mut u32) -> Result<(), Error> {
        *counter += 1;
        Ok(())
    }

    #[circuit_breaker(name = "pass-queue-owned", queue = "pass-owned")]
    pub async fn owned(self, nothing: ()) -> Result<(), Error> {
        let _ = (self.base, nothing);
        Ok(())
    }
}

fn assert_send<T: Send>(_: T) {}

fn main() {
    let message = Message { subject: "s".into(), tags: vec![] };
    assert_send(notify(1, &message, None));
    assert_send(write(String::new()));
    let mut client = Client { base: Arc::new(String::new()) };
    assert_send(client.by_ref(String::new()));
    let mut n = 0;
    assert_send(client.by_mut(&mut n));
    assert_send(client.owned(()));
}
