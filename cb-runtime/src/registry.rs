//! The registry: breakers shared by name, inspected and steered by name.

use crate::config::{Base, ConfigSource, Explanation, StatusCell};
use crate::events::{Event, EventBus, Subscription};
use crate::{BreakerConfig, CircuitBreaker, Clock, Setting, Snapshot, glob_match};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// The process-wide registry that `#[circuit_breaker]` call sites use.
///
/// ```
/// use cb_runtime::{registry, BreakerConfig, State};
///
/// let breaker = registry().breaker("docs-sentinel", &BreakerConfig::default());
/// assert_eq!(breaker.state(), State::Closed);
/// assert!(registry().get("docs-sentinel").is_some());
/// ```
pub fn registry() -> &'static Registry {
    GLOBAL.get_or_init(|| {
        let registry = Registry::new();
        registry.discover_config();
        registry
    })
}

static GLOBAL: OnceLock<Registry> = OnceLock::new();

/// Installs `registry` as the global one, before anything used [`registry()`]: how tests put
/// annotated functions on a [`ManualClock`](crate::ManualClock). Gives it back if the global
/// registry already exists.
///
/// ```
/// use cb_runtime::{init_registry, registry, ManualClock, Registry};
///
/// let clock = ManualClock::new();
/// init_registry(Registry::with_clock(clock.clone())).expect("first use");
/// assert!(init_registry(Registry::new()).is_err());
/// # let _ = registry();
/// ```
pub fn init_registry(registry: Registry) -> Result<(), Registry> {
    GLOBAL.set(registry)
}

/// Breakers by name. A name identifies one breaker: two call sites naming it share it, and
/// the first registration's configuration wins (a differing one is reported, not merged).
pub struct Registry {
    breakers: RwLock<BTreeMap<crate::Name, Entry>>,
    source: RwLock<Arc<ConfigSource>>,
    clock: Clock,
    events: Arc<EventBus>,
    /// The fleets this registry is attached to: (fleet, breaker glob). Behind an `Arc` to keep
    /// `Registry` small (`init_registry` returns it by value).
    fleets: Arc<RwLock<Vec<(String, String)>>>,
    pub(crate) status: Box<StatusCell>,
}

/// A registered breaker and what its configuration is built on.
#[derive(Clone)]
struct Entry {
    breaker: Arc<CircuitBreaker>,
    base: Base,
}

/// No breaker of that name is registered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownBreaker(pub String);

impl fmt::Display for UnknownBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no circuit breaker named `{}` is registered", self.0)
    }
}

impl std::error::Error for UnknownBreaker {}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl Registry {
    /// An empty registry on the monotonic clock with the built-in defaults only (most programs
    /// use [`registry()`], which also reads `circuit_breakers.toml` and the environment).
    pub fn new() -> Self {
        Self::with_clock(Clock::default())
    }

    /// An empty registry whose breakers read `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(clock: impl Into<Clock>) -> Self {
        Self {
            breakers: RwLock::default(),
            source: RwLock::default(),
            clock: clock.into(),
            events: Arc::default(),
            fleets: Arc::default(),
            status: Box::default(),
        }
    }

    /// This registry, resolving breakers with `source` (a file and the environment).
    pub fn with_config(self, source: ConfigSource) -> Self {
        *self.source.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(source);
        self
    }

    /// The configuration source in force.
    pub fn config_source(&self) -> Arc<ConfigSource> {
        self.source.read().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The breaker named `name`, created if it does not exist yet with `config`, overridden by
    /// the configuration file's `[breakers.NAME]` sections and the environment.
    pub fn breaker(&self, name: &str, config: &BreakerConfig) -> Arc<CircuitBreaker> {
        self.breaker_on(name, Base::Code(config.clone()))
    }

    /// The breaker named `name` for macro arguments: struct-level, then function-level.
    #[doc(hidden)]
    pub fn breaker_with_layers(&self, name: &str, outer: &[Setting], inner: &[Setting]) -> Arc<CircuitBreaker> {
        self.breaker_on(
            name,
            Base::Layers {
                outer: outer.to_vec(),
                inner: inner.to_vec(),
            },
        )
    }

    fn breaker_on(&self, name: &str, base: Base) -> Arc<CircuitBreaker> {
        if let Some(existing) = self.read().get(name).cloned() {
            self.check_conflict(&existing, &base);
            return existing.breaker;
        }
        let explained = self.resolve(name, &base);
        let mut breakers = self.breakers.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = breakers.get(name).cloned() {
            drop(breakers);
            self.check_conflict(&existing, &base);
            return existing.breaker;
        }
        let breaker = Arc::new(
            CircuitBreaker::builder(name)
                .config(explained.config)
                .clock(self.clock.clone())
                .events(self.events.clone())
                .build(),
        );
        breakers.insert(
            breaker.name().clone(),
            Entry {
                breaker: breaker.clone(),
                base,
            },
        );
        drop(breakers);
        self.check_variable_collision(breaker.name());
        breaker
    }

    /// Resolves `name` over `base`; problems are reported and a configuration that still
    /// breaks a rule falls back to the built-in defaults.
    fn resolve(&self, name: &str, base: &Base) -> Explanation {
        let mut explained = self.config_source().resolve(name, base);
        self.resolution_problems(name, &mut explained);
        explained
    }

    fn check_conflict(&self, existing: &Entry, asked: &Base) {
        if existing.base != *asked {
            self.events.emit(Event::ConfigConflict {
                name: existing.breaker.name().clone(),
                kept: format!("{:?}", existing.base),
                ignored: format!("{asked:?}"),
            });
        }
    }

    /// The resolved configuration of `name` and the level every key came from (for a name not
    /// registered yet: as a breaker configured in code with the built-in defaults would get).
    pub fn explain(&self, name: &str) -> Explanation {
        let base = self.read().get(name).map_or_else(
            || Base::Layers {
                outer: vec![],
                inner: vec![],
            },
            |e| e.base.clone(),
        );
        let mut explained = self.config_source().resolve(name, &base);
        explained.notes = self.fleet_notes(name, &explained.config);
        explained.notes.extend(self.config_notes());
        explained
    }

    /// What the fleets this breaker is shared with do and do not decide.
    fn fleet_notes(&self, name: &str, config: &BreakerConfig) -> Vec<String> {
        let fleets = self.fleets.read().unwrap_or_else(PoisonError::into_inner);
        fleets
            .iter()
            .filter(|(_, glob)| glob_match(glob, name))
            .map(|(fleet, _)| match config.window {
                crate::Window::Count(n) => format!(
                    "shared with fleet `{fleet}`: trips, open waits and probes are shared, but the count window \
                     (last {n} calls) is judged on this instance's calls only, never the fleet's"
                ),
                crate::Window::Time(_) => format!(
                    "shared with fleet `{fleet}`: trips, open waits and probes are shared, and the failure rate \
                     is judged over the whole fleet's calls of the time window"
                ),
            })
            .collect()
    }

    /// Records that breakers matching `glob` are shared with `fleet` (for `explain`).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn mark_fleet_attached(&self, fleet: &str, glob: &str) {
        let mut fleets = self.fleets.write().unwrap_or_else(PoisonError::into_inner);
        fleets.push((fleet.to_owned(), glob.to_owned()));
    }

    /// Forgets one attachment of breakers matching `glob`.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn mark_fleet_detached(&self, glob: &str) {
        let mut fleets = self.fleets.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(at) = fleets.iter().position(|(_, g)| g == glob) {
            fleets.remove(at);
        }
    }

    /// Switches to `source` and applies the changed thresholds to every registered breaker,
    /// keeping their state and counts; each changed breaker emits `Event::Reconfigured`.
    /// Returns the breakers that changed, with their changes.
    pub fn reconfigure(&self, source: ConfigSource) -> crate::config::Changes {
        *self.source.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(source);
        let entries: Vec<Entry> = self.read().values().cloned().collect();
        let mut changed = Vec::new();
        for entry in entries {
            let config = self.resolve(entry.breaker.name(), &entry.base).config;
            if config == entry.breaker.config() {
                continue;
            }
            let changes = entry.breaker.reconfigure(config);
            self.events.emit(Event::Reconfigured {
                name: entry.breaker.name().clone(),
                changes: changes.clone(),
            });
            changed.push((entry.breaker.name().clone(), changes));
        }
        changed
    }

    /// Reports fleet membership news.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn report_fleet(&self, message: String) {
        self.events.emit(Event::FleetReport { message });
    }

    /// Sends an event of this registry to tracing and subscribers.
    pub(crate) fn emit_event(&self, event: Event) {
        self.events.emit(event);
    }

    /// The breaker named `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        self.read().get(name).map(|e| e.breaker.clone())
    }

    /// The names of every registered breaker.
    pub fn names(&self) -> Vec<crate::Name> {
        self.read().keys().cloned().collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<crate::Name, Entry>> {
        self.breakers.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn named(&self, name: &str) -> Result<Arc<CircuitBreaker>, UnknownBreaker> {
        self.get(name).ok_or_else(|| UnknownBreaker(name.to_owned()))
    }

    /// The snapshot of one breaker.
    pub fn snapshot(&self, name: &str) -> Option<Snapshot> {
        self.get(name).map(|b| b.snapshot())
    }

    /// Snapshots of every breaker, by name.
    pub fn snapshots(&self) -> Vec<Snapshot> {
        self.list("*")
    }

    /// Snapshots of the breakers whose names match a glob (`*`, `?`), by name.
    ///
    /// ```
    /// use cb_runtime::{BreakerConfig, Registry};
    ///
    /// let registry = Registry::new();
    /// for key in ["a", "b"] {
    ///     registry.breaker(&format!("webhook/{key}"), &BreakerConfig::default());
    /// }
    /// registry.breaker("sentinel", &BreakerConfig::default());
    /// let names: Vec<_> = registry.list("webhook/*").iter().map(|s| s.name.to_string()).collect();
    /// assert_eq!(names, ["webhook/a", "webhook/b"]);
    /// ```
    pub fn list(&self, pattern: &str) -> Vec<Snapshot> {
        let matching: Vec<_> = self
            .read()
            .iter()
            .filter(|(name, _)| glob_match(pattern, name))
            .map(|(_, e)| e.breaker.clone())
            .collect();
        matching.iter().map(|b| b.snapshot()).collect()
    }

    /// Rejects every call of `name` until reset.
    pub fn force_open(&self, name: &str) -> Result<(), UnknownBreaker> {
        self.named(name).map(|b| b.force_open())
    }

    /// Admits every call of `name` and records nothing until reset.
    pub fn disable(&self, name: &str) -> Result<(), UnknownBreaker> {
        self.named(name).map(|b| b.disable())
    }

    /// Records every call of `name` but never trips, until reset.
    pub fn metrics_only(&self, name: &str) -> Result<(), UnknownBreaker> {
        self.named(name).map(|b| b.metrics_only())
    }

    /// Closes `name` with empty windows.
    pub fn reset(&self, name: &str) -> Result<(), UnknownBreaker> {
        self.named(name).map(|b| b.reset())
    }

    /// Events of every breaker in this registry.
    pub fn subscribe(&self) -> Subscription {
        self.events.subscribe()
    }

    /// The events of every breaker in this registry that `interest` asks for.
    pub fn subscribe_to(&self, interest: crate::Interest) -> Subscription {
        self.events.subscribe_to(interest)
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("breakers", &self.read().keys().collect::<Vec<_>>())
            .finish()
    }
}
