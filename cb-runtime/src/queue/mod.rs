//! Queue for retry (feature `queue`): a fire-and-forget call the breaker rejects is queued and
//! replayed once the breaker lets calls through again.
//!
//! `#[circuit_breaker(name = "notify", queue = "notifications")]` on an `async fn` returning
//! `Result<_, E>`: on rejection its arguments (not the receiver) are serialized with serde and
//! appended to the sub-queue `notifications/<breaker>`, and the caller gets
//! `Err(E::from(Queued { .. }))` at once, or `Err(E::from(NotQueued { .. }))` when the entry
//! could not be stored (full, backend down, unserializable): never a silent drop. A replayer on
//! cb's queue thread replays the entries, oldest first, one at a time, through the same
//! function and breaker, and removes each only after its replay returned `Ok` (at least once,
//! in order per breaker). See the README's "Queue for retry" section.
//!
//! Backends: [`InMemoryQueue`] (bounded, the default) and the durable ones, with which a
//! restarted process replays what the previous one queued: `RedisStreamQueue` (feature
//! `redis`) and `JetStreamQueue` (feature `nats`).
//! Choose one per queue at startup with [`Queues::set_backend`].

mod answer;
mod backend;
mod events;
#[cfg(feature = "nats")]
mod jetstream;
mod memory;
#[cfg(feature = "prometheus")]
mod metrics;
pub(crate) mod owner;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod replay;
pub(crate) mod sub_queue;
pub(crate) mod thread;

pub use answer::{NotQueued, NotQueuedReason, Queued};
pub use backend::{BackendError, BackendFuture, Entry, PushError, QueueBackend, Waiting};
pub use events::{QueueEvent, QueueSubscription};
#[cfg(feature = "nats")]
pub use jetstream::{DEFAULT_JETSTREAM_CAPACITY, JetStreamQueue};
pub use memory::{DEFAULT_CAPACITY, InMemoryQueue};
#[cfg(feature = "prometheus")]
pub use metrics::register_metrics;
#[cfg(feature = "redis")]
pub use redis::{DEFAULT_PREFIX, DEFAULT_REDIS_CAPACITY, RedisStreamQueue};
pub use sub_queue::QueueStatus;

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError, RwLock};
use std::time::Duration;
use sub_queue::SubQueue;

/// The poll interval unless [`Queues::set_poll_interval`] says otherwise.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_millis(500);

/// Every queue of the process: backends, sub-queues, events, status.
pub struct Queues {
    backends: RwLock<HashMap<String, Arc<dyn QueueBackend>>>,
    subs: Mutex<HashMap<String, Arc<SubQueue>>>,
    bus: events::Bus,
    poll_nanos: AtomicU64,
    /// Whether `replay::dispatch` runs (started by the first replayer).
    dispatching: std::sync::atomic::AtomicBool,
    /// `(queue, former path, current path)`: see [`Queues::renamed`].
    renames: RwLock<Vec<(String, String, String)>>,
}

impl fmt::Debug for Queues {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Queues").finish_non_exhaustive()
    }
}

/// The process's queues.
///
/// ```
/// use cb_runtime::queue::{queues, InMemoryQueue};
///
/// queues().set_backend("docs-queue", InMemoryQueue::new(10)).unwrap();
/// assert!(queues().status().iter().all(|s| s.queue != "docs-queue"), "no call queued yet");
/// ```
pub fn queues() -> &'static Queues {
    static QUEUES: OnceLock<Queues> = OnceLock::new();
    QUEUES.get_or_init(|| Queues {
        backends: RwLock::new(HashMap::new()),
        subs: Mutex::new(HashMap::new()),
        bus: events::Bus::new(),
        poll_nanos: AtomicU64::new(DEFAULT_POLL_INTERVAL.as_nanos() as u64),
        dispatching: std::sync::atomic::AtomicBool::new(false),
        renames: RwLock::new(Vec::new()),
    })
}

/// [`Queues::set_backend`] came too late: the queue already holds calls on another backend.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QueueInUse {
    /// The queue.
    pub queue: String,
}

impl fmt::Display for QueueInUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "queue `{}` is already in use with its backend: set the backend before the first call",
            self.queue
        )
    }
}

impl std::error::Error for QueueInUse {}

impl Queues {
    /// Stores `queue`'s calls in `backend` (default: an [`InMemoryQueue`] of
    /// [`DEFAULT_CAPACITY`]). Call it at startup: once a call used the queue, its backend stays
    /// and this is an error.
    pub fn set_backend(&self, queue: &str, backend: impl QueueBackend) -> Result<(), QueueInUse> {
        let subs = self.subs.lock().unwrap_or_else(PoisonError::into_inner);
        if subs.values().any(|s| s.queue == queue) {
            return Err(QueueInUse {
                queue: queue.to_owned(),
            });
        }
        self.backends
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(queue.to_owned(), Arc::new(backend));
        Ok(())
    }

    /// Queue events from now on.
    pub fn subscribe(&self) -> QueueSubscription {
        self.bus.subscribe()
    }

    /// Every sub-queue's counters, by queue then breaker.
    pub fn status(&self) -> Vec<QueueStatus> {
        let mut all: Vec<QueueStatus> = self
            .subs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .map(|s| s.status())
            .collect();
        all.sort_by(|a, b| (&a.queue, &a.breaker).cmp(&(&b.queue, &b.breaker)));
        all
    }

    /// Says that the function at `current` (its path: `module::function`, or for a method
    /// `module::Type::method`, with the type's generic arguments as `core::any::type_name`
    /// writes them) was called `former` when a previous process queued calls in `queue`:
    /// entries tagged `former` then replay through it. Each entry names the function that
    /// queued it, and one named otherwise than its sub-queue's owner is not replayed (it
    /// could be another function's); after renaming or moving a type or function, call this
    /// at startup, before the first call. The stderr line and `ReplayFailed` event about such
    /// an entry give both paths.
    ///
    /// ```
    /// use cb_runtime::queue::queues;
    ///
    /// queues().renamed("notifications", "app::Notifier::send", "app::Client::send");
    /// ```
    pub fn renamed(&self, queue: &str, former: &str, current: &str) {
        let mut renames = self.renames.write().unwrap_or_else(PoisonError::into_inner);
        let rename = (queue.to_owned(), former.to_owned(), current.to_owned());
        if !renames.contains(&rename) {
            renames.push(rename);
        }
        drop(renames);
        self.replay_now(queue);
    }

    /// Whether an entry of `queue` queued by `former` replays through `current` (see
    /// [`Queues::renamed`]).
    pub(crate) fn is_renamed(&self, queue: &str, former: &str, current: &str) -> bool {
        self.renames
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .any(|(q, f, c)| q == queue && f == former && c == current)
    }

    /// The paths `former` was declared renamed to in `queue` (see [`Queues::renamed`]).
    pub(crate) fn renamed_to(&self, queue: &str, former: &str) -> Vec<String> {
        self.renames
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .filter(|(q, f, _)| q == queue && f == former)
            .map(|(_, _, c)| c.clone())
            .collect()
    }

    /// Makes `queue`'s replayers look at their breakers and backlog now.
    pub fn replay_now(&self, queue: &str) {
        for s in self.subs.lock().unwrap_or_else(PoisonError::into_inner).values() {
            if s.queue == queue {
                s.wake.notify_one();
            }
        }
    }

    /// How often a replayer with waiting entries reads its breaker's state (default
    /// [`DEFAULT_POLL_INTERVAL`]; at least 1ms).
    pub fn set_poll_interval(&self, interval: Duration) {
        let nanos = interval.max(Duration::from_millis(1)).as_nanos().min(u64::MAX as u128) as u64;
        self.poll_nanos.store(nanos, Ordering::Relaxed);
    }

    pub(crate) fn poll_interval(&self) -> Duration {
        Duration::from_nanos(self.poll_nanos.load(Ordering::Relaxed))
    }

    pub(crate) fn emit(&self, event: QueueEvent) {
        self.bus.emit(event);
    }

    /// Starts the task that hands the registry's transitions to the replayers, once (called
    /// on the queue thread by every replayer as it starts).
    pub(crate) fn dispatch_transitions(&self) {
        if self.dispatching.swap(true, Ordering::AcqRel) {
            return;
        }
        let events = crate::registry().subscribe_to(crate::Interest::Transitions);
        tokio::task::spawn_local(replay::dispatch(events));
    }

    /// The sub-queues of breaker `name`, one per queue it queues into.
    pub(crate) fn of_breaker(&self, name: &str) -> Vec<Arc<SubQueue>> {
        // Every queue that has had a sub-queue has a backend (see `sub_queue`). The names are
        // taken before `subs` is locked: `sub_queue` takes the two locks the other way round.
        let streams: Vec<String> = self
            .backends
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .keys()
            .map(|q| format!("{q}/{name}"))
            .collect();
        let subs = self.subs.lock().unwrap_or_else(PoisonError::into_inner);
        streams.iter().filter_map(|s| subs.get(s).cloned()).collect()
    }

    /// Wakes every replayer (the transitions task fell behind: each looks for itself).
    pub(crate) fn wake_all(&self) {
        for s in self.subs.lock().unwrap_or_else(PoisonError::into_inner).values() {
            s.wake.notify_one();
        }
    }

    /// Takes `sub` out of the queues and marks it retired (a newer sub-queue of its name, if
    /// one took its place already, stays).
    pub(crate) fn retire(&self, sub: &Arc<SubQueue>) {
        let mut subs = self.subs.lock().unwrap_or_else(PoisonError::into_inner);
        sub.retire();
        if subs.get(&sub.stream).is_some_and(|s| Arc::ptr_eq(s, sub)) {
            subs.remove(&sub.stream);
        }
    }

    /// The sub-queue of `breaker`'s calls in `queue`, created on first use.
    pub(crate) fn sub_queue(&self, queue: &str, breaker: &str) -> Arc<SubQueue> {
        let stream = format!("{queue}/{breaker}");
        let mut subs = self.subs.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(s) = subs.get(&stream) {
            return s.clone();
        }
        // One backend per queue, the default one included: a sub-queue that replaces a retired
        // one (see `replay::adopt`) must find what was pushed through the old one.
        let backend = self
            .backends
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(queue.to_owned())
            .or_insert_with(|| Arc::new(InMemoryQueue::default()))
            .clone();
        let sub = Arc::new(SubQueue::new(queue, breaker, backend));
        subs.insert(stream, sub.clone());
        sub
    }
}
