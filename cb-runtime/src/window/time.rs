//! A bucketed time window, O(1) per call, counted in per-thread stripes.
//!
//! Buckets are one second wide (a tenth of the window when it is shorter than ten seconds).
//! Each stripe holds its own ring of buckets, two words each:
//! `epoch:16 | calls:48` and `epoch:16 | failures:24 | slow:24`, where the epoch is the
//! bucket's number modulo 2^16. Recording touches only the caller's stripe. A success writes
//! only the calls word; the window is "dirty" (worth judging after a success) only while a
//! failure or slow call is in it.
//!
//! Judging must not cost a walk over every bucket: the owner of an exclusive stripe keeps the
//! stripe's totals over the window beside its buckets (`Stripe::sums`), subtracting a bucket as
//! it leaves the window. A judgement then reads three words per stripe in use, and walks only
//! the buckets that left the window since the stripe's owner last recorded (none on a stripe
//! that records every second). The shared overflow stripe keeps no totals and is walked.
//!
//! Finding the bucket of a call must not cost two divisions either: the owner of an exclusive
//! stripe notes where its current bucket starts, after the buckets, and a call within the same
//! bucket's span reads that note instead.

use super::{Counts, Sample};
use crate::breaker::stripe::{Slot, Stripe, Stripes, add, update};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const TAG_SHIFT: u32 = 48;
const LOW48: u64 = (1 << TAG_SHIFT) - 1;
const HALF24: u64 = (1 << 24) - 1;
const LOW32: u64 = (1 << 32) - 1;
/// `Stripe::sums`: the epoch the totals are valid at, calls, `failures << 32 | slow`.
const SINCE: usize = 0;
const CALLS: usize = 1;
const BAD: usize = 2;
/// Words after a stripe's buckets: the owner's note of its current bucket (see `locate`).
const NOTE_WORDS: usize = 3;

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

    /// Words a stripe needs for this window: the buckets, then the owner's note of the
    /// current bucket (see [`locate`](Self::locate)).
    pub(crate) fn stripe_words(&self) -> usize {
        (self.buckets * 2) as usize + NOTE_WORDS
    }

    /// The words of a stripe's buckets (without the note after them).
    fn bucket_words(&self, stripe: &Stripe) -> usize {
        stripe.buckets.len() - NOTE_WORDS
    }

    /// The epoch of `now` and the index of its bucket's first word. The owner of an exclusive
    /// stripe notes the epoch's start, number and index after the buckets, so a call in the
    /// same epoch as its thread's previous one costs a subtraction, not two divisions. All
    /// zeros (a new or cleared stripe) is a true note: epoch 0 starts at 0 in bucket 0.
    #[inline]
    fn locate(&self, stripe: &Stripe, now: u64) -> (u64, usize) {
        let note = &stripe.buckets[self.bucket_words(stripe)..];
        if stripe.exclusive && now.wrapping_sub(note[0].load(Ordering::Relaxed)) < self.width {
            return (
                note[1].load(Ordering::Relaxed),
                note[2].load(Ordering::Relaxed) as usize,
            );
        }
        let epoch = self.epoch(now);
        let i = ((epoch % self.buckets) * 2) as usize;
        if stripe.exclusive {
            note[0].store(epoch * self.width, Ordering::Relaxed);
            note[1].store(epoch, Ordering::Relaxed);
            note[2].store(i as u64, Ordering::Relaxed);
        }
        (epoch, i)
    }

    fn epoch(&self, now: u64) -> u64 {
        now / self.width
    }

    /// Records one outcome in the caller's stripe. Returns whether the window must be judged.
    #[inline]
    pub(crate) fn record(&self, stripe: &Stripe, slot: Slot, generation: u16, now: u64, sample: Sample) -> bool {
        let (epoch, i) = self.locate(stripe, now);
        let gen_tag = u64::from(generation) + 1;
        let held = stripe.bucket_generation.load(Ordering::Acquire);
        if held != gen_tag {
            if !stripe.exclusive && held != 0 && super::held_by_newer(generation, (held - 1) as u16) {
                // A late outcome of an old period (another thread has recorded a newer one in
                // the shared stripe; an owner's own outcomes come in order) must not clear the
                // newer period's buckets.
                return false;
            }
            self.clear(stripe, slot, epoch);
            stripe.bucket_generation.store(gen_tag, Ordering::Release);
        } else if stripe.exclusive {
            let since = stripe.sums[SINCE].load(Ordering::Relaxed);
            if since < epoch {
                self.advance(stripe, slot, since, epoch);
            }
        }
        let tag = (epoch & 0xFFFF) << TAG_SHIFT;
        update(&stripe.buckets[i], slot, |w| {
            if w & !LOW48 == tag { w + 1 } else { tag | 1 }
        });
        if stripe.exclusive {
            add(&stripe.sums[CALLS], 1, slot);
        }
        if sample.is_clean() {
            return self.is_dirty(generation, epoch);
        }
        let bad = |w: u64| {
            let (f, s) = if w & !LOW48 == tag {
                ((w >> 24) & HALF24, w & HALF24)
            } else {
                (0, 0)
            };
            let f = (f + u64::from(sample.failure)).min(HALF24);
            let s = (s + u64::from(sample.slow)).min(HALF24);
            tag | (f << 24) | s
        };
        if stripe.exclusive {
            // The owner alone writes: the totals take exactly what the bucket took.
            let word = &stripe.buckets[i + 1];
            let old = word.load(Ordering::Relaxed);
            let new = bad(old);
            word.store(new, Ordering::Relaxed);
            let before = if old & !LOW48 == tag { old & LOW48 } else { 0 };
            add(&stripe.sums[BAD], bad_total(new) - bad_total(before), slot);
        } else {
            update(&stripe.buckets[i + 1], slot, bad);
        }
        let until = (u64::from(generation) << TAG_SHIFT) | ((epoch + self.buckets) & LOW48);
        if self.dirty_until.load(Ordering::Relaxed) != until {
            self.dirty_until.store(until, Ordering::Relaxed);
        }
        true
    }

    /// Empties a stripe for a new period starting at `epoch`.
    #[cold]
    fn clear(&self, stripe: &Stripe, slot: Slot, epoch: u64) {
        for word in stripe.buckets.iter() {
            update(word, slot, |_| 0);
        }
        stripe.sums[CALLS].store(0, Ordering::Relaxed);
        stripe.sums[BAD].store(0, Ordering::Relaxed);
        stripe.sums[SINCE].store(epoch, Ordering::Relaxed);
    }

    /// Moves an exclusive stripe's totals from epoch `since` to the later `epoch`: the buckets
    /// that left the window in between leave the totals (the owner only).
    #[cold]
    fn advance(&self, stripe: &Stripe, slot: Slot, since: u64, epoch: u64) {
        if epoch - since >= self.buckets {
            // Everything left; clearing the buckets too keeps every non-empty bucket counted in
            // the totals (no stale tag can match a later epoch's by wrapping).
            self.clear(stripe, slot, epoch);
            return;
        }
        let (calls, bad) = self.expired(stripe, since, epoch);
        let less =
            |word: &AtomicU64, n: u64| word.store(word.load(Ordering::Relaxed).saturating_sub(n), Ordering::Relaxed);
        less(&stripe.sums[CALLS], calls);
        let sums = stripe.sums[BAD].load(Ordering::Relaxed);
        stripe.sums[BAD].store(sub_bad(sums, bad), Ordering::Relaxed);
        stripe.sums[SINCE].store(epoch, Ordering::Relaxed);
    }

    /// What the buckets that leave the window between epochs `since` and `epoch` hold:
    /// (calls, `failures << 32 | slow`). Reaching epoch `e` drops the bucket of `e - buckets`.
    fn expired(&self, stripe: &Stripe, since: u64, epoch: u64) -> (u64, u64) {
        let (mut calls, mut bad) = (0u64, 0u64);
        for e in (since + 1)..=epoch {
            let Some(old) = e.checked_sub(self.buckets) else {
                continue;
            };
            let tag = (old & 0xFFFF) << TAG_SHIFT;
            let i = ((e % self.buckets) * 2) as usize;
            let w = stripe.buckets[i].load(Ordering::Relaxed);
            if w & !LOW48 == tag {
                calls += w & LOW48;
            }
            let w = stripe.buckets[i + 1].load(Ordering::Relaxed);
            if w & !LOW48 == tag {
                bad += bad_total(w & LOW48);
            }
        }
        (calls, bad)
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
        let epoch = self.epoch(now);
        let gen_tag = u64::from(generation) + 1;
        let mut c = Counts::default();
        for stripe in stripes.iter() {
            if stripe.bucket_generation.load(Ordering::Acquire) != gen_tag {
                continue;
            }
            if !stripe.exclusive {
                self.walk(stripe, epoch, &mut c);
                continue;
            }
            let since = stripe.sums[SINCE].load(Ordering::Relaxed);
            let mut calls = stripe.sums[CALLS].load(Ordering::Relaxed);
            let mut bad = stripe.sums[BAD].load(Ordering::Relaxed);
            if since < epoch {
                if epoch - since >= self.buckets {
                    continue;
                }
                // Read while the owner may write: under concurrency a judgement is as
                // approximate as any read of counts still moving, never below zero.
                let (gone_calls, gone_bad) = self.expired(stripe, since, epoch);
                calls = calls.saturating_sub(gone_calls);
                bad = sub_bad(bad, gone_bad);
            }
            c.calls += calls;
            c.failures += bad >> 32;
            c.slow_calls += bad & LOW32;
        }
        c
    }

    /// Adds every bucket of `stripe` in the window ending at `epoch` to `c`.
    fn walk(&self, stripe: &Stripe, epoch: u64, c: &mut Counts) {
        let epoch = epoch & 0xFFFF;
        let in_window = |word: u64| {
            let age = (epoch as u16).wrapping_sub((word >> TAG_SHIFT) as u16) as i16;
            i64::from(age).unsigned_abs() < self.buckets
        };
        for pair in stripe.buckets[..self.bucket_words(stripe)].chunks_exact(2) {
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
}

/// A bucket's `failures:24 | slow:24` as the totals keep them: `failures << 32 | slow`.
fn bad_total(low48: u64) -> u64 {
    (((low48 >> 24) & HALF24) << 32) | (low48 & HALF24)
}

/// `a - b` field by field (`failures << 32 | slow`), never below zero.
fn sub_bad(a: u64, b: u64) -> u64 {
    ((a >> 32).saturating_sub(b >> 32) << 32) | (a & LOW32).saturating_sub(b & LOW32)
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
    fn the_owners_totals_agree_with_a_walk_of_every_bucket() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let slot = Slot::current();
        let stripe = stripes.get(slot);
        assert!(stripe.exclusive);
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut now = 0;
        for _ in 0..20_000 {
            let r = next();
            now += match r % 8 {
                0 => SEC,
                1 => (r >> 8) % (3 * SEC),
                2 if r % 64 == 2 => 25 * SEC,
                _ => 0,
            };
            let sample = Sample {
                failure: r & 0x100 != 0,
                slow: r & 0x200 != 0,
            };
            w.record(stripe, slot, 0, now, sample);
            let mut walked = Counts::default();
            w.walk(stripe, w.epoch(now), &mut walked);
            assert_eq!(w.counts(&stripes, 0, now), walked, "at {now}");
            let later = now + (r >> 16) % (12 * SEC);
            let mut walked = Counts::default();
            w.walk(stripe, w.epoch(later), &mut walked);
            let ahead = w.counts(&stripes, 0, later);
            if later / SEC - now / SEC < 10 {
                assert_eq!(ahead, walked, "judged {later} ahead of the owner at {now}");
            } else {
                assert_eq!(ahead, Counts::default(), "everything left the window by {later}");
            }
        }
    }

    #[test]
    fn a_clock_that_goes_back_finds_its_bucket_again() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let slot = Slot::current();
        let stripe = stripes.get(slot);
        w.record(stripe, slot, 0, 5 * SEC + 10, FAIL);
        w.record(stripe, slot, 0, 5 * SEC + 20, OK);
        w.record(stripe, slot, 0, 3 * SEC, OK);
        w.record(stripe, slot, 0, 3 * SEC + 1, FAIL);
        w.record(stripe, slot, 0, 5 * SEC + 30, OK);
        let mut walked = Counts::default();
        w.walk(stripe, w.epoch(5 * SEC), &mut walked);
        assert_eq!(
            walked,
            Counts {
                calls: 5,
                failures: 2,
                slow_calls: 0
            }
        );
        assert_eq!(
            w.counts(&stripes, 0, 12 * SEC),
            walked,
            "the 3 s bucket is in the window until 13 s"
        );
        assert_eq!(
            w.counts(&stripes, 0, 13 * SEC),
            Counts {
                calls: 3,
                failures: 1,
                slow_calls: 0
            }
        );
    }

    #[test]
    fn a_late_outcome_of_an_old_period_leaves_the_shared_stripe_alone() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let shared = Slot::overflow();
        let stripe = stripes.get(shared);
        w.record(stripe, shared, 2, 5 * SEC, FAIL);
        assert!(!w.record(stripe, shared, 1, 5 * SEC, OK), "not judged");
        assert_eq!(
            w.counts(&stripes, 2, 6 * SEC),
            Counts {
                calls: 1,
                failures: 1,
                slow_calls: 0
            },
            "the newer period's failure is still counted"
        );
    }

    #[test]
    fn a_shared_stripe_untouched_while_the_generation_wrapped_is_cleared_for_the_new_period() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let shared = Slot::overflow();
        let stripe = stripes.get(shared);
        w.record(stripe, shared, 40_000, 5 * SEC, FAIL);
        let now = 40_000u16.wrapping_add(40_000);
        assert!(w.record(stripe, shared, now, 6 * SEC, FAIL), "judged");
        assert_eq!(w.counts(&stripes, now, 6 * SEC).calls, 1, "only the new period's call");
    }

    #[test]
    fn the_shared_stripe_is_walked() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let shared = Slot::overflow();
        let stripe = stripes.get(shared);
        assert!(!stripe.exclusive);
        w.record(stripe, shared, 0, 0, FAIL);
        w.record(stripe, shared, 0, SEC, OK);
        let c = w.counts(&stripes, 0, 9 * SEC);
        assert_eq!((c.calls, c.failures), (2, 1));
        assert_eq!(w.counts(&stripes, 0, 10 * SEC).failures, 0);
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
