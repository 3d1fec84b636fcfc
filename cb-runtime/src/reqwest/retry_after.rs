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
    /// thresholds say: the server asked not to be called.
    Opens,
    /// The header is not read.
    Ignore,
}

/// The wait a `Retry-After` header asks for: delay-seconds, or an HTTP-date measured from the
/// system time now. `None` if there is no such header, it does not parse, or its date has
/// passed.
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
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return (seconds > 0).then(|| Duration::from_secs(seconds));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    date.duration_since(SystemTime::now())
        .ok()
        .filter(|wait| !wait.is_zero())
}
