//! Events: transitions, rejections, slow calls and configuration conflicts, emitted as
//! `tracing` events (target `cb_runtime`) and to subscribers.

use crate::State;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::broadcast;

/// Why a breaker changed state.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Reason {
    /// `count` failures in a row.
    ConsecutiveFailures {
        /// The run of failures.
        count: u32,
    },
    /// The failure rate over the window reached the threshold.
    FailureRate {
        /// The rate observed.
        rate: f64,
        /// The configured threshold.
        threshold: f64,
        /// Calls in the window.
        calls: u64,
    },
    /// The slow-call rate over the window reached the threshold.
    SlowCallRate {
        /// The rate observed.
        rate: f64,
        /// The configured threshold.
        threshold: f64,
        /// Calls in the window.
        calls: u64,
    },
    /// The open wait has passed: probes may run.
    OpenWaitElapsed,
    /// A half-open probe failed.
    ProbeFailed,
    /// Enough half-open probes succeeded.
    ProbesSucceeded {
        /// Successful probes.
        successes: u32,
    },
    /// Probes stayed undecided longer than `half_open_max_wait`.
    ProbesUndecided {
        /// How long the newest probe had run (or, with the wait turned on by a
        /// reconfiguration since, how long since then).
        waited: Duration,
    },
    /// `force_open`, `disable`, `metrics_only` or `reset`.
    Manual,
    /// The backend answered with a `Retry-After` (feature `reqwest-middleware`): open for
    /// `wait`, the header's delay capped at `max_open_timeout`.
    RetryAfter {
        /// How long the breaker stays open.
        wait: Duration,
    },
    /// Adopted from another instance of the fleet (feature `redis`).
    Fleet {
        /// The instance that tripped or closed it.
        instance: u64,
    },
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::ConsecutiveFailures { count: 1 } => f.write_str("1 consecutive failure"),
            Reason::ConsecutiveFailures { count } => write!(f, "{count} consecutive failures"),
            Reason::FailureRate { rate, threshold, calls } => {
                write!(f, "failure rate {rate:.2} >= {threshold:.2} over {calls} calls")
            }
            Reason::SlowCallRate { rate, threshold, calls } => {
                write!(f, "slow call rate {rate:.2} >= {threshold:.2} over {calls} calls")
            }
            Reason::OpenWaitElapsed => f.write_str("open wait elapsed"),
            Reason::ProbeFailed => f.write_str("half-open probe failed"),
            Reason::ProbesSucceeded { successes } => {
                write!(f, "{successes} half-open probes succeeded")
            }
            Reason::ProbesUndecided { waited } => {
                write!(f, "half-open probes undecided after {waited:?}")
            }
            Reason::Manual => f.write_str("manual"),
            Reason::RetryAfter { wait } => write!(f, "the backend asked to retry after {wait:?}"),
            Reason::Fleet { instance } => write!(f, "adopted from fleet instance {instance:016x}"),
        }
    }
}

/// Why a breaker left its registry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Eviction {
    /// Closed and unused for the family's `idle_ttl`.
    Idle,
    /// Closed, unused the longest, and the family was over `max_keys`.
    OverCap,
    /// [`Registry::remove`](crate::Registry::remove).
    Removed,
}

impl fmt::Display for Eviction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Eviction::Idle => "idle",
            Eviction::OverCap => "over max_keys",
            Eviction::Removed => "removed",
        })
    }
}

/// Something a breaker did that an operator may want to know.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Event {
    /// The breaker changed state.
    Transition {
        /// The breaker.
        name: crate::Name,
        /// The state it left.
        from: State,
        /// The state it entered.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// A call was refused.
    Rejected {
        /// The breaker.
        name: crate::Name,
        /// The state that refused it.
        state: State,
    },
    /// A call took longer than `slow_call_duration`.
    SlowCall {
        /// The breaker.
        name: crate::Name,
        /// How long it took.
        duration: Duration,
    },
    /// A configuration reload changed this breaker's thresholds (state and counts kept).
    Reconfigured {
        /// The breaker.
        name: crate::Name,
        /// What changed, as `key: old -> new`.
        changes: Vec<String>,
    },
    /// Fleet news (feature `redis`), once per change of condition: connected, Redis unusable,
    /// writes refused, a malformed, out-of-range or wrong-typed key, a repaired lease, and each
    /// condition's end (`resolved: ...`). Never contains the Redis password.
    FleetReport {
        /// What happened.
        message: String,
    },
    /// A configuration file could not be applied; the last good configuration stays in force.
    ConfigRejected {
        /// Every problem found, one per line, with file, line and column.
        error: String,
    },
    /// A keyed breaker was evicted (idle, or its family over `max_keys`), or any breaker was
    /// removed with [`Registry::remove`](crate::Registry::remove).
    Evicted {
        /// The breaker.
        name: crate::Name,
        /// Why.
        reason: Eviction,
    },
    /// A keyed family holds more than `max_keys` live breakers because none of the others may
    /// be evicted (tripped, or in use); reported once each time the family goes over.
    FamilyOverCap {
        /// The family (the part of the names before `/`).
        family: String,
        /// Live breakers in the family.
        live: usize,
        /// Its `max_keys`.
        max_keys: u32,
    },
    /// A call site asked for an existing breaker with a different configuration; the first
    /// registration's configuration stays in force.
    ConfigConflict {
        /// The breaker.
        name: crate::Name,
        /// The configuration in force, as `key = value` settings (for two configurations in
        /// code, the keys where they differ).
        kept: String,
        /// The configuration the later call site asked for, likewise.
        ignored: String,
    },
    /// A fallback answered a call (per call, like `Rejected`: only subscribers of everything
    /// receive it). Sent by every path that counts a fallback: the macros, the API's
    /// `call_*_with_fallback`, the tower layer, protected streams, queues and
    /// [`record_fallback_as`](crate::CircuitBreaker::record_fallback_as).
    Fallback {
        /// The breaker.
        name: crate::Name,
        /// The strategy that was asked to answer (`Chain` for a chain as a whole).
        kind: crate::fallback::FallbackKind,
    },
    /// This subscription fell more than 1024 events behind and lost the oldest: `skipped`
    /// events were never delivered to it. Given in their place, so a subscriber that rebuilds
    /// state from events knows its picture has a hole (a snapshot refills it), and logged
    /// (WARN) when given.
    SubscriberLagged {
        /// How many events this subscription lost.
        skipped: u64,
    },
    /// The HTTP client middleware (feature `reqwest-middleware`) got a `Retry-After` that is
    /// neither delay-seconds nor an HTTP-date; the breaker kept its configured open wait. Sent
    /// when the value (or breaker) differs from the last unreadable one.
    UnreadableRetryAfter {
        /// The breaker of the response.
        name: crate::Name,
        /// The header's value (lossy UTF-8, at most 64 characters).
        value: String,
    },
}

/// What a subscriber receives.
///
/// ```
/// use cb_runtime::{registry, Event, Interest};
///
/// let mut transitions = registry().subscribe_to(Interest::Transitions);
/// let breaker = registry().breaker("docs-interest", &Default::default());
/// breaker.force_open();
/// let _ = breaker.call_sync(|| Ok::<_, ()>(()));
/// assert!(matches!(transitions.try_recv(), Some(Event::Transition { .. })));
/// assert_eq!(transitions.try_recv(), None, "no event per rejected call");
/// assert_eq!(breaker.snapshot().totals.rejected, 1, "rejections stay countable");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Interest {
    /// Every event, one per rejected, slow or fallback-answered call included.
    Everything,
    /// Everything but the per-call events (`Rejected`, `SlowCall`, `Fallback`): transitions,
    /// configuration and fleet news. Rejections stay countable in snapshots and metrics.
    Transitions,
}

impl Event {
    /// Whether this event is about one call (`Rejected`, `SlowCall`, `Fallback`).
    pub fn is_per_call(&self) -> bool {
        matches!(
            self,
            Event::Rejected { .. } | Event::SlowCall { .. } | Event::Fallback { .. }
        )
    }
}

/// One channel of events and how many subscribe to it. The broadcast channel (1024 slots,
/// ~90 KB) is created by the first subscription: a standalone breaker nobody subscribes to
/// costs a few words, not a channel.
#[derive(Debug, Default)]
struct Channel {
    sender: std::sync::OnceLock<broadcast::Sender<Event>>,
    subscribers: Arc<AtomicUsize>,
}

impl Channel {
    fn subscribe(&self) -> Subscription {
        let receiver = self.sender.get_or_init(|| broadcast::Sender::new(1024)).subscribe();
        self.subscribers.fetch_add(1, Ordering::AcqRel);
        Subscription {
            receiver,
            subscribers: self.subscribers.clone(),
        }
    }

    #[inline]
    fn has_subscribers(&self) -> bool {
        self.subscribers.load(Ordering::Relaxed) != 0
    }

    fn send(&self, event: Event) {
        if self.has_subscribers()
            && let Some(sender) = self.sender.get()
        {
            let _ = sender.send(event);
        }
    }
}

/// Where a breaker's events go: tracing always, subscribers when there are any. Per-call
/// events go only to subscribers of everything, so they never crowd transitions out of a
/// transitions-only subscriber's queue.
#[derive(Debug, Default)]
pub(crate) struct EventBus {
    everything: Channel,
    transitions: Channel,
}

impl EventBus {
    pub(crate) fn subscribe(&self) -> Subscription {
        self.subscribe_to(Interest::Everything)
    }

    pub(crate) fn subscribe_to(&self, interest: Interest) -> Subscription {
        match interest {
            Interest::Everything => self.everything.subscribe(),
            Interest::Transitions => self.transitions.subscribe(),
        }
    }

    /// Whether anyone receives per-call events.
    #[inline]
    pub(crate) fn has_subscribers(&self) -> bool {
        self.everything.has_subscribers()
    }

    /// Whether anyone subscribes, to anything.
    pub(crate) fn has_any_subscribers(&self) -> bool {
        self.everything.has_subscribers() || self.transitions.has_subscribers()
    }

    /// Sends `event` to the subscribers only (tracing hears of it elsewhere: when it happened,
    /// or where it is served).
    pub(crate) fn deliver(&self, event: Event) {
        if !event.is_per_call() {
            self.transitions.send(event.clone());
        }
        self.everything.send(event);
    }

    /// Sends `event` to tracing and to the subscribers that want it.
    pub(crate) fn emit(&self, event: Event) {
        trace(&event);
        if !event.is_per_call() {
            self.transitions.send(event.clone());
        }
        self.everything.send(event);
    }
}

/// The `tracing` event of a rejection, without building an [`Event`] (the rejection path).
#[inline]
pub(crate) fn trace_rejected(name: &str, state: State) {
    tracing::debug!(target: "cb_runtime", breaker = name, state = state.as_str(), "call rejected");
}

/// The `tracing` event of a Closed breaker tripped by failures (INFO, just before its
/// transition's): `failure_count` and `threshold` are the run of failures and
/// `consecutive_failures` (`consecutive_limit`), or the failures in the window and the rate
/// threshold (with `failure_rate` and `calls`). Slow-call trips are not failure breaches: their
/// transition's `reason` tells.
#[cold]
pub(crate) fn trace_breach(name: &str, reason: &Reason, consecutive_limit: Option<u32>) {
    match *reason {
        Reason::ConsecutiveFailures { count } => tracing::info!(
            target: "cb_runtime",
            breaker = name,
            trigger = "consecutive_failures",
            failure_count = count,
            threshold = consecutive_limit.unwrap_or(count),
            "circuit breaker `{name}`: {count} consecutive failures reached the threshold"
        ),
        Reason::FailureRate { rate, threshold, calls } => {
            let failure_count = (rate * calls as f64).round() as u64;
            tracing::info!(
                target: "cb_runtime",
                breaker = name,
                trigger = "failure_rate",
                failure_count,
                threshold,
                failure_rate = rate,
                calls,
                "circuit breaker `{name}`: {failure_count} failures in {calls} calls, rate {rate:.2} >= {threshold:.2}"
            )
        }
        _ => {}
    }
}

/// The `tracing` event of a fallback served (DEBUG, per call, inside the fallback's span):
/// `service_name` (the breaker), `reason` (`rejected`, `failure` or `timeout`) and
/// `data_source` (the fallback: its path as written in `fallback = ...`, or its type's name).
#[inline]
pub(crate) fn trace_fallback(service_name: &str, reason: &str, data_source: &str) {
    tracing::debug!(target: "cb_runtime", service_name, reason, data_source, "fallback served");
}

/// Emits `event` as a `tracing` event (target `cb_runtime`).
#[inline]
pub(crate) fn trace(event: &Event) {
    match event {
        Event::Transition { name, from, to, reason } => tracing::info!(
            target: "cb_runtime",
            breaker = name.as_str(),
            from_state = from.as_str(),
            to_state = to.as_str(),
            reason = %reason,
            "circuit breaker `{name}` {from} -> {to}: {reason}"
        ),
        Event::Rejected { name, state } => {
            tracing::debug!(target: "cb_runtime", breaker = name.as_str(), state = state.as_str(), "call rejected")
        }
        Event::SlowCall { name, duration } => {
            tracing::debug!(target: "cb_runtime", breaker = name.as_str(), duration = ?duration, "slow call")
        }
        // Traced where it is served (`fallback served`, DEBUG, in the fallback's span), with
        // why and by what; subscribers get it from `record_fallback_as`.
        Event::Fallback { .. } => {}
        Event::SubscriberLagged { skipped } => {
            tracing::warn!(target: "cb_runtime", skipped, "an event subscriber fell behind and lost {skipped} events")
        }
        Event::ConfigConflict { name, kept, ignored } => tracing::warn!(
                target: "cb_runtime",
                breaker = name.as_str(),
                kept = %kept,
                ignored = %ignored,
            "circuit breaker `{name}` is already registered with another configuration; the first one stays in force"
        ),
        Event::Reconfigured { name, changes } => tracing::info!(
            target: "cb_runtime",
            breaker = name.as_str(),
            changes = %changes.join(", "),
            "circuit breaker `{name}` reconfigured: {}",
            changes.join(", ")
        ),
        Event::FleetReport { message } => tracing::warn!(target: "cb_runtime", "{message}"),
        Event::Evicted { name, reason } => tracing::debug!(
            target: "cb_runtime",
            breaker = name.as_str(),
            reason = %reason,
            "circuit breaker `{name}` evicted ({reason})"
        ),
        Event::FamilyOverCap { family, live, max_keys } => tracing::warn!(
            target: "cb_runtime",
            family = family.as_str(),
            live,
            max_keys,
            "keyed circuit breakers `{family}/*`: {live} live, over max_keys = {max_keys}, because the others are tripped or in use"
        ),
        Event::UnreadableRetryAfter { name, value } => tracing::warn!(
            target: "cb_runtime",
            breaker = name.as_str(),
            value = value.as_str(),
            "circuit breaker `{name}`: Retry-After `{value}` is neither delay-seconds nor an HTTP-date; the configured open wait stays"
        ),
        Event::ConfigRejected { error } => tracing::error!(
            target: "cb_runtime",
            "circuit breaker configuration rejected, the last good one stays in force:\n{error}"
        ),
    }
}

/// A stream of events; dropping it unsubscribes.
///
/// ```
/// use cb_runtime::{registry, Event};
///
/// let mut events = registry().subscribe();
/// registry().breaker("docs-events", &Default::default()).force_open();
/// assert!(matches!(events.try_recv(), Some(Event::Transition { name, .. }) if name == "docs-events"));
/// ```
#[derive(Debug)]
pub struct Subscription {
    receiver: broadcast::Receiver<Event>,
    subscribers: Arc<AtomicUsize>,
}

impl Subscription {
    /// The next event, waiting for one. `None` once the source is gone. A subscriber that falls
    /// more than 1024 events behind loses the oldest and gets [`Event::SubscriberLagged`] with
    /// their number in their place.
    pub async fn recv(&mut self) -> Option<Event> {
        self.recv_unlogged().await.map(logged)
    }

    /// [`recv`](Self::recv) without the WARN for lost events: for the registry's own
    /// subscriptions, which catch up by themselves.
    pub(crate) async fn recv_unlogged(&mut self) -> Option<Event> {
        match self.receiver.recv().await {
            Ok(e) => Some(e),
            Err(broadcast::error::RecvError::Lagged(skipped)) => Some(Event::SubscriberLagged { skipped }),
            Err(broadcast::error::RecvError::Closed) => None,
        }
    }

    /// The next event if one is waiting ([`Event::SubscriberLagged`] when events were lost, as
    /// for [`recv`](Self::recv)).
    pub fn try_recv(&mut self) -> Option<Event> {
        match self.receiver.try_recv() {
            Ok(e) => Some(e),
            Err(broadcast::error::TryRecvError::Lagged(skipped)) => Some(logged(Event::SubscriberLagged { skipped })),
            Err(_) => None,
        }
    }

    /// Every event waiting now ([`Event::SubscriberLagged`] first when events were lost).
    pub fn drain(&mut self) -> Vec<Event> {
        std::iter::from_fn(|| self.try_recv()).collect()
    }
}

/// `event` as a subscription gives it: lost events are also told to `tracing` (WARN).
fn logged(event: Event) -> Event {
    if let Event::SubscriberLagged { .. } = event {
        trace(&event);
    }
    event
}

impl Drop for Subscription {
    fn drop(&mut self) {
        self.subscribers.fetch_sub(1, Ordering::AcqRel);
    }
}
