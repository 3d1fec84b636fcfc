//! Attacks (public API only) on 73a69fd: `reconfigure` puts its rules in force under the
//! configuration lock, drops the lock, and only then (the max wait turned on while HalfOpen)
//! reads the clock to stamp the period; a clock source panicking there puts the old rules back
//! unless another reconfiguration replaced them meanwhile (`Arc::ptr_eq`). Here: two
//! reconfigurations racing around that unlocked stamp (on two threads, and one nested in the
//! other's clock read), a panicking stamp that changed several keys at once, and the breaker
//! read (`config()`, `snapshot()`, `Debug`) from inside the stamp's clock read. Interleavings
//! are forced with a scripted clock; every wait is bounded.
//!
//! Two tests were DEFECTs on 73a69fd (a turn-on whose stamp's clock panicked after another
//! reconfiguration had replaced its rules, on another thread or nested in that read, left
//! the wait on with no stamp: a probe was cut short). Fixed: a turn-on reads a fallback time
//! before it takes the lock, and stamps it if it unwinds without restoring. The others are
//! coverage.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Outcome, OwnedPermit, Reason, State};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::Duration;
use support::script_clock::{Step, on_script_clock, script, unscript};
use support::{half_open_config, reopens_exactly_after, run, secs};

/// A breaker (jitter off) on a scripted clock from 0.
fn scripted(config: cb_runtime::BreakerConfigBuilder) -> (Arc<CircuitBreaker>, ManualClock) {
    on_script_clock("round4", config.jitter(0.0).build().expect("valid"))
}

/// A thread parked on its first clock read (or returned first), and its handle.
struct Parked<T> {
    handle: thread::JoinHandle<thread::Result<T>>,
    go: mpsc::Sender<()>,
}

/// Runs `f` (a reconfiguration turning the wait on) on a thread whose stamp's clock read (the
/// second: the first reads a fallback time) parks (then reads, reads first, or panics, as
/// `how` says); returns once it is parked there (panics if it never gets there within 10s).
fn park_stamp_read<T: Send + 'static>(how: How, f: impl FnOnce() -> T + Send + 'static) -> Parked<T> {
    let (arrived_tx, arrived) = mpsc::channel();
    let (go, go_rx) = mpsc::channel();
    let step = match how {
        How::ParkThenRead => Step::Park {
            read_first: false,
            then: None,
            arrived: arrived_tx,
            go: go_rx,
        },
        How::ReadThenPark => Step::Park {
            read_first: true,
            then: None,
            arrived: arrived_tx,
            go: go_rx,
        },
        How::ParkThenPanic => Step::ParkThenPanic {
            arrived: arrived_tx,
            go: go_rx,
        },
    };
    let handle = thread::spawn(move || {
        script([Step::Read, step]);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        unscript();
        out
    });
    arrived
        .recv_timeout(Duration::from_secs(10))
        .expect("the thread reached its clock read");
    Parked { handle, go }
}

#[derive(Clone, Copy)]
enum How {
    ParkThenRead,
    ReadThenPark,
    ParkThenPanic,
}

impl<T> Parked<T> {
    /// Lets it go on; whether it returned (`false`: it panicked). Bounded.
    fn finish(self) -> bool {
        self.go.send(()).unwrap();
        for _ in 0..1000 {
            if self.handle.is_finished() {
                return self.handle.join().expect("caught inside").is_ok();
            }
            thread::sleep(Duration::from_millis(10));
        }
        panic!("the released thread did not finish within 10s");
    }
}

/// Runs `f` on a thread with `steps` as its clock script; its result, or `None` if it panicked
/// or took longer than 10s (a hang).
fn bounded<T: Send + 'static>(steps: Vec<Step>, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        script(steps);
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out.ok());
    });
    rx.recv_timeout(Duration::from_secs(10)).ok().flatten()
}

/// `(state, tripped_by)` of a snapshot (which applies the time rules).
fn decided(b: &CircuitBreaker) -> (State, Option<Reason>) {
    let s = b.snapshot();
    (s.state, s.tripped_by)
}

fn with_wait(b: &CircuitBreaker, wait: Option<Duration>) -> BreakerConfig {
    let mut c = b.config();
    c.half_open_max_wait = wait;
    c
}

/// 1 slot, success threshold 1, no max wait; tripped at 0s, probe A holding the slot from
/// 11s (it stamps nothing: the wait is off), the clock at 100s.
fn probe_held_at_100s() -> (Arc<CircuitBreaker>, ManualClock, OwnedPermit) {
    let (b, clock) = scripted(half_open_config(1, None).success_threshold(1));
    assert!(run(&b, Outcome::Failure));
    clock.advance(secs(11));
    let a = b.try_acquire_owned().expect("probe A at 11s");
    clock.advance(secs(89));
    (b, clock, a)
}

// --- two reconfigurations around the unlocked stamp ---------------------------------------------

/// Was a DEFECT: a reconfiguration R1 turns the max wait on (None -> 5s) while a probe holds the only
/// slot, and its clock source stalls in the stamp read, then panics; meanwhile another
/// reconfiguration R2 changes an unrelated key (open timeout 10s -> 20s) over R1's rules (a
/// config that has the 5s wait, as `config()` or a reloaded file gives it). Steps: probe A
/// holds the slot from 11s (the wait off: A stamps nothing, the period's time stays 11s); at
/// 100s R1 stores its rules, drops the lock and parks in its clock read; R2 runs (for it the
/// wait is not turned on: it stamps nothing); R1's clock panics: `RestoreOnUnwind` sees that
/// R2 replaced R1's rules and restores nothing. Observed: `config()` says 5s, nobody ever
/// stamped the reconfiguration's time, and the next look at 100s re-opens
/// (`ProbesUndecided { waited: 89s }`): A is cut short, 0s into a wait turned on at 100s.
/// Expected (README: a max wait turned on by a reconfiguration counts from that
/// reconfiguration; none is cut short): HalfOpen at 100s, the wait counting from 100s (or
/// the wait off, had the old rules come back). Fixed: R1 read a time before its rules went in
/// force (outside the lock, under the `taking` count) and, unwinding without a restore,
/// stamps it.
#[test]
fn a_turn_on_panicking_after_another_reconfiguration_leaves_the_wait_unstamped() {
    let (b, _clock, a) = probe_held_at_100s();
    let on = with_wait(&b, Some(secs(5)));
    let r1 = {
        let b = Arc::clone(&b);
        park_stamp_read(How::ParkThenPanic, move || b.reconfigure(on))
    };
    let mut r2 = b.config();
    assert_eq!(r2.half_open_max_wait, Some(secs(5)), "R1's rules are in force");
    r2.open_timeout = secs(20);
    let changes = bounded(Vec::new(), {
        let b = Arc::clone(&b);
        move || b.reconfigure(r2)
    })
    .expect("R2 returns");
    assert_eq!(changes.len(), 1, "R2 changed the open timeout only: {changes:?}");
    assert!(!r1.finish(), "R1's clock panicked");
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)), "R2's rules stay");
    assert_eq!(
        decided(&b),
        (State::HalfOpen, None),
        "probe A, 0s into a wait turned on at 100s, is not cut short"
    );
    drop(a);
}

/// The same, R2 nested in R1's stamp read (a clock source that reloads the configuration on
/// the reconfiguring thread), then that read panics. Was a DEFECT, as above: the wait stayed on
/// (R2's rules), unstamped, and the probe from 11s was re-opened at 100s.
#[test]
fn a_reconfiguration_nested_in_a_panicking_stamp_leaves_the_wait_unstamped() {
    let (b, _clock, a) = probe_held_at_100s();
    let on = with_wait(&b, Some(secs(5)));
    let nested = {
        let b = Arc::clone(&b);
        Step::Run(Box::new(move || {
            let mut r2 = b.config();
            r2.open_timeout = secs(20);
            b.reconfigure(r2);
            panic!("clock source failed after reloading");
        }))
    };
    let done = bounded(vec![Step::Read, nested], {
        let b = Arc::clone(&b);
        move || b.reconfigure(on)
    });
    assert!(done.is_none(), "R1 panicked in its stamp read");
    assert_eq!(b.config().open_timeout, secs(20), "R2's rules stay");
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)));
    assert_eq!(decided(&b), (State::HalfOpen, None), "probe A is not cut short at 100s");
    drop(a);
}

/// Coverage: R1 turns the wait on and stalls in its stamp read; R2 turns it off; R1 then
/// stamps (or panics, and restores nothing: R2 replaced its rules). Either way the wait is off
/// as `config()` says: the probe from 11s is held 1000s later.
#[test]
fn a_turn_on_stalled_under_a_turn_off_leaves_the_wait_off() {
    for panics in [false, true] {
        let (b, clock, a) = probe_held_at_100s();
        let on = with_wait(&b, Some(secs(5)));
        let how = if panics { How::ParkThenPanic } else { How::ParkThenRead };
        let r1 = {
            let b = Arc::clone(&b);
            park_stamp_read(how, move || b.reconfigure(on))
        };
        let changes = b.reconfigure(with_wait(&b, None));
        assert_eq!(changes.len(), 1, "R2 turned the wait off: {changes:?}");
        assert_eq!(r1.finish(), !panics);
        assert_eq!(b.config().half_open_max_wait, None, "panics: {panics}");
        clock.advance(secs(1000));
        assert_eq!(decided(&b), (State::HalfOpen, None), "panics: {panics}");
        drop(a);
    }
}

/// Coverage: R1 turns the wait on and reads 100s, then stalls before writing; R2 turns it off;
/// at 200s R3 turns it on again and stamps 200s; R1's late 100s does not replace it: the wait
/// counts from R3 (held at 205s, re-opened 1 ns later).
#[test]
fn a_stale_stamp_of_an_earlier_turn_on_does_not_shorten_a_later_one() {
    let (b, clock, a) = probe_held_at_100s();
    let on = with_wait(&b, Some(secs(5)));
    let r1 = {
        let b = Arc::clone(&b);
        park_stamp_read(How::ReadThenPark, move || b.reconfigure(on))
    };
    b.reconfigure(with_wait(&b, None));
    clock.advance(secs(100));
    b.reconfigure(with_wait(&b, Some(secs(5))));
    assert!(r1.finish());
    reopens_exactly_after(&b, &clock, secs(5));
    drop(a);
}

/// Coverage: R1 turns the wait on and stalls in its stamp read (after dropping the lock); R2
/// changes the wait (5s -> 1s) meanwhile, then R1 stamps 100s: the 1s wait counts from 100s.
#[test]
fn a_wait_changed_under_a_stalled_turn_on_counts_from_the_turn_on() {
    let (b, clock, a) = probe_held_at_100s();
    let on = with_wait(&b, Some(secs(5)));
    let r1 = {
        let b = Arc::clone(&b);
        park_stamp_read(How::ParkThenRead, move || b.reconfigure(on))
    };
    b.reconfigure(with_wait(&b, Some(secs(1))));
    assert_eq!(
        decided(&b),
        (State::HalfOpen, None),
        "held off while R1 has not stamped"
    );
    assert!(r1.finish());
    assert_eq!(b.config().half_open_max_wait, Some(secs(1)));
    reopens_exactly_after(&b, &clock, secs(1));
    drop(a);
}

// --- a panicking stamp that changed several keys ------------------------------------------------

/// Coverage: a reconfiguration turning the wait on together with `half_open_max_calls` (1 ->
/// 2), `consecutive_failures` (1 -> 3) and `success_threshold` (1 -> 2) panics in its stamp
/// read: every old rule is back, as `config()` says: a second probe is rejected, the wait is
/// off (held 1000s later), one success closes, and one failure trips.
#[test]
fn a_panicking_stamp_puts_every_old_rule_back() {
    let (b, clock, a) = probe_held_at_100s();
    let before = b.config();
    let mut new = with_wait(&b, Some(secs(5)));
    new.half_open_max_calls = 2;
    new.consecutive_failures = Some(3);
    new.success_threshold = 2;
    let r1 = {
        let b = Arc::clone(&b);
        park_stamp_read(How::ParkThenPanic, move || b.reconfigure(new))
    };
    assert_eq!(
        b.config().half_open_max_calls,
        2,
        "the new rules are in force during the stamp"
    );
    assert!(!r1.finish());
    assert_eq!(b.config(), before, "the old rules are back");
    assert!(b.try_acquire().is_err(), "one slot again");
    clock.advance(secs(1000));
    assert_eq!(decided(&b), (State::HalfOpen, None), "no max wait");
    a.record(Outcome::Success);
    assert_eq!(b.state(), State::Closed, "one success closes");
    assert!(run(&b, Outcome::Failure));
    assert_eq!(b.state(), State::Open, "one failure trips");
}

// --- the breaker read from inside the stamp -----------------------------------------------------

/// Coverage: the stamp's clock read asks the breaker for `config()`, `Debug` and `snapshot()`
/// on the reconfiguring thread: nothing hangs; it sees the new rules, and its snapshot
/// decides no re-open (the probe from 11s has waited 89s, but the wait counts from now).
#[test]
fn the_breaker_read_from_inside_the_stamp_sees_the_new_rules_and_decides_nothing() {
    let (b, clock, a) = probe_held_at_100s();
    let on = with_wait(&b, Some(secs(5)));
    let (tx, rx) = mpsc::channel();
    let inside = {
        let b = Arc::clone(&b);
        let clock = clock.clone();
        Step::Run(Box::new(move || {
            let seen = (b.config().half_open_max_wait, format!("{b:?}"), decided(&b));
            tx.send(seen).unwrap();
            clock.elapsed().as_nanos() as u64
        }))
    };
    let changes = bounded(vec![Step::Read, inside], {
        let b = Arc::clone(&b);
        move || b.reconfigure(on)
    })
    .expect("the reconfiguration returns");
    assert_eq!(changes.len(), 1, "{changes:?}");
    let (wait, debug, look) = rx.recv_timeout(Duration::from_secs(1)).expect("the stamp read ran");
    assert_eq!(wait, Some(secs(5)));
    assert!(debug.contains("half_open_max_wait: Some(5s)"), "{debug}");
    assert_eq!(look, (State::HalfOpen, None));
    reopens_exactly_after(&b, &clock, secs(5));
    drop(a);
}

/// Coverage: a reconfiguration nested in the stamp read turns the wait off again; the outer
/// one then stamps and returns: the wait is off, as `config()` says.
#[test]
fn a_turn_off_nested_in_the_stamp_keeps_the_wait_off() {
    let (b, clock, a) = probe_held_at_100s();
    let on = with_wait(&b, Some(secs(5)));
    let nested = {
        let b = Arc::clone(&b);
        let clock = clock.clone();
        Step::Run(Box::new(move || {
            b.reconfigure(with_wait(&b, None));
            clock.elapsed().as_nanos() as u64
        }))
    };
    bounded(vec![Step::Read, nested], {
        let b = Arc::clone(&b);
        move || b.reconfigure(on)
    })
    .expect("returns");
    assert_eq!(b.config().half_open_max_wait, None);
    clock.advance(secs(1000));
    assert_eq!(decided(&b), (State::HalfOpen, None));
    drop(a);
}
