//! Attacks (from outside, public API only) on the changes of the last hour:
//!
//! 1. `breaker/deadline.rs` `write_stamp`: the open deadline / half-open start is swapped in
//!    only while the state word holds its period; `announce` stamps every period other than
//!    Open/HalfOpen with time 0.
//! 2. `breaker/control.rs`: the Open reason, the kept trip numbers and the period-start totals
//!    are written under their lock only while their period is in force.
//!
//! Every test marked "Was a DEFECT" failed on that code and passes since its fix (see the
//! commits that name tests/attack_stamps.rs).
//!
//! Interleavings are forced deterministically with a `ClockSource` (public API) that parks the
//! thread that armed it on its next clock read: `open_for` and a trip read the clock right
//! after their compare-and-swap and before they stamp the new Open period.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Outcome, Reason, State};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;
use support::hook_clock::{Arm, hooked, park_in, record_parked, release};
use support::{Lcg, breaker, consecutive, half_open_at_11s, run, run_n, secs};

fn nums(b: &CircuitBreaker) -> (u64, u64) {
    let w = b.snapshot().window;
    (w.calls, w.failures)
}

// --- 1. The stamp of an Open period, between its CAS and its writer ---------------------------

/// `open_for` (control.rs `open_for_because`) makes the breaker Open by its CAS, then reads the
/// clock and only then stamps the deadline. While its thread is paused there (the hook parks
/// it on that clock read; any preemption does the same) the wait is not known yet: other
/// callers are rejected as Open with `retry_after: None` ("if known", as `Rejected` documents)
/// and the snapshot's `open_for` is None. The attack asked for Some there; the deadline cannot
/// be stamped before the state word has the period (it would erase the stamp of the period in
/// force, and be wrong if the compare-and-swap lost). What must hold: Open throughout, and
/// once the writer resumes, the full wait.
#[test]
fn open_for_paused_after_its_cas_rejects_until_its_wait_is_known() {
    let (b, hook) = hooked(consecutive(5).open_timeout(secs(60)), 0);
    let opener = {
        let b = Arc::clone(&b);
        park_in(&hook, Arm::ParkThenRead, move || b.open_for(secs(30)).unwrap())
    };
    let rejected = b.try_acquire().map(|_| ()).unwrap_err();
    let snap = b.snapshot();
    release(&hook, opener);
    assert_eq!(
        (rejected.state, rejected.retry_after),
        (State::Open, None),
        "not known yet"
    );
    assert_eq!((snap.state, snap.open_for), (State::Open, None));
    let rejected = b.try_acquire().map(|_| ()).unwrap_err();
    assert_eq!((rejected.state, rejected.retry_after), (State::Open, Some(secs(30))));
    assert_eq!(b.snapshot().open_for, Some(secs(30)));
}

/// The same on a trip (consecutive_failures(1)): `trip` (mod.rs) CASes to Open, keeps the
/// numbers, then reads the clock in `swapped` before it stamps the deadline and writes the
/// reason. Meanwhile: Open, `retry_after: None`, `open_for: None`, no `tripped_by`; once the
/// writer resumes, the full wait and the reason.
#[test]
fn trip_paused_after_its_cas_rejects_until_its_wait_is_known() {
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), 0);
    let permit_owner = record_parked(&hook, &b, Outcome::Failure, Arm::ParkThenRead);
    let rejected = b.try_acquire().map(|_| ()).unwrap_err();
    let snap = b.snapshot();
    release(&hook, permit_owner);
    assert_eq!(
        (rejected.state, rejected.retry_after),
        (State::Open, None),
        "not known yet"
    );
    assert_eq!((snap.state, snap.open_for, snap.tripped_by), (State::Open, None, None));
    let snap = b.snapshot();
    assert_eq!(snap.open_for, Some(secs(30)));
    assert_eq!(snap.tripped_by, Some(Reason::ConsecutiveFailures { count: 1 }));
    let rejected = b.try_acquire().map(|_| ()).unwrap_err();
    assert_eq!(rejected.retry_after, Some(secs(30)));
}

/// Coverage (PASS). An `open_for(1h)` writer parked after its CAS; meanwhile a reset and a trip
/// (30s) make a later Open period. The late writer must stamp nothing: the breaker is Open with
/// the trip's 30s, its reason, and HalfOpen strictly after 30s.
#[test]
fn a_late_open_for_writer_stamps_nothing_over_a_later_trip() {
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), 0);
    let opener = {
        let b = Arc::clone(&b);
        park_in(&hook, Arm::ParkThenRead, move || b.open_for(secs(3600)).unwrap())
    };
    b.reset();
    assert!(run(&b, Outcome::Failure));
    let before = b.snapshot();
    assert_eq!(before.state, State::Open);
    assert_eq!(before.open_for, Some(secs(30)));
    release(&hook, opener);
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.open_for, Some(secs(30)), "the late open_for wrote its 1h deadline");
    assert_eq!(s.tripped_by, Some(Reason::ConsecutiveFailures { count: 1 }));
    assert_eq!(nums(&b), (1, 1));
    hook.manual.advance(secs(30));
    assert_eq!(b.state(), State::Open, "at the deadline");
    hook.manual.advance(Duration::from_nanos(1));
    assert_eq!(b.state(), State::HalfOpen);
}

/// Coverage (PASS). A tripping thread parked after its CAS and `keep_trip`; meanwhile a reset,
/// two successes and a failure trip again (kept (3, 1)), then `reset` + `open_for(10s)`. The
/// late tripper writes no stamp or reason: Open, Manual, no kept numbers, 10s.
#[test]
fn a_late_tripper_writes_nothing_over_later_periods() {
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), 0);
    let tripper = record_parked(&hook, &b, Outcome::Failure, Arm::ParkThenRead);
    b.reset();
    run_n(&b, 2, Outcome::Success);
    assert!(run(&b, Outcome::Failure));
    assert_eq!(nums(&b), (3, 1));
    b.open_for(secs(10)).unwrap();
    release(&hook, tripper);
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.tripped_by, Some(Reason::Manual));
    assert_eq!((s.window.calls, s.window.failures), (0, 0));
    assert_eq!(s.open_for, Some(secs(10)));
    hook.manual.advance(secs(10) + Duration::from_nanos(1));
    assert_eq!(b.state(), State::HalfOpen);
}

/// Coverage (PASS). A tripper parked after its CAS; a `reset` runs meanwhile (Closed, stamped
/// with no time). The late tripper's `write_stamp` and `opened` must not resurrect its Open
/// period's notes, and the Closed breaker must trip again normally later.
#[test]
fn a_late_tripper_after_a_reset_leaves_the_closed_period_alone() {
    let (b, hook) = hooked(consecutive(2).open_timeout(secs(30)), 0);
    run_n(&b, 1, Outcome::Failure);
    let tripper = record_parked(&hook, &b, Outcome::Failure, Arm::ParkThenRead);
    b.reset();
    release(&hook, tripper);
    let s = b.snapshot();
    assert_eq!((s.state, s.tripped_by, s.open_for), (State::Closed, None, None));
    assert_eq!(nums(&b), (0, 0));
    run_n(&b, 2, Outcome::Failure);
    let s = b.snapshot();
    assert_eq!(s.state, State::Open);
    assert_eq!(s.open_for, Some(secs(30)));
    assert_eq!(s.tripped_by, Some(Reason::ConsecutiveFailures { count: 2 }));
}

/// Was a DEFECT, fixed (the test failed before the fix). Claim: racing transitions never leave a breaker wedged.
///
/// A writer parked between its CAS and the rest of its work (here `open_for`, parked on its
/// clock read; a preempted thread does the same) finds, when it resumes, that its period is
/// over: `write_stamp`, `opened`, `keep_trip` and `start_period` now check `in_force` and
/// write nothing, but `announce` (mod.rs) still runs for the dead period and moves the run
/// word with `run::begin(held, next.generation())`, which compares only 8 bits of generation
/// with wrapping order (run.rs `begin`). 200 resets later (> 128), the dead period looks
/// *newer* than the one in force: the run word is set to it, and every failure of the Closed
/// period in force is then taken for a late failure of an older period (`lengthen` returns
/// None): a `consecutive_failures(1)` breaker does not trip on any failure (nor does `begin` of
/// the next transitions move the word back, until 56 more transitions pass).
/// Expected: the first failure after the resets trips it. Observed: Closed after 1000 failures.
#[test]
fn a_late_announce_after_200_resets_disarms_the_consecutive_trigger() {
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), 0);
    let opener = {
        let b = Arc::clone(&b);
        park_in(&hook, Arm::ParkThenRead, move || b.open_for(secs(60)).unwrap())
    };
    for _ in 0..200 {
        b.reset();
    }
    release(&hook, opener);
    assert_eq!(b.state(), State::Closed, "the late open_for did not reopen it");
    let mut failures = 0;
    while failures < 1000 && b.state() == State::Closed {
        assert!(run(&b, Outcome::Failure));
        failures += 1;
    }
    let s = b.snapshot();
    assert_eq!(
        (s.state, failures),
        (State::Open, 1),
        "consecutive_failures(1): {failures} failures recorded, window {:?}, run {}",
        (s.window.calls, s.window.failures),
        s.consecutive_failures
    );
}

/// Was a DEFECT, fixed (the test failed before the fix). The same through a late *trip* (consecutive_failures(1): its `trip` parks on
/// the clock read after its CAS and `keep_trip`): after 200 resets its `announce` sets the run
/// word to its dead period and the breaker stops tripping.
/// Expected: the next failure trips. Observed: Closed after 1000 failures.
#[test]
fn a_late_trip_announce_after_200_resets_disarms_the_consecutive_trigger() {
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), 0);
    let tripper = record_parked(&hook, &b, Outcome::Failure, Arm::ParkThenRead);
    for _ in 0..200 {
        b.reset();
    }
    release(&hook, tripper);
    let mut failures = 0;
    while failures < 1000 && b.state() == State::Closed {
        assert!(run(&b, Outcome::Failure));
        failures += 1;
    }
    assert_eq!(
        (b.state(), failures),
        (State::Open, 1),
        "{failures} failures without a trip"
    );
}

/// Coverage (PASS). The same late `open_for` with only 100 resets in between (within the run
/// word's 8-bit wrapping order): the next failure trips.
#[test]
fn a_late_announce_after_100_resets_is_harmless() {
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), 0);
    let opener = {
        let b = Arc::clone(&b);
        park_in(&hook, Arm::ParkThenRead, move || b.open_for(secs(60)).unwrap())
    };
    for _ in 0..100 {
        b.reset();
    }
    release(&hook, opener);
    assert!(run(&b, Outcome::Failure));
    assert_eq!(b.state(), State::Open);
}

// --- 2. Many threads racing trips, resets, open_for and state() --------------------------------

/// After the racers are joined: an Open breaker has a finite deadline no longer than `max`,
/// `retry_after` says the same, and it becomes HalfOpen strictly after it.
fn check_settled(b: &CircuitBreaker, clock: &ManualClock, max: Duration, round: usize, retrip: bool) {
    let s = b.snapshot();
    match s.state {
        State::Open => {
            let left = s
                .open_for
                .unwrap_or_else(|| panic!("round {round}: Open with no deadline (wedged): {s:?}"));
            assert!(left <= max, "round {round}: Open for {left:?} > {max:?}");
            assert!(s.tripped_by.is_some(), "round {round}: Open without a reason");
            let r = b.try_acquire().map(|_| ()).unwrap_err();
            assert_eq!(r.state, State::Open);
            assert_eq!(r.retry_after, Some(left.max(Duration::from_nanos(1))), "round {round}");
            clock.advance(left);
            assert_eq!(b.state(), State::Open, "round {round}: left Open before its deadline");
            clock.advance(Duration::from_nanos(1));
            assert_eq!(b.state(), State::HalfOpen, "round {round}: did not leave Open");
        }
        State::HalfOpen => {
            // With half_open_max_wait set, a probe in flight is either decided or re-opens.
        }
        _ => {}
    }
    b.reset();
    if retrip {
        // Whatever it was, a reset and one failure (consecutive_failures(1)) trip it again.
        assert!(run(b, Outcome::Failure));
    } else {
        b.open_for(Duration::from_millis(1000)).unwrap();
    }
    let s = b.snapshot();
    assert_eq!(s.state, State::Open, "round {round}");
    assert!(s.open_for.is_some_and(|d| d <= max), "round {round}: {s:?}");
}

/// Trippers (consecutive_failures(1)), a resetter with manual states, an `open_for` thread,
/// readers of `state()`/`snapshot()` and a clock advancer race for `rounds` rounds. During the
/// race every `retry_after` and `open_for` that is known must be at most the longest wait;
/// after each round the breaker must be un-wedged (see `check_settled`).
fn race(rounds: usize, retrip: bool) {
    const MAX: Duration = Duration::from_millis(3000);
    let (b, clock) = breaker(
        consecutive(1)
            .open_timeout(Duration::from_millis(500))
            .backoff_multiplier(2.0)
            .max_open_timeout(MAX)
            .half_open_max_calls(2)
            .success_threshold(2)
            .half_open_max_wait(Duration::from_millis(700)),
    );
    let b = Arc::new(b);
    let too_long = Arc::new(AtomicU64::new(0));
    let none_seen = Arc::new(AtomicU64::new(0));
    for round in 0..rounds {
        let stop = Arc::new(AtomicBool::new(false));
        let start = Arc::new(Barrier::new(6));
        let mut handles = Vec::new();
        // Two callers: failures trip, some successes close half-open periods.
        for t in 0..2u64 {
            let (b, stop, start, too_long, none_seen) = (
                Arc::clone(&b),
                Arc::clone(&stop),
                Arc::clone(&start),
                Arc::clone(&too_long),
                Arc::clone(&none_seen),
            );
            handles.push(thread::spawn(move || {
                let mut rng = Lcg(round as u64 * 31 + t);
                start.wait();
                let mut i = 0u32;
                while !stop.load(Ordering::Relaxed) && i < 200_000 {
                    i += 1;
                    match b.try_acquire() {
                        Ok(p) => p.record(if rng.next(3) == 0 {
                            Outcome::Success
                        } else {
                            Outcome::Failure
                        }),
                        Err(r) => match r.retry_after {
                            Some(d) if d > MAX => {
                                too_long.fetch_add(1, Ordering::Relaxed);
                            }
                            None if r.state == State::Open => {
                                none_seen.fetch_add(1, Ordering::Relaxed);
                            }
                            _ => {}
                        },
                    }
                }
            }));
        }
        // A resetter with manual states.
        {
            let (b, stop, start) = (Arc::clone(&b), Arc::clone(&stop), Arc::clone(&start));
            handles.push(thread::spawn(move || {
                let mut rng = Lcg(1000 + round as u64);
                start.wait();
                for _ in 0..20_000 {
                    match rng.next(8) {
                        0 => b.force_open(),
                        1 => b.disable(),
                        2 => b.metrics_only(),
                        3 => {
                            let _ = b.transition_to(State::HalfOpen);
                        }
                        _ => b.reset(),
                    }
                }
                stop.store(true, Ordering::Relaxed);
            }));
        }
        // open_for with waits up to MAX.
        {
            let (b, stop, start) = (Arc::clone(&b), Arc::clone(&stop), Arc::clone(&start));
            handles.push(thread::spawn(move || {
                let mut rng = Lcg(2000 + round as u64);
                start.wait();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && i < 50_000 {
                    i += 1;
                    let ms = 1 + rng.next(MAX.as_millis() as u64);
                    b.open_for(Duration::from_millis(ms)).unwrap();
                }
            }));
        }
        // Readers: state() applies time rules; snapshots must show a bounded wait.
        {
            let (b, stop, start, too_long) = (
                Arc::clone(&b),
                Arc::clone(&stop),
                Arc::clone(&start),
                Arc::clone(&too_long),
            );
            handles.push(thread::spawn(move || {
                start.wait();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && i < 50_000 {
                    i += 1;
                    let _ = b.state();
                    if i % 16 == 0 {
                        let s = b.snapshot();
                        if s.open_for.is_some_and(|d| d > MAX) {
                            too_long.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            }));
        }
        // The clock advances by 0..2ms steps.
        {
            let (clock, stop, start) = (clock.clone(), Arc::clone(&stop), Arc::clone(&start));
            handles.push(thread::spawn(move || {
                let mut rng = Lcg(3000 + round as u64);
                start.wait();
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) && i < 200_000 {
                    i += 1;
                    clock.advance(Duration::from_micros(rng.next(2000)));
                    thread::yield_now();
                }
            }));
        }
        for h in handles {
            h.join().unwrap();
        }
        check_settled(&b, &clock, MAX, round, retrip);
    }
    eprintln!(
        "Open rejections with retry_after None during the race (writer between CAS and stamp): {}",
        none_seen.load(Ordering::Relaxed)
    );
    assert_eq!(too_long.load(Ordering::Relaxed), 0, "a wait longer than any configured");
}

/// Coverage (PASS). The race above, checking the stamps only: after every round an Open
/// breaker has a finite deadline no longer than the longest wait, `retry_after` equals it, it
/// leaves Open strictly after it, and a reset + `open_for` makes a normal Open period again.
/// No Open period without a deadline (wedged) and no deadline of another period was seen.
#[test]
fn racing_trips_resets_open_for_and_state_leave_finite_deadlines() {
    race(8, false);
}

/// Was a DEFECT (failed in about half of the runs: a race; 16 rounds make it likelier), fixed. The same race,
/// then after each round `reset` and one failure must trip the consecutive_failures(1) breaker.
/// Observed: it stays Closed ("round N, left: Closed, right: Open"): the late `announce` of a
/// writer preempted for more than 128 transitions set the run word to a dead period (see
/// `a_late_announce_after_200_resets_disarms_the_consecutive_trigger`, deterministic).
#[test]
fn racing_trips_resets_open_for_and_state_never_disarm_the_trigger() {
    race(16, true);
}

/// Coverage (PASS). Every manual path from every state into Open and out again, on one breaker,
/// in a long deterministic walk: after each step, an Open breaker shows a deadline no longer
/// than its wait, its `retry_after` equals it, and it leaves Open strictly after it.
#[test]
fn every_open_period_of_a_long_walk_ends_after_its_wait() {
    let (b, clock) = breaker(
        consecutive(1)
            .open_timeout(secs(2))
            .backoff_multiplier(3.0)
            .max_open_timeout(secs(60))
            .half_open_max_calls(1)
            .half_open_max_wait(secs(5)),
    );
    let mut rng = Lcg(42);
    for step in 0..200_000u32 {
        match rng.next(10) {
            0 => b.reset(),
            1 => b.force_open(),
            2 => b.disable(),
            3 => b.metrics_only(),
            4 => {
                let _ = b.transition_to(State::HalfOpen);
            }
            5 => b.open_for(Duration::from_millis(1 + rng.next(60_000))).unwrap(),
            6 => clock.advance(Duration::from_millis(rng.next(10_000))),
            7 => {
                let _ = run(&b, Outcome::Success);
            }
            _ => {
                let _ = run(&b, Outcome::Failure);
            }
        }
        if step % 97 == 0 {
            let s = b.snapshot();
            if s.state == State::Open {
                let left = s.open_for.unwrap_or_else(|| panic!("step {step}: Open, no deadline"));
                assert!(left <= secs(60), "step {step}: {left:?}");
                assert!(s.tripped_by.is_some(), "step {step}: Open, no reason");
                clock.advance(left + Duration::from_nanos(1));
                assert_eq!(b.state(), State::HalfOpen, "step {step}");
            }
        }
    }
}

// --- 3. Period-start totals: the current Closed period's calls only ----------------------------

/// Was a DEFECT, fixed (the test failed before the fix). Claim: the period-start totals make a consecutive-only breaker's snapshot
/// window count the current Closed period's calls only.
///
/// A call admitted in one Closed period and recorded (a failure) after a `reset`:
/// `record_closed` (record.rs) counts it in the totals (`count`) *before* `period_over`
/// drops it; the new period's start totals (`start_period`, read at the reset) do not include
/// it, so `period_counts` = totals − start counts it in the new period. The run of the new
/// period ignores it (correctly): the next trip of 3 keeps (4, 4) for "3 consecutive failures".
/// Expected window (0, 0) after the late failure, kept (3, 3). Observed (1, 1), kept (4, 4).
/// (With a rate trigger the generation-tagged window drops it: (0, 0).)
#[test]
fn a_stale_failure_after_a_reset_counts_in_the_new_periods_window() {
    let (b, _clock) = breaker(consecutive(3).open_timeout(secs(60)));
    let stale = b.try_acquire().expect("closed");
    b.reset();
    assert_eq!(nums(&b), (0, 0));
    stale.record(Outcome::Failure);
    let after_stale = nums(&b);
    run_n(&b, 3, Outcome::Failure);
    let s = b.snapshot();
    assert_eq!(s.tripped_by, Some(Reason::ConsecutiveFailures { count: 3 }));
    assert_eq!(
        (after_stale, (s.window.calls, s.window.failures)),
        ((0, 0), (3, 3)),
        "a failure of the previous period counted in the new Closed period's window / kept numbers"
    );
}

/// Was a DEFECT, fixed (the test failed before the fix). The same through a late half-open probe: `half_open_max_calls(2)`,
/// `success_threshold(1)`; the first probe's success closes the breaker, the second probe's
/// failure arrives after (stale: `record_probe` counts it in the totals, then finds the period
/// over). The new Closed period's window shows it.
/// Expected (0, 0). Observed (1, 1).
#[test]
fn a_late_probe_failure_counts_in_the_next_closed_periods_window() {
    let (b, clock) = breaker(
        consecutive(3)
            .open_timeout(secs(10))
            .half_open_max_calls(2)
            .success_threshold(1),
    );
    run_n(&b, 3, Outcome::Failure);
    clock.advance(secs(11));
    let late = b.try_acquire().expect("probe 1");
    b.try_acquire().expect("probe 2").record(Outcome::Success);
    assert_eq!(b.state(), State::Closed);
    assert_eq!(nums(&b), (0, 0));
    late.record(Outcome::Failure);
    assert_eq!(
        nums(&b),
        (0, 0),
        "a probe of the HalfOpen period counted in the Closed period's window"
    );
}

/// Coverage (PASS). The same stale failure on a breaker with a rate trigger (count window): the
/// window is tagged with the period and drops it.
#[test]
fn a_stale_failure_after_a_reset_is_dropped_by_a_rate_window() {
    let (b, _clock) = breaker(
        BreakerConfig::builder()
            .consecutive_failures(3)
            .failure_rate_threshold(1.0)
            .no_slow_call_rate()
            .window(cb_runtime::Window::Count(100))
            .minimum_calls(1000)
            .open_timeout(secs(60)),
    );
    let stale = b.try_acquire().expect("closed");
    b.reset();
    stale.record(Outcome::Failure);
    assert_eq!(nums(&b), (0, 0));
}

// --- 4. HalfOpen max wait ----------------------------------------------------------------------

/// Was a DEFECT, fixed (the test failed before the fix). Claim: a HalfOpen with `half_open_max_wait` set re-opens after that wait
/// (config: "probes undecided for longer than this re-open the breaker").
///
/// The HalfOpen stamp is the period's *start* (`swapped`: `write_stamp(now)` when it becomes
/// HalfOpen), and `undecided_for` (mod.rs) measures from it, not from when a probe started. A
/// breaker that `state()` turned HalfOpen 60s ago with no call since admits a probe; 1ms
/// later another caller (slots full) re-opens it with `ProbesUndecided { waited: 60s }`
/// although the probe has been undecided for 1ms (max wait 5s).
/// Expected: HalfOpen (rejected as HalfOpen) until the probe is 5s old. Observed: Open.
#[test]
fn half_open_max_wait_counts_from_the_period_start_not_the_probe() {
    let (b, clock) = half_open_at_11s(1, Some(secs(5)));
    assert_eq!(b.state(), State::HalfOpen, "a dashboard read turns it HalfOpen");
    clock.advance(secs(60));
    let probe = b.try_acquire().expect("the first call is a probe");
    clock.advance(Duration::from_millis(1));
    let r = b.try_acquire().map(|_| ()).unwrap_err();
    let s = b.snapshot();
    drop(probe);
    assert_eq!(
        (r.state, s.state),
        (State::HalfOpen, State::HalfOpen),
        "re-opened after a probe undecided for 1ms (max wait 5s): {:?}",
        s.tripped_by
    );
}

// --- 5. Clocks with a far origin ---------------------------------------------------------------

/// Was a DEFECT, fixed (the test failed before the fix). Claim: every Open period ends after its wait.
///
/// The stamp keeps whole milliseconds in 40 bits (word.rs `stamp`: `millis.min(2^40 - 1)`),
/// about 34.8 years from the clock's origin. `ClockSource` documents "nanoseconds since an
/// arbitrary, fixed origin"; a clock since the UNIX epoch (e.g. a wall clock shared by a
/// fleet, 2025 = 55 years) or a `ManualClock` advanced past 34.8 years makes every deadline
/// saturate below `now`: a trip with a 30s wait is HalfOpen at once, and `retry_after` is None.
/// Expected: Open for 30s. Observed: HalfOpen immediately.
#[test]
fn a_clock_past_34_years_from_its_origin_never_stays_open() {
    const EPOCH_2025: u64 = 1_764_000_000 * 1_000_000_000;
    let (b, _hook) = hooked(consecutive(1).open_timeout(secs(30)), EPOCH_2025);
    assert!(run(&b, Outcome::Failure));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.open_for),
        (State::Open, Some(secs(30))),
        "a 30s open wait on a clock since the UNIX epoch"
    );
}

/// Coverage (PASS). The same clock origin at 30 years (below the 40-bit millisecond limit):
/// exact.
#[test]
fn a_clock_30_years_from_its_origin_keeps_exact_deadlines() {
    const YEARS_30: u64 = 30 * 365 * 86_400 * 1_000_000_000 + 123_456_789;
    let (b, hook) = hooked(consecutive(1).open_timeout(secs(30)), YEARS_30);
    assert!(run(&b, Outcome::Failure));
    let s = b.snapshot();
    assert_eq!((s.state, s.open_for), (State::Open, Some(secs(30))));
    hook.manual.advance(secs(30));
    assert_eq!(b.state(), State::Open);
    hook.manual.advance(Duration::from_nanos(1));
    assert_eq!(b.state(), State::HalfOpen);
}
