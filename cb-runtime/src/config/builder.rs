//! The validating builder of [`BreakerConfig`].

use super::{BreakerConfig, ConfigError, Setting, Window};
use std::time::Duration;

/// Builds a [`BreakerConfig`]; `build()` names the first key whose value is out of range.
/// The same rules as macro arguments, files and the environment: setting `open_timeout`
/// without `max_open_timeout` raises the cap to it.
///
/// ```
/// use cb_runtime::BreakerConfig;
/// use std::time::Duration;
///
/// let config = BreakerConfig::builder().open_timeout(Duration::from_secs(600)).build().unwrap();
/// assert_eq!(config.max_open_timeout, Duration::from_secs(600));
/// ```
#[derive(Clone, Debug)]
pub struct BreakerConfigBuilder {
    config: BreakerConfig,
    /// Whether `max_open_timeout` was set explicitly (then it is not raised).
    max_set: bool,
}

impl From<BreakerConfig> for BreakerConfigBuilder {
    fn from(config: BreakerConfig) -> Self {
        Self { config, max_set: false }
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
    /// Growth of the open wait per consecutive re-open.
    backoff_multiplier: f64 => std::convert::identity;
    /// Random spread of the open wait, in `[0, 1)`.
    jitter: f64 => std::convert::identity;
    /// Concurrent half-open probes.
    half_open_max_calls: u32 => std::convert::identity;
    /// Successful probes that close the breaker.
    success_threshold: u32 => std::convert::identity;
    /// Re-open when probes stay undecided this long.
    half_open_max_wait: Duration => Some;
    /// Live breakers a keyed family keeps before evicting idle Closed ones.
    max_keys: u32 => std::convert::identity;
    /// How long a keyed breaker stays unused (and Closed) before it may be evicted.
    idle_ttl: Duration => std::convert::identity;
}

impl BreakerConfigBuilder {
    /// The first open wait; raises `max_open_timeout` to it unless that is set explicitly.
    pub fn open_timeout(mut self, value: Duration) -> Self {
        self.config.open_timeout = value;
        self
    }

    /// Cap of the open wait (at least `open_timeout`).
    pub fn max_open_timeout(mut self, value: Duration) -> Self {
        self.config.max_open_timeout = value;
        self.max_set = true;
        self
    }

    /// Waits for half-open probes however long they take (the default).
    pub fn no_half_open_max_wait(mut self) -> Self {
        self.config.half_open_max_wait = None;
        self
    }

    /// Applies one setting, as a file or variable would (`"off"`, presets and all).
    pub fn setting(mut self, setting: Setting) -> Self {
        if matches!(setting, Setting::MaxOpenTimeout(_)) {
            self.max_set = true;
        }
        setting.apply(&mut self.config);
        self
    }

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
    pub fn build(mut self) -> Result<BreakerConfig, ConfigError> {
        if !self.max_set {
            self.config.max_open_timeout = self.config.max_open_timeout.max(self.config.open_timeout);
        }
        self.config.validate()?;
        Ok(self.config)
    }
}
