//! More keys called while a keyed family's backlogs are being listed than the stash holds
//! (4096): the keys left out are said once (stderr, WARN) and their backlog replays from their
//! next call. A file of its own: it installs a tracing subscriber, and a parallel test hitting
//! the same callsite without one could leave it cached as uninterested.

mod support;

use cb_runtime::queue::{QueueBackend, queues};
use cb_runtime::{CircuitProtected, circuit_breaker};
use std::sync::atomic::Ordering;
use std::time::Duration;
use support::queue::{Controlled, Downstream, SendError, listed, settle, until};

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "aqb-crowd", max_keys = 10000)]
struct Crowd {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Crowd {
    #[circuit_breaker(queue = "aqb-crowd")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

/// At most 4096 keys called while the listing runs are remembered to replay at once; the
/// others are said (once, WARN) and replay from their key's next call: none is lost.
#[test]
fn keys_past_the_stash_are_said_and_replay_from_their_next_call() {
    use tracing_subscriber::layer::SubscriberExt;
    let recorder = support::recorder::Recorder::default();
    let subscriber = tracing_subscriber::registry().with(recorder.clone());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let last = Crowd {
        tenant: "k4199".into(),
        downstream: Downstream::default(),
    };
    tracing::subscriber::with_default(subscriber, || {
        tracing::callsite::rebuild_interest_cache();
        runtime.block_on(async {
            queues().set_poll_interval(Duration::from_millis(5));
            let backend = Controlled::new(true);
            backend
                .inner
                .push("aqb-crowd/aqb-crowd/k4199", b"[7]".to_vec())
                .await
                .unwrap();
            let open = backend.open.clone();
            open.store(false, Ordering::SeqCst);
            queues().set_backend("aqb-crowd", backend).unwrap();
            for n in 0..4199 {
                let key = Crowd {
                    tenant: format!("k{n}"),
                    downstream: Downstream::default(),
                };
                key.post(1).await.unwrap();
            }
            last.post(1).await.unwrap(); // left out of the stash
            open.store(true, Ordering::SeqCst);
            until("k4199's backlog listed", || listed("aqb-crowd", "aqb-crowd/k4199")).await;
            settle().await;
            assert!(
                !last.downstream.sent().contains(&"k4199:7".to_owned()),
                "not stashed, so it waits for the key's next call: {:?}",
                last.downstream.sent()
            );
            last.post(2).await.unwrap();
            until("k4199's backlog replayed", || {
                last.downstream.sent().contains(&"k4199:7".to_owned())
            })
            .await;
        });
    });
    let seen = recorder.0.lock().unwrap();
    let said: Vec<_> = seen
        .events
        .iter()
        .filter_map(|e| e.get("message"))
        .filter(|m| m.contains("more than 4096 keys were called while the family's backlogs were being listed"))
        .collect();
    assert_eq!(
        said.len(),
        1,
        "said once: {said:?} of {:?}",
        seen.events.iter().take(5).collect::<Vec<_>>()
    );
    assert!(said[0].contains("(first left out: `aqb-crowd/k4"), "{said:?}");
}
