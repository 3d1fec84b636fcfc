//! Outside-in attack on commit 6a6a6e9 (queued entries tagged `{"fn":"<path>","args":[..]}`):
//! what a user sees after renaming or moving a type between a previous process and this one,
//! and payloads with odd JSON. A previous process is simulated by a backend that already holds
//! the entries when the queue is first used.

mod support;

use cb_runtime::circuit_breaker;
use cb_runtime::queue::{InMemoryQueue, QueueBackend, QueueEvent, queues};
use serde::{Deserialize, Serialize};
use std::time::Duration;
use support::queue::{Downstream, SendError, settle, status, until};

async fn left_behind(stream: &str, entries: &[&[u8]]) -> InMemoryQueue {
    let backend = InMemoryQueue::new(1000);
    for entry in entries {
        backend.push(stream, entry.to_vec()).await.unwrap();
    }
    backend
}

fn fast() {
    queues().set_poll_interval(Duration::from_millis(5));
}

async fn replay_failed(events: &mut cb_runtime::queue::QueueSubscription, of: &str) -> String {
    tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(QueueEvent::ReplayFailed { breaker, message, .. }) if breaker == of => break message,
                Some(_) => {}
                None => panic!("the queue events ended"),
            }
        }
    })
    .await
    .expect("a ReplayFailed event")
}

// ----- a type renamed (or moved to another module / crate) between two processes -----

/// In the previous release this type was `attack_tag_payloads::billing::Invoices`; it was
/// renamed (same breaker name, same queue: the user changed nothing about the breaker).
#[derive(Clone, Default)]
struct Payments(Downstream);

impl Payments {
    #[circuit_breaker(name = "atl-renamed", queue = "atl-renamed")]
    async fn charge(&self, cents: u32) -> Result<(), SendError> {
        self.0.deliver(format!("charge:{cents}")).await
    }
}

/// After the rename, the entry the old release queued is refused as "another function's" and
/// stays at the head, with every call queued behind it, until the user says the old path is
/// this function's former one (`queues().renamed`): then the old entry and those behind it
/// replay, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_renaming_the_type_new_queued_calls_still_replay() {
    fast();
    let backend = left_behind(
        "atl-renamed/atl-renamed",
        &[br#"{"fn":"attack_tag_payloads::billing::Invoices::charge","args":[700]}"#],
    )
    .await;
    queues().set_backend("atl-renamed", backend).unwrap();
    let p = Payments::default();
    p.charge(1).await.unwrap();
    cb_runtime::registry().get("atl-renamed").unwrap().force_open();
    assert!(matches!(p.charge(2).await, Err(SendError::Queued(_))));
    cb_runtime::registry().get("atl-renamed").unwrap().reset();
    queues().replay_now("atl-renamed");
    settle().await;
    assert!(
        p.0.sent().iter().all(|s| s != "charge:700" && s != "charge:2"),
        "not replayed before the rename is declared: {:?}",
        p.0.sent()
    );
    queues().renamed(
        "atl-renamed",
        "attack_tag_payloads::billing::Invoices::charge",
        "attack_tag_payloads::Payments::charge",
    );
    let start = std::time::Instant::now();
    while !p.0.sent().contains(&"charge:2".to_owned()) && start.elapsed() < Duration::from_secs(3) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        p.0.sent().contains(&"charge:2".to_owned()),
        "the call queued by the renamed function after the restart never replays: sent {:?}, status {:?}",
        p.0.sent(),
        support::queue::status("atl-renamed", "atl-renamed")
    );
    assert_eq!(p.0.sent(), ["charge:1", "charge:700", "charge:2"], "in order");
}

#[derive(Clone, Default)]
struct Moved(Downstream);

impl Moved {
    #[circuit_breaker(name = "atl-moved", queue = "atl-moved")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("send:{n}")).await
    }
}

/// The message a user gets after moving a type: it says two functions share the sub-queue and
/// advises "Give one of the functions another queue, then restart", but there is one function,
/// renamed; following the advice strands the entry in a sub-queue nobody reads. It should say
/// the queued-by path may be this function's former name and how to release the entry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_message_after_a_move_says_the_path_may_be_a_former_name() {
    fast();
    let backend = left_behind(
        "atl-moved/atl-moved",
        &[br#"{"fn":"old_crate::net::Moved::send","args":[1]}"#],
    )
    .await;
    queues().set_backend("atl-moved", backend).unwrap();
    let mut events = queues().subscribe();
    let m = Moved::default();
    m.send(2).await.unwrap();
    let said = replay_failed(&mut events, "atl-moved").await;
    eprintln!("message: {said}");
    assert!(
        said.contains("renamed") || said.contains(" moved") || said.contains("former"),
        "the message does not consider that `old_crate::net::Moved::send` is this function's old name: {said}"
    );
    assert!(
        said.contains(
            r#"queues().renamed("atl-moved", "old_crate::net::Moved::send", "attack_tag_payloads::Moved::send")"#
        ),
        "the message gives the call that releases the entry: {said}"
    );
}

#[derive(Clone, Default)]
struct Typo(Downstream);

impl Typo {
    #[circuit_breaker(name = "atl-typo", queue = "atl-typo")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("send:{n}")).await
    }
}

/// A rename declared with a current path that is not the owner's (a typo, the module left
/// out): the entry stays, and the message names the declared path next to the owner's
/// instead of repeating the advice the user already followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rename_declared_for_another_path_is_named_in_the_message() {
    fast();
    let backend = left_behind("atl-typo/atl-typo", &[br#"{"fn":"old::Typo::send","args":[1]}"#]).await;
    queues().set_backend("atl-typo", backend).unwrap();
    queues().renamed("atl-typo", "old::Typo::send", "Typo::send");
    let mut events = queues().subscribe();
    let t = Typo::default();
    t.send(2).await.unwrap();
    let said = replay_failed(&mut events, "atl-typo").await;
    assert!(
        said.contains("`queues().renamed` was called for `old::Typo::send` with `Typo::send`, not with `attack_tag_payloads::Typo::send`"),
        "{said}"
    );
    assert_eq!(t.0.sent(), ["send:2"], "the entry was not replayed");
    let blocked = status("atl-typo", "atl-typo");
    assert!(blocked.blocked, "the status says replay is held up: {blocked:?}");
    queues().renamed("atl-typo", "old::Typo::send", "attack_tag_payloads::Typo::send");
    until("the entry replayed once the rename names the owner", || {
        t.0.sent().len() == 2
    })
    .await;
    assert_eq!(t.0.sent(), ["send:2", "send:1"]);
    until("the status no longer says blocked", || {
        !status("atl-typo", "atl-typo").blocked
    })
    .await;
    let released = status("atl-typo", "atl-typo");
    assert!(
        released.last_error.is_some_and(|e| e.contains("old::Typo::send")),
        "the last problem noted stays as history"
    );
}

// ----- odd JSON -----

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Job {
    #[serde(rename = "fn")]
    function: String,
    args: Vec<u32>,
}

#[derive(Clone, Default)]
struct Jobs(Downstream);

impl Jobs {
    #[circuit_breaker(name = "atl-json", queue = "atl-json")]
    async fn run(&self, job: Job, note: String) -> Result<(), SendError> {
        self.0.deliver(format!("{}{:?}/{note}", job.function, job.args)).await
    }
}

/// Holds: an argument that itself looks like a tag (`{"fn":..,"args":..}`), strings with
/// braces, quotes and unicode, survive being queued and replayed; tags written with spaces,
/// keys swapped, unicode escapes in the path, extra fields, and an untagged bare array all
/// replay through their function, in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn odd_but_valid_json_replays_unchanged() {
    fast();
    let backend = left_behind(
        "atl-json/atl-json",
        &[
            br#"  {"fn" : "attack_tag_payloads::Jobs::run" , "args" : [{"fn":"x","args":[1]}, "a"] }  "#
                .trim_ascii_start(),
            br#"{"args":[{"fn":"y","args":[2]},"b"],"fn":"attack_tag_payloads::Jobs::run"}"#,
            br#"{"fn":"attack_tag_payloads::Jobs::r\u0075n","args":[{"fn":"z","args":[3]},"c"]}"#,
            br#"{"fn":"attack_tag_payloads::Jobs::run","args":[{"fn":"w","args":[4]},"d"],"v":2}"#,
            br#"[{"fn":"u","args":[5]},"e"]"#,
        ],
    )
    .await;
    queues().set_backend("atl-json", backend).unwrap();
    let j = Jobs::default();
    j.run(
        Job {
            function: "first".into(),
            args: vec![],
        },
        "f".into(),
    )
    .await
    .unwrap();
    until("the backlog replayed", || j.0.sent().len() >= 6).await;
    cb_runtime::registry().get("atl-json").unwrap().force_open();
    let odd = "{\"fn\":\"attack_tag_payloads::Other::run\"} } ] \\ \u{1F600} \u{0}";
    let queued = j
        .run(
            Job {
                function: "{\"fn\":".into(),
                args: vec![u32::MAX],
            },
            odd.into(),
        )
        .await;
    assert!(matches!(queued, Err(SendError::Queued(_))), "{queued:?}");
    cb_runtime::registry().get("atl-json").unwrap().reset();
    until("the odd call replayed", || j.0.sent().len() >= 7).await;
    settle().await;
    let mut sent = j.0.sent();
    sent.retain(|s| s != "first[]/f");
    assert_eq!(
        sent,
        [
            "x[1]/a".to_owned(),
            "y[2]/b".into(),
            "z[3]/c".into(),
            "w[4]/d".into(),
            "u[5]/e".into(),
            format!("{{\"fn\":[{}]/{odd}", u32::MAX),
        ]
    );
}

#[derive(Clone, Default)]
struct Strict(Downstream);

impl Strict {
    #[circuit_breaker(name = "atl-undecodable", queue = "atl-undecodable")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("send:{n}")).await
    }
}

/// Holds (documented "Undecodable"): an entry tagged for this function whose args do not
/// decode (an object, a wrong type, too many) is removed with a ReplayFailed saying so, and
/// the entries behind it replay, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_entry_whose_args_do_not_decode_is_removed_and_the_rest_replay() {
    fast();
    let backend = left_behind(
        "atl-undecodable/atl-undecodable",
        &[
            br#"{"fn":"attack_tag_payloads::Strict::send","args":{"n":1}}"#,
            br#"{"fn":"attack_tag_payloads::Strict::send","args":["one"]}"#,
            br#"{"fn":"attack_tag_payloads::Strict::send","args":[1,2]}"#,
            br#"{"fn":"attack_tag_payloads::Strict::send","args":[4]}"#,
        ],
    )
    .await;
    queues().set_backend("atl-undecodable", backend).unwrap();
    let mut events = queues().subscribe();
    let s = Strict::default();
    s.send(5).await.unwrap();
    until("the decodable entry replayed", || s.0.sent().len() >= 2).await;
    settle().await;
    let mut sent = s.0.sent();
    sent.sort();
    assert_eq!(sent, ["send:4", "send:5"]);
    let said = replay_failed(&mut events, "atl-undecodable").await;
    assert!(said.contains("do not decode"), "{said}");
    assert_eq!(support::queue::status("atl-undecodable", "atl-undecodable").depth, 0);
}

#[derive(Clone, Default)]
struct Owner(Downstream);

impl Owner {
    #[circuit_breaker(name = "atl-ws", queue = "atl-ws")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("send:{n}")).await
    }
}

/// An entry tagged for another function is never removed by this one (README: "it stays at the
/// head ... nothing is removed"), unless its JSON starts with whitespace (a hand-written entry,
/// `redis-cli XADD .. args " {..}"`, a pretty-printer): `untag` only looks for a tag when the
/// first byte is `{`, so the foreign entry goes to this function's handler as "arguments",
/// does not decode, and is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_functions_entry_with_leading_whitespace_is_kept() {
    fast();
    let backend = left_behind(
        "atl-ws/atl-ws",
        &[b"\n{\"fn\":\"attack_tag_payloads::Other::send\",\"args\":[1]}"],
    )
    .await;
    queues().set_backend("atl-ws", backend).unwrap();
    let o = Owner::default();
    o.send(2).await.unwrap();
    settle().await;
    settle().await;
    let status = support::queue::status("atl-ws", "atl-ws");
    assert_eq!(
        status.depth, 1,
        "another function's entry was removed by this one: {status:?}"
    );
}

// ----- Redis: what cb writes, and a previous process's tagged entry -----

const REDIS: &str = "redis://127.0.0.1:6379";

#[derive(Clone, Default)]
struct RedisOwner(Downstream);

impl RedisOwner {
    #[circuit_breaker(name = "atl-redis", queue = "atl-redis")]
    async fn send(&self, to: String) -> Result<(), SendError> {
        self.0.deliver(format!("send:{to}")).await
    }
}

/// Holds: in Redis, a tagged entry left by a previous process replays, and a rejected call is
/// written as `{"fn":"attack_tag_payloads::RedisOwner::send","args":[..]}` and replayed once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tagged_entry_in_redis_replays_and_cb_writes_the_tag() {
    fast();
    let prefix = support::queue::unique_redis_prefix("atl");
    let stream = format!("{prefix}atl-redis/atl-redis");
    let mut c = support::queue::redis_connection().await;
    let _: String = redis::cmd("XADD")
        .arg(&stream)
        .arg("*")
        .arg("args")
        .arg(r#"{"fn":"attack_tag_payloads::RedisOwner::send","args":["\u00e9t\u00e9 {x}"]}"#)
        .query_async(&mut c)
        .await
        .unwrap();
    queues()
        .set_backend(
            "atl-redis",
            cb_runtime::queue::RedisStreamQueue::new(REDIS).unwrap().prefix(&prefix),
        )
        .unwrap();
    let o = RedisOwner::default();
    o.send("now".into()).await.unwrap();
    until("the backlog replayed", || o.0.sent().len() >= 2).await;
    cb_runtime::registry().get("atl-redis").unwrap().force_open();
    assert!(matches!(o.send("later".into()).await, Err(SendError::Queued(_))));
    let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(&stream)
        .arg("-")
        .arg("+")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(
        entries[0].1,
        [(
            "args".to_owned(),
            r#"{"fn":"attack_tag_payloads::RedisOwner::send","args":["later"]}"#.to_owned()
        )]
    );
    cb_runtime::registry().get("atl-redis").unwrap().reset();
    until("the rejected call replayed", || o.0.sent().len() >= 3).await;
    settle().await;
    let mut sent = o.0.sent();
    sent.sort();
    assert_eq!(sent, ["send:later", "send:now", "send:été {x}"]);
    let _: () = redis::cmd("DEL").arg(&stream).query_async(&mut c).await.unwrap();
}

// ----- mixed versions: a rolling upgrade or a rollback -----

/// Checked by hand: cb at 7173c0e (the commit before the tag) reading an entry this version
/// wrote (`{"fn":..,"args":[7]}`) says "its arguments do not decode (invalid type: map,
/// expected a sequence ...): removed" and deletes it. So during a rolling upgrade (old and new
/// replicas on one Redis/NATS queue) or after a rollback, every entry the new version queued
/// is deleted by an old replica. The README's "Queue for retry" says nothing about it.
#[test]
fn the_readme_warns_that_an_older_cb_deletes_tagged_entries() {
    let readme = include_str!("../README.md");
    let section = &readme[readme.find("## Queue for retry").expect("the queue section")..];
    assert!(
        [
            "rollback",
            "roll back",
            "downgrad",
            "rolling upgrade",
            "older version",
            "older cb"
        ]
        .iter()
        .any(|w| section.contains(w)),
        "the README does not say that a cb from before the tag deletes tagged entries"
    );
}
