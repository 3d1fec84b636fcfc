//! Attacks on the keyed call sites' per-thread cache, which a call takes its key's entry out
//! of and puts back when it ends: cancelled calls, calls finished on another thread, panics,
//! and many keys cycling through one thread's cache. Each keeps one breaker per key, with its
//! counts.

mod support;

use cb_runtime::{CircuitProtected, Rejected, State, circuit_breaker};
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use support::polling::yield_once;

#[derive(Debug)]
struct Failed;

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "attack_keyed_cache", consecutive_failures = 3, open_timeout = "1h")]
struct Peer {
    #[circuit_breaker(key)]
    id: String,
}

impl Peer {
    #[circuit_breaker]
    async fn fetch(&self, ok: bool) -> Result<(), Failed> {
        yield_once().await;
        if ok { Ok(()) } else { Err(Failed) }
    }

    #[circuit_breaker]
    fn boom(&self) -> Result<(), Failed> {
        panic!("boom")
    }
}

/// Polls `future` to its end (every future here wakes itself).
fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    let mut cx = Context::from_waker(Waker::noop());
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
    }
}

/// Polls a call once (it is in flight, holding its key's cache entry) and drops it.
fn cancel_mid_flight(peer: &Peer) {
    let mut future = pin!(peer.fetch(false));
    assert!(
        future
            .as_mut()
            .poll(&mut Context::from_waker(Waker::noop()))
            .is_pending()
    );
}

#[test]
fn cancelled_calls_record_nothing_and_keep_the_key_on_its_breaker() {
    let peer = Peer { id: "cancelled".into() };
    let first = peer.circuit_breaker();
    for _ in 0..2 {
        cancel_mid_flight(&peer);
        assert!(block_on(peer.fetch(false)).is_err());
    }
    cancel_mid_flight(&peer);
    let totals = first.snapshot().totals;
    assert_eq!(
        (totals.successes, totals.failures),
        (0, 2),
        "cancelled calls count nothing"
    );
    assert!(block_on(peer.fetch(false)).is_err());
    assert_eq!(
        peer.circuit_state(),
        State::Open,
        "three failures in a row on one breaker"
    );
    assert!(std::sync::Arc::ptr_eq(&first, &peer.circuit_breaker()));
}

#[test]
fn a_call_finished_on_another_thread_lands_on_the_same_breaker() {
    let peer = Peer { id: "moved".into() };
    std::thread::scope(|s| {
        for _ in 0..2 {
            let mut future = Box::pin(peer.fetch(false));
            assert!(
                future
                    .as_mut()
                    .poll(&mut Context::from_waker(Waker::noop()))
                    .is_pending()
            );
            // Meanwhile this thread calls the same key: its cache entry is out with the call.
            assert!(block_on(peer.fetch(true)).is_ok());
            s.spawn(move || assert!(block_on(future).is_err())).join().unwrap();
        }
    });
    let totals = peer.circuit_breaker().snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (2, 2));
}

#[test]
fn a_panicking_keyed_call_records_a_failure_and_its_key_keeps_its_breaker() {
    std::panic::set_hook(Box::new(|_| {}));
    let peer = Peer { id: "panics".into() };
    for _ in 0..2 {
        assert!(catch_unwind(AssertUnwindSafe(|| peer.boom())).is_err());
    }
    // Many other keys through this thread's cache, then the key again.
    for i in 0..1_000 {
        block_on(
            Peer {
                id: format!("other{i}"),
            }
            .fetch(true),
        )
        .unwrap();
    }
    assert_eq!(peer.circuit_breaker().snapshot().totals.failures, 2);
    assert!(block_on(peer.fetch(false)).is_err());
    assert_eq!(
        peer.circuit_state(),
        State::Open,
        "the panics and this failure are one run"
    );
}
