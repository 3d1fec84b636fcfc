//! Queue for retry (issue 17, item 4) on Redis streams, the real Redis on 127.0.0.1:6379:
//! entries survive a restart (a second process replays what the first queued), a full stream
//! is an error the caller sees, and Redis down is an error, not a panic. Every test uses its
//! own key prefix and deletes its stream.

mod support;

use cb_runtime::queue::{NotQueuedReason, RedisStreamQueue, queues};
use cb_runtime::{circuit_breaker, registry};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;
use support::queue::{Downstream, SendError, status, until};

const REDIS: &str = "redis://127.0.0.1:6379";
/// Set in the child process of the restart test: the key prefix it queues under.
const CHILD_PREFIX: &str = "CB_QUEUE_TEST_CHILD_PREFIX";

#[derive(Clone)]
struct Webhooks {
    downstream: Downstream,
}

impl Webhooks {
    #[circuit_breaker(name = "queue-redis-restart", queue = "redis-restart")]
    async fn post(&self, url: String, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{url}#{seq}")).await
    }

    #[circuit_breaker(name = "queue-redis-full", queue = "redis-full")]
    async fn bounded(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }

    #[circuit_breaker(name = "queue-redis-foreign", queue = "redis-foreign")]
    async fn foreign(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }

    #[circuit_breaker(name = "queue-redis-down", queue = "redis-down")]
    async fn unreachable(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(seq.to_string()).await
    }
}

fn setup() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| queues().set_poll_interval(Duration::from_millis(5)));
}

/// A key prefix no other run uses.
fn unique_prefix(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("cb:test:queue:{test}:{}:{nanos}:", std::process::id())
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis on 127.0.0.1:6379")
}

async fn xlen(key: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut redis().await)
        .await
        .unwrap()
}

async fn delete(key: &str) {
    let _: u64 = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut redis().await)
        .await
        .unwrap();
}

/// The first process of the restart test (run by it as a child): queues three calls in Redis
/// and exits without replaying them.
#[tokio::test]
#[ignore = "run by a_restarted_process_replays_what_the_previous_one_queued as its first process"]
async fn restart_child_queues_and_exits() {
    let prefix = std::env::var(CHILD_PREFIX).expect("run by the restart test");
    let backend = RedisStreamQueue::new(REDIS).unwrap().prefix(prefix);
    queues().set_backend("redis-restart", backend).unwrap();
    let hooks = Webhooks {
        downstream: Downstream::default(),
    };
    hooks.post("https://a.test/warmup".into(), 0).await.unwrap();
    registry().force_open("queue-redis-restart").unwrap();
    for seq in 1..=3 {
        match hooks.post("https://a.test/hook".into(), seq).await {
            Err(SendError::Queued(q)) => assert!(q.id.contains('-'), "a Redis stream id: {}", q.id),
            other => panic!("expected Queued, got {other:?}"),
        }
    }
    std::process::exit(0);
}

#[tokio::test]
async fn a_restarted_process_replays_what_the_previous_one_queued() {
    setup();
    let prefix = unique_prefix("restart");
    let key = format!("{prefix}redis-restart/queue-redis-restart");
    let child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "restart_child_queues_and_exits", "--ignored", "--nocapture"])
        .env(CHILD_PREFIX, &prefix)
        .output()
        .unwrap();
    assert!(
        child.status.success(),
        "child: {}",
        String::from_utf8_lossy(&child.stderr)
    );
    assert_eq!(xlen(&key).await, 3, "the first process left three entries");

    let backend = RedisStreamQueue::new(REDIS).unwrap().prefix(prefix.clone());
    queues().set_backend("redis-restart", backend).unwrap();
    let hooks = Webhooks {
        downstream: Downstream::default(),
    };
    hooks.post("https://a.test/after-restart".into(), 0).await.unwrap();
    until("the backlog of the first process", || {
        hooks.downstream.sent().len() == 4
    })
    .await;
    // The live call is not held back behind the backlog (README): only the backlog's own order
    // is promised, whichever of the two threads pushes first.
    let sent = hooks.downstream.sent();
    assert!(sent.contains(&"https://a.test/after-restart#0".to_owned()), "{sent:?}");
    let backlog: Vec<_> = sent.iter().filter(|s| s.contains("/hook#")).collect();
    assert_eq!(
        backlog,
        [
            "https://a.test/hook#1",
            "https://a.test/hook#2",
            "https://a.test/hook#3"
        ],
        "the first call registers the replay handler, which finds the backlog and replays it in order"
    );
    until("the acks", || {
        status("redis-restart", "queue-redis-restart").replayed == 3
    })
    .await;
    assert_eq!(xlen(&key).await, 0, "replayed entries are deleted");
    delete(&key).await;
}

#[tokio::test]
async fn a_full_stream_is_an_error_the_caller_sees() {
    setup();
    let prefix = unique_prefix("full");
    let key = format!("{prefix}redis-full/queue-redis-full");
    let backend = RedisStreamQueue::new(REDIS).unwrap().prefix(prefix).capacity(2);
    queues().set_backend("redis-full", backend).unwrap();
    let hooks = Webhooks {
        downstream: Downstream::default(),
    };
    hooks.bounded(0).await.unwrap();
    registry().force_open("queue-redis-full").unwrap();
    assert!(matches!(hooks.bounded(1).await, Err(SendError::Queued(_))));
    assert!(matches!(hooks.bounded(2).await, Err(SendError::Queued(_))));
    match hooks.bounded(3).await {
        Err(SendError::NotQueued(not)) => assert_eq!(not.reason, NotQueuedReason::Full { capacity: 2 }),
        other => panic!("expected NotQueued, got {other:?}"),
    }
    assert_eq!(xlen(&key).await, 2, "the stream was not trimmed to make room");
    registry().reset("queue-redis-full").unwrap();
    until("the replay", || hooks.downstream.sent().len() == 3).await;
    assert_eq!(hooks.downstream.sent(), ["0", "1", "2"]);
    until("the acks", || status("redis-full", "queue-redis-full").replayed == 2).await;
    delete(&key).await;
}

#[tokio::test]
async fn redis_down_is_an_error_the_caller_sees_not_a_panic() {
    setup();
    // Nothing listens on port 1 of loopback.
    let backend = RedisStreamQueue::new("redis://127.0.0.1:1")
        .unwrap()
        .timeout(Duration::from_millis(200));
    queues().set_backend("redis-down", backend).unwrap();
    let hooks = Webhooks {
        downstream: Downstream::default(),
    };
    hooks.unreachable(0).await.unwrap();
    registry().force_open("queue-redis-down").unwrap();
    for seq in 1..=2 {
        match hooks.unreachable(seq).await {
            Err(SendError::NotQueued(not)) => {
                assert!(matches!(not.reason, NotQueuedReason::Backend { .. }), "{not}");
                assert!(not.to_string().contains("queue `redis-down` failed: redis:"), "{not}");
            }
            other => panic!("expected NotQueued, got {other:?}"),
        }
    }
    let s = status("redis-down", "queue-redis-down");
    assert!(s.backend_failing && s.last_error.is_some(), "{s:?}");
    assert_eq!((s.queued, s.not_queued, s.backend), (0, 2, "redis"));
}

/// A value at the head of the stream that is not this function's arguments (written by
/// something else, or before its signature changed) can never replay: it is removed loudly,
/// and the entries behind it replay instead of waiting behind it for good.
#[tokio::test]
async fn a_foreign_entry_at_the_head_is_removed_loudly_and_the_rest_replays() {
    setup();
    let prefix = unique_prefix("foreign");
    let key = format!("{prefix}redis-foreign/queue-redis-foreign");
    let backend = RedisStreamQueue::new(REDIS).unwrap().prefix(prefix);
    queues().set_backend("redis-foreign", backend).unwrap();
    let hooks = Webhooks {
        downstream: Downstream::default(),
    };
    hooks.foreign(0).await.unwrap();
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("*")
        .arg("args")
        .arg("{not the arguments")
        .query_async(&mut redis().await)
        .await
        .unwrap();
    registry().force_open("queue-redis-foreign").unwrap();
    assert!(matches!(hooks.foreign(1).await, Err(SendError::Queued(_))));
    registry().reset("queue-redis-foreign").unwrap();
    until("the entry behind the foreign one", || {
        hooks.downstream.sent() == ["0", "1"]
    })
    .await;
    until("the acks", || {
        let s = status("redis-foreign", "queue-redis-foreign");
        s.replayed == 1 && s.replay_failures == 1
    })
    .await;
    assert_eq!(xlen(&key).await, 0, "the foreign entry was removed");
    delete(&key).await;
}
