//! Attacks from outside on the consecutive trigger counted by successes (the run word compares
//! the breaker's count of successes with the count stored with the run) and on the time
//! window's budget of failing or slow outcomes that skip judgement in a bucket span.

mod support;

use cb_runtime::{BreakerConfig, CircuitBreaker, Clock, ClockSource, ManualClock, Outcome, Reason, State, Window};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;
use support::*;

/// A xorshift step.
fn next(x: &mut u64) -> u64 {
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    *x
}

fn run_length(b: &CircuitBreaker) -> u32 {
    b.snapshot().consecutive_failures
}

// ---------------------------------------------------------------------------------------------
// The consecutive trigger
// ---------------------------------------------------------------------------------------------

/// A success ends the run whichever thread records it: 70 threads alive at once (so some of
/// them share the overflow stripe), each records one success between failures of the main
/// thread; then they exit and a second wave takes their slots.
#[test]
fn a_success_on_any_thread_ends_the_run_including_the_shared_stripe() {
    const THREADS: usize = 70;
    let (b, _) = breaker(consecutive(3));
    let claim = CircuitBreaker::new("claim-a-slot", BreakerConfig::default());
    // This thread takes its slot first: its stripe is the breaker's first one, and the
    // threads past the 64th share the overflow stripe among the others.
    run(&claim, Outcome::Success);
    for wave in 0..2 {
        let barrier = Barrier::new(THREADS + 1);
        let (done_tx, done_rx) = mpsc::channel::<()>();
        std::thread::scope(|s| {
            let mut go = Vec::new();
            for _ in 0..THREADS {
                let (tx, rx) = mpsc::channel::<()>();
                go.push(tx);
                let (b, claim, barrier, done_tx) = (&b, &claim, &barrier, done_tx.clone());
                s.spawn(move || {
                    // Claims this thread's slot while all the others hold theirs.
                    run(claim, Outcome::Success);
                    barrier.wait();
                    // (The main thread gone: its assertion failed.)
                    if rx.recv().is_ok() {
                        run(b, Outcome::Success);
                        let _ = done_tx.send(());
                    }
                });
            }
            barrier.wait();
            for (i, tx) in go.iter().enumerate() {
                run_n(&b, 2, Outcome::Failure);
                tx.send(()).unwrap();
                done_rx.recv().unwrap();
                assert_eq!(run_length(&b), 0, "wave {wave}, thread {i}: its success ended the run");
                run_n(&b, 1, Outcome::Failure);
                assert_eq!(b.state(), State::Closed, "wave {wave}, thread {i}");
                assert_eq!(run_length(&b), 1, "wave {wave}, thread {i}");
                run(&b, Outcome::Success);
            }
        });
    }
    eprintln!("totals {:?}", b.snapshot().totals.successes);
    run_n(&b, 3, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "three in a row still trip");
}

/// The configurations whose successes take different paths: the quiet success (no rate
/// trigger), a count window, a time window, and timed permits (slow-call detection).
fn with_each_path(n: u32) -> Vec<(&'static str, cb_runtime::BreakerConfigBuilder)> {
    vec![
        ("consecutive only", consecutive(n)),
        (
            "count window",
            consecutive(n)
                .failure_rate_threshold(1.0)
                .window(Window::Count(100))
                .minimum_calls(100),
        ),
        (
            "time window",
            consecutive(n)
                .failure_rate_threshold(1.0)
                .window(Window::Time(secs(10)))
                .minimum_calls(1_000),
        ),
        (
            "timed permits",
            consecutive(n)
                .slow_call_rate_threshold(1.0)
                .slow_call_duration(secs(5))
                .window(Window::Time(secs(10)))
                .minimum_calls(1_000),
        ),
    ]
}

/// A success admitted in an earlier period and recorded late ends nothing, whichever
/// transition ended its period and whichever path records it; a success of the period in
/// force admitted before the run's failures (recorded after them) does end it.
#[test]
fn a_late_success_of_an_earlier_period_ends_no_run_on_any_path() {
    type Transition = fn(&CircuitBreaker);
    let transitions: [(&str, Transition); 4] = [
        ("reset", |b| b.reset()),
        ("metrics_only then reset", |b| {
            b.metrics_only();
            b.reset();
        }),
        ("forced open then closed", |b| {
            b.force_open();
            b.transition_to(State::Closed).unwrap();
        }),
        ("disabled then closed", |b| {
            b.disable();
            b.transition_to(State::Closed).unwrap();
        }),
    ];
    for (path, config) in with_each_path(3) {
        for (name, transition) in transitions {
            let (b, _) = breaker(config.clone());
            let late = b.try_acquire().expect("closed");
            run_n(&b, 1, Outcome::Failure);
            transition(&b);
            run_n(&b, 2, Outcome::Failure);
            late.success();
            assert_eq!(run_length(&b), 2, "{path}, {name}: the late success ends nothing");
            run_n(&b, 1, Outcome::Failure);
            assert_eq!(b.state(), State::Open, "{path}, {name}: three in a row");

            // The same period: a success admitted before the failures ends the run.
            let (b, _) = breaker(config.clone());
            let early = b.try_acquire().expect("closed");
            run_n(&b, 2, Outcome::Failure);
            early.success();
            assert_eq!(run_length(&b), 0, "{path}, {name}: a success of this period");
            run_n(&b, 2, Outcome::Failure);
            assert_eq!(b.state(), State::Closed, "{path}, {name}: only two since the success");
        }
    }
}

/// A success of a MetricsOnly period recorded after a reset ends nothing of the Closed period.
#[test]
fn a_late_success_of_a_metrics_only_period_ends_nothing_in_the_closed_one() {
    for (path, config) in with_each_path(3) {
        let (b, _) = breaker(config);
        b.metrics_only();
        let late = b.try_acquire().expect("metrics only admits");
        assert_eq!(late.state(), State::MetricsOnly);
        b.reset();
        run_n(&b, 2, Outcome::Failure);
        late.success();
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "{path}");
    }
}

/// Failures of an earlier period recorded late lengthen no run of the period in force.
#[test]
fn late_failures_of_an_earlier_period_do_not_lengthen_the_run() {
    for (path, config) in with_each_path(3) {
        let (b, _) = breaker(config);
        let late: Vec<_> = (0..5).map(|_| b.try_acquire().expect("closed")).collect();
        b.reset();
        run_n(&b, 2, Outcome::Failure);
        for p in late {
            p.failure();
        }
        assert_eq!((b.state(), run_length(&b)), (State::Closed, 2), "{path}");
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "{path}");
    }
}

/// Probes: a probe's failure recorded after another probe closed the breaker lengthens no run
/// of the Closed period, and its success ends none (the run goes on to trip).
#[test]
fn late_probe_outcomes_count_in_no_run_of_the_closed_period() {
    for late_outcome in [Outcome::Failure, Outcome::Success] {
        let (b, _) = breaker(consecutive(3).success_threshold(1).half_open_max_calls(2));
        b.force_open();
        b.transition_to(State::HalfOpen).unwrap();
        let late = b.try_acquire().expect("a probe");
        b.try_acquire().expect("another probe").success();
        assert_eq!(b.state(), State::Closed);
        run_n(&b, 2, Outcome::Failure);
        late.record(late_outcome);
        assert_eq!((b.state(), run_length(&b)), (State::Closed, 2), "{late_outcome:?}");
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "{late_outcome:?}");
    }
}

/// The run word keeps 8 bits of generation. A breaker that goes through 128 to 255
/// transitions without recording a failure in Closed (resets, or a long outage of failed
/// probes) must still count the next failures.
#[test]
fn the_run_counts_after_more_than_127_transitions_without_a_failure() {
    for resets in [1u32, 127, 128, 200, 255, 256, 300] {
        let (b, _) = breaker(consecutive(3));
        for _ in 0..resets {
            b.reset();
        }
        run_n(&b, 3, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "after {resets} resets, three failures in a row");
    }
}

/// The same through an outage as it happens: the breaker trips, probes fail for a few hours
/// (64 failed probes of the default open waits), the backend recovers and the probes close
/// the breaker; five failures in a row must open it again.
#[test]
fn the_consecutive_trigger_works_after_a_long_outage() {
    for failed_probes in [1u32, 62, 63, 64, 100] {
        let (b, clock) = breaker(BreakerConfig::builder().consecutive_failures(5).no_failure_rate());
        trip(&b, 5);
        for _ in 0..failed_probes {
            clock.advance(secs(301));
            b.try_acquire().expect("a probe after the open wait").failure();
            assert_eq!(b.state(), State::Open);
        }
        clock.advance(secs(301));
        for _ in 0..3 {
            b.try_acquire().expect("a probe").success();
        }
        assert_eq!(b.state(), State::Closed, "recovered");
        run_n(&b, 5, Outcome::Failure);
        assert_eq!(
            b.state(),
            State::Open,
            "after {failed_probes} failed probes, five failures in a row"
        );
    }
}

/// A run from exactly 256 transitions back (the 8 bits of generation wrap) is not the run of
/// the period in force: reset means no run of failures.
#[test]
fn a_run_from_256_transitions_back_does_not_carry_over() {
    let (b, _) = breaker(consecutive(3));
    run_n(&b, 2, Outcome::Failure);
    for _ in 0..256 {
        b.reset();
    }
    assert_eq!(run_length(&b), 0, "reset: no run");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "one failure since the reset");
}

/// MetricsOnly counts the run (the snapshot shows it) but never trips; a success ends it; a
/// reset starts the Closed period with no run.
#[test]
fn metrics_only_counts_the_run_without_tripping_and_a_reset_starts_afresh() {
    let (b, _) = breaker(consecutive(3));
    run_n(&b, 2, Outcome::Failure);
    b.metrics_only();
    assert_eq!(run_length(&b), 0, "a new period");
    run_n(&b, 5, Outcome::Failure);
    assert_eq!((b.state(), run_length(&b)), (State::MetricsOnly, 5));
    run_n(&b, 1, Outcome::Success);
    assert_eq!(run_length(&b), 0);
    run_n(&b, 4, Outcome::Failure);
    assert_eq!((b.state(), run_length(&b)), (State::MetricsOnly, 4));
    b.reset();
    assert_eq!(run_length(&b), 0);
    run_n(&b, 2, Outcome::Failure);
    assert_eq!(b.state(), State::Closed);
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}

/// The trigger turned off and on by `reconfigure`: a success while it is off still ends the run
/// counted before; a lower limit applies to the run in progress from the next failure.
#[test]
fn the_trigger_turned_off_and_on_by_reconfigure() {
    let config = |n: Option<u32>| {
        let c = BreakerConfig::builder().no_failure_rate().jitter(0.0);
        match n {
            Some(n) => c.consecutive_failures(n),
            None => c.no_consecutive_failures(),
        }
        .build()
        .unwrap()
    };
    for (path, start) in with_each_path(3) {
        let (b, _) = breaker(start);
        run_n(&b, 2, Outcome::Failure);
        b.reconfigure(config(None));
        run_n(&b, 1, Outcome::Success);
        b.reconfigure(config(Some(3)));
        run_n(&b, 2, Outcome::Failure);
        assert_eq!(
            (b.state(), run_length(&b)),
            (State::Closed, 2),
            "{path}: the success ended the run"
        );
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "{path}");

        let (b, _) = breaker(consecutive(10));
        run_n(&b, 4, Outcome::Failure);
        b.reconfigure(config(Some(3)));
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "{path}: a run of 5 reaches the new limit of 3");
    }
}

/// Limits from 1 to u32::MAX are accepted and counted.
#[test]
fn limits_from_one_to_u32_max() {
    let (b, _) = breaker(consecutive(1));
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
    let (b, _) = breaker(consecutive(u32::MAX));
    run_n(&b, 10_000, Outcome::Failure);
    assert_eq!((b.state(), run_length(&b)), (State::Closed, 10_000));
    run_n(&b, 1, Outcome::Success);
    assert_eq!(run_length(&b), 0);
}

/// One thread, random calls, late permits and transitions: the snapshot's run and the state
/// agree after every step with a model (a run lengthened by failures of the period in force,
/// ended by its successes, tripping Closed at the limit).
#[test]
fn the_snapshot_and_the_state_agree_with_a_model_of_runs() {
    for seed in 1..=40u64 {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        let limit = 1 + (next(&mut x) % 6) as u32;
        let (path, config) = with_each_path(limit).swap_remove((next(&mut x) % 4) as usize);
        let (b, _) = breaker(config);
        let mut run_now = 0u32;
        let mut period = 0u64;
        let mut state = State::Closed;
        let mut held = Vec::new();
        for step in 0..400 {
            let r = next(&mut x);
            // (outcome, of the period in force)
            let recorded = match r % 16 {
                0..=5 => Some((Outcome::Failure, run(&b, Outcome::Failure))),
                6..=8 => Some((Outcome::Success, run(&b, Outcome::Success))),
                9 | 10 => {
                    held.push((b.try_acquire().expect("admitted"), period));
                    None
                }
                11 | 12 if !held.is_empty() => {
                    let (p, admitted_in) = held.swap_remove((r >> 8) as usize % held.len());
                    let outcome = if r & (1 << 20) != 0 {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    };
                    p.record(outcome);
                    Some((outcome, admitted_in == period))
                }
                13 => {
                    b.reset();
                    (state, run_now, period) = (State::Closed, 0, period + 1);
                    None
                }
                14 => {
                    b.metrics_only();
                    (state, run_now, period) = (State::MetricsOnly, 0, period + 1);
                    None
                }
                _ => None,
            };
            match recorded {
                Some((Outcome::Success, true)) => run_now = 0,
                Some((Outcome::Failure, true)) => run_now += 1,
                _ => {}
            }
            if state == State::Closed && run_now >= limit {
                (state, run_now, period) = (State::Open, 0, period + 1);
            }
            let at = format!("seed {seed} ({path}, limit {limit}), step {step}");
            assert_eq!(b.state(), state, "{at}");
            assert_eq!(run_length(&b), run_now, "{at}");
            if state == State::Open {
                b.reset();
                (state, period) = (State::Closed, period + 1);
            }
        }
    }
}

/// Threads recording failure, success, failure, .. can make a run of at most one failure per
/// thread: with 80 threads (16 of them sharing the overflow stripe) and a limit a little above,
/// the breaker never trips; in waves, so new threads take the slots of those that exited.
/// After the join the last outcome of every thread was a success: no run.
#[test]
fn threads_alternating_failures_and_successes_never_make_a_long_run() {
    const THREADS: u32 = 80;
    let (b, _) = breaker(consecutive(THREADS + 8));
    for wave in 0..3 {
        std::thread::scope(|s| {
            for _ in 0..THREADS {
                let b = &b;
                s.spawn(move || {
                    for _ in 0..2_000 {
                        run(b, Outcome::Failure);
                        run(b, Outcome::Success);
                    }
                });
            }
        });
        assert_eq!(b.state(), State::Closed, "wave {wave}");
        assert_eq!(run_length(&b), 0, "wave {wave}: every thread ended on a success");
    }
    let totals = b.snapshot().totals;
    assert_eq!((totals.failures, totals.successes), (480_000, 480_000));
}

/// The run word keeps the low 24 bits of the count of successes: a failure, exactly 2^24
/// successes, and a failure are not two failures in a row (about 2 s in a debug build).
#[test]
fn a_multiple_of_2_pow_24_successes_between_two_failures_still_ends_the_run() {
    let (b, _) = breaker(consecutive(2));
    run_n(&b, 1, Outcome::Failure);
    for _ in 0..(1u32 << 24) {
        b.try_acquire().expect("closed").success();
    }
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "F, 16777216 x S, F: not two in a row");
    assert_eq!(run_length(&b), 1);
}

/// The same 2^24 successes spread over four threads, none of whose own counts is a multiple of
/// the whole.
#[test]
fn a_multiple_of_2_pow_24_successes_over_four_threads_still_ends_the_run() {
    let (b, _) = breaker(consecutive(2));
    run_n(&b, 1, Outcome::Failure);
    let shares = [(1u32 << 22) + 12_345, (1 << 22) - 7, (1 << 22) + 99, (1 << 22) - 12_437];
    assert_eq!(shares.iter().sum::<u32>(), 1 << 24);
    std::thread::scope(|s| {
        for share in shares {
            let b = &b;
            s.spawn(move || {
                for _ in 0..share {
                    b.try_acquire().expect("closed").success();
                }
            });
        }
    });
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "F, 16777216 x S on four threads, F");
    assert_eq!(run_length(&b), 1);
}

// ---------------------------------------------------------------------------------------------
// The time window's budget
// ---------------------------------------------------------------------------------------------

const SEC: u64 = 1_000_000_000;

/// A rate rule as the breaker judges it (inclusive thresholds, from `minimum_calls` on).
#[derive(Clone, Copy, Debug)]
struct Rule {
    failure_rate: f64,
    slow_call_rate: Option<f64>,
    minimum_calls: u32,
}

impl Rule {
    fn config(self) -> cb_runtime::BreakerConfigBuilder {
        let c = BreakerConfig::builder()
            .no_consecutive_failures()
            .failure_rate_threshold(self.failure_rate)
            .window(Window::Time(secs(10)))
            .minimum_calls(self.minimum_calls)
            .slow_call_duration(millis(500))
            .jitter(0.0);
        match self.slow_call_rate {
            Some(r) => c.slow_call_rate_threshold(r),
            None => c.no_slow_call_rate(),
        }
    }

    fn trips(self, calls: u64, failures: u64, slow: u64) -> bool {
        if calls == 0 || calls < u64::from(self.minimum_calls) {
            return false;
        }
        failures as f64 / calls as f64 >= self.failure_rate
            || self.slow_call_rate.is_some_and(|r| slow as f64 / calls as f64 >= r)
    }

    fn random(x: &mut u64) -> Rule {
        const RATES: [f64; 7] = [0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0];
        const MINIMUM: [u32; 5] = [1, 5, 10, 50, 200];
        Rule {
            failure_rate: RATES[(next(x) % 7) as usize],
            slow_call_rate: (!next(x).is_multiple_of(3)).then(|| RATES[(next(x) % 7) as usize]),
            minimum_calls: MINIMUM[(next(x) % 5) as usize],
        }
    }
}

/// One thread, random mixes of fast and slow successes and failures (a slow call is one the
/// manual clock advanced past `slow_call_duration` during), clock steps within a bucket,
/// across buckets and past the window, reconfigurations (thresholds and minimum raised or
/// lowered) and resets: after every outcome the breaker is Open exactly when a model of the
/// window (every outcome of the period with its second) reaches a threshold.
#[test]
fn a_time_window_trips_on_exactly_the_outcome_a_model_says() {
    for seed in 1..=60u64 {
        let mut x = seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
        let mut rule = Rule::random(&mut x);
        let (b, clock) = breaker(rule.config());
        clock.advance(Duration::from_nanos(next(&mut x) % (100 * SEC)));
        let now = |clock: &ManualClock| clock.elapsed().as_nanos() as u64;
        // (second, failure, slow) of every outcome of the period in force.
        let mut outcomes: Vec<(u64, bool, bool)> = Vec::new();
        let mut trips = 0;
        for step in 0..3_000 {
            let r = next(&mut x);
            let call = match r % 64 {
                0..=29 => Some((false, false)),
                30..=43 => Some((true, false)),
                44..=49 => Some((false, true)),
                50..=53 => Some((true, true)),
                54..=58 => {
                    clock.advance(Duration::from_nanos((r >> 8) % (SEC / 2)));
                    None
                }
                59 | 60 => {
                    clock.advance(Duration::from_nanos(SEC + (r >> 8) % (2 * SEC)));
                    None
                }
                61 => {
                    clock.advance(Duration::from_nanos(10 * SEC + (r >> 8) % (5 * SEC)));
                    None
                }
                62 => {
                    rule = Rule::random(&mut x);
                    b.reconfigure(rule.config().build().unwrap());
                    None
                }
                _ => {
                    b.reset();
                    outcomes.clear();
                    None
                }
            };
            let Some((failure, slow_call)) = call else {
                continue;
            };
            let permit = b.try_acquire().expect("closed");
            if slow_call {
                clock.advance(Duration::from_nanos(SEC / 2 + 1 + (r >> 8) % SEC));
            }
            permit.record(if failure { Outcome::Failure } else { Outcome::Success });
            let second = now(&clock) / SEC;
            outcomes.push((second, failure, slow_call && rule.slow_call_rate.is_some()));
            let window = outcomes.iter().filter(|(s, _, _)| s + 10 > second);
            let (calls, failures, slow) = window.fold((0, 0, 0), |(c, f, s), o| {
                (c + 1, f + u64::from(o.1), s + u64::from(o.2))
            });
            let expected = rule.trips(calls, failures, slow);
            assert_eq!(
                b.state() == State::Open,
                expected,
                "seed {seed} step {step}: {rule:?}, window {calls} calls, {failures} failures, {slow} slow"
            );
            if expected {
                trips += 1;
                b.reset();
                outcomes.clear();
            }
        }
        assert!(trips > 0, "seed {seed} never tripped: the test proves nothing");
    }
}

/// A judgement with raised thresholds grants a larger budget; lowering them again in the same
/// bucket span must not let failures skip judgement on it. (Past the budget of the first
/// judgement under 0.5, the failures under 0.95 are judged and granted one under 0.95.)
#[test]
fn thresholds_raised_then_lowered_in_one_bucket_trip_on_the_exact_failure() {
    let rule = |failure_rate| Rule {
        failure_rate,
        slow_call_rate: None,
        minimum_calls: 10,
    };
    let (b, _) = breaker(rule(0.5).config());
    run_n(&b, 100, Outcome::Success);
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(rule(0.95).config().build().unwrap());
    run_n(&b, 200, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "202 / 302 under 0.95");
    b.reconfigure(rule(0.5).config().build().unwrap());
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "203 / 303 >= 0.5");

    let (b, _) = breaker(rule(0.5).config());
    run_n(&b, 100, Outcome::Success);
    run_n(&b, 2, Outcome::Failure);
    b.reconfigure(rule(0.95).config().build().unwrap());
    run_n(&b, 30, Outcome::Failure);
    b.reconfigure(rule(0.5).config().build().unwrap());
    run_n(&b, 67, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "99 / 199 under 0.5");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "100 / 200");
}

/// A minimum raised by `reconfigure` holds judgement off; lowered again, the next failure
/// judges.
#[test]
fn a_minimum_raised_then_lowered_applies_from_the_next_failure() {
    let rule = |minimum_calls| Rule {
        failure_rate: 0.5,
        slow_call_rate: None,
        minimum_calls,
    };
    let (b, _) = breaker(rule(10).config());
    run_n(&b, 10, Outcome::Success);
    run_n(&b, 1, Outcome::Failure);
    b.reconfigure(rule(1_000).config().build().unwrap());
    run_n(&b, 20, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "31 calls under a minimum of 1000");
    b.reconfigure(rule(10).config().build().unwrap());
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "22 / 32 >= 0.5");
}

/// A budget granted before a transition is of the old period: after force_open and reset, or
/// MetricsOnly and back, in the same bucket span, the window starts empty and the failure that
/// completes the minimum trips.
#[test]
fn a_budget_does_not_survive_a_transition_and_back_to_closed() {
    type Transition = fn(&CircuitBreaker);
    let transitions: [(&str, Transition); 3] = [
        ("forced open, reset", |b| {
            b.force_open();
            b.reset();
        }),
        ("metrics only, closed", |b| {
            b.metrics_only();
            run_n(b, 100, Outcome::Success);
            run_n(b, 2, Outcome::Failure);
            b.transition_to(State::Closed).unwrap();
        }),
        ("reset", |b| b.reset()),
    ];
    for (name, transition) in transitions {
        let (b, _) = breaker(
            Rule {
                failure_rate: 0.5,
                slow_call_rate: None,
                minimum_calls: 10,
            }
            .config(),
        );
        run_n(&b, 100, Outcome::Success);
        run_n(&b, 2, Outcome::Failure);
        transition(&b);
        run_n(&b, 9, Outcome::Failure);
        assert_eq!(b.state(), State::Closed, "{name}: 9 calls, under the minimum");
        run_n(&b, 1, Outcome::Failure);
        assert_eq!(b.state(), State::Open, "{name}: 10 / 10");
    }
}

/// A clock source that can be set anywhere, back too.
#[derive(Debug, Default)]
struct Settable(AtomicU64);

impl ClockSource for Settable {
    fn now_nanos(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A budget granted in one second is worth something only while the buckets it counted are in
/// the window. Once a call of the next second moved the ring on (the successes of the oldest
/// bucket left), failures read with a clock a little behind (the breaker's coarse clock lags
/// its precise one, which sampled calls read; another thread's reading may be older) must be
/// judged on what is left: here 1 F (9.5 s), 1 S (10.5 s), then 8 F read at 9.6 s make 9 F in
/// 10 calls, at the minimum and over 0.5.
#[test]
fn a_budget_does_not_outlive_buckets_that_left_when_a_reading_lags() {
    let source = Arc::new(Settable::default());
    let b = CircuitBreaker::builder("lagging")
        .clock(Clock::custom(source.clone()))
        .config(
            Rule {
                failure_rate: 0.5,
                slow_call_rate: None,
                minimum_calls: 10,
            }
            .config()
            .build()
            .unwrap(),
        )
        .build();
    source.0.store(SEC / 2, Ordering::Relaxed);
    run_n(&b, 100, Outcome::Success);
    source.0.store(9 * SEC + SEC / 2, Ordering::Relaxed);
    run_n(&b, 1, Outcome::Failure);
    source.0.store(10 * SEC + SEC / 2, Ordering::Relaxed);
    run_n(&b, 1, Outcome::Success);
    assert_eq!(b.snapshot().window.calls, 2, "the successes of 0.5 s left at 10 s");
    source.0.store(9 * SEC + 6 * SEC / 10, Ordering::Relaxed);
    run_n(&b, 7, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "9 calls: under the minimum");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open, "9 F in 10 calls");
}

/// Threads racing outcomes into a window of 1000 successes at a threshold of 0.5, each call a
/// failure with probability 0.6 (or 1), so that the rate creeps up over thousands of
/// judgements and budgets, while two more threads spin (a judge is descheduled now and then
/// between its read of the counts and its grant): the judgement that trips sees at most a few
/// failures more than the rate needed. Lateness: how many of the failures it saw could go with
/// the rate still at the threshold (printed, per round).
#[test]
fn threads_trip_the_budgeted_window_at_most_a_few_failures_late() {
    const SUCCESSES: u64 = 1_000;
    let stop = std::sync::atomic::AtomicBool::new(false);
    std::thread::scope(|spinners| {
        for _ in 0..2 {
            spinners.spawn(|| {
                while !stop.load(Ordering::Relaxed) {
                    std::hint::spin_loop();
                }
            });
        }
        let mut report = Vec::new();
        for (threads, percent) in [(2usize, 100u64), (2, 60), (8, 100), (8, 60), (80, 60)] {
            let mut all = Vec::new();
            for round in 0..40u64 {
                all.push(one_race(SUCCESSES, threads, percent, round));
            }
            eprintln!("{threads} threads, {percent}% failures: failures late {all:?}");
            report.push((threads, all));
        }
        stop.store(true, Ordering::Relaxed);
        for (threads, all) in report {
            let worst = all.iter().copied().max().unwrap();
            assert!(
                worst <= threads as u64,
                "{threads} threads: a trip {worst} failures late ({all:?})"
            );
        }
    });
}

/// One round of [`threads_trip_the_budgeted_window_at_most_a_few_failures_late`]: how late.
fn one_race(successes: u64, threads: usize, percent: u64, round: u64) -> u64 {
    let (b, clock) = breaker(
        Rule {
            failure_rate: 0.5,
            slow_call_rate: None,
            minimum_calls: 10,
        }
        .config(),
    );
    clock.advance(millis(500));
    run_n(&b, successes as usize, Outcome::Success);
    let barrier = Barrier::new(threads);
    std::thread::scope(|s| {
        for t in 0..threads as u64 {
            let (b, barrier) = (&b, &barrier);
            s.spawn(move || {
                let mut x = (round * 1_000 + t + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
                barrier.wait();
                while let Ok(permit) = b.try_acquire() {
                    if next(&mut x) % 100 < percent {
                        permit.failure();
                    } else {
                        permit.success();
                    }
                }
            });
        }
    });
    let Some(Reason::FailureRate { rate, calls, .. }) = b.snapshot().tripped_by else {
        panic!("tripped by {:?}", b.snapshot().tripped_by);
    };
    let failures = (rate * calls as f64).round() as u64;
    // The most failures k with (failures - k) / (calls - k) still >= 0.5.
    (2 * failures).saturating_sub(calls)
}

/// Panics and cancellations against the run: a call that panics is a failure and lengthens
/// the run (on the sync path and while an async call is polled), a cancelled async call records
/// nothing and so ends nothing, and a success after them ends the run.
#[test]
fn panics_lengthen_the_run_and_cancelled_calls_end_nothing() {
    let (b, _) = breaker(consecutive(4));
    run_n(&b, 1, Outcome::Failure);
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = b.call_sync(|| -> Result<(), ()> { panic!("backend client bug") });
    }));
    assert!(panicked.is_err());
    assert_eq!(run_length(&b), 2, "a sync panic is the run's second failure");

    let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        runtime.block_on(async {
            let _ = b
                .call(async || -> Result<(), ()> { panic!("async backend client bug") })
                .await;
        })
    }));
    assert!(panicked.is_err());
    assert_eq!(run_length(&b), 3, "an async panic is the third");

    for _ in 0..5 {
        let mut call = std::pin::pin!(b.call(async || {
            std::future::pending::<()>().await;
            Ok::<(), ()>(())
        }));
        assert!(
            support::polling::poll_once(call.as_mut()).is_pending(),
            "admitted and running"
        );
    }
    assert_eq!(run_length(&b), 3, "cancelled calls are no successes");
    assert_eq!(b.snapshot().totals.successes, 0);

    run_n(&b, 1, Outcome::Success);
    run_n(&b, 3, Outcome::Failure);
    assert_eq!(b.state(), State::Closed, "the success ended the run: three, not six");
    run_n(&b, 1, Outcome::Failure);
    assert_eq!(b.state(), State::Open);
}
