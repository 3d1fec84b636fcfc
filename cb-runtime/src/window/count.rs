//! A true sliding count window: exactly the last N recorded outcomes, lock-free.
//!
//! A ring of N slots and one aggregate word `generation:16 | calls:16 | failures:16 | slow:16`.
//! Recording claims the next slot (the head moves on modulo N), swaps the outcome in (never
//! over a newer period's) and applies the difference to the aggregate; an outcome that
//! replaces one just like it (most of them once the window is full) leaves the slot and the
//! aggregate unwritten: one read-modify-write, the claim. With more writers than slots, two
//! writers of one slot may apply their differences in either order: the fields wrap rather
//! than clamp, so the aggregate ends exact. Slots and aggregate carry the generation of the
//! closed period, so a transition resets the window without touching it. While the window is
//! full of successes, another success changes nothing: [`CountWindow::is_full_and_clean`] lets
//! the hot path skip the write entirely (a single load).
//!
//! An outcome that leaves the counts as they were has nothing to judge: the writer that last
//! changed them judged these very counts. Only new rules (a reconfiguration) can give them
//! another verdict: [`CountWindow::rules_changed`] has the next outcome judge them again.

use super::{Counts, Sample, held_by_newer};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

const PRESENT: u32 = 1;
const FAILURE: u32 = 2;
const SLOW: u32 = 4;

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u64,
    head: AtomicU64,
    slots: Box<[AtomicU32]>,
    aggregate: AtomicU64,
    /// Set by a reconfiguration: the counts as they stand have not been judged by its rules.
    rejudge: AtomicBool,
}

fn pack(generation: u16, c: Counts) -> u64 {
    (u64::from(generation) << 48) | (c.calls << 32) | (c.failures << 16) | c.slow_calls
}

fn unpack(word: u64) -> (u16, Counts) {
    let field = |shift: u32| (word >> shift) & 0xFFFF;
    (
        (word >> 48) as u16,
        Counts {
            calls: field(32),
            failures: field(16),
            slow_calls: field(0),
        },
    )
}

/// Counts as a judge may see them: a field above the calls is one gone below zero for a
/// moment (see [`CountWindow::apply`]), or ahead of calls still to be applied; it reads as 0.
fn readable(c: Counts) -> Counts {
    let at_most_calls = |n: u64| if n > c.calls { 0 } else { n };
    Counts {
        calls: c.calls,
        failures: at_most_calls(c.failures),
        slow_calls: at_most_calls(c.slow_calls),
    }
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> CountWindow {
        CountWindow {
            size: u64::from(size),
            head: AtomicU64::new(0),
            slots: (0..size).map(|_| AtomicU32::new(0)).collect(),
            // Generation 0 starts empty; an out-of-date tag reads as empty too.
            aggregate: AtomicU64::new(0),
            rejudge: AtomicBool::new(false),
        }
    }

    /// New thresholds are in force: the next outcome judges the counts even if it leaves them
    /// as they were. Call after storing the new rules.
    pub(crate) fn rules_changed(&self) {
        self.rejudge.store(true, Ordering::Release);
    }

    #[inline]
    pub(crate) fn is_full_and_clean(&self, generation: u16) -> bool {
        let full = pack(
            generation,
            Counts {
                calls: self.size,
                ..Counts::default()
            },
        );
        self.aggregate.load(Ordering::Acquire) == full
    }

    /// Records one outcome of the closed period `generation`; the window's counts after it when
    /// they are to be judged, or `None`: the outcome left them as they were (and the rules did
    /// not change), or the window has already moved on to a newer period.
    #[inline(always)]
    pub(crate) fn record(&self, generation: u16, sample: Sample) -> Option<Counts> {
        let bits = PRESENT | if sample.failure { FAILURE } else { 0 } | if sample.slow { SLOW } else { 0 };
        let old_bits = self.put(generation, bits)?;
        if old_bits == bits && !self.rejudge.load(Ordering::Relaxed) {
            // Most outcomes: one just like the one replaced, under rules already applied (see
            // `apply`), decided here without the call.
            return None;
        }
        self.apply(generation, old_bits, bits)
    }

    /// Writes `bits` in the next slot; the outcome it replaced (0 for none of this period), or
    /// `None`, writing nothing, when the slot already holds a newer period's outcome (a
    /// late outcome of an old period must not erase one the newer aggregate counts).
    ///
    /// A slot that already holds this very outcome of this period is left as it is: writing
    /// it again would change nothing (the put takes effect at the load), and most outcomes
    /// replace one just like them, so they cost no read-modify-write here.
    #[inline]
    fn put(&self, generation: u16, bits: u32) -> Option<u32> {
        let slot = &self.slots[self.claim()];
        let new = (u32::from(generation) << 16) | bits;
        let mut old = slot.load(Ordering::Acquire);
        loop {
            if old == new {
                return Some(bits);
            }
            let tag = (old >> 16) as u16;
            if held_by_newer(generation, tag) {
                return None;
            }
            match slot.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(if tag == generation { old & 0xFFFF } else { 0 }),
                Err(now) => old = now,
            }
        }
    }

    /// Applies to the aggregate the difference between an outcome and the one it replaced.
    ///
    /// Two writers of one slot (more writers than slots) may apply their differences in
    /// either order, so a field may go below zero for a moment: fields wrap modulo 2^16
    /// rather than stop at zero (a clamp would lose the decrement for good), and only
    /// [`readable`] counts leave the window.
    #[inline]
    fn apply(&self, generation: u16, old_bits: u32, bits: u32) -> Option<Counts> {
        if old_bits == bits {
            // The outcome replaced one just like it: the counts stand (no write to share), and
            // so does the verdict of the writer that last changed them, unless the rules
            // changed since. The swap's acquire makes the judge read the new rules.
            if !self.rejudge.load(Ordering::Relaxed) || !self.rejudge.swap(false, Ordering::AcqRel) {
                return None;
            }
            let (tag, counts) = unpack(self.aggregate.load(Ordering::Acquire));
            return (tag == generation).then(|| readable(counts));
        }
        let delta = |mask: u32, have: u64| -> u64 {
            let add = u64::from(bits & mask != 0);
            let sub = u64::from(old_bits & mask != 0);
            (have + add).wrapping_sub(sub) & 0xFFFF
        };
        let mut after = None;
        let _ = self
            .aggregate
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                let (tag, current) = unpack(word);
                if held_by_newer(generation, tag) {
                    return None;
                }
                let c = if tag == generation { current } else { Counts::default() };
                let next = Counts {
                    calls: delta(PRESENT, c.calls),
                    failures: delta(FAILURE, c.failures),
                    slow_calls: delta(SLOW, c.slow_calls),
                };
                after = Some(next);
                Some(pack(generation, next))
            });
        after.map(readable)
    }

    /// The next slot of the ring: the head moves on modulo the size (a compare-and-swap, where
    /// a counter taken modulo the size would cost a division on every call).
    #[inline]
    fn claim(&self) -> usize {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let next = if head + 1 >= self.size { 0 } else { head + 1 };
            match self
                .head
                .compare_exchange_weak(head, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return head as usize,
                Err(now) => head = now,
            }
        }
    }

    /// The window's counts for `generation` (empty if it holds another period).
    pub(crate) fn counts(&self, generation: u16) -> Counts {
        let (tag, c) = unpack(self.aggregate.load(Ordering::Acquire));
        if tag == generation {
            readable(c)
        } else {
            Counts::default()
        }
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

    #[test]
    fn slides_over_exactly_the_last_n() {
        let w = CountWindow::new(3);
        w.record(1, FAIL);
        w.record(1, FAIL);
        assert_eq!(
            w.record(1, OK).unwrap(),
            Counts {
                calls: 3,
                failures: 2,
                slow_calls: 0
            }
        );
        assert_eq!(w.record(1, OK).unwrap().failures, 1);
        assert_eq!(w.record(1, OK).unwrap().failures, 0);
        assert!(w.is_full_and_clean(1));
    }

    #[test]
    fn an_outcome_like_the_one_it_replaces_keeps_the_counts() {
        let w = CountWindow::new(2);
        w.record(1, FAIL);
        w.record(1, OK);
        let full = Counts {
            calls: 2,
            failures: 1,
            slow_calls: 0,
        };
        assert_eq!(w.record(1, FAIL), None, "a failure over a failure: nothing to judge");
        assert_eq!(w.record(1, OK), None, "a success over a success: nothing to judge");
        assert_eq!(w.counts(1), full);
        w.rules_changed();
        assert_eq!(w.record(1, FAIL), Some(full), "new rules judge the counts that stand");
        assert_eq!(w.record(1, OK), None, "once");
        assert_eq!(
            w.record(2, OK).map(|c| c.calls),
            Some(1),
            "a new period over the old one"
        );
        assert_eq!(w.record(1, OK), None, "an older period's outcome is not judged");
    }

    #[test]
    fn two_writers_of_one_slot_applying_in_either_order_leave_exact_counts() {
        let w = CountWindow::new(1);
        w.record(1, OK);
        // Writer A puts a failure over the success; writer B, a lap later, a success over
        // A's failure, and B's difference lands first (A was preempted in between).
        let bits_a = PRESENT | FAILURE;
        let old_a = w.put(1, bits_a).unwrap();
        let old_b = w.put(1, PRESENT).unwrap();
        assert_eq!(w.apply(1, old_b, PRESENT).unwrap().failures, 0, "read as 0, not below");
        w.apply(1, old_a, bits_a);
        assert_eq!(
            w.counts(1),
            Counts {
                calls: 1,
                failures: 0,
                slow_calls: 0
            },
            "the slot holds a success"
        );
        assert!(w.is_full_and_clean(1));
    }

    #[test]
    fn a_late_outcome_of_an_old_period_leaves_the_new_one_alone() {
        let w = CountWindow::new(2);
        w.record(2, FAIL);
        assert_eq!(w.record(1, OK), None, "not judged");
        assert_eq!(w.record(1, OK), None, "not judged");
        assert_eq!(w.counts(2).failures, 1, "the new period's failure is still in its slot");
        w.record(2, OK);
        w.record(2, OK);
        assert_eq!(
            w.counts(2),
            Counts {
                calls: 2,
                failures: 0,
                slow_calls: 0
            },
            "two successes replaced it: no slot counted twice"
        );
        assert!(w.is_full_and_clean(2));
    }

    #[test]
    fn a_slot_untouched_while_the_generation_wrapped_is_written_over() {
        let w = CountWindow::new(2);
        w.record(40_000, FAIL);
        w.record(40_000, FAIL);
        // 40 000 transitions later with no outcome in the window (a backend down for weeks,
        // probes failing): in 16 bits the old tag looks ahead of the current one.
        let now = 40_000u16.wrapping_add(40_000);
        assert_eq!(w.record(now, OK).map(|c| c.calls), Some(1));
        assert_eq!(
            w.record(now, OK),
            Some(Counts {
                calls: 2,
                failures: 0,
                slow_calls: 0
            })
        );
    }

    #[test]
    fn a_new_generation_starts_empty_and_old_ones_are_dropped() {
        let w = CountWindow::new(4);
        w.record(1, FAIL);
        w.record(1, FAIL);
        assert_eq!(
            w.record(2, OK).unwrap(),
            Counts {
                calls: 1,
                failures: 0,
                slow_calls: 0
            }
        );
        assert_eq!(w.record(1, FAIL), None);
        assert_eq!(w.counts(2).calls, 1);
        assert_eq!(w.counts(1), Counts::default());
    }

    #[test]
    fn concurrent_records_stay_consistent() {
        let w = std::sync::Arc::new(CountWindow::new(100));
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    for i in 0..20_000 {
                        w.record(1, if (i + t) % 4 == 0 { FAIL } else { OK });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let recount = w
            .slots
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) & FAILURE != 0)
            .count() as u64;
        assert_eq!(w.counts(1).calls, 100);
        assert_eq!(w.counts(1).failures, recount);
    }
}
