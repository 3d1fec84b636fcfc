//! A sliding count window: the last N recorded outcomes (exactly, with one writer), lock-free.
//!
//! A ring of N slots and one aggregate word `generation:16 | calls:16 | failures:16 | slow:16`.
//! Recording takes the next slot of the ring, swaps the outcome in (never over a newer
//! period's) and applies the difference to the aggregate; an outcome that replaces one just
//! like it (most of them once the window is full) leaves the slot and the aggregate unwritten.
//! With more writers than slots, two writers of one slot may apply their differences in either
//! order: the fields wrap rather than clamp, so the aggregate ends exact. Slots and aggregate
//! carry the generation of the closed period, so a transition resets the window without
//! touching it. While the window is full of successes, another success changes nothing:
//! [`CountWindow::is_full_and_clean`] lets the hot path skip the write entirely (a single load).
//!
//! # Claim blocks
//!
//! The ring's `head` (`lap:32 | index:32`) is the one word every writer shares. A thread does
//! not move it on every outcome: it claims a block of B = clamp(N / 8, 1, 16) / T consecutive
//! slots at once, T being the threads with a stripe of the breaker (for a window of 100: 12 for
//! one thread, 6 each for two; 1 below 16: one slot per outcome) and writes its next
//! outcomes into them, keeping the block (`lap:32 | left:16 | next:16`: its lap, the slots it
//! has not written yet and the next one) in its own stripe, where it is the only writer (plain
//! load and store). Blocks never wrap: the last one of a lap is shorter.
//! Threads past the 64th share the overflow stripe and claim one slot per outcome, as every
//! thread once did.
//!
//! What the window holds:
//! - with one thread, exactly the last N outcomes;
//! - with several threads writing at once, each one holds up to B - 1 slots it claimed and has
//!   not written yet, (B - 1) x (T - 1) < N / 8 in all, so the window holds N outcomes, all
//!   among the last N + N / 8 (an outcome may land a few slots away from its neighbours in
//!   time).
//!
//! A slot word is `generation:16 | lap:13 | bits:3`. A thread that sat idle on its block while
//! other threads lapped the ring finds a later lap of the same period in its next slot: it drops
//! the rest of the block and claims a new one (the head confirms the lap, so a slot whose
//! outcome has not changed for 4096 laps, its 13 bits of lap wrapped, does not pass for a later
//! one). Its claimed
//! slots are not lost: they are written over by whoever laps them. (An outcome that finds the
//! same outcome of its period in its slot, whatever the lap, writes nothing and so does not
//! see a lap; nor does a block left idle for more than 4096 laps: it then writes its next
//! outcomes over slightly newer ones, still within the bound above but for those few.)
//!
//! An outcome that leaves the counts as they were has nothing to judge: the writer that last
//! changed them judged these very counts. Only new rules (a reconfiguration) can give them
//! another verdict: [`CountWindow::rules_changed`] has the next outcome judge them again.

use super::{Counts, Sample, held_by_newer};
use crate::breaker::stripe::Stripe;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};

const PRESENT: u32 = 1;
const FAILURE: u32 = 2;
const SLOW: u32 = 4;
/// The outcome's bits of a slot word.
const BITS: u32 = 0b111;
/// A slot word's lap: the low 13 bits of the lap of the block that wrote it.
const LAP_SHIFT: u32 = 3;
const LAP_MASK: u32 = 0x1FFF;
const LAP_FIELD: u32 = LAP_MASK << LAP_SHIFT;
/// The largest block a thread claims.
const MAX_BLOCK: u64 = 16;
/// A stripe's block word is `lap:32 | left:16 | next:16`: slots `next..next + left` of lap
/// `lap` are claimed and not written yet. Taking one adds 1 to `next` and takes 1 from `left`.
const BLOCK_TAKE: u64 = 1u64.wrapping_sub(1 << 16);
const BLOCK_LEFT: u64 = 0xFFFF << 16;

#[derive(Debug)]
pub(crate) struct CountWindow {
    size: u64,
    /// Slots a thread claims at once (B).
    block: u64,
    /// `lap:32 | index:32`: the next slot no thread has claimed, and how many times the
    /// ring has been claimed all round.
    head: AtomicU64,
    slots: Box<[AtomicU32]>,
    aggregate: AtomicU64,
    /// Set by a reconfiguration: the counts as they stand have not been judged by its rules.
    rejudge: AtomicBool,
}

/// What putting an outcome in a slot did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Put {
    /// Written (or already there): the outcome's bits it replaced, 0 for none of this period.
    Replaced(u32),
    /// Nothing written: the slot holds a newer period's outcome.
    Newer,
    /// Nothing written: other threads lapped the ring over the writer's held block.
    Lapped,
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

/// A stripe's block word (see [`BLOCK_TAKE`]): slots `next..end` of lap `lap` are claimed and
/// not yet written.
fn block_word(lap: u32, next: u64, end: u64) -> u64 {
    (u64::from(lap) << 32) | ((end - next) << 16) | next
}

impl CountWindow {
    pub(crate) fn new(size: u32) -> CountWindow {
        CountWindow {
            size: u64::from(size),
            block: (u64::from(size) / 8).clamp(1, MAX_BLOCK),
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

    /// Records one outcome of the closed period `generation` from the thread of `stripe`; the
    /// window's counts after it when they are to be judged, or `None`: the outcome left them as
    /// they were (and the rules did not change), or the window has already moved on to a newer
    /// period.
    #[cfg(test)]
    pub(crate) fn record(&self, stripe: &Stripe, generation: u16, sample: Sample) -> Option<Counts> {
        self.record_among(stripe, || 1, generation, sample)
    }

    /// [`record`](Self::record) from one of `writers()` threads that write the window (read
    /// only when the caller claims a block, to size it).
    #[inline(always)]
    pub(crate) fn record_among(
        &self,
        stripe: &Stripe,
        writers: impl FnOnce() -> u64,
        generation: u16,
        sample: Sample,
    ) -> Option<Counts> {
        let bits = PRESENT | if sample.failure { FAILURE } else { 0 } | if sample.slow { SLOW } else { 0 };
        let old_bits = self.put(stripe, writers, generation, bits)?;
        if old_bits == bits && !self.rejudge.load(Ordering::Relaxed) {
            // Most outcomes: one just like the one replaced, under rules already applied (see
            // `apply`), decided here without the call.
            return None;
        }
        self.apply(generation, old_bits, bits)
    }

    /// Writes `bits` in the caller's next slot: the next one of the block its stripe holds, or
    /// the first of a block it claims now (one slot for the shared overflow stripe). The
    /// outcome it replaced (0 for none of this period), or `None`, writing nothing, when the
    /// slot already holds a newer period's outcome.
    #[inline(always)]
    fn put(&self, stripe: &Stripe, writers: impl FnOnce() -> u64, generation: u16, bits: u32) -> Option<u32> {
        // Only the stripe's thread writes its block: a plain load and store. The overflow
        // stripe never holds a block (see `put_claimed`), so its writers all go on to claim.
        let cell = &stripe.count_block;
        let held = cell.load(Ordering::Relaxed);
        if held & BLOCK_LEFT != 0 {
            cell.store(held.wrapping_add(BLOCK_TAKE), Ordering::Relaxed);
            match self.put_at(held & 0xFFFF, (held >> 32) as u32, generation, bits, true) {
                Put::Replaced(old_bits) => return Some(old_bits),
                Put::Newer => return None,
                // Drop the rest of the block.
                Put::Lapped => cell.store(0, Ordering::Relaxed),
            }
        }
        match self.put_claimed(stripe, writers, generation, bits) {
            Put::Replaced(old_bits) => Some(old_bits),
            Put::Newer | Put::Lapped => None,
        }
    }

    /// Claims a block and writes `bits` in its first slot; the rest of the block, if any, goes
    /// to the stripe of the caller's thread (whose block is empty). On the shared overflow
    /// stripe, claims one slot.
    #[inline(always)]
    fn put_claimed(&self, stripe: &Stripe, writers: impl FnOnce() -> u64, generation: u16, bits: u32) -> Put {
        let block = if stripe.exclusive && self.block > 1 {
            (self.block / writers().max(1)).max(1)
        } else {
            1
        };
        let (lap, start) = if block > 1 {
            let (lap, start, end) = self.claim(block);
            if end > start + 1 {
                stripe
                    .count_block
                    .store(block_word(lap, start + 1, end), Ordering::Relaxed);
            }
            (lap, start)
        } else {
            let (lap, start, _) = self.claim(1);
            (lap, start)
        };
        self.put_at(start, lap, generation, bits, false)
    }

    /// Writes `bits` in slot `index` of lap `lap`, never over a newer period's outcome (a late
    /// outcome of an old period must not erase one the newer aggregate counts). A `held` slot
    /// (claimed by an earlier call) is not written over a later lap of this period: the block
    /// it belongs to was lapped ([`Put::Lapped`]).
    ///
    /// A slot that already holds this very outcome of this period (whatever its lap) is left as
    /// it is: writing it again would change nothing the counts see (the put takes effect at the
    /// load), and most outcomes replace one just like them, so they cost no read-modify-write
    /// here.
    #[inline(always)]
    fn put_at(&self, index: u64, lap: u32, generation: u16, bits: u32, held: bool) -> Put {
        let slot = &self.slots[index as usize];
        let outcome = (u32::from(generation) << 16) | bits;
        let mut old = slot.load(Ordering::Acquire);
        loop {
            if old & !LAP_FIELD == outcome {
                return Put::Replaced(bits);
            }
            let tag = (old >> 16) as u16;
            if tag == generation {
                if held && self.lapped(old, lap, index) {
                    return Put::Lapped;
                }
            } else if held_by_newer(generation, tag) {
                return Put::Newer;
            }
            let new = outcome | ((lap & LAP_MASK) << LAP_SHIFT);
            match slot.compare_exchange_weak(old, new, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Put::Replaced(if tag == generation { old & BITS } else { 0 }),
                Err(now) => old = now,
            }
        }
    }

    /// Whether slot `index`, claimed in lap `lap` and holding `old` of the same period, was
    /// claimed again in a later lap. The slot's 13 bits of lap say "maybe" (a later lap by
    /// wrapping order); the head decides, so a slot left as it was for 4096 laps (its outcome
    /// never changed) is not taken for a later one. The head is read only then: when the held
    /// block was lapped, or its slot's lap wrapped.
    #[cold]
    fn lapped(&self, old: u32, lap: u32, index: u64) -> bool {
        let ahead = ((old >> LAP_SHIFT).wrapping_sub(lap)) & LAP_MASK;
        if ahead == 0 || ahead > LAP_MASK / 2 {
            return false;
        }
        // The slot was claimed again once the head passed it in the next lap. The slot's write
        // came after its writer's claim, and the acquiring load of it before this load: the
        // head seen here is at least that claim.
        let head = self.head.load(Ordering::Relaxed);
        let laps = ((head >> 32) as u32).wrapping_sub(lap);
        laps >= 2 || (laps == 1 && head & 0xFFFF_FFFF > index)
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

    /// Claims the next `len` slots of the ring, fewer at its end (a block never wraps): their
    /// lap, first slot and end. The head moves on with a compare-and-swap, where a counter
    /// taken modulo the size would cost a division.
    #[inline]
    fn claim(&self, len: u64) -> (u32, u64, u64) {
        let mut head = self.head.load(Ordering::Relaxed);
        loop {
            let start = u64::from(head as u32);
            let (next, end) = if start + len >= self.size {
                // Slot 0 of the next lap.
                ((head | 0xFFFF_FFFF).wrapping_add(1), self.size)
            } else {
                (head + len, start + len)
            };
            match self
                .head
                .compare_exchange_weak(head, next, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return ((head >> 32) as u32, start, end),
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
    use std::collections::VecDeque;
    use std::sync::Arc;

    const OK: Sample = Sample {
        failure: false,
        slow: false,
    };
    const FAIL: Sample = Sample {
        failure: true,
        slow: false,
    };

    /// A thread's own stripe (the first 64 threads have one).
    fn own() -> Stripe {
        Stripe::new(true)
    }

    /// What the slots hold of `generation`, counted one by one.
    fn recount(w: &CountWindow, generation: u16) -> Counts {
        let mut c = Counts::default();
        for slot in w.slots.iter() {
            let word = slot.load(Ordering::Relaxed);
            if (word >> 16) as u16 != generation || word & PRESENT == 0 {
                continue;
            }
            c.calls += 1;
            c.failures += u64::from(word & FAILURE != 0);
            c.slow_calls += u64::from(word & SLOW != 0);
        }
        c
    }

    /// A xorshift sequence: random outcomes, the same on every run.
    struct Outcomes(u64);

    impl Outcomes {
        fn next(&mut self) -> Sample {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            Sample {
                failure: self.0.is_multiple_of(3),
                slow: self.0.is_multiple_of(5),
            }
        }
    }

    /// The last `size` outcomes, counted as they come and go.
    struct Model {
        size: usize,
        last: VecDeque<Sample>,
        counts: Counts,
    }

    impl Model {
        fn new(size: u32) -> Model {
            Model {
                size: size as usize,
                last: VecDeque::new(),
                counts: Counts::default(),
            }
        }

        fn push(&mut self, s: Sample) {
            if self.last.len() == self.size {
                let gone = self.last.pop_front().unwrap();
                self.counts.calls -= 1;
                self.counts.failures -= u64::from(gone.failure);
                self.counts.slow_calls -= u64::from(gone.slow);
            }
            self.last.push_back(s);
            self.counts.calls += 1;
            self.counts.failures += u64::from(s.failure);
            self.counts.slow_calls += u64::from(s.slow);
        }
    }

    #[test]
    fn slides_over_exactly_the_last_n() {
        let w = CountWindow::new(3);
        let t = own();
        w.record(&t, 1, FAIL);
        w.record(&t, 1, FAIL);
        assert_eq!(
            w.record(&t, 1, OK).unwrap(),
            Counts {
                calls: 3,
                failures: 2,
                slow_calls: 0
            }
        );
        assert_eq!(w.record(&t, 1, OK).unwrap().failures, 1);
        assert_eq!(w.record(&t, 1, OK).unwrap().failures, 0);
        assert!(w.is_full_and_clean(1));
    }

    #[test]
    fn one_thread_holds_exactly_the_last_n_outcomes() {
        // 25 and 97 end their laps with a block of one slot.
        for size in [1, 2, 7, 12, 16, 25, 97, 100, 65_535] {
            let w = CountWindow::new(size);
            let t = own();
            let mut model = Model::new(size);
            let mut outcomes = Outcomes(0x9E37_79B9_7F4A_7C15 ^ u64::from(size));
            for i in 0..3 * u64::from(size) + 50 {
                let s = outcomes.next();
                model.push(s);
                if let Some(judged) = w.record(&t, 1, s) {
                    assert_eq!(judged, model.counts, "size {size}, outcome {i}: the counts judged");
                }
                assert_eq!(w.counts(1), model.counts, "size {size}, outcome {i}");
            }
            assert_eq!(recount(&w, 1), model.counts, "size {size}: the slots");
        }
    }

    #[test]
    fn a_slot_unchanged_for_4096_laps_is_not_taken_for_a_lapped_one() {
        // 16 slots, blocks of 2: the second slot of each block is a held one. Successes leave
        // every slot as it was (lap 0) while the head laps the ring 4100 times: the slots' 13
        // bits of lap now read as later than the writer's. One writer is never lapped.
        let size = 16;
        let w = CountWindow::new(size);
        let t = own();
        let mut model = Model::new(size);
        for _ in 0..u64::from(size) * 4100 {
            model.push(OK);
            w.record(&t, 1, OK);
        }
        assert_eq!(w.head.load(Ordering::Relaxed) >> 32, 4100);
        let mut outcomes = Outcomes(7);
        for i in 0..64 {
            let s = outcomes.next();
            model.push(s);
            w.record(&t, 1, s);
            assert_eq!(w.counts(1), model.counts, "outcome {i}");
        }
        assert_eq!(w.head.load(Ordering::Relaxed) >> 32, 4104, "no block dropped");
        assert_eq!(recount(&w, 1), model.counts);
    }

    #[test]
    fn blocks_are_a_clamped_eighth_of_the_ring_and_never_wrap() {
        let blocks = |size| CountWindow::new(size).block;
        assert_eq!(
            [1, 10, 15, 16, 17, 100, 128, 129, 65_535].map(blocks),
            [1, 1, 1, 2, 2, 12, 16, 16, 16]
        );
        let w = CountWindow::new(100);
        let mut claimed: Vec<_> = (0..10).map(|_| w.claim(w.block)).collect();
        assert_eq!(claimed[8], (0, 96, 100), "the last block of a lap is short");
        assert_eq!(claimed[9], (1, 0, 12), "the next lap starts at slot 0");
        claimed.truncate(8);
        assert_eq!(claimed, (0..8).map(|i| (0, 12 * i, 12 * i + 12)).collect::<Vec<_>>());
        assert_eq!(w.head.load(Ordering::Relaxed), (1 << 32) | 12);
    }

    #[test]
    fn a_thread_writes_its_block_then_claims_the_next_one() {
        let w = CountWindow::new(100);
        let t = own();
        for _ in 0..97 {
            w.record(&t, 1, FAIL);
        }
        // Blocks [0, 12) .. [84, 96), then the short one [96, 100): 96 written, 3 left.
        assert_eq!(t.count_block.load(Ordering::Relaxed), block_word(0, 97, 100));
        assert_eq!(w.head.load(Ordering::Relaxed), 1 << 32, "the head moved once per block");
        for _ in 0..3 {
            w.record(&t, 1, FAIL);
        }
        assert_eq!(t.count_block.load(Ordering::Relaxed), block_word(0, 100, 100));
        w.record(&t, 1, OK);
        assert_eq!(t.count_block.load(Ordering::Relaxed), block_word(1, 1, 12));
        assert_eq!(w.slots[0].load(Ordering::Relaxed) & BITS, PRESENT, "slot 0 again");
        assert_eq!(w.counts(1).failures, 99);
    }

    /// Blocks shrink with the threads that write the window, so that all the slots claimed and
    /// not yet written stay under an eighth of the window.
    #[test]
    fn blocks_shrink_with_the_number_of_writers() {
        for (writers, block) in [(1, 12), (2, 6), (4, 3), (5, 2), (12, 1), (64, 1)] {
            let w = CountWindow::new(100);
            let t = own();
            w.record_among(&t, || writers, 1, FAIL);
            let expected = if block > 1 { block_word(0, 1, block) } else { 0 };
            assert_eq!(t.count_block.load(Ordering::Relaxed), expected, "{writers} writers");
            assert_eq!(w.head.load(Ordering::Relaxed), block, "{writers} writers");
            assert!((block - 1) * (writers - 1) < 100 / 8 + 1);
        }
    }

    #[test]
    fn the_overflow_stripe_claims_one_slot_per_outcome() {
        let w = CountWindow::new(100);
        let shared = Stripe::new(false);
        for i in 1..=3 {
            w.record(&shared, 1, FAIL);
            assert_eq!(w.head.load(Ordering::Relaxed), i);
        }
        assert_eq!(shared.count_block.load(Ordering::Relaxed), 0, "no block kept");
        assert_eq!(w.counts(1).failures, 3);
    }

    #[test]
    fn a_block_lapped_while_its_thread_was_idle_is_dropped() {
        let w = CountWindow::new(100);
        let (a, b) = (own(), own());
        // A claims [0, 12) of lap 0 and writes slot 0; B writes [12, 100) of lap 0, then [0, 12)
        // of lap 1 over A's block.
        w.record(&a, 1, FAIL);
        for _ in 0..100 {
            w.record(&b, 1, OK);
        }
        assert_eq!(w.counts(1).failures, 0, "B wrote over A's failure");
        assert_eq!(w.head.load(Ordering::Relaxed), (1 << 32) | 12);
        // A's next outcome finds lap 1 in slot 1: it claims [12, 24) of lap 1.
        assert_eq!(w.record(&a, 1, FAIL).map(|c| c.failures), Some(1));
        assert_eq!(a.count_block.load(Ordering::Relaxed), block_word(1, 13, 24));
        assert_eq!(w.slots[1].load(Ordering::Relaxed) & BITS, PRESENT, "B's success stands");
        assert_eq!(w.slots[12].load(Ordering::Relaxed) & BITS, PRESENT | FAILURE);
        assert_eq!(w.counts(1), recount(&w, 1));
        // The same outcome as the slot's, whatever its lap, writes nothing (and finds no lap).
        for _ in 0..11 {
            w.record(&b, 1, OK);
        }
        let head = w.head.load(Ordering::Relaxed);
        let c = own();
        w.record(&c, 1, FAIL);
        assert_eq!(w.head.load(Ordering::Relaxed), head + 12);
        assert_eq!(w.counts(1), recount(&w, 1));
        assert_eq!(w.counts(1).calls, 100);
    }

    #[test]
    fn a_new_generation_in_the_middle_of_a_block() {
        let w = CountWindow::new(100);
        let t = own();
        let mut model = Model::new(100);
        for _ in 0..5 {
            w.record(&t, 1, FAIL);
        }
        // The period ends: the rest of the block takes the new one's outcomes.
        assert_eq!(
            w.record(&t, 2, OK),
            Some(Counts {
                calls: 1,
                failures: 0,
                slow_calls: 0
            })
        );
        model.push(OK);
        assert_eq!(t.count_block.load(Ordering::Relaxed), block_word(0, 6, 12));
        assert_eq!(w.counts(1), Counts::default());
        let mut outcomes = Outcomes(11);
        for _ in 0..250 {
            let s = outcomes.next();
            model.push(s);
            w.record(&t, 2, s);
            assert_eq!(w.counts(2), model.counts);
        }
        assert_eq!(recount(&w, 2), model.counts);
    }

    #[test]
    fn a_block_claimed_in_an_old_period_writes_nothing_over_the_new_one() {
        let w = CountWindow::new(100);
        let (late, t) = (own(), own());
        // `late` claims [0, 12) in period 1 and sits on it; `t` moves to period 2 and laps it.
        w.record(&late, 1, FAIL);
        let mut model = Model::new(100);
        let mut outcomes = Outcomes(5);
        for _ in 0..250 {
            let s = outcomes.next();
            model.push(s);
            w.record(&t, 2, s);
            assert_eq!(w.counts(2), recount(&w, 2));
        }
        assert_eq!(
            w.counts(2),
            model.counts,
            "t's last 100: it has written every slot since"
        );
        let held = late.count_block.load(Ordering::Relaxed);
        assert_eq!(w.record(&late, 1, FAIL), None, "a newer period's outcome in its slot");
        assert_eq!(
            late.count_block.load(Ordering::Relaxed),
            held.wrapping_add(BLOCK_TAKE),
            "slot taken"
        );
        assert_eq!(w.counts(2), model.counts);
        assert_eq!(recount(&w, 2), model.counts);
    }

    #[test]
    fn an_outcome_like_the_one_it_replaces_keeps_the_counts() {
        let w = CountWindow::new(2);
        let t = own();
        w.record(&t, 1, FAIL);
        w.record(&t, 1, OK);
        let full = Counts {
            calls: 2,
            failures: 1,
            slow_calls: 0,
        };
        assert_eq!(
            w.record(&t, 1, FAIL),
            None,
            "a failure over a failure: nothing to judge"
        );
        assert_eq!(w.record(&t, 1, OK), None, "a success over a success: nothing to judge");
        assert_eq!(w.counts(1), full);
        w.rules_changed();
        assert_eq!(
            w.record(&t, 1, FAIL),
            Some(full),
            "new rules judge the counts that stand"
        );
        assert_eq!(w.record(&t, 1, OK), None, "once");
        assert_eq!(
            w.record(&t, 2, OK).map(|c| c.calls),
            Some(1),
            "a new period over the old one"
        );
        assert_eq!(w.record(&t, 1, OK), None, "an older period's outcome is not judged");
    }

    #[test]
    fn two_writers_of_one_slot_applying_in_either_order_leave_exact_counts() {
        let w = CountWindow::new(1);
        let t = own();
        w.record(&t, 1, OK);
        // Writer A puts a failure over the success; writer B, a lap later, a success over
        // A's failure, and B's difference lands first (A was preempted in between).
        let bits_a = PRESENT | FAILURE;
        let Put::Replaced(old_a) = w.put_at(0, 1, 1, bits_a, false) else {
            panic!("A's put")
        };
        let Put::Replaced(old_b) = w.put_at(0, 2, 1, PRESENT, false) else {
            panic!("B's put")
        };
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
        let t = own();
        w.record(&t, 2, FAIL);
        assert_eq!(w.record(&t, 1, OK), None, "not judged");
        assert_eq!(w.record(&t, 1, OK), None, "not judged");
        assert_eq!(w.counts(2).failures, 1, "the new period's failure is still in its slot");
        w.record(&t, 2, OK);
        w.record(&t, 2, OK);
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
        let t = own();
        w.record(&t, 40_000, FAIL);
        w.record(&t, 40_000, FAIL);
        // 40 000 transitions later with no outcome in the window (a backend down for weeks,
        // probes failing): in 16 bits the old tag looks ahead of the current one.
        let now = 40_000u16.wrapping_add(40_000);
        assert_eq!(w.record(&t, now, OK).map(|c| c.calls), Some(1));
        assert_eq!(
            w.record(&t, now, OK),
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
        let t = own();
        w.record(&t, 1, FAIL);
        w.record(&t, 1, FAIL);
        assert_eq!(
            w.record(&t, 2, OK).unwrap(),
            Counts {
                calls: 1,
                failures: 0,
                slow_calls: 0
            }
        );
        assert_eq!(w.record(&t, 1, FAIL), None);
        assert_eq!(w.counts(2).calls, 1);
        assert_eq!(w.counts(1), Counts::default());
    }

    #[test]
    fn concurrent_records_stay_consistent() {
        let w = Arc::new(CountWindow::new(100));
        let threads: Vec<_> = (0..2)
            .map(|t| {
                let w = w.clone();
                std::thread::spawn(move || {
                    let stripe = own();
                    for i in 0..20_000 {
                        w.record(&stripe, 1, if (i + t) % 4 == 0 { FAIL } else { OK });
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(w.counts(1).calls, 100);
        assert_eq!(w.counts(1).failures, recount(&w, 1).failures);
    }

    #[test]
    fn threads_hammering_with_random_outcomes_leave_the_aggregate_equal_to_the_slots() {
        for (size, threads) in [(100, 2), (100, 4), (7, 3), (16, 4), (1000, 3)] {
            let w = Arc::new(CountWindow::new(size));
            // The last thread writes through the shared overflow stripe, one slot at a time,
            // turn about with a second writer of that stripe.
            let shared = Arc::new(Stripe::new(false));
            let handles: Vec<_> = (0..threads)
                .map(|t| {
                    let (w, shared) = (w.clone(), shared.clone());
                    std::thread::spawn(move || {
                        let stripe = if t + 1 == threads { None } else { Some(own()) };
                        let mut outcomes = Outcomes(0x2545_F491_4F6C_DD1D ^ (t as u64 + 1));
                        for i in 0..30_000u32 {
                            let s = outcomes.next();
                            match &stripe {
                                Some(own) => w.record(own, 1, s),
                                None => w.record(&shared, 1, s),
                            };
                            if i % 1000 == 0 {
                                std::thread::yield_now();
                            }
                        }
                    })
                })
                .chain(std::iter::once({
                    let (w, shared) = (w.clone(), shared.clone());
                    std::thread::spawn(move || {
                        let mut outcomes = Outcomes(99);
                        for _ in 0..10_000 {
                            w.record(&shared, 1, outcomes.next());
                        }
                    })
                }))
                .collect();
            for h in handles {
                h.join().unwrap();
            }
            let counts = w.counts(1);
            assert_eq!(counts, recount(&w, 1), "size {size}, {threads} threads");
            assert_eq!(counts.calls, u64::from(size), "size {size}: every slot written");
        }
    }
}
