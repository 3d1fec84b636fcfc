//! Subscribers choose what they receive: transitions only, or every event. A flood of
//! rejections never crowds transitions out, and rejections stay countable.

mod support;

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
    assert!(
        all.len() <= 1024,
        "an everything subscriber that falls behind skips the oldest"
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
