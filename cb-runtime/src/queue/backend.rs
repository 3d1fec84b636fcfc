//! Where queued calls wait: the [`QueueBackend`] trait.
//!
//! A backend stores, per sub-queue (one per queue and breaker), an ordered list of opaque
//! payloads. The replayer reads the head, replays it and removes it only after the replay
//! succeeded ([`ack`](QueueBackend::ack)): delivery is at least once, in order per sub-queue.
//! Every future runs on cb's queue thread (a current-thread runtime), so backends hold their
//! connections there and need not be `Send` futures.

use std::fmt;
use std::future::Future;
use std::pin::Pin;

/// A backend operation's future (run on the queue thread).
pub type BackendFuture<'a, T> = Pin<Box<dyn Future<Output = T> + 'a>>;

/// One queued call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its id in the backend, in queue order.
    pub id: String,
    /// The serialized arguments.
    pub payload: Vec<u8>,
}

/// Why a push failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushError {
    /// The sub-queue holds `capacity` entries.
    Full {
        /// Entries allowed per sub-queue.
        capacity: u64,
    },
    /// The backend failed.
    Backend(BackendError),
}

/// A backend failure (connection refused, timeout, an unexpected reply).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackendError(pub String);

impl fmt::Display for BackendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BackendError {}

/// What [`QueueBackend::waiting`] answers: `None` if the backend cannot list its sub-queues,
/// else each sub-queue with entries and how many.
pub type Waiting = Option<Result<Vec<(String, u64)>, BackendError>>;

/// Storage for queued calls. `stream` names a sub-queue: `<queue>/<breaker>`.
///
/// Implement it for another store; [`InMemoryQueue`](super::InMemoryQueue) (the default) and
/// [`RedisStreamQueue`](super::RedisStreamQueue) (feature `redis`) are provided.
pub trait QueueBackend: Send + Sync + fmt::Debug + 'static {
    /// A short name for status and events (`memory`, `redis`).
    fn kind(&self) -> &'static str;

    /// Appends `payload` to `stream` and returns its id; a full stream is an error, never a
    /// dropped entry.
    fn push<'a>(&'a self, stream: &'a str, payload: Vec<u8>) -> BackendFuture<'a, Result<String, PushError>>;

    /// Appends without leaving the caller's thread, if this backend can (in memory): `None`
    /// sends the push to the queue thread instead.
    fn push_now(&self, stream: &str, payload: &[u8]) -> Option<Result<String, PushError>> {
        let _ = (stream, payload);
        None
    }

    /// The oldest entry of `stream`, if any.
    fn head<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<Option<Entry>, BackendError>>;

    /// Removes entry `id` from `stream` (after its replay succeeded).
    fn ack<'a>(&'a self, stream: &'a str, id: &'a str) -> BackendFuture<'a, Result<(), BackendError>>;

    /// Entries in `stream`.
    fn len<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<u64, BackendError>>;

    /// The sub-queues whose names start with `prefix` and hold entries, with how many: a keyed
    /// function's first call asks for `<queue>/<family>/`, to find what a previous process left
    /// for its other keys. `None` (the default): this backend cannot list its sub-queues, which
    /// is reported at that first call.
    fn waiting<'a>(&'a self, prefix: &'a str) -> BackendFuture<'a, Waiting> {
        let _ = prefix;
        Box::pin(async { None })
    }
}
