//! The default backend: bounded, in this process's memory (lost on restart).

use super::backend::{BackendError, BackendFuture, Entry, PushError, QueueBackend, Waiting};
use std::collections::{HashMap, VecDeque};
use std::future::ready;
use std::sync::{Mutex, PoisonError};

/// Entries per sub-queue of the default backend.
pub const DEFAULT_CAPACITY: u64 = 1024;

/// A bounded in-memory queue: at most `capacity` entries per sub-queue; a push beyond is
/// refused ([`PushError::Full`]). Entries do not survive the process: use
/// [`RedisStreamQueue`](super::RedisStreamQueue) for that.
///
/// ```
/// use cb_runtime::queue::InMemoryQueue;
///
/// let q = InMemoryQueue::new(100);
/// assert_eq!(q.capacity(), 100);
/// ```
#[derive(Debug)]
pub struct InMemoryQueue {
    capacity: u64,
    streams: Mutex<HashMap<String, Stream>>,
}

#[derive(Debug, Default)]
struct Stream {
    next_id: u64,
    entries: VecDeque<(u64, Vec<u8>)>,
}

impl InMemoryQueue {
    /// A queue holding at most `capacity` entries per sub-queue (at least 1).
    pub fn new(capacity: u64) -> Self {
        Self {
            capacity: capacity.max(1),
            streams: Mutex::new(HashMap::new()),
        }
    }

    /// Entries allowed per sub-queue.
    pub fn capacity(&self) -> u64 {
        self.capacity
    }

    fn append(&self, stream: &str, payload: Vec<u8>) -> Result<String, PushError> {
        self.with(|streams| {
            let s = streams.entry(stream.to_owned()).or_default();
            if s.entries.len() as u64 >= self.capacity {
                return Err(PushError::Full {
                    capacity: self.capacity,
                });
            }
            s.next_id += 1;
            s.entries.push_back((s.next_id, payload));
            Ok(s.next_id.to_string())
        })
    }

    fn with<T>(&self, f: impl FnOnce(&mut HashMap<String, Stream>) -> T) -> T {
        f(&mut self.streams.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

impl Default for InMemoryQueue {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

impl QueueBackend for InMemoryQueue {
    fn kind(&self) -> &'static str {
        "memory"
    }

    fn push<'a>(&'a self, stream: &'a str, payload: Vec<u8>) -> BackendFuture<'a, Result<String, PushError>> {
        Box::pin(ready(self.append(stream, payload)))
    }

    fn push_now(&self, stream: &str, payload: &[u8]) -> Option<Result<String, PushError>> {
        Some(self.append(stream, payload.to_vec()))
    }

    fn head<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<Option<Entry>, BackendError>> {
        let head = self.with(|streams| {
            let (id, payload) = streams.get(stream)?.entries.front()?;
            Some(Entry {
                id: id.to_string(),
                payload: payload.clone(),
            })
        });
        Box::pin(ready(Ok(head)))
    }

    fn ack<'a>(&'a self, stream: &'a str, id: &'a str) -> BackendFuture<'a, Result<(), BackendError>> {
        if let Ok(id) = id.parse::<u64>() {
            self.with(|streams| {
                if let Some(s) = streams.get_mut(stream) {
                    s.entries.retain(|(e, _)| *e != id);
                }
            });
        }
        Box::pin(ready(Ok(())))
    }

    fn len<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<u64, BackendError>> {
        let len = self.with(|streams| streams.get(stream).map_or(0, |s| s.entries.len() as u64));
        Box::pin(ready(Ok(len)))
    }

    fn waiting<'a>(&'a self, prefix: &'a str) -> BackendFuture<'a, Waiting> {
        let found = self.with(|streams| {
            streams
                .iter()
                .filter(|(name, s)| name.starts_with(prefix) && !s.entries.is_empty())
                .map(|(name, s)| (name.clone(), s.entries.len() as u64))
                .collect()
        });
        Box::pin(async move { Some(Ok(found)) })
    }
}
