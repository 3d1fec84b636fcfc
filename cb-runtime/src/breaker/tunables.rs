//! The per-call view of a breaker's configuration: a few relaxed atomics on the breaker's
//! read-mostly cache line, so the hot path reads them with plain loads and a configuration
//! reload can replace them while calls run.

use crate::clock::duration_nanos;
use crate::config::BreakerConfig;
use crate::window::RateRule;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};

const OFF: u64 = u64::MAX;

/// [`Tunables::run_limit`] while the consecutive trigger is off after having been on: the run
/// is still counted (so turning it on again judges the failures in a row as they stand), and
/// no run reaches it (a run is at most `u32::MAX` long).
const RUN_KEPT: u64 = 1 << 32;

/// What a call needs, in one word: read once per record.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mode(u32);

const RATES: u32 = 1;
const SLOW: u32 = 2;
/// The consecutive trigger has been on: its run is counted from then on, on or off.
const KEPT: u32 = 4;

impl Mode {
    #[inline]
    pub(crate) fn rates(self) -> bool {
        self.0 & RATES != 0
    }

    #[inline]
    pub(crate) fn slow(self) -> bool {
        self.0 & SLOW != 0
    }

    /// Whether the consecutive trigger has been on (see [`KEPT`]).
    #[inline]
    fn run_kept(self) -> bool {
        self.0 & KEPT != 0
    }
}

#[derive(Debug)]
pub(crate) struct Tunables {
    /// `RATES | SLOW | KEPT` bits.
    mode: AtomicU32,
    /// The consecutive trigger's limit; 0: off (see [`KEPT`]).
    consecutive: AtomicU32,
    /// `f64` bits; `OFF`: off.
    failure_rate: AtomicU64,
    /// `f64` bits; `OFF`: off.
    slow_rate: AtomicU64,
    minimum_calls: AtomicU64,
    /// Nanoseconds; `OFF` while slow-call detection is off.
    slow_nanos: AtomicU64,
    half_open_max_calls: AtomicU32,
    success_threshold: AtomicU32,
    /// Nanoseconds; `OFF`: off.
    half_open_max_wait: AtomicU64,
}

fn rate_bits(rate: Option<f64>) -> u64 {
    rate.map_or(OFF, f64::to_bits)
}

fn rate(bits: u64) -> Option<f64> {
    (bits != OFF).then(|| f64::from_bits(bits))
}

impl Tunables {
    pub(crate) fn new(config: &BreakerConfig) -> Tunables {
        let t = Tunables {
            mode: AtomicU32::new(0),
            consecutive: AtomicU32::new(0),
            failure_rate: AtomicU64::new(OFF),
            slow_rate: AtomicU64::new(OFF),
            minimum_calls: AtomicU64::new(1),
            slow_nanos: AtomicU64::new(OFF),
            half_open_max_calls: AtomicU32::new(1),
            success_threshold: AtomicU32::new(1),
            half_open_max_wait: AtomicU64::new(OFF),
        };
        t.store(config);
        t
    }

    /// Takes on a (validated) configuration.
    pub(crate) fn store(&self, config: &BreakerConfig) {
        let kept = config.consecutive_failures.is_some() || self.mode().run_kept();
        self.consecutive
            .store(config.consecutive_failures.unwrap_or(0), Relaxed);
        self.failure_rate
            .store(rate_bits(config.failure_rate_threshold), Relaxed);
        self.slow_rate
            .store(rate_bits(config.slow_call_rate_threshold), Relaxed);
        self.minimum_calls
            .store(u64::from(config.effective_minimum_calls()), Relaxed);
        let slow = config
            .slow_call_rate_threshold
            .map_or(OFF, |_| duration_nanos(config.slow_call_duration));
        self.slow_nanos.store(slow, Relaxed);
        self.half_open_max_calls.store(config.half_open_max_calls, Relaxed);
        self.success_threshold.store(config.success_threshold, Relaxed);
        self.half_open_max_wait
            .store(config.half_open_max_wait.map_or(OFF, duration_nanos), Relaxed);
        let rates = config.failure_rate_threshold.is_some() || config.slow_call_rate_threshold.is_some();
        let slow = config.slow_call_rate_threshold.is_some();
        let mode = if rates { RATES } else { 0 } | if slow { SLOW } else { 0 } | if kept { KEPT } else { 0 };
        self.mode.store(mode, Relaxed);
    }

    #[inline]
    pub(crate) fn mode(&self) -> Mode {
        Mode(self.mode.load(Relaxed))
    }

    /// The length at which a run of failures trips the breaker, while the run is counted:
    /// with the trigger on, and after a reload turned it off ([`RUN_KEPT`], which no run
    /// reaches). `None` while the trigger has never been on. `mode` is [`Tunables::mode`].
    #[inline]
    pub(crate) fn run_limit(&self, mode: Mode) -> Option<u64> {
        match self.consecutive.load(Relaxed) {
            0 if mode.run_kept() => Some(RUN_KEPT),
            0 => None,
            limit => Some(u64::from(limit)),
        }
    }

    /// The consecutive trigger's limit, `None` while it is off.
    pub(crate) fn consecutive(&self) -> Option<u32> {
        Some(self.consecutive.load(Relaxed)).filter(|n| *n != 0)
    }

    pub(crate) fn rates(&self) -> RateRule {
        RateRule::from_parts(
            rate(self.failure_rate.load(Relaxed)),
            rate(self.slow_rate.load(Relaxed)),
            self.minimum_calls.load(Relaxed),
        )
    }

    #[inline]
    pub(crate) fn slow_nanos(&self) -> Option<u64> {
        Some(self.slow_nanos.load(Relaxed)).filter(|n| *n != OFF)
    }

    #[inline]
    pub(crate) fn half_open_max_calls(&self) -> u32 {
        self.half_open_max_calls.load(Relaxed)
    }

    #[inline]
    pub(crate) fn success_threshold(&self) -> u32 {
        self.success_threshold.load(Relaxed)
    }

    pub(crate) fn half_open_max_wait(&self) -> Option<u64> {
        Some(self.half_open_max_wait.load(Relaxed)).filter(|n| *n != OFF)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(limit: Option<u32>) -> BreakerConfig {
        let builder = BreakerConfig::builder();
        match limit {
            Some(n) => builder.consecutive_failures(n),
            None => builder.no_consecutive_failures(),
        }
        .build()
        .unwrap()
    }

    fn limit(t: &Tunables) -> Option<u64> {
        t.run_limit(t.mode())
    }

    #[test]
    fn the_run_is_counted_from_the_first_time_the_trigger_is_on() {
        let t = Tunables::new(&config(None));
        assert_eq!(limit(&t), None, "never on: no run is counted");
        t.store(&config(None));
        assert_eq!(limit(&t), None);
        t.store(&config(Some(u32::MAX)));
        assert_eq!(limit(&t), Some(u64::from(u32::MAX)));
        t.store(&config(None));
        assert_eq!(limit(&t), Some(RUN_KEPT), "off again: counted, never reached");
        assert_eq!(t.consecutive(), None, "and reported off");
        t.store(&config(None));
        assert_eq!(limit(&t), Some(RUN_KEPT), "a second reload off keeps it");
        t.store(&config(Some(3)));
        assert_eq!((limit(&t), t.consecutive()), (Some(3), Some(3)));
        assert!(u64::from(u32::MAX) < RUN_KEPT, "no run reaches it");
    }
}
