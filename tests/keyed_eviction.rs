//! Keyed families: idle and over-cap eviction, remove, and what eviction must never do.

use cb_runtime::config::ConfigSource;
use cb_runtime::{BreakerConfig, Event, Eviction, ManualClock, Registry, State};
use std::sync::Arc;
use std::time::Duration;

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn family_config(max_keys: u32, idle: u64) -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(2)
        .max_keys(max_keys)
        .idle_ttl(secs(idle))
        .build()
        .unwrap()
}

fn fail(registry: &Registry, name: &str, config: &BreakerConfig) {
    let _ = registry.breaker(name, config).call_sync(|| Err::<(), _>("down"));
}

fn ok(registry: &Registry, name: &str, config: &BreakerConfig) {
    let _ = registry.breaker(name, config).call_sync(|| Ok::<_, ()>(()));
}

#[test]
fn idle_closed_keys_are_evicted_with_an_event_and_a_count() {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let mut events = registry.subscribe();
    let config = family_config(100, 60);
    ok(&registry, "hosts/a", &config);
    ok(&registry, "hosts/b", &config);
    // Use is noticed when the registry looks (as keys arrive, or here): a key goes once it
    // has been unused for idle_ttl between two looks.
    assert_eq!(registry.evict_idle(), 0);
    clock.advance(secs(30));
    ok(&registry, "hosts/b", &config);
    assert_eq!(registry.evict_idle(), 0, "nothing is idle for 60s yet");
    clock.advance(secs(40));
    assert_eq!(registry.evict_idle(), 1);
    assert!(registry.get("hosts/a").is_none(), "a was unused for 70s");
    assert!(registry.get("hosts/b").is_some(), "b was used 40s ago");
    let evicted: Vec<_> = events
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::Evicted { name, reason } => Some((name.to_string(), reason)),
            _ => None,
        })
        .collect();
    assert_eq!(evicted, [("hosts/a".to_string(), Eviction::Idle)]);
    let family = &registry.families()[0];
    assert_eq!((family.name.as_str(), family.live, family.evicted), ("hosts", 1, 1));
}

#[test]
fn eviction_never_resets_a_tripped_key() {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let config = family_config(4, 1);
    fail(&registry, "users/tripped", &config);
    fail(&registry, "users/tripped", &config);
    assert_eq!(registry.get("users/tripped").unwrap().state(), State::Open);
    // Far past idle_ttl, and many new keys over the cap.
    for i in 0..50 {
        clock.advance(secs(2));
        ok(&registry, &format!("users/{i}"), &config);
        registry.evict_idle();
    }
    let tripped = registry.get("users/tripped").expect("an Open key is never evicted");
    let snapshot = tripped.snapshot();
    assert_eq!(snapshot.totals.failures, 2);
    assert!(registry.families()[0].live <= 4 + 1);
    // Once it recovers (Closed again) it may go like any other.
    clock.advance(secs(3600));
    for _ in 0..3 {
        let _ = tripped.call_sync(|| Ok::<_, ()>(()));
    }
    assert_eq!(tripped.state(), State::Closed);
    drop(tripped);
    registry.evict_idle(); // sees it used now
    clock.advance(secs(2));
    registry.evict_idle();
    assert!(registry.get("users/tripped").is_none());
}

#[test]
fn over_the_cap_the_least_recently_used_closed_keys_go_first() {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let config = family_config(10, 3600);
    for i in 0..10 {
        ok(&registry, &format!("t/{i}"), &config);
        clock.advance(secs(1));
        registry.evict_idle(); // a look: records who was active when
    }
    // t/0 is used again: now the most recent.
    ok(&registry, "t/0", &config);
    clock.advance(secs(1));
    registry.evict_idle();
    ok(&registry, "t/new", &config);
    let family = &registry.families()[0];
    assert!(family.live <= 10, "{family:?}");
    assert!(registry.get("t/0").is_some(), "recently used");
    assert!(registry.get("t/1").is_none(), "least recently used");
    assert!(registry.get("t/new").is_some());
}

#[test]
fn at_the_cap_each_new_key_evicts_the_least_recently_seen_and_passes_tripped_and_held_ones() {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let mut events = registry.subscribe();
    let config = family_config(5, 3600);
    for i in 0..5 {
        ok(&registry, &format!("k/{i}"), &config);
        clock.advance(secs(1));
        registry.evict_idle(); // a look: k/0 is the least recently seen, k/4 the most
    }
    fail(&registry, "k/0", &config);
    fail(&registry, "k/0", &config);
    let held = registry.breaker("k/1", &config);
    ok(&registry, "k/2", &config);
    clock.advance(secs(1));
    // No look since: the sweep of the next new key finds k/0 tripped, k/1 held and k/2 used,
    // passes them, and evicts k/3; the next evicts k/4.
    ok(&registry, "k/new1", &config);
    assert!(registry.get("k/3").is_none());
    ok(&registry, "k/new2", &config);
    assert!(registry.get("k/4").is_none());
    // k/new1 was used, k/0 is still Open, k/1 still held: k/2, unused since it was passed, goes.
    ok(&registry, "k/new3", &config);
    let evicted: Vec<_> = events
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::Evicted { name, reason } => Some((name.to_string(), reason)),
            Event::FamilyOverCap { .. } => panic!("a key could always be evicted: {e:?}"),
            _ => None,
        })
        .collect();
    let over = |name: &str| (name.to_string(), Eviction::OverCap);
    assert_eq!(evicted, [over("k/3"), over("k/4"), over("k/2")]);
    assert_eq!(registry.get("k/0").unwrap().state(), State::Open, "a tripped key stays");
    assert!(Arc::ptr_eq(&held, &registry.get("k/1").unwrap()), "a held key stays");
    let names: Vec<_> = registry.names().iter().map(|n| n.to_string()).collect();
    assert_eq!(names, ["k/0", "k/1", "k/new1", "k/new2", "k/new3"]);
    assert_eq!(registry.families()[0].live, 5);
}

#[test]
fn a_held_breaker_is_never_evicted_and_a_key_never_has_two() {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let config = family_config(1, 1);
    let held = registry.breaker("k/held", &config);
    for i in 0..20 {
        clock.advance(secs(5));
        ok(&registry, &format!("k/{i}"), &config);
        registry.evict_idle();
    }
    assert!(Arc::ptr_eq(&held, &registry.get("k/held").unwrap()));
    assert!(Arc::ptr_eq(&held, &registry.breaker("k/held", &config)));
}

#[test]
fn a_family_over_its_cap_with_every_key_tripped_says_so_once() {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let mut events = registry.subscribe();
    let config = family_config(2, 3600);
    for key in ["a", "b", "c", "d"] {
        fail(&registry, &format!("p/{key}"), &config);
        fail(&registry, &format!("p/{key}"), &config);
    }
    assert_eq!(registry.families()[0].live, 4);
    let warnings: Vec<_> = events
        .drain()
        .into_iter()
        .filter(|e| matches!(e, Event::FamilyOverCap { .. }))
        .collect();
    assert_eq!(
        warnings,
        [Event::FamilyOverCap {
            family: "p".into(),
            live: 3,
            max_keys: 2
        }]
    );
}

#[test]
fn remove_unregisters_any_breaker_and_handles_keep_working() {
    let registry = Registry::new();
    let mut events = registry.subscribe();
    let config = family_config(10, 60);
    let old = registry.breaker("sentinel", &config);
    old.force_open();
    registry.remove("sentinel").unwrap();
    assert!(registry.get("sentinel").is_none());
    assert_eq!(registry.remove("sentinel").unwrap_err().0, "sentinel");
    assert!(old.call_sync(|| Ok::<_, ()>(())).is_err(), "the old handle still works");
    let fresh = registry.breaker("sentinel", &config);
    assert!(!Arc::ptr_eq(&old, &fresh));
    assert_eq!(fresh.state(), State::Closed);
    assert!(events.drain().iter().any(|e| matches!(
        e,
        Event::Evicted { name, reason: Eviction::Removed } if name == "sentinel"
    )));
}

#[test]
fn listing_a_family_reads_only_that_family() {
    let registry = Registry::new();
    let config = BreakerConfig::default();
    for name in ["webhook/a", "webhook/b", "webhooks", "web/x", "zeta/a"] {
        registry.breaker(name, &config);
    }
    let names: Vec<_> = registry
        .list("webhook/*")
        .into_iter()
        .map(|s| s.name.to_string())
        .collect();
    assert_eq!(names, ["webhook/a", "webhook/b"]);
    assert_eq!(registry.list("*").len(), 5);
    assert_eq!(registry.list("w?b/*").len(), 1);
    let names =
        |pattern: &str| -> Vec<String> { registry.list(pattern).into_iter().map(|s| s.name.to_string()).collect() };
    assert_eq!(names("webhook/?"), ["webhook/a", "webhook/b"]);
    assert_eq!(names("webhook/b"), ["webhook/b"]);
    assert_eq!(
        names("web*"),
        ["web/x", "webhook/a", "webhook/b", "webhooks"],
        "by name"
    );
    assert_eq!(names("webhooks"), ["webhooks"]);
    assert_eq!(names("nothing/*"), Vec::<String>::new());
    assert_eq!(names("*/a"), ["webhook/a", "zeta/a"]);
}

#[test]
fn max_keys_and_idle_ttl_come_from_the_file() {
    let source = ConfigSource::from_text("[breakers.\"files/*\"]\nmax_keys = 3\nidle_ttl = \"5s\"\n", "cb.toml")
        .unwrap()
        .with_env(false);
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone()).with_config(source);
    for i in 0..6 {
        ok(&registry, &format!("files/{i}"), &BreakerConfig::default());
    }
    let family = &registry.families()[0];
    assert_eq!(family.max_keys, 3);
    assert!(family.live <= 3, "{family:?}");
    assert_eq!(registry.get("files/5").unwrap().config().idle_ttl, secs(5));
}

#[test]
fn a_key_with_its_own_section_is_resolved_on_its_own() {
    let source = ConfigSource::from_text(
        "[breakers.\"api/*\"]\nconsecutive_failures = 7\n[breakers.\"api/vip\"]\nconsecutive_failures = 2\n",
        "cb.toml",
    )
    .unwrap()
    .with_env(false);
    let registry = Registry::new().with_config(source);
    let layers = |name: &str| {
        registry
            .breaker_with_layers(name, &[], &[])
            .config()
            .consecutive_failures
    };
    assert_eq!(layers("api/a"), Some(7));
    assert_eq!(layers("api/vip"), Some(2));
    assert_eq!(layers("api/b"), Some(7));
}

#[test]
fn out_of_range_limits_are_errors_that_name_the_key() {
    let err = ConfigSource::from_text("[breakers.x]\nmax_keys = 0\n", "cb.toml").unwrap_err();
    assert!(
        err.to_string().contains("`max_keys` = 0: must be in 1..=10000000"),
        "{err}"
    );
    let err = ConfigSource::from_text("[breakers.x]\nidle_ttl = \"10ms\"\n", "cb.toml").unwrap_err();
    assert!(err.to_string().contains("idle_ttl"), "{err}");
}
