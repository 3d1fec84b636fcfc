//! Attacks (from outside, public API only) on commit 7d124d5:
//!
//! 1. `breaker/mod.rs` `acquire_contended` (HalfOpen and Open -> HalfOpen): each probe stamps
//!    the HalfOpen period with its start time; `undecided_for` re-opens once the newest probe
//!    has run past `half_open_max_wait` with every slot taken.
//! 2. `breaker/record.rs`: a stale success is counted as `Stale` only; snapshot totals add it.
//! 3. `breaker/record.rs` `run_counts`: a consecutive-only trip keeps at least its run.
//!
//! The three "DEFECT" tests failed on that code and were `#[ignore]`d as known, open defects: a
//! probe whose thread was preempted between its clock read and its slot's compare-and-swap
//! stamped the HalfOpen period with a time before it held the slot, so `half_open_max_wait`
//! could re-open while it had held its slot for less. Fixed since: a probe reads the clock
//! after its swap, and from before the swap until it has stamped that time it is counted in
//! `taking` (`breaker/mod.rs` `Taking`), during which nobody re-opens; the tests now force
//! the new gaps. "Coverage (PASS)" tests pin
//! claims that held. Interleavings are forced with `support::hook_clock` (a thread parked on
//! its clock read, before or after reading the time, as a thread preempted there).

mod support;

use cb_runtime::{CircuitBreaker, Outcome, Reason, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;
use support::hook_clock::{Arm, hold_parked, hooked, idle_half_open};
use support::panicky_clock::{disarm, panic_after, panicky};
use support::{breaker, consecutive, half_open_config, reopens_exactly_after, run, run_n, secs, trip_until_11s};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// --- 1. half_open_max_wait ------------------------------------------------------------------

/// Was a DEFECT (`#[ignore]`d as open), fixed. Claim: never re-opens while some slot holder
/// has run less than the max wait.
///
/// `acquire_contended` read the clock, stamped the period with that time, then took the slot
/// by compare-and-swap: a caller preempted right after its clock read (11s) on an idle period
/// won the free slot at 21s with a stamp of 11s, and the next read re-opened (`waited: 10s`,
/// the probe 0s in). Now the probe takes the slot, then reads the clock: preempted before that
/// read, it holds the decision off (nobody re-opens, however long), and its wait counts from
/// the time it reads when it resumes.
#[test]
fn a_probe_preempted_between_its_slot_and_its_time_is_not_cut_short() {
    let (b, hook) = idle_half_open(1);
    let probe = hold_parked(&hook, &b, Arm::ParkThenRead);
    hook.manual.advance(secs(60));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.tripped_by),
        (State::HalfOpen, None),
        "the probe holds its slot and has not read its time: no decision"
    );
    probe.resume(&hook);
    reopens_exactly_after(&b, &hook.manual, secs(5));
    assert!(probe.drop_permit(), "the preempted caller won the free slot");
}

/// Coverage, in place of the DEFECT test of this ABA (`#[ignore]`d as open; its interleaving,
/// a clock read before the swap, is gone with the fix). Same claim, after an ABA of the state
/// word: a probe that took a slot and gave it back restores the exact word another probe's
/// stamp is guarded by. Two slots: A takes one at 11s and is preempted before its time read; B takes
/// the other at 12s (stamps 12s) and is dropped at 13s; A resumes at 21s and stamps 21s
/// (its guard holds again: the word is its own). C takes the free slot at 22s: the wait counts
/// from C, the newest probe, and from no earlier time.
#[test]
fn a_probe_stamping_after_an_aba_of_the_word_cuts_nobody_short() {
    let (b, hook) = idle_half_open(2);
    let probe = hold_parked(&hook, &b, Arm::ParkThenRead);
    hook.manual.advance(secs(1));
    let probe_b = b.try_acquire().expect("probe B takes the other slot at 12s");
    hook.manual.advance(secs(1));
    drop(probe_b);
    assert_eq!(b.state(), State::HalfOpen);
    hook.manual.advance(secs(8));
    probe.resume(&hook);
    hook.manual.advance(secs(1));
    let probe_c = b.try_acquire().expect("probe C takes the free slot at 22s");
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop(probe_c);
    assert!(probe.drop_permit(), "A held a slot");
}

/// Was a DEFECT (`#[ignore]`d as open), fixed. Same claim, via the Open -> HalfOpen transition
/// that admits the first probe. The caller reads the clock at 10.5s (Open wait over at 10s),
/// is preempted, and resumes at 20s: its transition took the slot and stamped 10.5s, and the
/// next read re-opened (`waited: 9.5s`). Now the probe the transition admits stamps a time
/// read after it.
#[test]
fn the_transition_probe_preempted_after_its_clock_read_is_not_cut_short() {
    let (b, hook) = hooked(
        consecutive(1)
            .open_timeout(secs(10))
            .half_open_max_calls(1)
            .half_open_max_wait(secs(5)),
        0,
    );
    assert!(run(&b, Outcome::Failure));
    hook.manual.advance(ms(10_500));
    let probe = hold_parked(&hook, &b, Arm::ReadThenPark);
    hook.manual.advance(ms(9_500));
    probe.resume(&hook);
    let s = b.snapshot();
    assert!(probe.drop_permit(), "the preempted caller's transition admitted it");
    assert_eq!(
        (s.state, s.tripped_by),
        (State::HalfOpen, None),
        "re-opened right as the transition's probe was admitted"
    );
}

/// Coverage (PASS). Sequential probes (no preemption): with two slots, the breaker stays
/// HalfOpen until the newest probe has run past the max wait, and re-opens on the next
/// `state()` / `try_acquire` once it has, reporting the newest probe's time.
#[test]
fn max_wait_counts_from_the_newest_probe() {
    for via_acquire in [false, true] {
        let (b, clock) = breaker(
            consecutive(1)
                .open_timeout(secs(10))
                .half_open_max_calls(2)
                .success_threshold(5)
                .half_open_max_wait(secs(5)),
        );
        assert!(run(&b, Outcome::Failure));
        clock.advance(secs(10) + Duration::from_nanos(1));
        let p1 = b.try_acquire().expect("first probe");
        clock.advance(secs(3));
        let p2 = b.try_acquire().expect("second probe");
        clock.advance(secs(5));
        assert_eq!(b.state(), State::HalfOpen, "newest probe ran exactly 5s");
        clock.advance(Duration::from_nanos(1));
        let state = if via_acquire {
            b.try_acquire().map(|_| State::HalfOpen).unwrap_or_else(|r| r.state)
        } else {
            b.state()
        };
        assert_eq!(state, State::Open, "via_acquire={via_acquire}");
        assert_eq!(
            b.snapshot().tripped_by,
            Some(Reason::ProbesUndecided {
                waited: secs(5) + Duration::from_nanos(1)
            })
        );
        p1.record(Outcome::Success);
        p2.record(Outcome::Success);
        assert_eq!(b.snapshot().totals.successes, 2, "stale probe successes counted once");
    }
}

/// Coverage (PASS). A probe decided and a new one admitted while the other slot holder is
/// still out: the wait restarts from the newest.
#[test]
fn max_wait_restarts_when_a_slot_is_refilled() {
    let (b, clock) = breaker(
        consecutive(1)
            .open_timeout(secs(10))
            .half_open_max_calls(2)
            .success_threshold(5)
            .half_open_max_wait(secs(5)),
    );
    assert!(run(&b, Outcome::Failure));
    clock.advance(secs(11));
    let p1 = b.try_acquire().unwrap();
    clock.advance(secs(1));
    let p2 = b.try_acquire().unwrap();
    clock.advance(secs(1));
    p2.record(Outcome::Success);
    clock.advance(secs(1));
    let p3 = b.try_acquire().unwrap();
    clock.advance(secs(5));
    assert_eq!(b.state(), State::HalfOpen);
    clock.advance(Duration::from_nanos(1));
    assert_eq!(b.state(), State::Open);
    drop((p1, p3));
}

// --- 2. stale successes ---------------------------------------------------------------------

/// Coverage (PASS). Successes of ended periods (Closed and HalfOpen) are counted once in
/// `totals.successes`, and do not end the run of failures of the period in force.
#[test]
fn stale_successes_counted_once_and_end_no_run() {
    let (b, clock) = breaker(consecutive(3).open_timeout(secs(10)).success_threshold(1));
    let old = b.try_acquire().unwrap();
    let old2 = b.try_acquire().unwrap();
    run_n(&b, 3, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    clock.advance(secs(11));
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 2, Outcome::Failure);
    old.record(Outcome::Success);
    assert_eq!(b.snapshot().consecutive_failures, 2, "a stale success ends no run");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "the run of 3 tripped");
    old2.record(Outcome::Success);
    let s = b.snapshot();
    assert_eq!(s.totals.successes, 3, "1 probe + 2 stale");
    assert_eq!(s.totals.failures, 6);
    assert!(
        s.window.failures >= 3 && s.window.calls >= s.window.failures,
        "{:?}",
        s.window
    );
}

/// Coverage (PASS). Many threads, trips racing successes: every success recorded is in
/// `totals.successes` exactly once.
#[test]
fn totals_count_every_success_once_under_races() {
    // The system clock: Open waits of 1 ms end on their own.
    let config = consecutive(2)
        .open_timeout(ms(1))
        .half_open_max_calls(4)
        .success_threshold(2)
        .jitter(0.0)
        .build()
        .unwrap();
    let b = Arc::new(CircuitBreaker::builder("races").config(config).build());
    let recorded = Arc::new(AtomicU64::new(0));
    let failures = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..4)
        .map(|t| {
            let (b, recorded, failures) = (Arc::clone(&b), Arc::clone(&recorded), Arc::clone(&failures));
            thread::spawn(move || {
                for i in 0..20_000u64 {
                    if let Ok(p) = b.try_acquire() {
                        if (i + t) % 3 == 0 {
                            p.record(Outcome::Failure);
                            failures.fetch_add(1, Ordering::Relaxed);
                        } else {
                            p.record(Outcome::Success);
                            recorded.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    let s = b.snapshot();
    assert_eq!(s.totals.successes, recorded.load(Ordering::Relaxed));
    assert_eq!(s.totals.failures, failures.load(Ordering::Relaxed));
}

// --- 3. run_counts --------------------------------------------------------------------------

/// Coverage (PASS). A consecutive-only trip keeps at least its run, with stale failures and
/// successes of the previous period recorded inside the run.
#[test]
fn consecutive_trip_keeps_its_run() {
    let (b, clock) = breaker(consecutive(4).open_timeout(secs(10)).success_threshold(1));
    let stale: Vec<_> = (0..3).map(|_| b.try_acquire().unwrap()).collect();
    run_n(&b, 4, Outcome::Failure);
    clock.advance(secs(11));
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    let mut stale = stale.into_iter();
    run_n(&b, 1, Outcome::Failure);
    stale.next().unwrap().record(Outcome::Failure);
    run_n(&b, 2, Outcome::Failure);
    stale.next().unwrap().record(Outcome::Success);
    stale.next().unwrap().record(Outcome::Failure);
    run_n(&b, 1, Outcome::Failure);
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!((s.window.calls, s.window.failures), (4, 4), "{:?}", s.window);
}

/// A clock that panics on the reads of the thread that armed it.
/// Coverage. A probe whose clock source panics after it took its slot (before it stamps its
/// time) still lets the max wait decide afterwards: the count of callers taking a slot is
/// dropped while unwinding, so it cannot hold every later decision off.
#[test]
fn a_clock_panicking_between_slot_and_stamp_does_not_hold_the_decision_off() {
    let (b, manual) = panicky(half_open_config(1, Some(secs(5))));
    trip_until_11s(&b, &manual);
    assert_eq!(b.state(), State::HalfOpen);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        panic_after(0);
        b.try_acquire().is_ok()
    }));
    assert!(!disarm(), "the clock read after the slot panicked");
    assert!(panicked.is_err());
    manual.advance(secs(5) + Duration::from_nanos(1));
    let s = b.snapshot();
    assert_eq!(s.state, State::Open, "the slot it took is decided by the max wait");
    assert!(matches!(s.tripped_by, Some(Reason::ProbesUndecided { .. })));
}
