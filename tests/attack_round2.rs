//! Attacks (public API only) on 96b51da: a reconfiguration counts itself in `taking` (waiting
//! out a `Deciding` holder with `yield_now`) from before it stores the new rules until it has
//! stamped; the decider's second look reads the max wait and the slots again; `settle`
//! re-opens only with every slot held. Interleavings are forced with clocks that park, run a
//! hook or panic on a chosen read of a chosen thread; every wait is bounded, so a hang shows
//! as a failure.
//!
//! Tests marked "Was a DEFECT" failed on 96b51da (three: a decider held `Deciding` across its
//! clock source's `now_nanos`, which `reconfigure` waited on while holding the configuration
//! lock, so a clock read that waits on the reconfiguring thread deadlocked, in two shapes; a
//! reconfiguration whose stamp's clock read panicked left its max wait in force, uncounted
//! from it). Fixed: the second look reads the clock before it holds `Deciding` (which then
//! covers atomics only), and a reconfiguration that unwinds stores the old rules back. The
//! others are coverage.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Outcome, Reason, State};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};
use support::hook_clock::{Arm, hold_parked, idle_half_open};
use support::script_clock::{Gated, Hook, Step, on_script_clock, script, unscript};
use support::{consecutive, reopens_exactly_after, run, secs};

/// How long any step may take before the test calls it a hang.
const BOUND: Duration = Duration::from_secs(10);

/// Runs `f` on a thread and returns what it returns, failing the test if it takes longer
/// than `bound` (the thread is then left behind, the test fails instead of hanging).
fn within<T: Send + 'static>(bound: Duration, what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(bound) {
        Ok(out) => {
            handle.join().unwrap();
            out
        }
        Err(mpsc::RecvTimeoutError::Disconnected) => {
            // `f` panicked: show its panic.
            handle.join().unwrap();
            unreachable!()
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what} did not return within {bound:?}: a hang"),
    }
}

/// A breaker on a script clock (one trip at 0s, open 10s, jitter off) in an idle HalfOpen
/// period at 11s, with `max_calls` slots and max wait `wait`.
fn planned(max_calls: u32, wait: Option<Duration>) -> (Arc<CircuitBreaker>, ManualClock) {
    let mut config = consecutive(1)
        .open_timeout(secs(10))
        .half_open_max_calls(max_calls)
        .jitter(0.0)
        .build()
        .unwrap();
    config.half_open_max_wait = wait;
    let (b, manual) = on_script_clock("round2", config);
    assert!(run(&b, Outcome::Failure));
    manual.advance(secs(11));
    assert_eq!(b.state(), State::HalfOpen, "idle HalfOpen period at 11s");
    (b, manual)
}

/// `b`'s configuration with `change` applied.
fn changed(b: &CircuitBreaker, change: impl FnOnce(&mut BreakerConfig)) -> BreakerConfig {
    let mut c = b.config();
    change(&mut c);
    c
}

/// `(state, tripped_by)` of a snapshot (which applies the time rules).
fn decided(b: &CircuitBreaker) -> (State, Option<Reason>) {
    let s = b.snapshot();
    (s.state, s.tripped_by)
}

// --- 1. can reconfigure hang? ----------------------------------------------------------------

/// Was a DEFECT (new in 96b51da): `reconfigure` now waits, holding the breaker's configuration lock,
/// for a decider to drop `Deciding`, and the decider holds `Deciding` across a call into user
/// code: its second look's `ClockSource::now_nanos`. So any clock read that waits for
/// something the reconfiguring thread holds deadlocks both. Interleaving (1 slot, max wait
/// 5s): A holds the slot from 11s; at 17s D's `state()` passes its first look, takes
/// `Deciding` and enters its second clock read; the clock source needs a lock L (a
/// simulated-time harness's, say). Thread R holds L and calls `reconfigure` (max calls 1 -> 2:
/// before 96b51da this read no clock and waited for nothing): R counts itself in `taking` and
/// spins while `Deciding` is set; D's clock waits for L. Observed: neither moves (here the
/// clock gives up on L after 3s, which is what the test detects and which lets both finish).
/// Expected: `reconfigure` returns (it reads no clock, so it cannot depend on one), D decides.
/// Fixed as the attack proposed: the second look reads its clock just before
/// `Deciding::hold` (an earlier `now` only makes `waited` smaller: never cuts short), so D
/// parks holding nothing and the spin in `once_undecided` waits only on atomics.
#[test]
fn a_decider_whose_clock_waits_on_the_reconfiguring_threads_lock_deadlocks_both() {
    let (b, manual) = planned(1, Some(secs(5)));
    let a = b.try_acquire().expect("A takes the slot at 11s");
    manual.advance(secs(6));
    let lock = Arc::new(Mutex::new(()));
    let gave_up = Arc::new(AtomicBool::new(false));
    let then: Hook = {
        let (lock, gave_up) = (Arc::clone(&lock), Arc::clone(&gave_up));
        Box::new(move || {
            let end = Instant::now() + Duration::from_secs(3);
            while lock.try_lock().is_err() {
                if Instant::now() > end {
                    gave_up.store(true, Ordering::SeqCst);
                    return;
                }
                thread::yield_now();
            }
        })
    };
    let d = {
        let b = Arc::clone(&b);
        Gated::spawn(1, false, Some(then), move || b.state())
    };
    assert!(d.parked(), "D holds Deciding, in its second look's clock read");
    let (locked_tx, locked) = mpsc::channel();
    let (done_tx, done) = mpsc::channel();
    let r = {
        let (b, lock) = (Arc::clone(&b), Arc::clone(&lock));
        thread::spawn(move || {
            let _held = lock.lock().unwrap();
            let config = changed(&b, |c| c.half_open_max_calls = 2);
            locked_tx.send(()).unwrap();
            let started = Instant::now();
            b.reconfigure(config);
            done_tx.send(started.elapsed()).unwrap();
        })
    };
    locked.recv_timeout(BOUND).expect("R holds L");
    let _ = d.go.send(());
    let took = done
        .recv_timeout(BOUND)
        .expect("R returned (the clock gives up on L after 3s)");
    r.join().unwrap();
    let seen = d.finish();
    drop(a);
    assert!(
        !gave_up.load(Ordering::SeqCst),
        "deadlock: reconfigure (max calls only, no clock read) waited {took:?} for D's Deciding, \
         while D's clock read waited for the lock R holds (D saw {seen:?})"
    );
}

/// Was a DEFECT (same cause, the brief's shape): a clock source that reads the breaker's own
/// configuration (`config()`, or `{:?}` of the breaker, which calls it). D held `Deciding` in
/// its second look's clock read; R, inside `reconfigure`, held the configuration lock and
/// spun on `Deciding`; D's clock blocked on that lock. Now D's clock read comes before it holds
/// anything: R returns at once, and D's `config()` after it.
#[test]
fn a_decider_whose_clock_reads_the_config_does_not_hold_a_reconfiguration() {
    let (b, manual) = planned(1, Some(secs(5)));
    let a = b.try_acquire().expect("A takes the slot at 11s");
    manual.advance(secs(6));
    let gave_up = Arc::new(AtomicBool::new(false));
    let then: Hook = {
        let (b, gave_up) = (Arc::clone(&b), Arc::clone(&gave_up));
        Box::new(move || {
            // `config()` on a helper thread, so that the test can give up on it.
            let (tx, rx) = mpsc::channel();
            thread::spawn(move || {
                let _ = tx.send(b.config());
            });
            if rx.recv_timeout(Duration::from_secs(3)).is_err() {
                gave_up.store(true, Ordering::SeqCst);
            }
        })
    };
    let d = {
        let b = Arc::clone(&b);
        Gated::spawn(1, false, Some(then), move || b.state())
    };
    assert!(d.parked(), "D is in its second look's clock read");
    let config = changed(&b, |c| c.half_open_max_calls = 2);
    let b2 = Arc::clone(&b);
    within(BOUND, "a reconfiguration beside a decider's clock read", move || {
        b2.reconfigure(config)
    });
    let _ = d.go.send(());
    let seen = d.finish();
    drop(a);
    assert!(
        !gave_up.load(Ordering::SeqCst),
        "D's clock waited on the configuration lock (D saw {seen:?})"
    );
    assert_eq!(seen, State::HalfOpen, "a slot is free under the new rules");
}

/// Coverage: reconfigurations from four threads at once (two slots, max wait 60s) while a
/// decider is preempted after its second clock read (right before it would hold its
/// decision): every one returns at once, bounded (none waits on a clock source), and the
/// decider, resuming, decides under the new rules (a slot is free: no re-open, rejected as
/// HalfOpen). Afterwards no count is left held: with both slots taken, the period re-opens
/// exactly after the new wait.
#[test]
fn reconfigurations_from_many_threads_beside_a_preempted_decider_all_return() {
    let (b, manual) = planned(1, Some(secs(5)));
    let a = b.try_acquire().expect("A takes the slot at 11s");
    manual.advance(secs(6));
    let d = {
        let b = Arc::clone(&b);
        Gated::spawn(1, false, None, move || b.try_acquire().map(drop).map_err(|r| r.state))
    };
    assert!(d.parked(), "D is in its second clock read");
    let new = changed(&b, |c| {
        c.half_open_max_calls = 2;
        c.half_open_max_wait = Some(secs(60));
    });
    let (tx, rx) = mpsc::channel();
    let rs: Vec<_> = (0..4)
        .map(|i| {
            let (b, tx, new) = (Arc::clone(&b), tx.clone(), new.clone());
            thread::spawn(move || {
                b.reconfigure(new);
                tx.send(i).unwrap();
            })
        })
        .collect();
    for _ in 0..4 {
        rx.recv_timeout(BOUND)
            .expect("every reconfiguration returns while the decider is preempted");
    }
    for r in rs {
        r.join().unwrap();
    }
    let seen = d.finish();
    assert_eq!(seen, Err(State::HalfOpen), "decided under the new rules: no re-open");
    assert_eq!(decided(&b), (State::HalfOpen, None));
    let c = b.config();
    assert_eq!((c.half_open_max_calls, c.half_open_max_wait), (2, Some(secs(60))));
    let second = b.try_acquire().expect("probe 2 at 17s");
    assert!(b.try_acquire().is_err(), "2 slots");
    reopens_exactly_after(&b, &manual, secs(60));
    drop((a, second));
}

/// Coverage: a `tracing` subscriber's callback that reconfigures the breaker (turning the max
/// wait on) from inside the Open -> HalfOpen transition's event, while the transition's
/// caller is still counted in `taking` (it stamps its probe after announcing). The
/// reconfiguration returns (it waits only for `Deciding`, which nobody can take meanwhile),
/// the probe is admitted, and the wait counts from then: re-open exactly 5s later.
#[test]
fn a_tracing_callback_reconfiguring_inside_a_transition_returns() {
    use tracing_subscriber::layer::SubscriberExt;

    /// Reconfigures its breaker (max wait 5s) on the first event it sees.
    struct Reconfigurer {
        breaker: Mutex<Option<Arc<CircuitBreaker>>>,
        done: Arc<AtomicU64>,
    }
    impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Reconfigurer {
        fn on_event(&self, _event: &tracing::Event<'_>, _ctx: tracing_subscriber::layer::Context<'_, S>) {
            let Some(b) = self.breaker.lock().unwrap().take() else {
                return;
            };
            b.reconfigure(changed(&b, |c| c.half_open_max_wait = Some(secs(5))));
            self.done.fetch_add(1, Ordering::SeqCst);
        }
    }

    let manual = ManualClock::new();
    let b = Arc::new(
        CircuitBreaker::builder("traced")
            .config(
                consecutive(1)
                    .open_timeout(secs(10))
                    .half_open_max_calls(1)
                    .jitter(0.0)
                    .build()
                    .unwrap(),
            )
            .clock(manual.clone())
            .build(),
    );
    assert!(run(&b, Outcome::Failure));
    manual.advance(secs(11));
    let done = Arc::new(AtomicU64::new(0));
    let layer = Reconfigurer {
        breaker: Mutex::new(Some(Arc::clone(&b))),
        done: Arc::clone(&done),
    };
    let b2 = Arc::clone(&b);
    let probe = within(BOUND, "a transition whose tracing callback reconfigures", move || {
        let subscriber = tracing_subscriber::registry().with(layer);
        // The transition (Open -> HalfOpen) emits its event while this caller is counted.
        tracing::subscriber::with_default(subscriber, || b2.try_acquire_owned())
    })
    .expect("the transition's probe is admitted");
    assert_eq!(
        done.load(Ordering::SeqCst),
        1,
        "the callback reconfigured inside the transition"
    );
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)));
    reopens_exactly_after(&b, &manual, secs(5));
    drop(probe);
}

// --- 2. can the Taking count leak? -----------------------------------------------------------

/// Was a DEFECT (contrived: a panicking clock source, the robustness the fixes already claim for
/// `try_acquire` and the decider): `reconfigure` turning the max wait on (None -> 5s) in a
/// HalfOpen period stores the new rules, then reads the clock to stamp the period; if that
/// read panics, the new rules stay in force (`tunables`) with no stamp, while `config()`
/// still shows the old ones (the configuration is replaced at the end). Interleaving (1
/// slot, no max wait): HalfOpen from 11s (the transition stamps 11s); A takes the slot at
/// 100s (wait off: no stamp); `reconfigure(max wait 5s)` panics in its clock read. At 101s:
/// observed Open, `ProbesUndecided { waited: 90s }` (A 1s in, cut short), and `config()`
/// says the max wait is off. Expected: HalfOpen (either the wait is not in force, as
/// `config()` says, or it counts from the reconfiguration, as the README says). Fixed: a
/// guard in `reconfigure` stores the old rules back while unwinding.
#[test]
fn a_reconfiguration_panicking_in_its_stamp_leaves_the_wait_in_force_and_cuts_a_probe_short() {
    let (b, manual) = planned(1, None);
    manual.advance(secs(89));
    let a = b.try_acquire().expect("A takes the slot at 100s");
    let config = changed(&b, |c| c.half_open_max_wait = Some(secs(5)));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        script([Step::Panic]);
        b.reconfigure(config)
    }));
    unscript();
    assert!(panicked.is_err(), "the reconfiguration's clock read panicked");
    manual.advance(secs(1));
    let after = decided(&b);
    let shown = b.config().half_open_max_wait;
    drop(a);
    assert_eq!(
        after,
        (State::HalfOpen, None),
        "A has run 1s; config() shows max wait {shown:?}"
    );
}

/// Coverage: a reconfiguration whose clock read panics (turning the max wait on in an idle
/// HalfOpen period) leaves no count in `taking` and no decision held: a later reconfiguration
/// returns (bounded), the next probe is admitted, and with the wait on the period re-opens
/// exactly 5s after that probe.
#[test]
fn a_reconfiguration_panicking_in_its_stamp_leaves_nothing_held() {
    let (b, manual) = planned(1, None);
    let config = changed(&b, |c| c.half_open_max_wait = Some(secs(5)));
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        script([Step::Panic]);
        b.reconfigure(config.clone())
    }));
    unscript();
    assert!(panicked.is_err(), "the reconfiguration's clock read panicked");
    manual.advance(secs(1));
    let b2 = Arc::clone(&b);
    within(BOUND, "a reconfiguration after the panic", move || {
        b2.reconfigure(config)
    });
    let probe = b.try_acquire().expect("the probe at 12s");
    reopens_exactly_after(&b, &manual, secs(5));
    drop(probe);
}

/// Coverage (cancellation): a `CircuitBreaker::call` future polled once (its probe takes the
/// only slot and stamps 11s) and dropped mid-call gives the slot back and holds nothing: the
/// next caller takes the slot at 12s and the period re-opens exactly 5s after it.
#[test]
fn a_call_future_dropped_mid_poll_frees_its_slot_and_the_wait_still_decides() {
    let (b, manual) = planned(1, Some(secs(5)));
    {
        let mut fut = Box::pin(b.call(async || std::future::pending::<Result<(), ()>>().await));
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert_eq!(b.snapshot().half_open_in_flight, 1, "the call holds the slot");
        assert!(b.try_acquire().is_err(), "the only slot is held");
    }
    assert_eq!(
        b.snapshot().half_open_in_flight,
        0,
        "the dropped call gave its slot back"
    );
    manual.advance(secs(1));
    let owned = b.try_acquire_owned().expect("the next probe at 12s");
    reopens_exactly_after(&b, &manual, secs(5));
    drop(owned);
}

// --- 3. max calls changed under parked deciders and takers -----------------------------------

/// Coverage: `half_open_max_calls` raised (1 -> 2) while a decider (`state()`) is parked in
/// its first look (before `Deciding`). Its second look reads the slots again: one of two is
/// held, so no re-open; the next caller takes the free slot at 17s and the period re-opens
/// exactly 5s after it.
#[test]
fn max_calls_raised_under_a_decider_in_its_first_look_keeps_the_period() {
    let (b, manual) = planned(1, Some(secs(5)));
    let a = b.try_acquire().expect("A takes the slot at 11s");
    manual.advance(secs(6));
    let d = {
        let b = Arc::clone(&b);
        Gated::spawn(0, false, None, move || b.state())
    };
    assert!(d.parked(), "D parked in its first look's clock read");
    let b2 = Arc::clone(&b);
    within(BOUND, "a reconfiguration beside a first look", move || {
        b2.reconfigure(changed(&b2, |c| c.half_open_max_calls = 2))
    });
    assert_eq!(d.finish(), State::HalfOpen, "a slot is free under the new rules");
    let c = b.try_acquire().expect("C takes the new slot at 17s");
    reopens_exactly_after(&b, &manual, secs(5));
    drop((a, c));
}

/// Coverage: `half_open_max_calls` lowered (3 -> 1) while B is parked between taking a slot
/// and stamping its time. Two probes now hold slots against a limit of 1: nobody else is
/// admitted, and nobody decides while B has not stamped (A has run 19s); once B stamps (30s),
/// the period re-opens exactly 5s after B.
#[test]
fn max_calls_lowered_under_a_taker_before_its_stamp_admits_nobody_and_counts_from_it() {
    let (b, hook) = idle_half_open(3);
    let a = b.try_acquire().expect("A takes a slot at 11s");
    hook.manual.advance(secs(1));
    let held = hold_parked(&hook, &b, Arm::ParkThenRead);
    hook.manual.advance(secs(18));
    let b2 = Arc::clone(&b);
    within(BOUND, "a reconfiguration beside a taker", move || {
        b2.reconfigure(changed(&b2, |c| c.half_open_max_calls = 1))
    });
    assert!(
        matches!(b.try_acquire(), Err(r) if r.state == State::HalfOpen),
        "no slot beyond the lowered limit"
    );
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.tripped_by, s.half_open_in_flight),
        (State::HalfOpen, None, 2),
        "B has not stamped its time: nobody decides"
    );
    held.resume(&hook);
    reopens_exactly_after(&b, &hook.manual, secs(5));
    assert!(held.drop_permit(), "B was admitted");
    drop(a);
}

// --- 4. free-running stress ------------------------------------------------------------------

/// Coverage (stress): on a moving clock, two threads reconfigure without pause (max wait off,
/// 3ms or 5ms; and in the second round max calls 1..4), one only reads `state()` /
/// `snapshot()`, three take slots, hold them a few yields and give them back (a few record).
/// Checks: no over-admission (in flight never above the largest limit in force during the
/// round), no probe cut short (re-opened for `ProbesUndecided` less than 3ms, the shortest
/// wait, after the clock read before its `try_acquire`), every reconfiguration returns
/// (slowest well under a second), and afterwards no wedge: with the rules fixed, every slot
/// held past the wait re-opens.
#[test]
fn reconfiguring_while_deciders_and_takers_race_leaves_no_wedge() {
    within(Duration::from_secs(120), "the stress rounds", || {
        for (round, toggle_calls) in [(0, false), (1, true), (2, false), (3, true)] {
            stress_round(round, toggle_calls);
        }
    });
}

fn stress_round(round: u64, toggle_calls: bool) {
    let limit = if toggle_calls { 4 } else { 2 };
    let manual = ManualClock::new();
    let b = Arc::new(
        CircuitBreaker::builder("stress")
            .config(
                consecutive(1)
                    .open_timeout(Duration::from_millis(2))
                    .backoff_multiplier(1.0)
                    .half_open_max_calls(2)
                    .half_open_max_wait(Duration::from_millis(3))
                    .success_threshold(8191)
                    .jitter(0.0)
                    .build()
                    .unwrap(),
            )
            .clock(manual.clone())
            .build(),
    );
    assert!(run(&b, Outcome::Failure));
    manual.advance(Duration::from_millis(6));
    let stop = Arc::new(AtomicBool::new(false));
    let over = Arc::new(AtomicU64::new(0));
    let cut = Arc::new(AtomicU64::new(0));
    let admitted = Arc::new(AtomicU64::new(0));
    let reconfigs = Arc::new(AtomicU64::new(0));
    let slowest = Arc::new(AtomicU64::new(0));
    let mut background = Vec::new();
    {
        let (manual, stop) = (manual.clone(), Arc::clone(&stop));
        background.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                manual.advance(Duration::from_micros(200));
                thread::yield_now();
            }
        }));
    }
    for t in 0..2u64 {
        let (b, stop, reconfigs, slowest) = (
            Arc::clone(&b),
            Arc::clone(&stop),
            Arc::clone(&reconfigs),
            Arc::clone(&slowest),
        );
        background.push(thread::spawn(move || {
            let mut rng = support::Lcg(round * 7 + t + 1);
            while !stop.load(Ordering::Relaxed) {
                let config = changed(&b, |c| {
                    c.half_open_max_wait = match rng.next(3) {
                        0 => None,
                        1 => Some(Duration::from_millis(3)),
                        _ => Some(Duration::from_millis(5)),
                    };
                    if toggle_calls {
                        c.half_open_max_calls = 1 + rng.next(4) as u32;
                    }
                });
                let started = Instant::now();
                b.reconfigure(config);
                let took = started.elapsed().as_nanos() as u64;
                slowest.fetch_max(took, Ordering::Relaxed);
                reconfigs.fetch_add(1, Ordering::Relaxed);
                for _ in 0..rng.next(4) {
                    thread::yield_now();
                }
            }
        }));
    }
    {
        let (b, stop, over) = (Arc::clone(&b), Arc::clone(&stop), Arc::clone(&over));
        background.push(thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let _ = b.state();
                if b.snapshot().half_open_in_flight > limit {
                    over.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    let takers: Vec<_> = (0..3u64)
        .map(|t| {
            let (b, over, cut, admitted, manual) = (
                Arc::clone(&b),
                Arc::clone(&over),
                Arc::clone(&cut),
                Arc::clone(&admitted),
                manual.clone(),
            );
            thread::spawn(move || {
                let mut rng = support::Lcg(round * 11 + t + 100);
                let end = Instant::now() + Duration::from_millis(250);
                let mut i = 0u64;
                while Instant::now() < end {
                    i += 1;
                    let t0 = manual.elapsed();
                    let half_open = b.state() == State::HalfOpen;
                    if let Ok(p) = b.try_acquire() {
                        admitted.fetch_add(1, Ordering::Relaxed);
                        if b.snapshot().half_open_in_flight > limit {
                            over.fetch_add(1, Ordering::Relaxed);
                        }
                        for _ in 0..rng.next(6) {
                            thread::yield_now();
                        }
                        let s = b.snapshot();
                        let t1 = manual.elapsed();
                        if half_open
                            && p.state() == State::HalfOpen
                            && s.state == State::Open
                            && matches!(s.tripped_by, Some(Reason::ProbesUndecided { .. }))
                            && t1 - t0 < Duration::from_millis(3)
                        {
                            cut.fetch_add(1, Ordering::Relaxed);
                        }
                        match (i + t) % 400 {
                            0 => p.record(Outcome::Failure),
                            1 => p.record(Outcome::Success),
                            _ => drop(p),
                        }
                    }
                }
            })
        })
        .collect();
    for t in takers {
        t.join().unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    for t in background {
        t.join().unwrap();
    }
    let slowest = Duration::from_nanos(slowest.load(Ordering::Relaxed));
    eprintln!(
        "round {round} (max calls toggled: {toggle_calls}): admitted {} reconfigurations {} slowest {slowest:?} over {} cut {}",
        admitted.load(Ordering::Relaxed),
        reconfigs.load(Ordering::Relaxed),
        over.load(Ordering::Relaxed),
        cut.load(Ordering::Relaxed),
    );
    assert_eq!(over.load(Ordering::Relaxed), 0, "round {round}: over-admission");
    assert_eq!(cut.load(Ordering::Relaxed), 0, "round {round}: probes cut short");
    assert!(reconfigs.load(Ordering::Relaxed) > 0);
    assert!(
        slowest < Duration::from_secs(1),
        "round {round}: a reconfiguration took {slowest:?}"
    );
    // No wedge: fixed rules (2 slots, 3ms), a HalfOpen period with every slot held past it.
    b.reconfigure(changed(&b, |c| {
        c.half_open_max_calls = 2;
        c.half_open_max_wait = Some(Duration::from_millis(3));
    }));
    let mut st = b.state();
    for _ in 0..200 {
        match st {
            State::HalfOpen => break,
            State::Closed => {
                assert!(run(&b, Outcome::Failure));
            }
            _ => manual.advance(secs(60)),
        }
        st = b.state();
    }
    assert_eq!(st, State::HalfOpen, "round {round}");
    assert_eq!(b.snapshot().half_open_in_flight, 0, "round {round}: leaked slots");
    let held = [b.try_acquire().expect("slot 1"), b.try_acquire().expect("slot 2")];
    assert!(b.try_acquire().is_err(), "round {round}: 2 slots");
    reopens_exactly_after(&b, &manual, Duration::from_millis(3));
    drop(held);
}
