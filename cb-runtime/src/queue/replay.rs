//! The replayer of a sub-queue: a task on the queue thread that replays the head entry
//! through the protected function (and so through its breaker) whenever the breaker lets
//! calls through, one entry at a time, and removes it only after the replay succeeded.
//!
//! It wakes on the breaker's transitions to closed or half-open, on
//! [`Queues::replay_now`](super::Queues::replay_now), and, while entries wait, every poll
//! interval (reading the breaker's state, which is how an elapsed open wait becomes half-open
//! when no call comes); after a failed replay, after a growing multiple of it (up to 128x). One replay at a time per sub-queue: replays never take more than one
//! half-open probe slot, and each takes a permit like any call (a rejected replay leaves the
//! entry at the head).

use super::events::QueueEvent;
use super::sub_queue::SubQueue;
use crate::{CircuitBreaker, Event, State, Subscription};
use std::cell::Cell;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tracing::Instrument;

/// A queue's replay handler: decodes a payload and calls the protected function.
pub type ReplayFn = Arc<dyn Fn(Vec<u8>) -> Pin<Box<dyn Future<Output = ReplayOutcome>>> + Send + Sync>;

/// How a replay ended (the generated handler says; a rejection is noticed separately).
#[derive(Debug)]
pub enum ReplayOutcome {
    /// The call returned `Ok`.
    Delivered,
    /// The call returned an error.
    Failed,
    /// The payload does not decode into the function's parameters (it changed since).
    Undecodable(String),
    /// The call panicked (the breaker counted a failure; the replayer lives on).
    Panicked(String),
}

/// A replay whose panic becomes [`ReplayOutcome::Panicked`], so that one bad entry cannot end
/// its sub-queue's replayer.
struct CatchUnwind(Pin<Box<dyn Future<Output = ReplayOutcome>>>);

impl Future for CatchUnwind {
    type Output = ReplayOutcome;

    fn poll(mut self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<ReplayOutcome> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(poll) => poll,
            Err(payload) => {
                let why = payload
                    .downcast_ref::<&str>()
                    .map(|s| (*s).to_owned())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a non-string panic".to_owned());
                std::task::Poll::Ready(ReplayOutcome::Panicked(why))
            }
        }
    }
}

/// The entry being replayed, seen by the protected function's rejection path.
struct Mark {
    stream: String,
    id: String,
    rejected: Cell<bool>,
}

tokio::task_local! {
    static REPLAYING: Rc<Mark>;
}

/// If the current task is replaying an entry of `stream`: marks the replay rejected (the entry
/// stays) and returns its id.
pub(crate) fn rejected_replay(stream: &str) -> Option<String> {
    REPLAYING
        .try_with(|m| {
            (m.stream == stream).then(|| {
                m.rejected.set(true);
                m.id.clone()
            })
        })
        .ok()
        .flatten()
}

/// Looks at the backend's count before one is taken for the depth, while pushes keep coming.
const DEPTH_TRIES: u32 = 100;

/// Sets the depth from the backend's count of entries (those a previous process left
/// included), taken while no push of this process is under way and kept only if no push or
/// replay counted itself meanwhile; a push between its write and its own count would
/// otherwise be counted twice, or one counted before the store lost. Under pushes that never
/// pause, the last count is taken as it is (the depth is set right again whenever the
/// sub-queue is found empty).
async fn count_depth(sq: &SubQueue) {
    let stats = &sq.stats;
    for tries in 1..=DEPTH_TRIES {
        let before = stats.depth.load(Ordering::SeqCst);
        let last = tries == DEPTH_TRIES;
        if stats.pushing.load(Ordering::SeqCst) == 0 || last {
            match sq.backend.len(&sq.stream).await {
                Ok(n) if last => return stats.depth.store(n, Ordering::SeqCst),
                Ok(n) => {
                    if stats.pushing.load(Ordering::SeqCst) == 0
                        && stats
                            .depth
                            .compare_exchange(before, n, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok()
                    {
                        return;
                    }
                }
                Err(e) => return sq.failed(&e),
            }
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// The replayer's loop: it ends once its breaker has left the registry (a keyed breaker evicted,
/// a breaker removed) with nothing waiting, and its sub-queue goes with it (see
/// [`retire`]): a keyed family's cap and idle time hold for queued keys too.
///
/// It keeps only a weak reference to the breaker between replays: a strong one would keep an
/// idle keyed breaker from being evicted.
pub(crate) async fn run(sq: Arc<SubQueue>) {
    super::queues().dispatch_transitions();
    let breaker = crate::registry().get(&sq.breaker).map(|b| Arc::downgrade(&b));
    count_depth(&sq).await;
    let mut failures = 0u32;
    // Not in the registry when the replayer starts (one started by `adopt`): gone already.
    let mut gone = breaker.is_none();
    loop {
        let held = breaker.as_ref().and_then(std::sync::Weak::upgrade);
        let next = drain(&sq, held.as_deref()).await;
        drop(held);
        gone |= sq.breaker_left.load(Ordering::Acquire);
        if (gone || breaker.as_ref().is_some_and(|b| b.strong_count() == 0))
            && matches!(next, Next::Idle)
            && retire(&sq).await
        {
            return;
        }
        let poll = super::queues().poll_interval();
        let wait = match next {
            Next::Idle => None,
            Next::Poll => {
                failures = 0;
                Some(poll)
            }
            Next::Backoff => {
                failures = failures.saturating_add(1);
                Some(poll.saturating_mul(1 << failures.min(7)))
            }
        };
        tokio::select! {
            _ = sq.wake.notified() => {}
            _ = tokio::time::sleep(wait.unwrap_or_default()), if wait.is_some() => {}
        }
    }
}

/// The one task that reads the registry's transitions for every replayer (each replayer
/// subscribing itself made every transition of any breaker wake every replayer): a transition
/// to a state that admits calls wakes the sub-queues of that breaker, an eviction marks them
/// left and wakes them. Falling behind (more than the channel holds) wakes every sub-queue,
/// which then looks at its breaker itself.
pub(crate) async fn dispatch(mut events: Subscription) {
    loop {
        match events.recv_unlogged().await {
            Some(Event::Transition { name, to, .. }) if !matches!(to, State::Open | State::ForcedOpen) => {
                for sq in super::queues().of_breaker(&name) {
                    sq.wake.notify_one();
                }
            }
            Some(Event::Evicted { name, .. }) => {
                for sq in super::queues().of_breaker(&name) {
                    sq.breaker_left.store(true, Ordering::Release);
                    sq.wake.notify_one();
                }
            }
            Some(Event::SubscriberLagged { .. }) => super::queues().wake_all(),
            Some(_) => {}
            None => return,
        }
    }
}

/// Takes the sub-queue of a breaker that left the registry out of the queues, if its backend
/// shows it empty (a later rejection of that name makes a new one); true when it did. Entries
/// waiting, or a backend that cannot say, keep it and its replayer. A call queued meanwhile
/// through this sub-queue is not stranded: the backend is read once more after the sub-queue
/// is marked retired, and the caller, after its push, looks at the mark (see [`adopt`]);
/// either hands the entry to a sub-queue with a replayer.
async fn retire(sq: &Arc<SubQueue>) -> bool {
    if !matches!(sq.backend.len(&sq.stream).await, Ok(0)) {
        return false;
    }
    super::queues().retire(sq);
    if !matches!(sq.backend.len(&sq.stream).await, Ok(0)) {
        adopt(sq);
    }
    true
}

/// Hands what `old` (a retired sub-queue) holds in its backend to the sub-queue of the same
/// queue and breaker now in the queues, made if need be, with `old`'s replay handler and owner,
/// and a replayer of its own if it had none.
pub(crate) fn adopt(old: &SubQueue) {
    let Some(handler) = old.handler().cloned() else {
        return;
    };
    let fresh = super::queues().sub_queue(&old.queue, &old.breaker);
    fresh.inherit_owner(old);
    if fresh.set_handler(|| handler) {
        let task = fresh.clone();
        if let Err(e) = super::thread::spawn(move || Box::pin(run(task))) {
            fresh.failed(&e);
        }
    } else {
        fresh.wake.notify_one();
    }
}

/// What the replayer does after draining.
enum Next {
    /// Nothing waits (or nothing can replay yet): sleep until woken.
    Idle,
    /// Entries wait for the breaker: look again after the poll interval.
    Poll,
    /// A replay failed: look again after a growing multiple of the poll interval.
    Backoff,
}

/// Emits [`QueueEvent::ReplayFailed`] for entry `id` of `sq`.
fn replay_failed(sq: &SubQueue, id: String, message: String) {
    super::queues().emit(QueueEvent::ReplayFailed {
        queue: sq.queue.clone(),
        breaker: sq.breaker.clone(),
        id,
        message,
    });
}

/// Replays entries while the breaker admits them.
async fn drain(sq: &SubQueue, breaker: Option<&CircuitBreaker>) -> Next {
    let queues = super::queues();
    loop {
        if breaker.is_some_and(|b| matches!(b.state(), State::Open | State::ForcedOpen)) {
            return Next::Poll;
        }
        let Some(handler) = sq.handler() else { return Next::Idle };
        let before = sq.stats.depth.load(Ordering::SeqCst);
        let entry = match sq.backend.head(&sq.stream).await {
            Ok(Some(entry)) => entry,
            Ok(None) => {
                sq.succeeded();
                // Empty: unless a push of this process is under way or counted itself since
                // (its entry came after the look), as `count_depth` does.
                if sq.stats.pushing.load(Ordering::SeqCst) == 0 {
                    let _ = sq
                        .stats
                        .depth
                        .compare_exchange(before, 0, Ordering::SeqCst, Ordering::SeqCst);
                }
                sq.stats.blocked.store(false, Ordering::Relaxed);
                return Next::Idle;
            }
            Err(e) => {
                sq.failed(&e);
                return Next::Backoff;
            }
        };
        sq.succeeded();
        let mark = Rc::new(Mark {
            stream: sq.stream.clone(),
            id: entry.id.clone(),
            rejected: Cell::new(false),
        });
        let span = tracing::debug_span!(
            target: "cb_runtime",
            "queue_replay",
            queue = sq.queue.as_str(),
            breaker = sq.breaker.as_str(),
            entry = entry.id.as_str()
        );
        let (queued_by, args) = super::owner::untag(entry.payload);
        if let (Some(queued_by), Some(owner)) = (queued_by.as_deref(), sq.owner())
            && queued_by != owner
            && !queues.is_renamed(&sq.queue, queued_by, owner)
        {
            // Another function's entry (it owned the sub-queue in a previous process), or
            // this one's under a former name: it must not run through a function it was not
            // meant for, and skipping it would replay out of order. It stays.
            let q = &sq.queue;
            // A declared rename that names another current path (a typo, generic arguments
            // left out) would otherwise leave the user with the same advice and no hint.
            let declared = queues.renamed_to(q, queued_by);
            let declared = if declared.is_empty() {
                String::new()
            } else {
                format!(
                    " (`queues().renamed` was called for `{queued_by}` with {}, not with `{owner}`)",
                    declared.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
                )
            };
            let message = format!(
                "queue `{q}`: entry {} of breaker `{}` was queued by `{queued_by}`, but `{owner}` owns the sub-queue in this process: it is not replayed, and the entries behind it wait; nothing is removed. If `{queued_by}` is a former path of `{owner}` (a type, module or function renamed or moved), call `queues().renamed(\"{q}\", \"{queued_by}\", \"{owner}\")` at startup{declared}; if it is another function, give one of the two its own queue",
                entry.id, sq.breaker
            );
            sq.stats.blocked.store(true, Ordering::Relaxed);
            if sq.note_once(message.clone()) {
                replay_failed(sq, entry.id, message);
            }
            return Next::Idle;
        }
        sq.stats.blocked.store(false, Ordering::Relaxed);
        // Kept to show an entry that does not decode (replay is I/O-bound: one copy is cheap).
        let payload = args.clone();
        let replay = CatchUnwind(handler(args));
        let outcome = REPLAYING.scope(mark.clone(), replay).instrument(span).await;
        if mark.rejected.get() {
            return Next::Poll;
        }
        let message = match outcome {
            ReplayOutcome::Delivered => match sq.backend.ack(&sq.stream, &entry.id).await {
                Ok(()) => {
                    sq.stats.replayed.fetch_add(1, Ordering::Relaxed);
                    let _ = sq
                        .stats
                        .depth
                        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| d.checked_sub(1));
                    queues.emit(QueueEvent::Replayed {
                        queue: sq.queue.clone(),
                        breaker: sq.breaker.clone(),
                        id: entry.id,
                    });
                    continue;
                }
                Err(e) => {
                    sq.failed(&e);
                    format!("replayed, but could not be removed ({e}): it will be replayed again")
                }
            },
            ReplayOutcome::Failed => "the call returned an error".to_owned(),
            ReplayOutcome::Undecodable(why) => {
                // It can never replay, and left at the head it would hold back every entry
                // behind it for good: removed, with its payload where an operator sees it.
                let payload = String::from_utf8_lossy(&payload);
                let shown: String = payload.chars().take(200).collect();
                let removed = match sq.backend.ack(&sq.stream, &entry.id).await {
                    Ok(()) => "removed so the entries behind it replay",
                    Err(e) => {
                        sq.failed(&e);
                        return Next::Backoff;
                    }
                };
                let message = format!("its arguments do not decode ({why}): {removed}; payload {shown:?}");
                eprintln!(
                    "cb: queue `{}` entry {} of breaker `{}`: {message}",
                    sq.queue, entry.id, sq.breaker
                );
                let _ = sq
                    .stats
                    .depth
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |d| d.checked_sub(1));
                sq.stats.replay_failures.fetch_add(1, Ordering::Relaxed);
                replay_failed(sq, entry.id, message);
                continue;
            }
            ReplayOutcome::Panicked(why) => format!("the call panicked: {why}"),
        };
        sq.stats.replay_failures.fetch_add(1, Ordering::Relaxed);
        replay_failed(sq, entry.id, message);
        return Next::Backoff;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::{Duration, Instant};

    /// A call pushed through a sub-queue its replayer retired meanwhile (the race `retire`
    /// and the caller's push resolve with `adopt`) is replayed by the sub-queue that
    /// replaces it, on the default in-memory backend too.
    #[test]
    fn a_call_queued_through_a_retired_sub_queue_is_replayed_by_its_successor() {
        let queues = super::super::queues();
        let name = "replay-adopt-test";
        let _breaker = crate::registry().breaker(name, &Default::default());
        let delivered: Arc<Mutex<Vec<Vec<u8>>>> = Arc::default();
        let old = queues.sub_queue("replay-adopt-q", name);
        let seen = delivered.clone();
        let handler: ReplayFn = Arc::new(move |payload| {
            seen.lock().unwrap().push(payload);
            Box::pin(async { ReplayOutcome::Delivered })
        });
        assert!(old.set_handler(|| handler));
        queues.retire(&old);
        old.backend.push_now(&old.stream, b"[1]").unwrap().unwrap();
        adopt(&old);
        let deadline = Instant::now() + Duration::from_secs(10);
        while delivered.lock().unwrap().is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(*delivered.lock().unwrap(), [b"[1]".to_vec()]);
        let status = queues.status();
        let fresh = status.iter().find(|s| s.queue == "replay-adopt-q" && s.breaker == name);
        assert!(fresh.is_some_and(|s| s.replay_registered), "{status:?}");
    }
}
