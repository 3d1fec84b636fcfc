//! Attacks (public API only) on commit 90e176f: `Taking` (callers between a half-open slot's
//! compare-and-swap and their stamp hold `undecided_for` off) and the probe stamps read after
//! the swap. Interleavings are forced with `support::hook_clock`.
//!
//! Four tests are `#[ignore]`d as known, open defects (run them with `--ignored`): the
//! decider's side of the word ABA (a re-open decided on a word a release and a new take
//! restored; the code before 90e176f had it too), and a max wait turned on by a
//! reconfiguration counting from a probe older than the newest (probes stamp no time while no
//! max wait is set, since 7f54c7a). The others are coverage that held.

mod support;

use cb_runtime::{Outcome, Reason, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;
use support::hook_clock::{Arm, idle_half_open, park_in, release};
use support::{breaker, consecutive, run, secs};

/// Claim 1, via an ABA seen by the *decider*. One slot. A takes it at 11s (stamp 11s). At 17s
/// R calls try_acquire: every slot is taken, `undecided_for` loads `taking` (0), the stamp
/// (11s), then reads the clock (17s) and is preempted right after that read. A cancels (drops
/// its permit: in_flight 1 -> 0), C takes the slot (in_flight 0 -> 1: the exact word R holds)
/// and stamps 17s; C's guard is gone. R resumes: waited 6s > 5s, `transition(W1, Open)`
/// succeeds on the identical word. C has held its slot for 0s.
#[test]
#[ignore = "known defect, open: a decider preempted after its clock read re-opens by a compare-and-swap from a word a release and a new take restored (ABA); run with --ignored"]
fn decider_preempted_after_its_clock_read_cuts_a_refilled_slot_short() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().expect("A takes the slot at 11s");
    hook.manual.advance(secs(6)); // 17s: A is past the wait
    let b2 = Arc::clone(&b);
    let r = park_in(&hook, Arm::ReadThenPark, move || b2.try_acquire().is_ok());
    drop(a); // A cancelled
    let c = b.try_acquire().expect("C takes the freed slot at 17s");
    let r_admitted = release(&hook, r);
    let s = b.snapshot();
    let c_state = b.state();
    drop(c);
    assert!(!r_admitted);
    assert_eq!(
        (s.state, s.tripped_by, c_state),
        (State::HalfOpen, None, State::HalfOpen),
        "C took its slot at 17s and it is still 17s: it must not be cut short"
    );
}

/// Same, two slots, via `state()` (settle) as the decider: A (11s) and B (12s) hold; at 18s
/// R's `state()` reads taking=0 and the stamp 12s, reads the clock, is preempted; B cancels,
/// C takes the slot (same word) and stamps 18s; R resumes and re-opens.
#[test]
#[ignore = "known defect, open: a decider preempted after its clock read re-opens by a compare-and-swap from a word a release and a new take restored (ABA); run with --ignored"]
fn state_read_preempted_after_its_clock_read_cuts_a_refilled_slot_short() {
    let (b, hook) = idle_half_open(2);
    let a = b.try_acquire().unwrap();
    hook.manual.advance(secs(1));
    let bb = b.try_acquire().unwrap();
    hook.manual.advance(secs(6)); // 18s
    let b2 = Arc::clone(&b);
    let r = park_in(&hook, Arm::ReadThenPark, move || b2.state());
    drop(bb);
    let c = b.try_acquire().expect("C takes the freed slot at 18s");
    let r_state = release(&hook, r);
    let s = b.snapshot();
    drop(c);
    drop(a);
    assert_eq!(
        (r_state, s.state, s.tripped_by),
        (State::HalfOpen, State::HalfOpen, None),
        "C took its slot at 18s, it is 18s"
    );
}

/// Claim 4: half_open_max_wait turned on (None -> 5s) while probes hold slots. With no max
/// wait, probes stamp nothing (7f54c7a), so the period's time is the transition's (11s). B
/// takes the second slot at 100s; the wait is turned on at 100s; at 101s the breaker re-opens
/// with `waited: 90s` although B has held its slot 1s.
#[test]
#[ignore = "known defect, open: a probe admitted while no max wait is set stamps no time, so a max wait turned on later counts from an older probe; run with --ignored"]
fn max_wait_turned_on_mid_period_cuts_the_newest_probe_short() {
    let (b, clock) = breaker(
        consecutive(1)
            .open_timeout(secs(10))
            .half_open_max_calls(2)
            .no_half_open_max_wait(),
    );
    assert!(run(&b, Outcome::Failure));
    clock.advance(secs(11));
    let a = b.try_acquire().unwrap();
    clock.advance(secs(89));
    let bb = b.try_acquire().unwrap();
    let mut c = b.config();
    c.half_open_max_wait = Some(secs(5));
    b.reconfigure(c);
    clock.advance(secs(1));
    let s = b.snapshot();
    drop((a, bb));
    assert_eq!(
        (s.state, s.tripped_by),
        (State::HalfOpen, None),
        "B has held its slot 1s of a 5s max wait"
    );
}

/// Claim 4 (control): max wait shortened 60s -> 5s while the newest probe has run 10s: it
/// re-opens (the probe has run longer than the wait in force), reporting 10s.
#[test]
fn max_wait_shortened_mid_period_reopens_from_the_newest_probe() {
    let (b, clock) = breaker(
        consecutive(1)
            .open_timeout(secs(10))
            .half_open_max_calls(1)
            .half_open_max_wait(secs(60)),
    );
    assert!(run(&b, Outcome::Failure));
    clock.advance(secs(11));
    let a = b.try_acquire().unwrap();
    clock.advance(secs(10));
    assert_eq!(b.state(), State::HalfOpen);
    let mut c = b.config();
    c.half_open_max_wait = Some(secs(5));
    b.reconfigure(c);
    let s = b.snapshot();
    drop(a);
    assert_eq!(
        (s.state, s.tripped_by),
        (State::Open, Some(Reason::ProbesUndecided { waited: secs(10) }))
    );
}

/// Claim 4: max wait turned off while a caller is parked between its swap and its stamp
/// (guard taken with the wait on), then on again: the count drops back, and the wait decides.
#[test]
fn max_wait_toggled_while_a_probe_is_between_swap_and_stamp() {
    let (b, hook) = idle_half_open(1);
    let b2 = Arc::clone(&b);
    let p = park_in(&hook, Arm::ParkThenRead, move || {
        b2.try_acquire().map(|p| p.record(Outcome::Ignored)).is_ok()
    });
    // p holds the slot (swap done), has not stamped.
    let mut c = b.config();
    c.half_open_max_wait = None;
    b.reconfigure(c.clone());
    hook.manual.advance(secs(30));
    assert_eq!(b.state(), State::HalfOpen);
    c.half_open_max_wait = Some(secs(5));
    b.reconfigure(c);
    assert_eq!(b.state(), State::HalfOpen, "p has not stamped: no decision");
    let _ = release(&hook, p);
    // p recorded Ignored and freed its slot; take it again and wait it out.
    let q = b.try_acquire().expect("slot free");
    hook.manual.advance(secs(5) + Duration::from_nanos(1));
    let s = b.snapshot();
    drop(q);
    assert_eq!(s.state, State::Open, "no wedge after toggling: {:?}", s.tripped_by);
}

/// Claims 2 and 3: many threads hammer try_acquire / drop / record on a HalfOpen breaker
/// (1..4 slots) while another thread advances the clock. Checks: in_flight never exceeds the
/// slots; afterwards (every caller returned) a breaker whose slots are all held past the wait
/// re-opens on the next state() (no wedge: `taking` is back to 0). Probes cut short are
/// counted and printed: the decider-side ABA above does happen in this free race under load
/// (one in a full workspace run), so asserting none is the ignored test below.
#[test]
fn hammer_half_open_then_no_wedge() {
    hammer_half_open(false);
}

/// Claim 1 in the free race of [`hammer_half_open_then_no_wedge`]: no probe is cut short.
#[test]
#[ignore = "known defect, open: a decider preempted after its clock read re-opens by a compare-and-swap from a word a release and a new take restored (ABA); run with --ignored"]
fn hammer_half_open_never_cuts_a_probe_short() {
    hammer_half_open(true);
}

fn hammer_half_open(none_cut_short: bool) {
    for slots in 1..=4u32 {
        for round in 0..6 {
            let (b, clock) = breaker(
                consecutive(1)
                    .open_timeout(Duration::from_millis(2))
                    .backoff_multiplier(1.0)
                    .half_open_max_calls(slots)
                    .half_open_max_wait(Duration::from_millis(3))
                    .success_threshold(8191),
            );
            let b = Arc::new(b);
            assert!(run(&b, Outcome::Failure));
            clock.advance(Duration::from_millis(6));
            let stop = Arc::new(AtomicBool::new(false));
            let over = Arc::new(AtomicU64::new(0));
            let cut = Arc::new(AtomicU64::new(0));
            let admitted = Arc::new(AtomicU64::new(0));
            let ticker = {
                let (clock, stop) = (clock.clone(), Arc::clone(&stop));
                thread::spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        clock.advance(Duration::from_micros(200));
                        thread::yield_now();
                    }
                })
            };
            let workers: Vec<_> = (0..6)
                .map(|t| {
                    let (b, over, cut, admitted, clock) = (
                        Arc::clone(&b),
                        Arc::clone(&over),
                        Arc::clone(&cut),
                        Arc::clone(&admitted),
                        clock.clone(),
                    );
                    thread::spawn(move || {
                        let end = std::time::Instant::now() + Duration::from_millis(150);
                        let mut i = 0u64;
                        while std::time::Instant::now() < end {
                            i += 1;
                            let t0 = clock.elapsed();
                            let half_open = b.state() == State::HalfOpen;
                            if let Ok(p) = b.try_acquire() {
                                admitted.fetch_add(1, Ordering::Relaxed);
                                let s = b.snapshot();
                                if s.half_open_in_flight > slots {
                                    over.fetch_add(1, Ordering::Relaxed);
                                }
                                thread::yield_now();
                                let s = b.snapshot();
                                let t1 = clock.elapsed();
                                // Holding a HalfOpen slot taken after t0; if the breaker is
                                // now re-opened for undecided probes less than the max wait
                                // after t0 (so before this probe could have waited it out,
                                // and too soon for Open -> HalfOpen -> Open), it was cut short.
                                if half_open
                                    && s.state == State::Open
                                    && matches!(s.tripped_by, Some(Reason::ProbesUndecided { .. }))
                                    && t1 - t0 < Duration::from_millis(3)
                                {
                                    cut.fetch_add(1, Ordering::Relaxed);
                                }
                                match (i + t) % 500 {
                                    0 => p.record(Outcome::Failure),
                                    1 => p.record(Outcome::Success),
                                    _ => drop(p),
                                }
                            }
                        }
                    })
                })
                .collect();
            for w in workers {
                w.join().unwrap();
            }
            stop.store(true, Ordering::Relaxed);
            ticker.join().unwrap();
            eprintln!(
                "slots {slots} round {round}: admitted {} over {} cut_short {}",
                admitted.load(Ordering::Relaxed),
                over.load(Ordering::Relaxed),
                cut.load(Ordering::Relaxed)
            );
            assert_eq!(over.load(Ordering::Relaxed), 0, "slots {slots} round {round}");
            if none_cut_short {
                assert_eq!(
                    cut.load(Ordering::Relaxed),
                    0,
                    "slots {slots} round {round}: probes cut short"
                );
            }
            // Get to HalfOpen with every slot held, then past the wait.
            // Re-opens back off: wait out whatever Open period the hammering left.
            let mut st = b.state();
            for _ in 0..200 {
                if st != State::Open {
                    break;
                }
                clock.advance(secs(60));
                st = b.state();
            }
            assert!(matches!(st, State::HalfOpen | State::Closed), "{st:?}");
            if st == State::Closed {
                continue;
            }
            let s = b.snapshot();
            assert_eq!(s.half_open_in_flight, 0, "slots {slots} round {round}: leaked slots");
            let held: Vec<_> = (0..slots).map(|_| b.try_acquire().expect("free slot")).collect();
            assert!(b.try_acquire().is_err());
            clock.advance(Duration::from_millis(3) + Duration::from_nanos(1));
            let s = b.snapshot();
            drop(held);
            assert!(
                matches!(
                    (s.state, s.tripped_by),
                    (State::Open, Some(Reason::ProbesUndecided { .. }))
                ),
                "slots {slots} round {round}: wedged? {:?} {:?}",
                s.state,
                s.tripped_by
            );
        }
    }
}
