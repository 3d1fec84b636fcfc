//! The caller's span field for the breaker state: an empty name is refused, and a caller's span
//! that does not declare the field is reported, not passed over without a word.

mod support;

use cb_runtime::observe;
use support::recorder::Recorder;
use tracing_subscriber::prelude::*;

#[test]
fn an_empty_field_is_refused_and_an_undeclared_one_is_counted() {
    assert!(
        !observe::set_caller_state_field(Some("")),
        "an empty name cannot be declared"
    );
    let recorder = Recorder::default();
    let _guard = tracing::subscriber::set_default(tracing_subscriber::registry().with(recorder.clone()));
    // Interest cached while another test registered a callsite with no subscriber
    // around (a race in tracing-core) would hide this test's spans: recompute it.
    tracing::callsite::rebuild_interest_cache();
    let breaker = cb_runtime::CircuitBreaker::new("caller-field", Default::default());
    let before = observe::undeclared_caller_spans();
    let declared = tracing::info_span!("with_field", circuit_breaker.state = tracing::field::Empty);
    declared.in_scope(|| breaker.call_sync(|| Ok::<_, ()>(1)).unwrap());
    assert_eq!(
        observe::undeclared_caller_spans(),
        before,
        "a span that declares it is fine"
    );
    let bare = tracing::info_span!("without_field");
    bare.in_scope(|| breaker.call_sync(|| Ok::<_, ()>(1)).unwrap());
    assert_eq!(observe::undeclared_caller_spans(), before + 1);
    drop((declared, bare));
    let seen = recorder.0.lock().unwrap();
    assert!(
        seen.events
            .iter()
            .any(|e| e.get("span").map(String::as_str) == Some("without_field")),
        "reported as an event naming the span: {:?}",
        seen.events
    );
    let with = seen.spans.iter().find(|(n, _, _)| n == "with_field").unwrap();
    assert_eq!(with.2.get("circuit_breaker.state").map(String::as_str), Some("closed"));
}
