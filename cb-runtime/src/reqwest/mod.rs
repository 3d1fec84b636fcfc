//! A reqwest-middleware `Middleware` (feature `reqwest-middleware`): every request goes
//! through a breaker of the global registry, one per host by default.
//!
//! ```
//! use cb_runtime::reqwest::CircuitBreakerMiddleware;
//!
//! let client = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
//!     .with(CircuitBreakerMiddleware::new())          // breakers "http/<host[:port]>"
//!     .build();
//! # let _ = client;
//! ```
//!
//! - **Breakers**: `http/<host>` (with `:port` when the URL names one) from the global
//!   registry, so they form the keyed family `http` and `circuit_breakers.toml`
//!   (`[breakers."http/*"]`, `[breakers."http/api.example.com"]`) and `CB_BREAKER__` variables
//!   apply, as do the family's `max_keys` and `idle_ttl`.
//!   [`family`](CircuitBreakerMiddleware::family) renames the family,
//!   [`key`](CircuitBreakerMiddleware::key) keys by anything in the request (a path prefix, a
//!   tenant header), [`config`](CircuitBreakerMiddleware::config) starts breakers from a
//!   configuration in code instead of the built-in and `[defaults]` ones.
//! - **Classification** ([`default_outcome`]): a 5xx or 429 response, a connect error, a
//!   timeout or a failed send is a failure; any other response a success; a request that
//!   could not be built or a redirect loop counts nowhere; another middleware's error is a
//!   failure. [`classify`](CircuitBreakerMiddleware::classify) replaces it. Whatever the
//!   classification, a rejection by a breaker under this one (a client-wide
//!   `CircuitBreakerMiddleware` added before a per-host one) counts nowhere: the host was not
//!   called.
//! - **Retry-After**: a 429 or 503 with `Retry-After` (seconds or an HTTP-date) sets the open
//!   wait when the breaker is open after the response, capped at its `max_open_timeout`
//!   ([`RetryAfter`] has the other policies); a manual state (disabled, metrics-only) is never
//!   overridden. A value that is neither is reported (stderr once, an
//!   [`Event::UnreadableRetryAfter`](crate::Event::UnreadableRetryAfter), and
//!   [`retry_after_status`](CircuitBreakerMiddleware::retry_after_status)).
//! - **Rejections** are `reqwest_middleware::Error::Middleware` errors holding a
//!   [`Rejected`](crate::Rejected): [`rejection`] finds it.

mod classify;
mod middleware;
mod retry_after;
mod unreadable;

pub use classify::default_outcome;
pub use middleware::{CircuitBreakerMiddleware, KeyFn, rejection};
pub use retry_after::{RetryAfter, parse_retry_after};
pub use unreadable::RetryAfterStatus;
