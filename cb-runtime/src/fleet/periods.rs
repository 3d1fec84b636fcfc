//! Which of a breaker's own periods a fleet publishes, whatever the backend.

use crate::{CircuitBreaker, State};

/// A local event waiting to be published (kept while the backend cannot take it).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Pending {
    /// The breaker tripped on its own calls.
    Open,
    /// The breaker's own probe closed it.
    Closed,
}

/// Compares `b`'s current period with `last` (the period last looked at, updated): `None`
/// when it is the same period, else `Some` of the event the new period calls for: none for a
/// period adopted from the fleet, `Open` for a trip of its own, `Closed` for a close after
/// Open or HalfOpen.
pub(crate) fn new_period(b: &CircuitBreaker, last: &mut Option<(State, u64)>) -> Option<Option<Pending>> {
    let (state, generation, adopted) = b.period();
    let previous = last.replace((state, generation));
    if previous.is_some_and(|(_, g)| g == generation) {
        return None;
    }
    Some(match state {
        _ if adopted => None,
        State::Open => Some(Pending::Open),
        State::Closed if previous.is_some_and(|(s, _)| matches!(s, State::Open | State::HalfOpen)) => {
            Some(Pending::Closed)
        }
        _ => None,
    })
}
