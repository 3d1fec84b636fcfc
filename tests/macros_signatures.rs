//! Signatures as real services write them (issue 11): the breaker must protect each one for
//! real, never look present and protect nothing.
//! - a `Result` under any name is a `Result`: its errors trip the breaker and reach the fallback;
//! - `Option`: `None` is an answer (a success); a rejection without a fallback is `None`;
//! - a trait default method, a blanket impl and a generic impl use the breaker of the type
//!   they run for;
//! - an associated function of a `CircuitProtected` type uses the type's breaker.

use cb_runtime::{CallError, CircuitProtected, Rejected, State, circuit_breaker, registry};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

#[derive(Debug, Clone, PartialEq)]
enum ApiError {
    Down,
    NotFound,
    Breaker,
}

impl From<Rejected> for ApiError {
    fn from(_: Rejected) -> Self {
        ApiError::Breaker
    }
}

impl From<std::io::Error> for ApiError {
    fn from(_: std::io::Error) -> Self {
        ApiError::Down
    }
}

fn state(name: &str) -> State {
    registry().get(name).expect("the breaker exists after a call").state()
}

// ===== a Result under any name =====

type Fallible<T> = Result<T, ApiError>;

mod api {
    /// A module-level alias named like `io::Result`.
    pub type Result<T> = core::result::Result<T, super::ApiError>;
}

static FALLBACKS: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "sig-alias", consecutive_failures = 2, fallback = cached_price)]
fn price(up: bool) -> Fallible<u32> {
    if up { Ok(10) } else { Err(ApiError::Down) }
}

fn cached_price(_up: bool, cause: CallError<ApiError>) -> Fallible<u32> {
    FALLBACKS.fetch_add(1, Ordering::Relaxed);
    assert!(matches!(
        cause,
        CallError::Inner(ApiError::Down) | CallError::Rejected(_)
    ));
    Ok(1)
}

#[test]
fn an_aliased_result_trips_and_its_errors_reach_the_fallback() {
    assert_eq!(price(true), Ok(10));
    assert_eq!(price(false), Ok(1), "the fallback serves the aliased Err");
    assert_eq!(price(false), Ok(1));
    assert_eq!(FALLBACKS.load(Ordering::Relaxed), 2);
    assert_eq!(state("sig-alias"), State::Open, "two Errs of an alias are two failures");
    assert_eq!(price(true), Ok(1), "open: rejected, served by the fallback");
}

fn not_found(e: &ApiError) -> bool {
    *e == ApiError::NotFound
}

#[circuit_breaker(name = "sig-module-alias", consecutive_failures = 2, ignore_if = not_found, fallback = none_found)]
fn lookup(error: ApiError) -> api::Result<u32> {
    Err(error)
}

fn none_found(_error: ApiError) -> api::Result<u32> {
    Ok(0)
}

#[test]
fn a_module_alias_named_result_is_classified_with_ignore_if() {
    for _ in 0..5 {
        assert_eq!(
            lookup(ApiError::NotFound),
            Err(ApiError::NotFound),
            "ignored: no fallback"
        );
    }
    assert_eq!(state("sig-module-alias"), State::Closed);
    assert_eq!(lookup(ApiError::Down), Ok(0));
    assert_eq!(lookup(ApiError::Down), Ok(0));
    assert_eq!(state("sig-module-alias"), State::Open);
}

#[circuit_breaker(name = "sig-io-result", consecutive_failures = 2, fallback = io_default)]
fn read_config(up: bool) -> std::io::Result<String> {
    if up {
        Ok("live".into())
    } else {
        Err(std::io::Error::other("disk"))
    }
}

fn io_default(_up: bool) -> std::io::Result<String> {
    Ok("default".into())
}

#[test]
fn io_result_errors_are_failures() {
    assert_eq!(read_config(false).unwrap(), "default");
    assert_eq!(read_config(false).unwrap(), "default");
    assert_eq!(state("sig-io-result"), State::Open);
}

#[circuit_breaker(name = "sig-anyhow", consecutive_failures = 2, fallback = anyhow_default)]
async fn fetch_anyhow(up: bool) -> anyhow::Result<u8> {
    if up { Ok(1) } else { anyhow::bail!("upstream down") }
}

async fn anyhow_default(_up: bool, cause: CallError<anyhow::Error>) -> anyhow::Result<u8> {
    match cause {
        CallError::Inner(e) => {
            assert_eq!(e.to_string(), "upstream down");
            Ok(0)
        }
        _ => Ok(9),
    }
}

#[tokio::test]
async fn anyhow_result_errors_are_failures_and_reach_the_fallback() {
    assert_eq!(fetch_anyhow(false).await.unwrap(), 0);
    assert_eq!(fetch_anyhow(false).await.unwrap(), 0);
    assert_eq!(state("sig-anyhow"), State::Open);
    assert_eq!(fetch_anyhow(true).await.unwrap(), 9, "rejected");
}

// ===== Option =====

#[circuit_breaker(name = "sig-option", consecutive_failures = 2)]
fn find_user(id: u32) -> Option<String> {
    (id == 1).then(|| "ada".to_owned())
}

#[test]
fn none_is_an_answer_and_a_rejection_without_fallback_is_none() {
    for _ in 0..10 {
        assert_eq!(find_user(2), None);
    }
    assert_eq!(state("sig-option"), State::Closed, "None counts as a success");
    assert_eq!(find_user(1).as_deref(), Some("ada"));
    registry().force_open("sig-option").unwrap();
    assert_eq!(find_user(1), None, "rejected: None");
    registry().reset("sig-option").unwrap();
}

// ===== the breaker of the type the code runs for =====

/// A trait whose default method is protected without a `name`.
trait Ping: CircuitProtected {
    fn healthy(&self) -> bool;

    #[circuit_breaker]
    fn ping(&self) -> Result<(), ApiError> {
        if self.healthy() { Ok(()) } else { Err(ApiError::Down) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-default-a", consecutive_failures = 2)]
struct PingA {
    up: AtomicBool,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-default-b", consecutive_failures = 2)]
struct PingB;

impl Ping for PingA {
    fn healthy(&self) -> bool {
        self.up.load(Ordering::Relaxed)
    }
}

impl Ping for PingB {
    fn healthy(&self) -> bool {
        true
    }
}

#[test]
fn a_trait_default_method_uses_the_breaker_of_each_implementor() {
    let a = PingA {
        up: AtomicBool::new(false),
    };
    let b = PingB;
    assert_eq!(
        b.ping(),
        Ok(()),
        "B's call runs first, so the site's first breaker is B's"
    );
    assert_eq!(a.ping(), Err(ApiError::Down));
    assert_eq!(a.ping(), Err(ApiError::Down));
    assert_eq!(a.circuit_state(), State::Open);
    assert_eq!(a.ping(), Err(ApiError::Breaker));
    for _ in 0..5 {
        assert_eq!(b.ping(), Ok(()), "A tripping must not reject B");
    }
    assert_eq!(b.circuit_state(), State::Closed);
    assert_eq!(state("sig-default-a"), State::Open);
}

/// Two types declaring the same name and settings, through one default method.
trait Fetch: CircuitProtected {
    #[circuit_breaker]
    fn fetch(&self, ok: bool) -> Result<(), ApiError> {
        if ok { Ok(()) } else { Err(ApiError::Down) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-same-defaults", consecutive_failures = 2)]
struct FetchA;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-same-defaults", consecutive_failures = 2)]
struct FetchB;

impl Fetch for FetchA {}
impl Fetch for FetchB {}

#[test]
fn two_types_with_the_same_name_and_settings_share_one_breaker_through_a_default_method() {
    let mut events = registry().subscribe();
    assert_eq!(FetchA.fetch(true), Ok(()), "A's call runs first: the site's first type");
    assert_eq!(FetchB.fetch(false), Err(ApiError::Down));
    assert_eq!(FetchA.fetch(false), Err(ApiError::Down));
    assert_eq!(
        state("sig-same-defaults"),
        State::Open,
        "two failures in a row, one breaker"
    );
    assert_eq!(FetchB.fetch(true), Err(ApiError::Breaker));
    assert_eq!(FetchA.fetch(true), Err(ApiError::Breaker));
    let conflicts = std::iter::from_fn(|| events.try_recv())
        .filter(|e| matches!(e, cb_runtime::Event::ConfigConflict { name, .. } if name == "sig-same-defaults"))
        .count();
    assert_eq!(conflicts, 0, "the same settings are no conflict");
}

/// Keyed types through one default method: key "7" of one type is not key "7" of another.
trait Send7: CircuitProtected {
    #[circuit_breaker]
    fn send(&self, ok: bool) -> Result<(), ApiError> {
        if ok { Ok(()) } else { Err(ApiError::Down) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-keyed-a", consecutive_failures = 1)]
struct KeyedA {
    #[circuit_breaker(key)]
    id: u32,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-keyed-b", consecutive_failures = 1)]
struct KeyedB {
    #[circuit_breaker(key)]
    id: u32,
}

impl Send7 for KeyedA {}
impl Send7 for KeyedB {}

#[test]
fn keyed_types_sharing_a_default_method_keep_their_own_breakers() {
    let a = KeyedA { id: 7 };
    let b = KeyedB { id: 7 };
    assert_eq!(a.send(false), Err(ApiError::Down));
    assert_eq!(a.send(true), Err(ApiError::Breaker));
    assert_eq!(b.send(true), Ok(()), "sig-keyed-b/7 is not sig-keyed-a/7");
    assert_eq!(state("sig-keyed-a/7"), State::Open);
    assert_eq!(state("sig-keyed-b/7"), State::Closed);
}

/// A blanket impl over every `CircuitProtected` backend.
trait Backend {
    fn up(&self) -> bool;
}

trait Call {
    fn call(&self) -> Result<u8, ApiError>;
}

impl<T: Backend + CircuitProtected> Call for T {
    #[circuit_breaker]
    fn call(&self) -> Result<u8, ApiError> {
        if self.up() { Ok(1) } else { Err(ApiError::Down) }
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-blanket-down", consecutive_failures = 2)]
struct DownBackend;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-blanket-up", consecutive_failures = 2)]
struct UpBackend;

impl Backend for DownBackend {
    fn up(&self) -> bool {
        false
    }
}

impl Backend for UpBackend {
    fn up(&self) -> bool {
        true
    }
}

#[test]
fn a_blanket_impl_uses_the_breaker_of_each_type() {
    assert_eq!(DownBackend.call(), Err(ApiError::Down));
    assert_eq!(DownBackend.call(), Err(ApiError::Down));
    assert_eq!(DownBackend.call(), Err(ApiError::Breaker));
    assert_eq!(UpBackend.call(), Ok(1));
    assert_eq!(UpBackend.circuit_state(), State::Closed);
    assert_eq!(DownBackend.circuit_state(), State::Open);
}

/// A generic struct: one struct-level name for every `T`, whatever `T` is.
#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-generic-store", consecutive_failures = 2)]
struct Store<T> {
    items: Vec<T>,
}

impl<T: Clone> Store<T> {
    #[circuit_breaker]
    fn first(&self) -> Result<T, ApiError> {
        self.items.first().cloned().ok_or(ApiError::Down)
    }

    /// An associated function (no receiver): the type's breaker, without a `name`.
    #[circuit_breaker]
    fn open(ok: bool) -> Result<Self, ApiError> {
        if ok {
            Ok(Store { items: vec![] })
        } else {
            Err(ApiError::Down)
        }
    }
}

#[test]
fn a_generic_impl_shares_its_types_breaker_across_type_arguments() {
    assert!(Store::<u8>::open(true).is_ok());
    let numbers = Store { items: vec![1u8] };
    let words: Store<String> = Store { items: vec![] };
    assert_eq!(numbers.first(), Ok(1));
    assert_eq!(words.first(), Err(ApiError::Down));
    assert_eq!(words.first(), Err(ApiError::Down));
    assert_eq!(
        numbers.first(),
        Err(ApiError::Breaker),
        "same struct-level name, same breaker"
    );
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "sig-assoc", consecutive_failures = 2)]
struct Connection;

impl Connection {
    #[circuit_breaker]
    fn connect(ok: bool) -> Result<Self, ApiError> {
        if ok { Ok(Connection) } else { Err(ApiError::Down) }
    }

    /// No receiver and no `Self` in the signature: `name = Self` asks for the type's breaker
    /// (without it, the macro cannot tell this from a free function).
    #[circuit_breaker(name = Self)]
    fn ping(ok: bool) -> Result<(), ApiError> {
        if ok { Ok(()) } else { Err(ApiError::Down) }
    }
}

#[test]
fn an_associated_function_uses_the_types_breaker() {
    assert!(Connection::connect(true).is_ok());
    assert!(Connection::connect(false).is_err());
    assert!(Connection::connect(false).is_err());
    assert_eq!(state("sig-assoc"), State::Open);
    assert_eq!(Connection::connect(true).err(), Some(ApiError::Breaker));
    assert_eq!(
        Connection::ping(true),
        Err(ApiError::Breaker),
        "`name = Self`: the same breaker"
    );
}

// ===== "off" =====

#[circuit_breaker(name = "sig-off", consecutive_failures = "off", failure_rate_threshold = "off")]
fn flaky() -> Result<(), ApiError> {
    Err(ApiError::Down)
}

#[circuit_breaker(name = "sig-on", consecutive_failures = 3, failure_rate_threshold = "off")]
fn flaky_on() -> Result<(), ApiError> {
    Err(ApiError::Down)
}

#[test]
fn off_turns_a_trigger_off_in_the_macro() {
    for _ in 0..50 {
        assert_eq!(flaky(), Err(ApiError::Down));
    }
    assert_eq!(state("sig-off"), State::Closed, "no trigger left on");
    let config = registry().get("sig-off").unwrap().config();
    assert_eq!(config.consecutive_failures, None);
    assert_eq!(config.failure_rate_threshold, None);
    for _ in 0..3 {
        let _ = flaky_on();
    }
    assert_eq!(state("sig-on"), State::Open, "the trigger left on still trips");
}

// ===== stacking =====

#[circuit_breaker(name = "sig-stack-first")]
#[circuit_breaker(name = "sig-stack-second")]
fn stacked() -> Result<(), ApiError> {
    Ok(())
}

#[test]
fn two_stacked_breakers_are_asked_nearest_the_function_first() {
    assert_eq!(stacked(), Ok(()));
    registry().force_open("sig-stack-first").unwrap();
    assert_eq!(stacked(), Err(ApiError::Breaker));
    let first = registry().snapshot("sig-stack-first").unwrap().totals;
    let second = registry().snapshot("sig-stack-second").unwrap().totals;
    assert_eq!(first.rejected, 1);
    assert_eq!(
        (second.successes, second.failures),
        (1, 1),
        "the first-listed breaker runs inside the second: its rejection is the second's failure"
    );
    registry().reset("sig-stack-first").unwrap();
    registry().force_open("sig-stack-second").unwrap();
    assert_eq!(stacked(), Err(ApiError::Breaker));
    let first = registry().snapshot("sig-stack-first").unwrap().totals;
    assert_eq!(
        first.rejected + first.successes + first.failures,
        2,
        "the outer rejection never reaches the first"
    );
}

// ===== a `self: Pin<&mut Self>` receiver =====

/// A cursor advanced through a pinned receiver; the fallback rewinds it. The body moves its
/// `Pin<&mut Self>` (`get_mut`), yet the fallback receives it after a failed call: no `Clone`.
struct Cursor {
    pos: usize,
    rewinds: u32,
}

impl Cursor {
    #[circuit_breaker(name = "sig-pinned-sync", consecutive_failures = 100, fallback = rewind)]
    fn advance(self: std::pin::Pin<&mut Self>, by: usize) -> Result<usize, ApiError> {
        let this = self.get_mut();
        this.pos += by;
        if this.pos > 10 {
            Err(ApiError::Down)
        } else {
            Ok(this.pos)
        }
    }

    fn rewind(self: std::pin::Pin<&mut Self>, by: usize, cause: CallError<ApiError>) -> Result<usize, ApiError> {
        assert!(matches!(cause, CallError::Inner(ApiError::Down)), "{cause:?}");
        let this = self.get_mut();
        this.pos -= by;
        this.rewinds += 1;
        Ok(this.pos)
    }

    /// Async, `mut self` reborrowed with `as_mut`, a chain whose first stage fails.
    #[circuit_breaker(name = "sig-pinned-async", consecutive_failures = 100, fallback = [Self::refuse, Self::rewind_async])]
    async fn advance_async(mut self: std::pin::Pin<&mut Self>, by: usize) -> Result<usize, ApiError> {
        self.as_mut().get_mut().pos += by;
        if self.pos > 10 {
            Err(ApiError::Down)
        } else {
            Ok(self.pos)
        }
    }

    /// A chain for rejections only: each stage gets the receiver the call never used.
    #[circuit_breaker(name = "sig-pinned-rejected", fallback = [Self::refuse_sync, Self::rewind], fallback_on = "rejected")]
    fn peek(self: std::pin::Pin<&mut Self>, by: usize) -> Result<usize, ApiError> {
        Ok(self.pos + by)
    }

    fn refuse_sync(self: std::pin::Pin<&mut Self>, _by: usize) -> Result<usize, ApiError> {
        let _ = self.pos;
        Err(ApiError::Down)
    }

    async fn refuse(self: std::pin::Pin<&mut Self>, _by: usize) -> Result<usize, ApiError> {
        let _ = self.pos;
        Err(ApiError::NotFound)
    }

    async fn rewind_async(
        self: std::pin::Pin<&mut Self>,
        by: usize,
        cause: CallError<ApiError>,
    ) -> Result<usize, ApiError> {
        assert!(matches!(cause, CallError::Inner(ApiError::NotFound)), "{cause:?}");
        let this = self.get_mut();
        this.pos -= by;
        this.rewinds += 1;
        Ok(this.pos)
    }
}

#[test]
fn a_pinned_receiver_reaches_the_fallback_after_a_failure() {
    let mut cursor = Cursor { pos: 0, rewinds: 0 };
    assert_eq!(std::pin::Pin::new(&mut cursor).advance(4), Ok(4));
    assert_eq!(std::pin::Pin::new(&mut cursor).advance(8), Ok(4));
    assert_eq!((cursor.pos, cursor.rewinds), (4, 1));
}

#[test]
fn a_rejected_call_hands_its_pinned_receiver_to_each_stage() {
    let mut cursor = Cursor { pos: 5, rewinds: 0 };
    assert_eq!(std::pin::Pin::new(&mut cursor).peek(1), Ok(6));
    registry().force_open("sig-pinned-rejected").unwrap();
    // `refuse_sync` fails with `Down`, `rewind` takes that cause and rewinds.
    assert_eq!(std::pin::Pin::new(&mut cursor).peek(2), Ok(3));
    assert_eq!((cursor.pos, cursor.rewinds), (3, 1));
}

#[tokio::test]
async fn a_pinned_receiver_reaches_each_stage_of_an_async_chain() {
    let mut cursor = Cursor { pos: 6, rewinds: 0 };
    assert_eq!(std::pin::Pin::new(&mut cursor).advance_async(3).await, Ok(9));
    assert_eq!(std::pin::Pin::new(&mut cursor).advance_async(5).await, Ok(9));
    assert_eq!((cursor.pos, cursor.rewinds), (9, 1));
}
