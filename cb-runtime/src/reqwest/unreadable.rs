//! `Retry-After` headers the middleware could not read: stderr once, an event each time the
//! value changes, and a status to query.

use crate::{Event, Name, registry};
use reqwest::header::HeaderValue;
use std::sync::{Mutex, PoisonError};

/// What a middleware (and its clones) could not read; see
/// [`CircuitBreakerMiddleware::retry_after_status`](super::CircuitBreakerMiddleware::retry_after_status).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryAfterStatus {
    /// How many 429 or 503 responses carried a `Retry-After` that is neither delay-seconds nor
    /// an HTTP-date (their breakers kept the configured open wait).
    pub unreadable: u64,
    /// The last such header: the breaker's name and the value (lossy UTF-8, at most 64
    /// characters).
    pub last: Option<(Name, String)>,
}

/// The shared record behind [`RetryAfterStatus`].
#[derive(Debug, Default)]
pub(crate) struct Unreadable {
    status: Mutex<RetryAfterStatus>,
}

impl Unreadable {
    /// Counts an unreadable `value` on `name`'s response; says so on stderr the first time,
    /// and as an event whenever it differs from the last one.
    pub(crate) fn report(&self, name: &Name, value: &HeaderValue) {
        let value: String = String::from_utf8_lossy(value.as_bytes()).chars().take(64).collect();
        let (first, changed) = {
            let mut status = self.status.lock().unwrap_or_else(PoisonError::into_inner);
            status.unreadable += 1;
            let changed = status.last.as_ref().is_none_or(|(n, v)| n != name || *v != value);
            if changed {
                status.last = Some((name.clone(), value.clone()));
            }
            (status.unreadable == 1, changed)
        };
        if first {
            eprintln!(
                "cb: circuit breaker `{name}`: Retry-After `{value}` is neither delay-seconds nor an HTTP-date; the configured open wait stays"
            );
        }
        if changed {
            registry().emit_event(Event::UnreadableRetryAfter {
                name: name.clone(),
                value,
            });
        }
    }

    pub(crate) fn status(&self) -> RetryAfterStatus {
        self.status.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}
