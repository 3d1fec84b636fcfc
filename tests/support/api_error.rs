//! The error type of the macro scenarios that only tell a failed backend from a rejection
//! (and from a timeout).

use cb_runtime::{Rejected, Timeout};

/// What a protected function of those scenarios fails with.
#[derive(Debug, PartialEq, Clone)]
pub enum ApiError {
    /// The backend failed.
    Down,
    /// The breaker rejected the call (the `?` on a [`Rejected`]).
    Breaker,
    /// The breaker's `timeout` elapsed.
    TimedOut,
}

impl From<Rejected> for ApiError {
    fn from(_: Rejected) -> Self {
        ApiError::Breaker
    }
}

impl From<Timeout> for ApiError {
    fn from(_: Timeout) -> Self {
        ApiError::TimedOut
    }
}
