//! How a service's results count, and what answers when the breaker or the service fails.

use crate::{CallError, Outcome};

/// Decides how a service's result counts.
pub trait Classify<Res, E> {
    /// The outcome of `result`.
    fn classify(&self, result: &Result<Res, E>) -> Outcome;
}

impl<Res, E, F: Fn(&Result<Res, E>) -> Outcome> Classify<Res, E> for F {
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        self(result)
    }
}

/// `Ok` is a success, `Err` a failure.
#[derive(Clone, Copy, Debug, Default)]
pub struct ErrIsFailure;

impl<Res, E> Classify<Res, E> for ErrIsFailure {
    fn classify(&self, result: &Result<Res, E>) -> Outcome {
        if result.is_ok() {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }
}

/// For HTTP: an `Err`, a 5xx or a 429 response is a failure; any other response a success.
#[derive(Clone, Copy, Debug, Default)]
pub struct HttpStatus;

impl<B, E> Classify<http::Response<B>, E> for HttpStatus {
    fn classify(&self, result: &Result<http::Response<B>, E>) -> Outcome {
        match result {
            Ok(r) if r.status().is_server_error() || r.status() == http::StatusCode::TOO_MANY_REQUESTS => {
                Outcome::Failure
            }
            Ok(_) => Outcome::Success,
            Err(_) => Outcome::Failure,
        }
    }
}

/// Answers a rejected or failed call.
pub trait Fallback<Res, E> {
    /// Whether this fallback answers at all.
    fn serves(&self) -> bool;
    /// The answer to a call that failed with `cause`.
    fn fallback(&self, cause: CallError<E>) -> Result<Res, CallError<E>>;
}

/// No fallback: rejections and errors reach the caller.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoFallback;

impl<Res, E> Fallback<Res, E> for NoFallback {
    fn serves(&self) -> bool {
        false
    }

    fn fallback(&self, cause: CallError<E>) -> Result<Res, CallError<E>> {
        Err(cause)
    }
}

impl<Res, E, F: Fn(CallError<E>) -> Result<Res, CallError<E>>> Fallback<Res, E> for F {
    fn serves(&self) -> bool {
        true
    }

    fn fallback(&self, cause: CallError<E>) -> Result<Res, CallError<E>> {
        self(cause)
    }
}
