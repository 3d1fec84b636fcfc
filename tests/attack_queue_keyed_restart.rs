//! Attack: a durable queue on a keyed breaker, after a restart. The previous process queued
//! calls for key `b` in Redis (its breaker was open) and exited. In the new process the
//! function is called for key `a` first (the site's first call registers only that key's
//! sub-queue) and then for key `b`, whose calls now succeed. Nothing registered `b`'s
//! sub-queue, so its backlog was never replayed nor reported until `b` happened to be rejected
//! again. Now the site's first call lists the family's backlogs (`QueueBackend::waiting`):
//! `b`'s is in `queues().status()` and on stderr, and replays from `b`'s next call.
//! README: "a backlog left by a previous process starts replaying as soon as the function is
//! called once"; "At least once"; "Never a silent drop".

mod support;

use cb_runtime::queue::{RedisStreamQueue, queues};
use cb_runtime::{CircuitProtected, circuit_breaker};
use std::time::Duration;
use support::queue::{Downstream, SendError};

const REDIS: &str = "redis://127.0.0.1:6379";

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "attack-rks")]
struct Hooks {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Hooks {
    #[circuit_breaker(queue = "attack-redis-keyed")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

async fn redis() -> redis::aio::MultiplexedConnection {
    redis::Client::open(REDIS)
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .expect("Redis on 127.0.0.1:6379")
}

#[tokio::test]
async fn a_keyed_backlog_left_by_a_previous_process_is_replayed_or_reported() {
    queues().set_poll_interval(Duration::from_millis(5));
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let prefix = format!("cb:attack:queue:{}:{nanos}:", std::process::id());
    queues()
        .set_backend(
            "attack-redis-keyed",
            RedisStreamQueue::new(REDIS).unwrap().prefix(&prefix),
        )
        .unwrap();
    // What the previous process left: one queued call of key `b`, as cb writes it.
    let key = format!("{prefix}attack-redis-keyed/attack-rks/b");
    let _: String = redis::cmd("XADD")
        .arg(&key)
        .arg("*")
        .arg("args")
        .arg("[7]")
        .query_async(&mut redis().await)
        .await
        .unwrap();

    let a = Hooks {
        tenant: "a".into(),
        downstream: Downstream::default(),
    };
    let b = Hooks {
        tenant: "b".into(),
        downstream: Downstream::default(),
    };
    a.post(1).await.unwrap();
    for seq in 2..=4 {
        b.post(seq).await.unwrap();
    }
    // The site's first call (key `a`) lists the family's other backlogs: `b`'s is in the
    // status, and replays from `b`'s next call.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    let listed = || {
        queues()
            .status()
            .into_iter()
            .find(|s| s.queue == "attack-redis-keyed" && s.breaker == "attack-rks/b")
    };
    while listed().is_none() && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let status = listed();
    assert!(status.is_some(), "key b's backlog is listed");
    b.post(5).await.unwrap();
    while !b.downstream.sent().contains(&"b:7".to_owned()) && std::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let left: u64 = redis::cmd("XLEN")
        .arg(&key)
        .query_async(&mut redis().await)
        .await
        .unwrap();
    let _: u64 = redis::cmd("DEL")
        .arg(&key)
        .query_async(&mut redis().await)
        .await
        .unwrap();
    assert!(
        b.downstream.sent().contains(&"b:7".to_owned()),
        "key b's backlog ({left} entry) is replayed from b's next call: b delivered {:?}",
        b.downstream.sent()
    );
    assert_eq!(left, 0, "and removed");
}

/// `QueueBackend::waiting` lists the sub-queues under a prefix that hold entries, in memory
/// and in Redis (names with glob characters are matched literally).
#[tokio::test]
async fn backends_list_the_sub_queues_waiting_under_a_prefix() {
    use cb_runtime::queue::{InMemoryQueue, QueueBackend};
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let redis = RedisStreamQueue::new(REDIS)
        .unwrap()
        .prefix(format!("cb:attack:waiting:{}:{nanos}:", std::process::id()));
    let memory = InMemoryQueue::new(10);
    let backends: [&dyn QueueBackend; 2] = [&memory, &redis];
    for backend in backends {
        for stream in ["q/fam/a", "q/fam/a", "q/fam/b*", "q/famx/c", "q/other/d"] {
            backend.push(stream, b"[1]".to_vec()).await.unwrap();
        }
        let mut found = backend.waiting("q/fam/").await.unwrap().unwrap();
        found.sort();
        assert_eq!(
            found,
            [("q/fam/a".to_owned(), 2), ("q/fam/b*".to_owned(), 1)],
            "{}",
            backend.kind()
        );
        let mut found = backend.waiting("q/fam/b*").await.unwrap().unwrap();
        found.sort();
        assert_eq!(
            found,
            [("q/fam/b*".to_owned(), 1)],
            "{}: `*` is literal",
            backend.kind()
        );
        for stream in ["q/fam/a", "q/fam/b*", "q/famx/c", "q/other/d"] {
            while let Some(entry) = backend.head(stream).await.unwrap() {
                backend.ack(stream, &entry.id).await.unwrap();
            }
        }
        assert_eq!(backend.waiting("q/").await.unwrap().unwrap(), [], "{}", backend.kind());
    }
}
