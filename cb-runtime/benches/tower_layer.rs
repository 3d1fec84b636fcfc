//! `CircuitBreakerLayer` on a service that answers at once: one thread, then two threads each
//! calling its own clone of the service (as tower stacks do per connection), per call, next to
//! the bare service in the same run.

use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CircuitBreaker};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::future::{Ready, ready};
use std::hint::black_box;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Instant;
use tower::{Layer, Service, service_fn};

#[path = "support/pin.rs"]
mod pin;
mod support;
use support::block_on;

fn answer(i: u64) -> Ready<Result<u64, u64>> {
    ready(if black_box(i) == u64::MAX { Err(i) } else { Ok(i) })
}

/// Calls `service` `iters` times through the tower protocol: `poll_ready`, then `call`.
fn drive<S: Service<u64, Response = u64>>(mut service: S, iters: u64) {
    let mut cx = Context::from_waker(Waker::noop());
    for i in 0..iters {
        if let Poll::Ready(Ok(())) = service.poll_ready(&mut cx) {
            black_box(block_on(service.call(i)).is_ok());
        }
    }
}

fn threads<S>(c: &mut criterion::BenchmarkGroup<'_, criterion::measurement::WallTime>, name: &str, service: S)
where
    S: Service<u64, Response = u64> + Clone + Send,
{
    for n in [1u64, 2] {
        c.bench_function(format!("{name}/{n}"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                std::thread::scope(|s| {
                    for t in 0..n {
                        let service = service.clone();
                        s.spawn(move || {
                            pin::pin_to_cpu(t as usize);
                            drive(service, iters / n)
                        });
                    }
                });
                start.elapsed()
            })
        });
    }
}

fn tower_layer(c: &mut Criterion) {
    let mut g = c.benchmark_group("tower_layer");
    g.throughput(Throughput::Elements(1));
    let config = BreakerConfig::builder()
        .consecutive_failures(u32::MAX)
        .no_failure_rate()
        .build()
        .unwrap();
    let breaker = Arc::new(CircuitBreaker::new("bench-tower", config));
    let bare = service_fn(answer);
    threads(&mut g, "bare", bare);
    threads(&mut g, "cb_layer", CircuitBreakerLayer::new(breaker).layer(bare));
    g.finish();
}

criterion_group!(benches, tower_layer);
criterion_main!(benches);
