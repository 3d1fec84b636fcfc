//! Outside-in attack on commit 6a6a6e9 (each queued entry is tagged with the path of the
//! function that queued it, `{"fn":"<path>","args":[..]}`; the replayer refuses an entry tagged
//! for another function). README, "Queue for retry", bullet "Receiver": "a method's path
//! includes its type".
//!
//! A "previous process" is simulated as in attack_q_backlogs: the backend already holds the
//! entries, byte for byte as cb writes them, before the queue is first used.

mod support;

use cb_runtime::queue::{InMemoryQueue, NotQueued, NotQueuedReason, QueueBackend, QueueEvent, queues};
use cb_runtime::{CircuitProtected, circuit_breaker};
use std::time::Duration;
use support::queue::{Downstream, SendError, listed, settle, until};

/// A backend that already holds `entries` (payloads) in `stream`, as a previous process left.
async fn left_behind(stream: &str, entries: &[&str]) -> InMemoryQueue {
    let backend = InMemoryQueue::new(1000);
    for entry in entries {
        backend.push(stream, entry.as_bytes().to_vec()).await.unwrap();
    }
    backend
}

fn fast() {
    queues().set_poll_interval(Duration::from_millis(5));
}

// ----- a method of a generic type: generic arguments left out of the path -----

#[derive(Clone, Default)]
struct Gen<T> {
    downstream: Downstream,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Clone + Send + Sync + 'static> Gen<T> {
    #[circuit_breaker(name = "atp-gen", queue = "atp-gen")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("gen:{n}")).await
    }
}

/// An entry the previous process queued through `Gen<String>` replays through `Gen<String>`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_types_entry_replays_through_the_same_instantiation() {
    fast();
    let backend = left_behind(
        "atp-gen/atp-gen",
        &[r#"{"fn":"attack_tag_paths::Gen<alloc::string::String>::send","args":[41]}"#],
    )
    .await;
    queues().set_backend("atp-gen", backend).unwrap();
    let g: Gen<String> = Gen::default();
    g.send(42).await.unwrap();
    until("the backlog replayed", || g.downstream.sent().len() >= 2).await;
    settle().await;
    let mut sent = g.downstream.sent();
    sent.sort();
    assert_eq!(sent, ["gen:41", "gen:42"]);
}

#[derive(Clone, Default)]
struct Gen2<T> {
    downstream: Downstream,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: Clone + Send + Sync + 'static> Gen2<T> {
    #[circuit_breaker(name = "atp-gen2", queue = "atp-gen2")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("gen2:{n}")).await
    }
}

/// Two instantiations of one generic impl are two receivers (a `Repo<Postgres>` and a
/// `Repo<Redis>`): an entry queued through `Gen2<String>` is not replayed through
/// `Gen2<Vec<u8>>`, which owns the sub-queue in this process; it stays, and the event names
/// both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_generic_types_entry_is_not_replayed_through_another_instantiation() {
    fast();
    let backend = left_behind(
        "atp-gen2/atp-gen2",
        &[r#"{"fn":"attack_tag_paths::Gen2<alloc::string::String>::send","args":[41]}"#],
    )
    .await;
    queues().set_backend("atp-gen2", backend).unwrap();
    let mut events = queues().subscribe();
    let g: Gen2<Vec<u8>> = Gen2::default();
    g.send(42).await.unwrap();
    let said = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(cb_runtime::queue::QueueEvent::ReplayFailed { breaker, message, .. }) = events.recv().await
                && breaker == "atp-gen2"
            {
                break message;
            }
        }
    })
    .await
    .expect("a ReplayFailed event");
    assert!(
        said.contains("queued by `attack_tag_paths::Gen2<alloc::string::String>::send`")
            && said.contains("`attack_tag_paths::Gen2<alloc::vec::Vec<u8>>::send` owns"),
        "{said}"
    );
    assert_eq!(g.downstream.sent(), ["gen2:42"]);
    assert_eq!(support::queue::status("atp-gen2", "atp-gen2").depth, 1);
}

// ----- two inherent impls on two instantiations of one generic type -----

#[derive(Clone, Default)]
struct Sms;
#[derive(Clone, Default)]
struct Email;

#[derive(Clone, Default)]
struct Client<T> {
    downstream: Downstream,
    _t: std::marker::PhantomData<T>,
}

impl Client<Sms> {
    #[circuit_breaker(name = "atp-notify", queue = "atp-notify")]
    async fn send(&self, to: String) -> Result<(), SendError> {
        self.downstream.deliver(format!("sms to {to}")).await
    }
}

impl Client<Email> {
    #[circuit_breaker(name = "atp-notify", queue = "atp-notify")]
    async fn send(&self, to: String) -> Result<(), SendError> {
        self.downstream.deliver(format!("email to {to}")).await
    }
}

/// `Client<Sms>::send` and `Client<Email>::send` are two functions (two sites) sharing a
/// breaker name and a queue: exactly the case the commit is about. But both tag their entries
/// `attack_tag_paths::Client::send` (generic arguments are cut from `type_name`), so after a
/// restart an email the previous process queued replays as an SMS.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_email_queued_by_client_email_is_not_replayed_as_an_sms() {
    fast();
    // What `Client<Email>::send` writes (checked below: it has the same path as `Client<Sms>`).
    let backend = left_behind(
        "atp-notify/atp-notify",
        &[r#"{"fn":"attack_tag_paths::Client<attack_tag_paths::Email>::send","args":["bob"]}"#],
    )
    .await;
    queues().set_backend("atp-notify", backend).unwrap();
    let sms: Client<Sms> = Client::default();
    let email: Client<Email> = Client::default();
    sms.send("ann".into()).await.unwrap();
    settle().await;
    // In this process Sms owns the sub-queue; Email's rejected call is refused, and the message
    // shows Email's path is the one the entry carries.
    cb_runtime::registry().get("atp-notify").unwrap().force_open();
    let shared = match email.send("carl".into()).await {
        Err(SendError::NotQueued(NotQueued {
            reason: NotQueuedReason::Shared { owner, function },
            ..
        })) => (owner, function),
        other => panic!("shared: {other:?}"),
    };
    cb_runtime::registry().get("atp-notify").unwrap().reset();
    assert_eq!(
        shared,
        (
            "attack_tag_paths::Client<attack_tag_paths::Sms>::send".to_owned(),
            "attack_tag_paths::Client<attack_tag_paths::Email>::send".to_owned()
        )
    );
    settle().await;
    assert!(
        !sms.downstream.sent().contains(&"sms to bob".to_owned()),
        "the email queued by Client<Email>::send was replayed through Client<Sms>::send: {:?}",
        sms.downstream.sent()
    );
}

/// The same pair in one process: the Shared refusal names one path twice
/// ("`attack_tag_paths::Client::send` and `attack_tag_paths::Client::send` both queue ..."),
/// which tells the user nothing about which two functions collide.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_shared_refusal_tells_the_two_instantiations_apart() {
    fast();
    queues().set_backend("atp-notify2", InMemoryQueue::new(100)).unwrap();
    #[derive(Clone, Default)]
    struct C<T>(Downstream, std::marker::PhantomData<T>);
    impl C<Sms> {
        #[circuit_breaker(name = "atp-notify2", queue = "atp-notify2")]
        async fn send(&self, to: String) -> Result<(), SendError> {
            self.0.deliver(format!("sms to {to}")).await
        }
    }
    impl C<Email> {
        #[circuit_breaker(name = "atp-notify2", queue = "atp-notify2")]
        async fn send(&self, to: String) -> Result<(), SendError> {
            self.0.deliver(format!("email to {to}")).await
        }
    }
    let sms: C<Sms> = C::default();
    let email: C<Email> = C::default();
    sms.send("ann".into()).await.unwrap();
    cb_runtime::registry().get("atp-notify2").unwrap().force_open();
    let (owner, function) = match email.send("carl".into()).await {
        Err(SendError::NotQueued(NotQueued {
            reason: NotQueuedReason::Shared { owner, function },
            ..
        })) => (owner, function),
        other => panic!("shared: {other:?}"),
    };
    cb_runtime::registry().get("atp-notify2").unwrap().reset();
    assert_ne!(owner, function, "the refusal cannot tell the two functions apart");
}

// ----- a trait impl (native async fn in trait), a type and its impl in nested modules -----

trait Sender {
    async fn post(&self, n: u32) -> Result<(), SendError>;
}

#[derive(Clone, Default)]
struct Poster(Downstream);

impl Sender for Poster {
    #[circuit_breaker(name = "atp-trait", queue = "atp-trait")]
    async fn post(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("post:{n}")).await
    }
}

/// Holds: a trait impl's method (native `async fn`) is tagged `<type>::<method>` and its
/// entry replays.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trait_impls_entry_replays() {
    fast();
    let backend = left_behind(
        "atp-trait/atp-trait",
        &[r#"{"fn":"attack_tag_paths::Poster::post","args":[1]}"#],
    )
    .await;
    queues().set_backend("atp-trait", backend).unwrap();
    let p = Poster::default();
    p.post(2).await.unwrap();
    until("the backlog replayed", || p.0.sent().len() >= 2).await;
    let mut sent = p.0.sent();
    sent.sort();
    assert_eq!(sent, ["post:1", "post:2"]);
    // And what it writes now is what was left: one more rejected call, replayed.
    cb_runtime::registry().get("atp-trait").unwrap().force_open();
    assert!(matches!(p.post(3).await, Err(SendError::Queued(_))));
    cb_runtime::registry().get("atp-trait").unwrap().reset();
    until("the rejected call replayed", || p.0.sent().len() >= 3).await;
}

mod outer {
    pub mod inner {
        #[derive(Clone, Default)]
        pub struct Deep(pub crate::Downstream);
    }
}

mod impls {
    use super::{SendError, circuit_breaker};
    impl super::outer::inner::Deep {
        #[circuit_breaker(name = "atp-deep", queue = "atp-deep")]
        pub async fn send(&self, n: u32) -> Result<(), SendError> {
            self.0.deliver(format!("deep:{n}")).await
        }
    }
}

/// Holds: the impl lives in another module than the type; the path is the type's
/// (`outer::inner::Deep`), so moving the impl block does not change it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_type_in_a_nested_module_is_tagged_with_its_own_path() {
    fast();
    let backend = left_behind(
        "atp-deep/atp-deep",
        &[r#"{"fn":"attack_tag_paths::outer::inner::Deep::send","args":[1]}"#],
    )
    .await;
    queues().set_backend("atp-deep", backend).unwrap();
    let d = outer::inner::Deep::default();
    d.send(2).await.unwrap();
    until("the backlog replayed", || d.0.sent().len() >= 2).await;
    let mut sent = d.0.sent();
    sent.sort();
    assert_eq!(sent, ["deep:1", "deep:2"]);
}

// ----- a free function and a method of the same module path -----

static FREE: std::sync::LazyLock<Downstream> = std::sync::LazyLock::new(Downstream::default);

#[circuit_breaker(name = "atp-same", queue = "atp-same")]
async fn charge(n: u32) -> Result<(), SendError> {
    FREE.deliver(format!("free charge:{n}")).await
}

#[derive(Clone, Default)]
struct Billing(Downstream);

impl Billing {
    #[circuit_breaker(name = "atp-same", queue = "atp-same")]
    async fn charge(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("billing charge:{n}")).await
    }
}

/// Holds: `attack_tag_paths::charge` and `attack_tag_paths::Billing::charge` have distinct
/// tags: the method's entry is not replayed through the free function, it stays (documented),
/// and the event names both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_methods_entry_is_not_replayed_through_a_free_function_of_the_same_name() {
    fast();
    let backend = left_behind(
        "atp-same/atp-same",
        &[r#"{"fn":"attack_tag_paths::Billing::charge","args":[700]}"#],
    )
    .await;
    queues().set_backend("atp-same", backend).unwrap();
    let mut events = queues().subscribe();
    charge(1).await.unwrap();
    settle().await;
    assert_eq!(FREE.sent(), ["free charge:1"]);
    let said = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match events.recv().await {
                Some(QueueEvent::ReplayFailed { breaker, message, .. }) if breaker == "atp-same" => break message,
                Some(_) => {}
                None => panic!("the queue events ended"),
            }
        }
    })
    .await
    .expect("a ReplayFailed event");
    assert!(
        said.contains("queued by `attack_tag_paths::Billing::charge`")
            && said.contains("`attack_tag_paths::charge` owns the sub-queue"),
        "{said}"
    );
    let b = Billing::default();
    b.charge(2).await.unwrap();
    settle().await;
    assert_eq!(b.0.sent(), ["billing charge:2"], "only the admitted call ran");
    assert_eq!(support::queue::status("atp-same", "atp-same").depth, 1);
}

// ----- a keyed family after a restart -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "atp-keyed")]
struct Tenant {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Tenant {
    #[circuit_breaker(queue = "atp-keyed")]
    async fn post(&self, n: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{n}", self.tenant)).await
    }
}

/// Holds: tagged entries of two keys left by a previous process; the first call (key a)
/// replays a's, and key b's replays from b's next call, in order, once each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyed_familys_tagged_backlogs_replay_after_a_restart() {
    fast();
    let backend = InMemoryQueue::new(1000);
    for (key, n) in [("a", 1), ("b", 1), ("a", 2), ("b", 2)] {
        backend
            .push(
                &format!("atp-keyed/atp-keyed/{key}"),
                format!(r#"{{"fn":"attack_tag_paths::Tenant::post","args":[{n}]}}"#).into_bytes(),
            )
            .await
            .unwrap();
    }
    queues().set_backend("atp-keyed", backend).unwrap();
    let down = Downstream::default();
    let a = Tenant {
        tenant: "a".into(),
        downstream: down.clone(),
    };
    let b = Tenant {
        tenant: "b".into(),
        downstream: down.clone(),
    };
    a.post(3).await.unwrap();
    until("b listed", || listed("atp-keyed", "atp-keyed/b")).await;
    b.post(3).await.unwrap();
    until("everything replayed", || down.sent().len() >= 6).await;
    settle().await;
    let sent = down.sent();
    let of = |k: &str| -> Vec<String> { sent.iter().filter(|s| s.starts_with(k)).cloned().collect() };
    assert_eq!(of("a:").len(), 3, "{sent:?}");
    assert_eq!(of("b:").len(), 3, "{sent:?}");
    for k in ["a:", "b:"] {
        let replayed: Vec<_> = of(k).into_iter().filter(|s| !s.ends_with(":3")).collect();
        assert_eq!(replayed, [format!("{k}1"), format!("{k}2")], "in order: {sent:?}");
    }
}
