//! Subscribers choose what they receive: transitions only, or every event. A flood of
//! rejections never crowds transitions out, and rejections stay countable.

mod support;

use cb_runtime::fallback::FallbackKind;
use cb_runtime::{Event, Interest, Outcome, Registry, State};
use support::*;

#[test]
fn a_transitions_subscriber_is_not_flooded_by_rejections() {
    let r = Registry::new();
    let b = r.breaker("flooded", &consecutive(1).jitter(0.0).build().unwrap());
    let mut transitions = r.subscribe_to(Interest::Transitions);
    let mut everything = r.subscribe_to(Interest::Everything);
    run_n(&b, 1, Outcome::Failure);
    for _ in 0..5000 {
        assert!(b.try_acquire().is_err());
    }
    b.reset();
    let got = transitions.drain();
    assert_eq!(got.len(), 2, "{got:?}");
    assert!(matches!(got[0], Event::Transition { to: State::Open, .. }));
    assert!(matches!(got[1], Event::Transition { to: State::Closed, .. }));
    assert_eq!(b.snapshot().totals.rejected, 5000, "rejections stay countable");
    let all = everything.drain();
    assert!(all.iter().any(|e| matches!(e, Event::Rejected { .. })));
    let Some(Event::SubscriberLagged { skipped }) = all.first() else {
        panic!(
            "an everything subscriber that falls behind is told first: {:?}",
            all.first()
        );
    };
    assert_eq!(all.len(), 1025, "the 1024 newest stay, after the notice");
    assert_eq!(
        *skipped as usize + all.len() - 1,
        5002,
        "lost plus delivered is every event: two transitions and 5000 rejections"
    );
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_is_told_how_many_events_it_lost() {
    let r = Registry::new();
    let b = r.breaker("lagging", &consecutive(1).jitter(0.0).build().unwrap());
    let mut waiting = r.subscribe();
    let mut polling = r.subscribe();
    b.force_open();
    for _ in 0..1100 {
        assert!(b.try_acquire().is_err());
    }
    assert_eq!(waiting.recv().await, Some(Event::SubscriberLagged { skipped: 77 }));
    assert_eq!(polling.try_recv(), Some(Event::SubscriberLagged { skipped: 77 }));
    for subscription in [&mut waiting, &mut polling] {
        let rest = subscription.drain();
        assert_eq!(rest.len(), 1024);
        assert!(
            rest.iter().all(|e| matches!(e, Event::Rejected { .. })),
            "{:?}",
            rest[0]
        );
        assert_eq!(subscription.try_recv(), None, "told once, not at every read");
    }
}

#[test]
fn every_fallback_served_is_an_event_for_subscribers_of_everything() {
    let r = Registry::new();
    let b = r.breaker("falling-back", &consecutive(2).jitter(0.0).build().unwrap());
    let mut transitions = r.subscribe_to(Interest::Transitions);
    let mut everything = r.subscribe_to(Interest::Everything);
    let answer = b.call_sync_with_fallback(|| Err::<u32, &str>("down"), |_| Ok(7));
    assert_eq!(answer, Ok(7));
    let fallback = Event::Fallback {
        name: "falling-back".into(),
        kind: FallbackKind::Function,
    };
    assert!(fallback.is_per_call());
    assert_eq!(everything.drain(), std::slice::from_ref(&fallback));
    b.force_open();
    assert_eq!(b.call_sync_with_fallback(|| Ok::<u32, &str>(1), |_| Ok(8)), Ok(8));
    let got = everything.drain();
    assert!(got.contains(&fallback), "a rejected call's fallback too: {got:?}");
    b.record_fallback_as(FallbackKind::Cache);
    assert_eq!(
        everything.drain(),
        [Event::Fallback {
            name: "falling-back".into(),
            kind: FallbackKind::Cache
        }]
    );
    assert!(
        transitions.drain().iter().all(|e| !matches!(e, Event::Fallback { .. })),
        "fallbacks are per call: not for a transitions subscriber"
    );
}

#[test]
fn with_only_transition_subscribers_rejections_build_no_event() {
    let r = Registry::new();
    let b = r.breaker("quiet", &consecutive(1).build().unwrap());
    let mut transitions = b.subscribe_to(Interest::Transitions);
    b.force_open();
    let _ = b.try_acquire();
    assert!(matches!(transitions.try_recv(), Some(Event::Transition { .. })));
    assert_eq!(transitions.try_recv(), None);
    assert!(
        !Event::Transition {
            name: "x".into(),
            from: State::Closed,
            to: State::Open,
            reason: cb_runtime::Reason::Manual
        }
        .is_per_call()
    );
}
