//! The call path of a fleet-attached breaker while its Redis is healthy, never answers,
//! refuses connections, or is out of memory: a call must cost what it costs without a fleet
//! (Redis is never awaited on the call path). The fleet syncs every millisecond, on another
//! worker, so the agent runs against the calls. Prints p50/p99/max over 200,000 calls per
//! condition, then criterion's per-call time (compare each to `no_fleet` of the same run).
//! Private redis-servers only (needs `redis-server` installed).

#[path = "../fleet_support/mod.rs"]
mod fleet_support;

use cb_runtime::fleet::{self, Fleet, FleetConfig};
use cb_runtime::{BreakerConfig, CircuitBreaker, Registry};
use criterion::{Criterion, criterion_group, criterion_main};
use fleet_support::{RedisServer, unique};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn breaker(url: Option<&str>) -> (Arc<CircuitBreaker>, Option<Fleet>) {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let config = BreakerConfig::builder()
        .consecutive_failures(1_000_000)
        .build()
        .unwrap();
    let breaker = registry.breaker("bench", &config);
    let fleet = url.map(|url| {
        let settings = FleetConfig::new(unique("bench-fleet")).sync_interval(Duration::from_millis(1));
        fleet::attach(registry, url, settings).unwrap()
    });
    (breaker, fleet)
}

/// One call: acquire a permit and record a success, failing every 10th.
fn call(b: &CircuitBreaker, n: u64) {
    if let Ok(p) = b.try_acquire() {
        if n.is_multiple_of(10) { p.failure() } else { p.success() }
    }
}

fn percentiles(label: &str, b: &CircuitBreaker) {
    const CALLS: usize = 200_000;
    let mut took = Vec::with_capacity(CALLS);
    for n in 0..CALLS as u64 {
        let start = Instant::now();
        call(b, n);
        took.push(start.elapsed());
    }
    took.sort();
    let p = |q: f64| took[((CALLS as f64 * q) as usize).min(CALLS - 1)];
    println!(
        "{label:<40} p50 {:>8.1?}  p99 {:>8.1?}  max {:>10.1?}",
        p(0.50),
        p(0.99),
        took[CALLS - 1]
    );
}

fn fleet_call_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let (healthy, full, blackhole) = rt.block_on(async {
        let healthy = RedisServer::start(&[]).await;
        let full = RedisServer::start(&["--maxmemory-policy", "noeviction"]).await;
        let _: () = full.run(redis::cmd("CONFIG").arg("SET").arg("maxmemory").arg(1)).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let blackhole = format!("redis://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        (healthy, full, blackhole)
    });
    let refused = format!("redis://127.0.0.1:{}", fleet_support::free_port());
    let conditions: Vec<(&str, Option<String>)> = vec![
        ("no_fleet", None),
        ("redis_healthy", Some(healthy.url())),
        ("redis_never_answers", Some(blackhole)),
        ("redis_refuses_connections", Some(refused)),
        ("redis_out_of_memory", Some(full.url())),
    ];
    let breakers: Vec<(&str, Arc<CircuitBreaker>, Option<Fleet>)> = conditions
        .iter()
        .map(|(label, url)| {
            let (b, f) = breaker(url.as_deref());
            (*label, b, f)
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for (label, b, _) in &breakers {
        percentiles(label, b);
    }
    let mut g = c.benchmark_group("fleet_call_path");
    for (label, b, _) in &breakers {
        let mut n = 0u64;
        g.bench_function(*label, |bench| {
            bench.iter(|| {
                n += 1;
                call(b, n)
            })
        });
    }
    g.finish();
    drop(breakers);
}

criterion_group!(benches, fleet_call_path);
criterion_main!(benches);
