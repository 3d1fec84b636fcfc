//! The built-in presets: `default`, `aggressive` and `lenient`.

use super::{BreakerConfig, Window};
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// A named starting configuration.
///
/// | key | default | aggressive | lenient |
/// |---|---|---|---|
/// | consecutive_failures | 5 | 3 | 10 |
/// | failure_rate_threshold | 0.5 | 0.25 | 0.75 |
/// | slow_call_rate_threshold | off | 0.5 | off |
/// | slow_call_duration | 5s | 2s | 10s |
/// | minimum_calls | 20 | 10 | 50 |
/// | window | time 60s | time 30s | time 120s |
/// | open_timeout | 30s | 60s | 10s |
/// | backoff_multiplier | 2.0 | 2.0 | 1.5 |
/// | max_open_timeout | 5m | 10m | 2m |
/// | jitter | 0.1 | 0.1 | 0.1 |
/// | half_open_max_calls | 3 | 1 | 5 |
/// | success_threshold | 3 | 5 | 2 |
///
/// ```
/// use cb_runtime::{BreakerConfig, Preset};
///
/// let preset: Preset = "aggressive".parse().unwrap();
/// assert_eq!(BreakerConfig::preset(preset).consecutive_failures, Some(3));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Preset {
    /// The built-in defaults.
    Default,
    /// Trips early, stays open long, probes carefully: for dependencies that must not be hammered.
    Aggressive,
    /// Tolerates more failures and retries sooner: for dependencies with noisy, transient errors.
    Lenient,
}

impl Preset {
    /// Every built-in preset.
    pub const ALL: [Preset; 3] = [Preset::Default, Preset::Aggressive, Preset::Lenient];

    /// The preset's name, as written in configuration.
    pub fn name(self) -> &'static str {
        match self {
            Preset::Default => "default",
            Preset::Aggressive => "aggressive",
            Preset::Lenient => "lenient",
        }
    }

    /// The preset's configuration.
    pub fn config(self) -> BreakerConfig {
        let base = BreakerConfig::default();
        match self {
            Preset::Default => base,
            Preset::Aggressive => BreakerConfig {
                consecutive_failures: Some(3),
                failure_rate_threshold: Some(0.25),
                slow_call_rate_threshold: Some(0.5),
                slow_call_duration: Duration::from_secs(2),
                minimum_calls: 10,
                window: Window::Time(Duration::from_secs(30)),
                open_timeout: Duration::from_secs(60),
                max_open_timeout: Duration::from_secs(600),
                half_open_max_calls: 1,
                success_threshold: 5,
                ..base
            },
            Preset::Lenient => BreakerConfig {
                consecutive_failures: Some(10),
                failure_rate_threshold: Some(0.75),
                slow_call_duration: Duration::from_secs(10),
                minimum_calls: 50,
                window: Window::Time(Duration::from_secs(120)),
                open_timeout: Duration::from_secs(10),
                backoff_multiplier: 1.5,
                max_open_timeout: Duration::from_secs(120),
                half_open_max_calls: 5,
                success_threshold: 2,
                ..base
            },
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown preset name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownPreset(pub String);

impl fmt::Display for UnknownPreset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown preset `{}`: expected one of default, aggressive, lenient",
            self.0
        )
    }
}

impl std::error::Error for UnknownPreset {}

impl FromStr for Preset {
    type Err = UnknownPreset;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Preset::ALL
            .into_iter()
            .find(|p| p.name() == s)
            .ok_or_else(|| UnknownPreset(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_is_valid() {
        for p in Preset::ALL {
            p.config().validate().unwrap();
            assert_eq!(p.name().parse::<Preset>().unwrap(), p);
        }
    }

    #[test]
    fn unknown_preset_lists_the_known_ones() {
        let err = "paranoid".parse::<Preset>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown preset `paranoid`: expected one of default, aggressive, lenient"
        );
    }
}
