//! Attacks on keyed breakers at scale (issue 14): integer keys of every width and sign, keys
//! whose `Display` is not their decimal, two key types writing the same text, eviction while
//! other threads call the same keys, `remove` behind the call sites' caches, family totals
//! after evictions, and 200k keys in a family capped at 1,000.

use cb_runtime::metrics::{PerKey, register_registry_with};
use cb_runtime::{
    BreakerConfig, CircuitProtected, ManualClock, Registry, Rejected, State, circuit_breaker, init_registry, registry,
};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::time::Duration;
use support::counting::{Counting, live};
use support::polling::{poll_once, yield_once};

mod support;

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Debug)]
struct Failed;

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed
    }
}

/// `fn call(&self, ok: bool)` through the type's breaker: `Ok` when `ok`, else `Err(Failed)`.
macro_rules! succeeds_when_ok {
    ($($t:ident),* $(,)?) => {$(
        impl $t {
            #[circuit_breaker]
            fn call(&self, ok: bool) -> Result<(), Failed> {
                if ok { Ok(()) } else { Err(Failed) }
            }
        }
    )*};
}

fn clock() -> &'static ManualClock {
    static CLOCK: OnceLock<ManualClock> = OnceLock::new();
    CLOCK.get_or_init(|| {
        let clock = ManualClock::new();
        let _ = init_registry(Registry::with_clock(clock.clone()));
        clock
    })
}

/// Tests of the global registry share its manual clock: one at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE.lock().unwrap_or_else(|e| e.into_inner())
}

fn scrape() -> String {
    let mut prometheus = prometheus_client::registry::Registry::default();
    register_registry_with(&mut prometheus, registry(), PerKey::Off);
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
    text
}

/// The value of the first series starting with `prefix` (0 when there is none).
fn value(text: &str, prefix: &str) -> f64 {
    text.lines()
        .find(|l| l.starts_with(prefix))
        .and_then(|l| l.rsplit(' ').next())
        .map(|v| v.parse().unwrap())
        .unwrap_or(0.0)
}

/// Sweeps `family` (advancing the clock) until it has at most `live` keys or 5s have passed.
fn settle(clock: &ManualClock, family: &str, live: usize) -> cb_runtime::FamilyStats {
    for _ in 0..100 {
        clock.advance(Duration::from_secs(5));
        registry().evict_idle();
        let stats = registry().families().into_iter().find(|f| f.name == family).unwrap();
        if stats.live <= live {
            return stats;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    registry().families().into_iter().find(|f| f.name == family).unwrap()
}

// ---------------------------------------------------------------- integer keys of every width

macro_rules! int_key {
    ($ty:ident, $name:literal, $values:expr) => {{
        #[derive(CircuitProtected)]
        #[circuit_breaker(name = $name, consecutive_failures = 2, open_timeout = "1h")]
        struct K {
            #[circuit_breaker(key)]
            id: $ty,
        }
        impl K {
            #[circuit_breaker]
            fn call(&self, ok: bool) -> Result<(), Failed> {
                if ok { Ok(()) } else { Err(Failed) }
            }
        }
        for id in $values {
            let k = K { id };
            let expected = format!("{}/{}", $name, id);
            k.call(true).unwrap();
            assert_eq!(k.circuit_breaker_name(), expected);
            let looked = registry()
                .get(&expected)
                .unwrap_or_else(|| panic!("{expected} missing"));
            assert!(Arc::ptr_eq(&looked, &k.circuit_breaker()), "{expected}");
            // The call site's breaker is the registry's: two failures through the site trip the
            // registry's breaker of that name.
            let _ = k.call(false);
            let _ = k.call(false);
            assert_eq!(looked.state(), State::Open, "{expected}");
            assert!(
                k.call(true).is_err(),
                "{expected}: the site sees the registry's breaker"
            );
            assert_eq!(looked.snapshot().totals.successes, 1, "{expected}");
        }
    }};
}

#[test]
fn integer_keys_of_every_width_and_sign_at_their_extremes() {
    let _serial = serial();
    clock();
    int_key!(u8, "ks_u8", [0u8, 1, 9, 10, 99, 100, u8::MAX]);
    int_key!(u16, "ks_u16", [0u16, 7, 9999, 10000, u16::MAX]);
    int_key!(u32, "ks_u32", [0u32, 42, 99_999_999, 100_000_000, u32::MAX]);
    int_key!(
        u64,
        "ks_u64",
        [0u64, 1, 10u64.pow(18) - 1, 10u64.pow(18), 10u64.pow(19), u64::MAX]
    );
    int_key!(usize, "ks_usize", [0usize, 5, usize::MAX]);
    int_key!(
        u128,
        "ks_u128",
        [
            0u128,
            u64::MAX as u128,
            u64::MAX as u128 + 1,
            10u128.pow(19) - 1,
            10u128.pow(19),
            10u128.pow(19) + 1,
            10u128.pow(20) + 7,
            10u128.pow(38),
            10u128.pow(38) - 1,
            u128::MAX
        ]
    );
    int_key!(i8, "ks_i8", [0i8, -1, 1, -10, -100, i8::MIN, i8::MAX]);
    int_key!(i16, "ks_i16", [0i16, -9, -10, i16::MIN, i16::MAX]);
    int_key!(i32, "ks_i32", [0i32, -1, -99, -100, i32::MIN, i32::MAX]);
    int_key!(
        i64,
        "ks_i64",
        [0i64, -1, -(10i64.pow(18)), i64::MIN, i64::MIN + 1, i64::MAX]
    );
    int_key!(isize, "ks_isize", [0isize, -3, isize::MIN, isize::MAX]);
    int_key!(
        i128,
        "ks_i128",
        [
            0i128,
            -1,
            -(10i128.pow(19)),
            -(10i128.pow(19)) - 1,
            i64::MIN as i128 - 1,
            i128::MIN,
            i128::MIN + 1,
            i128::MAX
        ]
    );
}

#[test]
fn zero_and_minus_one_of_each_width_are_distinct_breakers() {
    let _serial = serial();
    clock();
    #[derive(CircuitProtected)]
    #[circuit_breaker(name = "ks_zero", consecutive_failures = 1, open_timeout = "1h")]
    struct Z(#[circuit_breaker(key)] i16);
    impl Z {
        #[circuit_breaker]
        fn call(&self, ok: bool) -> Result<(), Failed> {
            if ok { Ok(()) } else { Err(Failed) }
        }
    }
    let _ = Z(-1).call(false);
    assert_eq!(Z(-1).circuit_state(), State::Open);
    assert!(Z(0).call(true).is_ok(), "0 is not -1");
    assert!(Z(1).call(true).is_ok(), "1 is not -1");
    assert!(Z(-0).call(true).is_ok(), "-0 is 0");
    assert!(Z(-1).call(true).is_err());
}

// ---------------------------------------------------------------- Display keys

/// A u64 newtype whose Display is not its decimal.
#[derive(Clone, Copy)]
struct Hex(u64);

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_hex", consecutive_failures = 1, open_timeout = "1h")]
struct HexKeyed {
    #[circuit_breaker(key)]
    id: Hex,
}

succeeds_when_ok!(HexKeyed);

/// A Display that writes more than the key buffer's 64 bytes, and changes per value.
struct Long(u64);

impl fmt::Display for Long {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for _ in 0..10 {
            write!(f, "{:016x}", self.0)?;
        }
        Ok(())
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_long", consecutive_failures = 1, open_timeout = "1h")]
struct LongKeyed(#[circuit_breaker(key)] Long);

succeeds_when_ok!(LongKeyed);

#[test]
fn a_newtype_key_uses_its_display_not_its_decimal() {
    let _serial = serial();
    clock();
    let k = HexKeyed { id: Hex(255) };
    k.call(true).unwrap();
    assert_eq!(k.circuit_breaker_name(), "ks_hex/0xff");
    assert!(registry().get("ks_hex/0xff").is_some());
    assert!(registry().get("ks_hex/255").is_none());
    let _ = k.call(false);
    assert!(HexKeyed { id: Hex(255) }.call(true).is_err());
    assert!(HexKeyed { id: Hex(254) }.call(true).is_ok());
    // Long Display keys (past the 64-byte buffer) that share a prefix stay apart.
    let a = LongKeyed(Long(1));
    let b = LongKeyed(Long(2));
    let _ = a.call(false);
    assert_eq!(a.circuit_state(), State::Open);
    assert!(b.call(true).is_ok(), "a long key is not another long key");
    assert!(LongKeyed(Long(1)).call(true).is_err());
    assert_eq!(b.circuit_breaker_name(), format!("ks_long/{}", Long(2)));
}

#[test]
fn string_keys_that_look_hostile() {
    let _serial = serial();
    clock();
    #[derive(CircuitProtected)]
    #[circuit_breaker(name = "ks_str", consecutive_failures = 1, open_timeout = "1h")]
    struct S(#[circuit_breaker(key)] String);
    impl S {
        #[circuit_breaker]
        fn call(&self, ok: bool) -> Result<(), Failed> {
            if ok { Ok(()) } else { Err(Failed) }
        }
    }
    let keys = ["", "a/b", "*", "a?", "é", "x".repeat(70).leak(), "01", "1", "\0", " 1"];
    for key in keys {
        S(key.into()).call(true).unwrap();
        assert!(registry().get(&format!("ks_str/{key}")).is_some(), "{key:?}");
    }
    let _ = S("01".into()).call(false);
    assert!(S("1".into()).call(true).is_ok(), "\"01\" is not \"1\"");
    assert!(S("01".into()).call(true).is_err());
    let names: Vec<String> = registry().list("ks_str/*").iter().map(|s| s.name.to_string()).collect();
    assert_eq!(names.len(), keys.len(), "{names:?}");
}

// ---------------------------------------------------------------- same text, different types

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_same", consecutive_failures = 3, open_timeout = "1h")]
struct ByString {
    #[circuit_breaker(key)]
    id: String,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_same", consecutive_failures = 3, open_timeout = "1h")]
struct ByNumber {
    #[circuit_breaker(key)]
    id: u64,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_same", consecutive_failures = 3, open_timeout = "1h")]
struct BySigned(#[circuit_breaker(key)] i8);

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_other", consecutive_failures = 3, open_timeout = "1h")]
struct OtherFamily {
    #[circuit_breaker(key)]
    id: u64,
}

succeeds_when_ok!(ByString);

succeeds_when_ok!(ByNumber);

succeeds_when_ok!(BySigned);

succeeds_when_ok!(OtherFamily);

#[test]
fn the_same_text_in_one_family_is_one_breaker_whatever_the_key_type() {
    let _serial = serial();
    clock();
    let s = ByString { id: "7".into() };
    let n = ByNumber { id: 7 };
    let i = BySigned(7);
    // Each caches the breaker in this thread first.
    s.call(true).unwrap();
    n.call(true).unwrap();
    i.call(true).unwrap();
    assert!(Arc::ptr_eq(&s.circuit_breaker(), &n.circuit_breaker()));
    assert!(Arc::ptr_eq(&s.circuit_breaker(), &i.circuit_breaker()));
    // One failure each: one run of three on one breaker, seen by all three types' sites.
    let _ = s.call(false);
    let _ = n.call(false);
    assert_eq!(i.circuit_state(), State::Closed);
    let _ = i.call(false);
    assert_eq!(s.circuit_state(), State::Open);
    assert!(s.call(true).is_err());
    assert!(n.call(true).is_err());
    assert!(i.call(true).is_err());
    let totals = n.circuit_breaker().snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (3, 3));
    // Another family with the same key text is another breaker.
    let o = OtherFamily { id: 7 };
    assert!(o.call(true).is_ok());
    assert!(!Arc::ptr_eq(&o.circuit_breaker(), &n.circuit_breaker()));
    // Removing it is seen by every type's site in this thread and another.
    registry().remove("ks_same/7").unwrap();
    assert!(n.call(true).is_ok());
    assert!(Arc::ptr_eq(&s.circuit_breaker(), &n.circuit_breaker()));
    assert!(s.call(true).is_ok());
    assert!(i.call(true).is_ok());
    std::thread::spawn(|| {
        assert!(ByString { id: "7".into() }.call(true).is_ok());
        assert!(BySigned(7).call(true).is_ok());
    })
    .join()
    .unwrap();
    let totals = registry().get("ks_same/7").unwrap().snapshot().totals;
    assert_eq!((totals.successes, totals.failures), (5, 0), "one fresh breaker for all");
}

// ---------------------------------------------------------------- hostile type alias

mod shadow {
    #![allow(non_camel_case_types)]
    /// A type alias that is spelled like a primitive integer but is not one.
    pub type u64 = f64;
    /// Another, which the derive's `as u64` does not name.
    pub type u32 = f64;
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_alias", consecutive_failures = 1, open_timeout = "1h")]
struct Aliased {
    #[circuit_breaker(key)]
    id: shadow::u64,
}

mod bare_alias {
    #![allow(non_camel_case_types)]
    /// The bare ident `u32`, naming a float here.
    use super::shadow::u32;
    use super::{CircuitProtected, Failed, circuit_breaker};

    #[derive(CircuitProtected)]
    #[circuit_breaker(name = "ks_bare_alias", consecutive_failures = 1, open_timeout = "1h")]
    pub struct Price {
        #[circuit_breaker(key)]
        pub id: u32,
    }

    impl Price {
        #[circuit_breaker]
        pub fn call(&self, ok: bool) -> Result<(), Failed> {
            if ok { Ok(()) } else { Err(Failed) }
        }
    }
}

#[test]
fn a_bare_ident_alias_of_a_float_is_not_cast_to_an_integer() {
    let _serial = serial();
    clock();
    let a = bare_alias::Price { id: 1.5 };
    let b = bare_alias::Price { id: 1.7 };
    let _ = a.call(false);
    assert_eq!(a.circuit_state(), State::Open);
    assert!(b.call(true).is_ok(), "1.7 is another key than 1.5");
    assert!(
        registry().get("ks_bare_alias/1.5").is_some(),
        "{:?}",
        registry().names()
    );
}

#[test]
fn a_path_to_a_non_integer_type_is_formatted_with_display() {
    let _serial = serial();
    clock();
    // `shadow::u64` is not the ident `u64`: the derive must format it.
    let k = Aliased { id: 1.5 };
    assert_eq!(k.circuit_breaker_name(), "ks_alias/1.5");
}

// ---------------------------------------------------------------- eviction under concurrency

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "ks_conc",
    consecutive_failures = 1000,
    failure_rate_threshold = "off",
    slow_call_rate_threshold = "off",
    open_timeout = "1h",
    max_keys = 16,
    idle_ttl = "1s"
)]
struct Conc {
    #[circuit_breaker(key)]
    id: u64,
}

succeeds_when_ok!(Conc);

#[test]
fn eviction_while_threads_call_the_same_keys_loses_no_outcome_and_never_splits_a_key() {
    let _serial = serial();
    let clock = clock();
    const THREADS: u64 = 4;
    const ROUNDS: u64 = 20_000;
    const HOT: u64 = 8;
    let successes = AtomicU64::new(0);
    let failures = AtomicU64::new(0);
    let forced = AtomicBool::new(false);
    let rejected_after_force = AtomicU64::new(0);
    let passed_after_force = AtomicU64::new(0);
    let start = Barrier::new(THREADS as usize + 1);
    std::thread::scope(|s| {
        for t in 0..THREADS {
            let (successes, failures, forced, start) = (&successes, &failures, &forced, &start);
            let (rejected_after_force, passed_after_force) = (&rejected_after_force, &passed_after_force);
            s.spawn(move || {
                start.wait();
                for i in 0..ROUNDS {
                    // A hot key, shared by every thread.
                    let hot = Conc { id: i % HOT };
                    let was_forced = forced.load(Ordering::SeqCst);
                    let ok = i % 7 != 0;
                    match hot.call(ok) {
                        Ok(()) => {
                            successes.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Failed) if !ok => {
                            // Failure or rejection: tell them apart by the force flag below.
                            failures.fetch_add(1, Ordering::Relaxed);
                        }
                        Err(Failed) => {}
                    }
                    // Key 0 is forced open mid-run: after the flag, every thread must be rejected.
                    if was_forced && i % HOT == 0 && ok {
                        // A successful call here is a second breaker for key 0.
                        let r = Conc { id: 0 }.call(true);
                        if r.is_ok() {
                            passed_after_force.fetch_add(1, Ordering::Relaxed);
                        } else {
                            rejected_after_force.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    // A new key per round: the family is over its cap all the time.
                    Conc {
                        id: 1_000_000 + t * ROUNDS + i,
                    }
                    .call(true)
                    .unwrap();
                    if t == 0 && i % 500 == 0 {
                        clock.advance(Duration::from_secs(1));
                    }
                    if t == 1 && i == ROUNDS / 2 {
                        registry().force_open("ks_conc/0").unwrap();
                        forced.store(true, Ordering::SeqCst);
                    }
                }
            });
        }
        start.wait();
    });
    assert!(rejected_after_force.load(Ordering::Relaxed) > 0);
    assert_eq!(
        passed_after_force.load(Ordering::Relaxed),
        0,
        "a call after force_open of ks_conc/0 ran: a second breaker for the key"
    );
    let forced_breaker = registry().get("ks_conc/0").expect("a forced-open key is never evicted");
    assert_eq!(forced_breaker.state(), State::ForcedOpen);
    registry().reset("ks_conc/0").unwrap();
    drop(forced_breaker);
    // Every outcome is in the family's totals, evicted or live.
    let text = scrape();
    let success_series = "circuit_breaker_requests_total{name=\"ks_conc/*\",result=\"success\"}";
    let new_keys = THREADS * ROUNDS;
    // Successes: hot calls that succeeded plus every new key's call plus post-force probes that passed (0).
    let expected_successes = successes.load(Ordering::Relaxed) + new_keys;
    assert_eq!(
        value(&text, success_series) as u64,
        expected_successes,
        "{}",
        text.lines()
            .filter(|l| l.contains("ks_conc"))
            .collect::<Vec<_>>()
            .join("\n")
    );
    let failure_series = "circuit_breaker_requests_total{name=\"ks_conc/*\",result=\"failure\"}";
    // Failures counted by the breaker are those not rejected (the key 0 rejections are `rejected`).
    let rejected_series = "circuit_breaker_requests_total{name=\"ks_conc/*\",result=\"rejected\"}";
    let counted = value(&text, failure_series) as u64 + value(&text, rejected_series) as u64;
    assert!(
        counted >= failures.load(Ordering::Relaxed),
        "{counted} < {}",
        failures.load(Ordering::Relaxed)
    );
    let family = registry().families().into_iter().find(|f| f.name == "ks_conc").unwrap();
    assert!(family.evicted > 10_000, "{family:?}");
    // The threads are gone with their caches: a sweep brings the family back under its cap.
    clock.advance(Duration::from_secs(5));
    registry().evict_idle();
    clock.advance(Duration::from_secs(5));
    registry().evict_idle();
    let family = settle(clock, "ks_conc", 16);
    assert!(family.live <= 16, "{family:?}");
    let after = scrape();
    assert_eq!(
        value(&after, success_series) as u64,
        expected_successes,
        "counters never go down"
    );
}

// ---------------------------------------------------------------- tripped keys and eviction

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "ks_trip",
    consecutive_failures = 2,
    open_timeout = "1h",
    max_keys = 4,
    idle_ttl = "1s"
)]
struct Trip(#[circuit_breaker(key)] u32);

succeeds_when_ok!(Trip);

#[test]
fn a_tripped_key_survives_floods_on_other_threads_then_recovers_and_may_go() {
    let _serial = serial();
    let clock = clock();
    let _ = Trip(u32::MAX).call(false);
    let _ = Trip(u32::MAX).call(false);
    let tripped = Trip(u32::MAX).circuit_breaker();
    assert_eq!(tripped.state(), State::Open);
    drop(tripped);
    // Floods on other threads (this thread's cache keeps nothing of theirs).
    std::thread::scope(|s| {
        for t in 0..3u32 {
            s.spawn(move || {
                for i in 0..3_000u32 {
                    Trip(t * 10_000 + i).call(true).unwrap();
                }
            });
        }
    });
    for _ in 0..5 {
        clock.advance(Duration::from_secs(2));
        registry().evict_idle();
    }
    // The flood threads' caches go with their thread-local destructors, which may run just
    // after the scope has seen the threads finish.
    let family = settle(clock, "ks_trip", 4 + 1);
    assert!(family.live <= 4 + 1, "{family:?}");
    let tripped = registry()
        .get(&format!("ks_trip/{}", u32::MAX))
        .expect("the Open key stays");
    assert_eq!(tripped.snapshot().totals.failures, 2);
    drop(tripped);
    assert!(Trip(u32::MAX).call(true).is_err(), "still Open");
    clock.advance(Duration::from_secs(2 * 3600));
    // Half-open probes close it.
    for _ in 0..10 {
        let _ = Trip(u32::MAX).call(true);
        if Trip(u32::MAX).circuit_state() == State::Closed {
            break;
        }
    }
    assert_eq!(Trip(u32::MAX).circuit_state(), State::Closed);
    let b = Trip(u32::MAX).circuit_breaker().snapshot().totals;
    assert_eq!(b.failures, 2, "the same breaker, its history kept");
}

// ---------------------------------------------------------------- remove behind the cache

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_rm", consecutive_failures = 1, open_timeout = "1h")]
struct Rm(#[circuit_breaker(key)] i64);

succeeds_when_ok!(Rm);

#[test]
fn remove_while_threads_cache_the_key_hands_out_one_fresh_breaker() {
    let _serial = serial();
    clock();
    let go = Barrier::new(4);
    let removed = Barrier::new(4);
    let checked = Barrier::new(4);
    std::thread::scope(|s| {
        for _ in 0..3 {
            let (go, removed, checked) = (&go, &removed, &checked);
            s.spawn(move || {
                let _ = Rm(i64::MIN).call(false);
                assert_eq!(Rm(i64::MIN).circuit_state(), State::Open);
                assert!(Rm(i64::MIN).call(true).is_err(), "cached, Open");
                go.wait();
                removed.wait();
                // The cache holds the retired breaker: the call must go to a fresh one.
                assert!(Rm(i64::MIN).call(true).is_ok(), "a fresh breaker after remove");
                checked.wait();
            });
        }
        go.wait();
        let old = registry().get(&format!("ks_rm/{}", i64::MIN)).unwrap();
        registry().remove(&format!("ks_rm/{}", i64::MIN)).unwrap();
        removed.wait();
        checked.wait();
        let new = registry().get(&format!("ks_rm/{}", i64::MIN)).unwrap();
        assert!(!Arc::ptr_eq(&old, &new));
        assert_eq!(
            new.snapshot().totals.successes,
            3,
            "one fresh breaker, every thread on it"
        );
        assert_eq!(old.snapshot().totals.successes, 0, "nothing on the retired one");
    });
}

// ---------------------------------------------------------------- list and family totals

#[test]
fn list_and_families_after_evictions_on_a_local_registry() {
    let _serial = serial();
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(3)
        .max_keys(10)
        .idle_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    let scrape_local = || {
        let mut prometheus = prometheus_client::registry::Registry::default();
        register_registry_with(&mut prometheus, registry, PerKey::Off);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
        text
    };
    let series = |text: &str, result: &str| {
        value(
            text,
            &format!("circuit_breaker_requests_total{{name=\"fam/*\",result=\"{result}\"}}"),
        ) as u64
    };
    let mut last = (0, 0, 0);
    for round in 0..50u64 {
        for k in 0..7u64 {
            let b = registry.breaker(&format!("fam/{}", round * 7 + k), &config);
            let _ = b.call_sync(|| Ok::<_, ()>(()));
            let _ = b.call_sync(|| Err::<(), _>("x"));
        }
        // Trip one key per round; it is never evicted.
        if round % 10 == 0 {
            let b = registry.breaker(&format!("fam/trip{round}"), &config);
            for _ in 0..3 {
                let _ = b.call_sync(|| Err::<(), _>("x"));
            }
            assert_eq!(b.state(), State::Open);
        }
        clock.advance(Duration::from_millis(700));
        if round % 3 == 0 {
            registry.evict_idle();
        }
        let text = scrape_local();
        let now = (series(&text, "success"), series(&text, "failure"), 0);
        assert!(now.0 >= last.0 && now.1 >= last.1, "round {round}: {now:?} < {last:?}");
        assert_eq!(now.0, (round + 1) * 7, "round {round}");
        assert_eq!(now.1, (round + 1) * 7 + (round / 10 + 1) * 3, "round {round}");
        last = now;
        let listed = registry.list("fam/*");
        let family = registry.families().into_iter().find(|f| f.name == "fam").unwrap();
        assert_eq!(listed.len(), family.live, "round {round}");
        assert!(family.live <= 10 + 5, "{family:?}");
        for trip in (0..=round).step_by(10) {
            assert!(registry.get(&format!("fam/trip{trip}")).is_some(), "trip{trip} evicted");
        }
    }
}

// ---------------------------------------------------------------- 200k keys, cap 1,000

#[test]
fn two_hundred_thousand_keys_in_a_family_capped_at_a_thousand() {
    // The allocator's counts are global: no other test of this file runs meanwhile.
    let _serial = serial();
    let mut at_20k = 0;
    let clock = ManualClock::new();
    let registry = Registry::with_clock(clock.clone());
    let config = BreakerConfig::builder()
        .max_keys(1000)
        .idle_ttl(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut max_live = 0;
    for i in 0..200_000u64 {
        let b = registry.breaker(&format!("big/{i}"), &config);
        let _ = b.call_sync(|| Ok::<_, ()>(()));
        drop(b);
        if i % 100 == 0 {
            clock.advance(Duration::from_secs(1));
        }
        if i == 19_999 {
            at_20k = live();
        }
        if i % 1000 == 999 {
            let family = &registry.families()[0];
            max_live = max_live.max(family.live);
            assert!(family.live <= 1000, "after {i}: {family:?}");
        }
    }
    let grown = live() - at_20k;
    assert!(grown < 256 * 1024, "memory grew by {grown} bytes from 20k to 200k keys");
    let family = &registry.families()[0];
    assert_eq!(family.evicted as usize + family.live, 200_000, "{family:?}");
    assert!(max_live <= 1000);
    assert_eq!(registry.list("big/*").len(), family.live);
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_big", max_keys = 1000, idle_ttl = "60s")]
struct Big(#[circuit_breaker(key)] u128);

succeeds_when_ok!(Big);

#[test]
fn two_hundred_thousand_derive_keys_stay_under_the_cap_plus_the_thread_cache() {
    let _serial = serial();
    let clock = clock();
    for i in 0..200_000u128 {
        Big(10u128.pow(20) + i).call(true).unwrap();
        if i % 100 == 0 {
            clock.advance(Duration::from_millis(300));
        }
        if i % 5000 == 4999 {
            let family = registry().families().into_iter().find(|f| f.name == "ks_big").unwrap();
            // Other tests' threads never call ks_big: the cap plus this thread's cache.
            assert!(family.live <= 1000 + 128, "after {i}: {family:?}");
        }
    }
    let family = registry().families().into_iter().find(|f| f.name == "ks_big").unwrap();
    assert_eq!(family.evicted as usize + family.live, 200_000, "{family:?}");
}

// ---------------------------------------------------------------- remove during a call

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_inflight", consecutive_failures = 5, open_timeout = "1h")]
struct InFlight(#[circuit_breaker(key)] u16);

impl InFlight {
    #[circuit_breaker]
    async fn call(&self, ok: bool) -> Result<(), Failed> {
        yield_once().await;
        if ok { Ok(()) } else { Err(Failed) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_inflight2", consecutive_failures = 5, open_timeout = "1h")]
struct InFlight2(#[circuit_breaker(key)] u16);

impl InFlight2 {
    #[circuit_breaker]
    async fn call(&self, ok: bool) -> Result<(), Failed> {
        yield_once().await;
        if ok { Ok(()) } else { Err(Failed) }
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    let mut f = std::pin::pin!(f);
    loop {
        if let std::task::Poll::Ready(out) = poll_once(f.as_mut()) {
            return out;
        }
    }
}

#[test]
fn a_call_in_flight_across_remove_lands_on_the_old_breaker_and_the_next_on_a_fresh_one() {
    let _serial = serial();
    clock();
    let key = InFlight(u16::MAX);
    block_on(key.call(true)).unwrap();
    let old = key.circuit_breaker();
    let mut call = Box::pin(key.call(true));
    assert!(poll_once(call.as_mut()).is_pending());
    registry().remove("ks_inflight/65535").unwrap();
    assert!(poll_once(call.as_mut()).is_ready());
    drop(call); // the cache entry of the retired breaker goes back into this thread's cache
    assert_eq!(
        old.snapshot().totals.successes,
        2,
        "the in-flight outcome on its breaker"
    );
    assert!(block_on(key.call(false)).is_err());
    let new = key.circuit_breaker();
    assert!(!Arc::ptr_eq(&old, &new));
    let totals = new.snapshot().totals;
    assert_eq!(
        (totals.successes, totals.failures),
        (0, 1),
        "the next call on a fresh breaker"
    );
    assert_eq!(old.snapshot().totals.failures, 0);
    // Family totals never go down across the remove.
    let text = scrape();
    let ok = value(
        &text,
        "circuit_breaker_requests_total{name=\"ks_inflight/*\",result=\"success\"}",
    );
    assert!(ok >= 1.0, "{text}");
}

#[test]
fn an_outcome_completed_after_remove_is_in_the_family_totals() {
    let _serial = serial();
    clock();
    let key = InFlight2(7);
    block_on(key.call(true)).unwrap();
    let mut call = Box::pin(key.call(true));
    assert!(poll_once(call.as_mut()).is_pending());
    registry().remove("ks_inflight2/7").unwrap();
    assert!(poll_once(call.as_mut()).is_ready());
    drop(call);
    let text = scrape();
    let ok = value(
        &text,
        "circuit_breaker_requests_total{name=\"ks_inflight2/*\",result=\"success\"}",
    );
    assert_eq!(ok, 2.0, "two successes were made on ks_inflight2/7");
}

// ---------------------------------------------------------------- totals that must not go down

/// The sum of every `metric{name="family/*",...}` series.
fn family_sum(text: &str, metric: &str, family: &str) -> f64 {
    let prefix = format!("{metric}{{name=\"{family}/*\"");
    text.lines()
        .filter(|l| l.starts_with(&prefix))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[test]
fn transitions_and_requests_of_a_family_never_go_down_through_trip_recover_reset_and_eviction() {
    let _serial = serial();
    let clock = ManualClock::new();
    let registry: &'static Registry = Box::leak(Box::new(Registry::with_clock(clock.clone())));
    let config = BreakerConfig::builder()
        .consecutive_failures(1)
        .open_timeout(Duration::from_secs(10))
        .max_keys(2)
        .idle_ttl(Duration::from_secs(1))
        .build()
        .unwrap();
    let scrape_local = || {
        let mut prometheus = prometheus_client::registry::Registry::default();
        register_registry_with(&mut prometheus, registry, PerKey::Off);
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &prometheus).unwrap();
        text
    };
    let mut last = (0.0, 0.0);
    let mut check = |when: &str| {
        let text = scrape_local();
        let now = (
            family_sum(&text, "circuit_breaker_transitions_total", "tr"),
            family_sum(&text, "circuit_breaker_requests_total", "tr"),
        );
        assert!(
            now.0 >= last.0 && now.1 >= last.1,
            "{when}: {now:?} < {last:?}\n{}",
            text.lines()
                .filter(|l| l.contains("tr/*"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        last = now;
        now
    };
    for round in 0..5u64 {
        let b = registry.breaker(&format!("tr/{round}"), &config);
        let _ = b.call_sync(|| Err::<(), _>("x"));
        assert_eq!(b.state(), State::Open);
        check("tripped");
        clock.advance(Duration::from_secs(11));
        for _ in 0..50 {
            let _ = b.call_sync(|| Ok::<_, ()>(()));
            if b.state() == State::Closed {
                break;
            }
        }
        assert_eq!(b.state(), State::Closed);
        check("recovered");
        // A manual reset of a keyed breaker must not take its counts out of the family.
        registry.reset(&format!("tr/{round}")).unwrap();
        check("reset");
        drop(b);
        for _ in 0..3 {
            clock.advance(Duration::from_secs(2));
            registry.evict_idle();
        }
        assert!(registry.get(&format!("tr/{round}")).is_none());
        let now = check("evicted");
        // Closed->Open, Open->HalfOpen, HalfOpen->Closed per round (at least).
        assert!(now.0 >= 3.0 * (round + 1) as f64, "round {round}: {now:?}");
        assert!(now.1 >= 2.0 * (round + 1) as f64, "round {round}: {now:?}");
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_caps", max_keys = 4, idle_ttl = "1h")]
struct SmallCap(#[circuit_breaker(key)] u32);

#[derive(CircuitProtected)]
#[circuit_breaker(name = "ks_caps", max_keys = 1000, idle_ttl = "1h")]
struct BigCap(#[circuit_breaker(key)] String);

succeeds_when_ok!(SmallCap);

succeeds_when_ok!(BigCap);

#[test]
fn two_types_of_one_family_with_different_caps_keep_one_cap_and_say_so() {
    let _serial = serial();
    clock();
    let mut events = registry().subscribe();
    SmallCap(1).call(true).unwrap();
    for i in 0..300 {
        BigCap(format!("b{i}")).call(true).unwrap();
    }
    let family = registry().families().into_iter().find(|f| f.name == "ks_caps").unwrap();
    // One cap applies (the first type's), and the family respects it (plus this thread's cache).
    assert!(family.live <= family.max_keys as usize + 128, "{family:?}");
    let mut conflicts = 0;
    while let Some(event) = events.try_recv() {
        if let cb_runtime::Event::ConfigConflict { name, kept, ignored } = event
            && name.as_str() == "ks_caps/*"
        {
            assert!(
                kept.contains("max_keys = 4") && ignored.contains("max_keys = 1000"),
                "{kept} / {ignored}"
            );
            conflicts += 1;
        }
    }
    assert_eq!(conflicts, 1, "the other type's limits are reported once");
}

#[derive(CircuitProtected)]
#[circuit_breaker(
    name = "ks_storm",
    consecutive_failures = 1000,
    failure_rate_threshold = "off",
    max_keys = 8,
    idle_ttl = "1s"
)]
struct Storm(#[circuit_breaker(key)] i32);

succeeds_when_ok!(Storm);

#[test]
fn remove_storms_while_threads_call_and_cycle_keys_end_on_one_breaker_per_key() {
    let _serial = serial();
    let clock = clock();
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        for t in 0..3 {
            let stop = &stop;
            s.spawn(move || {
                let mut i = 0;
                while !stop.load(Ordering::Relaxed) {
                    Storm(-1).call(true).unwrap();
                    Storm(t * 1_000_000 + i).call(true).unwrap();
                    i += 1;
                }
            });
        }
        for n in 0..2_000 {
            let _ = registry().remove("ks_storm/-1");
            if n % 100 == 0 {
                clock.advance(Duration::from_secs(1));
            }
        }
        stop.store(true, Ordering::Relaxed);
    });
    // Every thread (and this one) now calls the one breaker the registry holds.
    Storm(-1).call(true).unwrap();
    let current = registry().get("ks_storm/-1").unwrap();
    assert!(Arc::ptr_eq(&current, &Storm(-1).circuit_breaker()));
    let before = current.snapshot().totals.successes;
    std::thread::scope(|s| {
        for _ in 0..3 {
            s.spawn(|| Storm(-1).call(true).unwrap());
        }
    });
    assert_eq!(current.snapshot().totals.successes, before + 3);
}
