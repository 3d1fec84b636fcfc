//! Latency of queue for retry (issue 17, item 4): what a caller waits for when the breaker is
//! open and its call is queued, on the in-memory backend, on Redis streams (127.0.0.1:6379) and
//! on NATS JetStream (127.0.0.1:4222), next to a plain rejection. Prints p50/p99 over
//! sequential calls, then criterion's per-call time. The Redis and JetStream streams are
//! deleted at the end.

use cb_runtime::queue::{InMemoryQueue, JetStreamQueue, NotQueued, Queued, RedisStreamQueue, queues};
use cb_runtime::{Rejected, circuit_breaker, registry};
use criterion::{Criterion, criterion_group, criterion_main};
use std::time::{Duration, Instant};

const REDIS: &str = "redis://127.0.0.1:6379";
const NATS: &str = "nats://127.0.0.1:4222";
const CAPACITY: u64 = 5_000_000;

#[derive(Debug)]
enum Error {
    Queued,
    NotQueued(NotQueued),
    Rejected,
}

impl From<Queued> for Error {
    fn from(_: Queued) -> Self {
        Error::Queued
    }
}

impl From<NotQueued> for Error {
    fn from(n: NotQueued) -> Self {
        Error::NotQueued(n)
    }
}

impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self {
        Error::Rejected
    }
}

#[derive(Clone)]
struct Hooks;

impl Hooks {
    #[circuit_breaker(name = "bench-queue-memory", queue = "bench-memory")]
    async fn memory(&self, to: String, seq: u64) -> Result<(), Error> {
        let _ = (to, seq);
        Ok(())
    }

    #[circuit_breaker(name = "bench-queue-redis", queue = "bench-redis")]
    async fn redis(&self, to: String, seq: u64) -> Result<(), Error> {
        let _ = (to, seq);
        Ok(())
    }

    #[circuit_breaker(name = "bench-queue-jetstream", queue = "bench-jetstream")]
    async fn jetstream(&self, to: String, seq: u64) -> Result<(), Error> {
        let _ = (to, seq);
        Ok(())
    }

    #[circuit_breaker(name = "bench-queue-none")]
    async fn rejected(&self, to: String, seq: u64) -> Result<(), Error> {
        let _ = (to, seq);
        Ok(())
    }
}

fn stream_name() -> String {
    format!("CB_BENCH_QUEUE_{}", std::process::id())
}

fn prefix() -> String {
    format!("cb:bench:queue:{}:", std::process::id())
}

async fn percentiles<F: Future<Output = Result<(), Error>>>(label: &str, calls: u32, mut call: impl FnMut(u64) -> F) {
    let mut took = Vec::with_capacity(calls as usize);
    for seq in 0..calls {
        let start = Instant::now();
        let answer = call(u64::from(seq)).await;
        took.push(start.elapsed());
        match answer {
            Err(Error::Queued | Error::Rejected) => {}
            Err(Error::NotQueued(not)) => panic!("{not}"),
            Ok(()) => panic!("the breaker let the call through"),
        }
    }
    took.sort();
    let at = |q: f64| took[((took.len() as f64 * q) as usize).min(took.len() - 1)];
    println!(
        "{label:<28} p50 {:>9.2?}  p99 {:>9.2?}  ({calls} sequential calls, breaker open)",
        at(0.50),
        at(0.99)
    );
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let hooks = Hooks;
    let to = || "https://hooks.test/ride-finished".to_owned();
    rt.block_on(async {
        queues()
            .set_backend("bench-memory", InMemoryQueue::new(CAPACITY))
            .unwrap();
        let redis = RedisStreamQueue::new(REDIS)
            .unwrap()
            .prefix(prefix())
            .capacity(CAPACITY);
        queues().set_backend("bench-redis", redis).unwrap();
        let jetstream = JetStreamQueue::new(NATS)
            .stream(stream_name(), format!("cb.bench.queue.{}", std::process::id()))
            .capacity(CAPACITY);
        queues().set_backend("bench-jetstream", jetstream).unwrap();
        hooks.memory(to(), 0).await.unwrap();
        hooks.redis(to(), 0).await.unwrap();
        hooks.jetstream(to(), 0).await.unwrap();
        hooks.rejected(to(), 0).await.unwrap();
        for name in [
            "bench-queue-memory",
            "bench-queue-redis",
            "bench-queue-jetstream",
            "bench-queue-none",
        ] {
            registry().force_open(name).unwrap();
        }
        percentiles("rejected, no queue", 20_000, |seq| hooks.rejected(to(), seq)).await;
        percentiles("queued in memory", 20_000, |seq| hooks.memory(to(), seq)).await;
        percentiles("queued in Redis stream", 5_000, |seq| hooks.redis(to(), seq)).await;
        percentiles("queued in JetStream", 5_000, |seq| hooks.jetstream(to(), seq)).await;
    });

    let mut group = c.benchmark_group("queue");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(1));
    group.bench_function("rejected_no_queue", |b| {
        b.to_async(&rt).iter(|| hooks.rejected(to(), 1))
    });
    group.bench_function("enqueue_memory", |b| b.to_async(&rt).iter(|| hooks.memory(to(), 1)));
    group.bench_function("enqueue_redis", |b| b.to_async(&rt).iter(|| hooks.redis(to(), 1)));
    group.bench_function("enqueue_jetstream", |b| {
        b.to_async(&rt).iter(|| hooks.jetstream(to(), 1))
    });
    group.finish();

    rt.block_on(async {
        let mut c = redis::Client::open(REDIS)
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let key = format!("{}bench-redis/bench-queue-redis", prefix());
        let _: u64 = redis::cmd("DEL").arg(key).query_async(&mut c).await.unwrap();
        let nats = async_nats::connect(NATS).await.unwrap();
        let _ = async_nats::jetstream::new(nats).delete_stream(stream_name()).await;
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
