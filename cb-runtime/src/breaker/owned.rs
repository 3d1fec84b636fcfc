//! A permit that owns a reference to its breaker, for futures that must be `'static` (tower
//! services, spawned tasks).

use super::CircuitBreaker;
use super::permit::{Outcome, Recorded};
use super::word::Word;
use crate::{Rejected, State};
use std::borrow::Borrow;
use std::fmt;
use std::sync::Arc;

/// Like [`Permit`](crate::Permit), holding an owned reference to its breaker (an `Arc` by
/// default).
#[must_use = "record the call's outcome on the permit; dropping it records nothing"]
pub struct OwnedPermit<B: Borrow<CircuitBreaker> = Arc<CircuitBreaker>> {
    breaker: B,
    word: Word,
    start: u64,
    done: bool,
    /// Held between polls of its call (see [`suspend`](Self::suspend)).
    suspended: bool,
}

impl CircuitBreaker {
    /// [`try_acquire`](Self::try_acquire) for a shared breaker, returning a `'static` permit.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, Rejected> {
        OwnedPermit::acquire(self.clone())
    }
}

impl<B: Borrow<CircuitBreaker>> OwnedPermit<B> {
    /// A permit of `breaker`, which the permit keeps (and drops on rejection).
    pub(crate) fn acquire(breaker: B) -> Result<Self, Rejected> {
        let (word, start) = breaker.borrow().try_acquire()?.into_parts();
        Ok(OwnedPermit {
            breaker,
            word,
            start,
            done: false,
            suspended: false,
        })
    }
}

impl<B: Borrow<CircuitBreaker>> OwnedPermit<B> {
    /// The state that admitted the call.
    pub fn state(&self) -> State {
        self.word.state()
    }

    /// The breaker that issued the permit.
    pub fn breaker(&self) -> &B {
        &self.breaker
    }

    /// Times the call from now on (see [`CircuitBreaker::restart`]): for a permit taken
    /// before its call could be made.
    #[cfg(feature = "tower")]
    pub(crate) fn restart(&mut self) {
        self.start = self.breaker.borrow().restart(self.start);
    }

    /// Keeps the permit between polls of its call: dropped so, it hands its slot back
    /// unrecorded even while the thread panics, since the panic is then not the call's (an
    /// unrelated panic unwinding through whoever holds the waiting call). Undone by
    /// [`resume`](Self::resume) before the call is polled again.
    #[cfg(feature = "stream")]
    pub(crate) fn suspend(&mut self) {
        self.suspended = true;
    }

    /// The call is polled again: a panic now is the call's (see [`suspend`](Self::suspend)).
    #[cfg(feature = "stream")]
    pub(crate) fn resume(&mut self) {
        self.suspended = false;
    }

    /// Records the call's outcome.
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker.borrow().record(self.word, self.start, outcome.into());
    }

    /// Records that the call timed out.
    pub fn timeout(mut self) {
        self.done = true;
        self.breaker.borrow().record(self.word, self.start, Recorded::Timeout);
    }
}

impl<B: Borrow<CircuitBreaker>> Drop for OwnedPermit<B> {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.borrow().unrecorded(self.word, self.start, self.suspended);
        }
    }
}

impl<B: Borrow<CircuitBreaker>> fmt::Debug for OwnedPermit<B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("breaker", &self.breaker.borrow().name())
            .field("state", &self.word.state())
            .finish()
    }
}
