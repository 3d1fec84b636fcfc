//! The middleware: a breaker per host (or key) around every request.

use super::classify::default_outcome;
use super::retry_after::{RetryAfter, read_retry_after};
use super::unreadable::{RetryAfterStatus, Unreadable};
use crate::{BreakerConfig, CallError, CircuitBreaker, Outcome, Reason, Rejected, State, registry};
use http::Extensions;
use reqwest::{Request, Response, StatusCode};
use reqwest_middleware::{Error, Middleware, Next};
use std::fmt;
use std::sync::Arc;

/// Picks the key of a request's breaker (`<family>/<key>`).
pub type KeyFn = Arc<dyn Fn(&Request) -> String + Send + Sync>;

type ClassifyFn = Arc<dyn Fn(&Result<Response, Error>) -> Outcome + Send + Sync>;

/// Runs every request through the global registry's breaker for its host; see
/// [`crate::reqwest`].
#[derive(Clone)]
pub struct CircuitBreakerMiddleware {
    family: String,
    key: KeyFn,
    classify: ClassifyFn,
    config: Option<BreakerConfig>,
    retry_after: RetryAfter,
    unreadable: Arc<Unreadable>,
}

/// The host of the request's URL, with `:port` if the URL names one.
fn host_key(request: &Request) -> String {
    let url = request.url();
    let host = url.host_str().unwrap_or("no-host");
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}

impl Default for CircuitBreakerMiddleware {
    fn default() -> Self {
        Self::new()
    }
}

impl CircuitBreakerMiddleware {
    /// One breaker per host, named `http/<host[:port]>`, with the default classification and
    /// `Retry-After` setting the open wait.
    pub fn new() -> Self {
        Self {
            family: "http".to_owned(),
            key: Arc::new(host_key),
            classify: Arc::new(default_outcome),
            config: None,
            retry_after: RetryAfter::WhenOpen,
            unreadable: Arc::default(),
        }
    }

    /// Names breakers `<family>/<key>` instead of `http/<key>`. An empty family or one with a
    /// `/` is refused.
    pub fn family(mut self, family: &str) -> Result<Self, crate::ConfigError> {
        if family.is_empty() || family.contains('/') {
            let value: String = family.chars().take(64).collect();
            return Err(crate::ConfigError::new(
                "family",
                "must be non-empty, without `/`",
                value,
            ));
        }
        self.family = family.to_owned();
        Ok(self)
    }

    /// Keys breakers by `key(&request)` instead of the host.
    pub fn key(mut self, key: impl Fn(&Request) -> String + Send + Sync + 'static) -> Self {
        self.key = Arc::new(key);
        self
    }

    /// Decides how results count instead of [`default_outcome`](super::default_outcome).
    pub fn classify(mut self, classify: impl Fn(&Result<Response, Error>) -> Outcome + Send + Sync + 'static) -> Self {
        self.classify = Arc::new(classify);
        self
    }

    /// Creates new breakers from `config` (the file's `[breakers.NAME]` sections and the
    /// environment still apply over it) instead of the built-in defaults and `[defaults]`.
    pub fn config(mut self, config: BreakerConfig) -> Self {
        self.config = Some(config);
        self
    }

    /// What a `Retry-After` header on a 429 or 503 does.
    pub fn retry_after(mut self, policy: RetryAfter) -> Self {
        self.retry_after = policy;
        self
    }

    /// How many `Retry-After` headers this middleware and its clones could not read, and the
    /// last one.
    pub fn retry_after_status(&self) -> RetryAfterStatus {
        self.unreadable.status()
    }

    /// The breaker a request goes through (created on first use).
    pub fn breaker_for(&self, request: &Request) -> Arc<CircuitBreaker> {
        let name = format!("{}/{}", self.family, (self.key)(request));
        match &self.config {
            Some(config) => registry().breaker(&name, config),
            None => registry().breaker_with_layers(&name, &[], &[]),
        }
    }

    /// Applies a response's `Retry-After` to its breaker, as the policy says.
    fn honour_retry_after(&self, breaker: &CircuitBreaker, response: &Response) {
        if self.retry_after == RetryAfter::Ignore
            || !matches!(
                response.status(),
                StatusCode::TOO_MANY_REQUESTS | StatusCode::SERVICE_UNAVAILABLE
            )
            || !response.headers().contains_key(reqwest::header::RETRY_AFTER)
        {
            return;
        }
        let wait = match read_retry_after(response.headers()) {
            Ok(Some(wait)) => wait,
            Ok(None) => return,
            Err(()) => {
                if let Some(value) = response.headers().get(reqwest::header::RETRY_AFTER) {
                    self.unreadable.report(breaker.name(), value);
                }
                return;
            }
        };
        let policy = self.retry_after;
        // An operator's state (disabled, metrics-only, forced open) is not the server's to
        // change; the state is checked in the same switch that opens.
        let allow = move |state: State| match policy {
            RetryAfter::WhenOpen => state == State::Open,
            RetryAfter::Opens => matches!(state, State::Closed | State::HalfOpen | State::Open),
            _ => false,
        };
        if !allow(breaker.state()) {
            return;
        }
        let wait = wait.min(breaker.config().max_open_timeout);
        if let Err(e) = breaker.open_for_because(wait, Reason::RetryAfter { wait }, allow) {
            tracing::warn!(target: "cb_runtime", breaker = %breaker.name(), "Retry-After not applied: {e}");
        }
    }
}

/// The breaker's rejection inside a middleware error, if that is what it is.
///
/// ```
/// use cb_runtime::reqwest::rejection;
/// use cb_runtime::{Rejected, State};
///
/// let r = Rejected { name: "http/api".into(), state: State::Open, retry_after: None };
/// let e = reqwest_middleware::Error::middleware(r.clone());
/// assert_eq!(rejection(&e), Some(&r));
/// ```
pub fn rejection(error: &Error) -> Option<&Rejected> {
    match error {
        Error::Middleware(e) => e.downcast_ref::<Rejected>(),
        Error::Reqwest(_) => None,
    }
}

impl fmt::Debug for CircuitBreakerMiddleware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreakerMiddleware")
            .field("family", &self.family)
            .field("config", &self.config)
            .field("retry_after", &self.retry_after)
            .finish_non_exhaustive()
    }
}

#[async_trait::async_trait]
impl Middleware for CircuitBreakerMiddleware {
    async fn handle(&self, req: Request, extensions: &mut Extensions, next: Next<'_>) -> Result<Response, Error> {
        let breaker = self.breaker_for(&req);
        let classify = &self.classify;
        let result = breaker
            .call_classified(
                async || next.run(req, extensions).await,
                |r| match r {
                    // A breaker under this one (another `CircuitBreakerMiddleware` added after it)
                    // rejected the request: the host was not called.
                    Err(e) if rejection(e).is_some() => Outcome::Ignored,
                    r => classify(r),
                },
            )
            .await;
        match result {
            Ok(response) => {
                self.honour_retry_after(&breaker, &response);
                Ok(response)
            }
            Err(CallError::Inner(e)) => Err(e),
            Err(CallError::Rejected(r)) => Err(Error::middleware(r)),
            Err(CallError::Timeout(t)) => Err(Error::middleware(t)),
        }
    }
}
