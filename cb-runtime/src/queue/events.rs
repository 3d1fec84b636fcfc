//! What queues report: [`QueueEvent`]s as `tracing` events (target `cb_runtime`) and to
//! [`queues().subscribe()`](super::Queues::subscribe).

use std::fmt;
use tokio::sync::broadcast;

/// Something a queue did.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueEvent {
    /// A rejected call was queued (DEBUG, per call).
    Queued {
        /// The queue.
        queue: String,
        /// The breaker (sub-queue).
        breaker: String,
        /// The entry.
        id: String,
    },
    /// A rejected call was not queued: the sub-queue was full, the backend failed, or its
    /// arguments could not be serialized (WARN; the caller got [`NotQueued`](super::NotQueued)).
    NotQueued {
        /// The queue.
        queue: String,
        /// The breaker (sub-queue).
        breaker: String,
        /// Why, as the caller's error says.
        reason: String,
    },
    /// A queued call was replayed successfully and removed (DEBUG).
    Replayed {
        /// The queue.
        queue: String,
        /// The breaker (sub-queue).
        breaker: String,
        /// The entry.
        id: String,
    },
    /// A replay failed or could not run; the entry stays at the head and is retried on the
    /// breaker's next transition to closed or half-open (WARN).
    ReplayFailed {
        /// The queue.
        queue: String,
        /// The breaker (sub-queue).
        breaker: String,
        /// The entry.
        id: String,
        /// What went wrong.
        message: String,
    },
}

impl fmt::Display for QueueEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueueEvent::Queued { queue, breaker, id } => {
                write!(f, "queue `{queue}`: call rejected by `{breaker}` queued as {id}")
            }
            QueueEvent::NotQueued { reason, .. } => f.write_str(reason),
            QueueEvent::Replayed { queue, breaker, id } => {
                write!(f, "queue `{queue}`: entry {id} replayed through `{breaker}`")
            }
            QueueEvent::ReplayFailed {
                queue,
                breaker,
                id,
                message,
            } => write!(
                f,
                "queue `{queue}`: replay of entry {id} through `{breaker}` failed ({message}); it stays at the head"
            ),
        }
    }
}

/// The channel of queue events.
#[derive(Debug)]
pub(crate) struct Bus(broadcast::Sender<QueueEvent>);

impl Bus {
    pub(crate) fn new() -> Self {
        Bus(broadcast::Sender::new(1024))
    }

    pub(crate) fn subscribe(&self) -> QueueSubscription {
        QueueSubscription(self.0.subscribe())
    }

    pub(crate) fn emit(&self, event: QueueEvent) {
        match &event {
            QueueEvent::Queued { queue, breaker, id } => {
                tracing::debug!(target: "cb_runtime", queue = queue.as_str(), breaker = breaker.as_str(), id = id.as_str(), "{event}")
            }
            QueueEvent::Replayed { queue, breaker, id } => {
                tracing::debug!(target: "cb_runtime", queue = queue.as_str(), breaker = breaker.as_str(), id = id.as_str(), "{event}")
            }
            QueueEvent::NotQueued { queue, breaker, .. } => {
                tracing::warn!(target: "cb_runtime", queue = queue.as_str(), breaker = breaker.as_str(), "{event}")
            }
            QueueEvent::ReplayFailed { queue, breaker, id, .. } => {
                tracing::warn!(target: "cb_runtime", queue = queue.as_str(), breaker = breaker.as_str(), id = id.as_str(), "{event}")
            }
        }
        if self.0.receiver_count() > 0 {
            let _ = self.0.send(event);
        }
    }
}

/// A stream of [`QueueEvent`]s; dropping it unsubscribes.
#[derive(Debug)]
pub struct QueueSubscription(broadcast::Receiver<QueueEvent>);

impl QueueSubscription {
    /// The next event, waiting for one (a subscriber more than 1024 events behind skips the
    /// oldest).
    pub async fn recv(&mut self) -> Option<QueueEvent> {
        loop {
            match self.0.recv().await {
                Ok(e) => return Some(e),
                Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// Every event waiting now.
    pub fn drain(&mut self) -> Vec<QueueEvent> {
        let mut out = Vec::new();
        loop {
            match self.0.try_recv() {
                Ok(e) => out.push(e),
                Err(broadcast::error::TryRecvError::Lagged(_)) => continue,
                Err(_) => return out,
            }
        }
    }
}
