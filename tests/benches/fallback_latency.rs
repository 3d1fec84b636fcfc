//! Latency of a protected HTTP call whose backend is down: connection refused, or too slow
//! (2s) for a 50ms `timeout`. Reports p50/p99 over 2,000 sequential calls from a fresh, closed
//! breaker (the first calls fail for real, then the breaker rejects and the fallback answers),
//! next to the same client without a breaker, then criterion's per-call time once open.
//! Then each fallback strategy serving an open breaker's rejection (a function, a value, the
//! empty response, the last-good cache, chains), and what the cache costs a successful call.

use axum::Router;
use axum::routing::get;
use cb_runtime::{CallError, Rejected, circuit_breaker, registry};
use criterion::{Criterion, criterion_group, criterion_main};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

struct Client {
    http: reqwest::Client,
    url: String,
}

#[derive(Debug)]
struct Failed;

async fn fetch_unprotected(client: &Client) -> Result<String, Failed> {
    let r = client
        .http
        .get(&client.url)
        .timeout(Duration::from_millis(50))
        .send()
        .await
        .map_err(|_| Failed)?;
    r.text().await.map_err(|_| Failed)
}

impl Client {
    #[circuit_breaker(name = "bench-down", consecutive_failures = 5, open_timeout = "10m", fallback = cached)]
    async fn fetch_refused(&self) -> Result<String, Failed> {
        fetch_unprotected(self).await
    }

    #[circuit_breaker(name = "bench-slow", consecutive_failures = 5, open_timeout = "10m", timeout = "50ms", fallback = cached)]
    async fn fetch_slow(&self) -> Result<String, Failed> {
        let r = self.http.get(&self.url).send().await.map_err(|_| Failed)?;
        r.text().await.map_err(|_| Failed)
    }

    fn cached(&self, _cause: CallError<Failed>) -> Result<String, Failed> {
        Ok("cached".into())
    }
}

async fn refused_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    format!("http://{addr}/")
}

async fn slow_url() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = Router::new().route(
        "/",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(2)).await;
            "late"
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    format!("http://{addr}/")
}

async fn percentiles<F: AsyncFnMut() -> bool>(label: &str, calls: usize, mut call: F) {
    let mut took: Vec<Duration> = Vec::with_capacity(calls);
    for _ in 0..calls {
        let start = Instant::now();
        assert!(call().await || label.contains("no breaker"));
        took.push(start.elapsed());
    }
    took.sort();
    let p = |q: f64| took[((calls as f64 * q) as usize).min(calls - 1)];
    println!(
        "{label:<48} p50 {:>10.1?}  p99 {:>10.1?}  max {:>10.1?}",
        p(0.50),
        p(0.99),
        took[calls - 1]
    );
}

fn fallback_latency(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (down, slow) = rt.block_on(async { (refused_url().await, slow_url().await) });
    let http = reqwest::Client::new();
    let down = Client {
        http: http.clone(),
        url: down,
    };
    let slow = Client { http, url: slow };
    rt.block_on(async {
        percentiles("connection refused, no breaker", 200, async || {
            fetch_unprotected(&down).await.is_ok()
        })
        .await;
        percentiles("connection refused, breaker + fallback", 2_000, async || {
            down.fetch_refused().await.is_ok()
        })
        .await;
        percentiles("slow backend, 50ms timeout, no breaker", 40, async || {
            fetch_unprotected(&slow).await.is_ok()
        })
        .await;
        percentiles("slow backend, 50ms timeout, breaker + fallback", 2_000, async || {
            slow.fetch_slow().await.is_ok()
        })
        .await;
    });
    let mut g = c.benchmark_group("fallback_when_open");
    g.bench_function("connection_refused", |b| b.to_async(&rt).iter(|| down.fetch_refused()));
    g.bench_function("slow_backend_with_timeout", |b| {
        b.to_async(&rt).iter(|| slow.fetch_slow())
    });
    g.finish();
}

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed
    }
}

/// Whether the strategy benches' bodies succeed (they do until every breaker is forced open).
static UP: AtomicBool = AtomicBool::new(true);

async fn body(id: u64) -> Result<Vec<u64>, Failed> {
    match UP.load(Ordering::Relaxed) {
        true => Ok(vec![id, id + 1]),
        false => Err(Failed),
    }
}

fn function_fallback(id: u64) -> Result<Vec<u64>, Failed> {
    Ok(vec![id])
}

fn failing_fallback(_id: u64) -> Result<Vec<u64>, Failed> {
    Err(Failed)
}

#[circuit_breaker(name = "bench-s-function", fallback = function_fallback)]
async fn with_function(id: u64) -> Result<Vec<u64>, Failed> {
    body(id).await
}

#[circuit_breaker(name = "bench-s-value", fallback_value = Ok(vec![0]))]
async fn with_value(id: u64) -> Result<Vec<u64>, Failed> {
    body(id).await
}

#[circuit_breaker(name = "bench-s-default", fallback = default)]
async fn with_default(id: u64) -> Result<Vec<u64>, Failed> {
    body(id).await
}

#[circuit_breaker(name = "bench-s-cache", fallback = cache)]
async fn with_cache(id: u64) -> Result<Vec<u64>, Failed> {
    body(id).await
}

#[circuit_breaker(name = "bench-s-chain-miss", fallback = [cache, function_fallback])]
async fn with_chain_miss(id: u64) -> Result<Vec<u64>, Failed> {
    body(id).await
}

#[circuit_breaker(name = "bench-s-chain-three", fallback = [cache, failing_fallback, default])]
async fn with_chain_three(id: u64) -> Result<Vec<u64>, Failed> {
    body(id).await
}

fn strategies(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
    let mut g = c.benchmark_group("fallback_strategy_success");
    g.bench_function("function_fallback", |b| b.to_async(&rt).iter(|| with_function(7)));
    g.bench_function("cache_stores_each_success", |b| b.to_async(&rt).iter(|| with_cache(7)));
    g.finish();

    rt.block_on(async {
        with_value(7).await.unwrap();
        with_default(7).await.unwrap();
        with_chain_three(7).await.unwrap();
        with_chain_miss(7).await.unwrap();
    });
    UP.store(false, Ordering::Relaxed);
    for name in [
        "bench-s-function",
        "bench-s-value",
        "bench-s-default",
        "bench-s-cache",
        "bench-s-chain-miss",
        "bench-s-chain-three",
    ] {
        registry().get(name).expect("called once").force_open();
    }
    let mut g = c.benchmark_group("fallback_strategy_on_rejection");
    g.bench_function("function", |b| b.to_async(&rt).iter(|| with_function(7)));
    g.bench_function("value", |b| b.to_async(&rt).iter(|| with_value(7)));
    g.bench_function("default", |b| b.to_async(&rt).iter(|| with_default(7)));
    g.bench_function("cache_hit", |b| b.to_async(&rt).iter(|| with_cache(7)));
    g.bench_function("chain_cache_miss_then_function", |b| {
        b.to_async(&rt).iter(|| with_chain_miss(8))
    });
    g.bench_function("chain_cache_miss_failing_function_default", |b| {
        b.to_async(&rt).iter(|| with_chain_three(8))
    });
    g.finish();
}

criterion_group!(benches, fallback_latency, strategies);
criterion_main!(benches);
