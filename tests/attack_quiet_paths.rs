//! Attacks on the quiet success and failure paths (an untimed outcome of the Closed period in
//! force, on a thread with a stripe of its own, skips `record_closed`): a model of the last N
//! outcomes and of the run of failures, judged after every outcome under the rules in force
//! (reconfigured at random), against the breaker's state and snapshot; outcomes straddling
//! transitions; a thread's first call a failure; more than 64 threads; panics; MetricsOnly.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Outcome, State, Window};
use std::collections::VecDeque;
use std::sync::Barrier;
use support::*;

/// The rules a scenario may put in force (the window's size never changes).
#[derive(Clone, Copy, Debug)]
struct Rules {
    rate: f64,
    minimum: u32,
    consecutive: Option<u32>,
}

fn config(size: u32, r: Rules) -> BreakerConfig {
    let b = BreakerConfig::builder()
        .failure_rate_threshold(r.rate)
        .no_slow_call_rate()
        .window(Window::Count(size))
        .minimum_calls(r.minimum)
        .jitter(0.0);
    let b = match r.consecutive {
        Some(n) => b.consecutive_failures(n),
        None => b.no_consecutive_failures(),
    };
    b.build().expect("valid config")
}

/// A Closed period's last N outcomes (true: failure) and run of failures.
struct Period {
    size: usize,
    last: VecDeque<bool>,
    run: u32,
}

impl Period {
    fn new(size: u32) -> Period {
        Period {
            size: size as usize,
            last: VecDeque::new(),
            run: 0,
        }
    }

    fn push(&mut self, failure: bool) {
        if self.last.len() == self.size {
            self.last.pop_front();
        }
        self.last.push_back(failure);
        self.run = if failure { self.run + 1 } else { 0 };
    }

    fn counts(&self) -> (u64, u64) {
        (self.last.len() as u64, self.last.iter().filter(|f| **f).count() as u64)
    }

    /// Asserts that `b` is where the model says after the outcome just pushed: Open (then
    /// reset, with the model) or Closed with the model's window and run.
    fn check(&mut self, b: &cb_runtime::CircuitBreaker, rules: Rules, what: &str) {
        let s = b.snapshot();
        if self.trips(rules) {
            assert_eq!(s.state, State::Open, "{what}: {:?}", self.last);
            b.reset();
            *self = Period::new(self.size as u32);
        } else {
            assert_eq!(s.state, State::Closed, "{what}: {:?}", self.last);
            assert_eq!((s.window.calls, s.window.failures), self.counts(), "{what}");
            assert_eq!(s.consecutive_failures, self.run, "{what}");
        }
    }

    fn trips(&self, r: Rules) -> bool {
        if r.consecutive.is_some_and(|n| self.run >= n) {
            return true;
        }
        let (calls, failures) = self.counts();
        let minimum = u64::from(r.minimum).min(self.size as u64);
        calls > 0 && calls >= minimum && failures as f64 / calls as f64 >= r.rate
    }
}

/// One outcome by one of the ways a call records: a permit, `call_sync`, or a panic in
/// `call_sync` (a failure).
fn one(b: &CircuitBreaker, failure: bool, how: u64) {
    match how {
        0 => {
            let outcome = if failure { Outcome::Failure } else { Outcome::Success };
            assert!(run(b, outcome), "rejected while Closed");
        }
        1 => {
            let _ = b.call_sync(|| if failure { Err(()) } else { Ok(()) });
        }
        _ => {
            if failure {
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let _ = b.call_sync(|| -> Result<(), ()> { panic!("boom") });
                }));
                assert!(r.is_err());
            } else {
                let _ = b.call_sync(|| Ok::<(), ()>(()));
            }
        }
    }
}

/// A random walk of outcomes and reconfigurations against the model, checking state, window,
/// run and totals after every step; a trip is followed by a reset.
fn walk(seed: u64, size: u32, steps: usize) {
    let mut g = Lcg(seed);
    let mut rules = Rules {
        rate: 0.5,
        minimum: size,
        consecutive: (!seed.is_multiple_of(2)).then_some(4),
    };
    let (b, _clock) = {
        let clock = cb_runtime::ManualClock::new();
        let b = CircuitBreaker::builder("quiet-walk")
            .config(config(size, rules))
            .clock(clock.clone())
            .build();
        (b, clock)
    };
    let mut period = Period::new(size);
    let (mut successes, mut failures) = (0u64, 0u64);
    for step in 0..steps {
        if g.next(20) == 0 {
            rules = Rules {
                rate: [0.2, 0.34, 0.5, 0.75, 1.0][g.next(5) as usize],
                minimum: 1 + g.next(u64::from(size) + 2) as u32,
                // The run is not kept while the trigger is off: a walk keeps it on or off.
                consecutive: if seed.is_multiple_of(2) {
                    None
                } else {
                    [Some(1), Some(3), Some(6)][g.next(3) as usize]
                },
            };
            b.reconfigure(config(size, rules));
            assert_eq!(
                b.state(),
                State::Closed,
                "seed {seed} step {step}: a reconfiguration judges nothing"
            );
            continue;
        }
        let failure = g.next(100) < 45;
        one(&b, failure, g.next(3));
        if failure {
            failures += 1;
        } else {
            successes += 1;
        }
        period.push(failure);
        if rules.consecutive.is_none() {
            // No run is kept while the trigger is off.
            period.run = 0;
        }
        let trips = period.trips(rules);
        let s = b.snapshot();
        let what = format!("seed {seed} step {step} rules {rules:?} last {:?}", period.last);
        assert_eq!(s.totals.successes, successes, "{what}: successes");
        assert_eq!(s.totals.failures, failures, "{what}: failures");
        if trips {
            assert_eq!(s.state, State::Open, "{what}: should have tripped");
            b.reset();
            period = Period::new(size);
            let s = b.snapshot();
            assert_eq!((s.window.calls, s.window.failures), (0, 0), "{what}: after reset");
        } else {
            assert_eq!(s.state, State::Closed, "{what}: should not have tripped");
            let (calls, f) = period.counts();
            assert_eq!((s.window.calls, s.window.failures), (calls, f), "{what}: window");
            assert_eq!(s.consecutive_failures, period.run, "{what}: run");
        }
    }
}

#[test]
fn random_walks_with_reconfigurations_agree_with_the_model() {
    for seed in 1..40 {
        walk(seed, 1 + (seed % 9) as u32, 400);
    }
}

#[test]
fn random_walks_on_a_fresh_thread_each_agree_with_the_model() {
    // A thread's first outcome finds no stripe of its own: the general path creates it.
    for seed in 100..110 {
        std::thread::spawn(move || walk(seed, 5, 200)).join().unwrap();
    }
}

/// A failure admitted in one period and recorded in the next counts in neither's window nor run.
#[test]
fn a_failure_straddling_a_reset_counts_nowhere_in_the_new_period() {
    for kind in 0..2 {
        let cfg = if kind == 0 {
            consecutive(3)
        } else {
            failure_rate(Window::Count(4), 0.75, 4).consecutive_failures(3)
        };
        let (b, _clock) = breaker(cfg);
        run_n(&b, 2, Outcome::Success);
        run_n(&b, 2, Outcome::Failure);
        let p1 = b.try_acquire().unwrap();
        let p2 = b.try_acquire().unwrap();
        b.reset();
        p1.record(Outcome::Failure);
        p2.record(Outcome::Failure);
        let s = b.snapshot();
        assert_eq!(s.state, State::Closed, "kind {kind}");
        assert_eq!(s.consecutive_failures, 0, "kind {kind}: stale failures lengthen no run");
        assert_eq!(
            (s.window.calls, s.window.failures),
            (0, 0),
            "kind {kind}: stale failures in no window"
        );
        assert_eq!(s.totals.failures, 4, "kind {kind}: still in the totals");
        run_n(&b, 2, Outcome::Failure);
        assert_eq!(b.state(), State::Closed, "kind {kind}: two of three");
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "kind {kind}: exactly three");
    }
}

/// A failure admitted while Closed and recorded after the breaker was forced open, or opened
/// and half-opened, changes nothing of the later periods.
#[test]
fn a_failure_straddling_force_open_or_a_trip_changes_nothing_later() {
    let (b, clock) = breaker(failure_rate(Window::Count(4), 0.5, 4).consecutive_failures(2));
    let p = b.try_acquire().unwrap();
    b.force_open();
    p.record(Outcome::Failure);
    assert_eq!(b.state(), State::ForcedOpen);
    b.reset();
    let s = b.snapshot();
    assert_eq!((s.window.calls, s.window.failures, s.consecutive_failures), (0, 0, 0));

    let p = b.try_acquire().unwrap();
    let q = b.try_acquire().unwrap();
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    clock.advance(secs(3600));
    assert_eq!(b.state(), State::HalfOpen);
    p.record(Outcome::Failure);
    q.record(Outcome::Success);
    assert_eq!(b.state(), State::HalfOpen, "a stale outcome decides no probe");
}

/// MetricsOnly records every outcome in the window and the run but never trips.
#[test]
fn metrics_only_records_quiet_outcomes_and_never_trips() {
    let (b, _clock) = breaker(failure_rate(Window::Count(4), 0.5, 2).consecutive_failures(2));
    run(&b, Outcome::Success);
    b.metrics_only();
    for i in 0..10 {
        run(&b, Outcome::Failure);
        run(&b, if i % 2 == 0 { Outcome::Failure } else { Outcome::Success });
        assert_eq!(b.state(), State::MetricsOnly);
    }
    let s = b.snapshot();
    assert_eq!((s.window.calls, s.window.failures), (4, 3));
    assert_eq!(s.totals.failures, 15);
    assert_eq!(s.totals.successes, 6);
}

/// More than 64 threads at once (the 65th and later share the overflow stripe), each starting
/// with a failure: every outcome is counted, the window holds exactly the last N and the
/// consecutive trigger trips exactly at N when the threads take turns.
#[test]
fn seventy_threads_each_starting_with_a_failure() {
    const THREADS: usize = 70;
    let (b, _clock) = breaker(failure_rate(Window::Count(1000), 1.0, 1000).consecutive_failures(10_000));
    let barrier = Barrier::new(THREADS);
    let turn = std::sync::Mutex::new(());
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (b, barrier, turn) = (&b, &barrier, &turn);
            s.spawn(move || {
                barrier.wait();
                for i in 0..5 {
                    let _g = turn.lock().unwrap();
                    run(
                        b,
                        if i % 2 == 0 || t % 3 == 0 {
                            Outcome::Failure
                        } else {
                            Outcome::Success
                        },
                    );
                }
                barrier.wait();
            });
        }
    });
    let s = b.snapshot();
    let failures = (0..THREADS).map(|t| if t % 3 == 0 { 5 } else { 3 }).sum::<u64>();
    assert_eq!(s.state, State::Closed);
    assert_eq!(s.totals.failures, failures);
    assert_eq!(s.totals.successes, (THREADS as u64) * 5 - failures);
    assert_eq!((s.window.calls, s.window.failures), (350, failures));
}

/// Threads taking turns under a lock, past 64 of them: the run of failures spans threads and
/// trips at exactly N.
#[test]
fn a_run_across_seventy_threads_trips_at_exactly_n() {
    const THREADS: usize = 70;
    for window in [false, true] {
        let cfg = if window {
            failure_rate(Window::Count(200), 1.0, 200).consecutive_failures(THREADS as u32)
        } else {
            consecutive(THREADS as u32)
        };
        let (b, _clock) = breaker(cfg);
        let barrier = Barrier::new(THREADS);
        let next = std::sync::Mutex::new(0usize);
        std::thread::scope(|s| {
            for t in 0..THREADS {
                let (b, barrier, next) = (&b, &barrier, &next);
                s.spawn(move || {
                    // Each thread's first outcome is a success (its stripe exists after), then
                    // one failure each in turn.
                    run(b, Outcome::Success);
                    barrier.wait();
                    loop {
                        let mut n = next.lock().unwrap();
                        if *n == t {
                            if t < THREADS - 1 {
                                assert_eq!(b.state(), State::Closed, "window {window}: {t} failures");
                            }
                            run(b, Outcome::Failure);
                            *n += 1;
                            break;
                        }
                        drop(n);
                        std::thread::yield_now();
                    }
                    barrier.wait();
                });
            }
        });
        assert_eq!(b.state(), State::Open, "window {window}: exactly {THREADS}");
    }
}

/// Threads recording at once while another resets and forces the breaker open: every outcome is
/// in the totals, and once the churn stops one thread alone sees exactly the last N.
#[test]
fn concurrent_outcomes_through_transitions_keep_totals_and_the_window_exact() {
    const N: u64 = 32;
    let (b, _clock) = breaker(failure_rate(Window::Count(N as u32), 1.0, N as u32).consecutive_failures(1_000_000));
    let stop = std::sync::atomic::AtomicBool::new(false);
    let counted = std::sync::Mutex::new((0u64, 0u64));
    std::thread::scope(|s| {
        for t in 0..6u64 {
            let (b, stop, counted) = (&b, &stop, &counted);
            s.spawn(move || {
                let mut g = Lcg(t + 1);
                let (mut ok, mut failed) = (0, 0);
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let failure = g.next(2) == 0;
                    if let Ok(p) = b.try_acquire() {
                        if failure {
                            p.failure();
                            failed += 1;
                        } else {
                            p.success();
                            ok += 1;
                        }
                    }
                }
                let mut c = counted.lock().unwrap();
                c.0 += ok;
                c.1 += failed;
            });
        }
        let (b, stop) = (&b, &stop);
        s.spawn(move || {
            for i in 0..500 {
                if i % 3 == 0 {
                    b.force_open();
                }
                b.reset();
                std::thread::yield_now();
            }
            stop.store(true, std::sync::atomic::Ordering::Relaxed);
        });
    });
    let (ok, failed) = *counted.lock().unwrap();
    let s = b.snapshot();
    assert_eq!(s.totals.successes, ok);
    assert_eq!(s.totals.failures, failed);
    assert_eq!(b.state(), State::Closed);
    run_n(&b, (N + N / 8) as usize, Outcome::Success);
    assert_eq!(window(&b), (N, 0, 0));
    run_n(&b, (N - 1) as usize, Outcome::Failure);
    assert_eq!(window(&b), (N, N - 1, 0));
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "every one of the last N failed");
}

#[derive(Debug)]
struct Down;

impl From<cb_runtime::Rejected> for Down {
    fn from(_: cb_runtime::Rejected) -> Down {
        Down
    }
}

static MACRO_FAIL: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cb_runtime::circuit_breaker(
    name = "attack-quiet-macro",
    window = 4,
    failure_rate_threshold = 0.75,
    minimum_calls = 4,
    consecutive_failures = 3,
    open_timeout = "1h"
)]
fn guarded() -> Result<(), Down> {
    if MACRO_FAIL.load(std::sync::atomic::Ordering::Relaxed) {
        Err(Down)
    } else {
        Ok(())
    }
}

/// The `#[circuit_breaker]` path over a count window: the window holds the last four outcomes
/// and the breaker trips on the outcome that reaches the rate, not before.
#[test]
fn the_macro_path_counts_and_trips_like_the_model() {
    let mut period = Period::new(4);
    let rules = Rules {
        rate: 0.75,
        minimum: 4,
        consecutive: Some(3),
    };
    for (i, failure) in [false, true, false, true, true, false, true, false, true, true]
        .into_iter()
        .enumerate()
    {
        MACRO_FAIL.store(failure, std::sync::atomic::Ordering::Relaxed);
        let _ = guarded();
        period.push(failure);
        let s = cb_runtime::registry().snapshot("attack-quiet-macro").unwrap();
        if period.trips(rules) {
            assert_eq!(s.state, State::Open, "call {i}: {:?}", period.last);
            return;
        }
        assert_eq!(s.state, State::Closed, "call {i}: {:?}", period.last);
        assert_eq!((s.window.calls, s.window.failures), period.counts(), "call {i}");
    }
    panic!("the model trips on the last call");
}

/// Async calls on a multi-threaded runtime (a task may record on another thread than it
/// started on): the window and the run agree with the model after each awaited call.
#[test]
fn async_calls_across_worker_threads_agree_with_the_model() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .build()
        .unwrap();
    let rules = Rules {
        rate: 0.6,
        minimum: 5,
        consecutive: Some(4),
    };
    let (b, _clock) = {
        let clock = cb_runtime::ManualClock::new();
        let b = CircuitBreaker::builder("quiet-async")
            .config(config(8, rules))
            .clock(clock.clone())
            .build();
        (std::sync::Arc::new(b), clock)
    };
    let mut period = Period::new(8);
    let mut g = Lcg(99);
    for step in 0..3_000 {
        let failure = g.next(100) < 40;
        let b2 = b.clone();
        rt.block_on(async move {
            tokio::spawn(async move {
                let _ = b2
                    .call(async || {
                        tokio::task::yield_now().await;
                        if failure { Err(()) } else { Ok(()) }
                    })
                    .await;
            })
            .await
            .unwrap();
        });
        period.push(failure);
        period.check(&b, rules, &format!("step {step}"));
    }
}

/// A breaker of the registry (as keyed and annotated calls get them) on several threads in
/// turn: totals and window exact.
#[test]
fn a_registry_breaker_on_threads_in_turn_agrees_with_the_model() {
    let registry = cb_runtime::Registry::new();
    let rules = Rules {
        rate: 0.5,
        minimum: 6,
        consecutive: Some(5),
    };
    let b = registry.breaker("quiet-keyed/a", &config(6, rules));
    let mut period = Period::new(6);
    let mut g = Lcg(7);
    for step in 0..600 {
        let failure = g.next(100) < 35;
        let b2 = b.clone();
        std::thread::spawn(move || {
            // Two outcomes on a thread: the first finds no stripe of its own yet.
            let _ = b2.call_sync(|| if failure { Err(()) } else { Ok(()) });
        })
        .join()
        .unwrap();
        period.push(failure);
        period.check(&b, rules, &format!("step {step}"));
    }
}

/// A call admitted while Closed and recorded after the breaker moved to MetricsOnly or
/// Disabled and back counts in no later period.
#[test]
fn a_failure_straddling_metrics_only_or_disable_counts_nowhere_later() {
    for to in 0..2 {
        let (b, _clock) = breaker(failure_rate(Window::Count(4), 0.75, 4).consecutive_failures(2));
        run(&b, Outcome::Failure);
        let p = b.try_acquire().unwrap();
        let q = b.try_acquire().unwrap();
        if to == 0 {
            b.metrics_only();
        } else {
            b.disable();
        }
        p.record(Outcome::Failure);
        let s = b.snapshot();
        assert_eq!(
            (s.window.calls, s.window.failures, s.consecutive_failures),
            (0, 0, 0),
            "to {to}: in the new period"
        );
        b.reset();
        q.record(Outcome::Failure);
        let s = b.snapshot();
        assert_eq!(
            (s.window.calls, s.window.failures, s.consecutive_failures),
            (0, 0, 0),
            "to {to}: after reset"
        );
        run(&b, Outcome::Failure);
        assert_eq!(b.state(), State::Closed, "to {to}: one failure of two");
    }
}
