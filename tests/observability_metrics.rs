//! Prometheus: a scripted scenario on a manual clock, then the text exposition asserted line
//! by line, keyed breakers included (summed per family).

use cb_runtime::{BreakerConfig, ManualClock, Registry, Window};
use std::time::Duration;

fn scrape(registry: &'static Registry) -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    text
}

#[test]
fn the_exposition_has_exact_values_after_a_scripted_scenario() {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    cb_runtime::measure_durations(true);
    cb_runtime::sample_durations(1);
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .failure_rate_threshold(0.9)
        .window(Window::Count(10))
        .jitter(0.0)
        .open_timeout(Duration::from_secs(10))
        .success_threshold(1)
        .build()
        .unwrap();
    let b = registry.breaker("payments", &config);
    for took in [Duration::from_millis(3), Duration::from_millis(40)] {
        let permit = b.try_acquire().unwrap();
        clock.advance(took);
        permit.success();
    }
    let _ = b.call_sync(|| Err::<(), _>("e"));
    let _ = b.call_sync(|| Err::<(), _>("e"));
    let _ = b.call_sync(|| Err::<(), _>("e"));
    let _ = b.call_sync_with_fallback(|| Ok::<_, &str>(()), |_| Ok(()));
    registry.breaker("webhook/billing", &config).force_open();
    let judged = BreakerConfig::builder()
        .failure_rate_threshold(0.9)
        .window(Window::Count(2))
        .build()
        .unwrap();
    let search = registry.breaker("search", &judged);
    let _ = search.call_sync(|| Ok::<_, &str>(()));
    let _ = search.call_sync(|| Err::<(), _>("e"));

    let text = scrape(registry);
    let expected = [
        "circuit_breaker_state{name=\"payments\"} 1",
        "circuit_breaker_keys{name=\"webhook/*\",state=\"forced_open\"} 1",
        "circuit_breaker_requests_total{name=\"payments\",result=\"success\"} 2",
        "circuit_breaker_requests_total{name=\"payments\",result=\"failure\"} 3",
        "circuit_breaker_requests_total{name=\"payments\",result=\"rejected\"} 1",
        "circuit_breaker_requests_total{name=\"payments\",result=\"timeout\"} 0",
        "circuit_breaker_transitions_total{name=\"payments\",from=\"closed\",to=\"open\"} 1",
        "circuit_breaker_transitions_total{name=\"webhook/*\",from=\"closed\",to=\"forced_open\"} 1",
        "circuit_breaker_fallback_executions_total{name=\"payments\",type=\"function\"} 1",
        "circuit_breaker_failure_rate{name=\"search\"} 0.5",
        "circuit_breaker_call_duration_seconds_bucket{le=\"0.005\",name=\"payments\"} 4",
        "circuit_breaker_call_duration_seconds_bucket{le=\"0.05\",name=\"payments\"} 5",
        "circuit_breaker_call_duration_seconds_bucket{le=\"+Inf\",name=\"payments\"} 5",
        "circuit_breaker_call_duration_seconds_count{name=\"payments\"} 5",
        "circuit_breaker_call_duration_seconds_sum{name=\"payments\"} 0.043",
    ];
    for line in expected {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
    assert!(
        !text.contains("circuit_breaker_failure_rate{name=\"payments\"}"),
        "5 outcomes of a minimum of 10: not judged yet, so no rate series (a 0 would read as healthy)\n{text}"
    );
    for metric in cb_runtime::metrics::METRIC_NAMES {
        assert!(
            text.contains(&format!("# TYPE {}", metric.trim_end_matches("_total"))),
            "{metric} has no TYPE line"
        );
    }
}

/// The metrics specifications name that cb adds: time in each state, probes, failures,
/// fallback latency, and the aliases, with exact values on a manual clock.
#[test]
fn the_seed_metrics_have_exact_values() {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(2)
        .jitter(0.0)
        .open_timeout(Duration::from_secs(10))
        .success_threshold(2)
        .half_open_max_calls(2)
        .build()
        .unwrap();
    let b = registry.breaker("inference", &config);
    let text = scrape(registry); // registers the collector: fallbacks are timed from now on
    // No fallback served yet: no latency series (one appears per kind served, like the
    // executions counter's).
    assert!(
        !text.contains("fallback_latency_seconds_count{name=\"inference\""),
        "{text}"
    );
    clock.advance(Duration::from_secs(5));
    let _ = b.call_sync(|| Err::<(), _>("e"));
    let _ = b.call_sync_with_fallback(|| Err::<(), _>("e"), |_| Ok(()));
    let _ = b.call_sync_with_fallback(|| Ok::<_, &str>(()), |_| Ok(()));
    clock.advance(Duration::from_secs(12));
    let _ = b.call_sync(|| Ok::<_, &str>(()));
    let _ = b.call_sync(|| Ok::<_, &str>(()));
    clock.advance(Duration::from_secs(3));
    let text = scrape(registry);
    let expected = [
        "circuit_breaker_state_duration_seconds_total{name=\"inference\",state=\"closed\"} 8.0",
        "circuit_breaker_state_duration_seconds_total{name=\"inference\",state=\"open\"} 12.0",
        "circuit_breaker_state_duration_seconds_total{name=\"inference\",state=\"half_open\"} 0.0",
        "circuit_breaker_probe_attempts_total{name=\"inference\"} 2",
        "circuit_breaker_failures_total{name=\"inference\"} 2",
        "circuit_breaker_state_transitions_total{name=\"inference\",from=\"closed\",to=\"open\"} 1",
        "circuit_breaker_state_transitions_total{name=\"inference\",from=\"half_open\",to=\"closed\"} 1",
        "fallback_requests_total{name=\"inference\",type=\"function\"} 2",
        "circuit_breaker_fallback_executions_total{name=\"inference\",type=\"function\"} 2",
        "fallback_latency_seconds_count{name=\"inference\",type=\"function\"} 2",
        "fallback_latency_seconds_bucket{le=\"0.005\",name=\"inference\",type=\"function\"} 2",
    ];
    for line in expected {
        assert!(text.lines().any(|l| l == line), "missing `{line}` in\n{text}");
    }
}

#[test]
fn the_dashboard_queries_only_exported_metrics() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../examples/grafana/circuit_breakers.json"
    ))
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panels = dashboard["panels"].as_array().unwrap();
    let titles: Vec<&str> = panels.iter().map(|p| p["title"].as_str().unwrap()).collect();
    for wanted in [
        "State",
        "Requests by result",
        "Failure rate",
        "Transitions",
        "Latency heatmap",
        "Time in each state",
        "Fallbacks",
        "Fallback latency",
    ] {
        assert!(titles.contains(&wanted), "no `{wanted}` panel in {titles:?}");
    }
    let mut queries = 0;
    for panel in panels {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            queries += 1;
            let names: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("circuit_breaker_") || w.starts_with("fallback_"))
                .collect();
            assert!(!names.is_empty(), "query names no metric: {expr}");
            for name in names {
                let base = name
                    .trim_end_matches("_bucket")
                    .trim_end_matches("_count")
                    .trim_end_matches("_sum");
                assert!(
                    cb_runtime::metrics::METRIC_NAMES.contains(&base),
                    "`{name}` in `{expr}` is not exported"
                );
            }
        }
    }
    assert!(queries >= 8);
}
