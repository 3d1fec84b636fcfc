//! Time sources for breakers: a cheap monotonic clock by default, a manual one for tests.
//!
//! Breakers read time only where their configuration needs it (open deadlines, time windows,
//! slow-call detection), in nanoseconds from an arbitrary origin.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A source of monotonic time in nanoseconds, for clocks other than the two built in.
pub trait ClockSource: Send + Sync + fmt::Debug {
    /// Nanoseconds since an arbitrary, fixed origin; never decreasing.
    fn now_nanos(&self) -> u64;
}

/// The clock a breaker reads.
///
/// `Clock::default()` is the monotonic clock: on Linux `CLOCK_MONOTONIC_COARSE`, which costs a
/// few nanoseconds and has a resolution of a few milliseconds (fine for open timeouts, second
/// buckets and slow-call thresholds). Tests use [`ManualClock`]:
///
/// ```
/// use cb_runtime::{Clock, ManualClock};
/// use std::time::Duration;
///
/// let manual = ManualClock::new();
/// let clock = Clock::from(manual.clone());
/// manual.advance(Duration::from_secs(30));
/// assert_eq!(clock.now_nanos(), 30_000_000_000);
/// ```
#[derive(Clone, Debug, Default)]
pub struct Clock {
    kind: ClockKind,
}

// A clock is only read: a panic cannot leave it half-changed, so a breaker (and whatever holds
// one) crosses `catch_unwind` without `AssertUnwindSafe`, whatever `ClockSource` it reads.
impl std::panic::UnwindSafe for Clock {}
impl std::panic::RefUnwindSafe for Clock {}

#[derive(Clone, Debug, Default)]
enum ClockKind {
    #[default]
    Monotonic,
    Manual(ManualClock),
    Custom(Arc<dyn ClockSource>),
}

impl Clock {
    /// The default monotonic clock.
    pub fn monotonic() -> Self {
        Self::default()
    }

    /// A clock backed by any [`ClockSource`].
    pub fn custom(source: Arc<dyn ClockSource>) -> Self {
        Self {
            kind: ClockKind::Custom(source),
        }
    }

    /// Nanoseconds since this clock's origin.
    #[inline]
    pub fn now_nanos(&self) -> u64 {
        match &self.kind {
            ClockKind::Monotonic => monotonic_nanos(),
            ClockKind::Manual(manual) => manual.now_nanos(),
            ClockKind::Custom(source) => source.now_nanos(),
        }
    }
}

impl Clock {
    /// Nanoseconds since this clock's origin, at full resolution: for the monotonic clock
    /// `CLOCK_MONOTONIC` (same origin as the coarse reading, about four times its cost).
    #[inline]
    pub(crate) fn precise_nanos(&self) -> u64 {
        match &self.kind {
            ClockKind::Monotonic => precise_monotonic_nanos(),
            ClockKind::Manual(manual) => manual.now_nanos(),
            ClockKind::Custom(source) => source.now_nanos(),
        }
    }
}

impl From<ManualClock> for Clock {
    fn from(manual: ManualClock) -> Self {
        Self {
            kind: ClockKind::Manual(manual),
        }
    }
}

/// A clock that moves only when told to; clones share the same time.
///
/// ```
/// use cb_runtime::ManualClock;
/// use std::time::Duration;
///
/// let clock = ManualClock::new();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(clock.elapsed(), Duration::from_millis(1500));
/// ```
#[derive(Clone, Debug, Default)]
pub struct ManualClock {
    nanos: Arc<AtomicU64>,
}

impl ManualClock {
    /// A manual clock at time zero.
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward; it stops at its end (`u64::MAX` nanoseconds, 584 years) rather
    /// than wrap around to an earlier time.
    pub fn advance(&self, by: Duration) {
        let by = duration_nanos(by);
        let _ = self
            .nanos
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| Some(now.saturating_add(by)));
    }

    /// The time since the clock's origin.
    pub fn elapsed(&self) -> Duration {
        Duration::from_nanos(self.now_nanos())
    }

    fn now_nanos(&self) -> u64 {
        self.nanos.load(Ordering::Acquire)
    }
}

/// A duration in nanoseconds, saturating at `u64::MAX` (584 years).
pub(crate) fn duration_nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

#[cfg(target_os = "linux")]
fn monotonic_nanos() -> u64 {
    linux_clock(libc::CLOCK_MONOTONIC_COARSE)
}

#[cfg(target_os = "linux")]
fn precise_monotonic_nanos() -> u64 {
    linux_clock(libc::CLOCK_MONOTONIC)
}

#[cfg(target_os = "linux")]
#[inline]
fn linux_clock(id: libc::clockid_t) -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    #[allow(unsafe_code)]
    // SAFETY: `ts` is a valid, writable timespec and both monotonic clocks exist on every
    // Linux since 2.6.32; clock_gettime writes only into `ts`.
    let rc = unsafe { libc::clock_gettime(id, &mut ts) };
    if rc != 0 {
        return fallback_nanos();
    }
    (ts.tv_sec as u64)
        .wrapping_mul(1_000_000_000)
        .wrapping_add(ts.tv_nsec as u64)
}

#[cfg(not(target_os = "linux"))]
fn monotonic_nanos() -> u64 {
    fallback_nanos()
}

#[cfg(not(target_os = "linux"))]
fn precise_monotonic_nanos() -> u64 {
    fallback_nanos()
}

fn fallback_nanos() -> u64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    duration_nanos(ORIGIN.get_or_init(Instant::now).elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_clock_does_not_go_back() {
        let clock = Clock::monotonic();
        let a = clock.now_nanos();
        std::thread::sleep(Duration::from_millis(10));
        let b = clock.now_nanos();
        assert!(b > a, "{b} <= {a}");
    }

    #[test]
    fn manual_clock_clones_share_time() {
        let manual = ManualClock::new();
        let clock = Clock::from(manual.clone());
        manual.advance(Duration::from_secs(2));
        assert_eq!(clock.now_nanos(), 2_000_000_000);
    }
}
