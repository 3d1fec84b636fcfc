//! Whether protected calls are timed for the call-duration histogram, and how often.
//!
//! Timing is off until something asks for durations (registering the Prometheus collector
//! does). Then one call in [`sample_durations`] (16 by default) on each thread is timed with the
//! precise monotonic clock and counted with that weight: histogram counts, sums and quantiles
//! are unbiased estimates of every call's, at a sixteenth of the cost of two clock reads per
//! call. Slow-call detection times every call regardless (with the coarse clock).

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

static MEASURE: AtomicBool = AtomicBool::new(false);
static EVERY: AtomicU32 = AtomicU32::new(DEFAULT_DURATION_SAMPLING);

/// Calls per timed call, by default.
pub const DEFAULT_DURATION_SAMPLING: u32 = 16;

thread_local! {
    /// Calls on this thread since its last timed one.
    static SINCE_SAMPLE: Cell<u32> = const { Cell::new(0) };
}

/// Turns call-duration measurement on or off for every breaker.
pub fn measure_durations(on: bool) {
    MEASURE.store(on, Ordering::Relaxed);
}

/// Times one call in `every` on each thread (1 times every call; 0 counts as 1; at most
/// [`MAX_DURATION_SAMPLING`]), each timed call counting `every` times in the histogram. A call
/// keeps the weight it was timed under if this changes before it ends.
///
/// ```
/// cb_runtime::sample_durations(1); // every call, e.g. for a test that asserts exact counts
/// # cb_runtime::sample_durations(cb_runtime::DEFAULT_DURATION_SAMPLING);
/// ```
pub fn sample_durations(every: u32) {
    EVERY.store(every.clamp(1, MAX_DURATION_SAMPLING), Ordering::Relaxed);
}

/// The sparsest sampling [`sample_durations`] accepts (a timed call carries its weight in 15
/// bits of its start).
pub const MAX_DURATION_SAMPLING: u32 = (1 << WEIGHT_BITS) - 2;

#[inline]
pub(crate) fn measuring() -> bool {
    MEASURE.load(Ordering::Relaxed)
}

/// The weight to time this call with for the histogram, when it is one to time.
#[inline]
pub(crate) fn sample_due() -> Option<u32> {
    if !measuring() {
        return None;
    }
    let every = EVERY.load(Ordering::Relaxed);
    SINCE_SAMPLE.with(|since| {
        let n = since.get() + 1;
        let due = n >= every;
        since.set(if due { 0 } else { n });
        due.then_some(every)
    })
}

/// Counts a call toward the next timed one and returns true, unless this call is the one to
/// time: then it counts nothing and returns false (the permit's [`sample_due`] counts it and
/// times it). True without counting while nothing measures durations.
#[inline]
pub(crate) fn skip_sample() -> bool {
    if !measuring() {
        return true;
    }
    let every = EVERY.load(Ordering::Relaxed);
    SINCE_SAMPLE.with(|since| {
        let n = since.get() + 1;
        if n >= every {
            return false;
        }
        since.set(n);
        true
    })
}

/// The start of a call that was not timed.
pub(crate) const NOT_TIMED: u64 = u64::MAX;

/// Marks the start of a call timed for the histogram (with the precise clock).
const SAMPLED: u64 = 1 << 63;

const WEIGHT_BITS: u32 = 15;
const NANOS_BITS: u32 = 48;
const NANOS: u64 = (1 << NANOS_BITS) - 1;

/// A call's start as a permit keeps it: a coarse reading for slow-call detection (top bit
/// clear, whatever the clock reads), a precise one timed for the histogram ([`SAMPLED`], its
/// weight, and the reading's low 48 bits: a timed call is measured up to 39 hours), or
/// [`NOT_TIMED`] (which no weight below [`MAX_DURATION_SAMPLING`] can spell).
#[inline]
pub(crate) fn coarse_start(now: u64) -> u64 {
    now & !SAMPLED
}

/// The start of a call timed with the precise clock at `now`, counting `weight` times.
#[inline]
pub(crate) fn sampled_start(now: u64, weight: u32) -> u64 {
    SAMPLED | (u64::from(weight) << NANOS_BITS) | (now & NANOS)
}

/// `start` (timed for the histogram) read again at `now`, keeping its weight.
#[cfg(feature = "tower")]
#[inline]
pub(crate) fn sampled_again(start: u64, now: u64) -> u64 {
    (start & !NANOS) | (now & NANOS)
}

/// Whether `start` was timed for the histogram.
#[inline]
pub(crate) fn is_sampled(start: u64) -> bool {
    start != NOT_TIMED && start & SAMPLED != 0
}

/// How long a timed call took by the precise clock at `now`, and its weight.
#[inline]
pub(crate) fn sampled_took(start: u64, now: u64) -> (u64, u64) {
    let took = (now & NANOS).wrapping_sub(start & NANOS) & NANOS;
    // A clock that went back reads as a huge duration modulo 2^48: none.
    let took = if took >> (NANOS_BITS - 1) != 0 { 0 } else { took };
    let weight = (start & !SAMPLED) >> NANOS_BITS;
    (took, weight)
}

/// How long an untimed call took by the coarse clock at `now`.
#[inline]
pub(crate) fn coarse_took(start: u64, now: u64) -> u64 {
    coarse_start(now).saturating_sub(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starts_keep_their_weight_and_measure_across_the_top_bit() {
        let start = sampled_start(u64::MAX - 5, MAX_DURATION_SAMPLING);
        assert!(is_sampled(start) && start != NOT_TIMED);
        assert_eq!(
            sampled_took(start, (u64::MAX - 5).wrapping_add(10)),
            (10, u64::from(MAX_DURATION_SAMPLING))
        );
        assert_eq!(
            sampled_took(sampled_start(100, 1), 90),
            (0, 1),
            "a clock that went back"
        );
        let coarse = coarse_start(1 << 63 | 7);
        assert!(!is_sampled(coarse));
        assert_eq!(coarse_took(coarse, 1 << 63 | 12), 5);
    }
}
