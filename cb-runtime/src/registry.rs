//! The registry: breakers shared by name, inspected and steered by name.

use crate::events::{Event, EventBus, Subscription};
use crate::{BreakerConfig, CircuitBreaker, Clock, Snapshot, glob_match};
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
    GLOBAL.get_or_init(Registry::new)
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
    breakers: RwLock<BTreeMap<&'static str, Arc<CircuitBreaker>>>,
    clock: Clock,
    events: Arc<EventBus>,
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
    /// An empty registry on the monotonic clock (most programs use [`registry()`] instead).
    pub fn new() -> Self {
        Self::with_clock(Clock::default())
    }

    /// An empty registry whose breakers read `clock` (a [`ManualClock`](crate::ManualClock) in tests).
    pub fn with_clock(clock: impl Into<Clock>) -> Self {
        Self {
            breakers: RwLock::default(),
            clock: clock.into(),
            events: Arc::default(),
        }
    }

    /// The breaker named `name`, created with `config` if it does not exist yet.
    pub fn breaker(&self, name: &str, config: &BreakerConfig) -> Arc<CircuitBreaker> {
        if let Some(existing) = self.get(name) {
            self.check_conflict(&existing, config);
            return existing;
        }
        let mut breakers = self.breakers.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(existing) = breakers.get(name) {
            let existing = existing.clone();
            drop(breakers);
            self.check_conflict(&existing, config);
            return existing;
        }
        let breaker = Arc::new(
            CircuitBreaker::builder(name)
                .config(config.clone())
                .clock(self.clock.clone())
                .events(self.events.clone())
                .build(),
        );
        breakers.insert(breaker.name(), breaker.clone());
        breaker
    }

    fn check_conflict(&self, existing: &CircuitBreaker, asked: &BreakerConfig) {
        if existing.config() != *asked {
            self.events.emit(Event::ConfigConflict {
                name: existing.name(),
                kept: format!("{:?}", existing.config()),
                ignored: format!("{asked:?}"),
            });
        }
    }

    /// The breaker named `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        self.read().get(name).cloned()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<&'static str, Arc<CircuitBreaker>>> {
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
    /// let names: Vec<_> = registry.list("webhook/*").iter().map(|s| s.name).collect();
    /// assert_eq!(names, ["webhook/a", "webhook/b"]);
    /// ```
    pub fn list(&self, pattern: &str) -> Vec<Snapshot> {
        let matching: Vec<_> = self
            .read()
            .iter()
            .filter(|(name, _)| glob_match(pattern, name))
            .map(|(_, b)| b.clone())
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
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registry")
            .field("breakers", &self.read().keys().collect::<Vec<_>>())
            .finish()
    }
}
