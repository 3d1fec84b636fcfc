//! `serde::Serialize` (feature `serde`) for what a dashboard or health endpoint shows:
//! snapshots, resolved configurations and their explanation, the health summary.
//!
//! A configuration serializes as a `[breakers.NAME]` section would say it: the same keys,
//! durations as `"150ms"` / `"30s"`, `"off"` for a trigger turned off, `window` as
//! `{ "kind": "time", "size": "60s" }`. Durations of a snapshot are milliseconds
//! (`open_for_ms`), states their snake_case names (`"half_open"`).

use crate::config::{Explained, Explanation, duration_text};
use crate::{
    BreakerConfig, CircuitHealth, Durations, Health, HealthStatus, Name, Snapshot, State, Totals, Window, WindowStats,
};
use serde::ser::{Serialize, SerializeMap, SerializeStruct, Serializer};
use std::time::Duration;

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// A trigger's value, or `"off"`.
enum OrOff<T> {
    On(T),
    Off,
}

impl<T: Serialize> Serialize for OrOff<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OrOff::On(v) => v.serialize(s),
            OrOff::Off => s.serialize_str("off"),
        }
    }
}

fn or_off<T>(v: Option<T>) -> OrOff<T> {
    v.map_or(OrOff::Off, OrOff::On)
}

impl Serialize for State {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for Name {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for HealthStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl Serialize for Window {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(2))?;
        match self {
            Window::Count(n) => {
                m.serialize_entry("kind", "count")?;
                m.serialize_entry("size", n)?;
            }
            Window::Time(d) => {
                m.serialize_entry("kind", "time")?;
                m.serialize_entry("size", &duration_text(*d))?;
            }
        }
        m.end()
    }
}

impl Serialize for BreakerConfig {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("BreakerConfig", 15)?;
        m.serialize_field("consecutive_failures", &or_off(self.consecutive_failures))?;
        m.serialize_field("failure_rate_threshold", &or_off(self.failure_rate_threshold))?;
        m.serialize_field("slow_call_rate_threshold", &or_off(self.slow_call_rate_threshold))?;
        m.serialize_field("slow_call_duration", &duration_text(self.slow_call_duration))?;
        m.serialize_field("minimum_calls", &self.minimum_calls)?;
        m.serialize_field("window", &self.window)?;
        m.serialize_field("open_timeout", &duration_text(self.open_timeout))?;
        m.serialize_field("backoff_multiplier", &self.backoff_multiplier)?;
        m.serialize_field("max_open_timeout", &duration_text(self.max_open_timeout))?;
        m.serialize_field("jitter", &self.jitter)?;
        m.serialize_field("half_open_max_calls", &self.half_open_max_calls)?;
        m.serialize_field("success_threshold", &self.success_threshold)?;
        m.serialize_field(
            "half_open_max_wait",
            &or_off(self.half_open_max_wait.map(duration_text)),
        )?;
        m.serialize_field("max_keys", &self.max_keys)?;
        m.serialize_field("idle_ttl", &duration_text(self.idle_ttl))?;
        m.end()
    }
}

/// An explained value (a TOML value, as a file writes it) as JSON has it: `"7s"` becomes the
/// string `7s`, `0.5` the number, a window an object, as in a serialized configuration.
fn explained_value(text: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {text}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(text.to_owned()))
}

impl Serialize for Explained {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Explained", 3)?;
        m.serialize_field("key", self.key)?;
        m.serialize_field("value", &explained_value(&self.value))?;
        m.serialize_field("source", &self.level.to_string())?;
        m.end()
    }
}

/// `{ "name", "config", "keys": [{ "key", "value", "source" }], "problems", "notes" }`.
impl Serialize for Explanation {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let problems: Vec<String> = self.problems.iter().map(ToString::to_string).collect();
        let mut m = s.serialize_struct("Explanation", 5)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("config", &self.config)?;
        m.serialize_field("keys", &self.keys)?;
        m.serialize_field("problems", &problems)?;
        m.serialize_field("notes", &self.notes)?;
        m.end()
    }
}

impl Serialize for Totals {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Totals", 9)?;
        m.serialize_field("successes", &self.successes)?;
        m.serialize_field("failures", &self.failures)?;
        m.serialize_field("ignored", &self.ignored)?;
        m.serialize_field("rejected", &self.rejected)?;
        m.serialize_field("timeouts", &self.timeouts)?;
        m.serialize_field("slow_calls", &self.slow_calls)?;
        m.serialize_field("fallbacks", &self.fallbacks)?;
        m.serialize_field("fallbacks_by_type", &ByKind(&self.fallbacks_by_kind))?;
        m.serialize_field("probes", &self.probes)?;
        m.end()
    }
}

/// Fallbacks by kind as `{ "cache": 3, .. }`, kinds served so far only.
struct ByKind<'a>(&'a [u64; crate::fallback::FallbackKind::ALL.len()]);

impl Serialize for ByKind<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let served = crate::fallback::FallbackKind::ALL
            .iter()
            .filter(|kind| self.0[**kind as usize] > 0);
        let mut m = s.serialize_map(Some(served.clone().count()))?;
        for kind in served {
            m.serialize_entry(kind.as_str(), &self.0[*kind as usize])?;
        }
        m.end()
    }
}

impl Serialize for WindowStats {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("WindowStats", 6)?;
        m.serialize_field("calls", &self.calls)?;
        m.serialize_field("failures", &self.failures)?;
        m.serialize_field("slow_calls", &self.slow_calls)?;
        m.serialize_field("minimum_calls", &self.minimum_calls)?;
        m.serialize_field("failure_rate", &self.failure_rate)?;
        m.serialize_field("slow_call_rate", &self.slow_call_rate)?;
        m.end()
    }
}

impl Serialize for Durations {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Durations", 3)?;
        m.serialize_field("bounds_seconds", self.bounds)?;
        m.serialize_field("counts", &self.counts)?;
        m.serialize_field("sum_seconds", &self.sum_seconds)?;
        m.end()
    }
}

/// One `(from, to, count)` transition total.
struct Transition(State, State, u64);

impl Serialize for Transition {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("Transition", 3)?;
        m.serialize_field("from", &self.0)?;
        m.serialize_field("to", &self.1)?;
        m.serialize_field("count", &self.2)?;
        m.end()
    }
}

impl Serialize for Snapshot {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let transitions: Vec<_> = self.transitions.iter().map(|&(f, t, n)| Transition(f, t, n)).collect();
        let mut m = s.serialize_struct("Snapshot", 14)?;
        m.serialize_field("name", &self.name)?;
        m.serialize_field("state", &self.state)?;
        m.serialize_field("totals", &self.totals)?;
        m.serialize_field("window", &self.window)?;
        m.serialize_field("tripped_by", &self.tripped_by.as_ref().map(ToString::to_string))?;
        m.serialize_field("consecutive_failures", &self.consecutive_failures)?;
        m.serialize_field("open_for_ms", &self.open_for.map(millis))?;
        m.serialize_field("half_open_in_flight", &self.half_open_in_flight)?;
        m.serialize_field("reopens", &self.reopens)?;
        m.serialize_field("transitions", &transitions)?;
        m.serialize_field("durations", &self.durations)?;
        m.serialize_field("fallback_durations", &self.fallback_durations)?;
        m.serialize_field(
            "fallback_durations_by_type",
            &DurationsByKind(&self.fallback_durations_by_kind),
        )?;
        m.serialize_field("time_in_state_ms", &TimeInState(&self.time_in_state))?;
        m.end()
    }
}

/// Fallback durations by kind as `{ "cache": { .. }, .. }`, like `fallbacks_by_type`.
struct DurationsByKind<'a>(&'a [(crate::fallback::FallbackKind, Durations)]);

impl Serialize for DurationsByKind<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (kind, durations) in self.0 {
            m.serialize_entry(kind.as_str(), durations)?;
        }
        m.end()
    }
}

/// Time in each state as `{ "closed": 12500, .. }` (milliseconds), every state.
struct TimeInState<'a>(&'a [Duration; 6]);

impl Serialize for TimeInState<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(State::ALL.len()))?;
        for state in State::ALL {
            m.serialize_entry(state.as_str(), &millis(self.0[state as usize]))?;
        }
        m.end()
    }
}

impl Serialize for CircuitHealth {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_struct("CircuitHealth", 5)?;
        m.serialize_field("status", &self.status)?;
        m.serialize_field("state", &self.state)?;
        m.serialize_field("failure_rate", &self.failure_rate)?;
        m.serialize_field("slow_call_rate", &self.slow_call_rate)?;
        m.serialize_field("rejected", &self.rejected)?;
        m.end()
    }
}

/// `{ "status": "UP", "circuits": { "<name>": { "status", "state", .. } } }` (Resilience4j's
/// shape: the breakers keyed by name).
impl Serialize for Health {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Circuits<'a>(&'a [CircuitHealth]);
        impl Serialize for Circuits<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for c in self.0 {
                    m.serialize_entry(c.name.as_str(), c)?;
                }
                m.end()
            }
        }
        let mut m = s.serialize_struct("Health", 2)?;
        m.serialize_field("status", &self.status)?;
        m.serialize_field("circuits", &Circuits(&self.circuits))?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use crate::config::duration_text;
    use crate::{BreakerConfig, CircuitBreaker, Snapshot};
    use std::time::Duration;

    /// Every field of a snapshot reaches its JSON: the pattern below stops compiling when a
    /// field is added, and the keys are checked against it.
    #[test]
    fn a_snapshot_serializes_every_field() {
        let b = CircuitBreaker::new(
            "serde-all",
            BreakerConfig::builder().consecutive_failures(1).build().unwrap(),
        );
        let _ = b.call_sync_with_fallback(|| Err::<u32, _>("down"), |_| Ok(0));
        let snapshot = b.snapshot();
        let json = serde_json::to_value(&snapshot).unwrap();
        let Snapshot {
            name,
            state: _,
            totals,
            window: _,
            tripped_by: _,
            consecutive_failures: _,
            open_for: _,
            half_open_in_flight: _,
            reopens: _,
            transitions: _,
            durations: _,
            fallback_durations: _,
            fallback_durations_by_kind,
            time_in_state: _,
        } = snapshot;
        let mut keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
        keys.sort_unstable();
        let mut expected = [
            "name",
            "state",
            "totals",
            "window",
            "tripped_by",
            "consecutive_failures",
            "open_for_ms",
            "half_open_in_flight",
            "reopens",
            "transitions",
            "durations",
            "fallback_durations",
            "fallback_durations_by_type",
            "time_in_state_ms",
        ];
        expected.sort_unstable();
        assert_eq!(keys, expected);
        assert_eq!(json["name"], name.as_str());
        assert_eq!(json["totals"]["probes"], totals.probes);
        assert_eq!(json["totals"]["fallbacks"], 1);
        assert_eq!(
            json["fallback_durations_by_type"].as_object().unwrap().len(),
            fallback_durations_by_kind.len()
        );
        assert_eq!(json["time_in_state_ms"].as_object().unwrap().len(), 6);
        assert_eq!(json["state"], "open");
    }

    #[test]
    fn durations_read_as_the_configuration_writes_them() {
        let cases = [
            (150, "150ms"),
            (30_000, "30s"),
            (300_000, "5m"),
            (3_600_000, "1h"),
            (0, "0ms"),
            (1_500, "1500ms"),
        ];
        for (ms, text) in cases {
            assert_eq!(duration_text(Duration::from_millis(ms)), text);
        }
    }

    /// An explanation's values reach JSON as the values they are, as in a serialized
    /// configuration: not as TOML text with its quotes.
    #[test]
    fn explained_values_serialize_as_json_values() {
        use crate::Registry;
        use crate::config::Setting;
        let r = Registry::new();
        let asked = [
            Setting::OpenTimeout(Duration::from_millis(1500)),
            Setting::FailureRateThreshold(0.25),
            Setting::Window(crate::Window::Count(40)),
            Setting::Off(crate::config::Toggle::ConsecutiveFailures),
        ];
        r.breaker_with_layers("serde-explained", &asked, &[]);
        let json = serde_json::to_value(r.explain("serde-explained")).unwrap();
        let value = |key: &str| {
            json["keys"]
                .as_array()
                .unwrap()
                .iter()
                .find(|k| k["key"] == key)
                .unwrap_or_else(|| panic!("no {key} in {json}"))["value"]
                .clone()
        };
        assert_eq!(value("open_timeout"), "1500ms");
        assert_eq!(value("failure_rate_threshold"), 0.25);
        assert_eq!(value("window"), serde_json::json!({ "kind": "count", "size": 40 }));
        assert_eq!(value("consecutive_failures"), "off");
        assert_eq!(value("minimum_calls"), 20);
        assert_eq!(value("open_timeout"), json["config"]["open_timeout"]);
    }
}
