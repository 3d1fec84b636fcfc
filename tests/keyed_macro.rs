//! Keyed breakers through `#[derive(CircuitProtected)]`: limits from the derive, eviction
//! behind the call sites' caches, and `remove` seen by a call site.

use cb_runtime::{CircuitProtected, ManualClock, Registry, Rejected, State, circuit_breaker, init_registry, registry};
use std::sync::OnceLock;
use std::time::Duration;

#[derive(Debug)]
struct SendError;

impl From<Rejected> for SendError {
    fn from(_: Rejected) -> Self {
        SendError
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "tenant",
    consecutive_failures = 2,
    open_timeout = "1h",
    max_keys = 4,
    idle_ttl = "1s"
)]
struct Tenant {
    #[circuit_breaker(key)]
    id: String,
}

impl Tenant {
    #[circuit_breaker]
    fn send(&self, ok: bool) -> Result<(), SendError> {
        if ok { Ok(()) } else { Err(SendError) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "nested", consecutive_failures = 4, open_timeout = "1h")]
struct Nested {
    #[circuit_breaker(key)]
    id: String,
}

impl Nested {
    #[circuit_breaker]
    fn outer(&self, ok: bool) -> Result<(), SendError> {
        self.inner(ok)
    }

    #[circuit_breaker]
    fn inner(&self, ok: bool) -> Result<(), SendError> {
        if ok { Ok(()) } else { Err(SendError) }
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

#[test]
fn keyed_calls_evict_behind_the_cache_but_never_a_tripped_key() {
    let clock = clock();
    let bad = Tenant { id: "bad".into() };
    let _ = bad.send(false);
    let _ = bad.send(false);
    assert_eq!(bad.circuit_state(), State::Open);
    // More distinct keys than a thread's cache holds (128): the older ones become evictable.
    for i in 0..1000 {
        clock.advance(Duration::from_secs(2));
        Tenant { id: format!("t{i}") }.send(true).unwrap();
    }
    let family = registry().families().into_iter().find(|f| f.name == "tenant").unwrap();
    assert_eq!(family.max_keys, 4);
    assert!(family.evicted > 500, "{family:?}");
    assert!(family.live <= 4 + 128 + 1, "{family:?}");
    assert_eq!(bad.circuit_state(), State::Open, "a tripped key survives eviction");
    assert!(bad.send(true).is_err(), "and still rejects");

    registry().remove("tenant/bad").unwrap();
    assert!(
        bad.send(true).is_ok(),
        "the call site sees the removal: a fresh breaker"
    );
    assert_eq!(bad.circuit_state(), State::Closed);
}

#[test]
fn a_key_called_again_inside_its_own_call_counts_on_the_same_breaker() {
    clock();
    let nested = Nested { id: "n1".into() };
    // The outer call holds this thread's cache entry of the key while the inner one runs: the
    // inner call finds the same breaker through the registry.
    for _ in 0..3 {
        nested.outer(true).unwrap();
    }
    let totals = nested.circuit_breaker().snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (6, 0));
    let _ = nested.outer(false);
    assert_eq!(nested.circuit_state(), State::Closed, "two failures in a row of four");
    let _ = nested.outer(false);
    assert_eq!(
        nested.circuit_state(),
        State::Open,
        "inner and outer failures are one run"
    );
    assert!(nested.outer(true).is_err());
    std::thread::spawn(|| {
        let other = Nested { id: "n1".into() };
        assert!(
            other.inner(true).is_err(),
            "another thread's first call finds the open breaker"
        );
    })
    .join()
    .unwrap();
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "shard")]
struct Shard {
    #[circuit_breaker(key)]
    id: i64,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "slot")]
struct Slot(#[circuit_breaker(key)] u128);

#[derive(CircuitProtected)]
#[circuit_breaker(name = "port")]
struct Port {
    #[circuit_breaker(key)]
    number: u16,
}

impl Shard {
    #[circuit_breaker]
    fn get(&self) -> Result<(), SendError> {
        Ok(())
    }
}

impl Slot {
    #[circuit_breaker]
    fn get(&self) -> Result<(), SendError> {
        Ok(())
    }
}

impl Port {
    #[circuit_breaker]
    fn get(&self) -> Result<(), SendError> {
        Ok(())
    }
}

#[test]
fn integer_keys_name_their_breakers_as_display_writes_them() {
    clock();
    for id in [0, 7, -1, -42, i64::MIN, i64::MAX] {
        Shard { id }.get().unwrap();
        assert!(registry().get(&format!("shard/{id}")).is_some(), "shard/{id}");
    }
    for n in [0, 10u128.pow(19), u128::MAX] {
        Slot(n).get().unwrap();
        assert!(registry().get(&format!("slot/{n}")).is_some(), "slot/{n}");
    }
    Port { number: 8080 }.get().unwrap();
    assert!(registry().get("port/8080").is_some());
    assert_eq!(Shard { id: -1 }.circuit_breaker_name(), "shard/-1");
}
