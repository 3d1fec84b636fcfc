//! Per-call cost of protecting an async call, against a bare await and the async APIs of
//! recloser and failsafe, measured in the same run.
//!
//! Every future completes on its first poll, so the figures are the wrappers' own cost: each
//! benchmark polls one future that runs the calls in a loop, with a no-op waker (no executor in
//! the measurement).
//!
//! The macro functions use the same configuration as `cb_api_consecutive` (a consecutive
//! trigger, no rate window), so the rows compare the wrappers, not the triggers.
//!
//! Groups: `async_closed_success` (every call succeeds), `async_closed_mixed` (every other call
//! fails, thresholds high enough that nothing trips; the count window also through the macro),
//! `async_threads_10pct_failures` (one, then two threads on one breaker; per call; `bare` is
//! the same calls unprotected, so its two-thread ratio is what this machine allows at most).

use cb_runtime::{BreakerConfig, CircuitBreaker, CircuitProtected, Rejected, Window, circuit_breaker};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use failsafe::futures::CircuitBreaker as _;
use std::future::Future;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[path = "support/pin.rs"]
mod pin;
mod support;
use support::block_on;

const HOUR: Duration = Duration::from_secs(3600);

#[inline(never)]
async fn work(i: u64) -> Result<u64, u64> {
    if black_box(i) == u64::MAX { Err(i) } else { Ok(i) }
}

#[inline(never)]
async fn every_other_fails(i: u64) -> Result<u64, u64> {
    if black_box(i).is_multiple_of(2) { Err(i) } else { Ok(i) }
}

#[inline(never)]
async fn tenth_fail(i: u64) -> Result<u64, u64> {
    if black_box(i).is_multiple_of(10) { Err(i) } else { Ok(i) }
}

#[derive(Debug)]
struct BenchError;

impl From<Rejected> for BenchError {
    fn from(_: Rejected) -> Self {
        BenchError
    }
}

fn consecutive() -> BreakerConfig {
    BreakerConfig::builder()
        .consecutive_failures(u32::MAX)
        .no_failure_rate()
        .build()
        .unwrap()
}

fn count_window() -> BreakerConfig {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.9)
        .window(Window::Count(100))
        .build()
        .unwrap()
}

fn time_window() -> BreakerConfig {
    BreakerConfig::builder()
        .no_consecutive_failures()
        .failure_rate_threshold(0.9)
        .build()
        .unwrap()
}

#[circuit_breaker(name = "bench-async-fn", consecutive_failures = 1000, failure_rate_threshold = "off")]
async fn macro_fn(i: u64) -> Result<u64, BenchError> {
    work(i).await.map_err(|_| BenchError)
}

/// `async_closed_mixed`'s count window through the macro, as a user writes it.
#[circuit_breaker(
    name = "bench-async-fn-count-mixed",
    consecutive_failures = "off",
    failure_rate_threshold = 0.9,
    window = 100
)]
async fn macro_fn_count_mixed(i: u64) -> Result<u64, BenchError> {
    every_other_fails(i).await.map_err(|_| BenchError)
}

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "bench-async-method",
    consecutive_failures = 1000,
    failure_rate_threshold = "off"
)]
struct Client;

impl Client {
    #[circuit_breaker]
    async fn get(&self, i: u64) -> Result<u64, BenchError> {
        work(i).await.map_err(|_| BenchError)
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "bench-async-keyed",
    consecutive_failures = 1000,
    failure_rate_threshold = "off"
)]
struct KeyedClient {
    #[circuit_breaker(key)]
    tenant: &'static str,
}

impl KeyedClient {
    #[circuit_breaker]
    async fn get(&self, i: u64) -> Result<u64, BenchError> {
        work(i).await.map_err(|_| BenchError)
    }
}

fn recloser_ring() -> recloser::AsyncRecloser {
    recloser::Recloser::custom()
        .error_rate(0.9)
        .closed_len(100)
        .open_wait(HOUR)
        .build()
        .into()
}

fn failsafe_consecutive() -> impl failsafe::futures::CircuitBreaker {
    use failsafe::{backoff, failure_policy};
    failsafe::Config::new()
        .failure_policy(failure_policy::consecutive_failures(u32::MAX, backoff::constant(HOUR)))
        .build()
}

/// Benchmarks `$call` (an async expression of `$i`) as one call per iteration.
macro_rules! bench {
    ($g:expr, $name:expr, |$i:ident| $call:expr) => {
        $g.bench_function($name, |b| {
            b.iter_custom(|iters| {
                block_on(async {
                    let start = Instant::now();
                    for $i in 0..iters {
                        black_box($call.is_ok());
                    }
                    start.elapsed()
                })
            })
        });
    };
}

fn async_closed_success(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_closed_success");
    g.throughput(Throughput::Elements(1));
    let api = CircuitBreaker::new("bench-async-api", consecutive());
    let api_count = CircuitBreaker::new("bench-async-api-count", count_window());
    let api_time = CircuitBreaker::new("bench-async-api-time", time_window());
    let client = Client;
    let keyed = KeyedClient { tenant: "acme" };
    let rc = recloser_ring();
    let fs = failsafe_consecutive();
    bench!(g, "bare", |i| work(i).await);
    bench!(g, "cb_api_consecutive", |i| api.call(async || work(i).await).await);
    bench!(g, "cb_api_count_window", |i| api_count
        .call(async || work(i).await)
        .await);
    bench!(g, "cb_api_time_window", |i| api_time.call(async || work(i).await).await);
    bench!(g, "cb_macro_fn", |i| macro_fn(i).await);
    bench!(g, "cb_macro_method", |i| client.get(i).await);
    bench!(g, "cb_macro_keyed", |i| keyed.get(i).await);
    bench!(g, "recloser_async", |i| rc.call(work(i)).await);
    bench!(g, "failsafe_futures", |i| fs.call(work(i)).await);
    g.finish();
}

fn async_closed_mixed(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_closed_mixed");
    g.throughput(Throughput::Elements(1));
    let api = CircuitBreaker::new("bench-async-api-mixed", consecutive());
    let api_count = CircuitBreaker::new("bench-async-api-count-mixed", count_window());
    let api_time = CircuitBreaker::new("bench-async-api-time-mixed", time_window());
    let rc = recloser_ring();
    let fs = failsafe_consecutive();
    bench!(g, "bare", |i| every_other_fails(i).await);
    bench!(g, "cb_api_consecutive", |i| api
        .call(async || every_other_fails(i).await)
        .await);
    bench!(g, "cb_api_count_window", |i| api_count
        .call(async || every_other_fails(i).await)
        .await);
    bench!(g, "cb_api_time_window", |i| api_time
        .call(async || every_other_fails(i).await)
        .await);
    bench!(g, "cb_macro_fn_count_window", |i| macro_fn_count_mixed(i).await);
    bench!(g, "recloser_async", |i| rc.call(every_other_fails(i)).await);
    bench!(g, "failsafe_futures", |i| fs.call(every_other_fails(i)).await);
    g.finish();
}

/// Runs `call` on this thread alone, then on two threads at once; reports per call.
fn threads<F, Fut>(g: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, call: F)
where
    F: Fn(u64) -> Fut + Sync,
    Fut: Future<Output = bool>,
{
    for n in [1u64, 2] {
        g.bench_function(format!("{name}/{n}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..n {
                        let call = &call;
                        s.spawn(move || {
                            pin::pin_to_cpu(t as usize);
                            block_on(async {
                                for i in 0..iters / n {
                                    black_box(call(i).await);
                                }
                            })
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
}

fn async_two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("async_threads_10pct_failures");
    g.throughput(Throughput::Elements(1));
    let api = Arc::new(CircuitBreaker::new("bench-async-2t", consecutive()));
    let api_count = Arc::new(CircuitBreaker::new("bench-async-2t-count", count_window()));
    let api_time = Arc::new(CircuitBreaker::new("bench-async-2t-time", time_window()));
    let rc = recloser_ring();
    // What the machine gives two threads that share nothing: the ceiling of every row below.
    threads(&mut g, "bare", |i| async move { tenth_fail(i).await.is_ok() });
    threads(&mut g, "cb_consecutive", |i| {
        let api = &api;
        async move { api.call(async || tenth_fail(i).await).await.is_ok() }
    });
    threads(&mut g, "cb_count_window", |i| {
        let api = &api_count;
        async move { api.call(async || tenth_fail(i).await).await.is_ok() }
    });
    threads(&mut g, "cb_time_window", |i| {
        let api = &api_time;
        async move { api.call(async || tenth_fail(i).await).await.is_ok() }
    });
    threads(&mut g, "recloser_async", |i| {
        let rc = &rc;
        async move { rc.call(tenth_fail(i)).await.is_ok() }
    });
    g.finish();
}

criterion_group!(benches, async_closed_success, async_closed_mixed, async_two_threads);
criterion_main!(benches);
