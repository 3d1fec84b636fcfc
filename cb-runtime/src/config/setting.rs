//! One configuration key with its value: what a layer of configuration (macro arguments, a file
//! section, an environment variable) contributes.

use super::{BreakerConfig, Preset, Window};
use std::time::Duration;

/// A single configuration key and value.
///
/// ```
/// use cb_runtime::{BreakerConfig, Preset, Setting};
/// use std::time::Duration;
///
/// let config = BreakerConfig::from_settings(&[
///     Setting::Preset(Preset::Aggressive),
///     Setting::OpenTimeout(Duration::from_secs(15)),
/// ])
/// .unwrap();
/// assert_eq!(config.consecutive_failures, Some(3));
/// assert_eq!(config.open_timeout, Duration::from_secs(15));
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub enum Setting {
    /// Every key of a preset.
    Preset(Preset),
    /// `consecutive_failures`.
    ConsecutiveFailures(u32),
    /// `failure_rate_threshold`.
    FailureRateThreshold(f64),
    /// `slow_call_rate_threshold`.
    SlowCallRateThreshold(f64),
    /// `slow_call_duration`.
    SlowCallDuration(Duration),
    /// `minimum_calls`.
    MinimumCalls(u32),
    /// `window`.
    Window(Window),
    /// `open_timeout`.
    OpenTimeout(Duration),
    /// `backoff_multiplier`.
    BackoffMultiplier(f64),
    /// `max_open_timeout`.
    MaxOpenTimeout(Duration),
    /// `jitter`.
    Jitter(f64),
    /// `half_open_max_calls`.
    HalfOpenMaxCalls(u32),
    /// `success_threshold`.
    SuccessThreshold(u32),
    /// `half_open_max_wait`.
    HalfOpenMaxWait(Duration),
    /// `"off"` for a key that can be turned off.
    Off(Toggle),
    /// `max_keys`: live breakers a keyed family keeps before evicting idle Closed ones.
    MaxKeys(u32),
    /// `idle_ttl`: a keyed breaker unused this long (and Closed) may be evicted.
    IdleTtl(Duration),
}

/// A key that `"off"` turns off, in every source (builder, macro, file, environment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Toggle {
    /// `consecutive_failures`.
    ConsecutiveFailures,
    /// `failure_rate_threshold`.
    FailureRateThreshold,
    /// `slow_call_rate_threshold`.
    SlowCallRateThreshold,
    /// `half_open_max_wait` (off: probes are waited for).
    HalfOpenMaxWait,
}

impl Toggle {
    /// The key, as written in configuration.
    pub fn key(self) -> &'static str {
        match self {
            Toggle::ConsecutiveFailures => "consecutive_failures",
            Toggle::FailureRateThreshold => "failure_rate_threshold",
            Toggle::SlowCallRateThreshold => "slow_call_rate_threshold",
            Toggle::HalfOpenMaxWait => "half_open_max_wait",
        }
    }

    /// The key named `key`, if it can be turned off.
    pub fn of_key(key: &str) -> Option<Toggle> {
        [
            Toggle::ConsecutiveFailures,
            Toggle::FailureRateThreshold,
            Toggle::SlowCallRateThreshold,
            Toggle::HalfOpenMaxWait,
        ]
        .into_iter()
        .find(|t| t.key() == key)
    }
}

impl Setting {
    /// The key, as written in `circuit_breakers.toml` and macro arguments.
    pub fn key(&self) -> &'static str {
        match self {
            Setting::Preset(_) => "preset",
            Setting::ConsecutiveFailures(_) => "consecutive_failures",
            Setting::FailureRateThreshold(_) => "failure_rate_threshold",
            Setting::SlowCallRateThreshold(_) => "slow_call_rate_threshold",
            Setting::SlowCallDuration(_) => "slow_call_duration",
            Setting::MinimumCalls(_) => "minimum_calls",
            Setting::Window(_) => "window",
            Setting::OpenTimeout(_) => "open_timeout",
            Setting::BackoffMultiplier(_) => "backoff_multiplier",
            Setting::MaxOpenTimeout(_) => "max_open_timeout",
            Setting::Jitter(_) => "jitter",
            Setting::HalfOpenMaxCalls(_) => "half_open_max_calls",
            Setting::SuccessThreshold(_) => "success_threshold",
            Setting::HalfOpenMaxWait(_) => "half_open_max_wait",
            Setting::Off(t) => t.key(),
            Setting::MaxKeys(_) => "max_keys",
            Setting::IdleTtl(_) => "idle_ttl",
        }
    }

    /// Writes this value into `config` (a preset replaces every key it defines; an
    /// `open_timeout` above the current `max_open_timeout` raises the cap with it).
    pub fn apply(&self, config: &mut BreakerConfig) {
        match *self {
            Setting::Preset(p) => *config = p.config(),
            Setting::ConsecutiveFailures(n) => config.consecutive_failures = Some(n),
            Setting::FailureRateThreshold(r) => config.failure_rate_threshold = Some(r),
            Setting::SlowCallRateThreshold(r) => config.slow_call_rate_threshold = Some(r),
            Setting::SlowCallDuration(d) => config.slow_call_duration = d,
            Setting::MinimumCalls(n) => config.minimum_calls = n,
            Setting::Window(w) => config.window = w,
            Setting::OpenTimeout(d) => {
                config.open_timeout = d;
                config.max_open_timeout = config.max_open_timeout.max(d);
            }
            Setting::BackoffMultiplier(m) => config.backoff_multiplier = m,
            Setting::MaxOpenTimeout(d) => config.max_open_timeout = d,
            Setting::Jitter(j) => config.jitter = j,
            Setting::HalfOpenMaxCalls(n) => config.half_open_max_calls = n,
            Setting::SuccessThreshold(n) => config.success_threshold = n,
            Setting::HalfOpenMaxWait(d) => config.half_open_max_wait = Some(d),
            Setting::Off(Toggle::ConsecutiveFailures) => config.consecutive_failures = None,
            Setting::Off(Toggle::FailureRateThreshold) => config.failure_rate_threshold = None,
            Setting::Off(Toggle::SlowCallRateThreshold) => config.slow_call_rate_threshold = None,
            Setting::Off(Toggle::HalfOpenMaxWait) => config.half_open_max_wait = None,
            Setting::MaxKeys(n) => config.max_keys = n,
            Setting::IdleTtl(d) => config.idle_ttl = d,
        }
    }
}

impl Setting {
    /// Checks the value against its key's rule; the rule broken, if any.
    pub fn check(&self) -> Result<(), &'static str> {
        let ok = match *self {
            Setting::Preset(_) | Setting::Off(_) => true,
            Setting::ConsecutiveFailures(n) | Setting::MinimumCalls(n) => n >= 1,
            Setting::FailureRateThreshold(r) | Setting::SlowCallRateThreshold(r) => r > 0.0 && r <= 1.0,
            Setting::SlowCallDuration(d)
            | Setting::OpenTimeout(d)
            | Setting::MaxOpenTimeout(d)
            | Setting::HalfOpenMaxWait(d) => !d.is_zero() && d <= super::MAX_DURATION,
            Setting::Window(Window::Count(n)) => (1..=super::MAX_COUNT_WINDOW).contains(&n),
            Setting::Window(Window::Time(d)) => (super::MIN_TIME_WINDOW..=super::MAX_TIME_WINDOW).contains(&d),
            Setting::BackoffMultiplier(m) => (1.0..=100.0).contains(&m),
            Setting::Jitter(j) => (0.0..1.0).contains(&j),
            Setting::HalfOpenMaxCalls(n) | Setting::SuccessThreshold(n) => (1..=super::MAX_HALF_OPEN).contains(&n),
            Setting::MaxKeys(n) => (1..=super::MAX_KEYS).contains(&n),
            Setting::IdleTtl(d) => (super::MIN_IDLE_TTL..=super::MAX_IDLE_TTL).contains(&d),
        };
        if ok { Ok(()) } else { Err(self.rule()) }
    }

    /// The rule of this key, as error messages state it.
    pub fn rule(&self) -> &'static str {
        match self {
            Setting::Preset(_) => "must name a preset",
            Setting::Off(_) => "\"off\" turns the key off",
            Setting::ConsecutiveFailures(_) | Setting::MinimumCalls(_) => "must be at least 1",
            Setting::FailureRateThreshold(_) | Setting::SlowCallRateThreshold(_) => "must be in (0.0, 1.0]",
            Setting::SlowCallDuration(_)
            | Setting::OpenTimeout(_)
            | Setting::MaxOpenTimeout(_)
            | Setting::HalfOpenMaxWait(_) => "must be positive and at most 24h",
            Setting::Window(Window::Count(_)) => "a count window must hold 1..=65535 calls",
            Setting::Window(Window::Time(_)) => "a time window must be between 10ms and 10m",
            Setting::BackoffMultiplier(_) => "must be in [1.0, 100.0]",
            Setting::Jitter(_) => "must be in [0.0, 1.0)",
            Setting::HalfOpenMaxCalls(_) | Setting::SuccessThreshold(_) => "must be in 1..=8191",
            Setting::MaxKeys(_) => "must be in 1..=10000000",
            Setting::IdleTtl(_) => "must be between 1s and 24h",
        }
    }

    /// The value as a configuration file writes it, so it can be copied into one.
    ///
    /// ```
    /// use cb_runtime::config::Setting;
    /// use std::time::Duration;
    ///
    /// assert_eq!(Setting::OpenTimeout(Duration::from_secs(300)).value_text(), "\"5m\"");
    /// assert_eq!(Setting::OpenTimeout(Duration::from_millis(1500)).value_text(), "\"1500ms\"");
    /// assert_eq!(Setting::FailureRateThreshold(0.5).value_text(), "0.5");
    /// ```
    pub fn value_text(&self) -> String {
        match self {
            Setting::Preset(p) => format!("{:?}", p.name()),
            Setting::Off(_) => "\"off\"".to_owned(),
            Setting::ConsecutiveFailures(n)
            | Setting::MinimumCalls(n)
            | Setting::HalfOpenMaxCalls(n)
            | Setting::SuccessThreshold(n)
            | Setting::MaxKeys(n) => n.to_string(),
            Setting::FailureRateThreshold(r)
            | Setting::SlowCallRateThreshold(r)
            | Setting::BackoffMultiplier(r)
            | Setting::Jitter(r) => format!("{r:?}"),
            Setting::SlowCallDuration(d)
            | Setting::OpenTimeout(d)
            | Setting::MaxOpenTimeout(d)
            | Setting::HalfOpenMaxWait(d)
            | Setting::IdleTtl(d) => format!("\"{}\"", super::value::duration_text(*d)),
            Setting::Window(Window::Count(n)) => format!("{{ kind = \"count\", size = {n} }}"),
            Setting::Window(Window::Time(d)) => {
                format!("{{ kind = \"time\", size = \"{}\" }}", super::value::duration_text(*d))
            }
        }
    }
}

impl BreakerConfig {
    /// The built-in defaults with `settings` applied in order, validated.
    pub fn from_settings(settings: &[Setting]) -> Result<BreakerConfig, super::ConfigError> {
        let mut config = BreakerConfig::default();
        config.apply_settings(settings);
        config.validate()?;
        Ok(config)
    }

    /// Applies `settings` in order (not validated: call [`validate`](Self::validate)).
    pub fn apply_settings(&mut self, settings: &[Setting]) {
        for setting in settings {
            setting.apply(self);
        }
    }
}
