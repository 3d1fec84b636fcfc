//! The depth a sub-queue's status shows while a push is under way as its replayer starts: the
//! replayer takes the backend's count for the depth, and a push that has written its entry
//! but not yet counted it would be counted twice (a new-user attack saw depth 4 for 3 entries
//! on Redis, 2 on JetStream). A backend that holds a push after its write makes the race
//! happen every time.

mod support;

use cb_runtime::circuit_breaker;
use cb_runtime::queue::{BackendError, BackendFuture, Entry, InMemoryQueue, PushError, QueueBackend, queues};
use cb_runtime::registry;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration, Instant};
use support::queue::{Downstream, SendError, status, until};

/// An in-memory backend whose pushes write their entry, then wait until `release`; a look at
/// its length waits (a while) for a push's write first, and is counted.
#[derive(Debug)]
struct HeldPush {
    inner: InMemoryQueue,
    written: AtomicBool,
    release: Arc<AtomicBool>,
    lens: Arc<AtomicU32>,
}

impl QueueBackend for HeldPush {
    fn kind(&self) -> &'static str {
        "held-push"
    }
    fn push<'a>(&'a self, stream: &'a str, payload: Vec<u8>) -> BackendFuture<'a, Result<String, PushError>> {
        Box::pin(async move {
            let id = self.inner.push(stream, payload).await;
            self.written.store(true, Ordering::SeqCst);
            while !self.release.load(Ordering::SeqCst) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            id
        })
    }
    fn push_now(&self, _: &str, _: &[u8]) -> Option<Result<String, PushError>> {
        None
    }
    fn head<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<Option<Entry>, BackendError>> {
        self.inner.head(stream)
    }
    fn ack<'a>(&'a self, stream: &'a str, id: &'a str) -> BackendFuture<'a, Result<(), BackendError>> {
        self.inner.ack(stream, id)
    }
    fn len<'a>(&'a self, stream: &'a str) -> BackendFuture<'a, Result<u64, BackendError>> {
        Box::pin(async move {
            let start = Instant::now();
            while !self.written.load(Ordering::SeqCst) && start.elapsed() < Duration::from_millis(500) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            self.lens.fetch_add(1, Ordering::SeqCst);
            self.inner.len(stream).await
        })
    }
}

#[derive(Clone, Default)]
struct Notifier(Downstream);

impl Notifier {
    #[circuit_breaker(name = "qdr", queue = "qdr")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("send:{n}")).await
    }
}

/// The site's first call, rejected, starts the replayer while its push is held after the
/// write: the depth is the one entry, not two, and stays one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_under_way_as_the_replayer_starts_is_counted_once() {
    queues().set_poll_interval(Duration::from_millis(5));
    let release = Arc::new(AtomicBool::new(false));
    let lens = Arc::new(AtomicU32::new(0));
    queues()
        .set_backend(
            "qdr",
            HeldPush {
                inner: InMemoryQueue::new(100),
                written: AtomicBool::new(false),
                release: release.clone(),
                lens: lens.clone(),
            },
        )
        .unwrap();
    // Open before the site's first call: that call starts the replayer and pushes at once.
    registry().breaker_with_layers("qdr", &[], &[]).force_open();
    let n = Notifier::default();
    let call = tokio::spawn({
        let n = n.clone();
        async move { n.send(1).await }
    });
    // Give the replayer every chance to look at the length while the push is held (it must
    // not take that count for the depth then).
    let start = Instant::now();
    while lens.load(Ordering::SeqCst) == 0 && start.elapsed() < Duration::from_millis(300) {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    release.store(true, Ordering::SeqCst);
    assert!(matches!(call.await.unwrap(), Err(SendError::Queued(_))));
    until("the replayer took the backend's count", || {
        lens.load(Ordering::SeqCst) > 0
    })
    .await;
    for _ in 0..20 {
        assert_eq!(status("qdr", "qdr").depth, 1, "one entry waits");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    registry().get("qdr").unwrap().reset();
    until("the entry replayed", || n.0.sent() == ["send:1"]).await;
    until("the depth is 0", || status("qdr", "qdr").depth == 0).await;
}
