//! The consecutive-failures trigger.

mod support;

use cb_runtime::{Outcome, State};
use support::*;

#[test]
fn four_failures_keep_it_closed_the_fifth_opens() {
    let (b, _) = breaker(consecutive(5));
    run_n(&b, 4, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn a_success_resets_the_run() {
    let (b, _) = breaker(consecutive(3));
    run_n(&b, 2, Outcome::Failure);
    run_n(&b, 1, Outcome::Success);
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(b.snapshot().consecutive_failures, 2);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

#[test]
fn ignored_outcomes_neither_count_nor_reset_the_run() {
    let (b, _) = breaker(consecutive(3));
    run_n(&b, 2, Outcome::Failure);
    run_n(&b, 5, Outcome::Ignored);
    assert_eq!(b.snapshot().consecutive_failures, 2);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    assert_eq!(b.snapshot().totals.ignored, 5);
}
