//! What the caller of a queue-protected function gets when the breaker rejects its call.

use std::fmt;

/// The breaker rejected the call and its arguments were queued: they will be replayed, in
/// order, once the breaker lets calls through again. The protected function returns
/// `Err(E::from(Queued { .. }))`.
///
/// ```
/// use cb_runtime::queue::Queued;
///
/// let q = Queued { queue: "notifications".into(), breaker: "notify".into(), id: "7".into() };
/// assert_eq!(q.to_string(), "circuit breaker `notify` is open: call queued for retry in `notifications` (entry 7)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    /// The queue (`queue = "..."`).
    pub queue: String,
    /// The breaker that rejected the call (its sub-queue).
    pub breaker: String,
    /// The entry's id in its backend (a Redis stream id, a counter in memory).
    pub id: String,
}

impl fmt::Display for Queued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit breaker `{}` is open: call queued for retry in `{}` (entry {})",
            self.breaker, self.queue, self.id
        )
    }
}

impl std::error::Error for Queued {}

/// The breaker rejected the call and its arguments could **not** be queued: nothing will
/// replay it. The protected function returns `Err(E::from(NotQueued { .. }))`.
///
/// ```
/// use cb_runtime::queue::{NotQueued, NotQueuedReason};
///
/// let n = NotQueued { queue: "notifications".into(), breaker: "notify".into(), reason: NotQueuedReason::Full { capacity: 2 } };
/// assert_eq!(n.to_string(), "circuit breaker `notify` is open and the call was not queued: queue `notifications` is full (capacity 2)");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotQueued {
    /// The queue (`queue = "..."`).
    pub queue: String,
    /// The breaker that rejected the call.
    pub breaker: String,
    /// Why it was not queued.
    pub reason: NotQueuedReason,
}

/// Why a rejected call was not queued.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum NotQueuedReason {
    /// The sub-queue holds its capacity of entries.
    Full {
        /// The backend's capacity per sub-queue.
        capacity: u64,
    },
    /// The backend failed (Redis down, refused, timed out).
    Backend {
        /// What the backend said (never a password).
        message: String,
    },
    /// Another function queues the same breaker's rejected calls in the same queue (same
    /// names): the sub-queue replays through that function only, so this one's calls are not
    /// queued.
    Shared {
        /// The function that owns the sub-queue (`module::name`).
        owner: String,
        /// The function whose call was rejected.
        function: String,
    },
    /// The arguments could not be serialized.
    Encode {
        /// serde's message.
        message: String,
    },
}

impl fmt::Display for NotQueued {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "circuit breaker `{}` is open and the call was not queued: ",
            self.breaker
        )?;
        match &self.reason {
            NotQueuedReason::Full { capacity } => {
                write!(f, "queue `{}` is full (capacity {capacity})", self.queue)
            }
            NotQueuedReason::Backend { message } => write!(f, "queue `{}` failed: {message}", self.queue),
            NotQueuedReason::Shared { owner, function } => write!(
                f,
                "queue `{}` replays this breaker's calls through `{owner}`, not `{function}`",
                self.queue
            ),
            NotQueuedReason::Encode { message } => {
                write!(
                    f,
                    "its arguments could not be serialized for queue `{}`: {message}",
                    self.queue
                )
            }
        }
    }
}

impl std::error::Error for NotQueued {}

/// Lets `std::io::Result` functions be queue-protected.
impl From<Queued> for std::io::Error {
    fn from(q: Queued) -> Self {
        std::io::Error::other(q)
    }
}

/// Lets `std::io::Result` functions be queue-protected.
impl From<NotQueued> for std::io::Error {
    fn from(n: NotQueued) -> Self {
        std::io::Error::other(n)
    }
}
