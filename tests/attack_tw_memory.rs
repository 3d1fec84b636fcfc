//! Memory of the striped time window, with a counting global allocator: bytes per keyed
//! breaker for several configurations (printed, bounded), and no allocation per call on a hot
//! breaker or a hot key through the macro, while buckets move, failures and slow calls come.

use cb_runtime::{
    BreakerConfig, CircuitBreaker, CircuitProtected, ManualClock, Registry, Rejected, Window, circuit_breaker,
    init_registry,
};
use std::time::Duration;

mod support;

use support::counting::{Counting, allocations, live, one_at_a_time};

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes per breaker after `n` keys of a family were each called by `call` from this thread.
fn bytes_per_breaker(config: &BreakerConfig, n: usize, call: impl Fn(&CircuitBreaker, &ManualClock)) -> isize {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    call(&registry.breaker("warm/up", config), &clock);
    let before = live();
    for i in 0..n {
        let breaker = registry.breaker(&format!("fam/{i:08}"), config);
        call(&breaker, &clock);
    }
    let per = (live() - before) / n as isize;
    drop(registry);
    per
}

/// How a case calls each of its breakers.
type Call = dyn Fn(&CircuitBreaker, &ManualClock);

fn one_success(b: &CircuitBreaker, _: &ManualClock) {
    b.call_sync(|| Ok::<_, ()>(())).unwrap();
}

fn time_window(size: Duration) -> cb_runtime::BreakerConfigBuilder {
    BreakerConfig::builder().window(Window::Time(size))
}

#[test]
fn bytes_per_keyed_breaker_by_configuration() {
    let _serial = one_at_a_time();
    let slow = |b: &CircuitBreaker, clock: &ManualClock| {
        let permit = b.try_acquire().unwrap();
        clock.advance(Duration::from_millis(1));
        permit.success();
    };
    // 20 ms per slow call: 2,000 keys take 40 s of the manual clock, far from the idle time
    // after which the registry would evict them (and free what is measured).
    let slow_call = |b: &CircuitBreaker, clock: &ManualClock| {
        let permit = b.try_acquire().unwrap();
        clock.advance(Duration::from_millis(20));
        permit.success();
    };
    let two_threads = |b: &CircuitBreaker, _: &ManualClock| {
        b.call_sync(|| Ok::<_, ()>(())).unwrap();
        std::thread::scope(|s| {
            s.spawn(|| b.call_sync(|| Ok::<_, ()>(())).unwrap());
        });
    };
    let slow_on = time_window(Duration::from_secs(60))
        .slow_call_rate_threshold(0.5)
        .slow_call_duration(Duration::from_millis(10))
        .build()
        .unwrap();
    let cases: [(&str, BreakerConfig, &Call, isize); 8] = [
        (
            "count window 20",
            BreakerConfig::builder().window(Window::Count(20)).build().unwrap(),
            &one_success,
            1024,
        ),
        (
            "consecutive only",
            BreakerConfig::builder().no_failure_rate().build().unwrap(),
            &one_success,
            1024,
        ),
        ("time 60s (default)", BreakerConfig::default(), &one_success, 1024),
        (
            "time 5s (tenth buckets)",
            time_window(Duration::from_secs(5)).build().unwrap(),
            &one_success,
            1024,
        ),
        (
            "time 10m",
            time_window(Duration::from_secs(600)).build().unwrap(),
            &one_success,
            // 600 narrow buckets are 2,400 bytes of it.
            4096,
        ),
        ("time 60s, slow-call rate on, fast calls", slow_on.clone(), &slow, 1024),
        (
            "time 60s, slow-call rate on, one slow call (widened)",
            slow_on,
            &slow_call,
            // 60 wide buckets (960 bytes) beside the 240 narrow ones.
            2048,
        ),
        (
            "time 60s, called from two threads",
            BreakerConfig::default(),
            &two_threads,
            // The table of 65 stripe pointers, a second stripe and its ring.
            3072,
        ),
    ];
    let mut report = String::new();
    for (what, config, call, bound) in cases {
        let per = bytes_per_breaker(&config, 2_000, call);
        report.push_str(&format!("{what}: {per} bytes per keyed breaker\n"));
        assert!(per <= bound, "{what}: {per} bytes, over {bound}\n{report}");
    }
    eprint!("{report}");
}

/// A breaker's history is allocated on its first transition, once: trips and recoveries after
/// the first allocate nothing.
#[test]
fn a_tripped_breaker_allocates_its_history_once() {
    let _serial = one_at_a_time();
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .jitter(0.0)
        .open_timeout(Duration::from_secs(1))
        .success_threshold(1)
        .half_open_max_calls(1)
        .build()
        .unwrap();
    let b = CircuitBreaker::builder("trips")
        .clock(clock.clone())
        .config(config)
        .build();
    // The first trips warm what the process sets up once (tracing's call sites).
    for _ in 0..1_000 {
        let _ = b.call_sync(|| Err::<(), _>(()));
        clock.advance(Duration::from_secs(2));
        b.call_sync(|| Ok::<_, ()>(())).unwrap();
    }
    let before = allocations();
    for _ in 0..1_000 {
        let _ = b.call_sync(|| Err::<(), _>(()));
        clock.advance(Duration::from_secs(2));
        b.call_sync(|| Ok::<_, ()>(())).unwrap();
    }
    let allocations = allocations() - before;
    eprintln!("1,000 trips and recoveries: {allocations} allocations");
    assert_eq!(allocations, 0, "a transition allocates");
}

/// 1M calls on one breaker with a 60 s time window and slow-call detection, the clock moving
/// 1 ms per call (1,000 s: the ring wraps 16 times), one call in ten a failure, one in a
/// thousand slow, in a pattern that never trips: no allocation after the first calls.
#[test]
fn a_million_calls_on_a_hot_breaker_allocate_nothing() {
    let _serial = one_at_a_time();
    let clock = ManualClock::new();
    let config = time_window(Duration::from_secs(60))
        .no_consecutive_failures()
        .failure_rate_threshold(0.9)
        .slow_call_rate_threshold(0.9)
        .slow_call_duration(Duration::from_millis(50))
        .build()
        .unwrap();
    let b = CircuitBreaker::builder("hot")
        .clock(clock.clone())
        .config(config)
        .build();
    let call = |n: u32| {
        let permit = b.try_acquire().unwrap();
        clock.advance(Duration::from_millis(if n % 1000 == 999 { 100 } else { 1 }));
        if n.is_multiple_of(10) {
            permit.failure()
        } else {
            permit.success()
        }
    };
    for n in 0..2_000 {
        call(n);
    }
    let before = allocations();
    for n in 0..1_000_000 {
        call(n);
    }
    let allocations = allocations() - before;
    eprintln!("1M calls, hot breaker, time window + slow calls: {allocations} allocations");
    assert_eq!(b.state(), cb_runtime::State::Closed);
    assert_eq!(allocations, 0);
}

#[derive(Debug)]
struct HotError;

impl From<Rejected> for HotError {
    fn from(_: Rejected) -> Self {
        HotError
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "hotkeys", consecutive_failures = "off", failure_rate_threshold = 0.9)]
struct HotClient {
    #[circuit_breaker(key)]
    tenant: String,
}

impl HotClient {
    #[circuit_breaker]
    fn get(&self, ok: bool) -> Result<(), HotError> {
        if ok { Ok(()) } else { Err(HotError) }
    }
}

/// 1M calls on a hot key through the macro (the default 60 s time window), the clock moving
/// 1 ms per call, one in ten a failure: the call site's cache finds the key with no allocation.
#[test]
fn a_million_calls_on_a_hot_key_through_the_macro_allocate_nothing() {
    let _serial = one_at_a_time();
    let clock = ManualClock::new();
    let _ = init_registry(Registry::with_clock(clock.clone()));
    let client = HotClient {
        tenant: "acme".to_owned(),
    };
    let other = HotClient {
        tenant: "globex".to_owned(),
    };
    for n in 0..2_000u32 {
        let _ = client.get(n % 10 != 0);
        let _ = other.get(true);
        clock.advance(Duration::from_millis(1));
    }
    let before = allocations();
    for n in 0..1_000_000u32 {
        let _ = client.get(n % 10 != 0);
        clock.advance(Duration::from_millis(1));
    }
    let allocations = allocations() - before;
    eprintln!("1M calls on a hot key through the macro: {allocations} allocations");
    let snap = cb_runtime::registry().snapshot("hotkeys/acme").unwrap();
    assert_eq!(snap.state, cb_runtime::State::Closed);
    assert_eq!(snap.totals.failures, 100_200);
    assert_eq!(allocations, 0);
}
