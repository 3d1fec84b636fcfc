//! A durable backend on NATS JetStream (feature `nats`): queued calls survive a restart.
//!
//! One stream (`CB_QUEUE` unless [`stream`](JetStreamQueue::stream) says otherwise) holds every
//! sub-queue of the backend, each on its own subject `<subject prefix>.<hex of queue/breaker>`
//! (hex: breaker names may hold characters a subject cannot). The stream keeps at most
//! `capacity` messages per subject and discards *new* ones beyond (`discard_new_per_subject`),
//! so a full sub-queue refuses the push instead of dropping an older entry. The head is the
//! first message of the subject, an ack deletes it by sequence. The connection is opened lazily
//! on cb's queue thread and reopened after a failure; every operation has a timeout.

use super::backend::{BackendError, BackendFuture, Entry, PushError, QueueBackend, Waiting};
use async_nats::jetstream::{self, stream};
use futures_util::StreamExt;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

/// Messages per sub-queue unless [`capacity`](JetStreamQueue::capacity) says otherwise.
pub const DEFAULT_JETSTREAM_CAPACITY: i64 = 100_000;

/// Queued calls in a JetStream stream: they survive a restart of the process (and of the NATS
/// server, file storage), and the replayer of the next process finds them once the protected
/// function is called again.
///
/// ```no_run
/// use cb_runtime::queue::{queues, JetStreamQueue};
///
/// queues().set_backend("notifications", JetStreamQueue::new("nats://127.0.0.1:4222")).unwrap();
/// ```
#[derive(Debug)]
pub struct JetStreamQueue {
    url: String,
    stream: String,
    subject_prefix: String,
    capacity: i64,
    /// The per-subject limit applied to the stream (see [`JetStreamQueue::limit_for`]).
    limit: AtomicI64,
    timeout: Duration,
    link: Mutex<Option<(jetstream::Context, stream::Stream)>>,
}

impl JetStreamQueue {
    /// A backend on the NATS server at `url`; nothing connects until the first push or replay.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            stream: "CB_QUEUE".to_owned(),
            subject_prefix: "cb.queue".to_owned(),
            capacity: DEFAULT_JETSTREAM_CAPACITY,
            limit: AtomicI64::new(DEFAULT_JETSTREAM_CAPACITY),
            timeout: Duration::from_secs(1),
            link: Mutex::new(None),
        }
    }

    /// Messages allowed per sub-queue (at least 1). A stream that already exists (an earlier
    /// deploy's, or one provisioned by hand) is updated on connecting to this limit and to
    /// discard new messages per subject; if the update is refused, every operation fails with
    /// that error (a push is then `NotQueued`), never a silent drop.
    pub fn capacity(mut self, capacity: u64) -> Self {
        self.capacity = i64::try_from(capacity.max(1)).unwrap_or(i64::MAX);
        self.limit = AtomicI64::new(self.capacity);
        self
    }

    /// The stream's name and its subjects' prefix (`<prefix>.>`).
    pub fn stream(mut self, name: impl Into<String>, subject_prefix: impl Into<String>) -> Self {
        self.stream = name.into();
        self.subject_prefix = subject_prefix.into();
        self
    }

    /// The timeout of connecting and of each operation (default 1s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The subject of sub-queue `stream`.
    pub fn subject(&self, stream: &str) -> String {
        let hex: String = stream.bytes().map(|b| format!("{b:02x}")).collect();
        format!("{}.{hex}", self.subject_prefix)
    }

    async fn link(&self) -> Result<(jetstream::Context, stream::Stream), BackendError> {
        let cached = self.link.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(link) = cached {
            return Ok(link);
        }
        let connect = async_nats::ConnectOptions::new()
            .connection_timeout(self.timeout)
            .connect(self.url.as_str());
        let client = self.timed(connect).await?.map_err(|e| self.failed(e))?;
        let mut js = jetstream::new(client);
        js.set_timeout(self.timeout);
        let config = stream::Config {
            name: self.stream.clone(),
            subjects: vec![format!("{}.>", self.subject_prefix)],
            max_messages_per_subject: self.capacity,
            discard: stream::DiscardPolicy::New,
            discard_new_per_subject: true,
            storage: stream::StorageType::File,
            ..Default::default()
        };
        let mut stream = self
            .timed(js.get_or_create_stream(config))
            .await?
            .map_err(|e| self.failed(format!("the stream `{}`: {e}", self.stream)))?;
        let limit = self.limit_for(&stream).await?;
        if let Some(wanted) = self.limits_to_apply(&stream.cached_info().config, limit) {
            self.timed(js.update_stream(&wanted)).await?.map_err(|e| {
                self.failed(format!(
                    "the stream `{}` exists with {} messages per subject and discard {:?} (new per \
                     subject: {}); setting {} and discard new per subject, without which a full \
                     sub-queue would not refuse a push, failed: {e}",
                    self.stream,
                    stream.cached_info().config.max_messages_per_subject,
                    stream.cached_info().config.discard,
                    stream.cached_info().config.discard_new_per_subject,
                    limit
                ))
            })?;
            stream = self
                .timed(js.get_stream(&self.stream))
                .await?
                .map_err(|e| self.failed(format!("the stream `{}`: {e}", self.stream)))?;
        }
        self.limit.store(limit, Ordering::Relaxed);
        *self.link.lock().unwrap_or_else(PoisonError::into_inner) = Some((js.clone(), stream.clone()));
        Ok((js, stream))
    }

    /// The sub-queues under `prefix` with entries: the stream's subjects, decoded.
    async fn scan(&self, prefix: &str) -> Result<Vec<(String, u64)>, BackendError> {
        let (_, s) = self.link().await?;
        let wanted = self.subject(prefix);
        let mut subjects = self
            .timed(s.info_with_subjects(format!("{}.>", self.subject_prefix)))
            .await?
            .map_err(|e| self.failed(e))?;
        let mut found = Vec::new();
        while let Some(entry) = self.timed(subjects.next()).await? {
            let (subject, count) = entry.map_err(|e| self.failed(e))?;
            if count == 0 || !subject.starts_with(&wanted) {
                continue;
            }
            let hex = &subject[self.subject_prefix.len() + 1..];
            let bytes: Option<Vec<u8>> = (0..hex.len())
                .step_by(2)
                .map(|i| hex.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
                .collect();
            if let Some(name) = bytes.and_then(|b| String::from_utf8(b).ok()) {
                found.push((name, count as u64));
            }
        }
        Ok(found)
    }

    /// The per-subject limit to apply to `stream`: the capacity, unless that would lower the
    /// stream's limit below a sub-queue's backlog (NATS would delete the oldest entries to fit):
    /// then the largest backlog, reported on stderr, until a later connection finds it drained.
    async fn limit_for(&self, stream: &stream::Stream) -> Result<i64, BackendError> {
        let have = stream.cached_info().config.max_messages_per_subject;
        if have > 0 && have <= self.capacity {
            return Ok(self.capacity);
        }
        let mut subjects = self
            .timed(stream.info_with_subjects(format!("{}.>", self.subject_prefix)))
            .await?
            .map_err(|e| self.failed(e))?;
        let mut largest = 0i64;
        while let Some(entry) = self.timed(subjects.next()).await? {
            let (_, count) = entry.map_err(|e| self.failed(e))?;
            largest = largest.max(i64::try_from(count).unwrap_or(i64::MAX));
        }
        if largest <= self.capacity {
            return Ok(self.capacity);
        }
        let message = format!(
            "queue stream `{}`: a sub-queue holds {largest} entries, more than the capacity of {}: \
             its limit stays at {largest} (lowering it would delete the oldest queued calls) until \
             the backlog has drained and the backend connects again",
            self.stream, self.capacity
        );
        eprintln!("cb: {message}");
        tracing::warn!(target: "cb_runtime", "{message}");
        Ok(largest)
    }

    /// The configuration `have` (an existing stream's) with the per-subject `limit`, if it lacks
    /// it: a stream made by an earlier deploy with another capacity, or provisioned by hand
    /// (`nats stream add` discards the *oldest* message of a full subject, a silent drop).
    fn limits_to_apply(&self, have: &stream::Config, limit: i64) -> Option<stream::Config> {
        let applied = have.max_messages_per_subject == limit
            && have.discard == stream::DiscardPolicy::New
            && have.discard_new_per_subject;
        (!applied).then(|| stream::Config {
            max_messages_per_subject: limit,
            discard: stream::DiscardPolicy::New,
            discard_new_per_subject: true,
            ..have.clone()
        })
    }

    async fn timed<T>(&self, f: impl std::future::Future<Output = T>) -> Result<T, BackendError> {
        tokio::time::timeout(self.timeout, f)
            .await
            .map_err(|_| self.failed(format!("no answer within {:?}", self.timeout)))
    }

    /// A failure, and the link dropped so that the next operation reconnects.
    fn failed(&self, e: impl std::fmt::Display) -> BackendError {
        *self.link.lock().unwrap_or_else(PoisonError::into_inner) = None;
        BackendError(format!("nats: {e}"))
    }
}

impl QueueBackend for JetStreamQueue {
    fn kind(&self) -> &'static str {
        "jetstream"
    }

    fn push<'a>(&'a self, stream: &'a str, payload: Vec<u8>) -> BackendFuture<'a, Result<String, PushError>> {
        Box::pin(async move {
            let (js, _) = self.link().await.map_err(PushError::Backend)?;
            let publish = async { js.publish(self.subject(stream), payload.into()).await?.await };
            match self.timed(publish).await.map_err(PushError::Backend)? {
                Ok(ack) => Ok(ack.sequence.to_string()),
                Err(e) if e.to_string().contains("maximum messages") => Err(PushError::Full {
                    capacity: self.limit.load(Ordering::Relaxed).max(0) as u64,
                }),
                Err(e) => Err(PushError::Backend(self.failed(e))),
            }
        })
    }

    fn head<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<Option<Entry>, BackendError>> {
        Box::pin(async move {
            use async_nats::jetstream::stream::RawMessageErrorKind as Kind;
            let (_, s) = self.link().await?;
            match self
                .timed(s.get_first_raw_message_by_subject(self.subject(stream), 1))
                .await?
            {
                Ok(m) => Ok(Some(Entry {
                    id: m.sequence.to_string(),
                    payload: m.payload.to_vec(),
                })),
                Err(e) if e.kind() == Kind::NoMessageFound => Ok(None),
                Err(e) => Err(self.failed(e)),
            }
        })
    }

    fn ack<'a>(&'a self, _stream: &'a str, id: &'a str) -> BackendFuture<'a, Result<(), BackendError>> {
        Box::pin(async move {
            let sequence: u64 = id.parse().map_err(|_| BackendError(format!("not a sequence: {id}")))?;
            let (_, s) = self.link().await?;
            match self.timed(s.delete_message(sequence)).await? {
                Ok(_) => Ok(()),
                Err(e) => Err(self.failed(e)),
            }
        })
    }

    fn len<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            let (_, s) = self.link().await?;
            let mut subjects = self
                .timed(s.info_with_subjects(self.subject(stream)))
                .await?
                .map_err(|e| self.failed(e))?;
            let mut total = 0u64;
            while let Some(entry) = self.timed(subjects.next()).await? {
                let (_, count) = entry.map_err(|e| self.failed(e))?;
                total += count as u64;
            }
            Ok(total)
        })
    }

    fn waiting<'a>(&'a self, prefix: &'a str) -> BackendFuture<'a, Waiting> {
        Box::pin(async move { Some(self.scan(prefix).await) })
    }
}
