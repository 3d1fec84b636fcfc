//! The validating builder of [`BreakerConfig`].

use super::{BreakerConfig, ConfigError, Window};
use std::time::Duration;

/// Builds a [`BreakerConfig`]; `build()` names the first key whose value is out of range.
#[derive(Clone, Debug)]
pub struct BreakerConfigBuilder {
    config: BreakerConfig,
}

impl From<BreakerConfig> for BreakerConfigBuilder {
    fn from(config: BreakerConfig) -> Self {
        Self { config }
    }
}

macro_rules! setters {
    ($($(#[$doc:meta])* $key:ident: $ty:ty => $wrap:expr;)*) => {
        impl BreakerConfigBuilder {
            $(
                $(#[$doc])*
                pub fn $key(mut self, value: $ty) -> Self {
                    self.config.$key = $wrap(value);
                    self
                }
            )*
        }
    };
}

setters! {
    /// Open after this many failures in a row.
    consecutive_failures: u32 => Some;
    /// Open when the failure rate over the window reaches this (inclusive).
    failure_rate_threshold: f64 => Some;
    /// Open when the slow-call rate over the window reaches this (inclusive).
    slow_call_rate_threshold: f64 => Some;
    /// Calls strictly longer than this are slow.
    slow_call_duration: Duration => std::convert::identity;
    /// Outcomes needed in the window before rates are judged.
    minimum_calls: u32 => std::convert::identity;
    /// The window rates are computed over.
    window: Window => std::convert::identity;
    /// The first open wait.
    open_timeout: Duration => std::convert::identity;
    /// Growth of the open wait per consecutive re-open.
    backoff_multiplier: f64 => std::convert::identity;
    /// Cap of the open wait.
    max_open_timeout: Duration => std::convert::identity;
    /// Random spread of the open wait, in `[0, 1)`.
    jitter: f64 => std::convert::identity;
    /// Concurrent half-open probes.
    half_open_max_calls: u32 => std::convert::identity;
    /// Successful probes that close the breaker.
    success_threshold: u32 => std::convert::identity;
    /// Re-open when probes stay undecided this long.
    half_open_max_wait: Duration => Some;
}

impl BreakerConfigBuilder {
    /// Turns the consecutive-failures trigger off.
    pub fn no_consecutive_failures(mut self) -> Self {
        self.config.consecutive_failures = None;
        self
    }

    /// Turns the failure-rate trigger off.
    pub fn no_failure_rate(mut self) -> Self {
        self.config.failure_rate_threshold = None;
        self
    }

    /// Turns the slow-call-rate trigger off.
    pub fn no_slow_call_rate(mut self) -> Self {
        self.config.slow_call_rate_threshold = None;
        self
    }

    /// Validates and returns the configuration.
    pub fn build(self) -> Result<BreakerConfig, ConfigError> {
        self.config.validate()?;
        Ok(self.config)
    }
}
