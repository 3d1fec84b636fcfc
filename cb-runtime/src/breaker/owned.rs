//! A permit that owns a reference to its breaker, for futures that must be `'static` (tower
//! services, spawned tasks).

use super::CircuitBreaker;
use super::permit::{Outcome, Recorded};
use super::word::Word;
use crate::{Rejected, State};
use std::fmt;
use std::sync::Arc;

/// Like [`Permit`](crate::Permit), holding an `Arc` of its breaker.
#[must_use = "record the call's outcome on the permit; dropping it records nothing"]
pub struct OwnedPermit {
    breaker: Arc<CircuitBreaker>,
    word: Word,
    start: u64,
    done: bool,
}

impl CircuitBreaker {
    /// [`try_acquire`](Self::try_acquire) for a shared breaker, returning a `'static` permit.
    pub fn try_acquire_owned(self: &Arc<Self>) -> Result<OwnedPermit, Rejected> {
        let permit = self.try_acquire()?;
        let (word, start) = permit.into_parts();
        Ok(OwnedPermit {
            breaker: self.clone(),
            word,
            start,
            done: false,
        })
    }
}

impl OwnedPermit {
    /// The state that admitted the call.
    pub fn state(&self) -> State {
        self.word.state()
    }

    /// The breaker that issued the permit.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }

    /// Records the call's outcome.
    pub fn record(mut self, outcome: Outcome) {
        self.done = true;
        self.breaker.record(self.word, self.start, outcome.into());
    }

    /// Records that the call timed out.
    pub fn timeout(mut self) {
        self.done = true;
        self.breaker.record(self.word, self.start, Recorded::Timeout);
    }
}

impl Drop for OwnedPermit {
    fn drop(&mut self) {
        if !self.done {
            self.breaker.abandon(self.word, self.start);
        }
    }
}

impl fmt::Debug for OwnedPermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OwnedPermit")
            .field("breaker", &self.breaker.name())
            .field("state", &self.word.state())
            .finish()
    }
}
