//! Keyed breakers: a hot key against the static-name path, two threads on one hot key, the
//! cost of a new key, a scrape of 100k keyed breakers, and bytes per breaker.
//!
//! Groups: `keyed_hot` (`static_name` vs `hot_key` (a `String` key) and `hot_integer_key`
//! (a `u64` key), one thread, sync), `keyed_two_threads`
//! (`one_thread` vs `two_threads`: the time for each of N calls per thread; equal times mean
//! two threads do twice the work; `two_threads_own_keys` is the control: two threads that
//! share no breaker, so it shows what this machine's two cores give at all), `keyed_new_key` (a new key per call, family capped at 10k:
//! eviction included), `keyed_scrape` (Prometheus text of 100k keys in one family).
//! Bytes per keyed breaker are printed once, measured with a counting allocator.

use cb_runtime::{BreakerConfig, CircuitProtected, Registry, Rejected, circuit_breaker};
use criterion::{Criterion, criterion_group, criterion_main};
use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::{Duration, Instant};

#[path = "support/pin.rs"]
mod pin;

struct Counting;
static LIVE: AtomicIsize = AtomicIsize::new(0);

#[allow(unsafe_code)]
// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: same layout contract as the caller's.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        // SAFETY: `ptr` came from `alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Debug)]
struct Failed;

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed
    }
}

#[circuit_breaker(name = "bench-static", consecutive_failures = 1000)]
fn static_name(i: u64) -> Result<u64, Failed> {
    Ok(black_box(i))
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "bench-keyed", consecutive_failures = 1000)]
struct Tenant {
    #[circuit_breaker(key)]
    id: String,
}

impl Tenant {
    #[circuit_breaker]
    fn call(&self, i: u64) -> Result<u64, Failed> {
        Ok(black_box(i))
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "bench-new", consecutive_failures = 1000, max_keys = 10000)]
struct User {
    #[circuit_breaker(key)]
    id: u64,
}

impl User {
    #[circuit_breaker]
    fn call(&self) -> Result<u64, Failed> {
        Ok(black_box(self.id))
    }
}

fn hot(c: &mut Criterion) {
    let tenant = Tenant {
        id: "tenant-0042".into(),
    };
    let mut g = c.benchmark_group("keyed_hot");
    g.bench_function("static_name", |b| b.iter(|| static_name(black_box(1))));
    g.bench_function("hot_key", |b| b.iter(|| tenant.call(black_box(1))));
    let user = User { id: 4_200_042 };
    g.bench_function("hot_integer_key", |b| b.iter(|| black_box(&user).call()));
    g.finish();
}

/// The slowest thread's time for `iters` calls on each of `threads` threads, all on one hot
/// key or (`own_keys`) each on its own: the control, which shares nothing but the machine.
fn on_threads(threads: usize, iters: u64, own_keys: bool) -> Duration {
    let barrier = std::sync::Barrier::new(threads);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let barrier = &barrier;
                s.spawn(move || {
                    pin::pin_to_cpu(t);
                    let tenant = Tenant {
                        id: if own_keys {
                            format!("tenant-own-{t}")
                        } else {
                            "tenant-hot".into()
                        },
                    };
                    barrier.wait();
                    let start = Instant::now();
                    for i in 0..iters {
                        let _ = tenant.call(i);
                    }
                    start.elapsed()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).max().unwrap()
    })
}

fn two_threads(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed_two_threads");
    g.bench_function("one_thread", |b| b.iter_custom(|iters| on_threads(1, iters, false)));
    g.bench_function("two_threads", |b| b.iter_custom(|iters| on_threads(2, iters, false)));
    g.bench_function("two_threads_own_keys", |b| {
        b.iter_custom(|iters| on_threads(2, iters, true))
    });
    g.finish();
}

fn new_key(c: &mut Criterion) {
    let mut next = 0u64;
    c.bench_function("keyed_new_key", |b| {
        b.iter(|| {
            next += 1;
            User { id: next }.call()
        })
    });
}

fn scrape(c: &mut Criterion) {
    let registry: &'static Registry = Box::leak(Box::new(Registry::new()));
    let config = BreakerConfig::builder().max_keys(200_000).build().unwrap();
    let before = LIVE.load(Ordering::Relaxed);
    for i in 0..100_000 {
        let _ = registry
            .breaker(&format!("scrape/{i:06}"), &config)
            .call_sync(|| Ok::<_, ()>(()));
    }
    let per = (LIVE.load(Ordering::Relaxed) - before) / 100_000;
    eprintln!("bytes per keyed breaker (default 60s time window, one thread, registry entry included): {per}");
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::metrics::register_registry(&mut prometheus, registry);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    eprintln!("scrape of 100k keyed breakers: {} bytes", text.len());
    c.bench_function("keyed_scrape_100k", |b| {
        b.iter(|| {
            let mut text = String::new();
            prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
            text.len()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = hot, two_threads, new_key, scrape
}
criterion_main!(benches);
