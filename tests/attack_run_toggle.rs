//! Outside-in attack on 73ab24f: the consecutive-failures trigger turned off and on again by
//! reconfiguration. README, "Configuration file", bullet "Reload": "the run of failures in a
//! row is counted while a reload has `consecutive_failures` off (a success still ends it), so
//! turning it on again judges the run as it stands; a breaker built with the trigger off counts
//! no run until a reload turns it on", and "Reload applies changed thresholds to running
//! breakers without resetting their state or counts". DESIGN 2: "`consecutive_failures = N`
//! failures in a row (a success resets the run)"; a close resets "window and counters".
//!
//! Every breaker reads a `ManualClock`; nothing sleeps.

mod support;

use cb_runtime::config::ConfigSource;
use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Outcome, Reason, Registry, State, circuit_breaker};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use support::*;

/// The consecutive trigger alone at `limit`, open wait 10s, one probe closes.
fn on(limit: u32) -> BreakerConfig {
    consecutive(limit)
        .open_timeout(secs(10))
        .half_open_max_calls(1)
        .success_threshold(1)
        .jitter(0.0)
        .build()
        .unwrap()
}

/// [`on`] with the consecutive trigger off (every trigger off).
fn off() -> BreakerConfig {
    consecutive(1)
        .no_consecutive_failures()
        .open_timeout(secs(10))
        .half_open_max_calls(1)
        .success_threshold(1)
        .jitter(0.0)
        .build()
        .unwrap()
}

fn built(name: &str, config: BreakerConfig) -> (CircuitBreaker, ManualClock) {
    let clock = ManualClock::new();
    let b = CircuitBreaker::builder(name)
        .config(config)
        .clock(clock.clone())
        .build();
    (b, clock)
}

fn run_len(b: &CircuitBreaker) -> u32 {
    b.snapshot().consecutive_failures
}

fn tripped_by(b: &CircuitBreaker) -> Option<Reason> {
    b.snapshot().tripped_by
}

fn f(b: &CircuitBreaker) {
    run_n(b, 1, Outcome::Failure);
}

/// Off, on, off, on: every failure in between is one more of the run, whichever way the
/// trigger stood when it was recorded; the fifth opens against a limit of five.
#[test]
fn off_on_off_on_counts_every_failure_in_a_row() {
    let (b, _clock) = built("rt-toggle", on(5));
    f(&b);
    assert_eq!(run_len(&b), 1);
    b.reconfigure(off());
    f(&b);
    assert_eq!(run_len(&b), 2, "counted while off");
    b.reconfigure(on(5));
    f(&b);
    assert_eq!(run_len(&b), 3);
    b.reconfigure(off());
    f(&b);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 4));
    b.reconfigure(on(5));
    assert_eq!(b.state(), State::Closed, "four in a row, limit five");
    f(&b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 5 }));
}

/// Several reloads in a row that all say "off", and reloads that change nothing else: the run
/// stays counted (a second "off" must not turn a trigger that was on into "never on").
#[test]
fn repeated_off_reloads_keep_counting_the_run() {
    let (b, _clock) = built("rt-off-off", on(3));
    f(&b);
    for _ in 0..3 {
        b.reconfigure(off());
        f(&b);
    }
    // An unrelated change while off.
    b.reconfigure(off().to_builder().open_timeout(secs(20)).build().unwrap());
    f(&b);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 5));
    b.reconfigure(on(3));
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 6 }));
}

/// 5 -> 2 with a run of 3 going on: the reload itself keeps the state (it applies thresholds,
/// it does not record an outcome), the run stands at 3, and the next failure opens it, with the
/// run (4) as its count.
#[test]
fn a_limit_lowered_below_the_run_opens_on_the_next_failure() {
    let (b, _clock) = built("rt-lower", on(5));
    run_n(&b, 3, Outcome::Failure);
    let changes = b.reconfigure(on(2));
    assert_eq!(changes, ["consecutive_failures: 5 -> 2"]);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 3));
    f(&b);
    assert_eq!(b.state(), State::Open);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 4 }));
}

/// 5 -> 2 with a run of 3, then a success: the success ends the run (DESIGN: "a success resets
/// the run"), so the breaker stays closed and needs two new failures in a row.
#[test]
fn a_limit_lowered_below_the_run_then_a_success_ends_the_run() {
    let (b, _clock) = built("rt-lower-success", on(5));
    run_n(&b, 3, Outcome::Failure);
    b.reconfigure(on(2));
    run_n(&b, 1, Outcome::Success);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 0));
    f(&b);
    assert_eq!(b.state(), State::Closed);
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 2 }));
}

/// A limit lowered while the trigger is off, then on at a limit below the run kept meanwhile.
#[test]
fn on_again_at_a_limit_below_the_run_kept_while_off() {
    let (b, _clock) = built("rt-off-lower", on(10));
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(off());
    run_n(&b, 3, Outcome::Failure);
    b.reconfigure(on(3));
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 5));
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 6 }));
}

/// 2 -> 5 with a run of 1: the run goes on to five.
#[test]
fn a_limit_raised_above_the_run_lets_the_run_go_on() {
    let (b, _clock) = built("rt-raise", on(2));
    f(&b);
    b.reconfigure(on(5));
    run_n(&b, 3, Outcome::Failure);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 4));
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 5 }));
}

/// Snapshots while the trigger is off: a breaker built without it shows no run whatever it
/// records; one whose trigger a reload turned off shows the run, and a success ends it.
#[test]
fn snapshot_shows_the_run_while_off_only_once_the_trigger_was_on() {
    let (never, _c1) = built("rt-snap-never", off());
    for _ in 0..4 {
        f(&never);
        assert_eq!(run_len(&never), 0, "built off: no run counted");
    }
    let (was, _c2) = built("rt-snap-was", on(3));
    b_reconfigure_off_and_check(&was);
}

fn b_reconfigure_off_and_check(b: &CircuitBreaker) {
    b.reconfigure(off());
    for n in 1..=4 {
        f(b);
        assert_eq!(run_len(b), n);
    }
    run_n(b, 1, Outcome::Success);
    assert_eq!(run_len(b), 0, "a success still ends the run while off");
    f(b);
    assert_eq!(run_len(b), 1);
    assert_eq!(b.state(), State::Closed);
}

/// A breaker built off, turned on by a reload, off, on again: it counts from the first reload
/// that turned it on, and keeps counting through the second "off".
#[test]
fn built_off_then_on_off_on_counts_from_the_first_on() {
    let (b, _clock) = built("rt-built-off", off());
    run_n(&b, 5, Outcome::Failure);
    b.reconfigure(on(4));
    run_n(&b, 2, Outcome::Failure);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 2));
    b.reconfigure(off());
    f(&b);
    assert_eq!(run_len(&b), 3, "on once: counted while off again");
    b.reconfigure(on(4));
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 4 }));
}

/// Forced open and reset while the trigger is off: the reset ends the run ("Closed, with empty
/// windows, no run of failures"), so turning the trigger on counts from the reset.
#[test]
fn a_reset_while_off_ends_the_run_kept() {
    let (b, _clock) = built("rt-reset-off", on(3));
    f(&b);
    b.reconfigure(off());
    f(&b);
    b.force_open();
    assert_eq!(run_len(&b), 0, "no run while forced open");
    b.reset();
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 0));
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(on(3));
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 2));
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 3 }));
}

/// Open, half-open (a probe fails), open again, half-open, closed (a probe succeeds), all while
/// the trigger is off: the close resets the counters, and failed probes are no part of the run
/// after it. On again, the run counts from the close.
#[test]
fn open_half_open_closed_while_off_start_a_new_run() {
    let (b, clock) = built("rt-cycle-off", on(3));
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(off());
    f(&b);
    assert_eq!(run_len(&b), 3);
    b.open_for(secs(10)).unwrap();
    assert_eq!((b.state(), run_len(&b)), (State::Open, 0));
    clock.advance(secs(11));
    assert_eq!(b.state(), State::HalfOpen);
    f(&b); // the probe fails
    assert_eq!(b.state(), State::Open);
    clock.advance(secs(3600));
    assert_eq!(b.state(), State::HalfOpen);
    run_n(&b, 1, Outcome::Success);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 0));
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(run_len(&b), 2);
    b.reconfigure(on(3));
    assert_eq!(b.state(), State::Closed);
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 3 }));
}

/// The run word keeps 8 bits of generation and must follow every period (README module doc of
/// `run`: a word left alone for 128 transitions drops every failure after it, 256 carries a
/// run over). A breaker built off never lengthens a run: after N transitions, a reload turning
/// the trigger on must still count two failures as two.
#[test]
fn many_transitions_while_built_off_then_on_counts_a_run() {
    for transitions in [127u32, 128, 129, 255, 256, 257, 300] {
        let (b, _clock) = built("rt-gens-never", off());
        f(&b);
        for _ in 0..transitions {
            b.force_open();
            b.reset();
        }
        b.reconfigure(on(2));
        f(&b);
        assert_eq!(
            (b.state(), run_len(&b)),
            (State::Closed, 1),
            "{transitions} force/reset pairs"
        );
        f(&b);
        assert_eq!(b.state(), State::Open, "{transitions} force/reset pairs");
    }
}

/// The same with the trigger on first, then off through the transitions (the run is kept, and
/// must not carry a pre-reset run into the period in force).
#[test]
fn many_transitions_while_turned_off_then_on_counts_a_run() {
    for transitions in [127u32, 128, 255, 256, 300] {
        let (b, _clock) = built("rt-gens-was", on(3));
        run_n(&b, 2, Outcome::Failure);
        b.reconfigure(off());
        f(&b);
        for _ in 0..transitions {
            b.force_open();
            b.reset();
        }
        f(&b);
        assert_eq!(run_len(&b), 1, "{transitions} force/reset pairs");
        b.reconfigure(on(3));
        f(&b);
        assert_eq!((b.state(), run_len(&b)), (State::Closed, 2));
        f(&b);
        assert_eq!(b.state(), State::Open, "{transitions} force/reset pairs");
    }
}

/// Failures on two threads while a third turns the trigger off and on as fast as it can (the
/// limit far away): every failure is one of the run (one period, no success), whichever
/// configuration it met, quiet and timed paths alike.
#[test]
fn reloads_racing_failures_lose_no_failure_of_the_run() {
    const LIMIT: u32 = 1_000_000;
    const EACH: u64 = 20_000;
    for timed in [false, true] {
        let slow = |c: BreakerConfig| {
            if timed {
                c.to_builder()
                    .slow_call_rate_threshold(1.0)
                    .slow_call_duration(secs(60))
                    .build()
                    .unwrap()
            } else {
                c
            }
        };
        let (b, _clock) = built("rt-race", slow(on(LIMIT)));
        let done = AtomicU64::new(0);
        let reloads = AtomicU64::new(0);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    for _ in 0..EACH {
                        if timed {
                            let _ = b.call_sync(|| Err::<(), _>("down"));
                        } else {
                            f(&b);
                        }
                    }
                    done.fetch_add(1, Ordering::SeqCst);
                });
            }
            s.spawn(|| {
                let mut flip = false;
                while done.load(Ordering::SeqCst) < 2 {
                    b.reconfigure(if flip { slow(on(LIMIT)) } else { slow(off()) });
                    reloads.fetch_add(1, Ordering::Relaxed);
                    flip = !flip;
                }
                b.reconfigure(slow(on(LIMIT)));
            });
        });
        let snap = b.snapshot();
        eprintln!(
            "timed {timed}: {} reloads during {} failures",
            reloads.load(Ordering::Relaxed),
            2 * EACH
        );
        assert_eq!(snap.state, State::Closed);
        assert_eq!(snap.totals.failures + snap.totals.timeouts, 2 * EACH);
        assert_eq!(
            u64::from(snap.consecutive_failures),
            2 * EACH,
            "timed: {timed}; {} reloads",
            reloads.load(Ordering::Relaxed)
        );
    }
}

/// A small limit, failures on two threads while the trigger flips: once the flipping ends with
/// the trigger on, the breaker is open, or closed with a run that the next failure trips
/// (whatever the interleaving, a run at or past the limit is never left standing in Closed
/// after a failure was judged with the trigger on).
#[test]
fn reloads_racing_failures_at_a_small_limit_trip_by_the_run() {
    for round in 0..20 {
        let (b, _clock) = built("rt-race-small", on(50));
        let stop = AtomicBool::new(false);
        std::thread::scope(|s| {
            for _ in 0..2 {
                s.spawn(|| {
                    while b.state() == State::Closed && !stop.load(Ordering::SeqCst) {
                        let _ = run(&b, Outcome::Failure);
                    }
                });
            }
            s.spawn(|| {
                for i in 0..200 {
                    b.reconfigure(if i % 2 == 0 { off() } else { on(50) });
                }
                b.reconfigure(on(50));
                stop.store(true, Ordering::SeqCst);
            });
        });
        match b.state() {
            State::Open => match tripped_by(&b) {
                Some(Reason::ConsecutiveFailures { count }) => assert!(count >= 50, "round {round}: {count}"),
                other => panic!("round {round}: {other:?}"),
            },
            State::Closed => {
                let failures = b.snapshot().totals.failures;
                assert_eq!(u64::from(run_len(&b)), failures, "round {round}");
                f(&b);
                if failures + 1 >= 50 {
                    assert_eq!(b.state(), State::Open, "round {round}: run {}", failures + 1);
                }
            }
            other => panic!("round {round}: {other:?}"),
        }
    }
}

/// A breaker built off, turned on by a reload while two threads fail: the run counts every
/// failure that started after the reload returned, and never more than were recorded.
#[test]
fn a_first_on_racing_failures_counts_at_least_the_later_ones() {
    const LIMIT: u32 = 1_000_000;
    let (b, _clock) = built("rt-race-first", off());
    let turned_on = AtomicBool::new(false);
    let after = AtomicU64::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                for _ in 0..20_000 {
                    let seen = turned_on.load(Ordering::SeqCst);
                    f(&b);
                    if seen {
                        after.fetch_add(1, Ordering::SeqCst);
                    }
                }
            });
        }
        s.spawn(|| {
            std::thread::yield_now();
            b.reconfigure(on(LIMIT));
            turned_on.store(true, Ordering::SeqCst);
        });
    });
    let snap = b.snapshot();
    let run = u64::from(snap.consecutive_failures);
    assert!(
        run >= after.load(Ordering::SeqCst) && run <= snap.totals.failures,
        "run {run}, failures after the reload {}, recorded {}",
        after.load(Ordering::SeqCst),
        snap.totals.failures
    );
}

// ----- through a registry's configuration file -----

fn temp_file(name: &str) -> std::path::PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    std::env::temp_dir().join(format!(
        "cb-attack-run-toggle-{name}-{}-{nanos}.toml",
        std::process::id()
    ))
}

fn section(name: &str, consecutive: &str) -> String {
    format!(
        "[breakers.\"{name}\"]\nconsecutive_failures = {consecutive}\nfailure_rate_threshold = \"off\"\nslow_call_rate_threshold = \"off\"\njitter = 0.0\n"
    )
}

/// The file says 3, then "off", then 5 (a watcher's `check_now`, as the background thread
/// does it): the failures recorded while the file said "off" count in the run the file's 5
/// judges, and the Reconfigured changes say what moved.
#[test]
fn a_watched_file_turning_the_trigger_off_and_on_keeps_the_run() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(ManualClock::new())));
    let path = temp_file("watched");
    std::fs::write(&path, section("rt-file", "3")).unwrap();
    let watcher = cb_runtime::config::watch_every(registry, &path, std::time::Duration::from_secs(3600));
    assert!(watcher.check_now().is_none(), "loaded by watch_every itself");
    let b = registry.breaker("rt-file", &on(10));
    assert_eq!(b.config().consecutive_failures, Some(3), "the file's section wins");
    run_n(&b, 2, Outcome::Failure);
    std::fs::write(&path, section("rt-file", "\"off\"")).unwrap();
    let changes = watcher.check_now().unwrap().unwrap();
    assert_eq!(
        changes,
        [(b.name().clone(), vec!["consecutive_failures: 3 -> off".to_owned()])]
    );
    run_n(&b, 3, Outcome::Failure);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 5));
    std::fs::write(&path, section("rt-file", "5")).unwrap();
    watcher.check_now().unwrap().unwrap();
    assert_eq!(b.state(), State::Closed, "the reload alone records nothing");
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 6 }));
    let _ = std::fs::remove_file(&path);
}

/// A breaker the file builds with the trigger off counts no run; `load_into` turning it on
/// counts from then on; removing the section gives back the code's limit, and the run kept
/// through an "off" in between counts.
#[test]
fn a_file_building_the_breaker_off_then_loading_it_on() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(ManualClock::new())));
    let path = temp_file("load");
    std::fs::write(&path, section("rt-load", "\"off\"")).unwrap();
    cb_runtime::config::load_into(registry, &path).unwrap();
    let b = registry.breaker("rt-load", &on(4));
    assert_eq!(b.config().consecutive_failures, None);
    run_n(&b, 6, Outcome::Failure);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 0), "built off");
    std::fs::write(&path, section("rt-load", "2")).unwrap();
    cb_runtime::config::load_into(registry, &path).unwrap();
    f(&b);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 1), "counted from the reload");
    std::fs::write(&path, section("rt-load", "\"off\"")).unwrap();
    cb_runtime::config::load_into(registry, &path).unwrap();
    run_n(&b, 2, Outcome::Failure);
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 3));
    // No section: the code's configuration (4) again.
    std::fs::write(&path, "[defaults]\nopen_timeout = \"10s\"\n").unwrap();
    let report = cb_runtime::config::load_into(registry, &path).unwrap();
    assert_eq!(b.config().consecutive_failures, Some(4), "{report:?}");
    f(&b);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 4 }));
    let _ = std::fs::remove_file(&path);
}

// ----- the macro, through the global registry -----

#[derive(Debug)]
enum PingError {
    Down,
    Rejected,
}

impl From<cb_runtime::Rejected> for PingError {
    fn from(_: cb_runtime::Rejected) -> Self {
        PingError::Rejected
    }
}

#[circuit_breaker(
    name = "rt-macro",
    consecutive_failures = 3,
    failure_rate_threshold = "off",
    open_timeout = "1h"
)]
fn ping(up: bool) -> Result<(), PingError> {
    if up { Ok(()) } else { Err(PingError::Down) }
}

/// A `#[circuit_breaker]` function whose trigger the global registry's configuration turns off
/// and back to the macro's 3.
#[test]
fn a_macro_breaker_turned_off_and_on_by_the_global_registry() {
    let reg = cb_runtime::registry();
    let source = |text: &str| ConfigSource::from_text(text, "rt-macro.toml").unwrap();
    assert!(matches!(ping(false), Err(PingError::Down)));
    assert!(matches!(ping(false), Err(PingError::Down)));
    let b: Arc<CircuitBreaker> = reg.get("rt-macro").unwrap();
    assert_eq!(run_len(&b), 2);
    reg.reconfigure(source("[breakers.\"rt-macro\"]\nconsecutive_failures = \"off\"\n"));
    assert_eq!(b.config().consecutive_failures, None);
    for _ in 0..3 {
        assert!(matches!(ping(false), Err(PingError::Down)));
    }
    assert_eq!((b.state(), run_len(&b)), (State::Closed, 5));
    reg.reconfigure(source("[defaults]\n"));
    assert_eq!(b.config().consecutive_failures, Some(3));
    assert!(matches!(ping(false), Err(PingError::Down)));
    assert_eq!(b.state(), State::Open);
    assert_eq!(tripped_by(&b), Some(Reason::ConsecutiveFailures { count: 6 }));
    assert!(matches!(ping(true), Err(PingError::Rejected)));
}

/// A keyed family's glob section turns the trigger off and on: a key registered before the
/// "off" keeps its run through it; a key registered while it was off was built off and counts
/// from the reload that turns it on (README: "a breaker built with the trigger off counts no
/// run until a reload turns it on"), so one family judges two runs of equal length apart.
#[test]
fn a_family_glob_turned_off_and_on_judges_old_and_new_keys_by_their_birth() {
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(ManualClock::new())));
    let path = temp_file("glob");
    let glob = |limit: &str| {
        format!(
            "[breakers.\"rtk/*\"]\nconsecutive_failures = {limit}\nfailure_rate_threshold = \"off\"\nslow_call_rate_threshold = \"off\"\n"
        )
    };
    std::fs::write(&path, glob("3")).unwrap();
    cb_runtime::config::load_into(registry, &path).unwrap();
    let old = registry.breaker("rtk/old", &on(10));
    std::fs::write(&path, glob("\"off\"")).unwrap();
    cb_runtime::config::load_into(registry, &path).unwrap();
    let new = registry.breaker("rtk/new", &on(10));
    assert_eq!(
        (old.config().consecutive_failures, new.config().consecutive_failures),
        (None, None)
    );
    for b in [&old, &new] {
        run_n(b, 2, Outcome::Failure);
    }
    assert_eq!((run_len(&old), run_len(&new)), (2, 0));
    std::fs::write(&path, glob("3")).unwrap();
    cb_runtime::config::load_into(registry, &path).unwrap();
    for b in [&old, &new] {
        f(b);
    }
    assert_eq!((old.state(), new.state()), (State::Open, State::Closed));
    assert_eq!(run_len(&new), 1);
    let _ = std::fs::remove_file(&path);
}
