//! Exact period times. The stamp word holds a period's time in whole milliseconds (rounded
//! up) beside its generation; the fine word holds the nanoseconds below that millisecond, the
//! millisecond's low 20 bits and the same generation, so an open deadline is exact to the
//! nanosecond: a breaker leaves Open strictly after its wait, not up to a millisecond later.
//!
//! The writer of a period writes the fine word first, then the stamp, both only while its
//! period is in force. So a reader that finds the stamp of its generation but a fine word of
//! another reads a period that is over (a later period's writer has begun): it gets the
//! earliest time the stamp allows, which no transition can act on (the state word has moved
//! on), and no wait it reports exceeds the one that was set.
//!
//! A HalfOpen period's time is the start of its newest probe, and it has many writers (its
//! transition, each probe, a reconfiguration): each writes only a time later than the one
//! there ([`write_latest`](CircuitBreaker::write_latest)), so a probe that reads its time late
//! (preempted after taking its slot) still counts. Writers that race can leave the fine word
//! of another millisecond than the stamp's: a reader then takes the stamp's millisecond,
//! rounded up (at most 1 ms late, never early).
//!
//! Every period is stamped (those other than Open and HalfOpen with no time, when they are
//! announced), and only while it is in force, so its 16 bits of generation never trail the
//! state word by more than the transitions racing with its writer.

use super::CircuitBreaker;
use super::word::{stamp, stamp_millis, stamp_of};
use std::sync::atomic::Ordering;

const NANOS_PER_MILLI: u64 = 1_000_000;
const FINE_SHIFT: u32 = 24;
const GEN_MASK: u64 = (1 << FINE_SHIFT) - 1;
const BELOW_MASK: u64 = (1 << 20) - 1;
const MILLI_SHIFT: u32 = FINE_SHIFT + 20;
const MILLI_MASK: u64 = (1 << (64 - MILLI_SHIFT)) - 1;

/// Packs the nanoseconds below the millisecond of `nanos` (and that millisecond's low bits,
/// rounded up as the stamp has it) with `generation`.
fn fine(nanos: u64, generation: u64) -> u64 {
    let millis = stamp_millis(stamp(nanos, 0)) & MILLI_MASK;
    (millis << MILLI_SHIFT) | ((nanos % NANOS_PER_MILLI) << FINE_SHIFT) | (generation & GEN_MASK)
}

/// Where in its millisecond a fine word's time lies, from 1 to 1,000,000 (a whole millisecond
/// is its last nanosecond, as the stamp rounds up).
fn within_milli(fine: u64) -> u64 {
    match (fine >> FINE_SHIFT) & BELOW_MASK {
        0 => NANOS_PER_MILLI,
        below => below,
    }
}

/// The exact time of a stamp and fine word of `generation`, or (a later period's writer has
/// begun) the earliest its stamp allows, or (racing writers of a HalfOpen period left a fine
/// word of another millisecond) the latest.
fn exact(stamp: u64, fine: u64, generation: u64) -> Option<u64> {
    if !stamp_of(stamp, generation) {
        return None;
    }
    // In 128 bits: the millisecond rounded up past the last of u64 nanoseconds is no time.
    let ceil = u128::from(stamp_millis(stamp)) * u128::from(NANOS_PER_MILLI);
    let nanos = if fine & GEN_MASK != generation & GEN_MASK {
        ceil.saturating_sub(u128::from(NANOS_PER_MILLI - 1))
    } else if fine >> MILLI_SHIFT != stamp_millis(stamp) & MILLI_MASK {
        ceil
    } else {
        (ceil + u128::from(within_milli(fine))).saturating_sub(u128::from(NANOS_PER_MILLI))
    };
    Some(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl CircuitBreaker {
    /// Stamps period `generation` with time `nanos`, while it is the period in force: a writer
    /// that comes late (a later period began, and may have its stamp already) writes nothing.
    ///
    /// Each word is written by a compare-and-swap whose closure checks the state word: if a
    /// later period's writer stamps in between, the swap fails and the check, made again,
    /// fails too. (Comparing the stamps' generations (24 bits then) instead took the stamp of an
    /// Open period 2^23 transitions after the last stamped one, with only Closed periods
    /// between, for an older one: that Open period never ended.)
    pub(super) fn write_stamp(&self, nanos: u64, generation: u64) {
        let in_force = || self.load().generation() == generation;
        let new_fine = fine(nanos, generation);
        let _ = self
            .stamp_fine
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |_| in_force().then_some(new_fine));
        let new = stamp(nanos, generation);
        let _ = self
            .stamp
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |_| in_force().then_some(new));
    }

    /// Stamps HalfOpen period `generation` with `nanos` if that is later than its time so far,
    /// while the period is in force: the time of its newest probe, whatever order their
    /// writes land in.
    pub(super) fn write_latest(&self, nanos: u64, generation: u64) {
        let in_force = || self.load().generation() == generation;
        let new_fine = fine(nanos, generation);
        let new = stamp(nanos, generation);
        // A stamp of another period, or of a millisecond not after this time's.
        let not_after_new = |held: u64| !stamp_of(held, generation) || stamp_millis(held) <= stamp_millis(new);
        // Not later than the stamp's millisecond: another millisecond's nanoseconds would do
        // (the reader rounds up), and this one's would be early.
        let not_behind = || not_after_new(self.stamp.load(Ordering::Acquire));
        let _ = self
            .stamp_fine
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
                let later = if old & GEN_MASK != generation & GEN_MASK {
                    true
                } else if old >> MILLI_SHIFT == new_fine >> MILLI_SHIFT {
                    within_milli(new_fine) > within_milli(old)
                } else {
                    not_behind()
                };
                (later && in_force()).then_some(new_fine)
            });
        let _ = self.stamp.fetch_update(Ordering::AcqRel, Ordering::Acquire, |old| {
            (not_after_new(old) && in_force()).then_some(new)
        });
    }

    /// The time of period `generation`: its open deadline (Open) or start (HalfOpen), if
    /// stamped yet.
    pub(super) fn stamp_time(&self, generation: u64) -> Option<u64> {
        let stamp = self.stamp.load(Ordering::Acquire);
        let fine = self.stamp_fine.load(Ordering::Acquire);
        exact(stamp, fine, generation)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_exact_to_the_nanosecond() {
        for nanos in [
            0,
            1,
            999_999,
            1_000_000,
            1_000_001,
            30_000_000_001,
            30_000_999_999,
            u64::MAX - 400_000,
            u64::MAX,
        ] {
            assert_eq!(exact(stamp(nanos, 7), fine(nanos, 7), 7), Some(nanos), "{nanos}");
        }
        assert_eq!(
            exact(stamp(30_000_000_001, 7), fine(5, 8), 7),
            Some(30_000_000_001),
            "a period that is over: the earliest time its stamp allows"
        );
        assert_eq!(exact(stamp(30_000_000_001, 7), fine(1, 7), 8), None, "another period");
    }

    #[test]
    fn racing_half_open_writers_leave_a_time_late_by_under_a_millisecond_never_early() {
        // The stamp of the later probe (12.000000001s) beside the fine word of an earlier one
        // in another millisecond: the stamp's millisecond, rounded up.
        let later = 12_000_000_001;
        for earlier in [11_500_000_000, 11_999_999_999, 1] {
            assert_eq!(
                exact(stamp(later, 7), fine(earlier, 7), 7),
                Some(12_001_000_000),
                "{earlier}"
            );
        }
        // The same millisecond's low bits 2^20 ms apart: the earlier one's nanoseconds within
        // the later millisecond (only a later one's nanoseconds ever replace a fine word of
        // the same millisecond bits, so this is never before the later time).
        let later = 2_000_000_000_001;
        let wrapped = later - (1 << 20) * NANOS_PER_MILLI + 500;
        assert_eq!(exact(stamp(later, 7), fine(wrapped, 7), 7), Some(2_000_000_000_501));
    }
}
