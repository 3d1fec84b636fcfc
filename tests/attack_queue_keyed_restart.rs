//! Attack: a durable queue on a keyed breaker, after a restart. The previous process queued
//! calls for key `b` in Redis (its breaker was open) and exited. In the new process the
//! function is called for key `a` first (the site's first call registers only that key's
//! sub-queue) and then for key `b`, whose calls now succeed. Nothing ever registers `b`'s
//! sub-queue, so its backlog is never replayed, and nothing reports it: `queues().status()`
//! does not list it, no event, no stderr. The entries sit in Redis until `b` happens to be
//! rejected again (maybe weeks later, when they replay out of the blue).
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
#[ignore = "known gap (README, Queue): a keyed backlog a previous process left replays only once its key is rejected again; needs QueueBackend to list sub-queues by prefix"]
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
    tokio::time::sleep(Duration::from_secs(2)).await;

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
    let listed = queues()
        .status()
        .into_iter()
        .any(|s| s.queue == "attack-redis-keyed" && s.breaker == "attack-rks/b");
    assert!(
        b.downstream.sent().contains(&"b:7".to_owned()) || listed,
        "key b's backlog ({left} entry) was neither replayed (b delivered {:?}) nor listed in \
         queues().status() ({:?}), though b's breaker has been letting calls through for 2s",
        b.downstream.sent(),
        queues()
            .status()
            .iter()
            .map(|s| format!("{}/{}", s.queue, s.breaker))
            .collect::<Vec<_>>()
    );
}
