//! Tracing: every protected call runs in a `circuit_breaker_call` span (breaker, state at
//! entry, outcome, fallback) with `primary` / `probe` / `fallback` children; transitions are
//! structured events with from_state, to_state and reason (the
//! fields of the seed specification).

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Rejected, circuit_breaker};
use std::collections::BTreeMap;
use std::time::Duration;
use support::recorder::Recorder;
use tracing_subscriber::prelude::*;

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn transitions_are_structured_events_and_calls_are_spans() {
    let recorder = Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    tracing::subscriber::with_default(subscriber, || {
        // Interest cached while another test registered a callsite with no subscriber
        // around (a race in tracing-core) would hide this test's spans: recompute it.
        tracing::callsite::rebuild_interest_cache();
        let clock = ManualClock::new();
        let config = BreakerConfig::builder()
            .consecutive_failures(2)
            .jitter(0.0)
            .success_threshold(1)
            .build()
            .unwrap();
        let b = CircuitBreaker::builder("traced")
            .config(config)
            .clock(clock.clone())
            .build();
        let _ = b.call_sync(|| Ok::<_, ()>(1));
        let _ = b.call_sync(|| Err::<u8, _>(()));
        let _ = b.call_sync(|| Err::<u8, _>(()));
        let _ = b.call_sync_with_fallback(|| Ok::<_, ()>(1), |_| Ok(0));
        clock.advance(Duration::from_secs(31));
        let _ = b.call_sync(|| Ok::<_, ()>(1));
    });
    let seen = recorder.0.lock().unwrap();
    let transitions: Vec<_> = seen.events.iter().filter(|e| e.contains_key("from_state")).collect();
    assert_eq!(transitions.len(), 3);
    assert_eq!(transitions[0]["from_state"], "closed");
    assert_eq!(transitions[0]["to_state"], "open");
    assert_eq!(transitions[0]["reason"], "2 consecutive failures");
    assert_eq!(transitions[0]["breaker"], "traced");
    assert_eq!(
        (transitions[1]["to_state"].as_str(), transitions[1]["reason"].as_str()),
        ("half_open", "open wait elapsed")
    );
    assert_eq!(
        (transitions[2]["to_state"].as_str(), transitions[2]["reason"].as_str()),
        ("closed", "1 half-open probes succeeded")
    );

    let calls = seen.call_spans();
    let call = |state: &str, outcome: &str, fallback: &str| {
        fields(&[
            ("breaker", "traced"),
            ("state", state),
            ("outcome", outcome),
            ("fallback", fallback),
        ])
    };
    assert_eq!(
        calls,
        [
            call("closed", "success", "false"),
            call("closed", "failure", "false"),
            call("closed", "failure", "false"),
            call("open", "rejected", "true"),
            call("half_open", "success", "false"),
        ]
    );
    let children = seen.child_spans();
    let parent = Some("circuit_breaker_call");
    assert_eq!(
        children,
        [
            ("primary", parent),
            ("primary", parent),
            ("primary", parent),
            ("fallback", parent),
            ("probe", parent)
        ]
    );
}

#[derive(Debug)]
struct Down;
impl From<Rejected> for Down {
    fn from(_: Rejected) -> Self {
        Down
    }
}

async fn stale() -> Result<u8, Down> {
    Ok(0)
}

#[circuit_breaker(name = "traced-macro", consecutive_failures = 1, fallback = stale)]
async fn flaky() -> Result<u8, Down> {
    tracing::info!("inside the call");
    Err(Down)
}

#[tokio::test(flavor = "current_thread")]
async fn macro_calls_carry_the_same_spans_and_user_events_nest_in_primary() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    // Interest cached while another test registered a callsite with no subscriber
    // around (a race in tracing-core) would hide this test's spans: recompute it.
    tracing::callsite::rebuild_interest_cache();
    let _ = flaky().await;
    let _ = flaky().await;
    let seen = recorder.0.lock().unwrap();
    let names: Vec<_> = seen
        .spans
        .iter()
        .map(|(n, p, f)| (n.as_str(), p.as_deref(), f.get("outcome").cloned()))
        .collect();
    assert_eq!(
        names,
        [
            ("primary", Some("circuit_breaker_call"), None),
            ("fallback", Some("circuit_breaker_call"), None),
            ("circuit_breaker_call", None, Some("failure".into())),
            ("fallback", Some("circuit_breaker_call"), None),
            ("circuit_breaker_call", None, Some("rejected".into())),
        ]
    );
    assert!(
        seen.events
            .iter()
            .any(|e| e.get("message").map(String::as_str) == Some("inside the call"))
    );
}

#[circuit_breaker(name = "traced-cancelled")]
async fn never_answers() -> Result<u8, Down> {
    std::future::pending::<()>().await;
    Ok(1)
}

#[test]
fn a_cancelled_call_says_so_on_its_span() {
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    // Interest cached while another test registered a callsite with no subscriber
    // around (a race in tracing-core) would hide this test's spans: recompute it.
    tracing::callsite::rebuild_interest_cache();
    {
        let mut call = std::pin::pin!(never_answers());
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(call.as_mut().poll(&mut cx).is_pending());
    }
    let seen = recorder.0.lock().unwrap();
    let call = seen
        .spans
        .iter()
        .find(|(name, _, _)| name == "circuit_breaker_call")
        .expect("the call's span closed");
    assert_eq!(call.2.get("outcome").map(String::as_str), Some("cancelled"));
    let breaker = cb_runtime::registry().get("traced-cancelled").unwrap();
    assert_eq!(
        breaker.snapshot().totals.successes + breaker.snapshot().totals.failures,
        0,
        "a cancelled call counts as nothing"
    );
}
