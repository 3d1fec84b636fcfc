//! A durable backend on Redis streams (feature `redis`): queued calls survive a restart.
//!
//! Each sub-queue is a stream `<prefix><queue>/<breaker>`. A push is one Lua script (`XLEN`
//! against the capacity, then `XADD`), so a full stream refuses the entry instead of trimming
//! an older one; the head is `XRANGE - + COUNT 1`; an ack is `XDEL`. The connection is opened
//! lazily on cb's queue thread and reopened after a failure; every command has a timeout.

use super::backend::{BackendError, BackendFuture, Entry, PushError, QueueBackend, Waiting};
use std::time::Duration;

/// Entries per stream unless [`capacity`](RedisStreamQueue::capacity) says otherwise.
pub const DEFAULT_REDIS_CAPACITY: u64 = 100_000;

/// Keys start with this unless [`prefix`](RedisStreamQueue::prefix) says otherwise.
pub const DEFAULT_PREFIX: &str = "cb:queue:";

const PUSH: &str = r"
if redis.call('XLEN', KEYS[1]) >= tonumber(ARGV[1]) then return false end
return redis.call('XADD', KEYS[1], '*', 'args', ARGV[2])
";

/// Queued calls in Redis streams: they survive a restart of the process, and the replayer of
/// the next process finds them once the protected function is called again.
///
/// ```no_run
/// use cb_runtime::queue::{queues, RedisStreamQueue};
///
/// let backend = RedisStreamQueue::new("redis://127.0.0.1:6379").unwrap().capacity(10_000);
/// queues().set_backend("notifications", backend).unwrap();
/// ```
#[derive(Debug)]
pub struct RedisStreamQueue {
    client: redis::Client,
    prefix: String,
    capacity: u64,
    timeout: Duration,
    // Only ever used on the queue thread, one operation at a time per backend there.
    connection: ConnectionSlot,
}

/// The connection, opened on first use (on the queue thread).
#[derive(Default)]
struct ConnectionSlot(std::sync::Mutex<Option<redis::aio::MultiplexedConnection>>);

impl std::fmt::Debug for ConnectionSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionSlot")
    }
}

impl RedisStreamQueue {
    /// A backend on the Redis at `url` (`redis://host:port/db`); nothing connects until the
    /// first push or replay. The URL is checked here.
    pub fn new(url: &str) -> Result<Self, BackendError> {
        let client = redis::Client::open(url).map_err(|_| BackendError("invalid Redis URL".to_owned()))?;
        Ok(Self {
            client,
            prefix: DEFAULT_PREFIX.to_owned(),
            capacity: DEFAULT_REDIS_CAPACITY,
            timeout: Duration::from_secs(1),
            connection: ConnectionSlot::default(),
        })
    }

    /// Entries allowed per stream (at least 1).
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = capacity.max(1);
        self
    }

    /// The key prefix of every stream.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// The timeout of connecting and of each command (default 1s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The Redis key of sub-queue `stream`.
    pub fn key(&self, stream: &str) -> String {
        format!("{}{stream}", self.prefix)
    }

    async fn connection(&self) -> Result<redis::aio::MultiplexedConnection, BackendError> {
        let cached = self
            .connection
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        if let Some(c) = cached {
            return Ok(c);
        }
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.timeout))
            .set_response_timeout(Some(self.timeout));
        let c = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| self.failed(e))?;
        *self
            .connection
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(c.clone());
        Ok(c)
    }

    /// The streams under `prefix` (a sub-queue name prefix) with entries: `SCAN` in batches
    /// (never `KEYS`, which blocks the server), then `XLEN` of each.
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, u64)>, BackendError> {
        let mut c = self.connection().await?;
        let pattern = format!("{}*", glob_escape(&self.key(prefix)));
        let mut cursor = 0u64;
        let mut found = Vec::new();
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000)
                .arg("TYPE")
                .arg("stream")
                .query_async(&mut c)
                .await
                .map_err(|e| self.failed(e))?;
            for key in keys {
                let Some(stream) = key.strip_prefix(self.prefix.as_str()) else {
                    continue;
                };
                let n: u64 = redis::cmd("XLEN")
                    .arg(&key)
                    .query_async(&mut c)
                    .await
                    .map_err(|e| self.failed(e))?;
                if n > 0 {
                    found.push((stream.to_owned(), n));
                }
            }
            if next == 0 {
                return Ok(found);
            }
            cursor = next;
        }
    }

    /// A failure, and the connection dropped so that the next operation reconnects.
    fn failed(&self, e: redis::RedisError) -> BackendError {
        *self
            .connection
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
        BackendError(format!("redis: {e}"))
    }
}

impl QueueBackend for RedisStreamQueue {
    fn kind(&self) -> &'static str {
        "redis"
    }

    fn push<'a>(&'a self, stream: &'a str, payload: Vec<u8>) -> BackendFuture<'a, Result<String, PushError>> {
        Box::pin(async move {
            let mut c = self.connection().await.map_err(PushError::Backend)?;
            let id: Option<String> = redis::cmd("EVAL")
                .arg(PUSH)
                .arg(1)
                .arg(self.key(stream))
                .arg(self.capacity)
                .arg(payload)
                .query_async(&mut c)
                .await
                .map_err(|e| PushError::Backend(self.failed(e)))?;
            id.ok_or(PushError::Full {
                capacity: self.capacity,
            })
        })
    }

    fn head<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<Option<Entry>, BackendError>> {
        Box::pin(async move {
            let mut c = self.connection().await?;
            let reply: Vec<(String, Vec<Vec<u8>>)> = redis::cmd("XRANGE")
                .arg(self.key(stream))
                .arg("-")
                .arg("+")
                .arg("COUNT")
                .arg(1)
                .query_async(&mut c)
                .await
                .map_err(|e| self.failed(e))?;
            let Some((id, fields)) = reply.into_iter().next() else {
                return Ok(None);
            };
            // Fields come as name, value pairs; an entry cb did not write has no `args`.
            let payload = fields
                .chunks(2)
                .find(|pair| pair[0] == b"args" && pair.len() == 2)
                .map(|pair| pair[1].clone())
                .unwrap_or_default();
            Ok(Some(Entry { id, payload }))
        })
    }

    fn ack<'a>(&'a self, stream: &'a str, id: &'a str) -> BackendFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let mut c = self.connection().await?;
            let _: u64 = redis::cmd("XDEL")
                .arg(self.key(stream))
                .arg(id)
                .query_async(&mut c)
                .await
                .map_err(|e| self.failed(e))?;
            Ok(())
        })
    }

    fn len<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            let mut c = self.connection().await?;
            redis::cmd("XLEN")
                .arg(self.key(stream))
                .query_async(&mut c)
                .await
                .map_err(|e| self.failed(e))
        })
    }

    fn waiting<'a>(&'a self, prefix: &'a str) -> BackendFuture<'a, Waiting> {
        Box::pin(async move { Some(self.scan(prefix).await) })
    }
}

/// `text` with Redis glob characters escaped, for `SCAN MATCH`.
fn glob_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
