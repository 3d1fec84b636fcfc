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

use std::cell::Cell;

thread_local! {
    static REJECTED: Cell<bool> = const { Cell::new(false) };
}

/// A breaker's response future answers a rejection (or a fallback's answer to one).
pub(crate) fn mark() {
    REJECTED.with(|r| r.set(true));
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
    fn a_mark_stays_until_cleared() {
        clear();
        assert!(!marked());
        mark();
        assert!(marked() && marked());
        clear();
        assert!(!marked());
    }
}
