//! Protected streams over real HTTP streaming bodies from an axum server on 127.0.0.1: every
//! item is a call; an open breaker ends the stream or hands over to the fallback's stream;
//! dropping a waiting stream frees its half-open slot; a panic counts as a failure. Open waits
//! run on a manual clock.

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, State as AxumState};
use axum::http::StatusCode;
use axum::routing::get;
use cb_runtime::{BreakerConfig, CallError, CircuitBreaker, ManualClock, State};
use futures_util::{Stream, StreamExt, stream};
use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

#[derive(Debug)]
enum FeedError {
    /// The server sent an error line.
    Event(#[allow(dead_code)] String),
    /// The HTTP layer failed.
    Http(#[allow(dead_code)] reqwest::Error),
}

/// A breaker on a manual clock: opens after `failures` consecutive failures for 30s.
fn breaker(name: &str, failures: u32) -> (Arc<CircuitBreaker>, ManualClock) {
    let config = BreakerConfig::builder()
        .consecutive_failures(failures)
        .no_failure_rate()
        .open_timeout(Duration::from_secs(30))
        .jitter(0.0)
        .half_open_max_calls(1)
        .success_threshold(2);
    on_manual_clock(name, config)
}

fn on_manual_clock(name: &str, config: cb_runtime::BreakerConfigBuilder) -> (Arc<CircuitBreaker>, ManualClock) {
    let clock = ManualClock::new();
    let breaker = CircuitBreaker::builder(name)
        .config(config.build().unwrap())
        .clock(clock.clone())
        .build();
    (Arc::new(breaker), clock)
}

#[derive(Default)]
struct Pages {
    failing_from: AtomicU32,
    served: AtomicU32,
}

/// `/feed/{script}`: a chunked body of one line per comma-separated word of `script`
/// ("stall" holds the body open without sending); `/page/{n}`: page `n` of five, or a 500 from
/// page `failing_from` on.
async fn server() -> (String, Arc<Pages>) {
    let pages = Arc::new(Pages {
        failing_from: AtomicU32::new(u32::MAX),
        ..Pages::default()
    });
    let app = Router::new()
        .route(
            "/feed/{script}",
            get(|Path(script): Path<String>| async move {
                let words: Vec<String> = script.split(',').map(str::to_owned).collect();
                let lines = stream::iter(words).flat_map(|word| match word.as_str() {
                    "stall" => stream::pending().boxed(),
                    _ => stream::iter([Ok::<_, Infallible>(format!("{word}\n"))]).boxed(),
                });
                Body::from_stream(lines)
            }),
        )
        .route(
            "/page/{n}",
            get(
                |AxumState(pages): AxumState<Arc<Pages>>, Path(n): Path<u32>| async move {
                    pages.served.fetch_add(1, Ordering::SeqCst);
                    if n >= pages.failing_from.load(Ordering::SeqCst) {
                        return (StatusCode::INTERNAL_SERVER_ERROR, String::new());
                    }
                    let next = if n < 4 { (n + 1).to_string() } else { "end".into() };
                    (StatusCode::OK, format!("item-{n}a item-{n}b\n{next}"))
                },
            ),
        )
        .with_state(pages.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, pages)
}

/// The lines of a streaming response as they arrive: `ok..` lines are items, `err..` lines
/// errors.
async fn lines(url: String) -> impl Stream<Item = Result<String, FeedError>> {
    let body = reqwest::get(url).await.unwrap().bytes_stream();
    stream::unfold((body, Vec::new()), |(mut body, mut buf)| async move {
        loop {
            if let Some(end) = buf.iter().position(|b| *b == b'\n') {
                let line = String::from_utf8(buf.drain(..=end).collect())
                    .unwrap()
                    .trim()
                    .to_owned();
                let item = if line.starts_with("err") {
                    Err(FeedError::Event(line))
                } else {
                    Ok(line)
                };
                return Some((item, (body, buf)));
            }
            match body.next().await? {
                Ok(bytes) => buf.extend_from_slice(&bytes),
                Err(e) => return Some((Err(FeedError::Http(e)), (body, buf))),
            }
        }
    })
}

#[tokio::test]
async fn every_item_counts_and_an_open_breaker_ends_the_stream_with_its_rejection() {
    let (base, _) = server().await;
    let (breaker, _clock) = breaker("feed", 2);
    let feed = lines(format!("{base}/feed/ok1,err2,ok3,err4,err5,ok6,ok7")).await;
    let items: Vec<_> = breaker.protect_stream(feed).collect().await;

    let shown: Vec<String> = items
        .iter()
        .map(|item| match item {
            Ok(line) => line.clone(),
            Err(CallError::Inner(FeedError::Event(line))) => format!("error {line}"),
            Err(CallError::Rejected(r)) => format!("rejected by {}", r.name),
            Err(other) => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(
        shown,
        [
            "ok1",
            "error err2",
            "ok3",
            "error err4",
            "error err5",
            "rejected by feed"
        ]
    );
    let s = breaker.snapshot();
    assert_eq!((s.state, s.totals.successes, s.totals.failures), (State::Open, 2, 3));
}

#[tokio::test]
async fn a_paginated_fetch_hands_over_to_the_fallback_pages_when_the_breaker_opens() {
    let (base, pages) = server().await;
    let (breaker, _clock) = breaker("pages", 2);
    pages.failing_from.store(2, Ordering::SeqCst);
    let client = reqwest::Client::new();
    let fetch = stream::unfold(Some(0u32), move |page| {
        let (client, base) = (client.clone(), base.clone());
        async move {
            let n = page?;
            let response = client.get(format!("{base}/page/{n}")).send().await;
            let body = match response.and_then(|r| r.error_for_status()) {
                Ok(r) => r.text().await.unwrap(),
                // A failed page is an error item; the fetch goes on to ask for it again.
                Err(e) => return Some((Err(FeedError::Http(e)), Some(n))),
            };
            let (items, next) = body.split_once('\n').unwrap();
            let items: Vec<String> = items.split(' ').map(str::to_owned).collect();
            Some((Ok(items), next.parse().ok()))
        }
    });
    let cached = |_rejected| stream::iter([Ok::<_, FeedError>(vec!["cached-2".to_owned(), "cached-3".to_owned()])]);
    let got: Vec<_> = breaker.protect_stream(fetch).fallback(cached).collect().await;

    let ok: Vec<Vec<String>> = got.iter().filter_map(|p| p.as_ref().ok().cloned()).collect();
    assert_eq!(
        ok,
        [
            vec!["item-0a", "item-0b"],
            vec!["item-1a", "item-1b"],
            vec!["cached-2", "cached-3"]
        ]
    );
    assert_eq!(
        got.iter().filter(|p| p.is_err()).count(),
        2,
        "two failed pages before it opened"
    );
    assert_eq!(pages.served.load(Ordering::SeqCst), 4, "no request once open");
    let s = breaker.snapshot();
    assert_eq!((s.state, s.totals.fallbacks, s.totals.failures), (State::Open, 1, 2));
}

#[tokio::test]
async fn dropping_a_waiting_stream_frees_its_half_open_slot() {
    let (base, _) = server().await;
    let (breaker, _clock) = breaker("stall", 1);
    breaker.force_open();
    breaker.transition_to(State::HalfOpen).unwrap();
    assert_eq!(breaker.state(), State::HalfOpen);

    let feed = lines(format!("{base}/feed/ok1,stall")).await;
    let mut protected = Box::pin(breaker.protect_stream(feed));
    assert_eq!(protected.next().await.unwrap().unwrap(), "ok1");
    // The next item never comes: the probe slot stays taken while the stream waits.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), protected.next())
            .await
            .is_err()
    );
    assert_eq!(breaker.snapshot().half_open_in_flight, 1);
    assert!(breaker.try_acquire().is_err(), "the only probe slot is taken");

    drop(protected);
    assert_eq!(breaker.snapshot().half_open_in_flight, 0);
    let s = breaker.snapshot();
    assert_eq!(
        (s.state, s.totals.successes, s.totals.failures),
        (State::HalfOpen, 1, 0)
    );
    breaker
        .try_acquire()
        .expect("the slot is free again")
        .record(cb_runtime::Outcome::Success);
    assert_eq!(breaker.state(), State::Closed);
}

#[test]
fn a_panicking_stream_counts_as_a_failure_and_keeps_unwinding() {
    let (breaker, _clock) = breaker("panics", 5);
    let exploding = stream::poll_fn(|_| -> std::task::Poll<Option<Result<u32, FeedError>>> { panic!("decoder bug") });
    let mut protected = Box::pin(breaker.protect_stream(exploding));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| protected.as_mut().poll_next(&mut cx)));
    assert!(unwound.is_err());
    let s = breaker.snapshot();
    assert_eq!((s.totals.failures, s.totals.successes), (1, 0));
}

/// A panic elsewhere (not in the stream) that drops a waiting stream, its probe slot held, is
/// not the call's: the slot is handed back and nothing is recorded (found by a new-user review:
/// it re-opened the breaker as a failed probe).
#[test]
fn a_panic_elsewhere_that_drops_a_waiting_stream_records_nothing() {
    let (breaker, clock) = breaker("unrelated-panic", 1);
    breaker.force_open();
    breaker.reset();
    let _ = breaker.call_sync(|| Err::<(), _>("down"));
    assert_eq!(breaker.state(), State::Open);
    clock.advance(Duration::from_secs(31));
    let waiting = stream::pending::<Result<u32, FeedError>>();
    let mut protected = Box::pin(breaker.protect_stream(waiting));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(protected.as_mut().poll_next(&mut cx).is_pending());
    assert_eq!(breaker.state(), State::HalfOpen);
    assert!(
        breaker.try_acquire().is_err(),
        "the waiting stream holds the one probe slot"
    );
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || {
        let _held = protected;
        panic!("a bug elsewhere in the consumer");
    }));
    assert!(unwound.is_err());
    assert_eq!(breaker.state(), State::HalfOpen, "no failed probe");
    assert_eq!(breaker.snapshot().totals.failures, 1, "only the call that tripped it");
    let probe = breaker.try_acquire().expect("the probe slot is handed back");
    probe.success();
}

/// An inner stream that waited (its permit kept between polls) and panics when polled again:
/// the panic is the call's, a failure.
#[test]
fn a_stream_that_panics_after_waiting_counts_as_a_failure() {
    let (breaker, _clock) = breaker("panics-after-wait", 5);
    let mut polled = false;
    let waits_then_panics = stream::poll_fn(move |_| -> std::task::Poll<Option<Result<u32, FeedError>>> {
        if polled {
            panic!("decoder bug after a wait");
        }
        polled = true;
        std::task::Poll::Pending
    });
    let mut protected = Box::pin(breaker.protect_stream(waits_then_panics));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(protected.as_mut().poll_next(&mut cx).is_pending());
    let unwound = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| protected.as_mut().poll_next(&mut cx)));
    assert!(unwound.is_err());
    drop(protected);
    assert_eq!(breaker.snapshot().totals.failures, 1);
}

/// A fallback stream that has ended is not polled again: the protected stream gives `None`
/// again, as it does once the inner stream has ended (found by a new-user review: an `unfold`
/// fallback panicked when polled past its end).
#[tokio::test]
async fn a_protected_stream_polled_past_its_fallbacks_end_gives_none_again() {
    let (breaker, _clock) = breaker("fallback-end", 1);
    breaker.force_open();
    let once = |_: cb_runtime::Rejected| {
        stream::unfold(
            0u32,
            |n| async move { (n < 1).then_some((Ok::<u32, FeedError>(n), n + 1)) },
        )
    };
    let mut protected = Box::pin(
        breaker
            .protect_stream(stream::iter([Ok::<u32, FeedError>(1)]))
            .fallback(once),
    );
    assert!(matches!(protected.next().await, Some(Ok(0))));
    assert!(protected.next().await.is_none());
    assert!(protected.next().await.is_none());
}

#[tokio::test]
async fn the_open_wait_passes_and_a_new_stream_probes() {
    let (base, _) = server().await;
    let (breaker, clock) = breaker("probe", 1);
    let first: Vec<_> = breaker
        .protect_stream(lines(format!("{base}/feed/err1,ok2")).await)
        .collect()
        .await;
    assert!(matches!(
        first.as_slice(),
        [Err(CallError::Inner(_)), Err(CallError::Rejected(_))]
    ));
    clock.advance(Duration::from_secs(31));
    let second: Vec<_> = breaker
        .protect_stream(lines(format!("{base}/feed/ok1,ok2,ok3")).await)
        .collect()
        .await;
    assert_eq!(second.len(), 3);
    assert_eq!(breaker.state(), State::Closed);
}

/// An item's duration runs from the poll that asks for it to the poll that gets it: time the
/// consumer holds an item before asking for the next is not the backend's.
#[test]
fn an_items_duration_is_the_wait_for_it_not_the_consumers_time_between_items() {
    let config = BreakerConfig::builder()
        .slow_call_rate_threshold(1.0)
        .slow_call_duration(Duration::from_secs(1))
        .minimum_calls(1000);
    let (breaker, clock) = on_manual_clock("item-durations", config);
    let mut waited = false;
    let items = stream::poll_fn(move |_| -> std::task::Poll<Option<Result<u32, FeedError>>> {
        match std::mem::replace(&mut waited, true) {
            false => std::task::Poll::Ready(Some(Ok(1))),
            true => std::task::Poll::Ready(Some(Ok(2))),
        }
    });
    let mut protected = Box::pin(breaker.protect_stream(items));
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(matches!(
        protected.as_mut().poll_next(&mut cx),
        std::task::Poll::Ready(Some(Ok(1)))
    ));
    clock.advance(Duration::from_secs(5));
    assert!(matches!(
        protected.as_mut().poll_next(&mut cx),
        std::task::Poll::Ready(Some(Ok(2)))
    ));
    assert_eq!(breaker.snapshot().totals.slow_calls, 0, "the consumer's five seconds");

    let mut polls = 0;
    let slow = stream::poll_fn(move |_| -> std::task::Poll<Option<Result<u32, FeedError>>> {
        polls += 1;
        match polls {
            1 => std::task::Poll::Pending,
            _ => std::task::Poll::Ready(Some(Ok(3))),
        }
    });
    let mut protected = Box::pin(breaker.protect_stream(slow));
    assert!(protected.as_mut().poll_next(&mut cx).is_pending());
    clock.advance(Duration::from_secs(2));
    assert!(matches!(
        protected.as_mut().poll_next(&mut cx),
        std::task::Poll::Ready(Some(Ok(3)))
    ));
    assert_eq!(
        breaker.snapshot().totals.slow_calls,
        1,
        "two seconds waiting for the item"
    );
}
