//! Hostile uses of the declarative fallbacks (issue 17): odd argument shapes as cache keys,
//! a cache on a non-`Result` function, chains whose every stage fails, a panicking stage, a
//! value reading an argument, `last_served` after a nested call, a generic cached function.

use cb_runtime::fallback::{FallbackKind, cache_stats, last_served};
use cb_runtime::{CallError, Rejected, circuit_breaker, registry};
use std::sync::atomic::{AtomicBool, Ordering};

#[derive(Debug, PartialEq, Clone)]
enum Failed {
    Down,
    Breaker,
}

impl From<Rejected> for Failed {
    fn from(_: Rejected) -> Self {
        Failed::Breaker
    }
}

static BYTES_UP: AtomicBool = AtomicBool::new(true);

#[circuit_breaker(name = "af-bytes", consecutive_failures = 1000, fallback = cache)]
fn bytes(body: &[u8], tag: Option<String>) -> Result<usize, Failed> {
    match BYTES_UP.load(Ordering::SeqCst) {
        true => Ok(body.len() + tag.map_or(0, |t| t.len())),
        false => Err(Failed::Down),
    }
}

#[test]
fn a_slice_and_an_option_key_the_cache() {
    assert_eq!(bytes(b"abc", Some("x".into())), Ok(4));
    BYTES_UP.store(false, Ordering::SeqCst);
    assert_eq!(bytes(b"abc", Some("x".into())), Ok(4));
    assert_eq!(last_served().map(|s| s.kind), Some(FallbackKind::Cache));
    assert_eq!(bytes(b"abc", None), Err(Failed::Down), "another key");
}

static BUMP_UP: AtomicBool = AtomicBool::new(true);

#[circuit_breaker(name = "af-mut", consecutive_failures = 1000, fallback = cache)]
fn bump(counter: &mut u32) -> Result<u32, Failed> {
    *counter += 1;
    match BUMP_UP.load(Ordering::SeqCst) {
        true => Ok(*counter),
        false => Err(Failed::Down),
    }
}

#[test]
fn a_mut_argument_is_keyed_by_its_value_before_the_call() {
    let mut c = 1;
    assert_eq!(bump(&mut c), Ok(2));
    BUMP_UP.store(false, Ordering::SeqCst);
    let mut c = 1;
    assert_eq!(bump(&mut c), Ok(2), "served for the key 1");
    assert_eq!(c, 2, "the body ran on the argument");
}

/// A non-`Result` function: the whole value is kept, and a miss on a rejection is `None`.
#[circuit_breaker(name = "af-option", consecutive_failures = 1, fallback = cache)]
fn maybe(id: u32) -> Option<u32> {
    Some(id)
}

#[test]
fn an_option_returning_function_is_served_from_the_cache() {
    assert_eq!(maybe(1), Some(1));
    registry().get("af-option").unwrap().force_open();
    assert_eq!(maybe(1), Some(1));
    assert_eq!(last_served().map(|s| s.kind), Some(FallbackKind::Cache));
    assert_eq!(maybe(2), None, "a miss on a rejected non-Result function");
}

fn fails(_id: u32, _cause: CallError<Failed>) -> Result<u32, Failed> {
    Err(Failed::Down)
}

#[circuit_breaker(name = "af-allfail", consecutive_failures = 1000, fallback = [cache, fails])]
fn all_fail(id: u32) -> Result<u32, Failed> {
    let _ = id;
    Err(Failed::Down)
}

#[test]
fn when_every_stage_fails_the_last_stage_error_answers() {
    assert_eq!(all_fail(1), Err(Failed::Down));
    let served = last_served().expect("the function stage answered");
    assert_eq!((served.kind, served.stage), (FallbackKind::Function, 1));
}

fn boom(_id: u32, _cause: CallError<Failed>) -> Result<u32, Failed> {
    panic!("stage panics")
}

#[circuit_breaker(name = "af-panic", consecutive_failures = 1000, fallback = [boom, default])]
fn panicky(id: u32) -> Result<u32, Failed> {
    let _ = id;
    Err(Failed::Down)
}

#[test]
fn a_panicking_stage_panics_the_caller_after_the_failure_is_counted() {
    assert!(std::panic::catch_unwind(|| panicky(1)).is_err());
    let totals = registry().get("af-panic").unwrap().snapshot().totals;
    assert_eq!((totals.failures, totals.fallbacks), (1, 1));
}

#[circuit_breaker(name = "af-value-arg", consecutive_failures = 1, fallback_value = Ok(id * 2))]
fn value_arg(id: u32) -> Result<u32, Failed> {
    let _ = id;
    Err(Failed::Down)
}

#[test]
fn a_value_reads_a_copy_argument() {
    assert_eq!(value_arg(4), Ok(8));
}

#[circuit_breaker(name = "af-nested-inner", consecutive_failures = 1, fallback = default)]
fn inner(id: u32) -> Result<u32, Failed> {
    let _ = id;
    Err(Failed::Down)
}

#[circuit_breaker(name = "af-nested-outer", consecutive_failures = 1000)]
fn outer(id: u32) -> Result<u32, Failed> {
    inner(id)?;
    Ok(7)
}

/// As documented: only functions with a fallback write `last_served`.
#[test]
fn a_function_without_fallback_leaves_the_inner_calls_answer() {
    assert_eq!(outer(1), Ok(7));
    assert_eq!(last_served().map(|s| s.kind), Some(FallbackKind::Empty));
}

/// A generic function: one cache per instantiation, summed under the breaker's name.
#[circuit_breaker(name = "af-generic", consecutive_failures = 1000, fallback = cache)]
fn generic<T: core::hash::Hash + Eq + Clone + Send + Sync + 'static + core::fmt::Debug>(
    v: T,
) -> Result<String, Failed> {
    Ok(format!("{v:?}"))
}

#[test]
fn a_generic_function_caches_per_instantiation() {
    assert_eq!(generic(1u32), Ok("1".into()));
    assert_eq!(generic("a".to_string()), Ok("\"a\"".into()));
    let stats = cache_stats().into_iter().find(|s| s.name == "af-generic").unwrap();
    assert_eq!(stats.entries, 2);
}
