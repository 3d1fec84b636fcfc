//! What `queue = "..."` expands to: the per-site [`QueueSite`], the arguments' encoding, the
//! replay handler, and the caller's answer, each with a compile error that says what to add.

use super::{CarriesRejection, ResultLike};
use crate::queue::replay::rejected_replay;
use crate::queue::sub_queue::SubQueue;
use crate::queue::{NotQueued, NotQueuedReason, PushError, QueueEvent, Queued, queues};
use crate::{CircuitBreaker, Rejected};
use std::future::Future;
use std::sync::atomic::Ordering;
use std::sync::{Arc, OnceLock};

pub use crate::queue::replay::{ReplayFn, ReplayOutcome};
pub use core::result::Result;
pub use std::string::String;
pub use std::vec::Vec;

/// The queue of one annotated function; the sub-queue of its first breaker is cached.
#[derive(Debug)]
pub struct QueueSite {
    queue: &'static str,
    /// The function's path (`module::name`), for the message when two functions share a
    /// sub-queue.
    function: &'static str,
    /// For a method, `<its type>::<name>` per type the site was called with (several for a
    /// generic impl): what its entries are tagged with and its messages say.
    paths: std::sync::Mutex<Vec<(&'static str, &'static str)>>,
    first: OnceLock<Arc<SubQueue>>,
    /// Non-zero while this keyed function's calls take the slow path: while the family's
    /// backlogs are being listed, and while keys found wait for their next call.
    watch: std::sync::atomic::AtomicUsize,
    backlogs: std::sync::Mutex<Backlogs>,
}

/// What a keyed function knows of the backlogs a previous process left for its family's keys:
/// a replay needs a key's receiver, which only that key's call brings.
struct Backlogs {
    /// The listing was started (once per site).
    started: bool,
    /// The listing runs: calls leave their key's replay handler here.
    listing: bool,
    /// Each with the path of the function the call went to (see [`QueueSite::path_of`]).
    stash: std::collections::BTreeMap<String, (ReplayFn, &'static str)>,
    /// A key was not stashed (the stash was full): said once.
    overflowed: bool,
    /// Keys whose backlog waits for their next call, until `until`.
    pending: std::collections::BTreeSet<String>,
    until: Option<std::time::Instant>,
}

impl std::fmt::Debug for Backlogs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backlogs")
            .field("listing", &self.listing)
            .field("stashed", &self.stash.len())
            .field("pending", &self.pending.len())
            .finish_non_exhaustive()
    }
}

/// How many replay handlers calls leave while the listing runs (a backend down at startup
/// keeps it running).
const STASH_MAX: usize = 4096;

/// How long after the listing a key's next call registers its backlog's replay; after it,
/// such a backlog replays from the key's next rejection (said on stderr), and calls stop
/// taking the slow path.
const PENDING_FOR: std::time::Duration = std::time::Duration::from_secs(600);

impl QueueSite {
    /// The site of `queue = "<queue>"` on `function` (its `module_path!()::name`).
    pub const fn new(queue: &'static str, function: &'static str) -> Self {
        Self {
            queue,
            function,
            paths: std::sync::Mutex::new(Vec::new()),
            first: OnceLock::new(),
            watch: std::sync::atomic::AtomicUsize::new(0),
            backlogs: std::sync::Mutex::new(Backlogs {
                started: false,
                listing: false,
                stash: std::collections::BTreeMap::new(),
                overflowed: false,
                pending: std::collections::BTreeSet::new(),
                until: None,
            }),
        }
    }

    /// The path of the function a call went to: `module::name` for a free function
    /// (`self_type` is `""`), `<Self's type name>::name` for a method, generic arguments
    /// included: `Client<Sms>::send` and `Client<Email>::send` are different functions, and so
    /// are two instantiations of one generic impl (each replays through its own receiver
    /// type). Called on the cold paths only (first call, rejection); one string per type.
    fn path_of(&self, self_type: &'static str) -> &'static str {
        if self_type.is_empty() {
            return self.function;
        }
        let mut paths = self.paths.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, path)) = paths.iter().find(|(t, _)| *t == self_type) {
            return path;
        }
        let name = self.function.rsplit("::").next().unwrap_or(self.function);
        let path: &'static str = Box::leak(format!("{self_type}::{name}").into_boxed_str());
        paths.push((self_type, path));
        path
    }

    fn backlogs(&self) -> std::sync::MutexGuard<'_, Backlogs> {
        self.backlogs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers the replay handler of `breaker`'s sub-queue on the site's first call (so a
    /// backlog a previous process left is replayed), then costs one load per call. For a keyed
    /// function, the first call also lists the family's other backlogs; each replays from its
    /// key's next call (or, for a key called while the listing ran, as soon as it is found).
    /// `self_type` is the method's `Self` (`core::any::type_name`), `""` for a free function.
    #[inline]
    pub fn register(&'static self, self_type: &'static str, breaker: &CircuitBreaker, make: impl FnOnce() -> ReplayFn) {
        if self.first.get().is_none() {
            self.register_first(self.path_of(self_type), breaker, make);
        } else if self.watch.load(Ordering::Acquire) != 0 {
            self.register_pending(self.path_of(self_type), breaker, make);
        }
    }

    #[cold]
    fn register_first(&'static self, path: &'static str, breaker: &CircuitBreaker, make: impl FnOnce() -> ReplayFn) {
        let name = breaker.name().as_str();
        let family = name.split_once('/').map(|(family, _)| family);
        // Under the lock, so that every call past this point sees the listing running.
        let list = family.is_some() && {
            let mut backlogs = self.backlogs();
            let first = !backlogs.started;
            if first {
                backlogs.started = true;
                backlogs.listing = true;
                self.watch.store(1, Ordering::Release);
            }
            first
        };
        let sub = self.first.get_or_init(|| queues().sub_queue(self.queue, name));
        if sub.breaker != name {
            // Another key's first call won the race: this key is one of the others.
            self.register_pending(path, breaker, make);
        } else {
            let _refused_is_reported_by_claim = start(path, sub, make);
        }
        if let (true, Some(family)) = (list, family) {
            let prefix = format!("{}/{family}/", self.queue);
            let (backend, first) = (sub.backend.clone(), sub.stream.clone());
            if let Err(e) = crate::queue::thread::spawn(move || Box::pin(self.find_backlogs(backend, prefix, first))) {
                sub.failed(&e);
                self.end_listing(Vec::new());
            }
        }
    }

    /// The other keys' backlogs a previous process left (`prefix` is `<queue>/<family>/`):
    /// each is listed in `queues().status()`, said on stderr and as a WARN event, and replays
    /// at once if its key was called during the listing, else from its key's next call. A
    /// listing that fails is tried again (the backend may be down at startup).
    async fn find_backlogs(&'static self, backend: Arc<dyn crate::queue::QueueBackend>, prefix: String, first: String) {
        let family = prefix
            .strip_prefix(self.queue)
            .and_then(|rest| rest.strip_prefix('/'))
            .unwrap_or(&prefix)
            .trim_end_matches('/');
        let mut delay = queues().poll_interval();
        let mut reported = false;
        let found = loop {
            match backend.waiting(&prefix).await {
                Some(Ok(found)) => break found,
                Some(Err(e)) => {
                    if !reported {
                        report(&format!(
                            "queue `{}` ({} backend): could not list the sub-queues of `{family}` to find what a previous process left for its keys: {e}; trying again",
                            self.queue,
                            backend.kind()
                        ));
                        reported = true;
                    }
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(std::time::Duration::from_secs(60));
                }
                None => {
                    report(&format!(
                        "queue `{}` ({} backend): the backend cannot list its sub-queues (`QueueBackend::waiting`), so a backlog a previous process left for a key of `{family}` other than the first one called replays only once that key is rejected again",
                        self.queue,
                        backend.kind()
                    ));
                    self.end_listing(Vec::new());
                    return;
                }
            }
        };
        let mut waiting = Vec::new();
        for (stream, depth) in found {
            let Some(breaker) = stream.strip_prefix(self.queue).and_then(|s| s.strip_prefix('/')) else {
                continue;
            };
            if stream == first {
                continue;
            }
            let sub = queues().sub_queue(self.queue, breaker);
            if sub.handler().is_some() {
                continue;
            }
            sub.stats.depth.store(depth, Ordering::Relaxed);
            report(&format!(
                "queue `{}`: {depth} call(s) of breaker `{breaker}` left by a previous process wait; they replay from `{breaker}`'s next call in this process (a keyed replay needs that key's receiver)",
                self.queue
            ));
            waiting.push(breaker.to_owned());
        }
        self.end_listing(waiting);
    }

    /// The listing is over: keys called meanwhile replay now, the others wait for their call.
    fn end_listing(&'static self, found: Vec<String>) {
        let mut backlogs = self.backlogs();
        backlogs.listing = false;
        let stash = std::mem::take(&mut backlogs.stash);
        let mut now = Vec::new();
        for name in found {
            match stash.get(&name) {
                Some((handler, path)) => now.push((name, handler.clone(), *path)),
                None => {
                    backlogs.pending.insert(name);
                }
            }
        }
        backlogs.until = Some(std::time::Instant::now() + PENDING_FOR);
        let watching = usize::from(!backlogs.pending.is_empty());
        self.watch.store(watching, Ordering::Release);
        drop(backlogs);
        for (name, handler, path) in now {
            let sub = queues().sub_queue(self.queue, &name);
            let _refused_is_reported_by_claim = start(path, &sub, move || handler);
        }
    }

    /// While the listing runs, leaves this key's handler for it; after, registers `breaker`'s
    /// sub-queue if its backlog waited for this call.
    #[cold]
    fn register_pending(&'static self, path: &'static str, breaker: &CircuitBreaker, make: impl FnOnce() -> ReplayFn) {
        let name = breaker.name().as_str();
        let mut backlogs = self.backlogs();
        if backlogs.listing {
            if backlogs.stash.contains_key(name) {
                return;
            }
            if backlogs.stash.len() < STASH_MAX {
                backlogs.stash.insert(name.to_owned(), (make(), path));
            } else if !backlogs.overflowed {
                backlogs.overflowed = true;
                drop(backlogs);
                report(&format!(
                    "queue `{}`: more than {STASH_MAX} keys were called while the family's backlogs were being listed (first left out: `{name}`); a backlog found for a key left out replays from that key's next call instead of at once",
                    self.queue
                ));
            }
            return;
        }
        if backlogs.until.is_some_and(|until| std::time::Instant::now() > until) {
            let left = std::mem::take(&mut backlogs.pending);
            self.watch.store(0, Ordering::Release);
            drop(backlogs);
            if !left.is_empty() {
                report(&format!(
                    "queue `{}`: the backlogs a previous process left for {} key(s) (first: `{}`) were not replayed: those keys were not called within {}s; each replays from its key's next rejection (queues().status() lists them)",
                    self.queue,
                    left.len(),
                    left.first().map(String::as_str).unwrap_or_default(),
                    PENDING_FOR.as_secs()
                ));
            }
            return;
        }
        if !backlogs.pending.remove(name) {
            return;
        }
        if backlogs.pending.is_empty() {
            self.watch.store(0, Ordering::Release);
        }
        drop(backlogs);
        let sub = queues().sub_queue(self.queue, name);
        let _refused_is_reported_by_claim = start(path, &sub, make);
    }

    fn sub_queue(&'static self, breaker: &CircuitBreaker) -> Arc<SubQueue> {
        match self.first.get() {
            Some(sub) if sub.breaker == breaker.name().as_str() && !sub.is_retired() => sub.clone(),
            _ => queues().sub_queue(self.queue, breaker.name().as_str()),
        }
    }
}

/// A queue condition nobody asked about: stderr and a WARN event.
fn report(message: &str) {
    eprintln!("cb: {message}");
    tracing::warn!(target: "cb_runtime", "{message}");
}

/// Registers the handler and, when this registered it, starts the replayer, for the function
/// at `path`. Another function owning the sub-queue (same queue and breaker names) is refused:
/// its handler would replay this function's entries. Returns that function's path then.
fn start(path: &'static str, sub: &Arc<SubQueue>, make: impl FnOnce() -> ReplayFn) -> Result<(), &'static str> {
    sub.claim(path)?;
    if sub.set_handler(make) {
        let task = sub.clone();
        if let Err(e) = crate::queue::thread::spawn(move || Box::pin(crate::queue::replay::run(task))) {
            sub.failed(&e);
        }
    }
    Ok(())
}

/// The serialized arguments of a call, as a JSON array.
#[derive(Debug)]
pub struct Encoder {
    buf: Vec<u8>,
    error: Option<String>,
}

impl Encoder {
    /// An empty argument list.
    #[inline]
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self {
            buf: vec![b'['],
            error: None,
        }
    }

    /// The payload, or why an argument did not serialize.
    #[inline]
    pub fn finish(mut self) -> Result<Vec<u8>, String> {
        self.buf.push(b']');
        match self.error {
            None => Ok(self.buf),
            Some(e) => Err(e),
        }
    }
}

/// The arguments of a payload, decoded one by one.
#[derive(Debug)]
pub struct Decoder {
    args: std::vec::IntoIter<serde_json::Value>,
}

impl Decoder {
    /// Parses `payload`.
    pub fn new(payload: &[u8]) -> Result<Self, String> {
        let args: Vec<serde_json::Value> = serde_json::from_slice(payload).map_err(|e| e.to_string())?;
        Ok(Self { args: args.into_iter() })
    }

    /// Whether every argument was read.
    pub fn finish(mut self) -> Result<(), String> {
        match self.args.next() {
            None => Ok(()),
            Some(_) => Err("more arguments than the function takes".to_owned()),
        }
    }
}

/// An argument that can wait in a queue.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be queued for replay",
    label = "this argument is serialized when a rejected call is queued",
    note = "a queued call's arguments must implement `serde::Serialize` and `serde::de::DeserializeOwned` (a `&T` parameter needs them on `T`; use `String` for `&str`)"
)]
pub trait QueueArg: Sized {
    /// Appends the argument to the payload.
    fn encode(&self, out: &mut Encoder);
    /// Reads the next argument.
    fn decode(input: &mut Decoder) -> Result<Self, String>;
}

// One error with the trait's own message, not one per unmet bound of this impl.
#[diagnostic::do_not_recommend]
impl<T: serde::Serialize + serde::de::DeserializeOwned> QueueArg for T {
    #[inline]
    fn encode(&self, out: &mut Encoder) {
        if out.buf.len() > 1 {
            out.buf.push(b',');
        }
        if let Err(e) = serde_json::to_writer(&mut out.buf, self) {
            out.error.get_or_insert_with(|| e.to_string());
        }
    }

    fn decode(input: &mut Decoder) -> Result<Self, String> {
        let value = input.args.next().ok_or("fewer arguments than the function takes")?;
        serde_json::from_value(value).map_err(|e| e.to_string())
    }
}

/// A receiver the replayer can call the method on.
#[diagnostic::on_unimplemented(
    message = "`{Self}` must be `Clone + Send + Sync + 'static` to replay queued calls",
    label = "the replayer calls this method on a clone of the receiver taken at the first call",
    note = "derive `Clone` on a handle type whose clones share their state (e.g. one holding an `Arc` or a client), or put `queue` on a free function"
)]
pub trait QueueReceiver: Sized {
    /// The clone the replayer keeps.
    fn clone_receiver(&self) -> Self;
}

impl<T: Clone + Send + Sync + 'static> QueueReceiver for T {
    #[inline]
    fn clone_receiver(&self) -> Self {
        self.clone()
    }
}

/// An error type that can tell the caller whether a rejected call was queued.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot tell the caller whether a rejected call was queued",
    label = "with `queue`, a rejected call returns `Err(E::from(Queued))`, or `Err(E::from(NotQueued))` when it could not be queued",
    note = "add `impl From<cb_runtime::queue::Queued> for {Self}` and `impl From<cb_runtime::queue::NotQueued> for {Self}`"
)]
pub trait FromQueued {
    /// Converts the answer.
    fn from_answer(answer: Result<Queued, NotQueued>) -> Self;
}

// One error with the trait's own message, not one per unmet bound of this impl.
#[diagnostic::do_not_recommend]
impl<E: From<Queued> + From<NotQueued>> FromQueued for E {
    #[inline]
    fn from_answer(answer: Result<Queued, NotQueued>) -> Self {
        match answer {
            Ok(queued) => E::from(queued),
            Err(not) => E::from(not),
        }
    }
}

/// The queue's answer as the protected function's return value.
#[inline]
pub fn answer<R: CarriesRejection>(answer: Result<Queued, NotQueued>) -> R
where
    R::Carrier: FromQueued,
{
    R::wrap(R::Carrier::from_answer(answer))
}

/// How a replay that returned `value` ended: delivered on `Ok`.
#[inline]
pub fn outcome<R: ResultLike>(value: &R) -> ReplayOutcome {
    match value.as_err() {
        None => ReplayOutcome::Delivered,
        Some(_) => ReplayOutcome::Failed,
    }
}

/// A replay handler from the generated closure (payload in, the call's outcome out).
pub fn handler<F, Fut>(f: F) -> ReplayFn
where
    F: Fn(Vec<u8>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = ReplayOutcome> + 'static,
{
    Arc::new(move |payload| Box::pin(f(payload)))
}

/// Queues a rejected call's `payload` (or, for a replay rejected again, leaves its entry at
/// the head): what the caller is told.
pub async fn enqueue(
    site: &'static QueueSite,
    self_type: &'static str,
    breaker: &CircuitBreaker,
    rejected: Rejected,
    payload: Result<Vec<u8>, String>,
    make: impl FnOnce() -> ReplayFn,
) -> Result<Queued, NotQueued> {
    let sub = site.sub_queue(breaker);
    let queued = |id| Queued {
        queue: sub.queue.clone(),
        breaker: sub.breaker.clone(),
        id,
    };
    if let Some(id) = rejected_replay(&sub.stream) {
        return Ok(queued(id));
    }
    drop(rejected);
    let path = site.path_of(self_type);
    // Until the entry is counted in `depth` (or this call is dropped), the replayer does not
    // take the backend's count for the depth: it may or may not hold this entry yet.
    let _pushing = crate::queue::sub_queue::Pushing::start(&sub.stats);
    let owned = start(path, &sub, make);
    let pushed = match (owned, payload) {
        (Err(owner), _) => Err(NotQueuedReason::Shared {
            owner: owner.to_owned(),
            function: path.to_owned(),
        }),
        (Ok(()), Err(message)) => Err(NotQueuedReason::Encode { message }),
        (Ok(()), Ok(args)) => {
            let payload = crate::queue::owner::tag(path, &args);
            let pushed = match sub.backend.push_now(&sub.stream, &payload) {
                Some(pushed) => pushed,
                None => crate::queue::thread::push(sub.backend.clone(), sub.stream.clone(), payload).await,
            };
            match pushed {
                Ok(id) => {
                    sub.succeeded();
                    if sub.is_retired() {
                        // Its replayer ended meanwhile: the entry goes to the sub-queue that
                        // replaces it.
                        crate::queue::replay::adopt(&sub);
                    }
                    Ok(id)
                }
                Err(PushError::Full { capacity }) => {
                    sub.succeeded();
                    Err(NotQueuedReason::Full { capacity })
                }
                Err(PushError::Backend(e)) => {
                    sub.failed(&e);
                    Err(NotQueuedReason::Backend { message: e.0 })
                }
            }
        }
    };
    let queues = queues();
    match pushed {
        Ok(id) => {
            // A queued call is a fallback; one the queue could not take is not (the caller
            // gets `NotQueued`, an error).
            breaker.record_fallback_as(crate::fallback::FallbackKind::Queue);
            sub.stats.queued.fetch_add(1, Ordering::Relaxed);
            sub.stats.depth.fetch_add(1, Ordering::Relaxed);
            // An idle replayer starts polling the breaker's state.
            sub.wake.notify_one();
            queues.emit(QueueEvent::Queued {
                queue: sub.queue.clone(),
                breaker: sub.breaker.clone(),
                id: id.clone(),
            });
            Ok(queued(id))
        }
        Err(reason) => {
            sub.stats.not_queued.fetch_add(1, Ordering::Relaxed);
            let not = NotQueued {
                queue: sub.queue.clone(),
                breaker: sub.breaker.clone(),
                reason,
            };
            queues.emit(QueueEvent::NotQueued {
                queue: not.queue.clone(),
                breaker: not.breaker.clone(),
                reason: not.to_string(),
            });
            Err(not)
        }
    }
}
