//! What answered the last protected call of this thread, for the caller to read right after it.

use super::FallbackKind;
use std::cell::Cell;
use std::time::Duration;

/// How a fallback served a call: which strategy answered and, for the last-good cache, how old
/// the value was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Served {
    /// The strategy that answered (in a chain: the stage that answered, never `Chain`).
    pub kind: FallbackKind,
    /// The 0-based position of the answering stage in a chain (0 for a single fallback).
    pub stage: usize,
    /// For a value from the last-good cache: its age when served.
    pub age: Option<Duration>,
}

thread_local! {
    static SERVED: Cell<Option<Served>> = const { Cell::new(None) };
}

/// How the last call of a protected function with a fallback, on this thread, was answered:
/// `None` when its own body answered, `Some` when a fallback did.
///
/// A protected function writes this as the last thing before it returns (a sync function
/// before it returns, an async one in the same poll that completes its future), and only
/// functions declared with a fallback write it, as do `CircuitBreaker::call_with_fallback`
/// and `call_sync_with_fallback`. So reading it right after the call (after the `.await` of an
/// async one, with no other `.await` in between) always reads that call's
/// answer: the code between the write and the read runs on one thread, in one poll, and no
/// other task can run there in between. Read it later, after another `.await`, and the task
/// may have moved to another thread or another protected call may have written it.
pub fn last_served() -> Option<Served> {
    SERVED.with(Cell::get)
}

/// Records how the current call was answered (generated code, right before it returns).
#[inline]
pub(crate) fn set_served(served: Option<Served>) {
    SERVED.with(|cell| cell.set(served));
}
