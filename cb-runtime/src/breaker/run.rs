//! The run of consecutive failures, ended by successes that write nothing other threads share.
//!
//! The run word is `generation:8 | run:24 | failures:32`: the period it belongs to, the length
//! of the run as far as the failures alone tell, and the failures counted since the breaker
//! was built (low 32 bits, across periods). A success leaves a [`mark`] in its own thread's
//! stripe when the word has moved since its last one: "a success of period G after failure
//! number F". A failure lengthens the run in the word, and only once that reaches the limit
//! reads the stripes' marks ([`cut`]) for the true run: the failures after the latest success
//! (or after the period began), and writes it back ([`shorten`]). A success recorded before a
//! run is judged ends it, even one recorded after the run's last failure (a stripe keeps only
//! its thread's latest mark).
//!
//! So while nothing fails a success reads the word (which stays in every core's cache) and
//! writes nothing; after a failure it writes its own stripe once; and a failure reads other
//! threads' stripes once in `limit` failures at most instead of every time (reading them on
//! every failure made two threads at 10 % failures slower than one).
//!
//! Bounds, by construction: a run of more than [`MAX_RUN`] failures reads as `MAX_RUN` (the
//! configuration caps the limit there, so no trip depends on it); a mark is compared in 32 bits
//! of generation and 32 of failures, so a success of a period 2^32 transitions back, or one
//! 2^32 failures back in a period that long, could be taken for a recent one. Eight bits of
//! generation in the word tell a failure of a later period from one of an earlier period
//! recorded late (records of a period 128 or more transitions back are already dropped by the
//! caller's check of the state word). They can only because every transition moves the word on
//! to its period ([`begin`]).

const GENERATION_SHIFT: u32 = 56;
const RUN_SHIFT: u32 = 32;

/// The longest run the word counts, and so the highest `consecutive_failures` a configuration
/// accepts.
pub(crate) const MAX_RUN: u32 = (1 << 24) - 1;

/// The fields of a run word: generation, run, failures.
fn split(word: u64) -> (u8, u32, u32) {
    (
        (word >> GENERATION_SHIFT) as u8,
        (word >> RUN_SHIFT) as u32 & MAX_RUN,
        word as u32,
    )
}

fn pack(generation: u8, run: u32, failures: u32) -> u64 {
    (u64::from(generation) << GENERATION_SHIFT) | (u64::from(run) << RUN_SHIFT) | u64::from(failures)
}

/// Whether `held` (a run word's generation) belongs to a period after `generation`'s.
fn later(held: u8, generation: u8) -> bool {
    (generation.wrapping_sub(held) as i8) < 0
}

/// The run word after one failure of period `generation`, and the run's length as far as the
/// failures tell (an upper bound: successes are not read here); `None` when the word holds a
/// later period's run (a late failure of an earlier period is not counted in it).
#[inline]
pub(crate) fn lengthen(held: u64, generation: u64) -> Option<(u64, u32)> {
    let generation = generation as u8;
    let (g, run, failures) = split(held);
    if later(g, generation) {
        return None;
    }
    let run = if g == generation { (run + 1).min(MAX_RUN) } else { 1 };
    Some((pack(generation, run, failures.wrapping_add(1)), run))
}

/// The run word once period `generation` has begun: no run, of that period; `None` when the
/// word holds that period or a later one already (a failure of the new period counted first,
/// or a later transition announced first).
pub(crate) fn begin(held: u64, generation: u64) -> Option<u64> {
    let generation = generation as u8;
    let (g, _, failures) = split(held);
    (g != generation && !later(g, generation)).then(|| pack(generation, 0, failures))
}

/// What a success of period `generation` leaves in its stripe, the run word being `held`:
/// the period's generation (low 32 bits) and the failures counted before it. `None` when the
/// word is of another period (a success of an ended period ends no run; in a period whose
/// beginning has not reached the word, the beginning itself ends every run before it).
#[inline(always)]
pub(crate) fn mark(held: u64, generation: u64) -> Option<u64> {
    ((held >> GENERATION_SHIFT) as u8 == generation as u8).then_some((generation << 32) | (held & 0xFFFF_FFFF))
}

/// How far past a failure a mark may be and still be taken as a success after it, not as one
/// 2^32 failures older (a thread judging its run may be descheduled while others count).
const AHEAD: u32 = 1 << 24;

/// The run of `run` failures up to failure number `failures` of period `generation`, once the
/// success that left `mark` is taken into account: the failures after it if it came within
/// the run, none if it came after the run's last failure (a success recorded before a run is
/// judged ends it: a stripe keeps only its latest mark, so one past the failure hides whether
/// that thread had one within the run too), else `run`.
#[inline]
pub(crate) fn cut(run: u32, failures: u32, generation: u64, mark: u64) -> u32 {
    if mark >> 32 != generation & 0xFFFF_FFFF {
        return run;
    }
    if (mark as u32).wrapping_sub(failures) < AHEAD {
        return 0;
    }
    run.min(failures.wrapping_sub(mark as u32))
}

/// The run word with its run cut to the failures after the success that left `mark`; `None`
/// when that changes nothing (another period's word, or a success before the run).
pub(crate) fn shorten(held: u64, generation: u64, mark: u64) -> Option<u64> {
    let (g, run, failures) = split(held);
    if g != generation as u8 {
        return None;
    }
    let cut = cut(run, failures, generation, mark);
    (cut < run).then(|| pack(g, cut, failures))
}

/// The run of period `generation` in `held` as the failures alone tell, with its last
/// failure's number; `None` when the word is of another period (no run of this one).
pub(crate) fn held_run(held: u64, generation: u64) -> Option<(u32, u32)> {
    let (g, run, failures) = split(held);
    (g == generation as u8).then_some((run, failures))
}

/// Whether mark `new` is of a later success than `old` (for a stripe threads share).
pub(crate) fn newer_mark(new: u64, old: u64) -> bool {
    let (new_gen, old_gen) = ((new >> 32) as u32, (old >> 32) as u32);
    if new_gen != old_gen {
        return (new_gen.wrapping_sub(old_gen) as i32) > 0;
    }
    ((new as u32).wrapping_sub(old as u32) as i32) > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failures(word: &mut u64, generation: u64, n: u32) -> u32 {
        let mut run = 0;
        for _ in 0..n {
            let (next, length) = lengthen(*word, generation).unwrap();
            *word = next;
            run = length;
        }
        run
    }

    /// The true run of `word` (period `generation`) with `marks` left, as a snapshot reads it.
    fn true_run(word: u64, generation: u64, marks: &[u64]) -> u32 {
        let (run, last) = held_run(word, generation).unwrap_or((0, 0));
        marks.iter().fold(run, |r, m| cut(r, last, generation, *m))
    }

    #[test]
    fn failures_lengthen_the_run_until_a_success_is_marked() {
        let mut word = 0;
        assert_eq!(failures(&mut word, 0, 3), 3, "no success yet: one run from the start");
        let success = mark(word, 0).unwrap();
        assert_eq!(
            true_run(word, 0, &[success]),
            0,
            "a success after the last failure ends it"
        );
        assert_eq!(failures(&mut word, 0, 2), 5, "the failures alone do not see it");
        assert_eq!(true_run(word, 0, &[success]), 2, "the marks do");
        let shorter = shorten(word, 0, success).unwrap();
        assert_eq!(held_run(shorter, 0), Some((2, 5)));
        assert_eq!(shorten(shorter, 0, success), None, "nothing left to cut");
        assert_eq!(lengthen(shorter, 0).unwrap().1, 3);
    }

    #[test]
    fn a_success_recorded_before_a_run_is_judged_ends_it() {
        let mut word = 0;
        failures(&mut word, 4, 5);
        let (run, last) = held_run(word, 4).unwrap();
        let at = mark(word, 4).unwrap();
        assert_eq!(cut(run, last, 4, at), 0, "a success after the failure judged");
        failures(&mut word, 4, 1_000);
        let later = mark(word, 4).unwrap();
        assert_eq!(cut(run, last, 4, later), 0, "its stripe's mark moved on past the run");
        assert_eq!(
            cut(run, last.wrapping_add(AHEAD), 4, at),
            run,
            "2^32 - 2^24 failures old"
        );
    }

    #[test]
    fn marks_of_other_periods_or_before_the_run_cut_nothing() {
        let mut word = 0;
        failures(&mut word, 7, 4);
        let old = mark(word, 7).unwrap();
        word = begin(word, 8).unwrap();
        assert_eq!(failures(&mut word, 8, 3), 3);
        assert_eq!(true_run(word, 8, &[old]), 3, "a success of period 7");
        assert_eq!(mark(word, 7), None, "period 7 is over: its successes leave nothing");
        let mut word = pack(7, 0, 1_000);
        let early = (7 << 32) | 990;
        assert_eq!(failures(&mut word, 7, 3), 3);
        assert_eq!(true_run(word, 7, &[early]), 3, "a success before the period's run");
    }

    #[test]
    fn a_new_period_starts_a_new_run_and_a_late_failure_of_an_old_one_is_not_counted() {
        let mut word = 0;
        failures(&mut word, 7, 4);
        assert_eq!(held_run(word, 8), None);
        assert_eq!(failures(&mut word, 8, 1), 1);
        assert_eq!(lengthen(word, 7), None, "period 7 is over");
        assert_eq!(failures(&mut word, 100, 1), 1);
        assert_eq!(failures(&mut word, 200, 1), 1);
        assert_eq!(failures(&mut word, 256, 1), 1, "generations wrap");
        assert_eq!(lengthen(word, 200), None);
    }

    #[test]
    fn a_new_period_moves_the_word_on_unless_it_is_there_already() {
        let mut word = 0;
        failures(&mut word, 5, 3);
        let begun = begin(word, 6).unwrap();
        assert_eq!(held_run(begun, 6), Some((0, 3)), "no run; the failures counted stay");
        assert_eq!(lengthen(begun, 6).unwrap().1, 1);
        assert_eq!(lengthen(begun, 5), None, "period 5 is over");
        assert_eq!(begin(begun, 6), None, "period 6 began already");
        let counted = lengthen(begun, 6).unwrap().0;
        assert_eq!(begin(counted, 6), None, "a failure of period 6 counted first stays");
        assert_eq!(begin(counted, 5), None, "period 5's announcement came late");
        let mut word = 0;
        for generation in 1..1_000u64 {
            word = begin(word, generation).unwrap();
        }
        assert_eq!(failures(&mut word, 1_000, 2), 2, "the word followed every period");
    }

    #[test]
    fn runs_reach_the_longest_limit_a_configuration_accepts_and_stay_there() {
        let word = pack(3, MAX_RUN - 1, 5);
        assert_eq!(lengthen(word, 3), Some((pack(3, MAX_RUN, 6), MAX_RUN)));
        assert_eq!(lengthen(pack(3, MAX_RUN, 6), 3).unwrap().1, MAX_RUN, "saturates");
    }

    #[test]
    fn failure_numbers_wrap() {
        let mut word = pack(1, 0, u32::MAX - 1);
        let success = mark(word, 1).unwrap();
        assert_eq!(failures(&mut word, 1, 4), 4);
        assert_eq!(held_run(word, 1), Some((4, 2)));
        assert_eq!(true_run(word, 1, &[success]), 4);
        let later_success = mark(word, 1).unwrap();
        assert!(newer_mark(later_success, success) && !newer_mark(success, later_success));
        assert!(newer_mark(2 << 32, success), "a later period's");
    }
}
