//! A bucketed time window, O(1) per call, counted in per-thread stripes.
//!
//! Buckets are one second wide (a tenth of the window when it is shorter than ten seconds;
//! a little under a second when the window is not a whole number of seconds).
//! Each stripe holds its own [`Ring`] of buckets, allocated on the stripe's first windowed
//! outcome, and the totals over them; one thread at a time writes a ring (the owner of an
//! exclusive stripe, or the holder of the shared overflow stripe's lock). A success adds to
//! its bucket and the totals; the window is "dirty" (worth judging after a success) only while
//! a failure or slow call is in it.
//!
//! Buckets carry no time of their own: the writer empties the buckets that leave the window
//! as it moves to a later bucket, so a ring holds exactly the buckets of the window ending at
//! its `since` epoch. Judging reads each stripe's totals and subtracts only the buckets that
//! left the window since that stripe's writer last recorded (none on a stripe that records
//! every second): no walk over every bucket.
//!
//! Finding the bucket of a call must not cost two divisions either: the writer notes where
//! its current bucket starts, and a call within the same bucket's span reads that note instead.

use super::ring::{MOVING, Ring};
use super::{Counts, Sample};
use crate::breaker::stripe::{Stripe, Stripes};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const TAG_SHIFT: u32 = 48;
const LOW48: u64 = (1 << TAG_SHIFT) - 1;

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
    /// Outcomes with a failure or a slow call that may skip judgement: see [`Budget`].
    budget: OnceLock<Box<Budget>>,
    /// The full generation of the last period begun (see [`TimeWindow::begin`]).
    begun: AtomicU64,
}

/// How many outcomes that fail or are slow the window can still take, as found by the last
/// judgement, in this bucket's span, of a window with the minimum of calls: none of them can
/// reach a threshold (rates only rise by one such outcome each, and nothing leaves the window
/// before the span ends), so each takes one from the budget instead of reading every stripe.
/// `epoch (low 32 bits) : 32 | generation : 16 | left : 16`, valid with the full epoch of
/// `judged`. On a cache line of its own: failures write it, every call reads `judged`.
#[derive(Debug)]
#[repr(align(64))]
struct Budget(AtomicU64);

const BUDGET_CAP: u64 = 0xFFFF;

impl TimeWindow {
    pub(crate) fn new(size: Duration) -> TimeWindow {
        let size = crate::clock::duration_nanos(size);
        // Whole buckets never span more than the window (10.5 s is 11 buckets of 0.95 s, not
        // 11 of 1 s): an outcome may leave up to a bucket early, never after the window's size.
        let buckets = if size >= 10_000_000_000 {
            size.div_ceil(1_000_000_000)
        } else {
            10
        };
        TimeWindow {
            width: (size / buckets).max(1),
            buckets,
            dirty_until: AtomicU64::new(0),
            judged: AtomicU64::new(u64::MAX),
            budget: OnceLock::new(),
            begun: AtomicU64::new(0),
        }
    }

    /// The epoch of `now` and the index of its bucket. The writer notes the epoch's start,
    /// number and index, so a call in the same epoch as the previous one costs a subtraction,
    /// not two divisions. All zeros (a new ring) is a true note: epoch 0 starts at 0 in bucket 0.
    #[inline]
    fn locate(&self, ring: &Ring, now: u64) -> (u64, usize) {
        let note = &ring.note;
        if now.wrapping_sub(note[0].load(Ordering::Relaxed)) < self.width {
            return (
                note[1].load(Ordering::Relaxed),
                note[2].load(Ordering::Relaxed) as usize,
            );
        }
        let epoch = self.epoch(now);
        let i = epoch % self.buckets;
        note[0].store(epoch * self.width, Ordering::Relaxed);
        note[1].store(epoch, Ordering::Relaxed);
        note[2].store(i, Ordering::Relaxed);
        (epoch, i as usize)
    }

    fn epoch(&self, now: u64) -> u64 {
        now / self.width
    }

    /// Period `generation` (the breaker's full generation) begins, at every transition: every
    /// ring, the dirty mark and the judgement (with its budget) of an older period are let go (a ring starts over on its next
    /// outcome). Tags then never trail the breaker by more than the transitions racing with
    /// this one, so their 16 bits can neither look ahead of the period in force nor alias it;
    /// and outcomes of this period recorded before this call are kept.
    pub(crate) fn begin(&self, stripes: &Stripes, generation: u64) {
        if !super::begin_period(&self.begun, generation) {
            return;
        }
        let mine = generation as u16;
        // This period's or a newer one's.
        let keep = |held: u16| held == mine || super::held_by_newer(mine, held);
        // A newer period's beginning moves `begun` on first: once it has, this one is over.
        let current = || self.begun.load(Ordering::Acquire) == generation;
        stripes.for_each(|stripe| {
            if let Some(ring) = stripe.ring.get() {
                super::let_go(&ring.generation, 0, |h| h == 0 || keep((h - 1) as u16), current);
            }
        });
        // A judgement of an older period (and with it the budget it granted) is let go too.
        let tagged = |none: u64| move |w: u64| w == none || keep((w >> TAG_SHIFT) as u16);
        super::let_go(&self.judged, u64::MAX, tagged(u64::MAX), current);
        super::let_go(&self.dirty_until, 0, tagged(0), current);
    }

    /// Records one outcome in the caller's stripe. Returns whether the window must be judged.
    #[inline]
    pub(crate) fn record(&self, stripe: &Stripe, generation: u16, now: u64, sample: Sample) -> bool {
        let ring = stripe.ring.get_or_init(|| Box::new(Ring::new(self.buckets as usize)));
        let _locked = (!stripe.exclusive).then(|| ring.lock());
        let (epoch, i) = self.locate(ring, now);
        let gen_tag = u64::from(generation) + 1;
        let held = ring.generation.load(Ordering::Relaxed);
        if held != gen_tag {
            if held != 0 && super::held_by_newer(generation, (held - 1) as u16) {
                // A late outcome of an old period (the ring already counts a newer one) must
                // not empty the newer period's buckets.
                return false;
            }
            ring.moving();
            ring.empty_all();
            ring.moved(epoch);
            ring.generation.store(gen_tag, Ordering::Release);
        } else {
            let since = ring.since();
            if since < epoch {
                self.advance(ring, since, epoch);
            } else if since - epoch >= self.buckets {
                // The clock went back past the window: the outcome counts in the totals only.
                return false;
            }
        }
        ring.add(i, sample.failure, sample.slow);
        if sample.is_clean() {
            return self.is_dirty(generation, epoch);
        }
        self.dirty_for(generation, epoch + self.buckets);
        true
    }

    /// Marks the window of period `generation` dirty until epoch `until`, never earlier than a
    /// mark of the same period already says: an outcome counted with an older reading of the
    /// clock (read before another thread's, counted after it) must not end the span before the
    /// other thread's failure leaves the window. A newer period's mark is left alone.
    #[inline]
    fn dirty_for(&self, generation: u16, until: u64) {
        let until = (u64::from(generation) << TAG_SHIFT) | (until & LOW48);
        let mut d = self.dirty_until.load(Ordering::Relaxed);
        loop {
            let held = (d >> TAG_SHIFT) as u16;
            let covered = if held == generation {
                d & LOW48 >= until & LOW48
            } else {
                // 0: never marked (a mark ends at least one window after epoch 0).
                d != 0 && super::held_by_newer(generation, held)
            };
            if covered {
                return;
            }
            match self
                .dirty_until
                .compare_exchange_weak(d, until, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return,
                Err(now) => d = now,
            }
        }
    }

    /// Counts a success in the owner's ring when nothing else is to be done: the ring counts
    /// period `generation`, `now` falls in the bucket of the ring's last outcome (no bucket
    /// leaves the window), and there is nothing to judge (no failure or slow call in the
    /// window, or a judgement in this bucket's span that found the minimum of calls: a success
    /// can only lower the rates then). False, having counted nothing, otherwise.
    #[inline(always)]
    pub(crate) fn quiet_success(&self, stripe: &Stripe, generation: u16, now: impl FnOnce() -> u64) -> bool {
        let Some(ring) = stripe.ring.get() else {
            return false;
        };
        let note = &ring.note;
        let epoch = note[1].load(Ordering::Relaxed);
        if ring.generation.load(Ordering::Relaxed) != u64::from(generation) + 1
            || ring.since() != epoch
            || (self.is_dirty(generation, epoch) && !self.judged_at(generation, epoch))
            || now().wrapping_sub(note[0].load(Ordering::Relaxed)) >= self.width
        {
            return false;
        }
        ring.add(note[2].load(Ordering::Relaxed) as usize, false, false);
        true
    }

    /// Moves a ring from epoch `since` to the later `epoch`: the buckets that left the window
    /// in between are emptied and leave the totals.
    #[cold]
    fn advance(&self, ring: &Ring, since: u64, epoch: u64) {
        ring.moving();
        if epoch - since >= self.buckets {
            ring.empty_all();
        } else {
            let mut i = ((since + 1) % self.buckets) as usize;
            for _ in since..epoch {
                ring.empty(i);
                i = if i + 1 == ring.len() { 0 } else { i + 1 };
            }
        }
        ring.moved(epoch);
        // A judgement of an earlier bucket span counted what just left: an outcome whose clock
        // reading is still in that span (read before another thread's, or the coarse clock
        // behind the precise one) must be judged on what is left, not skip on its budget or,
        // a success, on its mark.
        let judged = self.judged.load(Ordering::Relaxed);
        if judged != u64::MAX && judged & LOW48 < epoch & LOW48 {
            let _ = self
                .judged
                .compare_exchange(judged, u64::MAX, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    fn epoch_tag(&self, generation: u16, now: u64) -> u64 {
        (u64::from(generation) << TAG_SHIFT) | (self.epoch(now) & LOW48)
    }

    /// Whether a judgement at `now` found the minimum of calls, with nothing expired since.
    #[inline]
    pub(crate) fn judged_in_epoch(&self, generation: u16, now: u64) -> bool {
        self.judged.load(Ordering::Relaxed) == self.epoch_tag(generation, now)
    }

    /// [`judged_in_epoch`](Self::judged_in_epoch) by epoch.
    #[inline]
    fn judged_at(&self, generation: u16, epoch: u64) -> bool {
        self.judged.load(Ordering::Relaxed) == (u64::from(generation) << TAG_SHIFT) | (epoch & LOW48)
    }

    /// Forgets the last judgement: the thresholds changed, and a success in this bucket may
    /// reach a lowered one.
    pub(crate) fn forget_judgement(&self) {
        self.judged.store(u64::MAX, Ordering::Relaxed);
    }

    /// Notes a judgement at `now` that found at least the minimum of calls.
    pub(crate) fn mark_judged(&self, generation: u16, now: u64) {
        let tag = self.epoch_tag(generation, now);
        if self.judged.load(Ordering::Relaxed) != tag {
            self.judged.store(tag, Ordering::Relaxed);
        }
    }

    fn budget_tag(generation: u16, epoch: u64) -> u64 {
        ((epoch & 0xFFFF_FFFF) << 32) | (u64::from(generation) << 16)
    }

    /// Takes one from the budget of the judgement in `now`'s bucket span; false (taking
    /// nothing) when there is no such budget left: the outcome must be judged.
    #[inline]
    pub(crate) fn take_budget(&self, generation: u16, now: u64) -> bool {
        let epoch = self.epoch(now);
        if !self.judged_at(generation, epoch) {
            return false;
        }
        let Some(budget) = self.budget.get() else {
            return false;
        };
        let tag = Self::budget_tag(generation, epoch);
        // Release: a judgement that reads this take's word (see `budget_seen`) then reads the
        // outcome it skipped for.
        budget
            .0
            .fetch_update(Ordering::Release, Ordering::Relaxed, |b| {
                (b & !BUDGET_CAP == tag && b & BUDGET_CAP != 0).then(|| b - 1)
            })
            .is_ok()
    }

    /// The budget word as a judgement finds it before it reads the counts: what it may
    /// [`grant`](Self::grant) over.
    #[inline]
    pub(crate) fn budget_seen(&self) -> u64 {
        self.budget.get().map_or(0, |b| b.0.load(Ordering::Acquire))
    }

    /// Sets the budget after a judgement at `now` that found the minimum of calls: `left`
    /// outcomes that fail or are slow may follow unjudged in this bucket's span. Only over the
    /// word `seen` before the counts were read: once an outcome has taken from the budget or
    /// another judgement granted one since, these counts may lack outcomes that skipped
    /// judgement (a judge descheduled between its read and its grant would hand out the room
    /// they used again: tens of failures late). It then grants nothing; the next one judges.
    pub(crate) fn grant(&self, generation: u16, now: u64, left: u64, seen: u64) {
        let budget = self.budget.get_or_init(|| Box::new(Budget(AtomicU64::new(0))));
        let tag = Self::budget_tag(generation, self.epoch(now));
        let _ = budget
            .0
            .compare_exchange(seen, tag | left.min(BUDGET_CAP), Ordering::Relaxed, Ordering::Relaxed);
    }

    #[inline]
    fn is_dirty(&self, generation: u16, epoch: u64) -> bool {
        let d = self.dirty_until.load(Ordering::Relaxed);
        (d >> TAG_SHIFT) as u16 == generation && (epoch & LOW48) < (d & LOW48)
    }

    /// The counts of the window ending at `now`, over every stripe of `generation`.
    pub(crate) fn counts(&self, stripes: &Stripes, generation: u16, now: u64) -> Counts {
        self.counts_and_writers(stripes, generation, now).0
    }

    /// [`counts`](Self::counts), and how many stripes hold outcomes of `generation`.
    pub(crate) fn counts_and_writers(&self, stripes: &Stripes, generation: u16, now: u64) -> (Counts, u64) {
        let epoch = self.epoch(now);
        let gen_tag = u64::from(generation) + 1;
        let mut c = Counts::default();
        let mut writers = 0;
        stripes.for_each(|stripe| {
            let Some(ring) = stripe.ring.get() else {
                return;
            };
            if ring.generation.load(Ordering::Acquire) != gen_tag {
                return;
            }
            let one = ring.read(|ring, t| self.in_window(ring, t, epoch));
            c.calls += one.calls;
            c.failures += one.failures;
            c.slow_calls += one.slow_calls;
            writers += 1;
        });
        (c, writers)
    }

    /// A ring's counts in the window ending at `epoch`, from its totals `t`.
    fn in_window(&self, ring: &Ring, t: super::ring::Totals, epoch: u64) -> Counts {
        if t.since == MOVING || (t.since < epoch && epoch - t.since >= self.buckets) {
            return Counts::default();
        }
        let mut c = Counts {
            calls: t.calls,
            failures: t.failures,
            slow_calls: t.slow,
        };
        if t.since < epoch {
            let mut i = ((t.since + 1) % self.buckets) as usize;
            for _ in t.since..epoch {
                let gone = ring.bucket(i);
                c.calls = c.calls.saturating_sub(gone.calls);
                c.failures = c.failures.saturating_sub(gone.failures);
                c.slow_calls = c.slow_calls.saturating_sub(gone.slow);
                i = if i + 1 == ring.len() { 0 } else { i + 1 };
            }
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::breaker::stripe::Slot;
    use crate::window::counts;

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
        (TimeWindow::new(size), Stripes::new())
    }

    #[test]
    fn outcomes_leave_the_window_after_its_size() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        assert!(w.record(stripe, 0, 0, FAIL));
        assert!(
            w.record(stripe, 0, 5 * SEC, OK),
            "dirty while the failure is in the window"
        );
        assert_eq!(w.counts(&stripes, 0, 9 * SEC), counts(2, 1, 0));
        assert_eq!(w.counts(&stripes, 0, 10 * SEC), counts(1, 0, 0));
        assert!(!w.record(stripe, 0, 10 * SEC, OK), "clean once the failure left");
        assert_eq!(w.counts(&stripes, 0, 20 * SEC), Counts::default());
    }

    #[test]
    fn a_new_generation_starts_empty() {
        let (w, stripes) = setup(Duration::from_secs(60));
        let stripe = stripes.get(Slot::current());
        w.record(stripe, 3, SEC, FAIL);
        assert_eq!(w.counts(&stripes, 4, SEC), Counts::default());
        w.record(stripe, 4, SEC, OK);
        assert_eq!(w.counts(&stripes, 4, SEC), counts(1, 0, 0));
        assert!(!w.record(stripe, 4, SEC, OK));
    }

    /// What the window ending at `epoch` holds, from every outcome recorded (a model).
    fn model(outcomes: &[(u64, Sample)], epoch: u64, buckets: u64) -> Counts {
        let mut c = Counts::default();
        for (e, s) in outcomes.iter().filter(|(e, _)| *e <= epoch && epoch - *e < buckets) {
            let _ = e;
            c.calls += 1;
            c.failures += u64::from(s.failure);
            c.slow_calls += u64::from(s.slow);
        }
        c
    }

    #[test]
    fn the_totals_agree_with_a_model_of_every_outcome() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut now = 0;
        let mut outcomes = Vec::new();
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
                slow: r & 0x200 != 0 && r & 0x400 != 0,
            };
            w.record(stripe, 0, now, sample);
            outcomes.push((now / SEC, sample));
            assert_eq!(w.counts(&stripes, 0, now), model(&outcomes, now / SEC, 10), "at {now}");
            let later = now + (r >> 16) % (12 * SEC);
            assert_eq!(
                w.counts(&stripes, 0, later),
                model(&outcomes, later / SEC, 10),
                "judged {later} ahead of the writer at {now}"
            );
        }
    }

    #[test]
    fn a_clock_that_goes_back_finds_its_bucket_again() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        w.record(stripe, 0, 5 * SEC + 10, FAIL);
        w.record(stripe, 0, 5 * SEC + 20, OK);
        w.record(stripe, 0, 3 * SEC, OK);
        w.record(stripe, 0, 3 * SEC + 1, FAIL);
        w.record(stripe, 0, 5 * SEC + 30, OK);
        assert_eq!(w.counts(&stripes, 0, 5 * SEC), counts(5, 2, 0));
        assert_eq!(
            w.counts(&stripes, 0, 12 * SEC),
            counts(5, 2, 0),
            "the 3 s bucket is in the window until 13 s"
        );
        assert_eq!(w.counts(&stripes, 0, 13 * SEC), counts(3, 1, 0));
    }

    #[test]
    fn an_outcome_from_before_the_window_counts_nowhere_in_it() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        w.record(stripe, 0, 30 * SEC, OK);
        assert!(
            !w.record(stripe, 0, 5 * SEC, FAIL),
            "a clock 25 s back is past the window"
        );
        assert_eq!(w.counts(&stripes, 0, 30 * SEC), counts(1, 0, 0));
    }

    #[test]
    fn a_late_outcome_of_an_old_period_leaves_the_shared_stripe_alone() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::overflow());
        w.record(stripe, 2, 5 * SEC, FAIL);
        assert!(!w.record(stripe, 1, 5 * SEC, OK), "not judged");
        assert_eq!(
            w.counts(&stripes, 2, 6 * SEC),
            counts(1, 1, 0),
            "the newer period's failure is still counted"
        );
    }

    #[test]
    fn a_shared_stripe_untouched_while_the_generation_wrapped_is_cleared_for_the_new_period() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::overflow());
        w.record(stripe, 40_000, 5 * SEC, FAIL);
        let now = 40_000u16.wrapping_add(40_000);
        assert!(w.record(stripe, now, 6 * SEC, FAIL), "judged");
        assert_eq!(w.counts(&stripes, now, 6 * SEC).calls, 1, "only the new period's call");
    }

    #[test]
    fn the_shared_stripe_is_counted_and_leaves_the_window_like_the_others() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::overflow());
        assert!(!stripe.exclusive);
        w.record(stripe, 0, 0, FAIL);
        w.record(stripe, 0, SEC, OK);
        let c = w.counts(&stripes, 0, 9 * SEC);
        assert_eq!((c.calls, c.failures), (2, 1));
        assert_eq!(w.counts(&stripes, 0, 10 * SEC).failures, 0);
    }

    #[test]
    fn a_budget_is_forgotten_once_a_ring_moves_past_its_span() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        w.record(stripe, 0, 9 * SEC, FAIL);
        w.grant(0, 9 * SEC, 5, w.budget_seen());
        w.mark_judged(0, 9 * SEC);
        assert!(w.take_budget(0, 9 * SEC + 1));
        w.record(stripe, 0, 10 * SEC, OK);
        assert!(
            !w.take_budget(0, 9 * SEC + 2),
            "a reading of 9 s after the ring moved to 10 s is judged"
        );
        assert!(!w.judged_in_epoch(0, 9 * SEC + 2));
    }

    #[test]
    fn a_judgement_grants_only_over_the_budget_it_saw_before_its_counts() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        w.record(stripe, 0, SEC, FAIL);
        w.grant(0, SEC, 3, w.budget_seen());
        w.mark_judged(0, SEC);
        let stale = w.budget_seen();
        assert!(w.take_budget(0, SEC), "an outcome skips after the stale judge's read");
        w.grant(0, SEC, 50, stale);
        let left = (0..60).take_while(|_| w.take_budget(0, SEC)).count();
        assert_eq!(
            left, 2,
            "the stale judgement granted nothing over the budget that moved"
        );
        let fresh = w.budget_seen();
        w.grant(0, SEC, 4, fresh);
        assert_eq!((0..60).take_while(|_| w.take_budget(0, SEC)).count(), 4);
    }

    #[test]
    fn short_windows_use_tenth_buckets() {
        let (w, stripes) = setup(Duration::from_millis(500));
        let stripe = stripes.get(Slot::current());
        w.record(stripe, 0, 0, FAIL);
        assert_eq!(w.counts(&stripes, 0, 450_000_000).failures, 1);
        assert_eq!(w.counts(&stripes, 0, 500_000_000).failures, 0);
    }

    #[test]
    fn whole_buckets_span_the_window_to_within_a_nanosecond_a_bucket_and_never_more() {
        for (size, buckets) in [
            (10_000_000, 10),
            (15_000_000, 10),
            (9_999_999_999, 10),
            (10 * SEC, 10),
            (10_500_000_000, 11),
            (59_999_000_000, 60),
            (60 * SEC, 60),
            (600 * SEC, 600),
        ] {
            let w = TimeWindow::new(Duration::from_nanos(size));
            assert_eq!(w.buckets, buckets, "{size} ns");
            let spanned = w.buckets * w.width;
            assert!(spanned <= size && size - spanned < w.buckets, "{size} ns: {spanned} ns");
        }
    }

    #[test]
    fn a_hot_bucket_keeps_exact_counts_past_what_a_narrow_bucket_holds() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let stripe = stripes.get(Slot::current());
        for n in 0..100_000u64 {
            w.record(stripe, 0, SEC + n, if n % 4 == 0 { FAIL } else { OK });
        }
        assert_eq!(w.counts(&stripes, 0, 2 * SEC), counts(100_000, 25_000, 0));
        assert_eq!(w.counts(&stripes, 0, 11 * SEC), Counts::default());
    }

    #[test]
    fn readers_never_see_more_than_was_recorded_while_the_writer_moves() {
        let (w, stripes) = setup(Duration::from_secs(10));
        let (w, stripes) = (std::sync::Arc::new(w), std::sync::Arc::new(stripes));
        let clock = std::sync::Arc::new(AtomicU64::new(0));
        let writer = {
            let (w, stripes, clock) = (w.clone(), stripes.clone(), clock.clone());
            std::thread::spawn(move || {
                let stripe = stripes.get(Slot::current());
                for n in 0..200_000u64 {
                    let now = n * (SEC / 1000);
                    clock.store(now, Ordering::Relaxed);
                    w.record(stripe, 0, now, if n % 2 == 0 { FAIL } else { OK });
                }
            })
        };
        while !writer.is_finished() {
            let now = clock.load(Ordering::Relaxed);
            let c = w.counts(&stripes, 0, now + SEC / 1000);
            // Ten seconds of one call per millisecond, half of them failures.
            assert!(c.calls <= 10_001 && c.failures <= c.calls, "{c:?} at {now}");
        }
        writer.join().unwrap();
        assert_eq!(w.counts(&stripes, 0, 199_999 * (SEC / 1000)), counts(10_000, 5_000, 0));
    }
}
