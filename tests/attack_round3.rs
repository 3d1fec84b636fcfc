//! Attacks (public API only) on 67c949d, as a user meets `half_open_max_wait`: through
//! `CircuitBreaker::call` with a probe future that never completes, the `#[circuit_breaker]`
//! attribute on an async fn, the tower layer (a request that never answers, and a permit
//! reserved by `poll_ready` and called late), a registry's configuration reloads (the wait
//! turned on, off and on again, `half_open_max_calls` lowered, under a stuck probe), the events
//! (`Transition` for `ProbesUndecided` once per re-open, `Rejected` for each refused caller)
//! and the snapshot's fields before and after a re-open, a protected stream waiting for an
//! item; plus the README's range for the key and the backoff of repeated undecided re-opens.
//! Time is a `ManualClock`; futures are polled by hand with a no-op waker, so nothing sleeps.
//!
//! One test was a DEFECT on 67c949d: `reconfigure` read its clock source for the max-wait stamp
//! while it held the configuration lock (fixed: it stamps after dropping the lock, still
//! holding decisions off). The others are coverage.

mod support;

use cb_runtime::config::ConfigSource;
use cb_runtime::tower::CircuitBreakerLayer;
use cb_runtime::{
    BreakerConfig, CallError, CircuitBreaker, Clock, ClockSource, Event, ManualClock, Outcome, Reason, Registry,
    Rejected, State, circuit_breaker, init_registry, registry,
};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Mutex, OnceLock, Weak, mpsc};
use std::task::{Context, Poll, Waker};
use std::thread;
use std::time::Duration;
use support::{breaker, consecutive, half_open_config, reopens_exactly_after, run, secs, trip_until_11s};
use tower::{Layer, Service};

/// Polls `f` once with a waker that does nothing.
fn poll_once<F: Future + ?Sized>(f: Pin<&mut F>) -> Poll<F::Output> {
    f.poll(&mut Context::from_waker(Waker::noop()))
}

/// Polls `f` once; it must be done.
fn ready<F: Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    match poll_once(f.as_mut()) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("the call did not finish at once"),
    }
}

/// A future that never completes.
fn stuck() -> Pin<Box<dyn Future<Output = Result<u32, String>>>> {
    Box::pin(std::future::pending())
}

/// The transitions among `events`, as (from, to, reason).
fn transitions(events: &[Event]) -> Vec<(State, State, Reason)> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Transition { from, to, reason, .. } => Some((*from, *to, *reason)),
            _ => None,
        })
        .collect()
}

/// The states of the `Rejected` events among `events`.
fn rejections(events: &[Event]) -> Vec<State> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Rejected { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

fn undecided(waited: Duration) -> Reason {
    Reason::ProbesUndecided { waited }
}

// --- CircuitBreaker::call with a probe that never completes ----------------------------------

/// One slot, wait 5s, open 10s (x2 backoff). A `call` whose future is pending forever takes
/// the probe at 11s. At 16s a second call is refused as HalfOpen (a `Rejected` event); at
/// 16s + 1ns the next call re-opens: refused as Open with `retry_after` the backed-off 20s, one
/// `Transition` HalfOpen -> Open for `ProbesUndecided { waited: 5s + 1ns }`. Once the open
/// wait has passed, a call gets through as the next period's probe, and dropping the stuck
/// call afterwards changes nothing.
#[test]
fn a_call_pending_forever_reopens_after_the_max_wait_and_a_later_call_probes() {
    let (b, clock) = breaker(half_open_config(1, Some(secs(5))));
    trip_until_11s(&b, &clock);
    let mut events = b.subscribe();

    let mut probe = Box::pin(b.call(async || stuck().await));
    assert!(poll_once(probe.as_mut()).is_pending());
    assert_eq!((b.state(), b.snapshot().half_open_in_flight), (State::HalfOpen, 1));

    clock.advance(secs(5));
    let held = ready(b.call(async || Ok::<_, String>(1)));
    assert!(
        matches!(
            &held,
            Err(CallError::Rejected(Rejected {
                state: State::HalfOpen,
                retry_after: None,
                ..
            }))
        ),
        "{held:?}"
    );

    clock.advance(Duration::from_nanos(1));
    let reopened = ready(b.call(async || Ok::<_, String>(2)));
    match &reopened {
        Err(CallError::Rejected(r)) => {
            assert_eq!((r.state, r.retry_after), (State::Open, Some(secs(20))), "{r:?}");
        }
        other => panic!("the decider was admitted: {other:?}"),
    }
    let seen = events.drain();
    assert_eq!(
        transitions(&seen),
        [
            (State::Open, State::HalfOpen, Reason::OpenWaitElapsed),
            (
                State::HalfOpen,
                State::Open,
                undecided(secs(5) + Duration::from_nanos(1))
            )
        ],
        "{seen:?}"
    );
    assert_eq!(rejections(&seen), [State::HalfOpen, State::Open], "{seen:?}");
    assert_eq!(b.snapshot().totals.rejected, 2, "both refusals counted");

    clock.advance(secs(20));
    assert_eq!(
        ready(b.call(async || Ok::<_, String>(3))).ok(),
        None,
        "at the deadline a call is still refused"
    );
    clock.advance(Duration::from_nanos(1));
    let mut next_probe = Box::pin(b.call(async || stuck().await));
    assert!(
        poll_once(next_probe.as_mut()).is_pending(),
        "the next period's probe runs"
    );
    let s = b.snapshot();
    assert_eq!((s.state, s.half_open_in_flight, s.reopens), (State::HalfOpen, 1, 1));

    drop(probe);
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.half_open_in_flight),
        (State::HalfOpen, 1),
        "the old period's probe, cancelled, frees no slot of this one"
    );
    assert!(
        transitions(&events.drain()).len() == 1,
        "only the OpenWaitElapsed of the new period"
    );
    drop(next_probe);
    assert_eq!(b.snapshot().half_open_in_flight, 0);
}

/// The stuck probe of a re-opened period completing afterwards (success or failure) is
/// counted but moves no state: the new HalfOpen period's probe decides alone.
#[test]
fn the_stuck_probe_finishing_after_the_reopen_moves_nothing() {
    for outcome in [Outcome::Success, Outcome::Failure] {
        let (b, clock) = breaker(half_open_config(1, Some(secs(5))).success_threshold(1));
        trip_until_11s(&b, &clock);
        let stuck_permit = b.try_acquire().expect("the probe");
        clock.advance(secs(6));
        assert_eq!(b.state(), State::Open);
        clock.advance(secs(21));
        let fresh = b.try_acquire().expect("the next period's probe");
        let mut events = b.subscribe();
        stuck_permit.record(outcome);
        assert_eq!(
            (b.state(), b.snapshot().half_open_in_flight),
            (State::HalfOpen, 1),
            "{outcome:?} of the old probe"
        );
        assert!(transitions(&events.drain()).is_empty(), "{outcome:?}");
        fresh.success();
        assert_eq!(b.state(), State::Closed, "{outcome:?}");
    }
}

// --- the snapshot's fields ---------------------------------------------------------------------

/// Two slots held from 11s and 12s, wait 5s. Before the newest has run 5s, `snapshot()` shows
/// HalfOpen, 2 in flight, no `tripped_by`, no `open_for`. At 17s + 1ns `snapshot()` itself
/// re-opens: Open, `tripped_by` `ProbesUndecided { waited: 5s + 1ns }` (from the newest
/// probe), `open_for` the backed-off 20s, 0 in flight, 1 re-open, one HalfOpen -> Open
/// transition counted; and `open_for` counts down on later snapshots.
#[test]
fn snapshot_fields_before_and_after_an_undecided_reopen() {
    let (b, clock) = breaker(half_open_config(2, Some(secs(5))));
    trip_until_11s(&b, &clock);
    let _first = b.try_acquire().expect("probe 1");
    clock.advance(secs(1));
    let _second = b.try_acquire().expect("probe 2");
    clock.advance(secs(5));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.half_open_in_flight, s.tripped_by, s.open_for, s.reopens),
        (State::HalfOpen, 2, None, None, 0)
    );
    clock.advance(Duration::from_nanos(1));
    let s = b.snapshot();
    assert_eq!(
        (s.state, s.half_open_in_flight, s.tripped_by, s.open_for, s.reopens),
        (
            State::Open,
            0,
            Some(undecided(secs(5) + Duration::from_nanos(1))),
            Some(secs(20)),
            1
        )
    );
    assert!(
        s.transitions.contains(&(State::HalfOpen, State::Open, 1)),
        "{:?}",
        s.transitions
    );
    assert_eq!(s.totals.probes, 2);
    clock.advance(secs(7));
    assert_eq!(b.snapshot().open_for, Some(secs(13)));
}

/// Undecided re-opens back off like failed probes: open 10s, then 20s, then 40s; a probe
/// that succeeds afterwards closes the breaker and the next trip opens for 10s again.
#[test]
fn repeated_undecided_reopens_back_off_and_a_success_resets_it() {
    let (b, clock) = breaker(half_open_config(1, Some(secs(5))).success_threshold(1));
    trip_until_11s(&b, &clock);
    for (k, open) in [(1u32, secs(20)), (2, secs(40))] {
        let _stuck = b.try_acquire().expect("probe");
        clock.advance(secs(5) + Duration::from_nanos(1));
        let r = b.try_acquire().map(drop).expect_err("re-opened");
        assert_eq!((r.state, r.retry_after), (State::Open, Some(open)), "re-open {k}");
        assert_eq!(b.snapshot().reopens, k);
        clock.advance(open + Duration::from_nanos(1));
    }
    assert!(run(&b, Outcome::Success), "the third probe");
    assert_eq!(b.state(), State::Closed);
    assert!(run(&b, Outcome::Failure));
    let s = b.snapshot();
    assert_eq!((s.state, s.open_for, s.reopens), (State::Open, Some(secs(10)), 0));
}

// --- #[circuit_breaker] on an async fn ---------------------------------------------------------

#[derive(Debug, PartialEq)]
enum ApiError {
    Down,
    Breaker(State, Option<Duration>),
}

impl From<Rejected> for ApiError {
    fn from(r: Rejected) -> Self {
        ApiError::Breaker(r.state, r.retry_after)
    }
}

static LOOKUPS: AtomicU32 = AtomicU32::new(0);

/// 0: answers; 1: fails; 2: never answers.
#[circuit_breaker(
    name = "round3-macro",
    consecutive_failures = 1,
    open_timeout = "10s",
    jitter = 0.0,
    half_open_max_calls = 1,
    half_open_max_wait = "5s"
)]
async fn lookup(mode: u8) -> Result<u32, ApiError> {
    LOOKUPS.fetch_add(1, Ordering::Relaxed);
    match mode {
        0 => Ok(7),
        1 => Err(ApiError::Down),
        _ => std::future::pending().await,
    }
}

/// The global registry's manual clock, given to it before its first use.
fn global_clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        assert!(
            init_registry(Registry::with_clock(clock.clone())).is_ok(),
            "nothing used the global registry before"
        );
        clock
    })
}

/// Tests on the global registry (its clock, its reloads): one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: Mutex<()> = Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

/// On the global registry.
/// A failure trips `lookup`; at 11s a call that never answers holds the probe; at 16s a call
/// is refused as HalfOpen without running; at 16s + 1ns refused as Open for 20s (the
/// breaker's config has the wait from the attribute); at 36s + 1ns a call runs and closes.
#[test]
fn the_attribute_on_an_async_fn_reopens_after_its_max_wait() {
    let _one = serial();
    let clock = global_clock();
    assert_eq!(ready(lookup(1)), Err(ApiError::Down));
    let b = registry().get("round3-macro").expect("registered on first call");
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)));
    assert_eq!(b.state(), State::Open);
    clock.advance(secs(11));
    let mut hung = Box::pin(lookup(2));
    assert!(poll_once(hung.as_mut()).is_pending());
    assert_eq!(b.snapshot().half_open_in_flight, 1);
    clock.advance(secs(5));
    let runs = LOOKUPS.load(Ordering::Relaxed);
    assert_eq!(ready(lookup(0)), Err(ApiError::Breaker(State::HalfOpen, None)));
    clock.advance(Duration::from_nanos(1));
    assert_eq!(ready(lookup(0)), Err(ApiError::Breaker(State::Open, Some(secs(20)))));
    assert_eq!(LOOKUPS.load(Ordering::Relaxed), runs, "refused calls do not run");
    assert_eq!(
        b.snapshot().tripped_by,
        Some(undecided(secs(5) + Duration::from_nanos(1)))
    );
    clock.advance(secs(20) + Duration::from_nanos(1));
    for _ in 0..3 {
        assert_eq!(ready(lookup(0)), Ok(7), "probes (success threshold 3, one at a time)");
    }
    assert_eq!(b.state(), State::Closed);
    drop(hung);
    assert_eq!(
        b.state(),
        State::Closed,
        "the hung call, dropped at last, counts nowhere"
    );
}

/// 0: answers; 1: fails; 2: never answers.
#[circuit_breaker(
    name = "round3-macro-reload",
    consecutive_failures = 1,
    open_timeout = "10s",
    jitter = 0.0,
    half_open_max_calls = 1,
    half_open_max_wait = "5s"
)]
async fn fetch(mode: u8) -> Result<u32, ApiError> {
    match mode {
        0 => Ok(7),
        1 => Err(ApiError::Down),
        _ => std::future::pending().await,
    }
}

/// On the global registry. The attribute says `"5s"`; a file reloaded over it says `"off"`
/// (file over macro arguments); a call that never answers holds the probe for an hour, still
/// HalfOpen. A reload without the file brings the attribute's `"5s"` back (`Reconfigured`:
/// `off -> 5s`), counted from that reload: HalfOpen 5s later, Open 1 ns after.
#[test]
fn a_reload_over_the_attributes_wait_turns_it_off_and_back_on() {
    let _one = serial();
    let clock = global_clock();
    assert_eq!(ready(fetch(1)), Err(ApiError::Down));
    let b = registry().get("round3-macro-reload").expect("registered on first call");
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)));
    let text = "[breakers.round3-macro-reload]\nhalf_open_max_wait = \"off\"\n";
    registry().reconfigure(ConfigSource::from_text(text, "circuit_breakers.toml").expect("valid"));
    assert_eq!(b.config().half_open_max_wait, None, "the file over the attribute");
    clock.advance(secs(11));
    let mut hung = Box::pin(fetch(2));
    assert!(poll_once(hung.as_mut()).is_pending());
    clock.advance(secs(3600));
    assert_eq!(b.state(), State::HalfOpen);
    let mut events = registry().subscribe();
    registry().reconfigure(ConfigSource::builtin());
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)), "the attribute again");
    let mine: Vec<_> = events
        .drain()
        .into_iter()
        .filter_map(|e| match e {
            Event::Reconfigured { name, changes } if name.as_str() == "round3-macro-reload" => Some(changes),
            _ => None,
        })
        .collect();
    assert_eq!(mine, [["half_open_max_wait: off -> 5s"]]);
    clock.advance(secs(5));
    assert_eq!(ready(fetch(0)), Err(ApiError::Breaker(State::HalfOpen, None)));
    clock.advance(Duration::from_nanos(1));
    assert_eq!(ready(fetch(0)), Err(ApiError::Breaker(State::Open, Some(secs(20)))));
    drop(hung);
}

// --- the tower layer ---------------------------------------------------------------------------

/// A service answering `Ok(n)` at once, or never for `u32::MAX`; counts its calls.
#[derive(Clone)]
struct Backend(Arc<AtomicU32>);

impl Service<u32> for Backend {
    type Response = u32;
    type Error = String;
    type Future = Pin<Box<dyn Future<Output = Result<u32, String>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), String>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, n: u32) -> Self::Future {
        self.0.fetch_add(1, Ordering::Relaxed);
        if n == u32::MAX {
            Box::pin(std::future::pending())
        } else {
            Box::pin(std::future::ready(Ok(n)))
        }
    }
}

/// `poll_ready` then `call` on `svc`, as tower's `oneshot` does.
fn send<S: Service<u32>>(svc: &mut S, n: u32) -> S::Future {
    assert!(matches!(
        poll_once(std::pin::pin!(std::future::poll_fn(|cx| svc.poll_ready(cx)))),
        Poll::Ready(Ok(()))
    ));
    svc.call(n)
}

/// A request that never answers holds the probe; 5s + 1ns later another clone's request is
/// refused as Open for 20s without reaching the backend; after the open wait a request
/// reaches it as the next period's probe.
#[test]
fn the_tower_layer_reopens_under_a_request_that_never_answers() {
    let (b, clock) = breaker(half_open_config(1, Some(secs(5))));
    let b = Arc::new(b);
    trip_until_11s(&b, &clock);
    let calls = Arc::new(AtomicU32::new(0));
    let layer = CircuitBreakerLayer::new(b.clone());
    let mut first = layer.layer(Backend(calls.clone()));
    let mut second = first.clone();
    let mut hung = send(&mut first, u32::MAX);
    assert!(poll_once(Pin::new(&mut hung)).is_pending());
    assert_eq!(b.snapshot().half_open_in_flight, 1);
    clock.advance(secs(5) + Duration::from_nanos(1));
    match poll_once(Pin::new(&mut send(&mut second, 1))) {
        Poll::Ready(Err(CallError::Rejected(r))) => {
            assert_eq!((r.state, r.retry_after), (State::Open, Some(secs(20))));
        }
        other => panic!("{:?}", other.map(|r| r.map_err(|e| format!("{e:?}")))),
    }
    assert_eq!(
        calls.load(Ordering::Relaxed),
        1,
        "the refused request did not reach the backend"
    );
    clock.advance(secs(20) + Duration::from_nanos(1));
    match poll_once(Pin::new(&mut send(&mut second, 2))) {
        Poll::Ready(Ok(2)) => {}
        other => panic!("{:?}", other.map(|r| r.map_err(|e| format!("{e:?}")))),
    }
    assert_eq!(calls.load(Ordering::Relaxed), 2);
    drop(hung);
    assert_eq!(b.snapshot().half_open_in_flight, 0);
}

/// A permit reserved by `poll_ready` is a probe from that moment: a service made ready at 11s
/// and called only at 17s has its slot counted from 11s, so the breaker re-opened at 16s + 1ns
/// before the request was even sent; the late `call` then still sends it (a permit of the old
/// period), the backend's answer moves no state, and the breaker stays Open.
#[test]
fn a_permit_reserved_by_poll_ready_counts_from_the_reservation() {
    let (b, clock) = breaker(half_open_config(1, Some(secs(5))));
    let b = Arc::new(b);
    trip_until_11s(&b, &clock);
    let calls = Arc::new(AtomicU32::new(0));
    let mut svc = CircuitBreakerLayer::new(b.clone()).layer(Backend(calls.clone()));
    assert!(matches!(
        poll_once(std::pin::pin!(std::future::poll_fn(|cx| svc.poll_ready(cx)))),
        Poll::Ready(Ok(()))
    ));
    assert_eq!(b.snapshot().half_open_in_flight, 1);
    clock.advance(secs(5) + Duration::from_nanos(1));
    assert_eq!(b.state(), State::Open, "re-opened under the reservation");
    clock.advance(secs(1));
    let answer = poll_once(Pin::new(&mut svc.call(5)));
    assert!(matches!(answer, Poll::Ready(Ok(5))), "the reserved permit still sends");
    assert_eq!(calls.load(Ordering::Relaxed), 1);
    let s = b.snapshot();
    assert_eq!((s.state, s.open_for), (State::Open, Some(secs(19))));
}

// --- a protected stream ------------------------------------------------------------------------

/// A stream of whatever is queued, pending while the queue is empty.
struct Queued(Arc<Mutex<std::collections::VecDeque<Result<u32, String>>>>);

impl futures_util::Stream for Queued {
    type Item = Result<u32, String>;

    fn poll_next(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        match self.0.lock().unwrap().pop_front() {
            Some(item) => Poll::Ready(Some(item)),
            None => Poll::Pending,
        }
    }
}

/// A protected stream waiting for an item holds the probe: 5s + 1ns later another caller
/// re-opens. The item arriving afterwards is yielded (its permit of the old period moves no
/// state); the next item is refused: one `Err(Rejected)` as Open, then the stream ends.
#[test]
fn a_protected_stream_waiting_for_an_item_holds_the_probe_until_the_max_wait() {
    use futures_util::Stream;
    let (b, clock) = breaker(half_open_config(1, Some(secs(5))));
    let b = Arc::new(b);
    trip_until_11s(&b, &clock);
    let queue = Arc::new(Mutex::new(std::collections::VecDeque::new()));
    let mut items = Box::pin(b.protect_stream(Queued(queue.clone())));
    let mut cx = Context::from_waker(Waker::noop());
    assert!(items.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(
        b.snapshot().half_open_in_flight,
        1,
        "waiting for an item holds the probe"
    );
    clock.advance(secs(5) + Duration::from_nanos(1));
    assert_eq!(b.try_acquire().map(drop).map_err(|r| r.state), Err(State::Open));
    queue.lock().unwrap().push_back(Ok(1));
    assert!(matches!(items.as_mut().poll_next(&mut cx), Poll::Ready(Some(Ok(1)))));
    assert_eq!(b.state(), State::Open, "the late item moves nothing");
    match items.as_mut().poll_next(&mut cx) {
        Poll::Ready(Some(Err(CallError::Rejected(r)))) => assert_eq!(r.state, State::Open),
        other => panic!("{:?}", other.map(|o| o.map(|r| r.map_err(|e| format!("{e:?}"))))),
    }
    assert!(matches!(items.as_mut().poll_next(&mut cx), Poll::Ready(None)));
}

// --- a registry's configuration reloads --------------------------------------------------------

const NAME: &str = "round3-reload";

fn source(section: &str) -> ConfigSource {
    ConfigSource::from_text(&format!("[breakers.{NAME}]\n{section}\n"), "circuit_breakers.toml").expect("valid")
}

/// A registry on a manual clock whose file sets `section` for the breaker; the breaker (code
/// config: consecutive 1, open 10s, no jitter, `max_calls` slots), tripped at 0s, at 11s.
fn reloadable(max_calls: u32, section: &str) -> (Registry, Arc<CircuitBreaker>, ManualClock) {
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone()).with_config(source(section));
    let config = consecutive(1)
        .open_timeout(secs(10))
        .half_open_max_calls(max_calls)
        .jitter(0.0)
        .build()
        .expect("valid");
    let b = registry.breaker(NAME, &config);
    assert!(run(&b, Outcome::Failure));
    clock.advance(secs(11));
    (registry, b, clock)
}

/// The file says `"off"`; a probe holds the only slot from 11s. At 20s a reload sets `"5s"`:
/// `Reconfigured` names the change, and the wait counts from the reload (the probe is 9s old,
/// yet nothing re-opens until 25s + 1ns).
#[test]
fn a_reload_turning_the_wait_on_under_a_stuck_probe_counts_from_the_reload() {
    let (registry, b, clock) = reloadable(1, "half_open_max_wait = \"off\"");
    assert_eq!(b.config().half_open_max_wait, None);
    let _stuck = b.try_acquire().expect("probe");
    clock.advance(secs(9));
    let mut events = registry.subscribe();
    let changes = registry.reconfigure(source("half_open_max_wait = \"5s\""));
    assert_eq!(changes.len(), 1, "{changes:?}");
    let seen = events.drain();
    let reconfigured: Vec<_> = seen
        .iter()
        .filter_map(|e| match e {
            Event::Reconfigured { changes, .. } => Some(changes.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(reconfigured.len(), 1, "{seen:?}");
    assert_eq!(reconfigured[0], ["half_open_max_wait: off -> 5s"]);
    assert_eq!(
        b.state(),
        State::HalfOpen,
        "a 9s-old probe, the wait 5s, but counted from the reload"
    );
    reopens_exactly_after(&b, &clock, secs(5));
}

/// The file says `"5s"`; a probe holds the slot from 11s. At 14s a reload sets `"off"`: an
/// hour later it is still HalfOpen. A reload back to `"2s"` at 1h counts from then.
#[test]
fn a_reload_turning_the_wait_off_keeps_a_stuck_probe_then_on_again_counts_from_it() {
    let (registry, b, clock) = reloadable(1, "half_open_max_wait = \"5s\"");
    assert_eq!(b.config().half_open_max_wait, Some(secs(5)));
    let _stuck = b.try_acquire().expect("probe");
    clock.advance(secs(3));
    registry.reconfigure(source("half_open_max_wait = \"off\""));
    assert_eq!(b.config().half_open_max_wait, None);
    clock.advance(secs(3600));
    assert_eq!(b.state(), State::HalfOpen);
    assert_eq!(b.try_acquire().map(drop).map_err(|r| r.state), Err(State::HalfOpen));
    registry.reconfigure(source("half_open_max_wait = \"2s\""));
    // Counted from the reload.
    reopens_exactly_after(&b, &clock, secs(2));
}

/// Two slots (code), wait 5s (file); one probe holds a slot from 11s, the other is free. At
/// 20s a reload lowers `half_open_max_calls` to 1: now every slot is held by a probe undecided
/// for 9s, past the wait, and the next call re-opens (`waited` 9s: from the newest probe, not
/// from the reload, as the README has it).
#[test]
fn a_reload_lowering_max_calls_under_a_stuck_probe_reopens_from_its_time() {
    let (registry, b, clock) = reloadable(2, "half_open_max_wait = \"5s\"");
    let _stuck = b.try_acquire().expect("probe");
    clock.advance(secs(9));
    assert_eq!(b.state(), State::HalfOpen, "a slot is free");
    registry.reconfigure(source("half_open_max_wait = \"5s\"\nhalf_open_max_calls = 1"));
    assert_eq!(b.config().half_open_max_calls, 1);
    let r = b.try_acquire().map(drop).expect_err("re-opened");
    assert_eq!(r.state, State::Open);
    assert_eq!(b.snapshot().tripped_by, Some(undecided(secs(9))));
}

/// Raising `half_open_max_calls` under a stuck probe past the wait frees a slot: the next
/// call is a probe, and the period's time is then the newest probe's.
#[test]
fn a_reload_raising_max_calls_under_a_stuck_probe_admits_a_probe_that_restarts_the_wait() {
    let (registry, b, clock) = reloadable(1, "half_open_max_wait = \"5s\"");
    let _stuck = b.try_acquire().expect("probe");
    clock.advance(secs(4));
    registry.reconfigure(source("half_open_max_wait = \"5s\"\nhalf_open_max_calls = 2"));
    clock.advance(secs(4));
    let _second = b.try_acquire().expect("a slot is free: a probe");
    reopens_exactly_after(&b, &clock, secs(5));
}

// --- the key's range -------------------------------------------------------------------------

/// README: `> 0, ≤ 24h, or "off"`, the same in the builder and a file.
#[test]
fn the_wait_accepts_its_range_and_refuses_the_rest_in_builder_and_file() {
    assert!(
        BreakerConfig::builder()
            .half_open_max_wait(Duration::ZERO)
            .build()
            .is_err()
    );
    assert!(
        BreakerConfig::builder()
            .half_open_max_wait(secs(24 * 3600) + Duration::from_nanos(1))
            .build()
            .is_err()
    );
    assert!(
        BreakerConfig::builder()
            .half_open_max_wait(secs(24 * 3600))
            .build()
            .is_ok()
    );
    assert!(
        BreakerConfig::builder()
            .half_open_max_wait(Duration::from_nanos(1))
            .build()
            .is_ok()
    );
    for bad in ["\"0s\"", "\"25h\"", "\"on\"", "5", "true"] {
        let text = format!("[breakers.x]\nhalf_open_max_wait = {bad}\n");
        assert!(
            ConfigSource::from_text(&text, "circuit_breakers.toml").is_err(),
            "{bad}"
        );
    }
    for good in ["\"off\"", "\"1ms\"", "\"24h\""] {
        let text = format!("[breakers.x]\nhalf_open_max_wait = {good}\n");
        assert!(
            ConfigSource::from_text(&text, "circuit_breakers.toml").is_ok(),
            "{good}"
        );
    }
}

// --- manual transitions under a stuck probe ----------------------------------------------------

/// `force_open` then `transition_to(HalfOpen)` (HalfOpen -> HalfOpen is illegal) while the
/// only slot is stuck starts a new period with every slot free: the next call is a probe, the old probe's drop frees none of the new period's slots,
/// and the new probe's wait counts from its own start.
#[test]
fn a_manual_half_open_under_a_stuck_probe_starts_afresh() {
    let (b, clock) = breaker(half_open_config(1, Some(secs(5))));
    trip_until_11s(&b, &clock);
    let old = b.try_acquire().expect("probe");
    clock.advance(secs(4));
    b.force_open();
    b.transition_to(State::HalfOpen).expect("ForcedOpen -> HalfOpen");
    assert_eq!(b.snapshot().half_open_in_flight, 0);
    let _new = b.try_acquire().expect("a probe of the new period");
    drop(old);
    assert_eq!(
        b.snapshot().half_open_in_flight,
        1,
        "the old probe's slot was another period's"
    );
    assert!(b.try_acquire().is_err(), "the only slot is held");
    reopens_exactly_after(&b, &clock, secs(5));
}

// --- a clock source that reads the breaker's configuration ------------------------------------

/// A `ManualClock` that, on the one read it is armed for (on the arming thread), asks the
/// breaker for its configuration on a helper thread and waits at most 2s for the answer.
#[derive(Debug, Default)]
struct ConfigReadingClock {
    manual: ManualClock,
    armed: Mutex<Option<thread::ThreadId>>,
    breaker: OnceLock<Weak<CircuitBreaker>>,
    gave_up: AtomicBool,
}

impl ClockSource for ConfigReadingClock {
    fn now_nanos(&self) -> u64 {
        let mine = {
            let mut armed = self.armed.lock().unwrap();
            if *armed == Some(thread::current().id()) {
                armed.take()
            } else {
                None
            }
        };
        if mine.is_some()
            && let Some(b) = self.breaker.get().and_then(Weak::upgrade)
        {
            let (tx, rx) = mpsc::channel();
            thread::spawn(move || {
                let _ = tx.send(b.config());
            });
            if rx.recv_timeout(Duration::from_secs(2)).is_err() {
                self.gave_up.store(true, Ordering::SeqCst);
            }
        }
        self.manual.elapsed().as_nanos() as u64
    }
}

/// Was a DEFECT, fixed (the stamp is read after the lock is dropped, decisions still held
/// off, and a panicking clock there puts the old rules back): `reconfigure` still runs a clock source while it holds the breaker's configuration
/// lock: when it turns the max wait on during HalfOpen it stamps `clock.now_nanos()` inside
/// that lock (and its `taking` count). attack_round2 took a clock source that reads
/// `config()` (or `{:?}` of the breaker) as legitimate and fixed the decider's side; the
/// reconfiguring side has the same shape. Steps: 1 slot, wait off, a probe holds the slot at
/// 11s; `reconfigure` turning the wait on to 5s; its stamp's clock read calls `config()` (on a
/// helper thread here, so that the test can give up after 2s; on the same thread it is a
/// relock of a std `Mutex`: deadlock or panic). Observed: `config()` blocks until the clock
/// read gives up, i.e. the clock waits on the reconfiguring thread's lock (the same with a clock
/// waiting on any thread that enters `swapped` for an Open transition, which takes that lock).
/// Expected: no clock source runs under the configuration lock; `reconfigure` returns at once
/// and the helper's `config()` answers.
#[test]
fn a_reconfiguration_whose_stamp_clock_reads_the_config_hangs_on_its_own_lock() {
    let source = Arc::new(ConfigReadingClock::default());
    let config = half_open_config(1, None).jitter(0.0).build().expect("valid");
    let b = Arc::new(
        CircuitBreaker::builder("round3-clock")
            .config(config)
            .clock(Clock::custom(source.clone()))
            .build(),
    );
    source.breaker.set(Arc::downgrade(&b)).expect("set once");
    assert!(run(&b, Outcome::Failure));
    source.manual.advance(secs(11));
    let _stuck = b.try_acquire().expect("probe");
    let mut on = b.config();
    on.half_open_max_wait = Some(secs(5));
    *source.armed.lock().unwrap() = Some(thread::current().id());
    b.reconfigure(on);
    assert!(
        source.armed.lock().unwrap().is_none(),
        "the reconfiguration read the clock (it stamps the wait's start)"
    );
    assert!(
        !source.gave_up.load(Ordering::SeqCst),
        "the stamp's clock read waited on the configuration lock its own reconfiguration holds"
    );
}
