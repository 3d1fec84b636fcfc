//! Exact period times. The stamp word holds a period's time in whole milliseconds (rounded
//! up) beside its generation; the fine word holds the nanoseconds below the millisecond beside
//! the same generation, so an open deadline is exact to the nanosecond: a breaker leaves Open
//! strictly after its wait, not up to a millisecond later.
//!
//! The writer of a period writes the fine word first, then the stamp, both only while its
//! period is in force. So a reader that finds the stamp of its generation but a fine word of
//! another reads a period that is over (a later period's writer has begun): it gets the
//! earliest time the stamp allows, which no transition can act on (the state word has moved
//! on), and no wait it reports exceeds the one that was set.
//!
//! Every period is stamped (those other than Open and HalfOpen with no time, when they are
//! announced), and only while it is in force, so its 16 bits of generation never trail the
//! state word by more than the transitions racing with its writer.

use super::CircuitBreaker;
use super::word::{stamp, stamp_nanos};
use std::sync::atomic::Ordering;

const NANOS_PER_MILLI: u64 = 1_000_000;
const FINE_SHIFT: u32 = 24;
const GEN_MASK: u64 = (1 << FINE_SHIFT) - 1;

/// Packs the nanoseconds below the millisecond of `nanos` with `generation`.
fn fine(nanos: u64, generation: u64) -> u64 {
    ((nanos % NANOS_PER_MILLI) << FINE_SHIFT) | (generation & GEN_MASK)
}

/// The exact time of a stamp and fine word of `generation`, or (a later period's writer has
/// begun) the earliest its stamp allows.
fn exact(stamp: u64, fine: u64, generation: u64) -> Option<u64> {
    let ceil = stamp_nanos(stamp, generation)?;
    if fine & GEN_MASK != generation & GEN_MASK {
        return Some(ceil.saturating_sub(NANOS_PER_MILLI - 1));
    }
    let below = fine >> FINE_SHIFT;
    Some(if below == 0 {
        ceil
    } else {
        ceil - NANOS_PER_MILLI + below
    })
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
        self.write_stamp_while(nanos, generation, || self.load().generation() == generation);
    }

    /// [`write_stamp`](Self::write_stamp) under a narrower condition, checked the same way:
    /// `holds` implies that period `generation` is in force.
    pub(super) fn write_stamp_while(&self, nanos: u64, generation: u64, holds: impl Fn() -> bool) {
        let new_fine = fine(nanos, generation);
        let _ = self
            .stamp_fine
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |_| holds().then_some(new_fine));
        let new = stamp(nanos, generation);
        let _ = self
            .stamp
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |_| holds().then_some(new));
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
        for nanos in [0, 1, 999_999, 1_000_000, 1_000_001, 30_000_000_001, 30_000_999_999] {
            assert_eq!(exact(stamp(nanos, 7), fine(nanos, 7), 7), Some(nanos), "{nanos}");
        }
        assert_eq!(
            exact(stamp(30_000_000_001, 7), fine(5, 8), 7),
            Some(30_000_000_001),
            "a period that is over: the earliest time its stamp allows"
        );
        assert_eq!(exact(stamp(30_000_000_001, 7), fine(1, 7), 8), None, "another period");
    }
}
