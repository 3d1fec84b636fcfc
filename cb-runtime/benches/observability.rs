//! What observability costs per call, each against the same call without it in the same run:
//! the Prometheus collector's duration histogram (sampled timing), and a `fmt` subscriber at
//! INFO, what most services run (per-call spans are DEBUG, so they are not built).
//!
//! The subscriber is installed globally half-way through (as a service would), so the groups
//! run in order: `metrics` first, then `info_subscriber`.

use cb_runtime::{BreakerConfig, CircuitBreaker};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

mod support;
use support::block_on;

fn work(i: u64) -> Result<u64, u64> {
    if black_box(i) == u64::MAX { Err(i) } else { Ok(i) }
}

fn consecutive(name: &str) -> CircuitBreaker {
    let config = BreakerConfig::builder()
        .consecutive_failures(u32::MAX)
        .no_failure_rate()
        .build()
        .unwrap();
    CircuitBreaker::new(name, config)
}

fn metrics(c: &mut Criterion) {
    let mut g = c.benchmark_group("metrics");
    g.throughput(Throughput::Elements(1));
    let b = consecutive("bench-metrics");
    let mut i = 0u64;
    cb_runtime::measure_durations(false);
    g.bench_function("sync_consecutive/off", |bench| {
        bench.iter(|| {
            i = i.wrapping_add(1);
            black_box(b.call_sync(|| work(i)).is_ok())
        })
    });
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register(&mut prometheus);
    g.bench_function("sync_consecutive/collector_registered", |bench| {
        bench.iter(|| {
            i = i.wrapping_add(1);
            black_box(b.call_sync(|| work(i)).is_ok())
        })
    });
    cb_runtime::sample_durations(1);
    g.bench_function("sync_consecutive/every_call_timed", |bench| {
        bench.iter(|| {
            i = i.wrapping_add(1);
            black_box(b.call_sync(|| work(i)).is_ok())
        })
    });
    cb_runtime::sample_durations(cb_runtime::DEFAULT_DURATION_SAMPLING);
    cb_runtime::measure_durations(false);
    g.finish();
}

fn info_subscriber(c: &mut Criterion) {
    let mut g = c.benchmark_group("info_subscriber");
    g.throughput(Throughput::Elements(1));
    let b = consecutive("bench-info");
    let run = |g: &mut criterion::BenchmarkGroup<'_, _>, label: &str| {
        let mut i = 0u64;
        g.bench_function(format!("sync/{label}"), |bench| {
            bench.iter(|| {
                i = i.wrapping_add(1);
                black_box(b.call_sync(|| work(i)).is_ok())
            })
        });
        g.bench_function(format!("async/{label}"), |bench| {
            bench.iter_custom(|iters| {
                block_on(async {
                    let start = std::time::Instant::now();
                    for i in 0..iters {
                        black_box(b.call(async || work(i)).await.is_ok());
                    }
                    start.elapsed()
                })
            })
        });
    };
    run(&mut g, "no_subscriber");
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::INFO)
        .with_writer(std::io::sink)
        .init();
    run(&mut g, "fmt_at_info");
    g.finish();
}

criterion_group!(benches, metrics, info_subscriber);
criterion_main!(benches);
