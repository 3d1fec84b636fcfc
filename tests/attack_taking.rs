//! Attacks (public API only) on commit 90e176f: `Taking` (callers between a half-open slot's
//! compare-and-swap and their stamp hold the max-wait decision off) and the probe stamps read
//! after the swap. Interleavings are forced with `support::hook_clock`.
//!
//! The four defects this attack found (a decider's word restored by a release and a new take,
//! twice; a max wait turned on by a reconfiguration; the free race of the hammer) are fixed:
//! a decider looks again with slot takers held off until its swap (`Deciding`), and a
//! reconfiguration that turns the wait on stamps its time. Their tests now pass, beside the
//! tests of those fixes and of a defect found while making them (a probe reading its time
//! after a later probe stamped wrote nothing).

mod support;

use cb_runtime::{Outcome, Reason, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;
use support::hook_clock::{Arm, hold_parked, idle_half_open, park_in, park_in_after, release};
use support::{breaker, consecutive, half_open_at_11s, reopens_exactly_after, run, secs};

/// Was a DEFECT: the decider's side of the word's ABA. One slot. A takes it at 11s (stamp
/// 11s). At 17s R calls try_acquire: every slot is taken, R looks at the stamp (11s) and the
/// clock (17s) and is preempted right after that read. A cancels (in_flight 1 -> 0), C takes
/// the slot (in_flight 0 -> 1: the exact word R holds) and stamps 17s. R resumed and swapped
/// to Open on the identical word, C 0s in. Now R looks again, with slot takers held off, and
/// finds C's 17s.
#[test]
fn a_decider_preempted_after_its_first_look_cuts_no_refilled_slot_short() {
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

/// Was a DEFECT: same, two slots, via `state()` as the decider: A (11s) and B (12s) hold; at
/// 18s R's `state()` looks at the stamp 12s and the clock and is preempted; B cancels, C
/// takes the slot (same word) and stamps 18s; R resumed and re-opened.
#[test]
fn a_state_read_preempted_after_its_first_look_cuts_no_refilled_slot_short() {
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

/// The fix's other half: a decider preempted after its second clock read, just before it
/// holds its decision (the read comes first, so that no clock source runs while takers and
/// reconfigurations wait on a decision; its holding them off is `breaker::deciding`'s unit
/// test). One slot, A holds it from 11s; at 17s R decides through `try_acquire` and is
/// parked there. A cancels and C takes the slot at 17s. R resumes: it holds the decision and
/// finds C's time, not after its read: no re-open, R is rejected, and the wait counts from C.
#[test]
fn a_decider_preempted_after_its_second_clock_read_decides_from_the_newest_probe() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().expect("A takes the slot at 11s");
    hook.manual.advance(secs(6));
    let b2 = Arc::clone(&b);
    let r = park_in_after(&hook, 1, Arm::ReadThenPark, move || {
        b2.try_acquire().map(drop).map_err(|rejected| rejected.state)
    });
    drop(a);
    let c = b.try_acquire().expect("C takes the freed slot at 17s");
    assert_eq!(release(&hook, r), Err(State::HalfOpen), "every slot held, C 0s in");
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop(c);
}

/// Same through `state()`: R's second clock read is parked, A cancels, C takes the slot; R
/// resumes and reports HalfOpen, and the wait counts from C.
#[test]
fn a_state_read_preempted_after_its_second_clock_read_decides_from_the_newest_probe() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().unwrap();
    hook.manual.advance(secs(6));
    let b2 = Arc::clone(&b);
    let r = park_in_after(&hook, 1, Arm::ReadThenPark, move || b2.state());
    drop(a);
    let c = b.try_acquire().expect("C takes the freed slot at 17s");
    assert_eq!(release(&hook, r), State::HalfOpen);
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop(c);
}

/// Was a DEFECT (found while fixing the above): a probe preempted between its slot and its
/// time read, while a later probe took the other slot and stamped, wrote nothing when it
/// resumed (the word was no longer the one its slot made): A took its slot at 11s, B the
/// other at 12s (stamp 12s), A read 30s, and the next look re-opened (`waited: 18s`) with A
/// 0s in. Now only a later time replaces the period's, in any order: A's 30s stands.
#[test]
fn a_probe_reading_its_time_after_a_later_probe_stamped_is_not_cut_short() {
    let (b, hook) = idle_half_open(2);
    let a = hold_parked(&hook, &b, Arm::ParkThenRead);
    hook.manual.advance(secs(1));
    let bb = b.try_acquire().expect("B takes the other slot at 12s");
    hook.manual.advance(secs(18));
    a.resume(&hook);
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop(bb);
    assert!(a.drop_permit(), "A held a slot");
}

/// The newest probe's time stays exact to the nanosecond whatever the earlier probes' times
/// were within their milliseconds (the stamp keeps milliseconds, the fine word the rest, and
/// only a later time replaces them): a whole millisecond then 1 ns past one, two probes in one
/// millisecond, 999,999 ns then a whole millisecond.
#[test]
fn the_newest_probes_time_is_exact_whatever_came_before() {
    let ns = Duration::from_nanos;
    for (first, second) in [
        (ns(500_000_000), ns(500_000_001)),
        (ns(100), ns(100)),
        (ns(999_999), ns(1)),
        (ns(1), ns(999_999)),
    ] {
        let (b, clock) = half_open_at_11s(2, Some(secs(5)));
        clock.advance(first);
        let p1 = b.try_acquire().unwrap();
        clock.advance(second);
        let p2 = b.try_acquire().unwrap();
        reopens_exactly_after(&b, &clock, secs(5));
        drop((p1, p2));
    }
}

/// Was a DEFECT: half_open_max_wait turned on (None -> 5s) while probes hold slots. With no
/// max wait, probes stamp nothing (7f54c7a), so the period's time was the transition's
/// (11s): B takes the second slot at 100s, the wait is turned on at 100s, and at 101s the
/// breaker re-opened with `waited: 90s`, B 1s in. Now the reconfiguration stamps its time:
/// the wait counts from 100s.
#[test]
fn max_wait_turned_on_mid_period_counts_from_the_reconfiguration() {
    let (b, clock) = half_open_at_11s(2, None);
    let a = b.try_acquire().unwrap();
    clock.advance(secs(89));
    let bb = b.try_acquire().unwrap();
    let mut c = b.config();
    c.half_open_max_wait = Some(secs(5));
    b.reconfigure(c);
    // HalfOpen at 105s (B 5s in), Open 1 ns later.
    reopens_exactly_after(&b, &clock, secs(5));
    drop((a, bb));
}

/// Claim 4 (control): max wait shortened 60s -> 5s while the newest probe has run 10s: it
/// re-opens (the probe has run longer than the wait in force), reporting 10s.
#[test]
fn max_wait_shortened_mid_period_reopens_from_the_newest_probe() {
    let (b, clock) = half_open_at_11s(1, Some(secs(60)));
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
/// re-opens on the next state() (no wedge: `taking` is back to 0), and no probe was cut short
/// (before the decider's second look, the ABA above did happen in this free race: once in a
/// full workspace run).
#[test]
fn hammer_half_open_then_no_wedge_and_none_cut_short() {
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
            assert_eq!(
                cut.load(Ordering::Relaxed),
                0,
                "slots {slots} round {round}: probes cut short"
            );
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

/// Was a DEFECT: `state()` and `snapshot()` re-opened a period with a slot still free (one of
/// two probes held past the max wait), where `try_acquire` admits the next call into the free
/// slot; so whether a breaker re-opened depended on who looked. The rule is the README's:
/// only when every slot is held. Two slots, A holds one from 11s: at 30s `state()` stays
/// HalfOpen, the next call takes the free slot, and the wait counts from it.
#[test]
fn a_free_slot_keeps_the_period_whoever_looks() {
    let (b, hook) = idle_half_open(2);
    let a = b.try_acquire().unwrap();
    hook.manual.advance(secs(19));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.tripped_by, b.state()),
        (State::HalfOpen, None, State::HalfOpen),
        "a slot is free: the next call is a probe"
    );
    let c = b.try_acquire().expect("C takes the free slot at 30s");
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop((a, c));
}
