//! Breaker configuration: the keys, their defaults, presets and validation, and
//! `circuit_breakers.toml` with its precedence, explain and live reload.
//!
//! ```toml
//! [defaults]                 # replaces the built-in defaults for every breaker
//! open_timeout = "30s"
//!
//! [presets.paranoid]         # user presets beside the built-in default / aggressive / lenient
//! consecutive_failures = 2
//!
//! [breakers.sentinel]
//! failure_rate_threshold = 0.4
//! window = { kind = "time", size = "60s" }
//!
//! [breakers."webhook/*"]     # glob over keyed breakers
//! preset = "paranoid"
//! open_timeout = "10s"
//! ```
//!
//! Precedence, lowest first: built-in defaults < `[defaults]` < macro arguments (struct-level,
//! then method-level) < `[breakers.NAME]` (globs first, the exact name over them) <
//! environment `CB_BREAKER__<NAME>__<KEY>`. The global registry reads `CB_CONFIG`, else
//! `./circuit_breakers.toml`, else `./circuit_breakers.yaml` (feature `yaml`: the same document
//! in YAML), at first use; [`load`] fails fast at startup; [`watch`] reloads.

mod builder;
mod env;
mod file;
mod preset;
mod reload;
mod resolve;
mod setting;
mod source;
mod status;
mod tree;
pub(crate) mod value;
#[cfg(feature = "yaml")]
mod yaml;

pub use builder::BreakerConfigBuilder;
pub use env::env_problems;
pub use file::{FileConfig, FileError, LoadError, Location, parse};
pub use preset::{Preset, UnknownPreset};
pub use reload::{Changes, LoadReport, Watcher, load, load_into, watch, watch_every};
pub(crate) use resolve::{Asked, Base};
pub use resolve::{Explained, Explanation, Level, env_var};
pub use setting::{Setting, Toggle};
pub use source::ConfigSource;
pub(crate) use status::StatusCell;
pub use status::{ConfigStatus, Rejection, STRICT_VAR, misspelt_config_variables, strict};
pub(crate) use value::duration_text;

use std::fmt;
use std::time::Duration;

/// Where a rate trigger counts outcomes.
///
/// ```
/// use cb_runtime::Window;
/// use std::time::Duration;
///
/// let last_ten_calls = Window::Count(10);
/// let last_minute = Window::Time(Duration::from_secs(60));
/// # let _ = (last_ten_calls, last_minute);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Window {
    /// Exactly the last N recorded outcomes (a true sliding window), 1..=65535.
    Count(u32),
    /// The outcomes of the last duration, in buckets of one second (or a tenth of the window
    /// when it is shorter than ten seconds); 10ms..=10m.
    Time(Duration),
}

/// The resolved configuration of one breaker. Build one with [`BreakerConfig::builder`] (which
/// validates) or start from [`BreakerConfig::default`] / [`BreakerConfig::preset`].
///
/// ```
/// use cb_runtime::{BreakerConfig, Window};
/// use std::time::Duration;
///
/// let config = BreakerConfig::builder()
///     .consecutive_failures(3)
///     .window(Window::Count(10))
///     .minimum_calls(5)
///     .open_timeout(Duration::from_secs(15))
///     .build()
///     .unwrap();
/// assert_eq!(config.success_threshold, 3);
/// ```
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct BreakerConfig {
    /// Open after this many failures in a row (a success resets the run); `None` disables.
    pub consecutive_failures: Option<u32>,
    /// Open when failures / (successes + failures) over the window is at least this; `None` disables.
    pub failure_rate_threshold: Option<f64>,
    /// Open when slow calls / recorded calls over the window is at least this; `None` disables.
    pub slow_call_rate_threshold: Option<f64>,
    /// A call taking strictly longer than this is slow.
    pub slow_call_duration: Duration,
    /// Rates are judged only once the window holds this many outcomes (capped at a count window's size).
    pub minimum_calls: u32,
    /// The window rate triggers count over.
    pub window: Window,
    /// How long the breaker stays open after it first trips.
    pub open_timeout: Duration,
    /// The open wait grows by this factor with each consecutive re-open.
    pub backoff_multiplier: f64,
    /// The open wait never exceeds this (before jitter).
    pub max_open_timeout: Duration,
    /// The open wait is multiplied by a random factor in `[1 - jitter, 1 + jitter]`.
    pub jitter: f64,
    /// At most this many half-open probes run at once.
    pub half_open_max_calls: u32,
    /// This many successful probes close the breaker.
    pub success_threshold: u32,
    /// Probes undecided for longer than this re-open the breaker; `None` waits for them.
    pub half_open_max_wait: Option<Duration>,
    /// Keyed families (`name/key`): live breakers kept before idle Closed ones are evicted.
    pub max_keys: u32,
    /// Keyed families: a breaker unused this long, and Closed, may be evicted.
    pub idle_ttl: Duration,
}

impl Default for BreakerConfig {
    /// The built-in defaults (the numbers of the seed design documents).
    fn default() -> Self {
        Self {
            consecutive_failures: Some(5),
            failure_rate_threshold: Some(0.5),
            slow_call_rate_threshold: None,
            slow_call_duration: Duration::from_secs(5),
            minimum_calls: 20,
            window: Window::Time(Duration::from_secs(60)),
            open_timeout: Duration::from_secs(30),
            backoff_multiplier: 2.0,
            max_open_timeout: Duration::from_secs(300),
            jitter: 0.1,
            half_open_max_calls: 3,
            success_threshold: 3,
            half_open_max_wait: None,
            max_keys: DEFAULT_MAX_KEYS,
            idle_ttl: DEFAULT_IDLE_TTL,
        }
    }
}

impl BreakerConfig {
    /// A builder starting from the built-in defaults.
    pub fn builder() -> BreakerConfigBuilder {
        BreakerConfigBuilder::from(Self::default())
    }

    /// The configuration of a built-in preset.
    pub fn preset(preset: Preset) -> Self {
        preset.config()
    }

    /// A builder starting from this configuration.
    pub fn to_builder(&self) -> BreakerConfigBuilder {
        BreakerConfigBuilder::from(self.clone())
    }

    /// Checks every key against its rule, then `max_open_timeout >= open_timeout`; the first
    /// violation is returned.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for setting in self.settings() {
            if let Err(rule) = setting.check() {
                let key = match setting {
                    Setting::Window(_) => "window.size",
                    other => other.key(),
                };
                return Err(ConfigError {
                    key,
                    rule: rule.to_owned(),
                    value: setting.value_text(),
                });
            }
        }
        if self.max_open_timeout < self.open_timeout {
            return Err(ConfigError {
                key: "max_open_timeout",
                rule: "must be at least open_timeout".to_owned(),
                value: format!(
                    "\"{}\" < \"{}\"",
                    duration_text(self.max_open_timeout),
                    duration_text(self.open_timeout)
                ),
            });
        }
        Ok(())
    }

    /// Every key of this configuration as a `Setting` (triggers that are off are left out).
    pub fn settings(&self) -> Vec<Setting> {
        let mut all = Vec::with_capacity(13);
        all.extend(self.consecutive_failures.map(Setting::ConsecutiveFailures));
        all.extend(self.failure_rate_threshold.map(Setting::FailureRateThreshold));
        all.extend(self.slow_call_rate_threshold.map(Setting::SlowCallRateThreshold));
        all.extend([
            Setting::SlowCallDuration(self.slow_call_duration),
            Setting::MinimumCalls(self.minimum_calls),
            Setting::Window(self.window),
            Setting::OpenTimeout(self.open_timeout),
            Setting::BackoffMultiplier(self.backoff_multiplier),
            Setting::MaxOpenTimeout(self.max_open_timeout),
            Setting::Jitter(self.jitter),
            Setting::HalfOpenMaxCalls(self.half_open_max_calls),
            Setting::SuccessThreshold(self.success_threshold),
        ]);
        all.extend(self.half_open_max_wait.map(Setting::HalfOpenMaxWait));
        all.extend([Setting::MaxKeys(self.max_keys), Setting::IdleTtl(self.idle_ttl)]);
        all
    }

    /// `minimum_calls` as applied: capped at a count window's size.
    pub fn effective_minimum_calls(&self) -> u32 {
        match self.window {
            Window::Count(n) => self.minimum_calls.min(n),
            Window::Time(_) => self.minimum_calls,
        }
    }
}

/// What differs between two configurations, as `key: old -> new` lines.
pub(crate) fn diff(old: &BreakerConfig, new: &BreakerConfig) -> Vec<String> {
    let mut changes = Vec::new();
    let mut check = |key: &str, a: String, b: String| {
        if a != b {
            changes.push(format!("{key}: {a} -> {b}"));
        }
    };
    check(
        "consecutive_failures",
        show(old.consecutive_failures),
        show(new.consecutive_failures),
    );
    check(
        "failure_rate_threshold",
        show(old.failure_rate_threshold.map(Float)),
        show(new.failure_rate_threshold.map(Float)),
    );
    check(
        "slow_call_rate_threshold",
        show(old.slow_call_rate_threshold.map(Float)),
        show(new.slow_call_rate_threshold.map(Float)),
    );
    check(
        "slow_call_duration",
        format!("{:?}", old.slow_call_duration),
        format!("{:?}", new.slow_call_duration),
    );
    check(
        "minimum_calls",
        old.minimum_calls.to_string(),
        new.minimum_calls.to_string(),
    );
    check(
        "open_timeout",
        format!("{:?}", old.open_timeout),
        format!("{:?}", new.open_timeout),
    );
    check(
        "backoff_multiplier",
        old.backoff_multiplier.to_string(),
        new.backoff_multiplier.to_string(),
    );
    check(
        "max_open_timeout",
        format!("{:?}", old.max_open_timeout),
        format!("{:?}", new.max_open_timeout),
    );
    check("jitter", format!("{:?}", old.jitter), format!("{:?}", new.jitter));
    check(
        "half_open_max_calls",
        old.half_open_max_calls.to_string(),
        new.half_open_max_calls.to_string(),
    );
    check(
        "success_threshold",
        old.success_threshold.to_string(),
        new.success_threshold.to_string(),
    );
    check(
        "half_open_max_wait",
        show(old.half_open_max_wait.map(|d| format!("{d:?}"))),
        show(new.half_open_max_wait.map(|d| format!("{d:?}"))),
    );
    check("max_keys", old.max_keys.to_string(), new.max_keys.to_string());
    check("idle_ttl", format!("{:?}", old.idle_ttl), format!("{:?}", new.idle_ttl));
    changes
}

/// A float printed with its decimal point (`0.0`, not `0`).
struct Float(f64);

impl std::fmt::Display for Float {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

fn show<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or_else(|| "off".to_owned(), |v| v.to_string())
}

pub(crate) const MAX_COUNT_WINDOW: u32 = 65_535;
pub(crate) const MAX_HALF_OPEN: u32 = 8_191;
/// Largest `max_keys` of a keyed family.
pub(crate) const MAX_KEYS: u32 = 10_000_000;
/// Default `max_keys`: 10,000 live keys (about 20 MB at the measured ~2 KB a breaker).
pub(crate) const DEFAULT_MAX_KEYS: u32 = 10_000;
/// Shortest `idle_ttl`.
pub(crate) const MIN_IDLE_TTL: Duration = Duration::from_secs(1);
/// Longest `idle_ttl`.
pub(crate) const MAX_IDLE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Default `idle_ttl`: ten minutes unused.
pub(crate) const DEFAULT_IDLE_TTL: Duration = Duration::from_secs(600);
pub(crate) const MIN_TIME_WINDOW: Duration = Duration::from_millis(10);
pub(crate) const MAX_TIME_WINDOW: Duration = Duration::from_secs(600);
/// The longest duration any key accepts (`"24h"`), in every source.
pub const MAX_DURATION: Duration = Duration::from_secs(24 * 3600);

/// A configuration value outside its allowed range.
///
/// ```
/// use cb_runtime::BreakerConfig;
///
/// let err = BreakerConfig::builder().failure_rate_threshold(1.5).build().unwrap_err();
/// assert_eq!(err.key(), "failure_rate_threshold");
/// assert_eq!(err.to_string(), "invalid `failure_rate_threshold` = 1.5: must be in (0.0, 1.0]");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ConfigError {
    key: &'static str,
    rule: String,
    value: String,
}

impl ConfigError {
    /// `value` of `key` breaks `rule`.
    #[cfg_attr(not(feature = "reqwest-middleware"), allow(dead_code))]
    pub(crate) fn new(key: &'static str, rule: impl Into<String>, value: impl Into<String>) -> Self {
        ConfigError {
            key,
            rule: rule.into(),
            value: value.into(),
        }
    }

    /// The offending key, as written in `circuit_breakers.toml`.
    pub fn key(&self) -> &'static str {
        self.key
    }

    /// The rule the value breaks.
    pub fn rule(&self) -> &str {
        &self.rule
    }

    /// The rejected value, as text.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid `{}` = {}: {}", self.key, self.value, self.rule)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_match_design() {
        let c = BreakerConfig::default();
        c.validate().unwrap();
        assert_eq!(c.consecutive_failures, Some(5));
        assert_eq!(c.minimum_calls, 20);
        assert_eq!(c.window, Window::Time(Duration::from_secs(60)));
        assert_eq!(c.open_timeout, Duration::from_secs(30));
        assert_eq!(c.max_open_timeout, Duration::from_secs(300));
    }

    #[test]
    fn every_rule_names_its_key() {
        let cases: Vec<(BreakerConfigBuilder, &str)> = vec![
            (BreakerConfig::builder().consecutive_failures(0), "consecutive_failures"),
            (
                BreakerConfig::builder().failure_rate_threshold(0.0),
                "failure_rate_threshold",
            ),
            (
                BreakerConfig::builder().slow_call_rate_threshold(1.01),
                "slow_call_rate_threshold",
            ),
            (
                BreakerConfig::builder().slow_call_duration(Duration::ZERO),
                "slow_call_duration",
            ),
            (BreakerConfig::builder().minimum_calls(0), "minimum_calls"),
            (BreakerConfig::builder().window(Window::Count(0)), "window.size"),
            (BreakerConfig::builder().window(Window::Count(70_000)), "window.size"),
            (
                BreakerConfig::builder().window(Window::Time(Duration::from_secs(3600))),
                "window.size",
            ),
            (BreakerConfig::builder().open_timeout(Duration::ZERO), "open_timeout"),
            (BreakerConfig::builder().backoff_multiplier(0.5), "backoff_multiplier"),
            (
                BreakerConfig::builder().max_open_timeout(Duration::from_secs(1)),
                "max_open_timeout",
            ),
            (BreakerConfig::builder().jitter(1.0), "jitter"),
            (BreakerConfig::builder().half_open_max_calls(0), "half_open_max_calls"),
            (BreakerConfig::builder().success_threshold(9000), "success_threshold"),
            (
                BreakerConfig::builder().half_open_max_wait(Duration::ZERO),
                "half_open_max_wait",
            ),
        ];
        for (builder, key) in cases {
            let err = builder.build().unwrap_err();
            assert_eq!(err.key(), key, "{err}");
        }
    }

    #[test]
    fn minimum_calls_is_capped_by_a_count_window() {
        let c = BreakerConfig::builder()
            .window(Window::Count(10))
            .minimum_calls(50)
            .build()
            .unwrap();
        assert_eq!(c.effective_minimum_calls(), 10);
    }
}
