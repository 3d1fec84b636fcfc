//! Reads one `key = value` of configuration text (a file entry or an environment variable)
//! into a `Setting`, checking its type and range; shared by the file and environment layers.

use super::{Preset, Setting, Toggle, Window};
use std::borrow::Cow;
use std::time::Duration;

/// A configuration value, as written.
#[derive(Clone, Debug)]
pub(crate) enum Value<'a> {
    Int(i128),
    Float(f64),
    Str(&'a str),
    /// A window table: `kind` and `size`, each possibly missing.
    Window {
        kind: Option<String>,
        size: Option<Box<Value<'a>>>,
    },
    Other(&'static str),
}

impl<'a> Value<'a> {
    /// An environment variable's text: numbers as numbers, the rest as strings.
    pub(crate) fn from_env(text: &'a str) -> Value<'a> {
        let t = text.trim();
        if let Ok(i) = t.parse::<i128>() {
            Value::Int(i)
        } else if let Ok(f) = t.parse::<f64>() {
            Value::Float(f)
        } else {
            Value::Str(t)
        }
    }

    pub(crate) fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Int(_) => "integer",
            Value::Float(_) => "float",
            Value::Str(_) => "string",
            Value::Window { .. } => "table",
            Value::Other(t) => t,
        }
    }
}

/// Why a value was refused.
#[derive(Debug)]
pub(crate) struct Problem {
    pub(crate) message: String,
    /// Whether the key (not the value) is at fault.
    pub(crate) at_key: bool,
}

fn wrong(key: &str, expected: &str, found: &Value<'_>) -> Problem {
    let off = if Toggle::of_key(key).is_some() {
        " or \"off\""
    } else {
        ""
    };
    let found = match found {
        Value::Str(s) => format!("string \"{}\"", clip(s)),
        other => other.type_name().to_owned(),
    };
    Problem {
        message: format!("`{key}` must be {expected}{off}, found {found}"),
        at_key: false,
    }
}

/// The longest piece of user text an error message repeats.
const CLIP: usize = 64;

/// `text` as an error message repeats it: at most 64 characters, then how long it was.
pub(crate) fn clip(text: &str) -> Cow<'_, str> {
    match text.char_indices().nth(CLIP) {
        None => Cow::Borrowed(text),
        Some((end, _)) => Cow::Owned(format!("{}... ({} bytes)", &text[..end], text.len())),
    }
}

const KEYS: [&str; 16] = [
    "preset",
    "consecutive_failures",
    "failure_rate_threshold",
    "slow_call_rate_threshold",
    "slow_call_duration",
    "minimum_calls",
    "window",
    "open_timeout",
    "backoff_multiplier",
    "max_open_timeout",
    "jitter",
    "half_open_max_calls",
    "success_threshold",
    "half_open_max_wait",
    "max_keys",
    "idle_ttl",
];

/// Every key a configuration section accepts.
pub(crate) fn keys() -> &'static [&'static str] {
    &KEYS
}

/// The setting of `key = value`. `Ok(None)` is `preset = "NAME"` naming no built-in preset
/// (the caller looks for a file preset).
pub(crate) fn parse_setting(key: &str, value: &Value<'_>) -> Result<Option<Setting>, Problem> {
    if let (Some(toggle), Some("off")) = (Toggle::of_key(key), value.as_str()) {
        return Ok(Some(Setting::Off(toggle)));
    }
    parse_value(key, value).map_err(|mut problem| {
        // A string for a key that "off" turns off: say so where the message does not, and that
        // it is written in lower case.
        if Toggle::of_key(key).is_some()
            && let Some(text) = value.as_str()
        {
            if text.trim().eq_ignore_ascii_case("off") {
                problem.message += "; write \"off\" in lower case to turn it off";
            } else if !problem.message.contains("\"off\"") {
                problem.message += "; or \"off\" to turn it off";
            }
        }
        problem
    })
}

/// [`parse_setting`] of a value that is not `"off"`.
fn parse_value(key: &str, value: &Value<'_>) -> Result<Option<Setting>, Problem> {
    let setting = match key {
        "preset" => match value.as_str() {
            Some(name) => return Ok(name.parse::<Preset>().ok().map(Setting::Preset)),
            None => return Err(wrong(key, "a preset name", value)),
        },
        "consecutive_failures" => Setting::ConsecutiveFailures(count(key, value, Setting::ConsecutiveFailures)?),
        "minimum_calls" => Setting::MinimumCalls(count(key, value, Setting::MinimumCalls)?),
        "half_open_max_calls" => Setting::HalfOpenMaxCalls(count(key, value, Setting::HalfOpenMaxCalls)?),
        "success_threshold" => Setting::SuccessThreshold(count(key, value, Setting::SuccessThreshold)?),
        "failure_rate_threshold" => Setting::FailureRateThreshold(number(key, value)?),
        "slow_call_rate_threshold" => Setting::SlowCallRateThreshold(number(key, value)?),
        "backoff_multiplier" => Setting::BackoffMultiplier(number(key, value)?),
        "jitter" => Setting::Jitter(number(key, value)?),
        "slow_call_duration" => Setting::SlowCallDuration(duration(key, value)?),
        "open_timeout" => Setting::OpenTimeout(duration(key, value)?),
        "max_open_timeout" => Setting::MaxOpenTimeout(duration(key, value)?),
        "half_open_max_wait" => Setting::HalfOpenMaxWait(duration(key, value)?),
        "max_keys" => Setting::MaxKeys(count(key, value, Setting::MaxKeys)?),
        "idle_ttl" => Setting::IdleTtl(duration(key, value)?),
        "window" => Setting::Window(window(value)?),
        unknown => {
            let hint = did_you_mean(unknown, &KEYS).map_or_else(
                || format!("expected one of {}", KEYS.join(", ")),
                |k| format!("did you mean `{k}`?"),
            );
            return Err(Problem {
                message: format!("unknown key `{}`; {hint}", clip(unknown)),
                at_key: true,
            });
        }
    };
    setting.check().map_err(|rule| {
        let mut message = format!("`{key}` = {}: {rule}", setting.value_text());
        // A percentage where a fraction belongs: say which fraction (as the macro does).
        if let Setting::FailureRateThreshold(r) | Setting::SlowCallRateThreshold(r) = setting
            && matches!(value, Value::Int(_))
            && r > 1.0
            && r <= 100.0
        {
            message += &format!("; a fraction, not a percentage: for {r}% write {:?}", r / 100.0);
        }
        Problem { message, at_key: false }
    })?;
    Ok(Some(setting))
}

/// A count of `key`, whose setting `make` builds: a negative or huge integer breaks that key's
/// own rule, and the message says that rule (`1..=8191` for `success_threshold`).
fn count(key: &str, value: &Value<'_>, make: fn(u32) -> Setting) -> Result<u32, Problem> {
    match value {
        Value::Int(i) => u32::try_from(*i).map_err(|_| {
            let rule = match make(0).rule() {
                "must be at least 1" => format!("must be a count between 1 and {}", u32::MAX),
                rule => rule.to_owned(),
            };
            Problem {
                message: format!("`{key}` = {i} is out of range: it {rule}"),
                at_key: false,
            }
        }),
        other => Err(wrong(key, "an integer", other)),
    }
}

fn number(key: &str, value: &Value<'_>) -> Result<f64, Problem> {
    match value {
        Value::Int(i) => Ok(*i as f64),
        Value::Float(f) => Ok(*f),
        other => {
            let mut problem = wrong(key, "a number", other);
            // A percentage where a fraction belongs: say which fraction (as the macro does).
            if let Some(percent) = other
                .as_str()
                .and_then(|s| s.trim().strip_suffix('%'))
                .and_then(|n| n.trim().parse::<f64>().ok())
            {
                problem.message += &format!("; write {} for {percent}%", percent / 100.0);
            }
            Err(problem)
        }
    }
}

fn duration(key: &str, value: &Value<'_>) -> Result<Duration, Problem> {
    let text = value
        .as_str()
        .ok_or_else(|| wrong(key, "a duration string like \"30s\"", value))?;
    parse_duration(text).ok_or_else(|| Problem {
        message: format!(
            "invalid duration \"{}\" for `{key}`: expected an integer followed by ms, s, m or h, at most 24h (e.g. \"150ms\", \"2s\")",
            clip(text)
        ),
        at_key: false,
    })
}

/// A duration as the configuration writes it (`"150ms"`, `"30s"`, `"5m"`, `"1h"`): what
/// [`parse_duration`] reads back. A duration finer than a millisecond (possible only from code)
/// keeps its `Debug` spelling (`"1.5µs"`), which no file can hold.
pub(crate) fn duration_text(d: Duration) -> String {
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        return format!("{d:?}");
    }
    let ms = d.as_millis();
    match ms {
        0 => "0ms".to_owned(),
        _ if ms.is_multiple_of(3_600_000) => format!("{}h", ms / 3_600_000),
        _ if ms.is_multiple_of(60_000) => format!("{}m", ms / 60_000),
        _ if ms.is_multiple_of(1_000) => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

/// `"150ms"`, `"2s"`, `"5m"`, `"1h"`.
pub(crate) fn parse_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (digits, unit) = text.split_at(split);
    let n: u64 = digits.parse().ok()?;
    match unit {
        "ms" => Some(Duration::from_millis(n)),
        "s" => Some(Duration::from_secs(n)),
        "m" => Some(Duration::from_secs(n.saturating_mul(60))),
        "h" => Some(Duration::from_secs(n.saturating_mul(3600))),
        _ => None,
    }
}

/// A window: `{ kind = "count", size = 100 }` or `{ kind = "time", size = "60s" }` in a file;
/// `100` or `"60s"` in an environment variable.
fn window(value: &Value<'_>) -> Result<Window, Problem> {
    let bad = |message: String| Problem { message, at_key: false };
    match value {
        Value::Window { kind, size } => {
            let size = size
                .as_deref()
                .ok_or_else(|| bad("`window` needs a `size`".to_owned()))?;
            match kind.as_deref() {
                Some("count") => count("window.size", size, |n| Setting::Window(Window::Count(n))).map(Window::Count),
                Some("time") => duration("window.size", size).map(Window::Time),
                Some(other) => Err(bad(format!(
                    "`window.kind` = \"{}\": expected \"count\" or \"time\"",
                    clip(other)
                ))),
                None => Err(bad("`window` needs a `kind`: \"count\" or \"time\"".to_owned())),
            }
        }
        Value::Int(_) => count("window", value, |n| Setting::Window(Window::Count(n))).map(Window::Count),
        Value::Str(text) => duration("window", value).map(Window::Time).map_err(|_| {
            bad(format!(
                "`window` = \"{}\": expected a count of calls (100) or a duration (\"60s\"); in a file, also {{ kind = \"count\", size = 100 }}",
                clip(text)
            ))
        }),
        other => Err(wrong(
            "window",
            "a table like { kind = \"time\", size = \"60s\" }",
            other,
        )),
    }
}

/// The closest candidate to a misspelt word, if close enough to be a typo.
pub(crate) fn did_you_mean<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    if word.len() > 2 * CLIP {
        return None;
    }
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_become_settings_with_their_rules() {
        assert_eq!(
            parse_setting("open_timeout", &Value::Str("10s")).unwrap(),
            Some(Setting::OpenTimeout(Duration::from_secs(10)))
        );
        assert_eq!(
            parse_setting("window", &Value::Int(50)).unwrap(),
            Some(Setting::Window(Window::Count(50)))
        );
        assert_eq!(
            parse_setting("failure_rate_threshold", &Value::Float(1.5))
                .unwrap_err()
                .message,
            "`failure_rate_threshold` = 1.5: must be in (0.0, 1.0]"
        );
        assert_eq!(
            parse_setting("open_timout", &Value::Str("1s")).unwrap_err().message,
            "unknown key `open_timout`; did you mean `open_timeout`?"
        );
        assert_eq!(parse_setting("preset", &Value::Str("paranoid")).unwrap(), None);
        assert_eq!(
            parse_setting("minimum_calls", &Value::Str("20")).unwrap_err().message,
            "`minimum_calls` must be an integer, found string \"20\""
        );
    }

    #[test]
    fn a_key_that_off_turns_off_says_so_and_how_it_is_spelt() {
        assert_eq!(
            parse_setting("half_open_max_wait", &Value::Str("Off"))
                .unwrap_err()
                .message,
            "invalid duration \"Off\" for `half_open_max_wait`: expected an integer followed by ms, s, m or h, at most 24h (e.g. \"150ms\", \"2s\"); write \"off\" in lower case to turn it off"
        );
        assert!(
            parse_setting("half_open_max_wait", &Value::Str("forever"))
                .unwrap_err()
                .message
                .ends_with("; or \"off\" to turn it off")
        );
        assert!(
            parse_setting("consecutive_failures", &Value::Str("OFF"))
                .unwrap_err()
                .message
                .ends_with("; write \"off\" in lower case to turn it off")
        );
        assert!(
            !parse_setting("open_timeout", &Value::Str("Off"))
                .unwrap_err()
                .message
                .contains("\"off\""),
            "open_timeout cannot be turned off"
        );
    }

    #[test]
    fn an_integer_percentage_for_a_rate_says_which_fraction_to_write() {
        assert_eq!(
            parse_setting("failure_rate_threshold", &Value::Int(50))
                .unwrap_err()
                .message,
            "`failure_rate_threshold` = 50.0: must be in (0.0, 1.0]; a fraction, not a percentage: for 50% write 0.5"
        );
    }

    #[test]
    fn a_window_string_that_is_no_duration_says_what_a_window_can_be() {
        assert_eq!(
            parse_setting("window", &Value::Str("{ kind = \"count\", size = 5 }"))
                .unwrap_err()
                .message,
            "`window` = \"{ kind = \"count\", size = 5 }\": expected a count of calls (100) or a duration (\"60s\"); in a file, also { kind = \"count\", size = 100 }"
        );
    }

    #[test]
    fn a_percentage_for_a_rate_says_which_fraction_to_write() {
        assert_eq!(
            parse_setting("failure_rate_threshold", &Value::Str("50%"))
                .unwrap_err()
                .message,
            "`failure_rate_threshold` must be a number or \"off\", found string \"50%\"; write 0.5 for 50%"
        );
        assert_eq!(
            parse_setting("backoff_multiplier", &Value::Str("x"))
                .unwrap_err()
                .message,
            "`backoff_multiplier` must be a number, found string \"x\""
        );
    }
}
