//! The registry: breakers by name, snapshots, globs, manual control and events.

mod support;

use cb_runtime::{BreakerConfig, Event, ManualClock, Outcome, Reason, Registry, State, registry};
use std::sync::Arc;
use support::*;

fn two_failures() -> BreakerConfig {
    consecutive(2).jitter(0.0).open_timeout(secs(30)).build().unwrap()
}

#[test]
fn a_name_is_one_breaker_shared_by_every_caller() {
    let r = Registry::new();
    let a = r.breaker("sentinel", &two_failures());
    let b = r.breaker("sentinel", &two_failures());
    assert!(Arc::ptr_eq(&a, &b));
    run_n(&a, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn the_first_configuration_wins_and_a_different_one_is_reported() {
    let r = Registry::new();
    let mut events = r.subscribe();
    let first = r.breaker("ml-eta", &two_failures());
    let other = BreakerConfig::builder().consecutive_failures(9).build().unwrap();
    let second = r.breaker("ml-eta", &other);
    assert_eq!(second.config().consecutive_failures, Some(2));
    assert!(Arc::ptr_eq(&first, &second));
    match events.try_recv() {
        Some(Event::ConfigConflict { name, kept, ignored }) => {
            assert_eq!(name, "ml-eta");
            assert!(kept.contains("consecutive_failures = 2"), "{kept}");
            assert!(ignored.contains("consecutive_failures = 9"), "{ignored}");
            assert!(
                !kept.contains("open_timeout") && !ignored.contains("open_timeout"),
                "only the keys that differ: {kept} / {ignored}"
            );
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    r.breaker("ml-eta", &two_failures());
    assert_eq!(events.try_recv(), None, "the same configuration is no conflict");
    r.breaker("ml-eta", &other);
    assert_eq!(events.try_recv(), None, "the same conflict is reported once");
    let notes = r.explain("ml-eta").notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("keeps the configuration it was first registered with")
                && n.contains("consecutive_failures = 9")),
        "explain shows the conflict: {notes:?}"
    );
    assert!(
        r.explain("payments").notes.iter().all(|n| !n.contains("ml-eta")),
        "and only for its breaker"
    );
}

#[test]
fn snapshots_show_state_counters_rates_and_open_until() {
    let clock = ManualClock::new();
    let r = Registry::with_clock(clock.clone());
    let b = r.breaker("payments", &two_failures());
    run_n(&b, 3, Outcome::Success);
    run_n(&b, 2, Outcome::Failure);
    let _ = b.try_acquire();
    clock.advance(secs(10));
    let s = r.snapshot("payments").unwrap();
    assert_eq!(s.state, State::Open);
    assert_eq!((s.totals.successes, s.totals.failures, s.totals.rejected), (3, 2, 1));
    assert_eq!(s.open_for, Some(secs(20)));
    assert_eq!(
        (s.window.calls, s.window.failures),
        (5, 2),
        "while Open, the numbers that tripped it (counted with only the consecutive trigger on)"
    );
    assert_eq!(s.tripped_by, Some(Reason::ConsecutiveFailures { count: 2 }));
    assert!(r.snapshot("nope").is_none());
}

#[test]
fn listing_by_glob_and_every_snapshot() {
    let r = Registry::new();
    for name in ["webhook/a", "webhook/b", "sentinel"] {
        r.breaker(name, &BreakerConfig::default());
    }
    let names = |v: Vec<cb_runtime::Snapshot>| v.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(names(r.list("webhook/*")), ["webhook/a", "webhook/b"]);
    assert_eq!(names(r.snapshots()), ["sentinel", "webhook/a", "webhook/b"]);
}

#[test]
fn manual_control_by_name() {
    let r = Registry::new();
    let b = r.breaker("notifications", &BreakerConfig::default());
    r.force_open("notifications").unwrap();
    assert_eq!(b.state(), State::ForcedOpen);
    r.disable("notifications").unwrap();
    assert_eq!(b.state(), State::Disabled);
    r.metrics_only("notifications").unwrap();
    assert_eq!(b.state(), State::MetricsOnly);
    r.reset("notifications").unwrap();
    assert_eq!(b.state(), State::Closed);
    let err = r.force_open("promos").unwrap_err();
    assert_eq!(err.to_string(), "no circuit breaker named `promos` is registered");
}

#[test]
fn every_transition_is_an_event_with_from_to_and_reason() {
    let clock = ManualClock::new();
    let r = Registry::with_clock(clock.clone());
    let config = consecutive(2)
        .jitter(0.0)
        .open_timeout(secs(30))
        .success_threshold(1)
        .build()
        .unwrap();
    let b = r.breaker("feed", &config);
    let mut events = r.subscribe();
    run_n(&b, 2, Outcome::Failure);
    assert!(b.try_acquire().is_err());
    clock.advance(secs(31));
    run_n(&b, 1, Outcome::Success);
    b.force_open();
    let transitions: Vec<_> = events
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::Transition { name, from, to, reason } => Some((name.to_string(), from, to, reason.to_string())),
            Event::Rejected { state, .. } => {
                assert_eq!(state, State::Open);
                None
            }
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        transitions,
        [
            (
                "feed".to_string(),
                State::Closed,
                State::Open,
                "2 consecutive failures".to_string()
            ),
            (
                "feed".to_string(),
                State::Open,
                State::HalfOpen,
                "open wait elapsed".to_string()
            ),
            (
                "feed".to_string(),
                State::HalfOpen,
                State::Closed,
                "1 half-open probes succeeded".to_string()
            ),
            (
                "feed".to_string(),
                State::Closed,
                State::ForcedOpen,
                "manual".to_string()
            ),
        ]
    );
}

#[test]
fn rate_transitions_explain_themselves() {
    let r = Registry::new();
    let config = BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.5)
        .window(cb_runtime::Window::Count(40))
        .minimum_calls(40)
        .build()
        .unwrap();
    let b = r.breaker("rates", &config);
    let mut events = r.subscribe();
    run_n(&b, 15, Outcome::Success);
    run_n(&b, 25, Outcome::Failure);
    match events.try_recv() {
        Some(Event::Transition { reason, .. }) => {
            assert!(matches!(reason, Reason::FailureRate { calls: 40, .. }));
            assert_eq!(reason.to_string(), "failure rate 0.62 >= 0.50 over 40 calls");
        }
        other => panic!("expected a transition, got {other:?}"),
    }
}

#[test]
fn slow_calls_and_rejections_are_events_too() {
    let clock = ManualClock::new();
    let r = Registry::with_clock(clock.clone());
    let config = BreakerConfig::builder()
        .slow_call_rate_threshold(1.0)
        .slow_call_duration(secs(1))
        .build()
        .unwrap();
    let b = r.breaker("slow", &config);
    let mut events = r.subscribe();
    let permit = b.try_acquire().unwrap();
    clock.advance(secs(2));
    permit.success();
    b.force_open();
    let _ = b.try_acquire();
    let got = events.drain();
    assert_eq!(
        got[0],
        Event::SlowCall {
            name: "slow".into(),
            duration: secs(2)
        }
    );
    assert_eq!(
        got[2],
        Event::Rejected {
            name: "slow".into(),
            state: State::ForcedOpen
        }
    );
}

#[test]
fn the_global_registry_is_one_instance() {
    let a = registry().breaker("global-registry-test", &BreakerConfig::default());
    let b = registry().get("global-registry-test").unwrap();
    assert!(Arc::ptr_eq(&a, &b));
}

#[test]
fn explaining_a_keyed_family_by_its_name_says_how_to_name_its_breakers() {
    let r = Registry::new();
    r.breaker_with_layers("tenant/acme", &[], &[]);
    let notes = r.explain("tenant").notes;
    assert!(
        notes
            .iter()
            .any(|n| n.contains("`tenant` is a keyed family") && n.contains("`tenant/*`")),
        "{notes:?}"
    );
    assert!(notes.iter().all(|n| !n.contains("Did you mean")), "{notes:?}");
    let family = r.explain("tenant/*").to_string();
    assert!(family.contains("keyed family `tenant` (1 live keys)"), "{family}");
    assert!(!family.contains("not registered"), "{family}");
}

/// Two call sites asking one keyed family for different settings conflict on every key both
/// reach: reported once for the family (not a stderr line and a kept note per key, which a
/// million keys would make a flood and a leak), and every key's `explain` shows it.
#[test]
fn a_keyed_family_conflict_is_reported_once_for_the_family() {
    use cb_runtime::Setting;
    let r = Registry::new();
    let mut events = r.subscribe();
    for i in 0..500 {
        let name = format!("conflicted/k{i}");
        r.breaker_with_layers(&name, &[Setting::ConsecutiveFailures(2)], &[]);
        r.breaker_with_layers(&name, &[Setting::ConsecutiveFailures(9)], &[]);
    }
    let conflicts: Vec<Event> = std::iter::from_fn(|| events.try_recv())
        .filter(|e| matches!(e, Event::ConfigConflict { .. }))
        .collect();
    assert_eq!(conflicts.len(), 1, "one for the family, not one per key");
    assert!(
        matches!(&conflicts[0], Event::ConfigConflict { name, .. } if name == "conflicted/*"),
        "{conflicts:?}"
    );
    let notes = r.explain("conflicted/k321").notes;
    assert!(
        notes.iter().any(|n| n.contains("consecutive_failures = 9")),
        "{notes:?}"
    );
}
