//! Model-based property test: random sequences of acquire / record / drop / clock steps run
//! against the breaker and against a small reference model of DESIGN.md §2; state, half-open
//! slots, the run of failures, the window's counts and the totals must agree after every step.

use cb_runtime::{BreakerConfig, CircuitBreaker, ManualClock, Outcome, Permit, State, Window};
use proptest::prelude::*;
use std::time::Duration;

const MS: u64 = 1_000_000;
const SEC: u64 = 1_000 * MS;

#[derive(Clone, Copy, Debug)]
enum Op {
    Acquire,
    Record(usize, Outcome),
    Drop(usize),
    Advance(u64),
}

fn op() -> impl Strategy<Value = Op> {
    let outcome = prop_oneof![Just(Outcome::Success), Just(Outcome::Failure), Just(Outcome::Ignored)];
    prop_oneof![
        3 => Just(Op::Acquire),
        4 => (0..4usize, outcome).prop_map(|(i, o)| Op::Record(i, o)),
        1 => (0..4usize).prop_map(Op::Drop),
        2 => prop_oneof![Just(0), Just(500 * MS), Just(SEC), Just(2_500 * MS), Just(10 * SEC), Just(11 * SEC)]
            .prop_map(Op::Advance),
    ]
}

#[derive(Clone, Copy, Debug)]
enum ModelWindow {
    Count(usize),
    /// Buckets of one second, this many of them.
    Time(u64),
}

/// The reference model: plain fields, vectors for windows, no concurrency.
#[derive(Debug)]
struct Model {
    window_kind: ModelWindow,
    state: State,
    generation: u64,
    deadline: u64,
    reopens: u32,
    in_flight: u32,
    successes: u32,
    run: u32,
    /// (time recorded, failure, slow)
    window: Vec<(u64, bool, bool)>,
    totals: [u64; 3],
}

#[derive(Clone, Copy, Debug)]
struct ModelPermit {
    state: State,
    generation: u64,
    start: u64,
}

const CONSECUTIVE: u32 = 3;
const MIN_CALLS: usize = 3;
const RATE: f64 = 0.5;
const SLOW: u64 = 2 * SEC;
const HALF_OPEN_MAX: u32 = 2;
const SUCCESSES: u32 = 2;
const OPEN: u64 = 10 * SEC;
const MAX_OPEN: u64 = 40 * SEC;

fn config(window: Window) -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(CONSECUTIVE)
        .failure_rate_threshold(RATE)
        .slow_call_rate_threshold(RATE)
        .slow_call_duration(Duration::from_nanos(SLOW))
        .minimum_calls(MIN_CALLS as u32)
        .window(window)
        .open_timeout(Duration::from_nanos(OPEN))
        .max_open_timeout(Duration::from_nanos(MAX_OPEN))
        .backoff_multiplier(2.0)
        .jitter(0.0)
        .half_open_max_calls(HALF_OPEN_MAX)
        .success_threshold(SUCCESSES)
        .build()
        .unwrap()
}

impl Model {
    fn new(window_kind: ModelWindow) -> Model {
        Model {
            window_kind,
            state: State::Closed,
            generation: 0,
            deadline: 0,
            reopens: 0,
            in_flight: 0,
            successes: 0,
            run: 0,
            window: Vec::new(),
            totals: [0; 3],
        }
    }

    fn enter(&mut self, state: State, now: u64) {
        match (self.state, state) {
            (State::HalfOpen, State::Open) => self.reopens += 1,
            (_, State::Open) => self.reopens = 0,
            (_, State::Closed) => self.reopens = 0,
            _ => {}
        }
        if state == State::Open {
            let wait = (OPEN << self.reopens.min(20)).min(MAX_OPEN);
            self.deadline = now + wait;
        }
        self.state = state;
        self.generation += 1;
        self.in_flight = 0;
        self.successes = 0;
        self.run = 0;
        self.window.clear();
    }

    fn settle(&mut self, now: u64) {
        if self.state == State::Open && now > self.deadline {
            self.enter(State::HalfOpen, now);
        }
    }

    fn acquire(&mut self, now: u64) -> Option<ModelPermit> {
        self.settle(now);
        match self.state {
            State::Closed => {}
            State::HalfOpen if self.in_flight < HALF_OPEN_MAX => self.in_flight += 1,
            _ => return None,
        }
        Some(ModelPermit {
            state: self.state,
            generation: self.generation,
            start: now,
        })
    }

    fn in_window(&self, now: u64) -> Vec<(u64, bool, bool)> {
        match self.window_kind {
            ModelWindow::Count(n) => self.window.iter().rev().take(n).copied().collect(),
            ModelWindow::Time(buckets) => self
                .window
                .iter()
                .filter(|(t, ..)| now / SEC - t / SEC < buckets)
                .copied()
                .collect(),
        }
    }

    fn record(&mut self, p: ModelPermit, outcome: Outcome, now: u64) {
        self.totals[outcome as usize] += 1;
        if p.generation != self.generation {
            return;
        }
        let failure = outcome == Outcome::Failure;
        match (p.state, outcome) {
            (State::HalfOpen, Outcome::Ignored) => self.in_flight -= 1,
            (State::HalfOpen, Outcome::Success) => {
                self.successes += 1;
                self.in_flight -= 1;
                if self.successes >= SUCCESSES {
                    self.enter(State::Closed, now);
                }
            }
            (State::HalfOpen, _) => self.enter(State::Open, now),
            (_, Outcome::Ignored) => {}
            _ => {
                self.run = if failure { self.run + 1 } else { 0 };
                if self.run >= CONSECUTIVE {
                    return self.enter(State::Open, now);
                }
                self.window.push((now, failure, now - p.start > SLOW));
                let w = self.in_window(now);
                let calls = w.len();
                let min = match self.window_kind {
                    ModelWindow::Count(n) => MIN_CALLS.min(n),
                    ModelWindow::Time(_) => MIN_CALLS,
                };
                let failures = w.iter().filter(|e| e.1).count();
                let slow = w.iter().filter(|e| e.2).count();
                if calls >= min && (failures as f64 / calls as f64 >= RATE || slow as f64 / calls as f64 >= RATE) {
                    self.enter(State::Open, now);
                }
            }
        }
    }

    fn release(&mut self, p: ModelPermit) {
        if p.state == State::HalfOpen && p.generation == self.generation {
            self.in_flight -= 1;
        }
    }
}

fn check(window: Window, model_window: ModelWindow, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder("model")
        .config(config(window))
        .clock(clock.clone())
        .build();
    let mut model = Model::new(model_window);
    let mut held: Vec<(Permit<'_>, ModelPermit)> = Vec::new();
    let mut now = 0;
    for (step, op) in ops.into_iter().enumerate() {
        match op {
            Op::Acquire => {
                let real = breaker.try_acquire().ok();
                let expected = model.acquire(now);
                prop_assert_eq!(
                    real.is_some(),
                    expected.is_some(),
                    "step {}: admitted? {:?}",
                    step,
                    model
                );
                if let (Some(r), Some(m)) = (real, expected) {
                    held.push((r, m));
                }
            }
            Op::Record(i, outcome) if i < held.len() => {
                let (real, m) = held.remove(i);
                real.record(outcome);
                model.record(m, outcome, now);
            }
            Op::Drop(i) if i < held.len() => {
                let (real, m) = held.remove(i);
                drop(real);
                model.release(m);
            }
            Op::Advance(by) => {
                now += by;
                clock.advance(Duration::from_nanos(by));
            }
            _ => continue,
        }
        model.settle(now);
        let s = breaker.snapshot();
        prop_assert_eq!(s.state, model.state, "step {}: {:?}", step, op);
        let in_flight = if model.state == State::HalfOpen {
            model.in_flight
        } else {
            0
        };
        prop_assert_eq!(s.half_open_in_flight, in_flight, "step {}: in flight", step);
        if matches!(model.state, State::Closed) {
            let w = model.in_window(now);
            prop_assert_eq!(s.consecutive_failures, model.run, "step {}: run", step);
            prop_assert_eq!(s.window.calls, w.len() as u64, "step {}: window calls", step);
            prop_assert_eq!(
                s.window.failures,
                w.iter().filter(|e| e.1).count() as u64,
                "step {}: window failures",
                step
            );
            prop_assert_eq!(
                s.window.slow_calls,
                w.iter().filter(|e| e.2).count() as u64,
                "step {}: window slow",
                step
            );
        }
        let t = s.totals;
        prop_assert_eq!(
            [t.successes, t.failures, t.ignored],
            model.totals,
            "step {}: totals",
            step
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn count_window_breaker_matches_the_model(ops in prop::collection::vec(op(), 1..120)) {
        check(Window::Count(4), ModelWindow::Count(4), ops)?;
    }

    #[test]
    fn time_window_breaker_matches_the_model(ops in prop::collection::vec(op(), 1..120)) {
        check(Window::Time(Duration::from_secs(10)), ModelWindow::Time(10), ops)?;
    }
}
