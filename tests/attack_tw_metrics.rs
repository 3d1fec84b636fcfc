//! Prometheus transitions of breakers whose history is allocated on their first transition:
//! a never-tripped breaker exposes no transition series, and its first trip exposes exactly one.

use cb_runtime::{BreakerConfig, ManualClock, Registry, Window};
use std::time::Duration;

fn scrape(registry: &'static Registry) -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    text
}

fn lines<'a>(text: &'a str, prefix: &str) -> Vec<&'a str> {
    text.lines().filter(|l| l.starts_with(prefix)).collect()
}

#[test]
fn transitions_appear_with_the_first_trip_and_not_before() {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.5)
        .minimum_calls(2)
        .window(Window::Time(Duration::from_secs(10)))
        .jitter(0.0)
        .open_timeout(Duration::from_secs(5))
        .success_threshold(1)
        .build()
        .unwrap();
    let quiet = registry.breaker("quiet", &config);
    let trips = registry.breaker("trips", &config);
    quiet.call_sync(|| Ok::<_, ()>(())).unwrap();
    trips.call_sync(|| Ok::<_, ()>(())).unwrap();
    let text = scrape(registry);
    assert_eq!(
        lines(&text, "circuit_breaker_transitions_total{"),
        Vec::<&str>::new(),
        "no transition yet:\n{text}"
    );
    assert!(
        text.lines().any(|l| l == "circuit_breaker_state{name=\"quiet\"} 0"),
        "{text}"
    );
    let _ = trips.call_sync(|| Err::<(), _>(()));
    let text = scrape(registry);
    assert_eq!(
        lines(&text, "circuit_breaker_transitions_total{"),
        vec!["circuit_breaker_transitions_total{name=\"trips\",from=\"closed\",to=\"open\"} 1"],
        "{text}"
    );
    assert!(
        text.lines().any(|l| l == "circuit_breaker_state{name=\"trips\"} 1"),
        "{text}"
    );
    clock.advance(Duration::from_secs(6));
    trips.call_sync(|| Ok::<_, ()>(())).unwrap();
    let text = scrape(registry);
    let mut got = lines(&text, "circuit_breaker_transitions_total{");
    got.sort_unstable();
    assert_eq!(
        got,
        vec![
            "circuit_breaker_transitions_total{name=\"trips\",from=\"closed\",to=\"open\"} 1",
            "circuit_breaker_transitions_total{name=\"trips\",from=\"half_open\",to=\"closed\"} 1",
            "circuit_breaker_transitions_total{name=\"trips\",from=\"open\",to=\"half_open\"} 1",
        ],
        "{text}"
    );
}
