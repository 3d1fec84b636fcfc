//! A true sliding count window: exactly the last N recorded outcomes, lock-free.
//!
//! A ring of N slots and one word that holds the ring's head and its counts together:
//! `tag:15 | filled:1 | head:16 | failures:16 | slow:16` (the head moves down from N - 1 to 0
//! and round again; calls are the slots it has passed until it has gone round once, N after).
//! Recording reads the slot under the head and moves the head on with the difference between
//! its outcome and the slot's in one compare-and-swap (the claim), then writes its outcome in
//! the slot. An outcome is in the counts from its claim on, so no writer descheduled half-way
//! holds one back; an outcome like the one it replaces (most of them once the window is full)
//! moves the head and writes nothing else.
//!
//! A writer descheduled between its claim and its slot write may be lapped: the next writer of
//! that slot read what was there before and counted its difference from that. The first one's
//! slot write then fails, and it takes its difference back out, so the counts are the sum of
//! the slots' outcomes whenever no write is half-way (each slot change is counted once, each
//! failed write uncounted). Meanwhile a field may be one or more over or under; fields wrap
//! modulo 2^16 rather than clamp (a clamp would lose a correction for good), and only
//! [`readable`] counts leave the window.
//!
//! Slots and the word carry the generation of their period: a late outcome of an older period
//! changes nothing, and a new period needs no write to the slots. At every transition
//! [`CountWindow::begin`] empties a word of an older period, so its 15 bits of generation stay
//! near the breaker's; until the head has gone round once in a period every slot counts as
//! empty (its 16 bits may name a period 65,536 transitions old). While the window is full of
//! successes, another success changes nothing: [`CountWindow::is_full_and_clean`] lets the hot
//! path skip the write entirely (a single load).
//!
//! An outcome that leaves the counts as they were has nothing to judge: the writer that last
//! changed them judged these very counts. But that writer may not have acted on its verdict
//! yet, so a failing or slow one in a window at a threshold is judged again; and new rules (a
//! reconfiguration) can give the counts another verdict: [`CountWindow::rules_changed`] has
//! the next outcome judge them again.

use super::{Counts, NEWER_BY_AT_MOST, RateRule, Sample};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

const PRESENT: u32 = 1;
const FAILURE: u32 = 2;
const SLOW: u32 = 4;

const TAG_SHIFT: u32 = 49;
const TAG_MASK: u16 = 0x7FFF;
const TAG_BITS: u64 = (TAG_MASK as u64) << TAG_SHIFT;
const FILLED: u64 = 1 << 48;
const HEAD_SHIFT: u32 = 32;
const HEAD_ONE: u64 = 1 << HEAD_SHIFT;
const FIELD: u64 = 0xFFFF;

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u64,
    slots: Box<[AtomicU32]>,
    /// `tag:15 | filled:1 | head:16 | failures:16 | slow:16`.
    word: AtomicU64,
    /// Set by a reconfiguration: the counts as they stand have not been judged by its rules.
    rejudge: AtomicBool,
    /// The failures (high half) and the slow calls (low half) a full window trips at under the
    /// rules in force (`u32::MAX`: never).
    trips_at: AtomicU64,
    /// The full generation of the last period begun (see [`CountWindow::begin`]).
    begun: AtomicU64,
}

/// What [`CountWindow::trips_at`] holds for a window of `size` under `rule`: the least number
/// of failures (with no slow call), and of slow calls (with no failure), that `rule` judges to
/// open a full window. The two rates are judged apart, so a full window trips exactly when it
/// holds at least one of them.
fn trips_at(size: u64, rule: RateRule) -> u64 {
    let least = |counts: &dyn Fn(u64) -> Counts| -> u64 {
        if rule.judge(counts(size)).is_none() {
            return u64::from(u32::MAX);
        }
        // The verdict only turns from "stay" to "open" as the count grows: bisect.
        let (mut stays, mut opens) = (0u64, size);
        if rule.judge(counts(0)).is_some() {
            return 0;
        }
        while opens - stays > 1 {
            let mid = stays + (opens - stays) / 2;
            match rule.judge(counts(mid)) {
                Some(_) => opens = mid,
                None => stays = mid,
            }
        }
        opens
    };
    let failures = least(&|k| Counts {
        calls: size,
        failures: k,
        slow_calls: 0,
    });
    let slow = least(&|k| Counts {
        calls: size,
        failures: 0,
        slow_calls: k,
    });
    (failures << 32) | slow
}

/// The 15 bits of a generation the word keeps.
fn tag(generation: u16) -> u16 {
    generation & TAG_MASK
}

/// [`held_by_newer`](super::held_by_newer) for the word's 15-bit tags.
fn tag_held_by_newer(mine: u16, theirs: u16) -> bool {
    theirs != mine && theirs.wrapping_sub(mine) & TAG_MASK <= NEWER_BY_AT_MOST
}

/// A field as a judge may see it. Half-way writes (see the module's doc) leave a field a few
/// over the calls, or a few below zero, wrapped to just under 2^16: over reads as the calls,
/// below as 0.
fn readable(calls: u64, field: u64) -> u64 {
    if field <= calls {
        field
    } else if field - calls <= (FIELD + 1 - field) {
        calls
    } else {
        0
    }
}

/// The outcome bits of a slot's value, if it is of `generation` (an older or newer period's
/// outcome is none of this one's).
fn bits_of(held: u32, generation: u16) -> u32 {
    if (held >> 16) as u16 == generation {
        held & 0xFFFF
    } else {
        0
    }
}

/// `word` with `bits` counted in place of `old_bits`, the fields wrapping (see [`readable`]).
fn replace(word: u64, old_bits: u32, bits: u32) -> u64 {
    let field = |word: u64, mask: u32, shift: u32| -> u64 {
        let add = u64::from(bits & mask != 0);
        let sub = u64::from(old_bits & mask != 0);
        let have = (word >> shift) & FIELD;
        (word & !(FIELD << shift)) | ((have + add).wrapping_sub(sub) & FIELD) << shift
    };
    field(field(word, FAILURE, 16), SLOW, 0)
}

/// A slot taken by a claim: which, what it held when the claim counted the difference, and
/// the word the claim stored.
struct Claim {
    slot: usize,
    held: u32,
    /// Claimed before the head went round once: what the slot held counted as nothing.
    fresh: bool,
    word: u64,
}

impl CountWindow {
    pub(crate) fn new(size: u32, rule: RateRule) -> CountWindow {
        let size = u64::from(size);
        CountWindow {
            trips_at: AtomicU64::new(trips_at(size, rule)),
            begun: AtomicU64::new(0),
            size,
            slots: (0..size).map(|_| AtomicU32::new(0)).collect(),
            // Generation 0 starts empty; an out-of-date tag reads as empty too.
            word: AtomicU64::new((size - 1) << HEAD_SHIFT),
            rejudge: AtomicBool::new(false),
        }
    }

    /// New thresholds are in force: the next outcome judges the counts even if it leaves them
    /// as they were. Call after storing the new rules.
    pub(crate) fn rules_changed(&self, rule: RateRule) {
        self.trips_at.store(trips_at(self.size, rule), Ordering::Relaxed);
        self.rejudge.store(true, Ordering::Release);
    }

    /// Whether a full window's `word` holds enough failures or slow calls to trip: an outcome
    /// that left the counts as they were judges them again then, since the writer that changed
    /// them last may not have acted on its verdict yet (descheduled between its claim and its
    /// transition) while outcomes go on.
    #[inline]
    fn at_threshold(&self, word: u64) -> bool {
        let at = self.trips_at.load(Ordering::Relaxed);
        word & FILLED != 0 && ((word >> 16) & FIELD >= at >> 32 || word & FIELD >= at & 0xFFFF_FFFF)
    }

    /// Period `generation` (the breaker's full generation) begins, at every transition: the
    /// window is emptied under its tag unless it holds this period's or a newer one's. The
    /// tag then never trails the breaker by more than the transitions racing with this one,
    /// so its 15 bits can neither look ahead of the period in force nor bring back the counts
    /// of one a multiple of 32,768 transitions before it; and outcomes of this period
    /// recorded before this call (they re-tag the window themselves) are kept.
    pub(crate) fn begin(&self, generation: u64) {
        if !super::begin_period(&self.begun, generation) {
            return;
        }
        let mine = tag(generation as u16);
        let empty = (u64::from(mine) << TAG_SHIFT) | self.first_head();
        let keep = |word: u64| {
            let theirs = (word >> TAG_SHIFT) as u16;
            theirs == mine || tag_held_by_newer(mine, theirs)
        };
        // A newer period's beginning moves `begun` on first: once it has, this one is over.
        super::let_go(&self.word, empty, keep, || {
            self.begun.load(Ordering::Acquire) == generation
        });
    }

    /// Whether the window of `generation` is full and holds no failure and no slow call.
    #[inline]
    pub(crate) fn is_full_and_clean(&self, generation: u16) -> bool {
        self.word.load(Ordering::Acquire) & !(FIELD << HEAD_SHIFT) == Self::clean(generation)
    }

    /// The word of a full window of `generation` without failures or slow calls, head aside.
    #[inline]
    fn clean(generation: u16) -> u64 {
        (u64::from(tag(generation)) << TAG_SHIFT) | FILLED
    }

    /// Records one outcome of the closed period `generation`; the window's counts after it when
    /// they are to be judged, or `None`: the outcome left them as they were (and the rules did
    /// not change), or the window has already moved on to a newer period.
    #[inline(always)]
    pub(crate) fn record(&self, generation: u16, sample: Sample) -> Option<Counts> {
        let bits = PRESENT | if sample.failure { FAILURE } else { 0 } | if sample.slow { SLOW } else { 0 };
        let new = (u32::from(generation) << 16) | bits;
        let mine = u64::from(tag(generation)) << TAG_SHIFT;
        let mut word = self.word.load(Ordering::Acquire);
        loop {
            // Most outcomes: in a full window of this period, one just like the one it
            // replaces, which only moves the head.
            if word & (TAG_BITS | FILLED) != mine | FILLED {
                return self.record_changed(word, generation, new);
            }
            let slot = ((word >> HEAD_SHIFT) & FIELD) as usize;
            if self.slots[slot].load(Ordering::Acquire) != new {
                return self.record_changed(word, generation, new);
            }
            let next = self.advance(word, slot);
            match self
                .word
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return self.unchanged(next, sample),
                Err(now) => word = now,
            }
        }
    }

    /// The counts to judge after an outcome that left them as they were: none under rules
    /// already applied, but for a failing or slow outcome in a window at a threshold.
    #[inline(always)]
    fn unchanged(&self, word: u64, sample: Sample) -> Option<Counts> {
        if !sample.is_clean() && self.at_threshold(word) {
            return Some(self.counts_in(word));
        }
        if !self.rejudge.load(Ordering::Relaxed) {
            return None;
        }
        self.rejudged(word)
    }

    /// `word` with its head moved on from `slot`.
    #[inline(always)]
    fn advance(&self, word: u64, slot: usize) -> u64 {
        if slot == 0 {
            word | FILLED | self.first_head()
        } else {
            word - HEAD_ONE
        }
    }

    /// [`record`](Self::record) of an outcome that changes the counts (or that the word, last
    /// read as `word`, may no longer hold as unchanged): claim, then publish.
    #[inline(never)]
    fn record_changed(&self, word: u64, generation: u16, new: u32) -> Option<Counts> {
        let sample = Sample {
            failure: new & FAILURE != 0,
            slow: new & SLOW != 0,
        };
        let claim = self.claim(word, generation, new)?;
        if claim.held == new && !claim.fresh {
            return self.unchanged(claim.word, sample);
        }
        self.publish(generation, claim, new)
    }

    /// Moves the head on with the difference between `new` and what the slot under it holds
    /// counted, starting from `word` as last read; `None` when the window holds a newer period
    /// (a late outcome of an old period must not change the newer counts).
    #[inline(always)]
    fn claim(&self, mut word: u64, generation: u16, new: u32) -> Option<Claim> {
        let mine = tag(generation);
        loop {
            let theirs = (word >> TAG_SHIFT) as u16;
            let base = if theirs == mine {
                word
            } else if tag_held_by_newer(mine, theirs) {
                return None;
            } else {
                (u64::from(mine) << TAG_SHIFT) | self.first_head()
            };
            let slot = ((base >> HEAD_SHIFT) & FIELD) as usize;
            let held = self.slots[slot].load(Ordering::Acquire);
            // Until the head has gone round once, no slot holds an outcome of this period
            // (one that looks like it is 65,536 transitions old).
            let counted = if base & FILLED == 0 {
                replace(base, 0, new & 0xFFFF)
            } else if held == new {
                base
            } else {
                replace(base, bits_of(held, generation), new & 0xFFFF)
            };
            let next = self.advance(counted, slot);
            match self
                .word
                .compare_exchange_weak(word, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => {
                    return Some(Claim {
                        slot,
                        held,
                        fresh: base & FILLED == 0,
                        word: next,
                    });
                }
                Err(now) => word = now,
            }
        }
    }

    /// Writes the claimed outcome in its slot; the counts to judge. A writer that lapped this
    /// one wrote the slot first, counting its difference from what this one replaced: this
    /// outcome is gone from the window, and its difference comes back out. A late write of an
    /// older period (an outcome that counts for nothing in this one) is written over.
    #[inline]
    fn publish(&self, generation: u16, claim: Claim, new: u32) -> Option<Counts> {
        let slot = &self.slots[claim.slot];
        let mut expected = claim.held;
        loop {
            match slot.compare_exchange(expected, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some(self.counts_in(claim.word)),
                Err(now) if Self::older(now, generation) => expected = now,
                Err(_) => break,
            }
        }
        let replaced = if claim.fresh {
            0
        } else {
            bits_of(claim.held, generation)
        };
        self.take_back(generation, new & 0xFFFF, replaced)
    }

    /// Whether a slot's value is an outcome of a period older than `generation`.
    fn older(held: u32, generation: u16) -> bool {
        let theirs = (held >> 16) as u16;
        theirs != generation && !super::held_by_newer(generation, theirs)
    }

    /// Counts `old_bits` in place of `bits` without moving the head (a lapped writer's
    /// difference taken back out); the counts after, or `None` if the window moved on to a
    /// newer period (whose counts never had it).
    #[cold]
    #[inline(never)]
    fn take_back(&self, generation: u16, bits: u32, old_bits: u32) -> Option<Counts> {
        let mine = tag(generation);
        let word = self
            .word
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |word| {
                ((word >> TAG_SHIFT) as u16 == mine).then(|| replace(word, bits, old_bits))
            })
            .ok()?;
        Some(self.counts_in(replace(word, bits, old_bits)))
    }

    /// The counts of `word` once (of a reconfiguration's rules not judged yet): `None` if
    /// another outcome took the judgement first. The swap's acquire makes the judge read the
    /// new rules.
    #[cold]
    #[inline(never)]
    fn rejudged(&self, word: u64) -> Option<Counts> {
        self.rejudge.swap(false, Ordering::AcqRel).then(|| self.counts_in(word))
    }

    /// The head of an empty ring: it moves down to 0, then round to here again.
    #[inline]
    fn first_head(&self) -> u64 {
        (self.size - 1) << HEAD_SHIFT
    }

    /// The counts a word holds (calls are the slots below the first head that the head has
    /// moved past, until the ring has gone round once).
    fn counts_in(&self, word: u64) -> Counts {
        let calls = if word & FILLED != 0 {
            self.size
        } else {
            self.size - 1 - ((word >> HEAD_SHIFT) & FIELD)
        };
        Counts {
            calls,
            failures: readable(calls, (word >> 16) & FIELD),
            slow_calls: readable(calls, word & FIELD),
        }
    }

    /// The window's counts for `generation` (empty if it holds another period).
    pub(crate) fn counts(&self, generation: u16) -> Counts {
        let word = self.word.load(Ordering::Acquire);
        if (word >> TAG_SHIFT) as u16 == tag(generation) {
            self.counts_in(word)
        } else {
            Counts::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::window::counts;

    /// Rules that never open a window.
    fn never() -> RateRule {
        RateRule::from_parts(None, None, 1)
    }

    fn window(size: u32) -> CountWindow {
        CountWindow::new(size, never())
    }

    #[test]
    fn a_full_window_trips_at_the_least_counts_the_rules_open() {
        let at = |size: u64, rule: RateRule| (trips_at(size, rule) >> 32, trips_at(size, rule) & 0xFFFF_FFFF);
        let none = u64::from(u32::MAX);
        assert_eq!(at(100, RateRule::from_parts(Some(0.5), None, 10)), (50, none));
        assert_eq!(at(100, RateRule::from_parts(Some(0.505), Some(0.2), 10)), (51, 20));
        assert_eq!(
            at(3, RateRule::from_parts(Some(1.0), Some(0.0), 1)),
            (0, 0),
            "a slow-call rate of 0 opens any full window"
        );
        assert_eq!(
            at(10, RateRule::from_parts(Some(0.5), None, 11)),
            (none, none),
            "minimum above the size"
        );
        assert_eq!(at(65_535, RateRule::from_parts(Some(1.0), None, 1)), (65_535, none));
        assert_eq!(at(7, never()), (none, none));
    }

    #[test]
    fn a_failure_like_the_one_it_replaces_is_judged_in_a_window_at_its_threshold() {
        let w = CountWindow::new(2, RateRule::from_parts(Some(1.0), None, 2));
        assert_eq!(w.record(1, FAIL), Some(counts(1, 1, 0)));
        assert_eq!(w.record(1, FAIL), Some(counts(2, 2, 0)), "the first judge");
        assert_eq!(
            w.record(1, FAIL),
            Some(counts(2, 2, 0)),
            "judged again: the first judge may not have acted yet"
        );
        assert_eq!(w.record(1, OK), Some(counts(2, 1, 0)));
        assert_eq!(w.record(1, OK), Some(counts(2, 0, 0)));
        assert_eq!(w.record(1, OK), None, "a success over a success");
        let below = CountWindow::new(2, RateRule::from_parts(Some(1.0), None, 2));
        below.record(1, FAIL);
        below.record(1, OK);
        below.record(1, FAIL);
        assert_eq!(
            below.record(1, OK),
            None,
            "below the threshold: a success over a success"
        );
        assert_eq!(
            below.record(1, FAIL),
            None,
            "below the threshold: a failure over a failure"
        );
    }

    const OK: Sample = Sample {
        failure: false,
        slow: false,
    };
    const FAIL: Sample = Sample {
        failure: true,
        slow: false,
    };

    #[test]
    fn generation_0_starts_empty() {
        let w = window(3);
        assert_eq!(w.counts(0), Counts::default());
        assert_eq!(w.record(0, FAIL), Some(counts(1, 1, 0)));
    }

    #[test]
    fn slides_over_exactly_the_last_n() {
        let w = window(3);
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
        let w = window(2);
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
        w.rules_changed(never());
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
    fn a_lapped_writer_takes_its_difference_back_and_the_counts_end_exact() {
        let w = window(1);
        w.record(1, OK);
        // Writer A claims the slot for a failure and is descheduled before writing it; writer
        // B, a lap later, reads the success A has not replaced yet and puts a success.
        let failure = (1 << 16) | PRESENT | FAILURE;
        let success = (1 << 16) | PRESENT;
        let a = w.claim(w.word.load(Ordering::Relaxed), 1, failure).unwrap();
        assert_eq!(w.counts_in(a.word).failures, 1, "counted from the claim on");
        let b = w.claim(w.word.load(Ordering::Relaxed), 1, success).unwrap();
        assert_eq!(b.held, success, "B replaces what A has not replaced yet");
        assert_eq!(w.counts_in(b.word).failures, 1, "A's failure is still counted");
        assert_eq!(w.publish(1, a, failure), Some(counts(1, 1, 0)), "A writes first");
        let c = w.claim(w.word.load(Ordering::Relaxed), 1, success).unwrap();
        let late = w.claim(w.word.load(Ordering::Relaxed), 1, failure).unwrap();
        assert_eq!(w.publish(1, c, success), Some(counts(1, 0, 0)));
        assert_eq!(
            w.publish(1, late, failure),
            Some(counts(1, 0, 0)),
            "lapped: its failure comes back out"
        );
        assert_eq!(w.slots[0].load(Ordering::Relaxed), success);
        assert!(w.is_full_and_clean(1));
    }

    #[test]
    fn counts_a_few_over_read_as_the_calls_and_a_few_below_zero_as_none() {
        assert_eq!(readable(10, 11), 10);
        assert_eq!(readable(10, 0xFFFF), 0);
        assert_eq!(readable(40_000, 0xFFFE), 0);
        assert_eq!(readable(40_000, 40_003), 40_000);
        assert_eq!(readable(10, 7), 7);
    }

    #[test]
    fn an_outcome_is_counted_from_its_claim_before_its_slot_is_written() {
        let w = window(3);
        w.record(1, FAIL);
        w.record(1, FAIL);
        let failure = (1 << 16) | PRESENT | FAILURE;
        let pending = w.claim(w.word.load(Ordering::Relaxed), 1, failure).unwrap();
        assert_eq!(
            w.counts(1),
            counts(3, 3, 0),
            "a writer descheduled here holds nothing back"
        );
        assert_eq!(w.record(1, FAIL), None, "a failure over a failure");
        assert_eq!(w.record(1, FAIL), None, "a failure over a failure");
        assert_eq!(
            w.record(1, FAIL),
            Some(counts(3, 3, 0)),
            "lapping the pending slot counts one over, read as the calls"
        );
        assert_eq!(
            w.publish(1, pending, failure),
            Some(counts(3, 3, 0)),
            "lapped: taken back"
        );
        assert_eq!((w.word.load(Ordering::Relaxed) >> 16) & FIELD, 3, "exact again");
    }

    #[test]
    fn a_late_outcome_of_an_old_period_leaves_the_new_one_alone() {
        let w = window(2);
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
        let w = window(2);
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
        let w = window(4);
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

    /// A writer of period 1 claims the slot under the head and is descheduled; the breaker
    /// moves on to period 2, whose first outcome (a failure) claims the same slot, reading the
    /// success period 1's writer has not replaced yet. The old writer's slot write then lands
    /// (it expected exactly that success). The new one's write must not fail on it (its
    /// failure would be taken back out, leaving a window of 1 call and 0 failures): an outcome
    /// of an older period counts for nothing here, and it is written over.
    #[test]
    fn a_new_periods_outcome_is_not_lost_to_a_late_write_of_the_old_period() {
        let w = window(2);
        w.record(1, OK);
        w.record(1, OK);
        let old_failure = (1 << 16) | PRESENT | FAILURE;
        let new_failure = (2 << 16) | PRESENT | FAILURE;
        let late = w.claim(w.word.load(Ordering::Relaxed), 1, old_failure).unwrap();
        assert_eq!(late.slot, 1);
        let first = w.claim(w.word.load(Ordering::Relaxed), 2, new_failure).unwrap();
        assert_eq!(first.slot, 1, "a new period starts at the first head");
        let _ = w.publish(1, late, old_failure);
        let judged = w.publish(2, first, new_failure);
        assert_eq!(
            (judged, w.counts(2)),
            (Some(counts(1, 1, 0)), counts(1, 1, 0)),
            "period 2's only outcome is a failure"
        );
        assert_eq!(
            w.record(2, FAIL),
            Some(counts(2, 2, 0)),
            "period 2 has recorded two failures: a 100 % threshold over 2 is reached"
        );
    }

    #[test]
    fn concurrent_records_stay_consistent() {
        let w = std::sync::Arc::new(window(100));
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
