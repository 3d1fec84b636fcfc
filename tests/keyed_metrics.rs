//! Prometheus and keyed families: bounded by default, per-key series opt-in and capped,
//! counters that survive eviction.

use cb_runtime::metrics::{PerKey, register_registry_with};
use cb_runtime::{BreakerConfig, ManualClock, Registry};
use std::time::Duration;

fn scrape(registry: &'static Registry, per_key: PerKey) -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    register_registry_with(&mut prometheus, registry, per_key);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    text
}

fn has(text: &str, line: &str) -> bool {
    text.lines().any(|l| l == line)
}

fn populated() -> (&'static Registry, ManualClock) {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .max_keys(1000)
        .idle_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    for i in 0..500 {
        let _ = registry
            .breaker(&format!("users/{i}"), &config)
            .call_sync(|| Ok::<_, ()>(()));
    }
    for i in 0..3 {
        let b = registry.breaker(&format!("users/{i}"), &config);
        let _ = b.call_sync(|| Err::<(), _>("x"));
        for _ in 0..=i {
            let _ = b.call_sync(|| Ok::<_, ()>(()));
        }
    }
    (registry, clock)
}

#[test]
fn keyed_families_are_summed_and_the_scrape_does_not_grow_with_keys() {
    let (registry, _) = populated();
    let text = scrape(registry, PerKey::Off);
    assert!(
        has(&text, "circuit_breaker_keys{name=\"users/*\",state=\"closed\"} 497"),
        "{text}"
    );
    assert!(has(&text, "circuit_breaker_keys{name=\"users/*\",state=\"open\"} 3"));
    assert!(has(
        &text,
        "circuit_breaker_requests_total{name=\"users/*\",result=\"success\"} 500"
    ));
    assert!(has(
        &text,
        "circuit_breaker_requests_total{name=\"users/*\",result=\"rejected\"} 6"
    ));
    assert!(!text.contains("users/1\""), "no per-key series by default");
    assert!(text.len() < 8 * 1024, "{} bytes for 500 keys", text.len());
}

#[test]
fn per_key_series_are_opt_in_and_capped() {
    let (registry, _) = populated();
    let not_closed = scrape(registry, PerKey::NotClosed(2));
    let states = not_closed
        .lines()
        .filter(|l| l.starts_with("circuit_breaker_state{name=\"users/"))
        .count();
    assert_eq!(states, 2, "{not_closed}");
    let top = scrape(registry, PerKey::TopRejected(1));
    assert!(
        has(
            &top,
            "circuit_breaker_requests_total{name=\"users/2\",result=\"rejected\"} 3"
        ),
        "{top}"
    );
    assert!(!top.contains("name=\"users/1\""));
}

#[test]
fn family_counters_survive_eviction() {
    let (registry, clock) = populated();
    clock.advance(Duration::from_secs(5));
    registry.evict_idle();
    clock.advance(Duration::from_secs(5));
    assert_eq!(registry.evict_idle(), 497);
    let text = scrape(registry, PerKey::Off);
    assert!(
        has(
            &text,
            "circuit_breaker_requests_total{name=\"users/*\",result=\"success\"} 500"
        ),
        "{text}"
    );
    assert!(has(&text, "circuit_breaker_keys{name=\"users/*\",state=\"closed\"} 0"));
    assert!(has(&text, "circuit_breaker_evictions_total{name=\"users/*\"} 497"));
}
