//! Whether protected calls are timed for the call-duration histogram.
//!
//! Timing costs two clock reads per call, so it is off until something asks for durations
//! (registering the Prometheus collector does). Slow-call detection times calls regardless.

use std::sync::atomic::{AtomicBool, Ordering};

static MEASURE: AtomicBool = AtomicBool::new(false);

/// Turns call-duration measurement on or off for every breaker.
pub fn measure_durations(on: bool) {
    MEASURE.store(on, Ordering::Relaxed);
}

#[inline]
pub(crate) fn measuring() -> bool {
    MEASURE.load(Ordering::Relaxed)
}

/// The start of a call that was not timed.
pub(crate) const NOT_TIMED: u64 = u64::MAX;
