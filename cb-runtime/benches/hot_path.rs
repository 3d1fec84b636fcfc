//! Per-call cost of cb against a bare call, failsafe and recloser, measured in the same run.
//!
//! Groups: `closed_success` (every call succeeds), `closed_mixed` (every other call fails, no
//! breaker trips), `open_rejection` (the breaker is open), `two_threads` (two threads share one
//! breaker; throughput is reported per call, compare with the one-thread figure of the same
//! configuration in `closed_success`).

use cb_runtime::{BreakerConfig, CircuitBreaker, Window};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use failsafe::CircuitBreaker as _;
use std::hint::black_box;
use std::time::{Duration, Instant};

#[path = "support/pin.rs"]
mod pin;

const HOUR: Duration = Duration::from_secs(3600);

fn work(i: u64) -> Result<u64, u64> {
    if black_box(i) == u64::MAX { Err(i) } else { Ok(i) }
}

fn mixed(i: u64) -> Result<u64, u64> {
    if black_box(i).is_multiple_of(2) { Err(i) } else { Ok(i) }
}

fn cb_consecutive() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .consecutive_failures(1_000)
        .no_failure_rate()
        .build()
        .unwrap();
    CircuitBreaker::new("bench-consecutive", config)
}

fn cb_count_window() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .consecutive_failures(1_000)
        .failure_rate_threshold(0.9)
        .window(Window::Count(100))
        .build()
        .unwrap();
    CircuitBreaker::new("bench-count-window", config)
}

/// A count window with the rate trigger alone: recloser's configuration (it has no
/// consecutive trigger), for a like-for-like comparison.
fn cb_count_window_only() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.9)
        .window(Window::Count(100))
        .build()
        .unwrap();
    CircuitBreaker::new("bench-count-window-only", config)
}

fn cb_time_window() -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .consecutive_failures(1_000)
        .failure_rate_threshold(0.9)
        .build()
        .unwrap();
    CircuitBreaker::new("bench-time-window", config)
}

/// The same breaker as `cb_count_window`, through the attribute macro.
#[cb_runtime::circuit_breaker(
    name = "bench-macro",
    consecutive_failures = 1000,
    failure_rate_threshold = 0.9,
    window = 100
)]
fn macro_call(f: fn(u64) -> Result<u64, u64>, i: u64) -> Result<u64, BenchError> {
    f(i).map_err(|_| BenchError)
}

#[derive(Debug)]
struct BenchError;

impl From<cb_runtime::Rejected> for BenchError {
    fn from(_: cb_runtime::Rejected) -> Self {
        BenchError
    }
}

fn failsafe_consecutive() -> impl failsafe::CircuitBreaker {
    use failsafe::{backoff, failure_policy};
    failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(1_000, backoff::constant(HOUR)))
        .build()
}

fn recloser() -> recloser::Recloser {
    recloser::Recloser::custom()
        .error_rate(0.9)
        .closed_len(100)
        .open_wait(HOUR)
        .build()
}

/// Every contender as a closure running one call with outcome `f(i)`.
/// One contender: runs a call and says whether it returned `Ok`.
type Contender = Box<dyn Fn(u64) -> bool + Send + Sync>;

fn contenders(f: fn(u64) -> Result<u64, u64>) -> Vec<(&'static str, Contender)> {
    let consecutive = cb_consecutive();
    let count = cb_count_window();
    let count_only = cb_count_window_only();
    let time = cb_time_window();
    let fs_consecutive = failsafe_consecutive();
    let fs_default = failsafe::Config::new().build();
    let rc = recloser();
    vec![
        ("bare", Box::new(move |i| f(i).is_ok())),
        (
            "cb_consecutive",
            Box::new(move |i| consecutive.call_sync(|| f(i)).is_ok()),
        ),
        ("cb_count_window", Box::new(move |i| count.call_sync(|| f(i)).is_ok())),
        (
            "cb_count_window_only",
            Box::new(move |i| count_only.call_sync(|| f(i)).is_ok()),
        ),
        ("cb_time_window", Box::new(move |i| time.call_sync(|| f(i)).is_ok())),
        ("cb_macro", Box::new(move |i| macro_call(f, i).is_ok())),
        (
            "failsafe_consecutive",
            Box::new(move |i| fs_consecutive.call(|| f(i)).is_ok()),
        ),
        ("failsafe_default", Box::new(move |i| fs_default.call(|| f(i)).is_ok())),
        ("recloser", Box::new(move |i| rc.call(|| f(i)).is_ok())),
    ]
}

fn closed(c: &mut Criterion, group: &str, f: fn(u64) -> Result<u64, u64>) {
    let mut g = c.benchmark_group(group);
    g.throughput(Throughput::Elements(1));
    for (name, call) in contenders(f) {
        let mut i = 0u64;
        g.bench_function(name, |b| {
            b.iter(|| {
                i = i.wrapping_add(1);
                black_box(call(i))
            })
        });
    }
    g.finish();
}

fn closed_success(c: &mut Criterion) {
    closed(c, "closed_success", work);
}

fn closed_mixed(c: &mut Criterion) {
    closed(c, "closed_mixed", mixed);
}

fn open_rejection(c: &mut Criterion) {
    let mut g = c.benchmark_group("open_rejection");
    g.throughput(Throughput::Elements(1));

    let cb = CircuitBreaker::new(
        "bench-open",
        BreakerConfig::builder()
            .consecutive_failures(1)
            .open_timeout(HOUR)
            .max_open_timeout(HOUR)
            .build()
            .unwrap(),
    );
    let _ = cb.call_sync(|| Err::<(), _>(()));
    g.bench_function("cb", |b| b.iter(|| black_box(cb.call_sync(|| work(1)).is_err())));

    use failsafe::{backoff, failure_policy};
    let fs = failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(1, backoff::constant(HOUR)))
        .build();
    let _ = fs.call(|| Err::<(), _>(()));
    g.bench_function("failsafe", |b| b.iter(|| black_box(fs.call(|| work(1)).is_err())));

    let rc = recloser::Recloser::custom()
        .error_rate(0.5)
        .closed_len(1)
        .open_wait(HOUR)
        .build();
    for _ in 0..3 {
        let _ = rc.call(|| Err::<(), _>(()));
    }
    g.bench_function("recloser", |b| b.iter(|| black_box(rc.call(|| work(1)).is_err())));
    g.finish();
}

/// Two threads share one breaker; one iteration is one call on each thread.
fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("two_threads");
    g.throughput(Throughput::Elements(2));
    for (name, call) in contenders(work) {
        g.bench_with_input(BenchmarkId::from_parameter(name), &call, |b, call| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..2 {
                        s.spawn(move || {
                            pin::pin_to_cpu(t);
                            for i in 0..iters {
                                black_box(call(i));
                            }
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, closed_success, closed_mixed, open_rejection, two_threads);
criterion_main!(benches);
