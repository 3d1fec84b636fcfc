//! Helpers of the queue-for-retry scenarios: a notifier whose sends are queued on rejection,
//! its error type, and waiting for the replayer.

use cb_runtime::queue::{
    BackendError, BackendFuture, Entry, InMemoryQueue, NotQueued, PushError, QueueBackend, Queued, Waiting, queues,
};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The error of the queued sends.
#[derive(Debug)]
pub enum SendError {
    /// The downstream failed.
    Upstream,
    /// The breaker rejected the send and it was queued.
    Queued(Queued),
    /// The breaker rejected the send and it could not be queued.
    NotQueued(NotQueued),
}

impl From<Queued> for SendError {
    fn from(q: Queued) -> Self {
        SendError::Queued(q)
    }
}

impl From<NotQueued> for SendError {
    fn from(n: NotQueued) -> Self {
        SendError::NotQueued(n)
    }
}

/// What a notifier delivered, whether it fails, and how many sends run at once.
#[derive(Clone, Default)]
pub struct Downstream {
    pub sent: Arc<Mutex<Vec<String>>>,
    pub fail: Arc<AtomicBool>,
    pub panic: Arc<AtomicBool>,
    pub in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl Downstream {
    /// Delivers `what` (or fails), yielding in between so that overlapping sends overlap.
    pub async fn deliver(&self, what: String) -> Result<(), SendError> {
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::task::yield_now().await;
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        assert!(!self.panic.load(Ordering::SeqCst), "a bug in the downstream client");
        if self.fail.load(Ordering::SeqCst) {
            return Err(SendError::Upstream);
        }
        self.sent.lock().unwrap().push(what);
        Ok(())
    }

    /// What was delivered so far.
    pub fn sent(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }
}

/// Waits (real time, at most 10s) until `done()`; the replayer runs on its own thread.
pub async fn until(what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The status of `queue`'s sub-queue for `breaker`.
pub fn status(queue: &str, breaker: &str) -> cb_runtime::queue::QueueStatus {
    queues()
        .status()
        .into_iter()
        .find(|s| s.queue == queue && s.breaker == breaker)
        .unwrap_or_else(|| panic!("no sub-queue {queue}/{breaker}"))
}

/// An in-memory backend whose `waiting` a test controls: held until `open`, failing the first
/// `fail` times, or left at the trait's default (`None`).
#[derive(Debug)]
pub struct Controlled {
    pub inner: InMemoryQueue,
    pub open: Arc<AtomicBool>,
    pub fail: Arc<AtomicU32>,
    pub lists: bool,
    pub asked: Arc<AtomicU32>,
}

impl Controlled {
    pub fn new(lists: bool) -> Self {
        Controlled {
            inner: InMemoryQueue::new(10_000),
            open: Arc::new(AtomicBool::new(true)),
            fail: Arc::new(AtomicU32::new(0)),
            lists,
            asked: Arc::new(AtomicU32::new(0)),
        }
    }
}

impl QueueBackend for Controlled {
    fn kind(&self) -> &'static str {
        "controlled"
    }
    fn push<'a>(&'a self, stream: &'a str, payload: Vec<u8>) -> BackendFuture<'a, Result<String, PushError>> {
        self.inner.push(stream, payload)
    }
    fn head<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<Option<Entry>, BackendError>> {
        self.inner.head(stream)
    }
    fn ack<'a>(&'a self, stream: &'a str, id: &'a str) -> BackendFuture<'a, Result<(), BackendError>> {
        self.inner.ack(stream, id)
    }
    fn len<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<u64, BackendError>> {
        self.inner.len(stream)
    }
    fn waiting<'a>(&'a self, prefix: &'a str) -> BackendFuture<'a, Waiting> {
        Box::pin(async move {
            self.asked.fetch_add(1, Ordering::SeqCst);
            if !self.lists {
                return None;
            }
            while !self.open.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            if self
                .fail
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
            {
                return Some(Err(BackendError("connection refused (backend still starting)".into())));
            }
            self.inner.waiting(prefix).await
        })
    }
}

pub fn listed(queue: &str, breaker: &str) -> bool {
    queues()
        .status()
        .iter()
        .any(|s| s.queue == queue && s.breaker == breaker)
}

pub async fn settle() {
    // Give the queue thread a chance (not a timing assertion: the asserts below wait for
    // outcomes with `until`, this only lets a listing in flight finish).
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A Redis key prefix no other test run uses (process id and time), starting `cb:<tag>:`.
pub fn unique_redis_prefix(tag: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cb:{tag}:{}:{nanos}:", std::process::id())
}

/// A connection to the Redis on 127.0.0.1:6379.
pub async fn redis_connection() -> redis::aio::MultiplexedConnection {
    redis::Client::open("redis://127.0.0.1:6379")
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}
