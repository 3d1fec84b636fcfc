//! The permission to run one call, and the outcome it records.

use super::CircuitBreaker;
use super::stripe::Total;
use super::word::Word;
use crate::State;
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};

/// How a call ended, as the breaker counts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The call succeeded (or failed in a way classified as success).
    Success,
    /// The call failed.
    Failure,
    /// Classified out: counts nowhere and hands back a half-open slot.
    Ignored,
}

/// What a permit records: an [`Outcome`] or a timeout (a failure counted apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Recorded {
    Success,
    Failure,
    Ignored,
    Timeout,
}

impl Recorded {
    pub(crate) fn total(self) -> Total {
        match self {
            Recorded::Success => Total::Success,
            Recorded::Failure => Total::Failure,
            Recorded::Ignored => Total::Ignored,
            Recorded::Timeout => Total::Timeout,
        }
    }
}

impl From<Outcome> for Recorded {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Success => Recorded::Success,
            Outcome::Failure => Recorded::Failure,
            Outcome::Ignored => Recorded::Ignored,
        }
    }
}

/// Permission to run one call through a breaker.
///
/// Record how the call ended with [`record`](Permit::record) (or [`success`](Permit::success),
/// [`failure`](Permit::failure), …). Dropped unrecorded, it counts nothing and frees its
/// half-open slot, which is what a cancelled future needs; dropped while its thread panics, it
/// records a failure.
///
/// ```
/// use cb_runtime::{CircuitBreaker, Outcome};
///
/// let breaker = CircuitBreaker::new("inventory", Default::default());
/// let permit = breaker.try_acquire().expect("closed breakers admit calls");
/// let result: Result<u32, ()> = Ok(7);
/// permit.record(if result.is_ok() { Outcome::Success } else { Outcome::Failure });
/// ```
#[must_use = "record the call's outcome on the permit; dropping it records nothing"]
pub struct Permit<'a> {
    breaker: &'a CircuitBreaker,
    word: Word,
    start: u64,
    /// Set while an async body waits between polls (see `__private::watch`): dropped then,
    /// even by a panic, the permit hands its slot back unrecorded.
    suspended: AtomicBool,
}

impl<'a> Permit<'a> {
    pub(crate) fn new(breaker: &'a CircuitBreaker, word: Word, start: u64) -> Self {
        Permit {
            breaker,
            word,
            start,
            suspended: AtomicBool::new(false),
        }
    }

    /// The flag `__private::watch` keeps (see [`Permit`]'s `suspended`).
    pub(crate) fn suspended_flag(&self) -> &AtomicBool {
        &self.suspended
    }

    /// The state that admitted the call: Closed, HalfOpen (a probe), Disabled or MetricsOnly.
    pub fn state(&self) -> State {
        self.word.state()
    }

    /// The breaker that issued the permit.
    pub fn breaker(&self) -> &'a CircuitBreaker {
        self.breaker
    }

    /// Records the call's outcome.
    #[inline]
    pub fn record(self, outcome: Outcome) {
        self.finish(outcome.into());
    }

    /// Records a success.
    #[inline]
    pub fn success(self) {
        self.finish(Recorded::Success);
    }

    /// Records a failure.
    #[inline]
    pub fn failure(self) {
        self.finish(Recorded::Failure);
    }

    /// Records an ignored outcome.
    #[inline]
    pub fn ignored(self) {
        self.finish(Recorded::Ignored);
    }

    /// Records that the call timed out: a failure, counted as a timeout.
    pub fn timeout(self) {
        self.finish(Recorded::Timeout);
    }

    /// Hands the permit's period and start over to an owned permit, without recording.
    pub(crate) fn into_parts(self) -> (Word, u64) {
        let this = std::mem::ManuallyDrop::new(self);
        (this.word, this.start)
    }

    #[inline]
    fn finish(self, outcome: Recorded) {
        let this = std::mem::ManuallyDrop::new(self);
        this.breaker.record(this.word, this.start, outcome);
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        self.breaker
            .unrecorded(self.word, self.start, self.suspended.load(Ordering::Relaxed));
    }
}

impl CircuitBreaker {
    /// A permit dropped unrecorded: a failure while its thread panics, unless it was `waiting`
    /// between polls of its call (the panic is then not the call's); else nothing. Either way
    /// without a failure, its half-open slot is handed back.
    pub(crate) fn unrecorded(&self, word: Word, start: u64, waiting: bool) {
        if !waiting && std::thread::panicking() {
            self.record(word, start, Recorded::Failure);
        } else {
            self.release(word);
        }
    }
}

impl fmt::Debug for Permit<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Permit")
            .field("breaker", &self.breaker.name())
            .field("state", &self.word.state())
            .finish()
    }
}
