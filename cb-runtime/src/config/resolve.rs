//! Precedence, lowest first: built-in defaults < file `[defaults]` < macro arguments
//! (struct-level, then method-level) < file `[breakers.NAME]` (globs first, the exact name over
//! them) < environment `CB_BREAKER__<NAME>__<KEY>`. A breaker built from a `BreakerConfig` in
//! code takes that configuration in place of the first three levels. Every resolved key keeps
//! the level it came from, for `explain`.

use super::file::{FileConfig, FileError, Location};
use super::value::{Value, keys, parse_setting};
use super::{BreakerConfig, Setting, Toggle};
use crate::glob_match;
use std::collections::BTreeMap;
use std::fmt;

/// Where a resolved value came from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum Level {
    /// The built-in defaults.
    BuiltIn,
    /// The file's `[defaults]`.
    FileDefaults(Location),
    /// A preset, named at another level.
    Preset {
        /// The preset.
        name: String,
        /// The level that named it.
        within: Box<Level>,
    },
    /// The struct-level `#[circuit_breaker(..)]` of a `CircuitProtected` type.
    Struct,
    /// The method- or function-level `#[circuit_breaker(..)]`.
    Method,
    /// A `BreakerConfig` given in code.
    Code,
    /// A `[breakers.PATTERN]` section.
    FileBreaker {
        /// The section's name or glob.
        pattern: String,
        /// Where the key was written.
        at: Location,
    },
    /// An environment variable.
    Env(String),
    /// A keyed family's limit (`max_keys`, `idle_ttl`): one per family, set by the first key
    /// registered, whatever a later key asks for.
    Family(String),
    /// `max_open_timeout` raised to the `open_timeout` set at this level (an `open_timeout` above
    /// the cap in force raises it).
    RaisedBy(Box<Level>),
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Level::BuiltIn => f.write_str("built-in default"),
            Level::FileDefaults(at) => write!(f, "[defaults] at {at}"),
            Level::Preset { name, within } => write!(f, "preset `{name}` via {within}"),
            Level::Struct => f.write_str("struct-level #[circuit_breaker]"),
            Level::Method => f.write_str("#[circuit_breaker] arguments"),
            Level::RaisedBy(level) => write!(f, "raised to open_timeout, set by {level}"),
            Level::Code => f.write_str("BreakerConfig in code"),
            Level::FileBreaker { pattern, at } => write!(f, "[breakers.\"{pattern}\"] at {at}"),
            Level::Env(var) => write!(f, "environment {var}"),
            Level::Family(family) => write!(f, "keyed family `{family}` (one limit per family)"),
        }
    }
}

/// What a breaker's configuration is built on, below the file's breaker sections.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Base {
    /// Macro arguments: struct-level, then function-level.
    Layers { outer: Vec<Setting>, inner: Vec<Setting> },
    /// A configuration given in code.
    Code(BreakerConfig),
}

impl Base {
    /// `kept` and `ignored` as a conflict report shows them: macro arguments as `key = value`
    /// per level; two configurations in code by the keys where they differ (a trigger one of
    /// them has off as `"off"`).
    pub(crate) fn describe_conflict(kept: &Base, ignored: &Base) -> (String, String) {
        match (kept, ignored) {
            (Base::Code(a), Base::Code(b)) => {
                let (a, b) = (a.settings(), b.settings());
                let differing = |these: &[Setting], those: &[Setting]| {
                    let shown: Vec<Setting> = these
                        .iter()
                        .filter(|s| !those.contains(s))
                        .copied()
                        .chain(
                            those
                                .iter()
                                .filter(|t| !these.iter().any(|s| s.key() == t.key()))
                                .filter_map(|t| Toggle::of_key(t.key()).map(Setting::Off)),
                        )
                        .collect();
                    format!("a configuration in code with {}", settings_text(&shown))
                };
                (differing(&a, &b), differing(&b, &a))
            }
            _ => (kept.describe(), ignored.describe()),
        }
    }

    /// This base as `key = value` settings.
    fn describe(&self) -> String {
        match self {
            Base::Layers { outer, inner } => format!(
                "macro arguments struct-level {}, function-level {}",
                settings_text(outer),
                settings_text(inner)
            ),
            Base::Code(config) => format!("a configuration in code with {}", settings_text(&config.settings())),
        }
    }
}

/// `key = value, ..` (`(none)` for no settings).
fn settings_text(settings: &[Setting]) -> String {
    if settings.is_empty() {
        return "(none)".to_owned();
    }
    settings
        .iter()
        .map(|s| format!("{} = {}", s.key(), s.value_text()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// A [`Base`] as a caller asks for it, borrowed: a new key whose family already resolved
/// this base copies nothing.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Asked<'a> {
    /// Macro arguments: struct-level, then function-level.
    Layers { outer: &'a [Setting], inner: &'a [Setting] },
    /// A configuration given in code.
    Code(&'a BreakerConfig),
}

impl Asked<'_> {
    /// Whether `base` is what is asked.
    pub(crate) fn is(self, base: &Base) -> bool {
        match (self, base) {
            (Asked::Layers { outer, inner }, Base::Layers { outer: o, inner: i }) => outer == o && inner == i,
            (Asked::Code(config), Base::Code(c)) => config == c,
            _ => false,
        }
    }

    /// The base, owned.
    pub(crate) fn to_base(self) -> Base {
        match self {
            Asked::Layers { outer, inner } => Base::Layers {
                outer: outer.to_vec(),
                inner: inner.to_vec(),
            },
            Asked::Code(config) => Base::Code(config.clone()),
        }
    }
}

/// One resolved key.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Explained {
    /// The key.
    pub key: &'static str,
    /// Its value, as configuration text writes it.
    pub value: String,
    /// The level it came from.
    pub level: Level,
}

/// A breaker's resolved configuration and where each key came from.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Explanation {
    /// The breaker.
    pub name: String,
    /// The configuration in force.
    pub config: BreakerConfig,
    /// Every key, in configuration order.
    pub keys: Vec<Explained>,
    /// Problems skipped while resolving (bad environment variables).
    pub problems: Vec<FileError>,
    /// What else decides this breaker's behaviour (a fleet it is shared with), and what to
    /// know about the file (rejected, or changed on disk since it was loaded).
    pub notes: Vec<String>,
}

impl fmt::Display for Explanation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "circuit breaker `{}`", self.name)?;
        for k in &self.keys {
            writeln!(f, "  {:<26} {:<36} {}", k.key, k.value, k.level)?;
        }
        for p in &self.problems {
            writeln!(f, "  ignored: {p}")?;
        }
        for n in &self.notes {
            writeln!(f, "  note: {n}")?;
        }
        Ok(())
    }
}

impl Explanation {
    /// A keyed breaker's `max_keys` and `idle_ttl` as its family has them: where the key's
    /// own resolution asked for others, the family's are in force, and a note says so.
    pub(crate) fn in_family(&mut self, family: &str, max_keys: u32, idle_ttl: std::time::Duration) {
        let kept = [Setting::MaxKeys(max_keys), Setting::IdleTtl(idle_ttl)];
        let asked = [
            Setting::MaxKeys(self.config.max_keys),
            Setting::IdleTtl(self.config.idle_ttl),
        ];
        for (kept, asked) in kept.into_iter().zip(asked) {
            if kept == asked {
                continue;
            }
            kept.apply(&mut self.config);
            if let Some(k) = self.keys.iter_mut().find(|k| k.key == kept.key()) {
                self.notes.push(format!(
                    "`{}` = {} from {} is not in force: keyed family `{family}` keeps {} for all its keys (set by its first key)",
                    kept.key(),
                    k.value,
                    k.level,
                    kept.value_text()
                ));
                k.value = kept.value_text();
                k.level = Level::Family(family.to_owned());
            }
        }
    }
}

/// The environment variable that overrides `key` of breaker `name`.
///
/// ```
/// assert_eq!(cb_runtime::config::env_var("webhook/billing", "open_timeout"), "CB_BREAKER__WEBHOOK_BILLING__OPEN_TIMEOUT");
/// ```
pub fn env_var(name: &str, key: &str) -> String {
    let upper = |s: &str| {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect::<String>()
    };
    format!("CB_BREAKER__{}__{}", upper(name), upper(key))
}

struct Resolution {
    config: BreakerConfig,
    levels: BTreeMap<&'static str, Level>,
}

impl Resolution {
    fn new(config: BreakerConfig, level: Level) -> Resolution {
        let levels = keys()
            .iter()
            .filter(|k| **k != "preset")
            .map(|k| (*k, level.clone()))
            .collect();
        Resolution { config, levels }
    }

    fn apply(&mut self, setting: Setting, level: Level) {
        let cap = self.config.max_open_timeout;
        setting.apply(&mut self.config);
        if matches!(setting, Setting::OpenTimeout(_)) && self.config.max_open_timeout != cap {
            self.levels
                .insert("max_open_timeout", Level::RaisedBy(Box::new(level.clone())));
        }
        match setting {
            Setting::Preset(p) => {
                let preset_level = Level::Preset {
                    name: p.name().to_owned(),
                    within: Box::new(level),
                };
                for l in self.levels.values_mut() {
                    *l = preset_level.clone();
                }
            }
            other => {
                self.levels.insert(other.key(), level);
            }
        }
    }
}

/// Resolves breaker `name` over `base` with the file's sections and, if `env` is on, the
/// environment.
pub(crate) fn resolve(name: &str, base: &Base, file: Option<&FileConfig>, env: bool) -> Explanation {
    let mut r = match base {
        Base::Code(config) => Resolution::new(config.clone(), Level::Code),
        Base::Layers { outer, inner } => {
            let mut r = Resolution::new(BreakerConfig::default(), Level::BuiltIn);
            for e in file.map(|f| f.defaults.as_slice()).unwrap_or_default() {
                r.apply(
                    e.setting,
                    entry_level(Level::FileDefaults(e.at.clone()), e.via_preset.as_deref()),
                );
            }
            for s in outer {
                r.apply(*s, Level::Struct);
            }
            for s in inner {
                r.apply(*s, Level::Method);
            }
            r
        }
    };
    if let Some(file) = file {
        let matching = file.breakers.iter().filter(|(pattern, ..)| glob_match(pattern, name));
        let (exact, globs): (Vec<_>, Vec<_>) = matching.partition(|(pattern, ..)| pattern == name);
        for (pattern, entries, _) in globs.into_iter().chain(exact) {
            for e in entries {
                let level = Level::FileBreaker {
                    pattern: pattern.clone(),
                    at: e.at.clone(),
                };
                r.apply(e.setting, entry_level(level, e.via_preset.as_deref()));
            }
        }
    }
    let mut problems = Vec::new();
    if env {
        let family = crate::family::family_of(name);
        for key in keys() {
            let family_limit = matches!(*key, "max_keys" | "idle_ttl");
            let var = match family {
                // One cap and one idle time per family: its own variable sets them.
                Some(family) if family_limit => {
                    let own = env_var(name, key);
                    if !name.ends_with("/*") && std::env::var_os(&own).is_some() {
                        problems.push(super::env::env_error(
                            &own,
                            Some(key),
                            format!(
                                "`{key}` is a limit of keyed family `{}` (one per family), which this variable of one key cannot set: set {} instead",
                                super::value::clip(family),
                                env_var(family, key)
                            ),
                        ));
                    }
                    env_var(family, key)
                }
                _ => env_var(name, key),
            };
            let Some(value) = std::env::var_os(&var) else { continue };
            let Some(text) = value.to_str() else {
                problems.push(super::env::env_error(
                    &var,
                    Some(key),
                    "the value is not UTF-8".to_owned(),
                ));
                continue;
            };
            match parse_setting(key, &Value::from_env(text)) {
                Ok(Some(setting)) => r.apply(setting, Level::Env(var)),
                _ => problems.extend(super::env::value_problem(&var, key, text)),
            }
        }
    }
    let keys = r
        .config
        .settings()
        .into_iter()
        .map(|s| (s.key(), s.value_text()))
        .chain(
            [
                (Toggle::ConsecutiveFailures, r.config.consecutive_failures.is_none()),
                (Toggle::FailureRateThreshold, r.config.failure_rate_threshold.is_none()),
                (
                    Toggle::SlowCallRateThreshold,
                    r.config.slow_call_rate_threshold.is_none(),
                ),
                (Toggle::HalfOpenMaxWait, r.config.half_open_max_wait.is_none()),
            ]
            .into_iter()
            .filter(|(_, off)| *off)
            .map(|(toggle, _)| Setting::Off(toggle))
            .map(|s| (s.key(), s.value_text())),
        )
        .map(|(key, value)| Explained {
            key,
            value,
            level: r.levels.get(key).cloned().unwrap_or(Level::BuiltIn),
        })
        .collect();
    Explanation {
        name: name.to_owned(),
        config: r.config,
        keys,
        problems,
        notes: Vec::new(),
    }
}

fn entry_level(level: Level, via_preset: Option<&str>) -> Level {
    match via_preset {
        Some(name) => Level::Preset {
            name: name.to_owned(),
            within: Box::new(level),
        },
        None => level,
    }
}
