//! Attacks on the async hot path (issue 15): panics at every point, cancellation at every await,
//! the traced path's spans, the tower layer's permits. Each test pins a behaviour through the
//! public API and macros.

mod support;

use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, ManualClock, Outcome, State, circuit_breaker};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use support::polling::{ApiError, one_strike, poll_once, to_half_open, yield_once};
use tower::{Layer, Service};

// ---- panics -------------------------------------------------------------------------------

#[test]
fn a_panic_after_a_yield_polled_by_hand_counts_as_a_failure() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-panic-after-yield", &clock);
    let mut call = Box::pin(breaker.call(async || {
        yield_once().await;
        if true {
            panic!("after the yield");
        }
        Ok::<(), ()>(())
    }));
    assert!(poll_once(call.as_mut()).is_pending());
    let caught = catch_unwind(AssertUnwindSafe(|| poll_once(call.as_mut())));
    assert!(caught.is_err());
    drop(call);
    assert_eq!(
        breaker.state(),
        State::Open,
        "the panic counted: {:?}",
        breaker.snapshot().totals
    );
    assert_eq!(breaker.snapshot().totals.failures, 1);
}

#[tokio::test]
async fn a_panic_under_tokio_spawn_counts_once_and_a_half_open_probe_reopens() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-panic-spawn", &clock);
    to_half_open(&breaker, &clock);
    let b = breaker.clone();
    let joined = tokio::spawn(async move {
        b.call(async || {
            yield_once().await;
            if true {
                panic!("probe bug");
            }
            Ok::<(), ()>(())
        })
        .await
    })
    .await;
    assert!(joined.unwrap_err().is_panic());
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Open, "the probe's panic re-opened the breaker");
    assert_eq!(snapshot.totals.failures, 2, "{:?}", snapshot.totals);
    assert_eq!(snapshot.half_open_in_flight, 0);
}

static MACRO_PANICS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "attack-macro-panic", consecutive_failures = 2, open_timeout = "1h")]
async fn panics_at(point: u32) -> Result<u32, ApiError> {
    MACRO_PANICS.fetch_add(1, Ordering::Relaxed);
    if point == 0 {
        panic!("before the first await");
    }
    yield_once().await;
    if point == 1 {
        panic!("after a yield");
    }
    Ok(point)
}

#[test]
fn macro_panics_before_and_after_an_await_each_count_as_a_failure() {
    for point in [0, 1] {
        let mut call = Box::pin(panics_at(point));
        let caught = catch_unwind(AssertUnwindSafe(|| while poll_once(call.as_mut()).is_pending() {}));
        assert!(caught.is_err(), "point {point} panicked");
        drop(call);
    }
    let breaker = cb_runtime::registry().get("attack-macro-panic").unwrap();
    assert_eq!(breaker.state(), State::Open, "{:?}", breaker.snapshot().totals);
    let mut call = Box::pin(panics_at(2));
    let before = MACRO_PANICS.load(Ordering::Relaxed);
    assert!(matches!(poll_once(call.as_mut()), Poll::Ready(Err(_))), "rejected");
    assert_eq!(MACRO_PANICS.load(Ordering::Relaxed), before, "the body did not run");
}

fn panicking_classifier(_: &ApiError) -> bool {
    panic!("classifier bug")
}

#[circuit_breaker(name = "attack-classifier-panic", consecutive_failures = 1, open_timeout = "1h", failure_if = panicking_classifier)]
async fn classified_by_a_panicking_predicate() -> Result<(), ApiError> {
    yield_once().await;
    Err(ApiError("down".to_owned()))
}

#[test]
fn a_panicking_failure_if_classifier_counts_as_a_failure() {
    let mut call = Box::pin(classified_by_a_panicking_predicate());
    let caught = catch_unwind(AssertUnwindSafe(|| while poll_once(call.as_mut()).is_pending() {}));
    assert!(caught.is_err());
    drop(call);
    let breaker = cb_runtime::registry().get("attack-classifier-panic").unwrap();
    assert_eq!(breaker.state(), State::Open, "{:?}", breaker.snapshot().totals);
}

fn panicking_fallback(_cause: CallError<ApiError>) -> Result<u32, ApiError> {
    panic!("fallback bug")
}

#[circuit_breaker(name = "attack-fallback-panic", consecutive_failures = 2, open_timeout = "1h", fallback = panicking_fallback)]
async fn served_by_a_panicking_fallback() -> Result<u32, ApiError> {
    yield_once().await;
    Err(ApiError("down".to_owned()))
}

#[test]
fn a_panicking_fallback_counts_the_call_once() {
    let mut call = Box::pin(served_by_a_panicking_fallback());
    let caught = catch_unwind(AssertUnwindSafe(|| while poll_once(call.as_mut()).is_pending() {}));
    assert!(caught.is_err());
    drop(call);
    let breaker = cb_runtime::registry().get("attack-fallback-panic").unwrap();
    let totals = breaker.snapshot().totals;
    assert_eq!((totals.failures, totals.fallbacks), (1, 1), "{totals:?}");
    assert_eq!(breaker.state(), State::Closed);
}

// ---- cancellation -------------------------------------------------------------------------

#[test]
fn a_cancelled_probe_frees_its_slot_and_records_nothing() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-cancel-probe", &clock);
    to_half_open(&breaker, &clock);
    let before = breaker.snapshot().totals;
    {
        let mut call = pin!(breaker.call(async || {
            yield_once().await;
            Ok::<(), ()>(())
        }));
        assert!(poll_once(call.as_mut()).is_pending());
        assert_eq!(breaker.snapshot().half_open_in_flight, 1);
    }
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.half_open_in_flight, 0);
    assert_eq!(snapshot.totals.successes, before.successes);
    assert_eq!(snapshot.totals.failures, before.failures);
    let permit = breaker.try_acquire().expect("the slot is free again");
    assert_eq!(permit.state(), State::HalfOpen);
    permit.success();
    assert_eq!(breaker.state(), State::Closed);
}

#[tokio::test]
async fn a_timed_out_probe_reopens_and_a_cancelled_timed_call_frees_its_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-timeout-probe", &clock);
    to_half_open(&breaker, &clock);
    {
        let mut call = pin!(breaker.call_with_timeout(Duration::from_secs(5), async || {
            std::future::pending::<()>().await;
            Ok::<(), ()>(())
        }));
        assert!(poll_once(call.as_mut()).is_pending());
    }
    assert_eq!(breaker.snapshot().half_open_in_flight, 0, "cancelled: the slot is free");
    let timed_out = breaker
        .call_with_timeout(Duration::from_millis(1), async || {
            std::future::pending::<()>().await;
            Ok::<(), ()>(())
        })
        .await;
    assert!(matches!(timed_out, Err(CallError::Timeout(_))));
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.state, State::Open);
    assert_eq!(snapshot.totals.timeouts, 1, "{:?}", snapshot.totals);
}

/// Without a tokio runtime `call_with_timeout` cannot start its timer. It must neither blame
/// the protected service (count a failure) nor hold the half-open slot.
#[test]
fn a_timed_call_outside_a_runtime_does_not_count_against_the_service() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-timeout-no-runtime", &clock);
    let mut call = Box::pin(breaker.call_with_timeout(Duration::from_secs(1), async || Ok::<(), ()>(())));
    let _ = catch_unwind(AssertUnwindSafe(|| poll_once(call.as_mut())));
    drop(call);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.totals.failures, 0, "{:?}", snapshot.totals);
    assert_eq!(snapshot.state, State::Closed);

    to_half_open(&breaker, &clock);
    let mut probe = Box::pin(breaker.call_with_timeout(Duration::from_secs(1), async || Ok::<(), ()>(())));
    let _ = catch_unwind(AssertUnwindSafe(|| poll_once(probe.as_mut())));
    drop(probe);
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.state, snapshot.half_open_in_flight), (State::HalfOpen, 0));
}

// ---- nesting ------------------------------------------------------------------------------

#[circuit_breaker(name = "attack-inner", consecutive_failures = 1, open_timeout = "1h")]
async fn inner_call(fail: bool) -> Result<u32, ApiError> {
    yield_once().await;
    if fail {
        Err(ApiError("inner down".to_owned()))
    } else {
        Ok(1)
    }
}

#[circuit_breaker(name = "attack-outer", consecutive_failures = 3, open_timeout = "1h")]
async fn outer_call(fail: bool) -> Result<u32, ApiError> {
    Ok(inner_call(fail).await? + 1)
}

#[tokio::test]
async fn nested_protected_calls_count_on_their_own_breakers() {
    assert_eq!(outer_call(false).await, Ok(2));
    assert_eq!(outer_call(true).await, Err(ApiError("inner down".to_owned())));
    let inner = cb_runtime::registry().get("attack-inner").unwrap();
    let outer = cb_runtime::registry().get("attack-outer").unwrap();
    assert_eq!(inner.state(), State::Open);
    assert_eq!((outer.state(), outer.snapshot().totals.failures), (State::Closed, 1));
}

#[tokio::test]
async fn a_reentrant_call_on_the_same_breaker_counts_both() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-reentrant", &clock);
    let b = &breaker;
    let out = b
        .call(async || b.call(async || Ok::<u32, String>(7)).await.map_err(|e| e.to_string()))
        .await;
    assert_eq!(out.unwrap(), 7);
    assert_eq!(breaker.snapshot().totals.successes, 2);
}

#[async_trait::async_trait]
trait Inventory {
    async fn stock(&self, fail: bool) -> Result<u32, ApiError>;
}

struct Warehouse;

#[async_trait::async_trait]
impl Inventory for Warehouse {
    #[circuit_breaker(name = "attack-async-trait", consecutive_failures = 1, open_timeout = "1h")]
    async fn stock(&self, fail: bool) -> Result<u32, ApiError> {
        yield_once().await;
        if fail {
            panic!("stock bug");
        }
        Ok(3)
    }
}

#[tokio::test]
async fn an_async_trait_method_counts_a_panic_under_spawn() {
    assert_eq!(Warehouse.stock(false).await, Ok(3));
    let joined = tokio::spawn(async { Warehouse.stock(true).await }).await;
    assert!(joined.unwrap_err().is_panic());
    let breaker = cb_runtime::registry().get("attack-async-trait").unwrap();
    assert_eq!(breaker.state(), State::Open, "{:?}", breaker.snapshot().totals);
}

// ---- tower --------------------------------------------------------------------------------

#[derive(Clone)]
struct Pending;

impl Service<()> for Pending {
    type Response = ();
    type Error = ();
    type Future = Pin<Box<dyn Future<Output = Result<(), ()>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ()>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: ()) -> Self::Future {
        Box::pin(std::future::pending())
    }
}

#[test]
fn tower_poll_ready_then_drop_and_a_dropped_response_free_the_probe_slot() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-tower-ready", &clock);
    to_half_open(&breaker, &clock);
    let layer = CircuitBreakerLayer::new(breaker.clone());
    let mut cx = Context::from_waker(Waker::noop());
    let mut service = layer.layer(Pending);
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    assert_eq!(
        breaker.snapshot().half_open_in_flight,
        1,
        "poll_ready reserved the probe"
    );
    drop(service);
    assert_eq!(
        breaker.snapshot().half_open_in_flight,
        0,
        "dropping the service released it"
    );

    let mut service = layer.layer(Pending);
    assert!(matches!(service.poll_ready(&mut cx), Poll::Ready(Ok(()))));
    let mut response = Box::pin(service.call(()));
    assert!(response.as_mut().poll(&mut cx).is_pending());
    drop(response);
    let snapshot = breaker.snapshot();
    assert_eq!((snapshot.half_open_in_flight, snapshot.state), (0, State::HalfOpen));
    assert_eq!(snapshot.totals.failures, 1, "only the trip: {:?}", snapshot.totals);
}

#[derive(Clone)]
struct Fails;

impl Service<()> for Fails {
    type Response = ();
    type Error = String;
    type Future = std::future::Ready<Result<(), String>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: ()) -> Self::Future {
        std::future::ready(Err("down".to_owned()))
    }
}

/// A classifier that panics is a bug on the protected side of the call: like the macro's
/// `failure_if` (see `a_panicking_failure_if_classifier_counts_as_a_failure`), it counts.
#[test]
fn tower_a_panicking_classifier_counts_as_a_failure() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-tower-classifier", &clock);
    let layer = CircuitBreakerLayer::new(breaker.clone())
        .classify(|_: &Result<(), String>| -> Outcome { panic!("classifier bug") });
    let mut service = layer.layer(Fails);
    let mut response = Box::pin(service.call(()));
    let caught = catch_unwind(AssertUnwindSafe(|| poll_once(response.as_mut())));
    assert!(caught.is_err());
    drop(response);
    assert_eq!(breaker.state(), State::Open, "{:?}", breaker.snapshot().totals);
}

#[test]
fn tower_clones_across_threads_count_every_call() {
    let clock = ManualClock::new();
    let config = BreakerConfig::builder()
        .consecutive_failures(1_000_000)
        .no_failure_rate()
        .no_slow_call_rate()
        .build()
        .unwrap();
    let breaker = Arc::new(
        CircuitBreaker::builder("attack-tower-threads")
            .config(config)
            .clock(clock)
            .build(),
    );
    let service = CircuitBreakerLayer::new(breaker.clone()).layer(Fails);
    std::thread::scope(|s| {
        for _ in 0..4 {
            let mut service = service.clone();
            s.spawn(move || {
                let mut cx = Context::from_waker(Waker::noop());
                for _ in 0..1000 {
                    assert!(service.poll_ready(&mut cx).is_ready());
                    let mut f = pin!(service.call(()));
                    assert!(matches!(
                        f.as_mut().poll(&mut cx),
                        Poll::Ready(Err(CallError::Inner(_)))
                    ));
                }
            });
        }
    });
    assert_eq!(breaker.snapshot().totals.failures, 4000);
}

// ---- sampled durations ----------------------------------------------------------------------

/// Duration sampling is process-wide: the tests that change it take this lock.
static SAMPLING: Mutex<()> = Mutex::new(());

fn slow_breaker(name: &'static str, clock: &ManualClock) -> Arc<CircuitBreaker> {
    let config = BreakerConfig::builder()
        .consecutive_failures(1_000_000)
        .no_failure_rate()
        .slow_call_rate_threshold(1.0)
        .minimum_calls(1_000_000)
        .slow_call_duration(Duration::from_millis(10))
        .build()
        .unwrap();
    Arc::new(
        CircuitBreaker::builder(name)
            .config(config)
            .clock(clock.clone())
            .build(),
    )
}

#[test]
fn sampled_counts_from_several_threads_are_exact() {
    let _sampling = SAMPLING.lock().unwrap_or_else(|e| e.into_inner());
    cb_runtime::measure_durations(true);
    cb_runtime::sample_durations(4);
    let clock = ManualClock::new();
    let breaker = slow_breaker("attack-sampled-threads", &clock);
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| {
                for _ in 0..8 {
                    let permit = breaker.try_acquire().unwrap();
                    clock.advance(Duration::from_millis(1));
                    permit.success();
                }
            });
        }
    });
    cb_runtime::measure_durations(false);
    cb_runtime::sample_durations(cb_runtime::DEFAULT_DURATION_SAMPLING);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.durations.count(), 24, "{:?}", snapshot.durations);
    assert_eq!(snapshot.totals.successes, 24);
}

#[test]
fn slow_call_thresholds_are_exact_for_timed_and_untimed_calls() {
    let _sampling = SAMPLING.lock().unwrap_or_else(|e| e.into_inner());
    cb_runtime::measure_durations(true);
    cb_runtime::sample_durations(2);
    let clock = ManualClock::new();
    let breaker = slow_breaker("attack-sampled-slow", &clock);
    for took in [10_000_000, 10_000_000, 10_000_001, 10_000_001, 9_999_999, 10_000_002] {
        let permit = breaker.try_acquire().unwrap();
        clock.advance(Duration::from_nanos(took));
        permit.success();
    }
    cb_runtime::measure_durations(false);
    cb_runtime::sample_durations(cb_runtime::DEFAULT_DURATION_SAMPLING);
    let snapshot = breaker.snapshot();
    assert_eq!(snapshot.totals.slow_calls, 3, "{:?}", snapshot.totals);
    assert_eq!(snapshot.durations.count(), 6, "three timed calls of weight 2");
}

/// A call counts with the weight of the sampling it was timed under, not the one in force when
/// it ends.
#[test]
fn a_sampling_change_mid_call_does_not_reweigh_a_timed_call() {
    let _sampling = SAMPLING.lock().unwrap_or_else(|e| e.into_inner());
    cb_runtime::measure_durations(true);
    cb_runtime::sample_durations(1);
    let clock = ManualClock::new();
    let breaker = slow_breaker("attack-sampled-change", &clock);
    let permit = breaker.try_acquire().unwrap();
    cb_runtime::sample_durations(1000);
    clock.advance(Duration::from_millis(1));
    permit.success();
    cb_runtime::measure_durations(false);
    cb_runtime::sample_durations(cb_runtime::DEFAULT_DURATION_SAMPLING);
    assert_eq!(
        breaker.snapshot().durations.count(),
        1,
        "{:?}",
        breaker.snapshot().durations
    );
}

/// A clock whose readings have the top bit set (an origin far in the past, a custom source) must
/// not make calls look timed for the histogram, nor all slow.
#[test]
fn a_clock_past_two_to_the_63_ns_keeps_slow_calls_and_durations_honest() {
    let _sampling = SAMPLING.lock().unwrap_or_else(|e| e.into_inner());
    cb_runtime::measure_durations(false);
    let clock = ManualClock::new();
    clock.advance(Duration::from_nanos(1 << 63));
    let breaker = slow_breaker("attack-clock-top-bit", &clock);
    let permit = breaker.try_acquire().unwrap();
    clock.advance(Duration::from_millis(1));
    permit.success();
    let snapshot = breaker.snapshot();
    assert_eq!(
        snapshot.totals.slow_calls, 0,
        "a 1 ms call is not slow: {:?}",
        snapshot.totals
    );
    assert_eq!(snapshot.durations.count(), 0, "durations are off");
}

#[test]
fn an_api_classifier_that_panics_counts_as_a_failure() {
    let clock = ManualClock::new();
    let breaker = one_strike("attack-api-classifier", &clock);
    let mut call = Box::pin(breaker.call_classified(
        async || {
            yield_once().await;
            Ok::<(), ()>(())
        },
        |_| -> Outcome { panic!("classifier bug") },
    ));
    let caught = catch_unwind(AssertUnwindSafe(|| while poll_once(call.as_mut()).is_pending() {}));
    assert!(caught.is_err());
    drop(call);
    assert_eq!(breaker.state(), State::Open, "{:?}", breaker.snapshot().totals);
}
