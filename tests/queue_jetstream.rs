//! Queue for retry (issue 17, item 4) on NATS JetStream, the real server on 127.0.0.1:4222:
//! entries survive a new connection and backend (a restarted process), a full sub-queue
//! refuses the push, NATS down is an error, and the macro's queue replays through JetStream in
//! order. Every test uses its own stream and deletes it.

mod support;

use cb_runtime::queue::{JetStreamQueue, PushError, QueueBackend, queues};
use cb_runtime::{circuit_breaker, registry};
use std::sync::OnceLock;
use std::time::Duration;
use support::jetstream::{NATS, delete_stream};
use support::queue::{Downstream, SendError, status, until};

/// A stream name and subject prefix no other run uses.
fn unique(test: &str) -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let id = format!("{}_{nanos}", std::process::id());
    (
        format!("CB_QUEUE_TEST_{}_{id}", test.to_uppercase()),
        format!("cb.qtest.{test}.{id}"),
    )
}

fn backend(stream: &str, prefix: &str) -> JetStreamQueue {
    JetStreamQueue::new(NATS).stream(stream, prefix)
}

#[tokio::test]
async fn entries_survive_a_new_backend_in_order_and_a_full_sub_queue_refuses_the_push() {
    let (stream, prefix) = unique("restart");
    let first = backend(&stream, &prefix).capacity(2);
    let a = first.push("q/b", b"[1]".to_vec()).await.unwrap();
    let b = first.push("q/b", b"[2]".to_vec()).await.unwrap();
    assert_eq!(
        first.push("q/b", b"[3]".to_vec()).await,
        Err(PushError::Full { capacity: 2 }),
        "the stream discards new messages beyond the capacity, never old ones"
    );
    first
        .push("q/other", b"[9]".to_vec())
        .await
        .expect("capacity is per sub-queue");
    assert_eq!(first.len("q/b").await.unwrap(), 2);
    drop(first);

    // A restarted process: a new connection and backend find the entries, oldest first.
    let second = backend(&stream, &prefix).capacity(2);
    let head = second.head("q/b").await.unwrap().unwrap();
    assert_eq!(
        (head.id.as_str(), head.payload.as_slice()),
        (a.as_str(), b"[1]".as_slice())
    );
    second.ack("q/b", &head.id).await.unwrap();
    let head = second.head("q/b").await.unwrap().unwrap();
    assert_eq!(
        (head.id.as_str(), head.payload.as_slice()),
        (b.as_str(), b"[2]".as_slice())
    );
    second.ack("q/b", &head.id).await.unwrap();
    assert_eq!(second.head("q/b").await.unwrap(), None);
    assert_eq!(second.len("q/b").await.unwrap(), 0);
    assert_eq!(second.len("q/other").await.unwrap(), 1);
    delete_stream(&stream).await;
}

/// `waiting` lists the sub-queues under a prefix that hold entries (a keyed function's first
/// call asks for its family's, to find what a previous process left for other keys).
#[tokio::test]
async fn the_sub_queues_waiting_under_a_prefix_are_listed() {
    let (stream, prefix) = unique("waiting");
    let q = backend(&stream, &prefix);
    for s in ["q/fam/a", "q/fam/a", "q/fam/b", "q/famx/c"] {
        q.push(s, b"[1]".to_vec()).await.unwrap();
    }
    let mut found = q.waiting("q/fam/").await.unwrap().unwrap();
    found.sort();
    assert_eq!(found, [("q/fam/a".to_owned(), 2), ("q/fam/b".to_owned(), 1)]);
    let head = q.head("q/fam/b").await.unwrap().unwrap();
    q.ack("q/fam/b", &head.id).await.unwrap();
    assert_eq!(q.waiting("q/fam/").await.unwrap().unwrap(), [("q/fam/a".to_owned(), 2)]);
    delete_stream(&stream).await;
}

#[tokio::test]
async fn nats_down_is_an_error_not_a_panic() {
    let down = JetStreamQueue::new("nats://127.0.0.1:1").timeout(Duration::from_millis(200));
    match down.push("q/b", b"[1]".to_vec()).await {
        Err(PushError::Backend(e)) => assert!(e.0.starts_with("nats: "), "{e}"),
        other => panic!("expected a backend error, got {other:?}"),
    }
    assert!(down.head("q/b").await.is_err());
}

#[derive(Clone)]
struct Sender {
    downstream: Downstream,
}

impl Sender {
    #[circuit_breaker(name = "queue-jetstream", queue = "jetstream")]
    async fn send(&self, to: String, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{to}:{seq}")).await
    }
}

#[tokio::test]
async fn the_macros_queue_replays_through_jetstream_in_order() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| queues().set_poll_interval(Duration::from_millis(5)));
    let (stream, prefix) = unique("macro");
    queues().set_backend("jetstream", backend(&stream, &prefix)).unwrap();
    let s = Sender {
        downstream: Downstream::default(),
    };
    s.send("dee".into(), 0).await.unwrap();
    registry().force_open("queue-jetstream").unwrap();
    for seq in 1..=3 {
        assert!(matches!(s.send("dee".into(), seq).await, Err(SendError::Queued(_))));
    }
    assert_eq!(status("jetstream", "queue-jetstream").backend, "jetstream");
    registry().reset("queue-jetstream").unwrap();
    until("the replays", || s.downstream.sent().len() == 4).await;
    assert_eq!(s.downstream.sent(), ["dee:0", "dee:1", "dee:2", "dee:3"]);
    until("the acks", || status("jetstream", "queue-jetstream").replayed == 3).await;
    let check = backend(&stream, &prefix);
    assert_eq!(check.len("jetstream/queue-jetstream").await.unwrap(), 0);
    delete_stream(&stream).await;
}
