//! The run of consecutive failures, ended by successes without a write of theirs.
//!
//! The run word is `generation:8 | run:32 | successes:24`: the length of the run, the period
//! it belongs to, and the breaker's count of successes (low 24 bits, summed over its stripes;
//! a success recorded after its period ended is counted as stale too, and ends no run) when
//! its last failure was counted. A success only counts itself in its thread's stripe, as
//! it must anyway; the next failure finds the count moved on and starts a new run. So a
//! success writes nothing that other threads share (a write per success that ends a run, and a
//! read per success, made two threads at 10 % failures barely faster than one), and a failure
//! reads the stripes' success counts, which a breaker called from one thread keeps in one.
//!
//! 24 bits of successes alone would miss the successes between two failures when they are a
//! multiple of 16,777,216, and the second failure could then complete a run they ended. So a
//! success that brings its stripe's count to a multiple of [`ROUND`] (65,536) ends the run
//! itself, with a write of its own: 16,777,216 successes over at most 65 stripes put at least
//! 258,000 in one of them, which passes such a multiple three times or more, at least once
//! after the failure before them. One write per 65,536 successes of a thread costs nothing
//! measurable. Eight bits of generation tell a failure of a later period
//! from one of an earlier period recorded late (records of a period 128 or more transitions
//! back are already dropped by the caller's check of the state word). They can only because
//! every transition moves the word on to its period ([`begin`]): a word left alone for 128
//! transitions (no failure in Closed: resets, an outage of failed probes) would look like a
//! later period's and drop every failure after it, and one left for 256 would carry its run
//! into the period in force.

const GENERATION_SHIFT: u32 = 56;
const RUN_SHIFT: u32 = 24;
const SUCCESS_MASK: u64 = (1 << RUN_SHIFT) - 1;

/// The fields of a run word: generation, run, successes.
fn split(word: u64) -> (u8, u32, u64) {
    (
        (word >> GENERATION_SHIFT) as u8,
        (word >> RUN_SHIFT) as u32,
        word & SUCCESS_MASK,
    )
}

fn pack(generation: u8, run: u32, successes: u64) -> u64 {
    (u64::from(generation) << GENERATION_SHIFT) | (u64::from(run) << RUN_SHIFT) | (successes & SUCCESS_MASK)
}

/// The run word after one failure of period `generation` with `successes` counted so far, and
/// the run's length; `None` when the word holds a later period's run (a late failure of an
/// earlier period is not counted in it).
#[inline]
pub(crate) fn lengthen(held: u64, generation: u64, successes: u64) -> Option<(u64, u32)> {
    let generation = generation as u8;
    let (g, run, counted) = split(held);
    if g != generation && (generation.wrapping_sub(g) as i8) < 0 {
        return None;
    }
    let run = if g == generation && counted == successes & SUCCESS_MASK {
        run.saturating_add(1)
    } else {
        1
    };
    Some((pack(generation, run, successes), run))
}

/// The run word once period `generation` has begun: no run, of that period; `None` when the
/// word holds that period or a later one already (a failure of the new period counted first,
/// or a later transition announced first).
pub(crate) fn begin(held: u64, generation: u64) -> Option<u64> {
    let generation = generation as u8;
    let (g, _, _) = split(held);
    ((generation.wrapping_sub(g) as i8) > 0).then(|| pack(generation, 0, 0))
}

/// Successes a stripe counts between two that end the run with a write (see the module doc).
pub(crate) const ROUND: u64 = 1 << 16;

/// Whether a success that brought its stripe's count of successes to `count` ends the run.
#[inline(always)]
pub(crate) fn ends_round(count: u64) -> bool {
    count & (ROUND - 1) == 0
}

/// The run word with the run of period `generation` ended; `None` (nothing to write) when no
/// run of that period is going on.
pub(crate) fn end(held: u64, generation: u64) -> Option<u64> {
    let (g, run, counted) = split(held);
    (g == generation as u8 && run != 0).then(|| pack(g, 0, counted))
}

/// The length of the run in period `generation` with `successes` counted so far (0 once a
/// success has been counted since its last failure).
pub(crate) fn length(held: u64, generation: u64, successes: u64) -> u32 {
    let (g, run, counted) = split(held);
    if g == generation as u8 && counted == successes & SUCCESS_MASK {
        run
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(word: &mut u64, generation: u64, successes: u64, n: u32) -> u32 {
        let mut run = 0;
        for _ in 0..n {
            let (next, length) = lengthen(*word, generation, successes).unwrap();
            *word = next;
            run = length;
        }
        run
    }

    #[test]
    fn failures_lengthen_the_run_until_a_success_is_counted() {
        let mut word = 0;
        assert_eq!(
            failures(&mut word, 0, 0, 3),
            3,
            "no success yet: one run from the start"
        );
        assert_eq!(length(word, 0, 0), 3);
        assert_eq!(length(word, 0, 1), 0, "a success counted since ends it");
        assert_eq!(failures(&mut word, 0, 1, 1), 1, "the next failure starts a new run");
        assert_eq!(failures(&mut word, 0, 1, 4), 5);
    }

    #[test]
    fn a_new_period_starts_a_new_run_and_a_late_failure_of_an_old_one_is_not_counted() {
        let mut word = 0;
        failures(&mut word, 7, 10, 4);
        assert_eq!(length(word, 8, 10), 0);
        assert_eq!(failures(&mut word, 8, 10, 1), 1);
        assert_eq!(lengthen(word, 7, 10), None, "period 7 is over");
        assert_eq!(failures(&mut word, 100, 10, 1), 1);
        assert_eq!(failures(&mut word, 200, 10, 1), 1);
        assert_eq!(failures(&mut word, 256, 10, 1), 1, "generations wrap");
        assert_eq!(lengthen(word, 200, 10), None);
    }

    #[test]
    fn a_new_period_moves_the_word_on_unless_it_is_there_already() {
        let mut word = 0;
        failures(&mut word, 5, 10, 3);
        let begun = begin(word, 6).unwrap();
        assert_eq!(length(begun, 6, 10), 0);
        assert_eq!(lengthen(begun, 6, 10).unwrap().1, 1);
        assert_eq!(lengthen(begun, 5, 10), None, "period 5 is over");
        assert_eq!(begin(begun, 6), None, "period 6 began already");
        let counted = lengthen(begun, 6, 10).unwrap().0;
        assert_eq!(begin(counted, 6), None, "a failure of period 6 counted first stays");
        assert_eq!(begin(counted, 5), None, "period 5's announcement came late");
        let mut word = 0;
        for generation in 1..1_000u64 {
            word = begin(word, generation).unwrap();
        }
        assert_eq!(failures(&mut word, 1_000, 0, 2), 2, "the word followed every period");
    }

    #[test]
    fn ending_a_run_clears_it_for_its_period_only() {
        let mut word = 0;
        failures(&mut word, 4, 9, 3);
        assert_eq!(end(word, 5), None, "another period's run is not this one's to end");
        let ended = end(word, 4).unwrap();
        assert_eq!(length(ended, 4, 9), 0);
        assert_eq!(end(ended, 4), None, "nothing left to end");
        assert_eq!(
            lengthen(ended, 4, 9),
            Some((pack(4, 1, 9), 1)),
            "even with the count aliased"
        );
        assert!(ends_round(ROUND) && ends_round(7 * ROUND) && !ends_round(ROUND + 1));
    }

    #[test]
    fn runs_reach_every_limit_a_configuration_accepts() {
        let word = pack(3, u32::MAX - 1, 5);
        assert_eq!(lengthen(word, 3, 5), Some((pack(3, u32::MAX, 5), u32::MAX)));
        assert_eq!(lengthen(pack(3, u32::MAX, 5), 3, 5).unwrap().1, u32::MAX, "saturates");
    }

    #[test]
    fn success_counts_are_compared_in_their_low_bits() {
        let mut word = 0;
        failures(&mut word, 1, u64::MAX, 2);
        assert_eq!(length(word, 1, u64::MAX), 2);
        assert_eq!(failures(&mut word, 1, 0, 1), 1, "the count wrapped: successes happened");
    }
}
