//! Attacks on e796e2f (windows begin at every transition, a full-generation `begun` marker,
//! trip counts read before the transition), from outside.
//!
//! Defects these found, now mended: `TimeWindow::begin` let go of the rings and the dirty mark
//! of older periods, but not of the judgement mark (`judged`) and with it the failure budget,
//! which carry only 16 bits of generation: after exactly 65,536 transitions in one bucket span
//! (manual clock here; a second of real time) the new period took from the old period's budget
//! and its failures were never judged. And the numbers a trip kept for snapshots while Open
//! were not those it judged: the transition (and `tripped_by`) was published before
//! `keep_trip`, and the trip re-read the window after its judgement, so a snapshot showed
//! (0, 0), or (10 calls, 3 failures) for a trip judged on (10, 5). A trip now keeps the counts
//! it judged, written by the thread that won the transition before its reason.

mod support;

use cb_runtime::{Outcome, State, Window};
use support::*;

/// 200 successes and a failure (judged with 201 calls: a budget of ~198 failures that may
/// skip judgement in this bucket span), `transitions - 1` disables, a reset, then failures:
/// the 10th must trip (100 % of the minimum of 10).
fn judged_then_away(transitions: u32) -> (State, (u64, u64, u64), u64) {
    let (b, _clock) = breaker(failure_rate(Window::Time(secs(60)), 0.5, 10));
    run_n(&b, 200, Outcome::Success);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "1 failure in 201");
    for _ in 0..transitions - 1 {
        b.disable();
    }
    b.reset();
    assert_eq!(window(&b), (0, 0, 0), "a reset starts an empty window");
    let mut failures = 0;
    while b.state() == State::Closed && failures < 60 {
        assert!(run(&b, Outcome::Failure), "rejected while Closed");
        failures += 1;
    }
    (b.state(), window(&b), failures)
}

#[test]
fn a_reset_65536_transitions_after_a_judgement_trips_at_the_minimum_of_calls() {
    assert_eq!(
        judged_then_away(65_536),
        (State::Open, (10, 10, 0), 10),
        "(state, window, failures recorded) after a reset 65,536 transitions after a judgement"
    );
}

/// The same, one transition fewer: trips at the 10th failure (the control).
#[test]
fn a_reset_65535_transitions_after_a_judgement_trips_at_the_minimum_of_calls() {
    assert_eq!(judged_then_away(65_535), (State::Open, (10, 10, 0), 10));
}

/// 6 successes and 5 failures (judged with the minimum of calls: the mark `judged` of this
/// bucket span), `transitions - 1` disables, a reset, then 9 failures and a success: the
/// success brings the window to the minimum of 10 at 90 % failures and must trip it.
fn marked_then_away(transitions: u32) -> (State, (u64, u64, u64)) {
    let (b, _clock) = breaker(failure_rate(Window::Time(secs(60)), 0.5, 10));
    run_n(&b, 6, Outcome::Success);
    run_n(&b, 5, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "5 failures in 11");
    for _ in 0..transitions - 1 {
        b.disable();
    }
    b.reset();
    run_n(&b, 9, Outcome::Failure);
    assert_eq!((b.state(), window(&b)), (State::Closed, (9, 9, 0)), "under the minimum");
    run_n(&b, 1, Outcome::Success);
    (b.state(), window(&b))
}

#[test]
fn a_success_reaching_the_minimum_65536_transitions_after_a_judgement_trips() {
    assert_eq!(
        marked_then_away(65_536),
        (State::Open, (10, 9, 0)),
        "(state, window) after 9 failures and a success, 65,536 transitions after a judgement"
    );
}

/// The same, one transition fewer (the control).
#[test]
fn a_success_reaching_the_minimum_65535_transitions_after_a_judgement_trips() {
    assert_eq!(marked_then_away(65_535), (State::Open, (10, 9, 0)));
}

// --- The numbers kept at a trip ----------------------------------------------------------------

/// (calls, failures) the reason of a failure-rate trip says it judged.
fn judged(reason: Option<cb_runtime::Reason>) -> Option<(u64, u64)> {
    match reason? {
        cb_runtime::Reason::FailureRate { rate, calls, .. } => Some((calls, (rate * calls as f64).round() as u64)),
        _ => None,
    }
}

/// While Open after a trip, the snapshot's window is "the numbers that tripped it": those the
/// trip judged, as `tripped_by` reports them. A trip that re-read the window after its
/// judgement kept outcomes other threads recorded in between: the window shown disagreed with
/// the reason (more calls, a rate under the threshold it claimed to have reached). Two writers (successes, failures) race until the
/// breaker trips; then a reset, again, for 5 s or until the first disagreement.
fn kept_numbers_are_the_judged_ones(kind: Window, skip_empty: bool) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (b, _clock) = breaker(failure_rate(kind, 0.5, 10));
    let quit = AtomicBool::new(false);
    let mut seen = None;
    let mut trips = 0u64;
    std::thread::scope(|s| {
        for outcome in [Outcome::Success, Outcome::Failure] {
            let (b, quit) = (&b, &quit);
            s.spawn(move || {
                while !quit.load(Ordering::Relaxed) {
                    if !run(b, outcome) {
                        std::hint::spin_loop();
                    }
                }
            });
        }
        let start = std::time::Instant::now();
        while start.elapsed() < secs(5) {
            if b.state() != State::Open {
                std::hint::spin_loop();
                continue;
            }
            let snap = b.snapshot();
            if snap.state == State::Open
                && let Some((calls, failures)) = judged(snap.tripped_by)
            {
                trips += 1;
                let shown = (snap.window.calls, snap.window.failures);
                if shown != (calls, failures) && !(skip_empty && shown == (0, 0)) {
                    seen = Some(((snap.window.calls, snap.window.failures), (calls, failures)));
                    break;
                }
            }
            b.reset();
        }
        quit.store(true, Ordering::Relaxed);
    });
    assert_eq!(seen, None, "(window shown, judged by the trip) after {trips} trips");
}

/// Snapshots as soon as the state reads Open: the transition (and `tripped_by`) was published
/// before `keep_trip`, and the window it let go of at the transition (`begin`) showed (0, 0).
#[test]
fn a_snapshot_right_after_a_count_window_trip_shows_the_numbers_that_tripped_it() {
    kept_numbers_are_the_judged_ones(Window::Count(10), false);
}

/// The same, an empty window aside: outcomes of other writers between the judgement and the
/// re-read must not be in the numbers kept.
#[test]
fn the_window_kept_at_a_count_window_trip_is_the_one_judged() {
    kept_numbers_are_the_judged_ones(Window::Count(10), true);
}
