//! Attack: queue for retry on a keyed breaker family. A family keeps at most `max_keys` live
//! breakers and evicts idle Closed ones (DESIGN: "a family has a cap on live keys and an idle
//! time; idle Closed breakers are evicted ... names are not leaked"). But every key that was
//! rejected once gets a sub-queue whose replayer task runs for ever and holds an
//! `Arc<CircuitBreaker>` of its key (`replay::run` takes `registry().get(..)` once), and an
//! `Arc` held outside the registry pins a breaker against eviction. So every key ever queued
//! keeps its breaker, its sub-queue, its replayer task and its subscription for the life of the
//! process, long after its backlog drained: the cap and the idle time stop applying and memory
//! grows with every key ever seen. The control (same family shape, no `queue`) stays within
//! what the per-thread keyed caches may pin; with `queue`, all 400 keys stay.

mod support;

use cb_runtime::queue::queues;
use cb_runtime::{CircuitProtected, ManualClock, Registry, circuit_breaker, init_registry, registry};
use std::time::Duration;
use support::queue::{Downstream, SendError, until};

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "qleak", max_keys = 4)]
struct Hooks {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl Hooks {
    #[circuit_breaker(queue = "mem-leak")]
    async fn post(&self, seq: u32) -> Result<(), SendError> {
        self.downstream.deliver(format!("{}:{seq}", self.tenant)).await
    }
}

/// The same family without `queue`: the cap holds (the control).
#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "qleak-control", max_keys = 4)]
struct PlainHooks {
    #[circuit_breaker(key)]
    tenant: String,
    downstream: Downstream,
}

impl PlainHooks {
    #[circuit_breaker]
    async fn post(&self, seq: u32) -> Result<(), PlainError> {
        self.downstream
            .deliver(format!("{}:{seq}", self.tenant))
            .await
            .map_err(|_| PlainError)
    }
}

#[derive(Debug)]
struct PlainError;

impl From<cb_runtime::Rejected> for PlainError {
    fn from(_: cb_runtime::Rejected) -> Self {
        PlainError
    }
}

/// Keys used by each scenario.
const KEYS: usize = 400;
/// What may stay pinned without a leak: each thread's keyed-breaker cache holds up to 128
/// breakers (`CACHE_SLOTS`, documented in `__private/site.rs`), the test's thread and cb's
/// queue thread (whose replays call through the same site), plus `max_keys`.
const BOUND: usize = 2 * 128 + 4;

fn clock() -> ManualClock {
    static CLOCK: std::sync::OnceLock<ManualClock> = std::sync::OnceLock::new();
    CLOCK
        .get_or_init(|| {
            let clock = ManualClock::new();
            let _ = init_registry(Registry::with_clock(clock.clone()));
            queues().set_poll_interval(Duration::from_millis(5));
            clock
        })
        .clone()
}

#[tokio::test]
async fn control_without_a_queue_the_cap_holds() {
    let clock = clock();
    for i in 0..KEYS {
        let hooks = PlainHooks {
            tenant: format!("t{i}"),
            downstream: Downstream::default(),
        };
        hooks.post(0).await.unwrap();
        let name = format!("qleak-control/t{i}");
        registry().force_open(&name).unwrap();
        assert!(hooks.post(1).await.is_err());
        registry().reset(&name).unwrap();
        hooks.post(2).await.unwrap();
    }
    for _ in 0..3 {
        clock.advance(Duration::from_secs(3600));
        registry().evict_idle();
    }
    let live = registry()
        .families()
        .into_iter()
        .find(|f| f.name == "qleak-control")
        .map(|f| f.live)
        .unwrap();
    eprintln!("live breakers in family qleak-control: {live}");
    assert!(live <= BOUND, "{live} live breakers");
}

#[tokio::test]
async fn sub_queues_of_evicted_keys_are_freed() {
    let clock = clock();
    for i in 0..KEYS {
        let hooks = Hooks {
            tenant: format!("t{i}"),
            downstream: Downstream::default(),
        };
        hooks.post(0).await.unwrap();
        let name = format!("qleak/t{i}");
        registry().force_open(&name).unwrap();
        assert!(matches!(hooks.post(1).await, Err(SendError::Queued(_))));
        registry().reset(&name).unwrap();
        until("the key's replay", || hooks.downstream.sent().len() == 2).await;
    }
    // Let the replayers see their empty sub-queues, then let every key go idle (default
    // idle_ttl 10m) and sweep.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..3 {
        clock.advance(Duration::from_secs(3600));
        registry().evict_idle();
    }
    let live = registry()
        .families()
        .into_iter()
        .find(|f| f.name == "qleak")
        .map(|f| f.live)
        .unwrap();
    let subs: Vec<_> = queues()
        .status()
        .into_iter()
        .filter(|s| s.queue == "mem-leak")
        .collect();
    eprintln!(
        "live breakers in family qleak: {live}; sub-queues of mem-leak: {}",
        subs.len()
    );
    assert!(
        live <= BOUND,
        "{live} live breakers in family `qleak` for {KEYS} keys (max_keys = 4, every key idle \
         for hours and Closed, every backlog drained, at most {BOUND} pinned by the per-thread \
         caches): the replayers pin them"
    );
    assert!(subs.iter().all(|s| s.depth == 0), "every backlog drained");
    // A key whose sub-queue was freed queues and replays again, through a new one (registered
    // with this instance: a surviving sub-queue would replay through its first instance).
    let freed = (0..KEYS)
        .map(|i| format!("t{i}"))
        .find(|key| !subs.iter().any(|s| s.breaker == format!("qleak/{key}")))
        .expect("some key's sub-queue was freed");
    let name = format!("qleak/{freed}");
    let again = Hooks {
        tenant: freed,
        downstream: Downstream::default(),
    };
    again.post(10).await.unwrap();
    registry().force_open(&name).unwrap();
    assert!(matches!(again.post(11).await, Err(SendError::Queued(_))));
    registry().reset(&name).unwrap();
    until("the freed key's new replay", || again.downstream.sent().len() == 2).await;
    assert!(
        subs.len() <= BOUND,
        "{} sub-queues (each with a replayer task for ever) remain for {KEYS} keys whose breakers \
         were evicted and whose backlogs are empty: per-key queue state is never freed",
        subs.len()
    );
}
