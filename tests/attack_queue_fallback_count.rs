//! Attack: a rejected call the queue could NOT store (full, backend down, shared, encode) still
//! counts as a fallback execution (`totals.fallbacks`, `circuit_breaker_fallback_executions_total`,
//! its `fallback` span with `data_source = "queue:.."`): `enqueue` records the fallback before
//! it knows whether the push worked. The caller got `NotQueued`, an error; nothing answered
//! in its place. README (Queue, Observability): "a *queued* call counts as a fallback".
//! An operator reading the fallback rate during a Redis outage sees every rejected call
//! "served by the queue" while each one was lost to the caller.

mod support;

use cb_runtime::queue::{InMemoryQueue, NotQueuedReason, queues};
use cb_runtime::{circuit_breaker, registry};
use support::queue::{Downstream, SendError};

fn downstream() -> &'static Downstream {
    static D: std::sync::OnceLock<Downstream> = std::sync::OnceLock::new();
    D.get_or_init(Downstream::default)
}

#[circuit_breaker(name = "attack-queue-fallbacks", queue = "attack-fallbacks")]
async fn send(seq: u32) -> Result<(), SendError> {
    downstream().deliver(seq.to_string()).await
}

#[tokio::test]
async fn a_call_that_was_not_queued_is_not_a_fallback() {
    queues().set_backend("attack-fallbacks", InMemoryQueue::new(1)).unwrap();
    send(0).await.unwrap();
    registry().force_open("attack-queue-fallbacks").unwrap();
    assert!(matches!(send(1).await, Err(SendError::Queued(_))));
    for seq in 2..=4 {
        match send(seq).await {
            Err(SendError::NotQueued(n)) => assert!(matches!(n.reason, NotQueuedReason::Full { .. })),
            other => panic!("expected NotQueued(Full), got {other:?}"),
        }
    }
    let totals = registry().snapshot("attack-queue-fallbacks").unwrap().totals;
    assert_eq!(
        totals.fallbacks, 1,
        "one call was queued and three were refused (NotQueued), yet {} fallbacks were counted",
        totals.fallbacks
    );
}
