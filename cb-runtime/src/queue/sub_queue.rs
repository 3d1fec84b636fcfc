//! One sub-queue: the calls one breaker rejected for one queue, their backend, replay handler
//! and counters.

use super::backend::{BackendError, QueueBackend};
use super::replay::ReplayFn;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use tokio::sync::Notify;

/// The calls `breaker` rejected for `queue`, replayed in order through `breaker`.
pub(crate) struct SubQueue {
    pub(crate) queue: String,
    pub(crate) breaker: String,
    /// `<queue>/<breaker>`: the backend's name for it.
    pub(crate) stream: String,
    pub(crate) backend: Arc<dyn QueueBackend>,
    handler: OnceLock<ReplayFn>,
    /// The path of the function whose entries this holds (the first to claim it).
    owner: OnceLock<&'static str>,
    pub(crate) wake: Notify,
    pub(crate) stats: Stats,
    /// Taken out of the queues (its breaker left the registry with nothing waiting): calls
    /// queued through it after that are handed to a new one (see `replay::adopt`).
    retired: AtomicBool,
    /// Its breaker left the registry (an `Evicted` event; see `replay::dispatch`).
    pub(crate) breaker_left: AtomicBool,
}

impl std::fmt::Debug for SubQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SubQueue")
            .field("stream", &self.stream)
            .finish_non_exhaustive()
    }
}

/// What a sub-queue counted.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) queued: AtomicU64,
    pub(crate) not_queued: AtomicU64,
    pub(crate) replayed: AtomicU64,
    pub(crate) replay_failures: AtomicU64,
    /// Entries waiting, as last seen (exact for this process's pushes and replays; read from
    /// the backend when the replayer starts and whenever it finds the sub-queue empty).
    pub(crate) depth: AtomicU64,
    /// Pushes of this process under way: written to the backend or not, not in `depth` yet
    /// (the replayer sets `depth` from the backend's count only while none is; see
    /// [`Pushing`]).
    pub(crate) pushing: AtomicU64,
    failing: AtomicBool,
    /// The entry at the head waits for a function this process does not have (see
    /// [`QueueStatus::blocked`]).
    pub(crate) blocked: AtomicBool,
    last_error: Mutex<Option<String>>,
}

/// A push under way, counted in [`Stats::pushing`] until dropped: after the push counted
/// itself in `depth`, or when the caller gave up (a cancelled call).
pub(crate) struct Pushing<'a>(&'a Stats);

impl<'a> Pushing<'a> {
    pub(crate) fn start(stats: &'a Stats) -> Pushing<'a> {
        stats.pushing.fetch_add(1, Ordering::SeqCst);
        Pushing(stats)
    }
}

impl Drop for Pushing<'_> {
    fn drop(&mut self) {
        self.0.pushing.fetch_sub(1, Ordering::SeqCst);
    }
}

impl SubQueue {
    pub(crate) fn new(queue: &str, breaker: &str, backend: Arc<dyn QueueBackend>) -> Self {
        Self {
            queue: queue.to_owned(),
            breaker: breaker.to_owned(),
            stream: format!("{queue}/{breaker}"),
            backend,
            handler: OnceLock::new(),
            owner: OnceLock::new(),
            wake: Notify::new(),
            stats: Stats::default(),
            retired: AtomicBool::new(false),
            breaker_left: AtomicBool::new(false),
        }
    }

    /// Marks the sub-queue retired (see [`SubQueue::retired`]).
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::SeqCst);
    }

    /// Whether the sub-queue was retired: a push through it must be handed on.
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::SeqCst)
    }

    /// Takes `old`'s owner, if this sub-queue has none yet (it replaces `old`).
    pub(crate) fn inherit_owner(&self, old: &SubQueue) {
        if let Some(owner) = old.owner.get() {
            let _ = self.owner.set(*owner);
        }
    }

    /// The path of the function that owns the sub-queue, once one has claimed it.
    pub(crate) fn owner(&self) -> Option<&'static str> {
        self.owner.get().copied()
    }

    /// Notes a problem that stays until something changes (the same message again says
    /// nothing more): stderr the first time, and the status's last error. True when it was
    /// new (the caller then emits its event).
    pub(crate) fn note_once(&self, message: String) -> bool {
        let mut last = self.stats.last_error.lock().unwrap_or_else(PoisonError::into_inner);
        if last.as_deref() == Some(message.as_str()) {
            return false;
        }
        eprintln!("cb: {message}");
        *last = Some(message);
        true
    }

    /// The replay handler, if registered.
    pub(crate) fn handler(&self) -> Option<&ReplayFn> {
        self.handler.get()
    }

    /// Registers the replay handler (the first one stays); true when this call registered it.
    pub(crate) fn set_handler(&self, make: impl FnOnce() -> ReplayFn) -> bool {
        let mut registered = false;
        self.handler.get_or_init(|| {
            registered = true;
            make()
        });
        registered
    }

    /// Claims the sub-queue for the function at `function` (its path, see
    /// `QueueSite::path_of`): the first claim wins, and a later one from another function is
    /// refused with the owner's path (stderr the first time, and the status's last error).
    pub(crate) fn claim(&self, function: &'static str) -> Result<(), &'static str> {
        let path = *self.owner.get_or_init(|| function);
        if path == function {
            return Ok(());
        }
        let message = format!(
            "`{function}` and `{path}` both queue rejected calls of breaker `{}` in queue `{}`: its entries replay through `{path}` only, so `{function}`'s rejected calls are not queued; give one of them another queue or breaker name",
            self.breaker, self.queue
        );
        if self.note_once(message.clone()) {
            tracing::error!(target: "cb_runtime", queue = self.queue.as_str(), breaker = self.breaker.as_str(), "{message}");
        }
        Err(path)
    }

    /// Notes a backend failure: stderr once per run of failures, and the status.
    pub(crate) fn failed(&self, e: &BackendError) {
        *self.stats.last_error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e.0.clone());
        if !self.stats.failing.swap(true, Ordering::AcqRel) {
            eprintln!(
                "cb: queue `{}` ({} backend) failed for breaker `{}`: {e}; its rejected calls are answered NotQueued and replay waits until it recovers",
                self.queue,
                self.backend.kind(),
                self.breaker
            );
        }
    }

    /// Notes a backend success, ending a run of failures.
    pub(crate) fn succeeded(&self) {
        if self.stats.failing.load(Ordering::Relaxed) && self.stats.failing.swap(false, Ordering::AcqRel) {
            tracing::info!(target: "cb_runtime", queue = self.queue.as_str(), breaker = self.breaker.as_str(), "queue `{}` backend recovered", self.queue);
        }
    }

    /// A copy of the counters.
    pub(crate) fn status(&self) -> QueueStatus {
        let s = &self.stats;
        QueueStatus {
            queue: self.queue.clone(),
            breaker: self.breaker.clone(),
            backend: self.backend.kind(),
            replay_registered: self.handler.get().is_some(),
            queued: s.queued.load(Ordering::Relaxed),
            not_queued: s.not_queued.load(Ordering::Relaxed),
            replayed: s.replayed.load(Ordering::Relaxed),
            replay_failures: s.replay_failures.load(Ordering::Relaxed),
            depth: s.depth.load(Ordering::Relaxed),
            backend_failing: s.failing.load(Ordering::Relaxed),
            blocked: s.blocked.load(Ordering::Relaxed),
            last_error: s.last_error.lock().unwrap_or_else(PoisonError::into_inner).clone(),
        }
    }
}

/// A sub-queue's state, from [`queues().status()`](super::Queues::status).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct QueueStatus {
    /// The queue.
    pub queue: String,
    /// The breaker whose rejected calls it holds.
    pub breaker: String,
    /// The backend's kind (`memory`, `redis`).
    pub backend: &'static str,
    /// Whether a replay handler is registered (the protected function ran in this process).
    pub replay_registered: bool,
    /// Calls queued by this process.
    pub queued: u64,
    /// Rejected calls that could not be queued (full, backend failure, serialization).
    pub not_queued: u64,
    /// Entries replayed successfully and removed.
    pub replayed: u64,
    /// Replays that failed (the entry stayed).
    pub replay_failures: u64,
    /// Entries waiting, as last seen.
    pub depth: u64,
    /// Whether the backend's last operation failed.
    pub backend_failing: bool,
    /// Whether replay is held up by the entry at its head: queued by a function this process
    /// does not have (another function's, or this one's under a former path; see
    /// [`Queues::renamed`](super::Queues::renamed)), so it and the entries behind it wait.
    /// False again once that entry replays.
    pub blocked: bool,
    /// The last problem noted, if any: a backend failure, a head entry that holds replay up,
    /// or another function refused the sub-queue. It stays after the problem ends:
    /// `backend_failing` and `blocked` tell whether one goes on.
    pub last_error: Option<String>,
}
