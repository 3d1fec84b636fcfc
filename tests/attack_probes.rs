//! Attacks (from outside, public API only) on commit 7d124d5:
//!
//! 1. `breaker/mod.rs` `acquire_contended` (HalfOpen and Open -> HalfOpen): each probe stamps
//!    the HalfOpen period with its start time; `undecided_for` re-opens once the newest probe
//!    has run past `half_open_max_wait` with every slot taken.
//! 2. `breaker/record.rs`: a stale success is counted as `Stale` only; snapshot totals add it.
//! 3. `breaker/record.rs` `run_counts`: a consecutive-only trip keeps at least its run.
//!
//! The three "DEFECT" tests fail on the current code and are `#[ignore]`d as known, open
//! defects (run them with `--ignored`): a probe whose thread is preempted between its clock
//! read and its slot's compare-and-swap stamps the HalfOpen period with a time before it held
//! the slot, so `half_open_max_wait` can re-open while it has held its slot for less. Any
//! clock read apart from the compare-and-swap leaves such a gap; closing it needs another way
//! of knowing when the newest slot was taken. "Coverage (PASS)" tests pin claims that held. Interleavings are forced with `support::hook_clock` (a thread parked
//! right after its clock read, as a thread preempted there).

mod support;

use cb_runtime::{CircuitBreaker, Outcome, Reason, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;
use support::hook_clock::{Arm, hold_parked, hooked, idle_half_open};
use support::{breaker, consecutive, run, run_n, secs};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

// --- 1. half_open_max_wait ------------------------------------------------------------------

/// DEFECT. Claim: never re-opens while some slot holder has run less than the max wait.
///
/// `acquire_contended` (mod.rs, HalfOpen branch) reads the clock, then stamps the period with
/// that time, then takes the slot by compare-and-swap. A caller preempted right after its
/// clock read (t=11s) on an idle HalfOpen period (one slot, max wait 5s) resumes at 21s: the
/// word is unchanged, so it stamps 11s and wins the slot at 21s. The slot was free the whole
/// 10s (any other caller would have been admitted). Right after, at 21s, while it holds the
/// permit, a `snapshot()` (or any caller) re-opens.
/// Expected: HalfOpen (the only probe has held its slot 0s). Observed: Open,
/// `ProbesUndecided { waited: 10s }` (measured from the clock read that preceded the pause,
/// not from when the slot was taken).
#[test]
#[ignore = "known defect, open: a probe preempted between its clock read and its slot stamps an old start; run with --ignored"]
fn a_probe_preempted_before_its_stamp_is_cut_short_while_held() {
    let (b, hook) = idle_half_open(1);
    let probe = hold_parked(&hook, &b, Arm::ReadThenPark);
    hook.manual.advance(secs(10));
    probe.resume(&hook);
    let s = b.snapshot();
    assert!(probe.drop_permit(), "the preempted caller won the free slot at 21s");
    assert_eq!(
        (s.state, s.tripped_by),
        (State::HalfOpen, None),
        "re-opened right as the only probe took its slot (it had held it 0s; max wait 5s)"
    );
}

/// DEFECT (same claim; ABA on the word). The guard `self.load() == word` of the stamp is
/// satisfied again once a probe that took the slot in between gives it back (a dropped
/// permit restores the exact word). Caller A reads the clock at 11s and is preempted; probe B
/// takes the slot at 12s (stamps 12s) and is dropped at 13s; A resumes at 21s, writes 11s over
/// B's 12s and wins the slot. At 21s A has held its slot 0s.
/// Expected: HalfOpen. Observed: Open, `ProbesUndecided { waited: 10s }`.
#[test]
#[ignore = "known defect, open: a probe preempted between its clock read and its slot stamps an old start; run with --ignored"]
fn a_preempted_probe_stamps_over_a_later_probe_after_aba() {
    let (b, hook) = idle_half_open(1);
    let probe = hold_parked(&hook, &b, Arm::ReadThenPark);
    hook.manual.advance(secs(1));
    let probe_b = b.try_acquire().expect("probe B takes the free slot at 12s");
    hook.manual.advance(secs(1));
    drop(probe_b);
    assert_eq!(b.state(), State::HalfOpen);
    hook.manual.advance(secs(8));
    probe.resume(&hook);
    let s = b.snapshot();
    assert!(probe.drop_permit(), "A won the free slot at 21s");
    assert_eq!(
        (s.state, s.tripped_by),
        (State::HalfOpen, None),
        "re-opened right as A took its slot, measured from before B's (later) stamp"
    );
}

/// DEFECT (same claim, via the Open -> HalfOpen transition that admits the first probe). The
/// caller reads the clock at 10.5s (Open wait over at 10s), is preempted, and resumes at 20s:
/// its transition takes the slot and stamps 10.5s.
/// Expected: HalfOpen right after. Observed: Open, `ProbesUndecided { waited: 9.5s }`.
#[test]
#[ignore = "known defect, open: a probe preempted between its clock read and its slot stamps an old start; run with --ignored"]
fn the_transition_probe_preempted_after_its_clock_read_is_cut_short() {
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
