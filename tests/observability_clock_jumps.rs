//! `circuit_breaker_state_duration_seconds_total` under clock jumps: a counter never goes down
//! between scrapes, however far a manual clock is advanced.

use cb_runtime::{BreakerConfig, ManualClock, Registry};
use std::time::Duration;

fn closed_seconds(registry: &'static Registry) -> f64 {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    let prefix = "circuit_breaker_state_duration_seconds_total{name=\"jumpy\",state=\"closed\"} ";
    let line = text
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no `{prefix}` in\n{text}"));
    line[prefix.len()..].parse().unwrap()
}

#[test]
fn time_in_state_never_goes_down_when_the_clock_jumps_far() {
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let _ = registry
        .breaker("jumpy", &BreakerConfig::default())
        .call_sync(|| Ok::<_, ()>(()));
    clock.advance(Duration::from_secs(10));
    let before = closed_seconds(registry);
    assert_eq!(before, 10.0);
    clock.advance(Duration::MAX);
    let after = closed_seconds(registry);
    assert!(after >= before, "the counter went down: {before} then {after}");
    assert!(
        clock.elapsed() >= Duration::from_secs(10),
        "the clock went back: {:?}",
        clock.elapsed()
    );
}
