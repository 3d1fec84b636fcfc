//! The last-good cache behind `fallback = cache` (feature `fallback-cache`): each call site
//! keeps its successful values, keyed by the breaker's name and an owned copy of the
//! arguments, in a moka cache bounded by entries (`max_entries`) and by age (entries live
//! twice `max_stale` of real time, so that a too-old value is still found and counted as
//! stale rather than missing). Whether a value may be served is judged on the breaker's clock
//! (a `ManualClock` in tests): no older than `max_stale`.

use crate::{CircuitBreaker, Name};
use core::any::{Any, TypeId};
use core::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::Duration;

/// One call site's cache (a `static` in the generated code), created at first use; a generic
/// function gets one typed cache per instantiation.
#[derive(Debug)]
pub struct LastGood {
    max_entries: u64,
    max_stale: Duration,
    first: OnceLock<Typed>,
    others: Mutex<Vec<Typed>>,
}

/// A typed cache: a leaked `Site<K, V>` and its type.
#[derive(Clone, Copy, Debug)]
struct Typed {
    id: TypeId,
    site: &'static (dyn Any + Send + Sync),
}

/// A value and when it was stored, by the breaker's clock.
#[derive(Clone)]
struct Entry<V> {
    value: V,
    stored: u64,
}

struct Site<K, V> {
    cache: moka::sync::Cache<(Name, K), Entry<V>>,
    stats: &'static Stats,
}

/// The counters of one call site's cache, per breaker name, summed per name by
/// [`cache_stats`]. One site serves several names when a trait's default method is protected
/// and several types implement it: each name counts its own lookups and entries.
struct Stats {
    /// The breaker name at first use, with its counters (the common case: one name).
    first: &'static Label,
    /// Names that used the site later.
    others: Mutex<Vec<&'static Label>>,
    /// The live entries (pending evictions applied first), of every name.
    entries: Box<dyn Fn() -> u64 + Send + Sync>,
    /// The live entries of one label's breakers (walks the cache: only for a site that
    /// serves several names, at a scrape).
    entries_of: Box<dyn Fn(&Label) -> u64 + Send + Sync>,
    /// In-line bytes of one entry: key, value and moka's per-entry record.
    entry_bytes: u64,
}

/// A breaker name (`family/*` for a keyed family) and its lookups at one site.
struct Label {
    name: String,
    hits: AtomicU64,
    misses: AtomicU64,
    stale: AtomicU64,
}

impl Label {
    fn of(breaker: &Name) -> Self {
        let name = match breaker.family() {
            Some(family) => format!("{family}/*"),
            None => breaker.as_str().to_owned(),
        };
        Label {
            name,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
            stale: AtomicU64::new(0),
        }
    }

    /// Whether `breaker`'s lookups count under this label (no allocation; a plain name holds
    /// no `/`, so it never equals a family's label).
    fn covers(&self, breaker: &Name) -> bool {
        match breaker.family() {
            Some(family) => self.name.strip_suffix("/*") == Some(family),
            None => self.name == breaker.as_str(),
        }
    }
}

impl Stats {
    /// The label `breaker`'s lookups count under, made at its first lookup.
    fn label(&self, breaker: &Name) -> &'static Label {
        if self.first.covers(breaker) {
            return self.first;
        }
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(label) = others.iter().find(|l| l.covers(breaker)) {
            return label;
        }
        let label: &'static Label = Box::leak(Box::new(Label::of(breaker)));
        others.push(label);
        label
    }
}

/// Every call site's statistics, for the metrics.
static ALL: Mutex<Vec<&'static Stats>> = Mutex::new(Vec::new());

/// moka's own bookkeeping per entry (its `ValueEntry`, the deques' nodes and the hash table's
/// slot), roughly, for the memory estimate.
const MOKA_ENTRY_OVERHEAD: u64 = 160;

impl LastGood {
    /// A cache of at most `max_entries` values, served while no older than `max_stale`.
    pub const fn new(max_entries: u64, max_stale: Duration) -> Self {
        LastGood {
            max_entries,
            max_stale,
            first: OnceLock::new(),
            others: Mutex::new(Vec::new()),
        }
    }

    fn site<K, V>(&'static self, breaker: &CircuitBreaker) -> &'static Site<K, V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let id = TypeId::of::<Site<K, V>>();
        let typed = self.first.get_or_init(|| self.create::<K, V>(breaker));
        if typed.id == id {
            return downcast(typed);
        }
        let mut others = self.others.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(typed) = others.iter().find(|t| t.id == id) {
            return downcast(typed);
        }
        let typed = self.create::<K, V>(breaker);
        others.push(typed);
        downcast(&typed)
    }

    fn create<K, V>(&'static self, breaker: &CircuitBreaker) -> Typed
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let live = self.max_stale.saturating_mul(2).max(Duration::from_secs(1));
        let cache: moka::sync::Cache<(Name, K), Entry<V>> = moka::sync::Cache::builder()
            .max_capacity(self.max_entries)
            .time_to_live(live)
            .build();
        let (counted, walked) = (cache.clone(), cache.clone());
        let entry_bytes = (size_of::<(Name, K)>() + size_of::<Entry<V>>()) as u64 + MOKA_ENTRY_OVERHEAD;
        let stats: &'static Stats = Box::leak(Box::new(Stats {
            first: Box::leak(Box::new(Label::of(breaker.name()))),
            others: Mutex::new(Vec::new()),
            entries: Box::new(move || {
                counted.run_pending_tasks();
                counted.entry_count()
            }),
            entries_of: Box::new(move |label| {
                walked.run_pending_tasks();
                walked.iter().filter(|(key, _)| label.covers(&key.0)).count() as u64
            }),
            entry_bytes,
        }));
        ALL.lock().unwrap_or_else(PoisonError::into_inner).push(stats);
        let site: &'static Site<K, V> = Box::leak(Box::new(Site { cache, stats }));
        Typed {
            id: TypeId::of::<Site<K, V>>(),
            site,
        }
    }

    /// Keeps `value` as the last good answer for `key` through `breaker`.
    #[inline]
    pub fn store<K, V>(&'static self, breaker: &CircuitBreaker, key: K, value: &V)
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let site = self.site::<K, V>(breaker);
        site.stats.label(breaker.name());
        let entry = Entry {
            value: value.clone(),
            stored: breaker.clock_now(),
        };
        site.cache.insert((breaker.name().clone(), key), entry);
    }

    /// The last good answer for `key` through `breaker` and its age, if there is one no older
    /// than `max_stale`; counts a hit, a miss or a stale entry.
    #[inline]
    pub fn serve<K, V>(&'static self, breaker: &CircuitBreaker, key: K) -> Lookup<V>
    where
        K: Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let site = self.site::<K, V>(breaker);
        let label = site.stats.label(breaker.name());
        let Some(entry) = site.cache.get(&(breaker.name().clone(), key)) else {
            label.misses.fetch_add(1, Ordering::Relaxed);
            return Lookup::Miss;
        };
        let age = Duration::from_nanos(breaker.clock_now().saturating_sub(entry.stored));
        if age > self.max_stale {
            label.stale.fetch_add(1, Ordering::Relaxed);
            return Lookup::Stale;
        }
        label.hits.fetch_add(1, Ordering::Relaxed);
        Lookup::Hit(entry.value, age)
    }
}

/// A value the last-good cache can keep. The macro calls its methods directly, spanned on the
/// user's `cache`, so a value that cannot be kept is one error there.
#[diagnostic::on_unimplemented(
    message = "the last-good cache cannot keep values of type `{Self}`",
    label = "`fallback = cache` keeps a copy of each successful value",
    note = "the value (the `Ok` type of a `Result`, else the return type) must be `Clone + Send + Sync + 'static`"
)]
pub trait CacheValue: Sized {
    /// Keeps `self` as the last good answer for `key` through `breaker`.
    fn keep<K: Hash + Eq + Send + Sync + 'static>(&self, site: &'static LastGood, breaker: &CircuitBreaker, key: K);
    /// The last good answer for `key` through `breaker`, see [`LastGood::serve`].
    fn serve<K: Hash + Eq + Send + Sync + 'static>(
        site: &'static LastGood,
        breaker: &CircuitBreaker,
        key: K,
    ) -> Lookup<Self>;
}

#[diagnostic::do_not_recommend]
impl<V: Clone + Send + Sync + 'static> CacheValue for V {
    #[inline]
    fn keep<K: Hash + Eq + Send + Sync + 'static>(&self, site: &'static LastGood, breaker: &CircuitBreaker, key: K) {
        site.store(breaker, key, self);
    }

    #[inline]
    fn serve<K: Hash + Eq + Send + Sync + 'static>(
        site: &'static LastGood,
        breaker: &CircuitBreaker,
        key: K,
    ) -> Lookup<V> {
        site.serve(breaker, key)
    }
}

fn downcast<K: 'static, V: 'static>(typed: &Typed) -> &'static Site<K, V> {
    match typed.site.downcast_ref::<Site<K, V>>() {
        Some(site) => site,
        None => unreachable!("a typed cache is stored under its own TypeId"),
    }
}

/// What the last-good cache had for a call.
#[derive(Debug)]
pub enum Lookup<V> {
    /// A value no older than `max_stale`, and its age.
    Hit(V, Duration),
    /// Nothing for these arguments.
    Miss,
    /// A value older than `max_stale`, not served.
    Stale,
}

impl<V> Lookup<V> {
    /// The stage's result in its trace event.
    pub fn as_str(&self) -> &'static str {
        match self {
            Lookup::Hit(..) => "hit",
            Lookup::Miss => "miss",
            Lookup::Stale => "stale",
        }
    }
}

/// The last-good caches of one breaker name (or keyed family, `family/*`), summed over its
/// call sites.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheStats {
    /// The breaker's name (`family/*` for a keyed family).
    pub name: String,
    /// Values served.
    pub hits: u64,
    /// Lookups that found nothing for their arguments.
    pub misses: u64,
    /// Lookups that found a value older than `max_stale`, not served.
    pub stale: u64,
    /// Values kept.
    pub entries: u64,
    /// An estimate of the memory the entries hold: each entry's in-line size (key, value,
    /// timestamp) plus moka's per-entry bookkeeping. What keys and values own on the heap (a
    /// `String`'s bytes) is not counted.
    pub bytes: u64,
}

/// The last-good caches' statistics by breaker name, sorted by name.
pub fn cache_stats() -> Vec<CacheStats> {
    let all: Vec<&'static Stats> = ALL.lock().unwrap_or_else(PoisonError::into_inner).clone();
    let mut out: Vec<CacheStats> = Vec::new();
    for stats in all {
        let others = stats.others.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let labels = std::iter::once(stats.first).chain(others.iter().copied());
        for label in labels {
            let entries = match others.is_empty() {
                true => (stats.entries)(),
                false => (stats.entries_of)(label),
            };
            let row = match out.iter().position(|row| row.name == label.name) {
                Some(i) => &mut out[i],
                None => {
                    out.push(CacheStats {
                        name: label.name.clone(),
                        ..CacheStats::default()
                    });
                    let last = out.len() - 1;
                    &mut out[last]
                }
            };
            row.hits += label.hits.load(Ordering::Relaxed);
            row.misses += label.misses.load(Ordering::Relaxed);
            row.stale += label.stale.load(Ordering::Relaxed);
            row.entries += entries;
            row.bytes += entries * stats.entry_bytes;
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}
