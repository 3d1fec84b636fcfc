//! A breaker's rejection as seen by a breaker layered over it.
//!
//! A rejection means the backend was not called: for an outer breaker (a service-wide one over
//! per-route ones) it is no outcome of the backend, and counting it as a failure would let one
//! route's open breaker open the whole service. The outer layer cannot tell cb's rejection
//! from any other error of its generic inner service, so the inner one says so instead: its
//! response future, when it answers a rejection, marks this thread, and the outer future,
//! which cleared the mark before polling it, reads the mark as its inner future finishes (and
//! leaves it for a breaker further out).
//!
//! The mark reaches only a breaker whose inner future answers in the same poll (layers stacked
//! directly, or with layers between that answer in place, such as `Timeout`, `Retry` or
//! `MapErr`). Across a `Buffer` or a spawned task the inner answer comes from another task, and
//! the outer breaker counts the error as its classification says.

//!
//! The mark can carry the rejection itself, for an outer layer that answers in its own terms:
//! a `GrpcLayer` over a `CircuitBreakerLayer` answers the inner rejection as the gRPC status of
//! a rejection (UNAVAILABLE naming the breaker), not as the UNKNOWN tonic makes of any other
//! error.

use crate::Rejected;
use std::cell::{Cell, RefCell};

thread_local! {
    static REJECTED: Cell<bool> = const { Cell::new(false) };
    static REJECTION: RefCell<Option<Rejected>> = const { RefCell::new(None) };
}

/// A breaker's response future answers a rejection (or a fallback's answer to one).
pub(crate) fn mark() {
    REJECTED.with(|r| r.set(true));
    REJECTION.with(|r| r.borrow_mut().take());
}

/// [`mark`], keeping `rejected` for an outer layer (see [`take_rejection`]).
pub(crate) fn mark_rejection(rejected: &Rejected) {
    REJECTED.with(|r| r.set(true));
    REJECTION.with(|r| *r.borrow_mut() = Some(rejected.clone()));
}

/// The rejection the inner future just answered, if it left one (see [`mark_rejection`]); read
/// only while [`marked`], and taken: a layer further out sees the answer this one made of it.
pub(crate) fn take_rejection() -> Option<Rejected> {
    REJECTION.with(|r| r.borrow_mut().take())
}

/// Clears the mark before an outer future polls its inner one.
#[inline]
pub(crate) fn clear() {
    REJECTED.with(|r| r.set(false));
}

/// Whether the inner future just polled answered a breaker's rejection. The mark stays: for a
/// breaker over this one, the answer is still a rejection's.
#[inline]
pub(crate) fn marked() -> bool {
    REJECTED.with(Cell::get)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_is_kept_until_taken_or_marked_over() {
        let rejected = Rejected {
            name: "inner".into(),
            state: crate::State::Open,
            retry_after: None,
        };
        clear();
        mark_rejection(&rejected);
        assert!(marked());
        assert_eq!(take_rejection(), Some(rejected.clone()));
        assert_eq!(take_rejection(), None, "taken");
        mark_rejection(&rejected);
        mark();
        assert_eq!(take_rejection(), None, "a later mark without one drops it");
    }

    #[test]
    fn a_mark_stays_until_cleared() {
        clear();
        assert!(!marked());
        mark();
        assert!(marked() && marked());
        clear();
        assert!(!marked());
    }
}
