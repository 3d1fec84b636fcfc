//! The packed atomic words of a breaker.
//!
//! State word: `kind:3 | in_flight:13 | successes:13 | generation:35`. Every transition bumps
//! the generation, so a permit knows whether the period it was issued in is still current, and
//! windows tagged with a generation are reset simply by the breaker moving on.
//!
//! Stamp word: `millis:48 | generation:16`, the open deadline (Open) or start (HalfOpen) of the
//! period with that generation (every other period is stamped with time 0); written right after
//! the transition that starts the period, and in HalfOpen with a max wait again by each probe
//! as it takes its slot (see `deadline`).

use crate::State;

const KIND_BITS: u32 = 3;
const COUNT_BITS: u32 = 13;
const IN_FLIGHT_SHIFT: u32 = KIND_BITS;
const SUCCESS_SHIFT: u32 = KIND_BITS + COUNT_BITS;
const GEN_SHIFT: u32 = KIND_BITS + 2 * COUNT_BITS;
const COUNT_MASK: u64 = (1 << COUNT_BITS) - 1;

/// Whether generation `a` comes after `b` (generations wrap: the nearer way round decides).
pub(crate) fn generation_after(a: u64, b: u64) -> bool {
    const BITS: u32 = 64 - GEN_SHIFT;
    let d = a.wrapping_sub(b) & ((1 << BITS) - 1);
    d != 0 && d < 1 << (BITS - 1)
}

/// A decoded view of the state word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Word(pub(crate) u64);

impl Word {
    pub(crate) fn new(state: State, generation: u64) -> Word {
        Word(state as u64 | (generation << GEN_SHIFT))
    }

    pub(crate) fn state(self) -> State {
        State::from_bits(self.0 & ((1 << KIND_BITS) - 1))
    }

    /// Whether the state is Closed (one mask and compare: the hot path's test).
    #[inline]
    pub(crate) fn is_closed(self) -> bool {
        self.0 & ((1 << KIND_BITS) - 1) == State::Closed as u64
    }

    pub(crate) fn in_flight(self) -> u32 {
        ((self.0 >> IN_FLIGHT_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) fn successes(self) -> u32 {
        ((self.0 >> SUCCESS_SHIFT) & COUNT_MASK) as u32
    }

    pub(crate) fn generation(self) -> u64 {
        self.0 >> GEN_SHIFT
    }

    /// The next period: another state, counters cleared, generation bumped.
    pub(crate) fn next(self, state: State) -> Word {
        Word::new(state, self.generation().wrapping_add(1) & ((1 << (64 - GEN_SHIFT)) - 1))
    }

    pub(crate) fn with_in_flight(self, n: u32) -> Word {
        Word((self.0 & !(COUNT_MASK << IN_FLIGHT_SHIFT)) | ((n as u64 & COUNT_MASK) << IN_FLIGHT_SHIFT))
    }

    pub(crate) fn with_successes(self, n: u32) -> Word {
        Word((self.0 & !(COUNT_MASK << SUCCESS_SHIFT)) | ((n as u64 & COUNT_MASK) << SUCCESS_SHIFT))
    }
}

/// Bits of generation in a stamp: the stamp follows every period (see `deadline`), so these
/// only tell it from the stamps of transitions racing with its writer; the other 48 hold
/// milliseconds from the clock's origin (8,900 years: a clock may count from the UNIX epoch).
const STAMP_GEN_BITS: u32 = 16;
const STAMP_GEN_MASK: u64 = (1 << STAMP_GEN_BITS) - 1;
const NANOS_PER_MILLI: u64 = 1_000_000;

/// Packs a time (rounded up to the millisecond) with the generation it belongs to.
pub(crate) fn stamp(nanos: u64, generation: u64) -> u64 {
    let millis = nanos.div_ceil(NANOS_PER_MILLI).min((1 << (64 - STAMP_GEN_BITS)) - 1);
    (millis << STAMP_GEN_BITS) | (generation & STAMP_GEN_MASK)
}

/// The milliseconds of a stamp (its time, rounded up), whatever its generation.
pub(crate) fn stamp_millis(stamp: u64) -> u64 {
    stamp >> STAMP_GEN_BITS
}

/// Whether a stamp belongs to `generation` (its time is then [`stamp_millis`]).
pub(crate) fn stamp_of(stamp: u64, generation: u64) -> bool {
    (stamp & STAMP_GEN_MASK) == (generation & STAMP_GEN_MASK)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_round_trip() {
        let w = Word::new(State::HalfOpen, 12345).with_in_flight(3).with_successes(8191);
        assert_eq!(w.state(), State::HalfOpen);
        assert_eq!(w.in_flight(), 3);
        assert_eq!(w.successes(), 8191);
        assert_eq!(w.generation(), 12345);
        let n = w.next(State::Closed);
        assert_eq!(
            (n.state(), n.in_flight(), n.successes(), n.generation()),
            (State::Closed, 0, 0, 12346)
        );
    }

    #[test]
    fn stamps_belong_to_one_generation() {
        let s = stamp(30_000_000_001, 7);
        assert!(stamp_of(s, 7));
        assert_eq!(stamp_millis(s), 30_001);
        assert!(!stamp_of(s, 8));
    }
}
