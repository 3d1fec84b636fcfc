//! The Grafana dashboard's breaker selector lists every name the collector exports series for:
//! plain breakers and keyed families (`family/*`), whose summed series would otherwise never
//! be selected by "All".

use cb_runtime::{BreakerConfig, ManualClock, Registry};

#[test]
fn the_breaker_variable_lists_plain_breakers_and_keyed_families() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(ManualClock::new())));
    let config = BreakerConfig::default();
    let _ = registry.breaker("payments", &config).call_sync(|| Ok::<_, ()>(()));
    let _ = registry
        .breaker("webhook/billing", &config)
        .call_sync(|| Ok::<_, ()>(()));
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();

    let dashboard: serde_json::Value =
        serde_json::from_str(include_str!("../examples/grafana/circuit_breakers.json")).unwrap();
    let variables = dashboard["templating"]["list"].as_array().unwrap();
    let breaker = variables.iter().find(|v| v["name"] == "breaker").unwrap();
    let query = breaker["query"].as_str().unwrap();
    let metric = query
        .strip_prefix("label_values(")
        .and_then(|q| q.strip_suffix(", name)"))
        .unwrap_or_else(|| panic!("unexpected variable query {query}"));
    for name in ["payments", "webhook/*"] {
        let listed = text
            .lines()
            .any(|l| l.starts_with(&format!("{metric}{{")) && l.contains(&format!("name=\"{name}\"")));
        assert!(listed, "`{query}` does not list `{name}`:\n{text}");
    }
}
