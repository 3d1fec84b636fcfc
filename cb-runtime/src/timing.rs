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

/// Times one call in `every` on each thread (1 times every call; 0 counts as 1), each timed
/// call counting `every` times in the histogram.
///
/// ```
/// cb_runtime::sample_durations(1); // every call, e.g. for a test that asserts exact counts
/// # cb_runtime::sample_durations(cb_runtime::DEFAULT_DURATION_SAMPLING);
/// ```
pub fn sample_durations(every: u32) {
    EVERY.store(every.max(1), Ordering::Relaxed);
}

#[inline]
pub(crate) fn measuring() -> bool {
    MEASURE.load(Ordering::Relaxed)
}

/// Whether this call is one to time for the histogram.
#[inline]
pub(crate) fn sample_due() -> bool {
    if !measuring() {
        return false;
    }
    let every = EVERY.load(Ordering::Relaxed);
    SINCE_SAMPLE.with(|since| {
        let n = since.get() + 1;
        let due = n >= every;
        since.set(if due { 0 } else { n });
        due
    })
}

/// How many calls a timed call stands for.
#[inline]
pub(crate) fn sample_weight() -> u64 {
    u64::from(EVERY.load(Ordering::Relaxed))
}

/// The start of a call that was not timed.
pub(crate) const NOT_TIMED: u64 = u64::MAX;

/// Marks the start of a call timed for the histogram (with the precise clock).
pub(crate) const SAMPLED: u64 = 1 << 63;

/// A call's start as a permit keeps it: coarse (for slow-call detection), precise and marked
/// [`SAMPLED`], or [`NOT_TIMED`].
#[inline]
pub(crate) fn is_sampled(start: u64) -> bool {
    start != NOT_TIMED && start & SAMPLED != 0
}
