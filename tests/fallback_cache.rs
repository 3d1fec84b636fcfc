//! `fallback = cache`: the last good answer of a call to the real HTTP backend is served on
//! failure, on rejection and on timeout, with its age; never beyond `max_stale` (on a manual
//! clock); bounded by `max_entries`; counted in the cache statistics.

mod support;

use cb_runtime::fallback::{FallbackKind, cache_stats, last_served};
use cb_runtime::{
    CircuitProtected, ManualClock, Registry, Rejected, State, Timeout, circuit_breaker, init_registry, registry,
};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use support::backend::{Backend, Mode};

#[derive(Debug, PartialEq)]
enum Failed {
    Status(u16),
    Transport,
    Breaker,
    TimedOut,
}

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed::Breaker
    }
}

impl From<Timeout> for Failed {
    fn from(_: Timeout) -> Self {
        Failed::TimedOut
    }
}

fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        let _ = init_registry(Registry::with_clock(clock.clone()));
        clock
    })
}

struct Alerts {
    http: reqwest::Client,
    url: String,
}

impl Alerts {
    /// The region is the cache key (the receiver is not part of it).
    #[circuit_breaker(
        name = "fc-alerts",
        consecutive_failures = 2,
        open_timeout = "1h",
        fallback = cache,
        cache(max_entries = 100, max_stale = "10m")
    )]
    async fn latest(&self, region: &str) -> Result<String, Failed> {
        let response = self
            .http
            .get(format!("{}?region={region}", self.url))
            .send()
            .await
            .map_err(|_| Failed::Transport)?;
        if !response.status().is_success() {
            return Err(Failed::Status(response.status().as_u16()));
        }
        response.text().await.map_err(|_| Failed::Transport)
    }
}

#[tokio::test]
async fn the_last_good_answer_serves_failures_then_rejections_until_max_stale() {
    let clock = clock();
    let backend = Backend::start().await;
    let alerts = Alerts {
        http: reqwest::Client::new(),
        url: backend.url(),
    };
    assert_eq!(alerts.latest("eu").await, Ok("fresh alerts".into()));
    assert_eq!(last_served(), None, "the backend answered");

    backend.set(Mode::Failing);
    clock.advance(Duration::from_secs(60));
    assert_eq!(alerts.latest("eu").await, Ok("fresh alerts".into()));
    let served = last_served().expect("the cache answered a failure");
    assert_eq!(
        (served.kind, served.age),
        (FallbackKind::Cache, Some(Duration::from_secs(60)))
    );
    assert_eq!(
        alerts.latest("us").await,
        Err(Failed::Status(500)),
        "nothing kept for `us`"
    );
    assert_eq!(last_served(), None);

    let breaker = registry().get("fc-alerts").unwrap();
    assert_eq!(breaker.state(), State::Open);
    let hits = backend.hits();
    clock.advance(Duration::from_secs(8 * 60));
    assert_eq!(alerts.latest("eu").await, Ok("fresh alerts".into()));
    assert_eq!(last_served().unwrap().age, Some(Duration::from_secs(9 * 60)));
    assert_eq!(backend.hits(), hits, "a rejection does not reach the backend");

    clock.advance(Duration::from_secs(61));
    assert_eq!(
        alerts.latest("eu").await,
        Err(Failed::Breaker),
        "older than max_stale: not served, the rejection is the answer"
    );
    let stats = cache_stats().into_iter().find(|s| s.name == "fc-alerts").unwrap();
    assert_eq!((stats.hits, stats.misses, stats.stale, stats.entries), (2, 1, 1, 1));
    assert!(stats.bytes > 0);
    let totals = breaker.snapshot().totals;
    assert_eq!(totals.fallbacks_by_kind[FallbackKind::Cache as usize], 4);
}

/// A sync function, keyed by two arguments; `max_entries` bounds the entries.
#[circuit_breaker(
    name = "fc-rates",
    consecutive_failures = 1000,
    fallback = cache,
    cache(max_entries = 8, max_stale = "1h")
)]
fn rate(from: String, to: &str, up: bool) -> Result<u64, Failed> {
    match up {
        true => Ok(from.len() as u64 * 100 + to.len() as u64),
        false => Err(Failed::Transport),
    }
}

#[test]
fn every_argument_is_part_of_the_key_and_entries_are_bounded() {
    clock();
    assert_eq!(rate("eur".into(), "usd", true), Ok(303));
    assert_eq!(
        rate("eur".into(), "usd", false),
        Err(Failed::Transport),
        "`up` differs: another key"
    );
    assert_eq!(rate("eur".into(), "usd", true), Ok(303));
    for i in 0..200 {
        rate(format!("c{i}"), "x", true).unwrap();
    }
    let stats = cache_stats().into_iter().find(|s| s.name == "fc-rates").unwrap();
    assert!(stats.entries <= 8, "{stats:?}");
}

#[circuit_breaker(
    name = "fc-quotes",
    consecutive_failures = 1000,
    timeout = "50ms",
    fallback = cache,
    fallback_on = "any"
)]
async fn quote(symbol: u32) -> Result<u32, Failed> {
    tokio::time::sleep(Duration::from_millis(QUOTE_DELAY_MS.load(Ordering::Relaxed))).await;
    Ok(symbol * 2)
}

static QUOTE_DELAY_MS: AtomicU64 = AtomicU64::new(1);

#[tokio::test(start_paused = true)]
async fn a_timeout_is_served_from_the_cache() {
    clock();
    assert_eq!(quote(21).await, Ok(42));
    QUOTE_DELAY_MS.store(5_000, Ordering::Relaxed);
    assert_eq!(quote(21).await, Ok(42));
    let served = last_served().expect("the cache answered the timeout");
    assert_eq!(served.kind, FallbackKind::Cache);
    assert_eq!(quote(22).await, Err(Failed::TimedOut), "a miss: the timeout");
    let totals = registry().get("fc-quotes").unwrap().snapshot().totals;
    assert_eq!(totals.timeouts, 2);
}

/// Keyed instances: each has its own breaker, and the breaker's name is part of the cache key,
/// so one tenant is never served another's values.
#[derive(CircuitProtected)]
#[circuit_breaker(name = "fc-tenant", consecutive_failures = 1000)]
struct Tenant {
    #[circuit_breaker(key)]
    id: String,
    up: bool,
}

impl Tenant {
    #[circuit_breaker(fallback = cache)]
    fn quota(&self, resource: u32) -> Result<u32, Failed> {
        match self.up {
            true => Ok(resource * 10 + self.id.len() as u32),
            false => Err(Failed::Transport),
        }
    }
}

#[test]
fn keyed_instances_do_not_share_cached_values() {
    clock();
    let a = Tenant {
        id: "a".into(),
        up: true,
    };
    assert_eq!(a.quota(5), Ok(51));
    let a_down = Tenant {
        id: "a".into(),
        up: false,
    };
    assert_eq!(a_down.quota(5), Ok(51), "the same tenant: its own last good value");
    let b_down = Tenant {
        id: "bbb".into(),
        up: false,
    };
    assert_eq!(
        b_down.quota(5),
        Err(Failed::Transport),
        "another tenant: nothing kept for it"
    );
    let stats = cache_stats().into_iter().find(|s| s.name == "fc-tenant/*").unwrap();
    assert_eq!((stats.hits, stats.misses), (1, 1));
}

/// One cached default method, two implementors with breakers of their own.
trait Lookup: CircuitProtected {
    fn up(&self) -> bool;

    #[circuit_breaker(consecutive_failures = 1000, fallback = cache, cache(max_stale = "1h"))]
    fn lookup(&self, id: u32) -> Result<u32, Failed> {
        match self.up() {
            true => Ok(id * 10),
            false => Err(Failed::Transport),
        }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "fc-default-a")]
struct LookupA(bool);

#[derive(CircuitProtected)]
#[circuit_breaker(name = "fc-default-b")]
struct LookupB(bool);

impl Lookup for LookupA {
    fn up(&self) -> bool {
        self.0
    }
}

impl Lookup for LookupB {
    fn up(&self) -> bool {
        self.0
    }
}

#[test]
fn a_cached_default_method_counts_each_implementors_lookups_under_its_own_name() {
    clock();
    assert_eq!(
        LookupA(true).lookup(1),
        Ok(10),
        "A first: the site is made with A's breaker"
    );
    assert_eq!(LookupB(true).lookup(1), Ok(10));
    assert_eq!(LookupB(true).lookup(2), Ok(20));
    assert_eq!(LookupB(false).lookup(1), Ok(10), "B's own value, served");
    assert_eq!(LookupB(false).lookup(3), Err(Failed::Transport), "a miss");
    assert_eq!(
        LookupA(false).lookup(2),
        Err(Failed::Transport),
        "A never kept 2: B's value is B's"
    );
    let stats = |name: &str| {
        let s = cache_stats().into_iter().find(|s| s.name == name).unwrap();
        (s.hits, s.misses, s.stale, s.entries)
    };
    assert_eq!(stats("fc-default-a"), (0, 1, 0, 1));
    assert_eq!(stats("fc-default-b"), (1, 1, 0, 2));
}
