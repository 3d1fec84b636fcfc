//! Attack: `JetStreamQueue::capacity` is applied only when the stream is created. A process
//! that starts with another capacity (a deploy that raises or lowers it) finds the stream and
//! silently keeps the old per-subject limit: pushes are refused as `Full { capacity }` with the
//! *new* capacity in the answer while far fewer entries wait (or accepted beyond it). The
//! README promises "`max_messages_per_subject` = capacity", and nothing says the setting can be
//! ignored; `RedisStreamQueue` applies its capacity on every push. Worse, a stream provisioned
//! beforehand with NATS's default `discard: old` is used as it is: a full sub-queue silently
//! drops its oldest queued call while every push answers `Ok`.

mod support;

use cb_runtime::queue::{JetStreamQueue, PushError, QueueBackend};
use support::jetstream::{NATS, delete_stream};

fn unique(test: &str) -> (String, String) {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let id = format!("{}_{nanos}", std::process::id());
    (
        format!("CB_QUEUE_ATTACK_{}_{id}", test.to_uppercase()),
        format!("cb.qattack.{test}.{id}"),
    )
}

#[tokio::test]
async fn a_raised_capacity_applies_to_an_existing_stream() {
    let (stream, prefix) = unique("raise");
    let old = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(2);
    old.push("q/b", b"[1]".to_vec()).await.unwrap();
    old.push("q/b", b"[2]".to_vec()).await.unwrap();
    drop(old);

    // The next deploy raises the capacity to 10.
    let new = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(10);
    let pushed = new.push("q/b", b"[3]".to_vec()).await;
    let len = new.len("q/b").await.unwrap();
    delete_stream(&stream).await;
    assert!(
        pushed.is_ok(),
        "capacity 10 with {len} entries waiting, yet the push answered {pushed:?}"
    );
}

#[tokio::test]
async fn a_lowered_capacity_applies_to_an_existing_stream() {
    let (stream, prefix) = unique("lower");
    let old = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(100);
    old.push("q/b", b"[0]".to_vec()).await.unwrap();
    drop(old);

    // The next deploy bounds the sub-queue at 2 entries.
    let new = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(2);
    let mut answers = Vec::new();
    for i in 1..=4 {
        answers.push(new.push("q/b", format!("[{i}]").into_bytes()).await);
    }
    let len = new.len("q/b").await.unwrap();
    delete_stream(&stream).await;
    assert!(
        len <= 2
            && answers
                .iter()
                .any(|a| matches!(a, Err(PushError::Full { capacity: 2 }))),
        "capacity 2, but {len} entries were accepted: {answers:?}"
    );
}

/// The same root cause, worse: the stream an operator provisioned ahead of the first deploy
/// (`nats stream add` defaults to `discard: old`) is taken as it is, so a full sub-queue
/// silently drops its *oldest* queued call to make room, and every push answers `Ok`. The
/// README: "a full sub-queue refuses the publish ... Never a silent drop".
#[tokio::test]
async fn a_provisioned_stream_never_drops_a_queued_call_silently() {
    let (stream, prefix) = unique("provisioned");
    let client = async_nats::connect(NATS).await.expect("NATS on 127.0.0.1:4222");
    async_nats::jetstream::new(client)
        .create_stream(async_nats::jetstream::stream::Config {
            name: stream.clone(),
            subjects: vec![format!("{prefix}.>")],
            max_messages_per_subject: 2,
            ..Default::default()
        })
        .await
        .unwrap();

    let queue = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(2);
    let mut answers = Vec::new();
    for i in 1..=3 {
        answers.push(queue.push("q/b", format!("[{i}]").into_bytes()).await);
    }
    let head = queue
        .head("q/b")
        .await
        .unwrap()
        .map(|e| String::from_utf8(e.payload).unwrap());
    delete_stream(&stream).await;
    assert!(
        head.as_deref() == Some("[1]") || answers.iter().any(|a| a.is_err()),
        "every push answered {answers:?}, but the oldest queued call is gone: the head is {head:?}"
    );
}

/// Lowering the capacity below a sub-queue's backlog must not make NATS delete the oldest
/// queued calls to fit: the limit stays at the backlog (reported on stderr) and every entry
/// stays queued.
#[tokio::test]
async fn a_capacity_lowered_below_the_backlog_deletes_no_queued_call() {
    let (stream, prefix) = unique("backlog");
    let old = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(100);
    for i in 1..=5 {
        old.push("q/b", format!("[{i}]").into_bytes()).await.unwrap();
    }
    drop(old);

    let new = JetStreamQueue::new(NATS).stream(&stream, &prefix).capacity(2);
    let pushed = new.push("q/b", b"[6]".to_vec()).await;
    let len = new.len("q/b").await.unwrap();
    let head = new.head("q/b").await.unwrap().map(|e| e.payload);
    delete_stream(&stream).await;
    assert_eq!(len, 5, "five queued calls, none deleted (the sixth push: {pushed:?})");
    assert!(
        matches!(pushed, Err(PushError::Full { capacity: 5 })),
        "the sub-queue is full at its backlog: {pushed:?}"
    );
    assert_eq!(
        head.as_deref(),
        Some(&b"[1]"[..]),
        "the oldest queued call is still the head"
    );
}
