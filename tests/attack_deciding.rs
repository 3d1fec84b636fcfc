//! Attacks (public API only) on commit 4e5a78d: a caller deciding a half-open max-wait re-open
//! looks twice, the second time holding `Deciding` (the top bit of `taking`) so no slot is
//! taken until its swap; HalfOpen period times are replaced only by later ones
//! (`write_latest`, exact to the nanosecond when writes don't race); a reconfiguration that
//! turns the max wait on stamps its time. Interleavings are forced with `support::hook_clock`.
//!
//! Tests marked "Was a DEFECT" failed on that commit (the six defects this attack found); the
//! fixes: a reconfiguration holds decisions off from before it stores the new rules until it
//! has stamped (waiting out one under way), the second look reads the rules again, times are
//! read in 128 bits, and `state()` decides only with every slot held. The others are coverage.

mod support;

use cb_runtime::{CircuitBreaker, Outcome, Reason, State};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};
use support::hook_clock::{Arm, hooked, idle_half_open, park_in, park_in_after, release};
use support::panicky_clock::{disarm, panic_after, panicky};
use support::script_clock::{Gated, on_script_clock};
use support::{
    breaker, consecutive, half_open_at_11s, half_open_config, reopens_exactly_after, run, secs, trip_until_11s,
};

fn ns(n: u64) -> Duration {
    Duration::from_nanos(n)
}

fn set_max_wait(b: &CircuitBreaker, wait: Option<Duration>) {
    let mut c = b.config();
    c.half_open_max_wait = wait;
    b.reconfigure(c);
}

/// `(state, tripped_by)` of a snapshot (which applies the time rules).
fn decided(b: &CircuitBreaker) -> (State, Option<Reason>) {
    let s = b.snapshot();
    (s.state, s.tripped_by)
}

// --- the max wait changed under a decision ----------------------------------------------------

/// Was a DEFECT: a reconfiguration turning the max wait on (None -> 5s) is preempted between storing
/// the new tunables and reading the clock for its stamp. Interleaving (1 slot, no max wait):
/// HalfOpen from 11s (the transition stamps 11s); at 100s probe A takes the slot (the wait is
/// off: A stamps nothing); `reconfigure(max wait 5s)` stores the wait and parks before its
/// clock read; a caller R arrives at 100s: every slot is held, the wait is on, the period's
/// time is still 11s, nobody is `taking`, so R holds `Deciding`, looks again (11s, 100s) and
/// swaps to Open (`ProbesUndecided { waited: 89s }`), A 0s in. (R then waits for the
/// configuration lock the reconfiguration holds, to write the Open period's deadline; the
/// re-open is done: every other caller is rejected as Open.) Expected: HalfOpen (the wait
/// counts from the reconfiguration, README). Fixed: the reconfiguration counts itself in
/// `taking` (waiting out a `Deciding`) from before its store until it has stamped, so R
/// cannot hold `Deciding` and is rejected as HalfOpen.
#[test]
fn a_reconfiguration_preempted_before_its_stamp_lets_a_decider_cut_a_probe_short() {
    let (b, manual) = on_script_clock(
        "gated",
        consecutive(1)
            .open_timeout(secs(10))
            .half_open_max_calls(1)
            .no_half_open_max_wait()
            .jitter(0.0)
            .build()
            .unwrap(),
    );
    assert!(run(&b, Outcome::Failure));
    manual.advance(secs(11));
    assert_eq!(b.state(), State::HalfOpen);
    manual.advance(secs(89));
    let a = b.try_acquire().expect("A takes the slot at 100s");
    let b2 = Arc::clone(&b);
    let reconfig = Gated::spawn(0, false, None, move || set_max_wait(&b2, Some(secs(5))));
    assert!(reconfig.parked(), "the reconfiguration reads the clock to stamp");
    // R parks in its second look (holding `Deciding`), so that nobody else decides meanwhile.
    let b3 = Arc::clone(&b);
    let r = Gated::spawn(1, true, None, move || {
        b3.try_acquire().map(drop).map_err(|rejected| rejected.state)
    });
    let mut seen = State::HalfOpen;
    if r.parked() {
        r.go.send(()).unwrap();
        // Until R returns or has swapped (then a caller is rejected as Open, lock-free).
        let bound = Instant::now() + Duration::from_secs(10);
        while !r.handle.is_finished() && Instant::now() < bound {
            match b.try_acquire() {
                Err(rejected) if rejected.state == State::Open => {
                    seen = State::Open;
                    break;
                }
                Err(_) => thread::yield_now(),
                Ok(p) => panic!("admitted {p:?}"),
            }
        }
    }
    reconfig.finish();
    let r = r.finish();
    let after = decided(&b);
    drop(a);
    assert_eq!(
        (r, seen, after),
        (Err(State::HalfOpen), State::HalfOpen, (State::HalfOpen, None)),
        "A took its slot at 100s and it is 100s: it must not be cut short"
    );
}

/// Was a DEFECT: a decider read `half_open_max_wait` once, before its first look, and never again;
/// the second look (holding `Deciding`) re-reads the stamp and the clock but not the wait.
/// Interleaving (1 slot, max wait 5s): A takes the slot at 11s (stamp 11s). At 100s R calls
/// `try_acquire`: every slot held, R reads the wait (5s) and the stamp (11s) and is preempted
/// before its clock read. The wait is turned off (`reconfigure`, None); A cancels; B takes the
/// slot at 100s (the word is R's again, and with the wait off B stamps nothing). R resumes:
/// 100s - 11s > 5s, it holds `Deciding`, looks again (stamp still 11s) and re-opens with
/// `ProbesUndecided { waited: 89s }`: the max wait is off and B is 0s in. Expected: HalfOpen
/// (no max wait in force; B just started). Fixed: the second look reads the wait again.
#[test]
fn a_decider_with_the_wait_it_read_before_it_was_turned_off_cuts_a_new_probe_short() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().expect("A takes the slot at 11s");
    hook.manual.advance(secs(89));
    let b2 = Arc::clone(&b);
    let r = park_in(&hook, Arm::ParkThenRead, move || {
        b2.try_acquire().map(drop).map_err(|rejected| rejected.state)
    });
    set_max_wait(&b, None);
    drop(a);
    let bb = b.try_acquire().expect("B takes the freed slot at 100s");
    let r_result = release(&hook, r);
    let s = decided(&b);
    drop(bb);
    assert!(r_result.is_err(), "R finds every slot held");
    assert_eq!(
        s,
        (State::HalfOpen, None),
        "no max wait in force, B took its slot at 100s and it is 100s"
    );
}

/// Was a DEFECT (milder, same cause; fixed the same way): the max wait lengthened (5s -> 60s) while a decider is
/// preempted before its clock read. A holds the only slot from 11s; at 20s (A 9s in) R reads
/// the wait (5s) and the stamp and is preempted; `reconfigure` sets 60s and returns; R resumes
/// and re-opens with `waited: 9s`, although the wait in force when it swaps is 60s and A has
/// run 9s. Expected: HalfOpen until A has run 60s (`reopens_exactly_after` 51s more). The
/// second look re-reads the stamp and clock so as to decide on what holds at the swap; the
/// wait it decides with is from before it.
#[test]
fn a_decider_with_the_wait_it_read_before_it_was_lengthened_cuts_a_probe_short() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().expect("A takes the slot at 11s");
    hook.manual.advance(secs(9));
    let b2 = Arc::clone(&b);
    let r = park_in(&hook, Arm::ParkThenRead, move || b2.state());
    set_max_wait(&b, Some(secs(60)));
    let r_state = release(&hook, r);
    let s = decided(&b);
    drop(a);
    assert_eq!(
        (r_state, s),
        (State::HalfOpen, (State::HalfOpen, None)),
        "A has run 9s of the 60s max wait in force"
    );
}

/// Coverage: the wait toggled off and on again (both reconfigurations complete) while a
/// decider is preempted before its first clock read, with a release and a new take in between
/// restoring its word. A holds the slot from 11s; at 100s R (`state()`) reads the wait and the
/// stamp (11s) and parks; the wait goes off, A cancels, B takes the slot at 100s (no stamp),
/// the wait goes on (stamps 100s). R resumes: its first look (stale 11s) passes, its second
/// finds 100s: no re-open, and the wait counts from the reconfiguration.
#[test]
fn the_wait_toggled_off_and_on_under_a_parked_decider_counts_from_the_reconfiguration() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().expect("A takes the slot at 11s");
    hook.manual.advance(secs(89));
    let b2 = Arc::clone(&b);
    let r = park_in(&hook, Arm::ParkThenRead, move || b2.state());
    set_max_wait(&b, None);
    drop(a);
    let bb = b.try_acquire().expect("B takes the freed slot at 100s");
    set_max_wait(&b, Some(secs(5)));
    assert_eq!(release(&hook, r), State::HalfOpen);
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop(bb);
}

// --- a decider that panics, or is preempted in its second look -------------------------------

/// Coverage: a custom clock source panics on the decider's second clock read (right before
/// it would hold `Deciding`; it holds none while any clock source runs). Two slots, A (11s) and B (12s) hold them; at 18s R's
/// `try_acquire` panics there (caught), before its swap. `Deciding` is dropped while
/// unwinding: B cancels and C takes the freed slot (a held `Deciding` would reject C as
/// HalfOpen), and the max wait still decides (a held `Deciding` would hold every decision
/// off), exactly 5s after C.
#[test]
fn a_clock_panicking_in_the_second_look_leaves_no_decision_held() {
    let (b, manual) = panicky(half_open_config(2, Some(secs(5))));
    trip_until_11s(&b, &manual);
    let a = b.try_acquire().expect("A at 11s");
    manual.advance(secs(1));
    let bb = b.try_acquire().expect("B at 12s");
    manual.advance(secs(6));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        panic_after(1);
        b.try_acquire().is_ok()
    }));
    assert!(!disarm(), "the panic was on the second read");
    assert!(panicked.is_err(), "the second look's clock read panicked");
    drop(bb);
    let c = b.try_acquire().expect("C takes the freed slot: no decision is held");
    reopens_exactly_after(&b, &manual, secs(5));
    drop((a, c));
}

/// Coverage: what others see while a decider is preempted after its second clock read (just
/// before it would hold its decision). A holds the only slot from 11s; at 17s R
/// (`try_acquire`) is there. A bystander's `try_acquire` decides for itself and re-opens
/// (`ProbesUndecided { waited: 6s }`, rejected as Open with the re-open's wait, backed off to
/// 20s); R resumes, finds the period moved on, and is rejected the same way (not as HalfOpen).
#[test]
fn bystanders_of_a_preempted_decider_decide_and_it_reports_their_reopen() {
    let (b, hook) = idle_half_open(1);
    let a = b.try_acquire().expect("A at 11s");
    hook.manual.advance(secs(6));
    let b2 = Arc::clone(&b);
    let r = park_in_after(&hook, 1, Arm::ReadThenPark, move || {
        b2.try_acquire()
            .map(drop)
            .map_err(|rejected| (rejected.state, rejected.retry_after))
    });
    let bystander = b
        .try_acquire()
        .map(drop)
        .map_err(|rejected| (rejected.state, rejected.retry_after));
    assert_eq!(bystander, Err((State::Open, Some(secs(20)))));
    assert_eq!(
        decided(&b),
        (State::Open, Some(Reason::ProbesUndecided { waited: secs(6) }))
    );
    assert_eq!(release(&hook, r), bystander, "R reports the period in force");
    drop(a);
}

/// Coverage: a decider preempted after its second clock read while its period ends and the
/// next begins. Two slots, A holds one from 11s, B the other from 12s; at 18s R
/// (`try_acquire`) parks there. A fails: Open (20s wait); at 38s+1ns T's `try_acquire` makes
/// the Open -> HalfOpen transition and C takes the other slot. R resumes: the period it read
/// is over, the new one has every slot held, 0s in: R is rejected as HalfOpen, and the new
/// period re-opens exactly 5s after its probes.
#[test]
fn a_decider_preempted_across_a_period_change_cuts_the_next_periods_probes_short_nowhere() {
    let (b, hook) = idle_half_open(2);
    let a = b.try_acquire().expect("A at 11s");
    hook.manual.advance(secs(1));
    let bb = b.try_acquire().expect("B at 12s");
    hook.manual.advance(secs(6));
    let b2 = Arc::clone(&b);
    let r = park_in_after(&hook, 1, Arm::ReadThenPark, move || {
        b2.try_acquire().map(drop).map_err(|rejected| rejected.state)
    });
    a.record(Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    hook.manual.advance(secs(20) + ns(1));
    let t = b.try_acquire().expect("T's transition to HalfOpen admits it");
    let c = b.try_acquire().expect("C takes the other slot");
    assert_eq!(release(&hook, r), Err(State::HalfOpen));
    assert_eq!(decided(&b), (State::HalfOpen, None));
    reopens_exactly_after(&b, &hook.manual, secs(5));
    drop((bb, t, c));
}

// --- exactness of the period's time ---------------------------------------------------------

/// Coverage of the documented limit (reported as a DEFECT against "exact when writes don't
/// race"; the README now states the limit): the fine word keeps only the low 20 bits of its
/// millisecond, and `write_latest` compares two fine words with the same bits by their
/// nanoseconds within the millisecond only (it cannot tell a word 2^20 ms older from a racing
/// writer's of the same millisecond, and replacing the latter could read early). So a later
/// probe 2^20 ms (about 17.5 min) after another whose time lies earlier in its millisecond
/// keeps the earlier probe's nanoseconds: two slots, max wait 30 min, A at 11.0005s, B at
/// 11.0005s + 2^20 ms - 100 µs (400,000 ns into its millisecond against A's 500,000). B's
/// time reads 100 µs late: the re-open comes 100 µs late, never early.
#[test]
fn sequential_probes_two_to_the_twenty_millis_apart_reopen_late_by_under_a_millisecond() {
    let wait = secs(30 * 60);
    let (b, clock) = half_open_at_11s(2, Some(wait));
    clock.advance(ns(500_000));
    let a = b.try_acquire().expect("A at 11.0005s");
    clock.advance(Duration::from_millis(1 << 20) - ns(100_000));
    let bb = b.try_acquire().expect("B, 2^20 ms - 100 us later");
    clock.advance(wait + ns(1));
    assert_eq!(decided(&b), (State::HalfOpen, None), "never early");
    clock.advance(ns(100_000) - ns(1));
    assert_eq!(decided(&b), (State::HalfOpen, None), "A's nanoseconds: 100 us late");
    clock.advance(ns(1));
    assert_eq!(
        decided(&b),
        (State::Open, Some(Reason::ProbesUndecided { waited: wait + ns(1) })),
        "the wait it reports counts from the time it read"
    );
    drop((a, bb));
}

/// Coverage: sequential probes at sub-millisecond times on a clock far from its origin (a
/// wall-clock-like 1.7e18 ns, and 200 years): the re-open comes exactly 1 ns past the max wait
/// from the newest probe, which lies earlier in its millisecond than the one before it.
#[test]
fn sub_millisecond_probes_far_from_the_origin_reopen_exactly() {
    for origin in [
        1_700_000_000_123_456_789u64,
        200 * 365 * 86_400 * 1_000_000_000 + 999_999,
    ] {
        let (b, hook) = hooked(
            consecutive(1)
                .open_timeout(secs(10))
                .half_open_max_calls(3)
                .half_open_max_wait(Duration::from_micros(1500)),
            origin,
        );
        assert!(run(&b, Outcome::Failure));
        hook.manual.advance(secs(10) + ns(1));
        let p1 = b.try_acquire().expect("the transition probe");
        hook.manual.advance(ns(777_777));
        let p2 = b.try_acquire().expect("p2");
        hook.manual.advance(ns(333_334));
        let p3 = b.try_acquire().expect("p3, early in the next millisecond");
        reopens_exactly_after(&b, &hook.manual, Duration::from_micros(1500));
        drop((p1, p2, p3));
    }
}

/// Was a DEFECT (contrived: a clock at about 584 years from its origin): within the last 0.55 ms of
/// the u64 nanosecond range, the stamp's millisecond rounded up no longer fits (`stamp_nanos`
/// saturates to u64::MAX), and the reader puts the period's time at u64::MAX - 1 ms: early.
/// Max wait 1 us, the probe takes its slot at u64::MAX - 400 µs; the period reads as started
/// 600 µs before it, so the next `snapshot()`, 0 ns later, re-opens with
/// `waited: 600 µs`. Expected: HalfOpen until the probe has run 1 µs. (An Open deadline there
/// reads early the same way.) Fixed: the reader computes the time in 128 bits.
#[test]
fn a_probe_near_the_end_of_the_clock_range_is_not_cut_short() {
    let origin = u64::MAX - 10_000_000_000 - 600_000;
    let (b, hook) = hooked(
        consecutive(1)
            .open_timeout(secs(10))
            .half_open_max_calls(1)
            .half_open_max_wait(Duration::from_micros(1)),
        origin,
    );
    assert!(run(&b, Outcome::Failure));
    hook.manual.advance(secs(10) + ns(200_000));
    let p = b.try_acquire().expect("the probe at u64::MAX - 400 us");
    let s = decided(&b);
    drop(p);
    assert_eq!(s, (State::HalfOpen, None), "the probe is 0 ns in");
}

// --- free running ----------------------------------------------------------------------------

/// Coverage: three threads take slots (1..4 slots), hold them for 1..24 yields and give
/// them back (a few record failures) on a moving clock, while another only reads `state()` and
/// `snapshot()` (a decider that takes no slot), with the max wait on throughout (thousands of
/// `ProbesUndecided` re-opens per round). Checks: no over-admission; afterwards no decision or `taking` count is left
/// held (every slot free, then all taken, re-opens exactly 1 ns past the max wait from the
/// newest probe, and a slot given back is taken again at once).
#[test]
fn readers_and_takers_hammering_leave_nothing_held() {
    for slots in 1..=4u32 {
        let wait = Duration::from_micros(300);
        let (b, clock) = breaker(
            consecutive(1)
                .open_timeout(Duration::from_micros(200))
                .backoff_multiplier(1.0)
                .half_open_max_calls(slots)
                .half_open_max_wait(wait)
                .success_threshold(8191),
        );
        let b = Arc::new(b);
        assert!(run(&b, Outcome::Failure));
        let end = Instant::now() + Duration::from_millis(150);
        let over = Arc::new(AtomicU64::new(0));
        let decisions = Arc::new(AtomicU64::new(0));
        let mut threads = Vec::new();
        for t in 0..5u64 {
            let (b, over, decisions, clock) =
                (Arc::clone(&b), Arc::clone(&over), Arc::clone(&decisions), clock.clone());
            threads.push(thread::spawn(move || {
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    match t {
                        0 => {
                            clock.advance(Duration::from_micros(37));
                            thread::yield_now();
                        }
                        1 => {
                            let s = b.snapshot();
                            if matches!(s.tripped_by, Some(Reason::ProbesUndecided { .. })) {
                                decisions.fetch_add(1, Ordering::Relaxed);
                            }
                            let _ = b.state();
                        }
                        _ => {
                            if let Ok(p) = b.try_acquire() {
                                if b.snapshot().half_open_in_flight > slots {
                                    over.fetch_add(1, Ordering::Relaxed);
                                }
                                for _ in 0..1 + i % 24 {
                                    thread::yield_now();
                                }
                                if (i + t).is_multiple_of(997) {
                                    p.record(Outcome::Failure);
                                } else {
                                    drop(p);
                                }
                            }
                        }
                    }
                }
            }));
        }
        for t in threads {
            t.join().unwrap();
        }
        eprintln!("slots {slots}: decisions seen {}", decisions.load(Ordering::Relaxed));
        assert_eq!(over.load(Ordering::Relaxed), 0, "slots {slots}: over-admitted");
        let mut st = b.state();
        for _ in 0..100 {
            if st != State::Open {
                break;
            }
            clock.advance(secs(1));
            st = b.state();
        }
        assert_eq!(st, State::HalfOpen, "slots {slots}");
        assert_eq!(b.snapshot().half_open_in_flight, 0, "slots {slots}: leaked slots");
        let mut held: Vec<_> = (0..slots).map(|_| b.try_acquire().expect("free slot")).collect();
        assert!(b.try_acquire().is_err(), "slots {slots}: every slot held");
        held.pop();
        held.push(b.try_acquire().expect("a slot given back is taken again"));
        reopens_exactly_after(&b, &clock, wait);
        drop(held);
    }
}
