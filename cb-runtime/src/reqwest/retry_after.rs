//! `Retry-After` as the open wait.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::{Duration, SystemTime};

/// What the middleware does with a `Retry-After` header on a 429 or 503 response.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum RetryAfter {
    /// When the breaker is open after the response (it tripped on it, or had already), the
    /// header's wait replaces the open wait, capped at the breaker's `max_open_timeout`.
    #[default]
    WhenOpen,
    /// The header opens the breaker at once for its wait (capped the same way), whatever the
    /// thresholds say: the server asked not to be called. A breaker an operator disabled, set
    /// to metrics-only or forced open keeps that state.
    Opens,
    /// The header is not read.
    Ignore,
}

/// The wait a `Retry-After` header asks for: delay-seconds (a number too large for a `u64` is
/// [`Duration::MAX`], to be capped by the caller), or an HTTP-date measured from the system
/// time now. `None` if there is no such header, it does not parse, or it asks for no wait (`0`,
/// a date that has passed).
///
/// ```
/// use cb_runtime::reqwest::parse_retry_after;
/// use reqwest::header::{HeaderMap, HeaderValue, RETRY_AFTER};
/// use std::time::Duration;
///
/// let mut headers = HeaderMap::new();
/// headers.insert(RETRY_AFTER, HeaderValue::from_static("120"));
/// assert_eq!(parse_retry_after(&headers), Some(Duration::from_secs(120)));
/// ```
pub fn parse_retry_after(headers: &HeaderMap) -> Option<Duration> {
    read_retry_after(headers).ok().flatten()
}

/// Like [`parse_retry_after`], but tells a header that is not delay-seconds nor an HTTP-date
/// (`Err`) from one that asks for no wait (`Ok(None)`).
pub(crate) fn read_retry_after(headers: &HeaderMap) -> Result<Option<Duration>, ()> {
    let Some(value) = headers.get(RETRY_AFTER) else {
        return Ok(None);
    };
    let value = value.to_str().map_err(|_| ())?.trim();
    if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
        // Only digits: delay-seconds, however large (`u64::from_str` would also take `+5` and
        // call an overlong number an error).
        let wait = value.parse::<u64>().map_or(Duration::MAX, Duration::from_secs);
        return Ok((!wait.is_zero()).then_some(wait));
    }
    let date = httpdate::parse_http_date(value).map_err(|_| ())?;
    Ok(date
        .duration_since(SystemTime::now())
        .ok()
        .filter(|wait| !wait.is_zero()))
}
