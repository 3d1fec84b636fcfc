//! Outside-in attack on `queues().renamed(queue, former, current)` under concurrent first
//! calls, against the real Redis on 127.0.0.1:6379 (each test its own key prefix, streams
//! deleted at the end). README, "Queue for retry": "If the entry's path is your function's
//! former one (a type, module or function renamed or moved), say so at startup and it
//! replays"; "the replay handler is registered by the function's first call in the process";
//! "At least once, in order per breaker: an entry is removed ... only after its replay returned
//! `Ok`"; "a replayer per sub-queue ... one at a time". With one process replaying a stream and
//! no failure, each entry should replay exactly once, none lost, none left blocked.
//!
//! A previous process is simulated by `XADD`ing entries as cb writes them (field `args`, a
//! tagged payload) before the queue's first use. The first calls run on several OS threads,
//! each with its own runtime, released together by a barrier.

mod support;

use cb_runtime::queue::{RedisStreamQueue, queues};
use cb_runtime::{BreakerConfig, CircuitProtected, circuit_breaker, registry};
use std::sync::{Arc, Barrier};
use std::time::Duration;
use support::queue::{Downstream, SendError, redis_connection, settle, status, unique_redis_prefix, until};

const REDIS: &str = "redis://127.0.0.1:6379";
const THREADS: usize = 8;

fn fast() {
    queues().set_poll_interval(Duration::from_millis(5));
}

async fn xadd(key: &str, payload: &str) {
    let _: String = redis::cmd("XADD")
        .arg(key)
        .arg("*")
        .arg("args")
        .arg(payload)
        .query_async(&mut redis_connection().await)
        .await
        .unwrap();
}

async fn xlen(key: &str) -> u64 {
    redis::cmd("XLEN")
        .arg(key)
        .query_async(&mut redis_connection().await)
        .await
        .unwrap()
}

async fn delete(key: &str) {
    let _: u64 = redis::cmd("DEL")
        .arg(key)
        .query_async(&mut redis_connection().await)
        .await
        .unwrap();
}

/// Puts `queue` on Redis streams under `prefix`.
fn on_redis(queue: &str, prefix: String) {
    queues()
        .set_backend(queue, RedisStreamQueue::new(REDIS).unwrap().prefix(prefix))
        .unwrap();
}

/// A keyed family `family` (its queue has the same name) with a backlog of `count` entries,
/// tagged with `rename.0`, for each of `THREADS` keys `{key}{k}`; the rename to `rename.1`
/// declared and the queue put on Redis: the keys' streams.
fn keyed_backlogs(
    rt: &tokio::runtime::Runtime,
    tag: &str,
    family: &str,
    key: &str,
    count: u32,
    (former, current): (&str, &str),
) -> Vec<String> {
    let prefix = unique_redis_prefix(tag);
    let keys: Vec<String> = (0..THREADS)
        .map(|k| format!("{prefix}{family}/{family}/{key}{k}"))
        .collect();
    rt.block_on(async {
        for stream in &keys {
            for n in 0..count {
                xadd(stream, &format!(r#"{{"fn":"{former}","args":[{n}]}}"#)).await;
            }
        }
    });
    queues().renamed(family, former, current);
    on_redis(family, prefix);
    keys
}

/// Runs `call(i)` on `THREADS` threads at once, each on a runtime of its own; their results.
fn at_once<T: Send + 'static>(
    call: impl Fn(usize) -> std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>> + Send + Sync + 'static,
) -> Vec<T> {
    let call = Arc::new(call);
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|i| {
            let (call, barrier) = (call.clone(), barrier.clone());
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                barrier.wait();
                rt.block_on(call(i))
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

/// How many times each of `expected` was delivered, and anything delivered unexpectedly.
fn count_each(sent: &[String], expected: &[String]) -> Vec<(String, usize)> {
    let mut odd: Vec<(String, usize)> = expected
        .iter()
        .map(|e| (e.clone(), sent.iter().filter(|s| *s == e).count()))
        .filter(|(_, n)| *n != 1)
        .collect();
    odd.extend(
        sent.iter()
            .filter(|s| !expected.contains(s))
            .map(|s| (s.clone(), usize::MAX)),
    );
    odd
}

// ----- A: a backlog under the former path, first calls admitted -----

#[derive(Clone, Default)]
struct Mailer(Downstream);

impl Mailer {
    #[circuit_breaker(name = "arr-mailer", queue = "arr-mailer")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("mail:{n}")).await
    }
}

/// Twenty entries the previous process queued as `old_app::Mailer::send`; the rename declared
/// at startup; eight threads make the function's first call at once (the breaker closed): each
/// backlog entry is delivered once, in order, each live call once, and the stream ends empty.
#[test]
fn a_renamed_backlog_replays_once_while_first_calls_race() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let prefix = unique_redis_prefix("arr-a");
    let key = format!("{prefix}arr-mailer/arr-mailer");
    rt.block_on(async {
        for n in 0..20 {
            xadd(&key, &format!(r#"{{"fn":"old_app::Mailer::send","args":[{n}]}}"#)).await;
        }
    });
    queues().renamed(
        "arr-mailer",
        "old_app::Mailer::send",
        "attack_rename_race::Mailer::send",
    );
    on_redis("arr-mailer", prefix);
    let m = Mailer::default();
    let shared = m.clone();
    let results = at_once(move |i| {
        let m = shared.clone();
        Box::pin(async move { m.send(1000 + i as u32).await.is_ok() })
    });
    assert!(results.iter().all(|ok| *ok), "{results:?}");
    let backlog: Vec<String> = (0..20).map(|n| format!("mail:{n}")).collect();
    rt.block_on(async {
        until("the backlog replayed", || {
            let sent = m.0.sent();
            backlog.iter().all(|b| sent.contains(b))
        })
        .await;
        settle().await;
    });
    let sent = m.0.sent();
    let mut expected = backlog.clone();
    expected.extend((0..THREADS).map(|i| format!("mail:{}", 1000 + i)));
    assert_eq!(count_each(&sent, &expected), [], "sent {sent:?}");
    let replayed: Vec<&String> = sent.iter().filter(|s| backlog.contains(s)).collect();
    assert_eq!(replayed, backlog.iter().collect::<Vec<_>>(), "in order");
    let s = status("arr-mailer", "arr-mailer");
    assert_eq!((s.replayed, s.replay_failures, s.depth), (20, 0, 0), "{s:?}");
    rt.block_on(async {
        assert_eq!(xlen(&key).await, 0);
        delete(&key).await;
    });
}

// ----- B: the breaker open at the first calls: they queue behind the backlog -----

#[derive(Clone, Default)]
struct Pager(Downstream);

impl Pager {
    #[circuit_breaker(name = "arr-pager", queue = "arr-pager")]
    async fn page(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("page:{n}")).await
    }
}

/// The breaker forced open before the first calls: the eight racing first calls are all
/// queued (tagged with the current path) behind the former path's backlog; once reset, all 28
/// replay once, the backlog first and in order, and none is left blocked.
#[test]
fn first_calls_rejected_while_racing_queue_behind_the_renamed_backlog() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let prefix = unique_redis_prefix("arr-b");
    let key = format!("{prefix}arr-pager/arr-pager");
    rt.block_on(async {
        for n in 0..20 {
            xadd(&key, &format!(r#"{{"fn":"legacy::Pager::page","args":[{n}]}}"#)).await;
        }
    });
    queues().renamed("arr-pager", "legacy::Pager::page", "attack_rename_race::Pager::page");
    on_redis("arr-pager", prefix);
    let breaker = registry().breaker("arr-pager", &BreakerConfig::default());
    breaker.force_open();
    let p = Pager::default();
    let shared = p.clone();
    let results = at_once(move |i| {
        let p = shared.clone();
        Box::pin(async move { format!("{:?}", p.page(1000 + i as u32).await) })
    });
    assert!(
        results.iter().all(|r| r.starts_with("Err(Queued(")),
        "every first call queued: {results:?}"
    );
    assert!(p.0.sent().is_empty(), "nothing replays while forced open");
    breaker.reset();
    let mut expected: Vec<String> = (0..20).map(|n| format!("page:{n}")).collect();
    expected.extend((0..THREADS).map(|i| format!("page:{}", 1000 + i)));
    rt.block_on(async {
        until("everything replayed", || p.0.sent().len() >= expected.len()).await;
        settle().await;
    });
    let sent = p.0.sent();
    assert_eq!(count_each(&sent, &expected), [], "sent {sent:?}");
    assert_eq!(sent[..20], expected[..20], "the backlog first, in order");
    let s = status("arr-pager", "arr-pager");
    assert_eq!(
        (s.queued, s.replayed, s.replay_failures, s.depth),
        (8, 28, 0, 0),
        "{s:?}"
    );
    rt.block_on(async {
        assert_eq!(xlen(&key).await, 0);
        delete(&key).await;
    });
}

// ----- C: the rename declared while the first calls race -----

#[derive(Clone, Default)]
struct Pusher(Downstream);

impl Pusher {
    #[circuit_breaker(name = "arr-pusher", queue = "arr-pusher")]
    async fn push(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("push:{n}")).await
    }
}

/// `renamed` called by one thread while the others make their first calls (an application
/// that declares it in a task of its own at startup): `renamed` wakes the replayer, so the
/// backlog replays whichever came first, once.
#[test]
fn a_rename_declared_while_first_calls_race_still_releases_the_backlog() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let prefix = unique_redis_prefix("arr-c");
    let key = format!("{prefix}arr-pusher/arr-pusher");
    rt.block_on(async {
        for n in 0..10 {
            xadd(&key, &format!(r#"{{"fn":"v1::Pusher::push","args":[{n}]}}"#)).await;
        }
    });
    on_redis("arr-pusher", prefix);
    let p = Pusher::default();
    let shared = p.clone();
    let results = at_once(move |i| {
        let p = shared.clone();
        Box::pin(async move {
            if i == THREADS / 2 {
                queues().renamed("arr-pusher", "v1::Pusher::push", "attack_rename_race::Pusher::push");
            }
            p.push(1000 + i as u32).await.is_ok()
        })
    });
    assert!(results.iter().all(|ok| *ok), "{results:?}");
    let backlog: Vec<String> = (0..10).map(|n| format!("push:{n}")).collect();
    rt.block_on(async {
        until("the backlog replayed", || {
            let sent = p.0.sent();
            backlog.iter().all(|b| sent.contains(b))
        })
        .await;
        settle().await;
    });
    let sent = p.0.sent();
    let mut expected = backlog.clone();
    expected.extend((0..THREADS).map(|i| format!("push:{}", 1000 + i)));
    assert_eq!(count_each(&sent, &expected), [], "sent {sent:?}");
    rt.block_on(async {
        assert_eq!(xlen(&key).await, 0);
        delete(&key).await;
    });
}

// ----- D: two former paths, interleaved -----

#[derive(Clone, Default)]
struct Billing(Downstream);

impl Billing {
    #[circuit_breaker(name = "arr-billing", queue = "arr-billing")]
    async fn charge(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("charge:{n}")).await
    }
}

/// A function renamed twice (`v1::Invoices::bill`, then `v2::Billing::charge`): entries of both
/// former paths interleaved, both renames declared, concurrent first calls: every entry once,
/// in order; an untagged entry (cb before 2026-11-25) among them replays through the owner.
#[test]
fn two_former_paths_interleaved_replay_once_in_order() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let prefix = unique_redis_prefix("arr-d");
    let key = format!("{prefix}arr-billing/arr-billing");
    rt.block_on(async {
        for n in 0..12u32 {
            let payload = match n % 3 {
                0 => format!(r#"{{"fn":"v1::Invoices::bill","args":[{n}]}}"#),
                1 => format!(r#"{{"fn":"v2::Billing::charge","args":[{n}]}}"#),
                _ => format!("[{n}]"),
            };
            xadd(&key, &payload).await;
        }
    });
    queues().renamed(
        "arr-billing",
        "v1::Invoices::bill",
        "attack_rename_race::Billing::charge",
    );
    queues().renamed(
        "arr-billing",
        "v2::Billing::charge",
        "attack_rename_race::Billing::charge",
    );
    on_redis("arr-billing", prefix);
    let b = Billing::default();
    let shared = b.clone();
    let results = at_once(move |i| {
        let b = shared.clone();
        Box::pin(async move { b.charge(1000 + i as u32).await.is_ok() })
    });
    assert!(results.iter().all(|ok| *ok), "{results:?}");
    let backlog: Vec<String> = (0..12).map(|n| format!("charge:{n}")).collect();
    rt.block_on(async {
        until("the backlog replayed", || {
            let sent = b.0.sent();
            backlog.iter().all(|x| sent.contains(x))
        })
        .await;
        settle().await;
    });
    let sent = b.0.sent();
    let mut expected = backlog.clone();
    expected.extend((0..THREADS).map(|i| format!("charge:{}", 1000 + i)));
    assert_eq!(count_each(&sent, &expected), [], "sent {sent:?}");
    let replayed: Vec<&String> = sent.iter().filter(|s| backlog.contains(s)).collect();
    assert_eq!(replayed, backlog.iter().collect::<Vec<_>>(), "in order");
    rt.block_on(async {
        assert_eq!(xlen(&key).await, 0);
        delete(&key).await;
    });
}

// ----- E: a keyed family, backlogs for several keys -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "arr-tenant")]
struct Tenant {
    #[circuit_breaker(key)]
    id: String,
    downstream: Downstream,
}

impl Tenant {
    #[circuit_breaker(queue = "arr-tenant")]
    async fn post(&self, n: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{n}", self.id)).await
    }
}

/// Backlogs under the former path for eight keys; the rename declared; each key's first call
/// made at once on its own thread: each key's backlog replays once, in order, through that
/// key's receiver (its own downstream), and every stream ends empty.
#[test]
fn renamed_keyed_backlogs_replay_once_while_keys_first_calls_race() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let keys = keyed_backlogs(
        &rt,
        "arr-e",
        "arr-tenant",
        "t",
        5,
        ("crm::Tenant::post", "attack_rename_race::Tenant::post"),
    );
    let tenants: Vec<Tenant> = (0..THREADS)
        .map(|k| Tenant {
            id: format!("t{k}"),
            downstream: Downstream::default(),
        })
        .collect();
    let shared = tenants.clone();
    let results = at_once(move |i| {
        let t = shared[i].clone();
        Box::pin(async move { t.post(1000).await.is_ok() })
    });
    assert!(results.iter().all(|ok| *ok), "{results:?}");
    rt.block_on(async {
        until("every key's backlog replayed", || {
            tenants.iter().all(|t| t.downstream.sent().len() >= 6)
        })
        .await;
        settle().await;
    });
    for t in &tenants {
        let sent = t.downstream.sent();
        let backlog: Vec<String> = (0..5).map(|n| format!("{}:{n}", t.id)).collect();
        let mut expected = backlog.clone();
        expected.push(format!("{}:1000", t.id));
        assert_eq!(count_each(&sent, &expected), [], "{}: sent {sent:?}", t.id);
        let replayed: Vec<&String> = sent.iter().filter(|s| backlog.contains(s)).collect();
        assert_eq!(replayed, backlog.iter().collect::<Vec<_>>(), "{}: in order", t.id);
    }
    rt.block_on(async {
        for key in &keys {
            assert_eq!(xlen(key).await, 0, "{key}");
            delete(key).await;
        }
    });
}

// ----- F: a rename for one function does not release another function's entry -----

#[derive(Clone, Default)]
struct Sms(Downstream);
#[derive(Clone, Default)]
struct Email(Downstream);

impl Sms {
    #[circuit_breaker(name = "arr-sms", queue = "arr-notify")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("sms:{n}")).await
    }
}

impl Email {
    #[circuit_breaker(name = "arr-email", queue = "arr-notify")]
    async fn send(&self, n: u32) -> Result<(), SendError> {
        self.0.deliver(format!("email:{n}")).await
    }
}

/// One queue, two functions (two breakers, so two sub-queues), each renamed; their first calls
/// race. Each backlog replays once through its own function. An entry of the old SMS path found
/// in the email sub-queue (the rename names another current path) is not replayed as an email:
/// it stays at the head, said in the sub-queue's last error, and the entries behind it wait.
#[test]
fn renames_of_two_functions_in_one_queue_release_only_their_own() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let prefix = unique_redis_prefix("arr-f");
    let sms_key = format!("{prefix}arr-notify/arr-sms");
    let email_key = format!("{prefix}arr-notify/arr-email");
    rt.block_on(async {
        for n in 0..5 {
            xadd(&sms_key, &format!(r#"{{"fn":"old::Sms::send","args":[{n}]}}"#)).await;
            xadd(&email_key, &format!(r#"{{"fn":"old::Email::send","args":[{n}]}}"#)).await;
        }
        xadd(&email_key, r#"{"fn":"old::Sms::send","args":[99]}"#).await;
        xadd(&email_key, r#"{"fn":"old::Email::send","args":[100]}"#).await;
    });
    queues().renamed("arr-notify", "old::Sms::send", "attack_rename_race::Sms::send");
    queues().renamed("arr-notify", "old::Email::send", "attack_rename_race::Email::send");
    on_redis("arr-notify", prefix);
    let (sms, email) = (Sms::default(), Email::default());
    let (s2, e2) = (sms.clone(), email.clone());
    let results = at_once(move |i| {
        let (s, e) = (s2.clone(), e2.clone());
        Box::pin(async move {
            if i % 2 == 0 {
                s.send(1000 + i as u32).await.is_ok()
            } else {
                e.send(1000 + i as u32).await.is_ok()
            }
        })
    });
    assert!(results.iter().all(|ok| *ok), "{results:?}");
    rt.block_on(async {
        until("both backlogs replayed", || {
            sms.0.sent().len() >= 5 + THREADS / 2 && email.0.sent().len() >= 5 + THREADS / 2
        })
        .await;
        until("the foreign entry said", || {
            status("arr-notify", "arr-email")
                .last_error
                .is_some_and(|e| e.contains("old::Sms::send"))
        })
        .await;
        settle().await;
    });
    let mut sms_expected: Vec<String> = (0..5).map(|n| format!("sms:{n}")).collect();
    sms_expected.extend((0..THREADS).step_by(2).map(|i| format!("sms:{}", 1000 + i)));
    let mut email_expected: Vec<String> = (0..5).map(|n| format!("email:{n}")).collect();
    email_expected.extend((1..THREADS).step_by(2).map(|i| format!("email:{}", 1000 + i)));
    assert_eq!(count_each(&sms.0.sent(), &sms_expected), [], "{:?}", sms.0.sent());
    assert_eq!(count_each(&email.0.sent(), &email_expected), [], "{:?}", email.0.sent());
    rt.block_on(async {
        assert_eq!(xlen(&sms_key).await, 0);
        assert_eq!(xlen(&email_key).await, 2, "the SMS entry and the one behind it wait");
        delete(&sms_key).await;
        delete(&email_key).await;
    });
}

// ----- E2: a keyed family whose keys are open at their first calls -----

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "arr-shop")]
struct Shop {
    #[circuit_breaker(key)]
    id: String,
    downstream: Downstream,
}

impl Shop {
    #[circuit_breaker(queue = "arr-shop")]
    async fn order(&self, n: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{n}", self.id)).await
    }
}

/// Each key's breaker forced open before the keys' first calls, which race (the listing of the
/// family's backlogs runs meanwhile): every first call is queued behind its key's renamed
/// backlog; once the keys are reset, each key replays its backlog and then its call, once.
#[test]
fn renamed_keyed_backlogs_with_keys_open_at_their_racing_first_calls() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    fast();
    let keys = keyed_backlogs(
        &rt,
        "arr-e2",
        "arr-shop",
        "s",
        3,
        ("erp::Shop::order", "attack_rename_race::Shop::order"),
    );
    let breakers: Vec<_> = (0..THREADS)
        .map(|k| registry().breaker(&format!("arr-shop/s{k}"), &BreakerConfig::default()))
        .collect();
    breakers.iter().for_each(|b| b.force_open());
    let shops: Vec<Shop> = (0..THREADS)
        .map(|k| Shop {
            id: format!("s{k}"),
            downstream: Downstream::default(),
        })
        .collect();
    let shared = shops.clone();
    let results = at_once(move |i| {
        let s = shared[i].clone();
        Box::pin(async move { format!("{:?}", s.order(1000).await) })
    });
    assert!(
        results.iter().all(|r| r.starts_with("Err(Queued(")),
        "every first call queued: {results:?}"
    );
    rt.block_on(settle());
    assert!(shops.iter().all(|s| s.downstream.sent().is_empty()), "forced open");
    breakers.iter().for_each(|b| b.reset());
    rt.block_on(async {
        until("every key replayed", || {
            shops.iter().all(|s| s.downstream.sent().len() >= 4)
        })
        .await;
        settle().await;
    });
    for s in &shops {
        let expected: Vec<String> = [0, 1, 2, 1000].iter().map(|n| format!("{}:{n}", s.id)).collect();
        assert_eq!(s.downstream.sent(), expected, "{}: once each, in order", s.id);
    }
    rt.block_on(async {
        for key in &keys {
            assert_eq!(xlen(key).await, 0, "{key}");
            delete(key).await;
        }
    });
}
