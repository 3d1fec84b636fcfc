//! What the agents of both backends (Redis and NATS) do the same way: reporting, listing the
//! breakers the fleet shares, remembering each breaker, joining and losing the backend,
//! counting the outcomes not yet published, judging the fleet's failure rate, and telling
//! when an instance needs the probe lease.

use crate::events::Reason;
use crate::fleet::FleetConfig;
use crate::fleet::secret::Secrets;
use crate::{CircuitBreaker, Registry, State, glob_match};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// Reports `message` about the fleet of `config` (the backend's secrets scrubbed from it): a
/// line on stderr and an [`Event::FleetReport`](crate::Event::FleetReport).
pub(crate) fn report(registry: &Registry, config: &FleetConfig, secrets: &Secrets, message: &str) {
    let message = format!("fleet `{}`: {}", config.fleet, secrets.scrub(message));
    eprintln!("cb: {message}");
    registry.report_fleet(message);
}

/// The breakers of `registry` that the fleet of `config` shares.
pub(crate) fn shared(registry: &Registry, config: &FleetConfig) -> Vec<Arc<CircuitBreaker>> {
    registry
        .names()
        .into_iter()
        .filter(|n| glob_match(&config.breakers, n))
        .filter_map(|n| registry.get(&n))
        .collect()
}

/// What an agent remembers of breaker `name` in `seen`, started afresh the first time.
pub(crate) fn remembered<'a, T: Default>(seen: &'a mut HashMap<String, T>, name: &str) -> &'a mut T {
    if !seen.contains_key(name) {
        seen.insert(name.to_owned(), T::default());
    }
    seen.get_mut(name).expect("inserted above")
}

/// Marks the instance connected; `true` on its first connection only (`joined` remembers
/// it): a reconnection is reported as the end of the condition that broke the connection,
/// not as news of its own.
pub(crate) fn first_connection(connected: &AtomicBool, joined: &mut bool) -> bool {
    let reconnected = connected.swap(true, Ordering::AcqRel) || *joined;
    *joined = true;
    !reconnected
}

/// The backend cannot be used: every shared breaker may probe (it decides locally) and the
/// instance counts as disconnected.
pub(crate) fn decide_locally(registry: &Registry, config: &FleetConfig, connected: &AtomicBool) {
    for b in shared(registry, config) {
        b.set_may_probe(true);
    }
    connected.store(false, Ordering::Release);
}

/// A breaker's outcomes not yet published to the fleet.
pub(crate) struct Unpublished {
    /// Its successes and failures (timeouts included) so far: what counts as published once
    /// the batch is.
    pub(crate) totals: (u64, u64),
    /// The successes since the last publication.
    pub(crate) successes: u64,
    /// The failures (timeouts included) since the last publication.
    pub(crate) failures: u64,
}

/// `b`'s outcomes beyond `published` (successes, failures); `None` when there are none.
pub(crate) fn unpublished(b: &CircuitBreaker, published: (u64, u64)) -> Option<Unpublished> {
    let totals = b.snapshot().totals;
    let now = (totals.successes, totals.failures + totals.timeouts);
    let (ds, df) = (now.0.saturating_sub(published.0), now.1.saturating_sub(published.1));
    if ds + df == 0 {
        return None;
    }
    Some(Unpublished {
        totals: now,
        successes: ds,
        failures: df,
    })
}

/// Trips `b` for the fleet when `failures` of the fleet's `calls` reach the failure rate
/// `threshold`, provided there are calls and at least `minimum_calls` of them.
pub(crate) fn judge_rate(b: &CircuitBreaker, threshold: f64, minimum_calls: u32, failures: u64, calls: u64) {
    if calls > 0 && calls >= u64::from(minimum_calls) {
        let rate = failures as f64 / calls as f64;
        if rate >= threshold {
            b.trip_for_fleet(Reason::FailureRate { rate, threshold, calls });
        }
    }
}

/// Whether `b` is probing or about to: HalfOpen, or Open with its wait over. A lease held
/// for a breaker that is neither is released.
pub(crate) fn probing(b: &CircuitBreaker) -> bool {
    match b.period().0 {
        State::HalfOpen => true,
        State::Open => b.open_remaining() == Some(Duration::ZERO),
        _ => false,
    }
}

/// Whether `b` contends for the fleet's probe lease: Open with its wait over, or HalfOpen
/// while this instance holds the lease (`holding`).
pub(crate) fn contends(b: &CircuitBreaker, holding: bool) -> bool {
    match b.period().0 {
        State::Open => b.open_remaining() == Some(Duration::ZERO),
        State::HalfOpen => holding,
        _ => false,
    }
}
