//! Calls of a scripted outcome, recorded through a permit on a manual clock: what the count
//! window scenarios replay against a model of the last N outcomes.

use cb_runtime::{CircuitBreaker, ManualClock, Outcome};
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
