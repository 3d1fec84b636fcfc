//! Prometheus metrics (feature `prometheus`): one collector exposes every breaker of a
//! registry, keyed ones included, read from the counters the hot path already keeps.
//!
//! ```
//! let mut prometheus = prometheus_client::registry::Registry::default();
//! cb_runtime::metrics::register(&mut prometheus);
//! let mut text = String::new();
//! prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
//! ```
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `circuit_breaker_state` | gauge: 0 closed, 1 open, 2 half_open, 3 forced_open, 4 disabled, 5 metrics_only | `name` |
//! | `circuit_breaker_requests_total` | counter | `name`, `result` = success, failure, ignored, rejected, timeout |
//! | `circuit_breaker_transitions_total` | counter | `name`, `from`, `to` |
//! | `circuit_breaker_fallback_executions_total` | counter, one series per fallback kind served so far | `name`, `type` = function, static, empty, cache, chain, queue |
//! | `circuit_breaker_failure_rate` | gauge, over the window (absent below `minimum_calls`) | `name` |
//! | `circuit_breaker_slow_call_rate` | gauge, over the window (absent below `minimum_calls`) | `name` |
//! | `circuit_breaker_call_duration_seconds` | histogram | `name` |
//! | `circuit_breaker_keys` | gauge: live breakers of a keyed family by state | `name` = `family/*`, `state` |
//! | `circuit_breaker_evictions_total` | counter: keyed breakers evicted | `name` = `family/*` |
//! | `circuit_breaker_state_duration_seconds_total` | counter: time spent in each state (a keyed family: summed over its keys) | `name`, `state` |
//! | `circuit_breaker_probe_attempts_total` | counter: calls admitted in half-open | `name` |
//! | `circuit_breaker_failures_total` | counter: failures and timeouts, the outcomes that open a breaker | `name` |
//! | `circuit_breaker_state_transitions_total` | counter, the same series as `circuit_breaker_transitions_total` under the name of seed specifications | `name`, `from`, `to` |
//! | `fallback_requests_total` | counter, the same as `circuit_breaker_fallback_executions_total` | `name`, `type` |
//! | `fallback_latency_seconds` | histogram of fallback durations, every fallback timed while registered | `name`, `type` |
//!
//! With the `fallback-cache` feature, for each breaker whose calls have a last-good cache
//! (`fallback = cache`), summed over its call sites:
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `circuit_breaker_fallback_cache_total` | counter: lookups | `name`, `result` = hit, miss, stale |
//! | `circuit_breaker_fallback_cache_entries` | gauge: values kept | `name` |
//! | `circuit_breaker_fallback_cache_bytes` | gauge: estimated memory (in-line sizes and moka's per-entry bookkeeping; not what keys and values own on the heap) | `name` |
//!
//! Keyed breakers (`family/key`) are exported per family by default, under `name="family/*"`:
//! summed requests, transitions, fallbacks and durations (breakers evicted since included, so
//! counters never go down), and live keys by state — a scrape's size does not grow with the
//! number of keys. Per-key series are opt-in and capped: [`PerKey`] with
//! [`register_registry_with`].

use crate::fallback::FallbackKind;
use crate::{Name, Registry, Snapshot, State, registry};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use std::collections::BTreeMap;
use std::fmt;

/// Every metric name the collector exports (counters with their `_total` suffix).
pub const METRIC_NAMES: [&str; 15] = [
    "circuit_breaker_state",
    "circuit_breaker_requests_total",
    "circuit_breaker_transitions_total",
    "circuit_breaker_fallback_executions_total",
    "circuit_breaker_failure_rate",
    "circuit_breaker_slow_call_rate",
    "circuit_breaker_call_duration_seconds",
    "circuit_breaker_keys",
    "circuit_breaker_evictions_total",
    "circuit_breaker_state_duration_seconds_total",
    "circuit_breaker_probe_attempts_total",
    "circuit_breaker_failures_total",
    "circuit_breaker_state_transitions_total",
    "fallback_requests_total",
    "fallback_latency_seconds",
];

/// Which keyed breakers also get their own series (besides their family's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum PerKey {
    /// None: families only (the default).
    #[default]
    Off,
    /// Keys not Closed (tripped, probing or set by hand), at most this many.
    NotClosed(usize),
    /// The keys with the most rejections, at most this many.
    TopRejected(usize),
}

/// Registers the global registry's breakers with a Prometheus registry, and turns on call
/// timing for the duration histogram (one call in [`sample_durations`](crate::sample_durations) per
/// thread, 16 by default, timed with the precise clock) and fallback timing (every fallback).
pub fn register(prometheus: &mut prometheus_client::registry::Registry) {
    register_registry(prometheus, registry());
}

/// [`register`] for another registry.
pub fn register_registry(prometheus: &mut prometheus_client::registry::Registry, breakers: &'static Registry) {
    register_registry_with(prometheus, breakers, PerKey::Off);
}

/// [`register_registry`] with per-key series for some keyed breakers.
pub fn register_registry_with(
    prometheus: &mut prometheus_client::registry::Registry,
    breakers: &'static Registry,
    per_key: PerKey,
) {
    crate::measure_durations(true);
    prometheus.register_collector(Box::new(BreakerCollector { breakers, per_key }));
}

/// Encodes every breaker of a registry on each scrape.
struct BreakerCollector {
    breakers: &'static Registry,
    per_key: PerKey,
}

/// What a scrape exports: breakers with their own series, and keyed families summed.
struct Scrape {
    own: Vec<Snapshot>,
    families: Vec<FamilyRow>,
}

struct FamilyRow {
    sum: Snapshot,
    by_state: [i64; 6],
    evicted: u64,
}

impl BreakerCollector {
    fn gather(&self) -> Scrape {
        let mut own = Vec::new();
        let mut keyed = Vec::new();
        let mut families: BTreeMap<String, FamilyRow> = BTreeMap::new();
        for breaker in self.breakers.all() {
            let snapshot = breaker.snapshot();
            let Some(family) = snapshot.name.family().map(str::to_owned) else {
                own.push(snapshot);
                continue;
            };
            let entry = families.entry(family.clone()).or_insert_with(|| FamilyRow {
                sum: Snapshot::empty(Name::from(format!("{family}/*"))),
                by_state: [0; 6],
                evicted: 0,
            });
            entry.sum.absorb(&snapshot);
            entry.by_state[snapshot.state as usize] += 1;
            let wanted = match self.per_key {
                PerKey::Off => false,
                PerKey::NotClosed(_) => snapshot.state != State::Closed,
                PerKey::TopRejected(_) => true,
            };
            if wanted {
                keyed.push(snapshot);
            }
        }
        for (family, gone, evicted) in self.breakers.family_remains() {
            let entry = families.entry(family.clone()).or_insert_with(|| FamilyRow {
                sum: Snapshot::empty(Name::from(format!("{family}/*"))),
                by_state: [0; 6],
                evicted: 0,
            });
            if let Some(gone) = gone {
                entry.sum.absorb(&gone);
            }
            entry.evicted = evicted;
        }
        // The registry hands breakers out in no particular order: series go out by name.
        own.sort_unstable_by(|a, b| a.name.cmp(&b.name));
        match self.per_key {
            PerKey::Off => {}
            PerKey::NotClosed(cap) => {
                keyed.sort_unstable_by(|a, b| a.name.cmp(&b.name));
                keyed.truncate(cap);
            }
            PerKey::TopRejected(cap) => {
                let order = |a: &Snapshot, b: &Snapshot| {
                    b.totals
                        .rejected
                        .cmp(&a.totals.rejected)
                        .then_with(|| a.name.cmp(&b.name))
                };
                // The `cap` first in that order, without sorting every key.
                if cap > 0 && cap < keyed.len() {
                    keyed.select_nth_unstable_by(cap - 1, order);
                }
                keyed.truncate(cap);
                keyed.sort_unstable_by(order);
            }
        }
        own.extend(keyed);
        Scrape {
            own,
            families: families.into_values().collect(),
        }
    }
}

impl fmt::Debug for BreakerCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BreakerCollector").finish_non_exhaustive()
    }
}

fn family<'a, T, F>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    metric_type: MetricType,
    snapshots: &'a [T],
    mut each: F,
) -> fmt::Result
where
    F: FnMut(&'a T, &mut dyn FnMut(&[(&str, &str)], Sample) -> fmt::Result) -> fmt::Result,
{
    let mut family = encoder.encode_descriptor(name, help, None, metric_type)?;
    for snapshot in snapshots {
        each(snapshot, &mut |labels, sample| {
            let metric = family.encode_family(&labels)?;
            match sample {
                Sample::Counter(v) => ConstCounter::new(v).encode(metric),
                Sample::Seconds(v) => ConstCounter::new(v).encode(metric),
                Sample::Gauge(v) => ConstGauge::new(v).encode(metric),
                Sample::Level(v) => ConstGauge::new(v).encode(metric),
                Sample::Histogram { sum, count, buckets } => {
                    let mut metric = metric;
                    metric.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
                }
            }
        })?;
    }
    Ok(())
}

/// A histogram sample of `durations`.
fn histogram(durations: &crate::Durations) -> Sample {
    let buckets = durations
        .bounds
        .iter()
        .copied()
        .chain([f64::INFINITY])
        .zip(durations.counts.iter().copied())
        .collect();
    Sample::Histogram {
        sum: durations.sum_seconds,
        count: durations.count(),
        buckets,
    }
}

/// One value to encode.
enum Sample {
    Counter(u64),
    Seconds(f64),
    Gauge(f64),
    Level(i64),
    Histogram {
        sum: f64,
        count: u64,
        buckets: Vec<(f64, u64)>,
    },
}

impl Collector for BreakerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> fmt::Result {
        let scrape = self.gather();
        let own = &scrape.own;
        let summed: Vec<Snapshot> = scrape
            .own
            .iter()
            .cloned()
            .chain(scrape.families.iter().map(|f| f.sum.clone()))
            .collect();
        let snapshots = &summed;
        let e = &mut encoder;
        family(
            e,
            "circuit_breaker_state",
            "State: 0 closed, 1 open, 2 half_open, 3 forced_open, 4 disabled, 5 metrics_only",
            MetricType::Gauge,
            own,
            |s, out| {
                out(
                    &[("name", s.name.as_str())],
                    Sample::Level(i64::from(s.state.as_metric())),
                )
            },
        )?;
        family(
            e,
            "circuit_breaker_requests",
            "Calls by result",
            MetricType::Counter,
            snapshots,
            |s, out| {
                let t = &s.totals;
                for (result, v) in [
                    ("success", t.successes),
                    ("failure", t.failures),
                    ("ignored", t.ignored),
                    ("rejected", t.rejected),
                    ("timeout", t.timeouts),
                ] {
                    out(&[("name", s.name.as_str()), ("result", result)], Sample::Counter(v))?;
                }
                Ok(())
            },
        )?;
        for (metric, help) in [
            ("circuit_breaker_transitions", "State transitions"),
            (
                "circuit_breaker_state_transitions",
                "State transitions (circuit_breaker_transitions_total under its specification name)",
            ),
        ] {
            family(e, metric, help, MetricType::Counter, snapshots, |s, out| {
                for (from, to, n) in &s.transitions {
                    out(
                        &[("name", s.name.as_str()), ("from", from.as_str()), ("to", to.as_str())],
                        Sample::Counter(*n),
                    )?;
                }
                Ok(())
            })?;
        }
        for (metric, help) in [
            ("circuit_breaker_fallback_executions", "Fallbacks served"),
            (
                "fallback_requests",
                "Requests served by a fallback (circuit_breaker_fallback_executions_total under its specification name)",
            ),
        ] {
            family(e, metric, help, MetricType::Counter, snapshots, |s, out| {
                for kind in FallbackKind::ALL {
                    let n = s.totals.fallbacks_by_kind[kind as usize];
                    if n > 0 {
                        out(
                            &[("name", s.name.as_str()), ("type", kind.as_str())],
                            Sample::Counter(n),
                        )?;
                    }
                }
                Ok(())
            })?;
        }
        family(
            e,
            "circuit_breaker_failures",
            "Failures and timeouts: the outcomes that open a breaker",
            MetricType::Counter,
            snapshots,
            |s, out| {
                out(
                    &[("name", s.name.as_str())],
                    Sample::Counter(s.totals.failures + s.totals.timeouts),
                )
            },
        )?;
        family(
            e,
            "circuit_breaker_probe_attempts",
            "Calls admitted as half-open probes",
            MetricType::Counter,
            snapshots,
            |s, out| out(&[("name", s.name.as_str())], Sample::Counter(s.totals.probes)),
        )?;
        family(
            e,
            "circuit_breaker_state_duration_seconds",
            "Time spent in each state, in seconds",
            MetricType::Counter,
            snapshots,
            |s, out| {
                for state in State::ALL {
                    let spent = s.time_in_state[state as usize];
                    let main = matches!(state, State::Closed | State::Open | State::HalfOpen);
                    if main || !spent.is_zero() {
                        out(
                            &[("name", s.name.as_str()), ("state", state.as_str())],
                            Sample::Seconds(spent.as_secs_f64()),
                        )?;
                    }
                }
                Ok(())
            },
        )?;
        family(
            e,
            "circuit_breaker_failure_rate",
            "Failure rate over the window",
            MetricType::Gauge,
            own,
            // No series while the window holds fewer than `minimum_calls` outcomes: the rate
            // is not judged yet, and a 0 would read as a healthy backend.
            |s, out| match s.window.failure_rate {
                Some(rate) => out(&[("name", s.name.as_str())], Sample::Gauge(rate)),
                None => Ok(()),
            },
        )?;
        family(
            e,
            "circuit_breaker_slow_call_rate",
            "Slow-call rate over the window",
            MetricType::Gauge,
            own,
            // No series while the window holds fewer than `minimum_calls` outcomes: the rate
            // is not judged yet, and a 0 would read as a healthy backend.
            |s, out| match s.window.slow_call_rate {
                Some(rate) => out(&[("name", s.name.as_str())], Sample::Gauge(rate)),
                None => Ok(()),
            },
        )?;
        family(
            e,
            "circuit_breaker_call_duration_seconds",
            "Duration of protected calls",
            MetricType::Histogram,
            snapshots,
            |s, out| out(&[("name", s.name.as_str())], histogram(&s.durations)),
        )?;
        family(
            e,
            "fallback_latency_seconds",
            "Duration of fallbacks",
            MetricType::Histogram,
            snapshots,
            |s, out| {
                for (kind, durations) in &s.fallback_durations_by_kind {
                    out(
                        &[("name", s.name.as_str()), ("type", kind.as_str())],
                        histogram(durations),
                    )?;
                }
                Ok(())
            },
        )?;
        let rows: BTreeMap<&str, &FamilyRow> = scrape.families.iter().map(|f| (f.sum.name.as_str(), f)).collect();
        let family_sums: Vec<Snapshot> = scrape.families.iter().map(|f| f.sum.clone()).collect();
        family(
            e,
            "circuit_breaker_keys",
            "Live breakers of a keyed family, by state",
            MetricType::Gauge,
            &family_sums,
            |s, out| {
                let row = rows.get(s.name.as_str()).map_or([0; 6], |r| r.by_state);
                for state in State::ALL {
                    out(
                        &[("name", s.name.as_str()), ("state", state.as_str())],
                        Sample::Level(row[state as usize]),
                    )?;
                }
                Ok(())
            },
        )?;
        family(
            e,
            "circuit_breaker_evictions",
            "Keyed breakers evicted (idle, or over max_keys)",
            MetricType::Counter,
            &family_sums,
            |s, out| {
                let evicted = rows.get(s.name.as_str()).map_or(0, |r| r.evicted);
                out(&[("name", s.name.as_str())], Sample::Counter(evicted))
            },
        )?;
        #[cfg(feature = "fallback-cache")]
        cache_families(e, snapshots)?;
        Ok(())
    }
}

/// The last-good caches of the breakers in this scrape: lookups by result, entries, and the
/// memory estimate.
#[cfg(feature = "fallback-cache")]
fn cache_families(e: &mut DescriptorEncoder<'_>, snapshots: &[Snapshot]) -> fmt::Result {
    let rows: Vec<crate::fallback::CacheStats> = crate::fallback::cache_stats()
        .into_iter()
        .filter(|row| snapshots.iter().any(|s| s.name.as_str() == row.name))
        .collect();
    family(
        e,
        "circuit_breaker_fallback_cache",
        "Last-good cache lookups by result: hit (served), miss, stale (older than max_stale, not served)",
        MetricType::Counter,
        &rows,
        |row, out| {
            for (result, n) in [("hit", row.hits), ("miss", row.misses), ("stale", row.stale)] {
                out(&[("name", row.name.as_str()), ("result", result)], Sample::Counter(n))?;
            }
            Ok(())
        },
    )?;
    family(
        e,
        "circuit_breaker_fallback_cache_entries",
        "Values kept by the last-good cache",
        MetricType::Gauge,
        &rows,
        |row, out| out(&[("name", row.name.as_str())], Sample::Level(row.entries as i64)),
    )?;
    family(
        e,
        "circuit_breaker_fallback_cache_bytes",
        "Estimated memory of the last-good cache's entries (in-line sizes and per-entry bookkeeping, not what they own on the heap)",
        MetricType::Gauge,
        &rows,
        |row, out| out(&[("name", row.name.as_str())], Sample::Level(row.bytes as i64)),
    )
}
