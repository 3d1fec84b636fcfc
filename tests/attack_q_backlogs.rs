//! Outside-in attack on commit 6c1da0f (a keyed backlog a previous process left is found at the
//! site's first call, listed, reported, and replayed from its key's next call).
//!
//! A "previous process" is simulated by a backend that already holds entries when the queue is
//! first used (in memory, pushed before `set_backend`; in Redis, written with XADD as cb
//! writes them). README, "Queue for retry": "At least once, in order per breaker", "Never a
//! silent drop", bullet "Receiver".

mod support;

use cb_runtime::queue::{QueueBackend, QueueEvent, RedisStreamQueue, queues};
use cb_runtime::{CircuitProtected, circuit_breaker};
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::queue::{Controlled, Downstream, SendError, listed, settle, until};

const REDIS: &str = "redis://127.0.0.1:6379";

// ----- many keys, keys needing escaping, Redis prefix with glob characters -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-many")]
struct Many {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Many {
    #[circuit_breaker(queue = "aqb-many-redis")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

fn odd_keys() -> Vec<String> {
    let mut keys: Vec<String> = [
        "a*b",
        "q?",
        "[x]",
        "]y[",
        "sp ace",
        "ünï code",
        "a/b",
        "a/b/c",
        "back\\slash",
        "^neg",
        "-",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    keys.extend((0..250).map(|i| format!("t{i}")));
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_keys_with_odd_names_in_redis_under_a_glob_prefix_all_replay_in_order() {
    queues().set_poll_interval(Duration::from_millis(5));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("cb:aqb:[g]?*\\:{}:{nanos}:", std::process::id());
    queues()
        .set_backend("aqb-many-redis", RedisStreamQueue::new(REDIS).unwrap().prefix(&prefix))
        .unwrap();
    let mut c = redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let keys = odd_keys();
    for key in &keys {
        for seq in 1..=3 {
            let _: String = redis::cmd("XADD")
                .arg(format!("{prefix}aqb-many-redis/aqb-many/{key}"))
                .arg("*")
                .arg("args")
                .arg(format!("[{seq}]"))
                .query_async(&mut c)
                .await
                .unwrap();
        }
    }
    let handles: Vec<Many> = keys
        .iter()
        .map(|k| Many {
            tenant: k.clone(),
            downstream: Downstream::default(),
        })
        .collect();
    let first = Many {
        tenant: "first".into(),
        downstream: Downstream::default(),
    };
    first.post(100).await.unwrap();
    until("every backlog listed", || {
        keys.iter().all(|k| listed("aqb-many-redis", &format!("aqb-many/{k}")))
    })
    .await;
    for h in &handles {
        h.post(10).await.unwrap();
    }
    let result = tokio::time::timeout(
        Duration::from_secs(20),
        until("every backlog replayed", || {
            handles.iter().all(|h| h.downstream.sent().len() >= 4)
        }),
    )
    .await;
    let mut cleanup = Vec::new();
    for key in &keys {
        cleanup.push(format!("{prefix}aqb-many-redis/aqb-many/{key}"));
    }
    let _: u64 = redis::cmd("DEL").arg(&cleanup).query_async(&mut c).await.unwrap();
    assert!(result.is_ok(), "replay finished");
    for (h, k) in handles.iter().zip(&keys) {
        let sent = h.downstream.sent();
        let backlog: Vec<String> = sent.iter().filter(|s| !s.ends_with(":10")).cloned().collect();
        assert_eq!(
            backlog,
            [format!("{k}:1"), format!("{k}:2"), format!("{k}:3")],
            "key {k:?}: its backlog, once each, in order (all sent: {sent:?})"
        );
    }
}

// ----- a key called while the listing is still running -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-race")]
struct Race {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Race {
    #[circuit_breaker(queue = "aqb-race")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

/// At a service's start many keys arrive at once: the site's first call (key `a`) starts the
/// listing on the queue thread, and key `b` is called while it runs. `b` was called after the
/// site's first call, yet its backlog is only registered by a *later* call of `b` (the listing
/// puts `b` in the waiting set after `b`'s call went by). A key called once at startup (a
/// tenant that sends one webhook a day) never replays its backlog in this process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_called_while_the_listing_runs_replays_its_backlog() {
    queues().set_poll_interval(Duration::from_millis(5));
    let backend = Controlled::new(true);
    backend
        .inner
        .push("aqb-race/aqb-race/b", b"[7]".to_vec())
        .await
        .unwrap();
    let open = backend.open.clone();
    open.store(false, Ordering::SeqCst);
    queues().set_backend("aqb-race", backend).unwrap();
    let a = Race {
        tenant: "a".into(),
        downstream: Downstream::default(),
    };
    let b = Race {
        tenant: "b".into(),
        downstream: Downstream::default(),
    };
    a.post(1).await.unwrap(); // the site's first call: the listing starts
    b.post(2).await.unwrap(); // b's call, while the listing runs
    open.store(true, Ordering::SeqCst); // the listing finishes
    until("b's backlog listed", || listed("aqb-race", "aqb-race/b")).await;
    let replayed = tokio::time::timeout(
        Duration::from_secs(5),
        until("b's backlog replayed", || {
            b.downstream.sent().contains(&"b:7".to_owned())
        }),
    )
    .await;
    let status = support::queue::status("aqb-race", "aqb-race/b");
    assert!(
        replayed.is_ok(),
        "b was called after the site's first call; its backlog waits for yet another call of b: b sent {:?}, status {status:?}",
        b.downstream.sent()
    );
}

// ----- the backend is down at the site's first call -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-down")]
struct Down {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Down {
    #[circuit_breaker(queue = "aqb-down")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

/// The listing fails once (Redis still starting when the service takes its first request) and
/// is never tried again: the backend is back, key `b` is called many times and succeeds, its
/// backlog is neither listed nor replayed. The first key's own replayer retries a failing
/// backend; the listing does not. The message says "replays only once its key is rejected
/// again": a key whose breaker stays closed keeps its backlog forever.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listing_that_failed_once_is_tried_again() {
    queues().set_poll_interval(Duration::from_millis(5));
    let backend = Controlled::new(true);
    backend
        .inner
        .push("aqb-down/aqb-down/b", b"[700]".to_vec())
        .await
        .unwrap();
    backend.fail.store(1, Ordering::SeqCst);
    let asked = backend.asked.clone();
    queues().set_backend("aqb-down", backend).unwrap();
    let a = Down {
        tenant: "a".into(),
        downstream: Downstream::default(),
    };
    let b = Down {
        tenant: "b".into(),
        downstream: Downstream::default(),
    };
    a.post(1).await.unwrap();
    until("the first listing", || asked.load(Ordering::SeqCst) >= 1).await;
    settle().await;
    for seq in 2..50 {
        b.post(seq).await.unwrap();
        a.post(seq).await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let replayed = tokio::time::timeout(
        Duration::from_secs(5),
        until("b's backlog replayed", || {
            b.downstream.sent().contains(&"b:700".to_owned())
        }),
    )
    .await;
    assert!(
        replayed.is_ok(),
        "the backend is back, b was called 48 times, its backlog is still waiting (listed: {}, listings asked: {})",
        listed("aqb-down", "aqb-down/b"),
        asked.load(Ordering::SeqCst)
    );
}

// ----- JetStream, non-default stream and subject prefix, hundreds of odd keys -----

#[tokio::test]
async fn jetstream_lists_hundreds_of_odd_sub_queues_under_a_custom_prefix() {
    use cb_runtime::queue::JetStreamQueue;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let stream = format!("AQB_JS_{}_{nanos}", std::process::id());
    let subject = format!("aqb.custom.{}.{nanos}", std::process::id());
    let q = JetStreamQueue::new("nats://127.0.0.1:4222").stream(&stream, &subject);
    let keys = odd_keys();
    for k in &keys {
        q.push(&format!("q/fam/{k}"), b"[1]".to_vec()).await.unwrap();
    }
    q.push("q/famx/other", b"[1]".to_vec()).await.unwrap();
    let found = q.waiting("q/fam/").await.unwrap();
    support::jetstream::delete_stream(&stream).await;
    let mut found = found.unwrap();
    found.sort();
    let mut expected: Vec<(String, u64)> = keys.iter().map(|k| (format!("q/fam/{k}"), 1)).collect();
    expected.sort();
    assert_eq!(found, expected);
}

// ----- Redis down at the site's first call (a real Redis behind a proxy that refuses) -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-redis-down")]
struct RedisDown {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl RedisDown {
    #[circuit_breaker(queue = "aqb-redis-down")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

/// The same with the real Redis: the service starts while Redis is unreachable (the proxy
/// refuses), takes its first call, Redis comes back; key `b` is then called again and again,
/// succeeds, and its backlog stays in Redis, unlisted and unreplayed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_unreachable_at_the_first_call_then_back_the_backlog_replays() {
    use support::tcp_proxy::{Link, TcpProxy};
    queues().set_poll_interval(Duration::from_millis(5));
    let proxy = TcpProxy::start("127.0.0.1:6379".parse().unwrap()).await;
    let prefix = support::queue::unique_redis_prefix("aqb:down");
    let key = format!("{prefix}aqb-redis-down/aqb-redis-down/b");
    let mut c = support::queue::redis_connection().await;
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("*")
        .arg("args")
        .arg("[700]")
        .query_async(&mut c)
        .await
        .unwrap();
    proxy.set(Link::Cut);
    queues()
        .set_backend(
            "aqb-redis-down",
            RedisStreamQueue::new(&format!("redis://{}", proxy.addr()))
                .unwrap()
                .prefix(&prefix)
                .timeout(Duration::from_millis(300)),
        )
        .unwrap();
    let a = RedisDown {
        tenant: "a".into(),
        downstream: Downstream::default(),
    };
    let b = RedisDown {
        tenant: "b".into(),
        downstream: Downstream::default(),
    };
    a.post(1).await.unwrap(); // the site's first call: the listing fails (Redis unreachable)
    until("the first key's replayer sees the backend failing", || {
        support::queue::status("aqb-redis-down", "aqb-redis-down/a").backend_failing
            || support::queue::status("aqb-redis-down", "aqb-redis-down/a")
                .last_error
                .is_some()
    })
    .await;
    settle().await;
    proxy.set(Link::Forward); // Redis is back
    for seq in 2..40 {
        b.post(seq).await.unwrap();
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let replayed = tokio::time::timeout(
        Duration::from_secs(5),
        until("b's backlog replayed", || {
            b.downstream.sent().contains(&"b:700".to_owned())
        }),
    )
    .await;
    let left: u64 = redis::cmd("XLEN").arg(&key).query_async(&mut c).await.unwrap();
    let _: u64 = redis::cmd("DEL").arg(&key).query_async(&mut c).await.unwrap();
    assert!(
        replayed.is_ok(),
        "Redis is back and b was called 38 times; b's backlog ({left} entry) is neither listed ({}) nor replayed",
        listed("aqb-redis-down", "aqb-redis-down/b")
    );
}

// ----- the pending key's next call is rejected rather than admitted -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-rej")]
struct Rej {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Rej {
    #[circuit_breaker(queue = "aqb-rej")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }

    /// Another protected method of the type: it creates the key's breaker, not queued.
    #[circuit_breaker]
    async fn touch(&self) -> Result<(), cb_runtime::Rejected> {
        Ok(())
    }
}

/// Held if it passes: the pending key's next call is rejected (its breaker forced open); the
/// call registers the key's replayer, is queued behind the backlog, and once the breaker is
/// reset the backlog replays first, then the rejected call, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_keys_rejected_call_queues_behind_its_backlog() {
    queues().set_poll_interval(Duration::from_millis(5));
    let backend = Controlled::new(true);
    for seq in [701, 702] {
        backend
            .inner
            .push("aqb-rej/aqb-rej/b", format!("[{seq}]").into_bytes())
            .await
            .unwrap();
    }
    queues().set_backend("aqb-rej", backend).unwrap();
    let a = Rej {
        tenant: "a".into(),
        downstream: Downstream::default(),
    };
    let b = Rej {
        tenant: "b".into(),
        downstream: Downstream::default(),
    };
    a.post(1).await.unwrap();
    until("b listed", || listed("aqb-rej", "aqb-rej/b")).await;
    b.touch().await.unwrap(); // b's breaker exists; the queued method was not called for b
    cb_runtime::registry().get("aqb-rej/b").unwrap().force_open();
    match b.post(703).await {
        Err(SendError::Queued(_)) => {}
        other => panic!("rejected and queued: {other:?}"),
    }
    cb_runtime::registry().get("aqb-rej/b").unwrap().reset();
    until("the backlog then the rejected call replayed", || {
        b.downstream.sent().len() >= 3
    })
    .await;
    settle().await;
    assert_eq!(b.downstream.sent(), ["b:701", "b:702", "b:703"]);
}

// ----- two types sharing a family name, each with its own function on one queue -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-shared")]
struct Billing {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Billing {
    #[circuit_breaker(queue = "aqb-shared")]
    async fn charge(&self, cents: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("charge {}:{cents}", self.tenant)).await
    }
}

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-shared")]
struct Refunds {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Refunds {
    #[circuit_breaker(queue = "aqb-shared")]
    async fn refund(&self, cents: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("refund {}:{cents}", self.tenant)).await
    }
}

/// README ("Shared"): two functions with the same breaker name and queue share a sub-queue
/// "whose entries replay through one function", so one owns it and the other's rejected calls
/// are refused. The previous process queued `Billing::charge(700)` for tenant x. In this
/// process `Refunds::refund`'s site lists the family `aqb-shared` (its first call, tenant y),
/// puts x in its waiting set, and a mere admitted `refund` call of tenant x registers the
/// sub-queue with `refund`'s handler: the queued charge of 700 is replayed as a refund of 700.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_another_function_left_is_not_replayed_through_this_one() {
    queues().set_poll_interval(Duration::from_millis(5));
    let backend = Controlled::new(true);
    backend
        .inner
        .push(
            "aqb-shared/aqb-shared/x",
            br#"{"fn":"attack_q_backlogs::Billing::charge","args":[700]}"#.to_vec(),
        )
        .await
        .unwrap();
    queues().set_backend("aqb-shared", backend).unwrap();
    let mut events = queues().subscribe();
    let refunds = Downstream::default();
    let ry = Refunds {
        tenant: "y".into(),
        downstream: refunds.clone(),
    };
    let rx = Refunds {
        tenant: "x".into(),
        downstream: refunds.clone(),
    };
    ry.refund(1).await.unwrap();
    until("x listed", || listed("aqb-shared", "aqb-shared/x")).await;
    rx.refund(2).await.unwrap(); // admitted, not rejected
    settle().await;
    let charges = Downstream::default();
    let bx = Billing {
        tenant: "x".into(),
        downstream: charges.clone(),
    };
    bx.charge(3).await.unwrap();
    settle().await;
    assert!(
        !refunds.sent().contains(&"refund x:700".to_owned()),
        "a charge queued by Billing::charge was replayed through Refunds::refund: refunds {:?}, charges {:?}",
        refunds.sent(),
        charges.sent()
    );
    let said = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(QueueEvent::ReplayFailed { breaker, message, .. }) if breaker == "aqb-shared/x" => break message,
                Some(_) => {}
                None => panic!("the queue events ended"),
            }
        }
    })
    .await
    .expect("a ReplayFailed event for x's entry");
    assert!(
        said.contains("queued by `attack_q_backlogs::Billing::charge`")
            && said.contains("`attack_q_backlogs::Refunds::refund` owns the sub-queue")
            && said.contains("nothing is removed"),
        "{said}"
    );
    let status = support::queue::status("aqb-shared", "aqb-shared/x");
    assert_eq!(status.depth, 1, "the entry stays: {status:?}");
}
