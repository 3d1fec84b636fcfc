//! Calls of a scripted outcome, recorded through a permit on a manual clock: what the count
//! window scenarios replay against a model of the last N outcomes.

use cb_runtime::{CircuitBreaker, ManualClock, Outcome};
use std::collections::VecDeque;
use std::time::Duration;

/// The slow-call duration the scenarios configure; a slow call takes twice as long.
pub const SLOW: Duration = Duration::from_millis(100);

/// One call's outcome: failed or not, slow or not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Call {
    pub failure: bool,
    pub slow: bool,
}

pub const OK: Call = Call {
    failure: false,
    slow: false,
};

pub const FAIL: Call = Call {
    failure: true,
    slow: false,
};

/// Records `call` through a permit (slow: the manual clock moves 2 * SLOW while it is held);
/// whether it was admitted.
pub fn record(b: &CircuitBreaker, clock: &ManualClock, call: Call) -> bool {
    let Ok(permit) = b.try_acquire() else {
        return false;
    };
    if call.slow {
        clock.advance(SLOW * 2);
    }
    permit.record(if call.failure {
        Outcome::Failure
    } else {
        Outcome::Success
    });
    true
}

/// A model of a count window: the last `size` outcomes.
pub struct Model {
    size: usize,
    last: VecDeque<Call>,
}

impl Model {
    pub fn new(size: u32) -> Model {
        Model {
            size: size as usize,
            last: VecDeque::new(),
        }
    }

    pub fn push(&mut self, c: Call) {
        if self.last.len() == self.size {
            self.last.pop_front();
        }
        self.last.push_back(c);
    }

    /// `(calls, failures, slow calls)`.
    pub fn counts(&self) -> (u64, u64, u64) {
        let n = |f: fn(&Call) -> bool| self.last.iter().filter(|c| f(c)).count() as u64;
        (self.last.len() as u64, n(|c| c.failure), n(|c| c.slow))
    }

    /// Whether a failure rate `fr` or a slow-call rate `sr` (inclusive), with `minimum` calls
    /// (capped at the size), trips on these counts.
    pub fn trips(&self, fr: Option<f64>, sr: Option<f64>, minimum: u64) -> bool {
        let (calls, f, s) = self.counts();
        if calls < minimum.min(self.size as u64) || calls == 0 {
            return false;
        }
        fr.is_some_and(|r| f as f64 / calls as f64 >= r) || sr.is_some_and(|r| s as f64 / calls as f64 >= r)
    }
}
