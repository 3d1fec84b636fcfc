//! A bucketed time window, O(1) per call, counted in per-thread stripes.
//!
//! Buckets are one second wide (a tenth of the window when it is shorter than ten seconds).
//! Each stripe holds its own ring of buckets, two words each:
//! `epoch:16 | calls:48` and `epoch:16 | failures:24 | slow:24`, where the epoch is the
//! bucket's number modulo 2^16. Recording touches only the caller's stripe; judging sums every
//! stripe's buckets that fall in the window. A success writes only the calls word; the window
//! is "dirty" (worth judging after a success) only while a failure or slow call is in it.

use super::{Counts, Sample};
use crate::breaker::stripe::{Slot, Stripe, Stripes, update};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const TAG_SHIFT: u32 = 48;
const LOW48: u64 = (1 << TAG_SHIFT) - 1;
const HALF24: u64 = (1 << 24) - 1;

#[derive(Debug)]
pub(crate) struct TimeWindow {
    width: u64,
    buckets: u64,
    /// `generation:16 | first epoch (mod 2^48) at which no failure is in the window`.
    dirty_until: AtomicU64,
    /// `generation:16 | epoch (mod 2^48)` of the last judgement that found at least
    /// `minimum_calls` outcomes: until the epoch changes nothing expires, so a clean success
    /// can only lower the rates and need not be judged again.
    judged: AtomicU64,
}

impl TimeWindow {
    pub(crate) fn new(size: Duration) -> TimeWindow {
        let size = crate::clock::duration_nanos(size);
        let width = if size >= 10_000_000_000 {
            1_000_000_000
        } else {
            (size / 10).max(1)
        };
        TimeWindow {
            width,
            buckets: size.div_ceil(width),
            dirty_until: AtomicU64::new(0),
            judged: AtomicU64::new(u64::MAX),
        }
    }

    /// Words a stripe needs for this window.
    pub(crate) fn stripe_words(&self) -> usize {
        (self.buckets * 2) as usize
    }

    fn epoch(&self, now: u64) -> u64 {
        now / self.width
    }

    /// Records one outcome in the caller's stripe. Returns whether the window must be judged.
    #[inline]
    pub(crate) fn record(&self, stripe: &Stripe, slot: Slot, generation: u16, now: u64, sample: Sample) -> bool {
        let epoch = self.epoch(now);
        let gen_tag = u64::from(generation) + 1;
        if stripe.bucket_generation.load(Ordering::Acquire) != gen_tag {
            for word in stripe.buckets.iter() {
                update(word, slot, |_| 0);
            }
            stripe.bucket_generation.store(gen_tag, Ordering::Release);
        }
        let tag = (epoch & 0xFFFF) << TAG_SHIFT;
        let i = ((epoch % self.buckets) * 2) as usize;
        update(&stripe.buckets[i], slot, |w| {
            if w & !LOW48 == tag { w + 1 } else { tag | 1 }
        });
        if sample.is_clean() {
            return self.is_dirty(generation, epoch);
        }
        update(&stripe.buckets[i + 1], slot, |w| {
            let (f, s) = if w & !LOW48 == tag {
                ((w >> 24) & HALF24, w & HALF24)
            } else {
                (0, 0)
            };
            let f = (f + u64::from(sample.failure)).min(HALF24);
            let s = (s + u64::from(sample.slow)).min(HALF24);
            tag | (f << 24) | s
        });
        let until = (u64::from(generation) << TAG_SHIFT) | ((epoch + self.buckets) & LOW48);
        if self.dirty_until.load(Ordering::Relaxed) != until {
            self.dirty_until.store(until, Ordering::Relaxed);
        }
        true
    }

    fn epoch_tag(&self, generation: u16, now: u64) -> u64 {
        (u64::from(generation) << TAG_SHIFT) | (self.epoch(now) & LOW48)
    }

    /// Whether a judgement at `now` found the minimum of calls, with nothing expired since.
    #[inline]
    pub(crate) fn judged_in_epoch(&self, generation: u16, now: u64) -> bool {
        self.judged.load(Ordering::Relaxed) == self.epoch_tag(generation, now)
    }

    /// Notes a judgement at `now` that found at least the minimum of calls.
    pub(crate) fn mark_judged(&self, generation: u16, now: u64) {
        let tag = self.epoch_tag(generation, now);
        if self.judged.load(Ordering::Relaxed) != tag {
            self.judged.store(tag, Ordering::Relaxed);
        }
    }

    #[inline]
    fn is_dirty(&self, generation: u16, epoch: u64) -> bool {
        let d = self.dirty_until.load(Ordering::Relaxed);
        (d >> TAG_SHIFT) as u16 == generation && (epoch & LOW48) < (d & LOW48)
    }

    /// The counts of the window ending at `now`, over every stripe of `generation`.
    pub(crate) fn counts(&self, stripes: &Stripes, generation: u16, now: u64) -> Counts {
        let epoch = self.epoch(now) & 0xFFFF;
        let gen_tag = u64::from(generation) + 1;
        let in_window = |word: u64| {
            let age = (epoch as u16).wrapping_sub((word >> TAG_SHIFT) as u16) as i16;
            i64::from(age).unsigned_abs() < self.buckets
        };
        let mut c = Counts::default();
        for stripe in stripes.iter() {
            if stripe.bucket_generation.load(Ordering::Acquire) != gen_tag {
                continue;
            }
            for pair in stripe.buckets.chunks_exact(2) {
                let calls = pair[0].load(Ordering::Relaxed);
                if calls != 0 && in_window(calls) {
                    c.calls += calls & LOW48;
                }
                let bad = pair[1].load(Ordering::Relaxed);
                if bad != 0 && in_window(bad) {
                    c.failures += (bad >> 24) & HALF24;
                    c.slow_calls += bad & HALF24;
                }
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: Sample = Sample {
        failure: false,
        slow: false,
    };
    const FAIL: Sample = Sample {
        failure: true,
        slow: false,
    };
    const SEC: u64 = 1_000_000_000;

    fn setup(size: Duration) -> (TimeWindow, Stripes) {
        let w = TimeWindow::new(size);
        let s = Stripes::new(w.stripe_words());
        (w, s)
    }

    #[test]
    fn outcomes_leave_the_window_after_its_size() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let slot = Slot::current();
        let stripe = stripes.get(slot);
        assert!(w.record(stripe, slot, 0, 0, FAIL));
        assert!(
            w.record(stripe, slot, 0, 5 * SEC, OK),
            "dirty while the failure is in the window"
        );
        assert_eq!(
            w.counts(&stripes, 0, 9 * SEC),
            Counts {
                calls: 2,
                failures: 1,
                slow_calls: 0
            }
        );
        assert_eq!(
            w.counts(&stripes, 0, 10 * SEC),
            Counts {
                calls: 1,
                failures: 0,
                slow_calls: 0
            }
        );
        assert!(!w.record(stripe, slot, 0, 10 * SEC, OK), "clean once the failure left");
        assert_eq!(w.counts(&stripes, 0, 20 * SEC), Counts::default());
    }

    #[test]
    fn a_new_generation_starts_empty() {
        let (w, stripes) = setup(Duration::from_secs(60));
        let slot = Slot::current();
        let stripe = stripes.get(slot);
        w.record(stripe, slot, 3, SEC, FAIL);
        assert_eq!(w.counts(&stripes, 4, SEC), Counts::default());
        w.record(stripe, slot, 4, SEC, OK);
        assert_eq!(
            w.counts(&stripes, 4, SEC),
            Counts {
                calls: 1,
                failures: 0,
                slow_calls: 0
            }
        );
        assert!(!w.record(stripe, slot, 4, SEC, OK));
    }

    #[test]
    fn short_windows_use_tenth_buckets() {
        let (w, stripes) = setup(Duration::from_millis(500));
        let slot = Slot::current();
        let stripe = stripes.get(slot);
        w.record(stripe, slot, 0, 0, FAIL);
        assert_eq!(w.counts(&stripes, 0, 450_000_000).failures, 1);
        assert_eq!(w.counts(&stripes, 0, 500_000_000).failures, 0);
    }
}
