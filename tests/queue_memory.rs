//! Queue for retry (issue 17, item 4) on the default in-memory backend: a rejected call is
//! queued and the caller told so; the queue replays in order when the breaker closes, at least
//! once (a failed replay stays and is retried), never past the half-open probe limit; a full
//! queue is an error the caller sees.

mod support;

use cb_runtime::queue::{InMemoryQueue, NotQueuedReason, QueueEvent, queues};
use cb_runtime::{CircuitProtected, ManualClock, Registry, State, circuit_breaker, init_registry, registry};
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;
use std::time::Duration;
use support::queue::{Downstream, SendError, status, until};

/// The registry's manual clock (open waits pass without sleeping), and a short poll interval.
fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        let _ = init_registry(Registry::with_clock(clock.clone()));
        queues().set_poll_interval(Duration::from_millis(5));
        clock
    })
}

#[derive(Clone)]
struct Notifier {
    downstream: Downstream,
}

impl Notifier {
    #[circuit_breaker(name = "queue-mem-order", queue = "mem-order")]
    async fn send(&self, to: String, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{to}:{seq}")).await
    }

    #[circuit_breaker(
        name = "queue-mem-retry",
        queue = "mem-retry",
        consecutive_failures = 1,
        open_timeout = "1s",
        jitter = 0.0,
        half_open_max_calls = 1,
        success_threshold = 1
    )]
    async fn retried(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }

    #[circuit_breaker(name = "queue-mem-panic", queue = "mem-panic")]
    async fn panicky(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }

    #[circuit_breaker(name = "queue-mem-full", queue = "mem-full")]
    async fn bounded(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }

    #[circuit_breaker(
        name = "queue-mem-half-open",
        queue = "mem-half-open",
        consecutive_failures = 1,
        open_timeout = "1s",
        jitter = 0.0,
        half_open_max_calls = 2,
        success_threshold = 3
    )]
    async fn probed(&mut self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }
}

/// A message passed by reference: the queue stores the referent and replays a reference to it.
#[derive(Debug, Serialize, Deserialize)]
struct Message {
    subject: String,
    urgent: bool,
}

/// The queue metrics in Prometheus text.
fn scrape() -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    cb_runtime::queue::register_metrics(&mut prometheus);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    text
}

fn free_downstream() -> &'static Downstream {
    static D: OnceLock<Downstream> = OnceLock::new();
    D.get_or_init(Downstream::default)
}

#[circuit_breaker(name = "queue-mem-free", queue = "mem-free")]
async fn notify(user: String, message: &Message) -> Result<(), SendError> {
    let urgent = if message.urgent { "!" } else { "" };
    free_downstream()
        .deliver(format!("{user}:{}{urgent}", message.subject))
        .await
}

#[tokio::test]
async fn a_rejected_call_is_queued_and_replayed_in_order_when_the_breaker_closes() {
    clock();
    let mut events = queues().subscribe();
    let n = Notifier {
        downstream: Downstream::default(),
    };
    n.send("warmup".into(), 0).await.unwrap();
    registry().force_open("queue-mem-order").unwrap();
    for seq in 1..=5 {
        match n.send("ann".into(), seq).await {
            Err(SendError::Queued(q)) => {
                assert_eq!((q.queue.as_str(), q.breaker.as_str()), ("mem-order", "queue-mem-order"));
                assert_eq!(q.id, seq.to_string(), "in-memory ids count up per sub-queue");
            }
            other => panic!("expected Queued, got {other:?}"),
        }
    }
    assert_eq!(
        n.downstream.sent(),
        ["warmup:0"],
        "nothing replays while the breaker is open"
    );
    let s = status("mem-order", "queue-mem-order");
    assert_eq!((s.queued, s.depth, s.replayed, s.backend), (5, 5, 0, "memory"));
    assert!(s.replay_registered);
    let snapshot = registry().snapshot("queue-mem-order").unwrap();
    assert_eq!(
        snapshot.totals.fallbacks, 5,
        "each queued call counts as a fallback execution"
    );
    let text = scrape();
    for line in [
        "circuit_breaker_queue_enqueued_total{name=\"queue-mem-order\",queue=\"mem-order\"} 5",
        "circuit_breaker_queue_depth{name=\"queue-mem-order\",queue=\"mem-order\"} 5",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }

    registry().reset("queue-mem-order").unwrap();
    until("the backlog to replay", || n.downstream.sent().len() == 6).await;
    assert_eq!(
        n.downstream.sent(),
        ["warmup:0", "ann:1", "ann:2", "ann:3", "ann:4", "ann:5"]
    );
    until("the status to catch up", || {
        status("mem-order", "queue-mem-order").depth == 0
    })
    .await;
    assert_eq!(status("mem-order", "queue-mem-order").replayed, 5);
    assert!(scrape().contains("circuit_breaker_queue_replayed_total{name=\"queue-mem-order\",queue=\"mem-order\"} 5"));
    let events: Vec<_> = events
        .drain()
        .into_iter()
        .filter(|e| {
            matches!(e, QueueEvent::Queued { queue, .. } | QueueEvent::Replayed { queue, .. } if queue == "mem-order")
        })
        .collect();
    assert_eq!(events.len(), 10, "five queued, five replayed: {events:?}");
}

#[tokio::test]
async fn a_free_function_with_a_borrowed_argument_is_queued_and_replayed() {
    clock();
    let message = Message {
        subject: "ride".into(),
        urgent: true,
    };
    notify("bo".into(), &message).await.unwrap();
    registry().force_open("queue-mem-free").unwrap();
    let queued = notify("cy".into(), &message).await;
    assert!(matches!(queued, Err(SendError::Queued(_))), "{queued:?}");
    registry().reset("queue-mem-free").unwrap();
    until("the replay", || free_downstream().sent().len() == 2).await;
    assert_eq!(free_downstream().sent(), ["bo:ride!", "cy:ride!"]);
}

#[tokio::test]
async fn a_failed_replay_stays_at_the_head_and_is_delivered_later() {
    let clock = clock();
    let mut events = queues().subscribe();
    let n = Notifier {
        downstream: Downstream::default(),
    };
    n.retried(0).await.unwrap();
    registry().force_open("queue-mem-retry").unwrap();
    for seq in 1..=2 {
        assert!(matches!(n.retried(seq).await, Err(SendError::Queued(_))));
    }
    n.downstream.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    registry().reset("queue-mem-retry").unwrap();
    until("the failed replay to trip the breaker", || {
        registry().snapshot("queue-mem-retry").unwrap().state == State::Open
    })
    .await;
    let failed: Vec<_> = events
        .drain()
        .into_iter()
        .filter(|e| matches!(e, QueueEvent::ReplayFailed { queue, id, .. } if queue == "mem-retry" && id == "1"))
        .collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    let s = status("mem-retry", "queue-mem-retry");
    assert_eq!((s.replayed, s.replay_failures, s.depth), (0, 1, 2));
    assert_eq!(n.downstream.sent(), ["0"]);

    n.downstream.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    until("the retried replays", || n.downstream.sent().len() == 3).await;
    assert_eq!(
        n.downstream.sent(),
        ["0", "1", "2"],
        "entry 1 was delivered first, once it could be"
    );
    assert_eq!(registry().snapshot("queue-mem-retry").unwrap().state, State::Closed);
}

#[tokio::test]
async fn a_full_queue_is_an_error_the_caller_sees() {
    clock();
    queues().set_backend("mem-full", InMemoryQueue::new(2)).unwrap();
    let mut events = queues().subscribe();
    let n = Notifier {
        downstream: Downstream::default(),
    };
    n.bounded(0).await.unwrap();
    assert!(
        queues().set_backend("mem-full", InMemoryQueue::new(9)).is_err(),
        "a queue in use keeps its backend"
    );
    registry().force_open("queue-mem-full").unwrap();
    assert!(matches!(n.bounded(1).await, Err(SendError::Queued(_))));
    assert!(matches!(n.bounded(2).await, Err(SendError::Queued(_))));
    match n.bounded(3).await {
        Err(SendError::NotQueued(not)) => {
            assert_eq!(not.reason, NotQueuedReason::Full { capacity: 2 });
            assert_eq!(
                not.to_string(),
                "circuit breaker `queue-mem-full` is open and the call was not queued: queue `mem-full` is full (capacity 2)"
            );
        }
        other => panic!("expected NotQueued, got {other:?}"),
    }
    assert!(
        events
            .drain()
            .iter()
            .any(|e| matches!(e, QueueEvent::NotQueued { queue, .. } if queue == "mem-full"))
    );
    let s = status("mem-full", "queue-mem-full");
    assert_eq!((s.queued, s.not_queued, s.depth), (2, 1, 2));
    registry().reset("queue-mem-full").unwrap();
    until("the replay", || n.downstream.sent().len() == 3).await;
    assert_eq!(
        n.downstream.sent(),
        ["0", "1", "2"],
        "the refused call 3 is not replayed"
    );
}

#[tokio::test]
async fn replays_in_half_open_take_probe_permits_one_at_a_time() {
    let clock = clock();
    let mut n = Notifier {
        downstream: Downstream::default(),
    };
    n.downstream.fail.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(matches!(n.probed(0).await, Err(SendError::Upstream)));
    assert_eq!(registry().snapshot("queue-mem-half-open").unwrap().state, State::Open);
    for seq in 1..=6 {
        assert!(matches!(n.probed(seq).await, Err(SendError::Queued(_))));
    }
    n.downstream.fail.store(false, std::sync::atomic::Ordering::SeqCst);
    clock.advance(Duration::from_secs(2));
    until("the replays", || n.downstream.sent().len() == 6).await;
    assert_eq!(n.downstream.sent(), ["1", "2", "3", "4", "5", "6"]);
    let max = n.downstream.max_in_flight.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(max, 1, "one replay at a time, within half_open_max_calls = 2");
    let snapshot = registry().snapshot("queue-mem-half-open").unwrap();
    assert_eq!(snapshot.state, State::Closed, "three replayed probes closed it");
}

#[tokio::test]
async fn a_replay_that_panics_is_reported_and_retried_and_the_replayer_lives_on() {
    clock();
    let mut events = queues().subscribe();
    let n = Notifier {
        downstream: Downstream::default(),
    };
    n.panicky(0).await.unwrap();
    registry().force_open("queue-mem-panic").unwrap();
    assert!(matches!(n.panicky(1).await, Err(SendError::Queued(_))));
    n.downstream.panic.store(true, std::sync::atomic::Ordering::SeqCst);
    registry().reset("queue-mem-panic").unwrap();
    until("the panicking replay", || {
        status("mem-panic", "queue-mem-panic").replay_failures >= 1
    })
    .await;
    let failed = events.drain().into_iter().find_map(|e| match e {
        QueueEvent::ReplayFailed { queue, message, .. } if queue == "mem-panic" => Some(message),
        _ => None,
    });
    assert_eq!(
        failed.as_deref(),
        Some("the call panicked: a bug in the downstream client")
    );
    assert!(
        registry().snapshot("queue-mem-panic").unwrap().totals.failures >= 1,
        "a panic is a failure"
    );
    n.downstream.panic.store(false, std::sync::atomic::Ordering::SeqCst);
    until("the retried replay", || n.downstream.sent().len() == 2).await;
    assert_eq!(n.downstream.sent(), ["0", "1"]);
}

/// One breaker per tenant (`qkeyed/<tenant>`), so one sub-queue per tenant.
#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "qkeyed")]
struct TenantHooks {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl TenantHooks {
    #[circuit_breaker(queue = "mem-keyed")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

#[tokio::test]
async fn a_keyed_breaker_queues_and_replays_each_key_on_its_own_instance() {
    clock();
    let a = TenantHooks {
        tenant: "a".into(),
        downstream: Downstream::default(),
    };
    let b = TenantHooks {
        tenant: "b".into(),
        downstream: Downstream::default(),
    };
    a.post(0).await.unwrap();
    b.post(0).await.unwrap();
    registry().force_open("qkeyed/a").unwrap();
    registry().force_open("qkeyed/b").unwrap();
    for seq in 1..=2 {
        for hooks in [&a, &b] {
            match hooks.post(seq).await {
                Err(SendError::Queued(q)) => assert_eq!(q.breaker, format!("qkeyed/{}", hooks.tenant)),
                other => panic!("expected Queued, got {other:?}"),
            }
        }
    }
    registry().reset("qkeyed/b").unwrap();
    until("b's replays", || b.downstream.sent().len() == 3).await;
    assert_eq!(b.downstream.sent(), ["b:0", "b:1", "b:2"]);
    assert_eq!(a.downstream.sent(), ["a:0"], "a's breaker is still open");
    registry().reset("qkeyed/a").unwrap();
    until("a's replays", || a.downstream.sent().len() == 3).await;
    assert_eq!(a.downstream.sent(), ["a:0", "a:1", "a:2"]);
}

fn shared_downstream() -> &'static Downstream {
    static D: OnceLock<Downstream> = OnceLock::new();
    D.get_or_init(Downstream::default)
}

#[circuit_breaker(name = "queue-mem-shared", queue = "mem-shared")]
async fn archive(seq: u32) -> Result<(), SendError> {
    shared_downstream().deliver(format!("archive:{seq}")).await
}

#[circuit_breaker(name = "queue-mem-shared", queue = "mem-shared")]
async fn purge(seq: u32) -> Result<(), SendError> {
    shared_downstream().deliver(format!("purge:{seq}")).await
}

/// Two functions with the same breaker and queue names would share one sub-queue, whose
/// entries replay through one handler: the second function's rejected calls would run the
/// first function. They are refused instead, and the caller is told why.
#[tokio::test]
async fn a_second_function_on_the_same_queue_and_breaker_is_not_queued_into_the_first() {
    clock();
    archive(1).await.unwrap();
    purge(2).await.unwrap();
    registry().force_open("queue-mem-shared").unwrap();
    assert!(matches!(archive(3).await, Err(SendError::Queued(_))));
    match purge(4).await {
        Err(SendError::NotQueued(not)) => {
            assert!(
                matches!(&not.reason, NotQueuedReason::Shared { owner, function }
                    if owner.ends_with("::archive") && function.ends_with("::purge")),
                "{not:?}"
            );
            assert!(
                not.to_string().contains("replays this breaker's calls through"),
                "{not}"
            );
        }
        other => panic!("expected NotQueued, got {other:?}"),
    }
    let s = status("mem-shared", "queue-mem-shared");
    assert_eq!((s.queued, s.not_queued), (1, 1));
    assert!(s.last_error.unwrap().contains("both queue rejected calls"));
    registry().reset("queue-mem-shared").unwrap();
    until("the replay", || shared_downstream().sent().len() == 3).await;
    assert_eq!(
        shared_downstream().sent(),
        ["archive:1", "purge:2", "archive:3"],
        "purge(4) never runs as archive(4)"
    );
}

fn cow_downstream() -> &'static Downstream {
    static D: OnceLock<Downstream> = OnceLock::new();
    D.get_or_init(Downstream::default)
}

#[circuit_breaker(name = "queue-mem-cow", queue = "mem-cow")]
async fn greet<'a>(to: std::borrow::Cow<'a, str>) -> Result<(), SendError> {
    cow_downstream().deliver(to.into_owned()).await
}

/// An argument with a lifetime that deserializes owned (`Cow<'a, str>`) is queued and replayed.
#[tokio::test]
async fn an_argument_with_a_lifetime_is_queued_and_replayed() {
    clock();
    let name = String::from("ada");
    greet(name.as_str().into()).await.unwrap();
    registry().force_open("queue-mem-cow").unwrap();
    assert!(matches!(greet(name.as_str().into()).await, Err(SendError::Queued(_))));
    registry().reset("queue-mem-cow").unwrap();
    until("the replay", || cow_downstream().sent().len() == 2).await;
    assert_eq!(cow_downstream().sent(), ["ada", "ada"]);
}
