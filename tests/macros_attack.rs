//! Client code written as services write it, attacking the macros from outside (issue 11
//! follow-up): every case here once misbehaved or is a shape a service relies on.

mod support;

use cb_runtime::{CallError, CircuitProtected, Rejected, State, circuit_breaker, registry};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use support::api_error::ApiError;

fn state(name: &str) -> State {
    registry().get(name).expect("the breaker exists after a call").state()
}

// ===== a client returning a 'static future =====

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-static-future", consecutive_failures = 2)]
struct Client {
    up: Arc<AtomicBool>,
}

impl Client {
    /// The usual spawnable shape: clone what the future needs, return it without borrowing self.
    #[circuit_breaker]
    fn fetch(&self) -> impl Future<Output = Result<u8, ApiError>> + Send + 'static {
        let up = self.up.clone();
        async move {
            if up.load(Ordering::Relaxed) {
                Ok(1)
            } else {
                Err(ApiError::Down)
            }
        }
    }
}

#[tokio::test]
async fn a_static_future_from_a_borrowing_method_is_protected_and_spawnable() {
    let client = Client {
        up: Arc::new(AtomicBool::new(false)),
    };
    assert_eq!(tokio::spawn(client.fetch()).await.unwrap(), Err(ApiError::Down));
    assert_eq!(tokio::spawn(client.fetch()).await.unwrap(), Err(ApiError::Down));
    assert_eq!(state("atk-static-future"), State::Open);
    client.up.store(true, Ordering::Relaxed);
    assert_eq!(client.fetch().await, Err(ApiError::Breaker));
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-static-fallback", consecutive_failures = 2)]
struct Mirror {
    up: Arc<AtomicBool>,
}

static MIRROR_FAILURES_SERVED: AtomicU32 = AtomicU32::new(0);

impl Mirror {
    /// A `'static` future with a fallback named by type path (no receiver to capture).
    #[circuit_breaker(fallback = Mirror::cached)]
    fn fetch(&self) -> impl Future<Output = Result<u8, ApiError>> + Send + 'static {
        let up = self.up.clone();
        async move {
            if up.load(Ordering::Relaxed) {
                Ok(1)
            } else {
                Err(ApiError::Down)
            }
        }
    }

    fn cached(cause: CallError<ApiError>) -> Result<u8, ApiError> {
        if matches!(cause, CallError::Inner(ApiError::Down)) {
            MIRROR_FAILURES_SERVED.fetch_add(1, Ordering::Relaxed);
        }
        Ok(0)
    }
}

#[tokio::test]
async fn a_static_future_with_a_type_path_fallback_serves_failures() {
    let mirror = Mirror {
        up: Arc::new(AtomicBool::new(false)),
    };
    assert_eq!(tokio::spawn(mirror.fetch()).await.unwrap(), Ok(0));
    assert_eq!(
        MIRROR_FAILURES_SERVED.load(Ordering::Relaxed),
        1,
        "the Err reached the fallback"
    );
    mirror.up.store(true, Ordering::Relaxed);
    assert_eq!(mirror.fetch().await, Ok(1));
    assert_eq!(mirror.circuit_state(), State::Closed);
}

// ===== keyed clients: a per-tenant 'static future =====

#[derive(CircuitProtected, Clone)]
#[circuit_breaker(name = "atk-tenant", consecutive_failures = 1)]
struct Tenant {
    #[circuit_breaker(key)]
    id: String,
    up: bool,
}

impl Tenant {
    #[circuit_breaker]
    fn call(&self) -> impl Future<Output = Result<(), ApiError>> + Send + 'static {
        let up = self.up;
        async move { if up { Ok(()) } else { Err(ApiError::Down) } }
    }
}

#[tokio::test]
async fn each_tenant_future_uses_its_own_breaker() {
    let a = Tenant {
        id: "a".into(),
        up: false,
    };
    let b = Tenant {
        id: "b".into(),
        up: true,
    };
    let fa = a.call();
    let fb = b.call();
    drop((a, b));
    assert_eq!(fa.await, Err(ApiError::Down));
    assert_eq!(fb.await, Ok(()));
    assert_eq!(state("atk-tenant/a"), State::Open);
    assert_eq!(state("atk-tenant/b"), State::Closed);
}

// ===== an #[async_trait] service behind Arc<dyn Trait>, spawned =====

#[async_trait::async_trait]
trait Users: Send + Sync {
    async fn user(self: Arc<Self>, id: u32) -> Result<String, AppError>;
    async fn rename(&mut self, id: u32, name: String) -> Result<(), AppError>;
}

/// A thiserror-style error enum: `?` converts the lower layers' errors.
#[derive(Debug, PartialEq)]
enum AppError {
    Io(std::io::ErrorKind),
    Open,
}

impl From<std::io::Error> for AppError {
    fn from(e: std::io::Error) -> Self {
        AppError::Io(e.kind())
    }
}

impl From<Rejected> for AppError {
    fn from(_: Rejected) -> Self {
        AppError::Open
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-users", consecutive_failures = 2)]
struct UserService {
    up: AtomicBool,
    names: Vec<String>,
}

fn io(up: bool) -> std::io::Result<()> {
    if up {
        Ok(())
    } else {
        Err(std::io::ErrorKind::ConnectionRefused.into())
    }
}

#[async_trait::async_trait]
impl Users for UserService {
    #[circuit_breaker(fallback = anonymous)]
    async fn user(self: Arc<Self>, id: u32) -> Result<String, AppError> {
        io(self.up.load(Ordering::Relaxed))?;
        Ok(format!("user-{id}"))
    }

    #[circuit_breaker]
    async fn rename(&mut self, id: u32, name: String) -> Result<(), AppError> {
        io(self.up.load(Ordering::Relaxed))?;
        self.names.push(format!("{id}:{name}"));
        Ok(())
    }
}

impl UserService {
    async fn anonymous(self: Arc<Self>, id: u32, cause: CallError<AppError>) -> Result<String, AppError> {
        match cause {
            CallError::Inner(AppError::Io(_)) | CallError::Rejected(_) => Ok(format!("anon-{id}")),
            other => panic!("unexpected cause {other:?}"),
        }
    }
}

#[tokio::test]
async fn an_async_trait_service_counts_question_mark_errors_and_spawns() {
    let service = Arc::new(UserService {
        up: AtomicBool::new(false),
        names: vec![],
    });
    let dynamic: Arc<dyn Users> = service.clone();
    let got = tokio::spawn(dynamic.clone().user(1)).await.unwrap();
    assert_eq!(got, Ok("anon-1".into()), "an io error through `?` reaches the fallback");
    assert_eq!(dynamic.clone().user(2).await, Ok("anon-2".into()));
    assert_eq!(service.circuit_state(), State::Open);
    registry().reset("atk-users").unwrap();
    let mut owned = UserService {
        up: AtomicBool::new(true),
        names: vec![],
    };
    assert_eq!(owned.rename(1, "x".into()).await, Ok(()));
    owned.up.store(false, Ordering::Relaxed);
    assert_eq!(
        owned.rename(1, "y".into()).await,
        Err(AppError::Io(std::io::ErrorKind::ConnectionRefused))
    );
    assert_eq!(
        owned.rename(1, "y".into()).await,
        Err(AppError::Io(std::io::ErrorKind::ConnectionRefused))
    );
    assert_eq!(owned.rename(1, "z".into()).await, Err(AppError::Open));
    assert_eq!(owned.names, ["1:x"]);
}

// ===== Option returns with fallbacks =====

static OPTION_CAUSES: AtomicU32 = AtomicU32::new(0);

#[circuit_breaker(name = "atk-option", consecutive_failures = 1, fallback = cached_user)]
fn user_opt(id: u32) -> Option<String> {
    (id != 0).then(|| format!("u{id}"))
}

fn cached_user(_id: u32, cause: CallError<std::convert::Infallible>) -> Option<String> {
    assert!(matches!(cause, CallError::Rejected(_)));
    OPTION_CAUSES.fetch_add(1, Ordering::Relaxed);
    Some("cached".into())
}

#[test]
fn an_option_fallback_runs_only_on_rejection_and_none_never_trips() {
    for _ in 0..5 {
        assert_eq!(user_opt(0), None, "None is an answer, not a failure");
    }
    assert_eq!(state("atk-option"), State::Closed);
    assert_eq!(OPTION_CAUSES.load(Ordering::Relaxed), 0);
    registry().force_open("atk-option").unwrap();
    assert_eq!(user_opt(3), Some("cached".into()));
    assert_eq!(OPTION_CAUSES.load(Ordering::Relaxed), 1);
    registry().reset("atk-option").unwrap();
}

// ===== macro_rules! generating protected methods =====

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-endpoints", consecutive_failures = 1)]
struct Api {
    up: bool,
}

macro_rules! endpoint {
    ($name:ident, $path:literal) => {
        #[circuit_breaker]
        async fn $name(&self) -> Result<&'static str, ApiError> {
            if self.up { Ok($path) } else { Err(ApiError::Down) }
        }
    };
}

impl Api {
    endpoint!(users, "/users");
    endpoint!(orders, "/orders");
}

#[tokio::test]
async fn macro_generated_methods_share_their_types_breaker() {
    let down = Api { up: false };
    assert_eq!(down.users().await, Err(ApiError::Down));
    assert_eq!(down.orders().await, Err(ApiError::Breaker), "one type, one breaker");
}

// ===== stacked with #[tracing::instrument] =====

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-instrumented", consecutive_failures = 1)]
struct Traced;

impl Traced {
    #[tracing::instrument(skip(self), err(Debug))]
    #[circuit_breaker(fallback = backup)]
    async fn get(&self, id: u32) -> Result<u32, ApiError> {
        if id == 0 { Err(ApiError::Down) } else { Ok(id) }
    }

    async fn backup(&self, _id: u32) -> Result<u32, ApiError> {
        Ok(7)
    }

    #[circuit_breaker]
    #[tracing::instrument(skip(self))]
    fn put(&self, id: u32) -> Result<u32, ApiError> {
        if id == 0 { Err(ApiError::Down) } else { Ok(id) }
    }
}

#[tokio::test]
async fn instrument_on_either_side_keeps_the_breaker() {
    let t = Traced;
    assert_eq!(t.get(0).await, Ok(7));
    assert_eq!(t.circuit_state(), State::Open);
    assert_eq!(t.put(1), Err(ApiError::Breaker));
    registry().reset("atk-instrumented").unwrap();
}

// ===== timeouts on a returned future and on an Option =====

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-slow", consecutive_failures = 2)]
struct Slow {
    delay_ms: u64,
}

impl Slow {
    /// `'static` future with a timeout: the timeout still applies when it runs after `self` is gone.
    #[circuit_breaker(timeout = "50ms")]
    fn lookup(&self, id: u32) -> impl Future<Output = Option<u32>> + Send + 'static {
        let delay = self.delay_ms;
        async move {
            tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
            Some(id)
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_option_is_none_and_counts_as_a_failure() {
    let fast = Slow { delay_ms: 1 };
    assert_eq!(fast.lookup(1).await, Some(1));
    let pending = {
        let slow = Slow { delay_ms: 500 };
        slow.lookup(2)
    };
    assert_eq!(pending.await, None, "a timeout without a fallback is None");
    assert_eq!(Slow { delay_ms: 500 }.lookup(3).await, None);
    assert_eq!(state("atk-slow"), State::Open, "two timeouts are two failures");
    assert_eq!(fast.lookup(4).await, None, "open: rejected as None");
}

// ===== two breakers stacked on a returned future =====

fn inner_down_is_ignored(e: &ApiError) -> bool {
    *e == ApiError::Breaker
}

#[circuit_breaker(name = "atk-stack-outer", consecutive_failures = 5, ignore_if = inner_down_is_ignored)]
#[circuit_breaker(name = "atk-stack-inner", consecutive_failures = 1)]
fn stacked_future(up: bool) -> impl Future<Output = Result<(), ApiError>> + Send + 'static {
    async move { if up { Ok(()) } else { Err(ApiError::Down) } }
}

#[tokio::test]
async fn two_breakers_on_a_returned_future_each_count_their_own() {
    assert_eq!(stacked_future(false).await, Err(ApiError::Down));
    assert_eq!(state("atk-stack-inner"), State::Open);
    let outer = || {
        registry()
            .get("atk-stack-outer")
            .unwrap()
            .snapshot()
            .consecutive_failures
    };
    assert_eq!(outer(), 1, "the outer breaker saw the inner's failure");
    assert_eq!(stacked_future(true).await, Err(ApiError::Breaker));
    assert_eq!(stacked_future(true).await, Err(ApiError::Breaker));
    assert_eq!(outer(), 1, "the inner rejections are ignored by the outer");
}

// ===== keys =====

/// A key type whose name contains "str" but is not a string.
#[derive(Clone)]
struct Destroyer(u8);

impl std::fmt::Display for Destroyer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "d{}", self.0)
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-boxed-key", consecutive_failures = 1)]
struct Fleet {
    #[circuit_breaker(key)]
    ship: Box<Destroyer>,
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-arc-str-key", consecutive_failures = 1)]
struct Region {
    #[circuit_breaker(key)]
    code: Arc<str>,
}

#[test]
fn a_boxed_display_key_is_formatted_and_arc_str_is_borrowed() {
    let fleet = Fleet {
        ship: Box::new(Destroyer(3)),
    };
    assert_eq!(fleet.circuit_breaker_name(), "atk-boxed-key/d3");
    let region = Region { code: "eu".into() };
    assert_eq!(region.circuit_breaker_name(), "atk-arc-str-key/eu");
}

/// A borrowed key on a client with a lifetime, used from a generic repository method.
#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-borrowed-key", consecutive_failures = 1)]
struct Scoped<'a, T: Clone> {
    #[circuit_breaker(key)]
    tenant: &'a str,
    rows: Vec<T>,
}

impl<'a, T: Clone + PartialEq + Send + Sync> Scoped<'a, T> {
    #[circuit_breaker(fallback = none)]
    async fn find<Q>(&self, pred: Q) -> Result<T, ApiError>
    where
        Q: Fn(&T) -> bool + Clone + Send,
    {
        self.rows.iter().find(|r| pred(r)).cloned().ok_or(ApiError::Down)
    }

    async fn none<Q>(&self, _pred: Q) -> Result<T, ApiError> {
        Err(ApiError::Breaker)
    }
}

#[tokio::test]
async fn a_borrowed_key_and_a_generic_method_use_the_tenants_breaker() {
    let tenant = String::from("t1");
    let scoped = Scoped {
        tenant: &tenant,
        rows: vec![1u8, 2],
    };
    assert_eq!(scoped.find(|r| *r == 2).await, Ok(2));
    assert_eq!(
        scoped.find(|r| *r == 9).await,
        Err(ApiError::Breaker),
        "served by the fallback"
    );
    assert_eq!(state("atk-borrowed-key/t1"), State::Open);
    let other = Scoped {
        tenant: "t2",
        rows: vec![3u8],
    };
    assert_eq!(other.find(|r| *r == 3).await, Ok(3));
}

// ===== two types sharing a name through a generic site =====

trait Probe: CircuitProtected {
    #[circuit_breaker]
    fn probe(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-shared-name", consecutive_failures = 3)]
struct Primary;

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-shared-name", consecutive_failures = 9)]
struct Replica;

impl Probe for Primary {}
impl Probe for Replica {}

#[test]
fn a_second_type_with_the_same_name_but_other_settings_reports_the_conflict() {
    let mut events = registry().subscribe();
    assert_eq!(Primary.probe(), Ok(()));
    assert_eq!(Replica.probe(), Ok(()), "one name, one breaker: shared by design");
    let conflicts = std::iter::from_fn(|| events.try_recv())
        .filter(|e| {
            matches!(
                e,
                cb_runtime::Event::ConfigConflict { name, .. } if name == "atk-shared-name"
            )
        })
        .count();
    assert_eq!(conflicts, 1, "Replica's settings are ignored: that must not be silent");
    assert_eq!(Replica.probe(), Ok(()));
    let again = std::iter::from_fn(|| events.try_recv())
        .filter(|e| {
            matches!(
                e,
                cb_runtime::Event::ConfigConflict { name, .. } if name == "atk-shared-name"
            )
        })
        .count();
    assert_eq!(again, 0, "reported once");
    let notes = registry().explain("atk-shared-name").notes;
    assert!(
        notes.iter().any(|n| n.contains("struct-level consecutive_failures = 3")
            && n.contains("struct-level consecutive_failures = 9")),
        "explain keeps the conflict where a user without a subscriber finds it: {notes:?}"
    );
}

// ===== every path out of a future-returning sync fn is protected =====

#[circuit_breaker(name = "atk-early-return", consecutive_failures = 1)]
#[allow(clippy::type_complexity)]
fn early(id: u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, ApiError>> + Send>> {
    if id == 0 {
        return Box::pin(async { Err(ApiError::Down) });
    }
    Box::pin(async move { Ok(id) })
}

#[tokio::test]

async fn a_future_returned_early_is_protected_too() {
    assert_eq!(early(1).await, Ok(1));
    registry().force_open("atk-early-return").unwrap();
    assert_eq!(
        early(0).await,
        Err(ApiError::Breaker),
        "an open breaker rejects every call"
    );
}

fn cached_reply(id: String, _cause: CallError<ApiError>) -> Result<String, ApiError> {
    Ok(format!("cached {id}"))
}

/// An owned parameter moved into the early future, served by the fallback on rejection and
/// on failure: the fallback gets a copy taken before the body consumed it.
#[circuit_breaker(name = "atk-early-fallback", consecutive_failures = 1, fallback = cached_reply)]
#[allow(clippy::type_complexity)]
fn early_with_fallback(id: String) -> std::pin::Pin<Box<dyn Future<Output = Result<String, ApiError>> + Send>> {
    match id.as_str() {
        "down" => return Box::pin(async move { Err::<String, _>(ApiError::Down).map(|_: String| id) }),
        "" => {
            // A `return` inside a closure returns from the closure, not from the function.
            let check = |s: &str| -> bool {
                if s.is_empty() {
                    return false;
                }
                true
            };
            assert!(!check(&id));
        }
        _ => {}
    }
    Box::pin(async move { Ok(id) })
}

#[tokio::test]
async fn an_early_future_is_served_by_the_fallback() {
    assert_eq!(early_with_fallback("a".into()).await, Ok("a".into()));
    assert_eq!(early_with_fallback("".into()).await, Ok("".into()));
    assert_eq!(early_with_fallback("down".into()).await, Ok("cached down".into()));
    assert_eq!(state("atk-early-fallback"), State::Open);
    assert_eq!(
        early_with_fallback("b".into()).await,
        Ok("cached b".into()),
        "rejected, served"
    );
}

/// `-> impl Future` whose body builds the future without a tail `async` block, and returns
/// early from a nested block.
#[circuit_breaker(name = "atk-impl-future-built", consecutive_failures = 1)]
fn ready_reply(id: u32) -> impl Future<Output = Result<u32, ApiError>> + Send {
    {
        if id == 0 {
            return std::future::ready(Err(ApiError::Down));
        }
    }
    std::future::ready(Ok(id))
}

#[tokio::test]
async fn an_impl_future_built_any_way_is_protected() {
    assert_eq!(ready_reply(1).await, Ok(1));
    assert_eq!(ready_reply(0).await, Err(ApiError::Down));
    assert_eq!(state("atk-impl-future-built"), State::Open);
    assert_eq!(ready_reply(1).await, Err(ApiError::Breaker));
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-early-method", consecutive_failures = 1)]
struct Early {
    calls: AtomicU32,
}

impl Early {
    /// A method returning a borrowing boxed future early, the fallback taking `self`.
    #[circuit_breaker(fallback = stale)]
    #[allow(clippy::type_complexity)]
    fn get<'a>(&'a self, id: u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, ApiError>> + Send + 'a>> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if id == 0 {
            return Box::pin(async move { Err(ApiError::Down) });
        }
        Box::pin(async move { Ok(id.min(self.calls.load(Ordering::Relaxed) + id)) })
    }

    async fn stale(&self, _id: u32, _cause: CallError<ApiError>) -> Result<u32, ApiError> {
        Ok(99)
    }
}

#[tokio::test]
async fn a_method_returning_early_uses_its_types_breaker() {
    let e = Early {
        calls: AtomicU32::new(0),
    };
    assert_eq!(e.get(3).await, Ok(3));
    assert_eq!(e.get(0).await, Ok(99), "the failure is served by the fallback");
    assert_eq!(state("atk-early-method"), State::Open);
    assert_eq!(e.get(3).await, Ok(99), "rejected");
}

/// Returns the future it is given from the function that invokes it.
macro_rules! reply_now {
    ($fut:expr) => {
        return $fut
    };
}

/// A `return` the macro cannot see (a macro writes it) still yields a protected future.
#[circuit_breaker(name = "atk-return-in-macro", consecutive_failures = 1)]
#[allow(clippy::type_complexity)]
fn macro_return(id: u32) -> std::pin::Pin<Box<dyn Future<Output = Result<u32, ApiError>> + Send>> {
    if id == 0 {
        reply_now!(Box::pin(async { Err(ApiError::Down) }));
    }
    Box::pin(async move { Ok(id) })
}

#[tokio::test]
async fn a_future_returned_by_a_macro_is_protected() {
    assert_eq!(macro_return(1).await, Ok(1));
    assert_eq!(macro_return(0).await, Err(ApiError::Down));
    assert_eq!(state("atk-return-in-macro"), State::Open);
    assert_eq!(macro_return(1).await, Err(ApiError::Breaker));
}

// ===== more shapes real code has =====

/// `unsafe fn`, `impl Trait` and `#[cfg]`'d parameters, a where clause, a generic async fn.
#[circuit_breaker(name = "atk-unsafe", consecutive_failures = 1)]
unsafe fn read_raw(ptr: *const u32, #[cfg(any())] _never: u8) -> Result<u32, ApiError> {
    // SAFETY: callers pass a valid pointer.
    let value = unsafe { *ptr };
    if value == 0 { Err(ApiError::Down) } else { Ok(value) }
}

#[circuit_breaker(name = "atk-generic-async", consecutive_failures = 1)]
async fn describe<T>(value: T, label: impl std::fmt::Display + Send) -> Result<String, ApiError>
where
    T: std::fmt::Debug + Send,
{
    let text = format!("{label}: {value:?}");
    if text.ends_with("0") {
        Err(ApiError::Down)
    } else {
        Ok(text)
    }
}

#[derive(CircuitProtected)]
#[circuit_breaker(name = "atk-elided", consecutive_failures = 1)]
struct Named {
    name: String,
}

impl Named {
    #[circuit_breaker]
    fn first_word(&self) -> Result<&str, ApiError> {
        self.name
            .split(' ')
            .next()
            .filter(|w| !w.is_empty())
            .ok_or(ApiError::Down)
    }
}

trait Lookup {
    fn find(&self, id: u32) -> impl Future<Output = Result<u32, ApiError>> + Send;
}

impl Lookup for Named {
    #[circuit_breaker]
    async fn find(&self, id: u32) -> Result<u32, ApiError> {
        if id == 0 { Err(ApiError::Down) } else { Ok(id) }
    }
}

#[tokio::test]
async fn unsafe_generic_elided_and_native_trait_shapes_count_their_errors() {
    let zero = 0u32;
    let one = 1u32;
    assert_eq!(unsafe { read_raw(&one) }, Ok(1));
    assert_eq!(unsafe { read_raw(&zero) }, Err(ApiError::Down));
    assert_eq!(unsafe { read_raw(&one) }, Err(ApiError::Breaker));

    assert_eq!(describe(1, "n").await, Ok("n: 1".into()));
    assert_eq!(describe(10, "n").await, Err(ApiError::Down));
    assert_eq!(describe(1, "n").await, Err(ApiError::Breaker));

    let named = Named { name: "".into() };
    assert_eq!(named.first_word(), Err(ApiError::Down));
    assert_eq!(state("atk-elided"), State::Open);
    let named = Named { name: "a b".into() };
    assert_eq!(named.first_word(), Err(ApiError::Breaker));
    assert_eq!(
        tokio::spawn(async move { named.find(2).await }).await.unwrap(),
        Err(ApiError::Breaker),
        "same type, same breaker, and Send"
    );
}
