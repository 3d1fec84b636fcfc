//! The registry: breakers shared by name, inspected and steered by name.

use crate::config::{Asked, Base, ConfigSource, Explanation, StatusCell};
use crate::events::{Event, EventBus, Eviction, Subscription};
use crate::family::{Activity, Family, family_of, uniform_over};
use crate::members::Entry;
use crate::{BreakerConfig, CircuitBreaker, Clock, Name, Setting, Snapshot, glob_match};
use std::collections::HashMap;
use std::collections::hash_map::Entry as Slot;
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
#[allow(clippy::result_large_err)] // the registry is handed back whole; this runs once
pub fn init_registry(registry: Registry) -> Result<(), Registry> {
    GLOBAL.set(registry)
}

/// Breakers by name. A name identifies one breaker: two call sites naming it share it, and
/// the first registration's configuration wins (a differing one is reported, not merged).
///
/// Keyed breakers (`family/key`) form families with a cap (`max_keys`) and an idle time
/// (`idle_ttl`): see [`Registry::evict_idle`] and [`Registry::remove`].
pub struct Registry {
    maps: RwLock<Maps>,
    source: RwLock<Arc<ConfigSource>>,
    clock: Clock,
    events: Arc<EventBus>,
    /// The fleets this registry is attached to: (fleet, breaker glob). Behind an `Arc` to keep
    /// `Registry` small (`init_registry` returns it by value).
    fleets: Arc<RwLock<Vec<(String, String)>>>,
    pub(crate) status: Box<StatusCell>,
}

/// Every breaker by name: those without a key here, keyed ones in their family's members
/// (a family is read without visiting the others, and a key is found with one hash).
#[derive(Default)]
struct Maps {
    plain: HashMap<Name, Entry>,
    families: HashMap<Box<str>, Family>,
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
            maps: RwLock::default(),
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
        self.breaker_on(name, Asked::Code(config))
    }

    /// The breaker named `name`, created if it does not exist yet from settings given in two
    /// layers (`outer` under `inner`; the macros pass struct-level, then method-level
    /// arguments), then the configuration file's `[defaults]` under them and its
    /// `[breakers.NAME]` sections and the environment over them: exactly what a
    /// `#[circuit_breaker]` gets. Integrations (a tower layer, an HTTP client middleware)
    /// call it with their own defaults so the file and `CB_BREAKER__*` variables still apply;
    /// `&[], &[]` means "whatever the file and environment say".
    ///
    /// ```
    /// use cb_runtime::{Registry, Setting};
    /// use std::time::Duration;
    ///
    /// let registry = Registry::new();
    /// let defaults = [Setting::ConsecutiveFailures(3), Setting::OpenTimeout(Duration::from_secs(10))];
    /// let breaker = registry.breaker_with_layers("payments", &defaults, &[]);
    /// assert_eq!(breaker.config().consecutive_failures, Some(3));
    /// // `explain` shows where each value came from.
    /// assert!(registry.explain("payments").to_string().contains("consecutive_failures"));
    /// ```
    pub fn breaker_with_layers(&self, name: &str, outer: &[Setting], inner: &[Setting]) -> Arc<CircuitBreaker> {
        self.breaker_on(name, Asked::Layers { outer, inner })
    }

    fn breaker_on(&self, name: &str, asked: Asked<'_>) -> Arc<CircuitBreaker> {
        let family = family_of(name);
        // One read: the breaker if it exists, else the family's configuration if it has one
        // for these arguments (a new key of a uniform family resolves nothing).
        let limits;
        let template = {
            let maps = self.read();
            if let Some(existing) = maps.get(name) {
                self.check_conflict(existing, asked);
                return existing.breaker.clone();
            }
            let members = family.and_then(|f| maps.families.get(f));
            limits = members.map(|m| (m.max_keys, m.idle_ttl));
            members.and_then(|m| {
                let (base, config) = m.template.as_ref()?;
                asked.is(base).then(|| (base.clone(), config.clone()))
            })
        };
        let (asked_config, base, uniform) = match template {
            Some((base, config)) if !singled_out(&self.config_source(), name) => (config, base, true),
            _ => self.config_for(name, family, asked),
        };
        // A key asking for other limits than its family's runs on (and reports) the family's:
        // one cap and one idle time per family.
        let config = match limits {
            Some((max_keys, idle_ttl))
                if (max_keys, idle_ttl)
                    != (
                        asked_config.max_keys,
                        crate::clock::duration_nanos(asked_config.idle_ttl),
                    ) =>
            {
                Arc::new(BreakerConfig {
                    max_keys,
                    idle_ttl: std::time::Duration::from_nanos(idle_ttl),
                    ..(*asked_config).clone()
                })
            }
            _ => asked_config.clone(),
        };
        let now = self.clock.now_nanos();
        // Built before the lock is taken (a thread that loses the race to register the name
        // drops it unused).
        let breaker = Arc::new(
            CircuitBreaker::builder(name)
                .shared_config(config.clone())
                .clock(self.clock.clone())
                .events(self.events.clone())
                .build(),
        );
        let entry = Entry {
            breaker: breaker.clone(),
            base,
            activity: Activity::new(now),
        };
        let mut report = None;
        let mut conflict = None;
        let mut gone = Vec::new();
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        match family {
            None => match maps.plain.entry(breaker.name().clone()) {
                Slot::Occupied(existing) => {
                    self.check_conflict(existing.get(), asked);
                    return existing.get().breaker.clone();
                }
                Slot::Vacant(vacant) => {
                    vacant.insert(entry);
                }
            },
            Some(family) => match maps.families.get_mut(family) {
                Some(members) => {
                    if let Err((_, existing)) = members.members.insert(entry) {
                        self.check_conflict(existing, asked);
                        return existing.breaker.clone();
                    }
                    conflict = members.limits_conflict(family, &asked_config);
                    // Twice per idle time, a look at every member (who is in use, who is
                    // idle); at the cap, a look at the least recently seen only.
                    let due = members.sweep_due(now);
                    if due || members.over_cap() {
                        report = sweep(family, members, now, due, &self.events, &mut gone);
                    }
                }
                None => {
                    let mut members = Family::new(&config, now);
                    let _ = members.members.insert(entry);
                    maps.families.insert(family.into(), members);
                }
            },
        }
        drop(maps);
        // Evicted breakers are dropped outside the lock.
        let report = evictions(gone).chain(report);
        // A key of a uniform family has no variables of its own (the family has none): nothing
        // to collide, and no environment lookup per new key.
        if !uniform {
            self.check_variable_collision(breaker.name());
        }
        for event in report {
            self.events.emit(event);
        }
        if let Some(conflict) = conflict {
            if !self.events.has_subscribers()
                && let Event::ConfigConflict { name, kept, ignored } = &conflict
            {
                eprintln!(
                    "cb: keyed family `{name}` keeps its limits ({kept}); a key of it asked for {ignored} (two types share the family name?)"
                );
            }
            self.events.emit(conflict);
        }
        breaker
    }

    /// The configuration of a new breaker `name` when its family has none for these arguments
    /// yet. A keyed breaker that no file section and no environment variable singles out
    /// shares one resolution per family and macro arguments (kept as the family's template:
    /// later keys resolve nothing and read no environment). Keys that share it also share one
    /// copy of their macro arguments (returned with it), and are told so (`true`: the family
    /// is uniform, no variable names one of its keys).
    fn config_for(&self, name: &str, family: Option<&str>, asked: Asked<'_>) -> (Arc<BreakerConfig>, Arc<Base>, bool) {
        let base = Arc::new(asked.to_base());
        let Some(family) = family else {
            return (Arc::new(self.resolve(name, &base).config), base, false);
        };
        let source = self.config_source();
        if singled_out(&source, name) || !family_is_uniform(&source, family) {
            return (Arc::new(self.resolve(name, &base).config), base, false);
        }
        let config = Arc::new(self.resolve(&format!("{family}/*"), &base).config);
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(members) = maps.families.get_mut(family) {
            members.template = Some((base.clone(), config.clone()));
        } else {
            let mut members = Family::new(&config, self.clock.now_nanos());
            members.template = Some((base.clone(), config.clone()));
            maps.families.insert(family.into(), members);
        }
        drop(maps);
        (config, base, true)
    }

    /// The plain breakers' names and the keyed families' names (not every key).
    pub(crate) fn name_shapes(&self) -> (Vec<String>, Vec<String>) {
        let maps = self.read();
        let plain = maps.plain.keys().map(|n| n.as_str().to_owned()).collect();
        let families = maps.families.keys().map(|f| f.to_string()).collect();
        (plain, families)
    }

    /// What registered breaker `name` was created from (its macro arguments or its
    /// configuration in code).
    pub(crate) fn base_of(&self, name: &str) -> Option<Base> {
        self.read().get(name).map(|e| (*e.base).clone())
    }

    /// A registered keyed family's live keys and the macro arguments its keys were created
    /// with (`None` until a key took the family's shared resolution).
    pub(crate) fn family_view(&self, family: &str) -> Option<(usize, Option<Base>)> {
        let maps = self.read();
        let members = maps.families.get(family)?;
        Some((
            members.members.len(),
            members.template.as_ref().map(|(base, _)| (**base).clone()),
        ))
    }

    /// A keyed family's limits: `max_keys` and `idle_ttl`.
    pub(crate) fn family_limits(&self, family: &str) -> Option<(u32, std::time::Duration)> {
        let maps = self.read();
        let members = maps.families.get(family)?;
        Some((members.max_keys, std::time::Duration::from_nanos(members.idle_ttl)))
    }

    /// Resolves `name` over `base`; problems are reported and a configuration that still
    /// breaks a rule falls back to the built-in defaults.
    fn resolve(&self, name: &str, base: &Base) -> Explanation {
        let mut explained = self.config_source().resolve(name, base);
        self.resolution_problems(name, &mut explained);
        explained
    }

    /// A call site asked for `existing` with other settings: the first registration's stay in
    /// force. Reported once per distinct conflict (of a keyed breaker: of its family, named
    /// `family/*`): stderr (even with no subscriber), an [`Event::ConfigConflict`], and a note
    /// in [`explain`](Self::explain).
    #[cold]
    fn check_conflict(&self, existing: &Entry, asked: Asked<'_>) {
        if asked.is(&existing.base) {
            return;
        }
        // A keyed family's keys conflict alike: one report for the family, not one per key.
        let (name, what) = match family_of(existing.breaker.name().as_str()) {
            Some(family) => (Name::from(format!("{family}/*").as_str()), "keyed family"),
            None => (existing.breaker.name().clone(), "breaker"),
        };
        let (kept, ignored) = crate::config::Base::describe_conflict(&existing.base, &asked.to_base());
        let message = format!(
            "{what} `{name}` keeps the configuration it was first registered with ({kept}); a later registration asked for {ignored}, which is ignored (two types or functions share the name? give one of them its own `name`)"
        );
        if self.status.conflict(name.as_str(), &message) {
            eprintln!("cb: {message}");
            self.events.emit(Event::ConfigConflict { name, kept, ignored });
        }
    }

    /// What the fleets this breaker is shared with do and do not decide.
    pub(crate) fn fleet_notes(&self, name: &str, config: &BreakerConfig) -> Vec<String> {
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
    #[cfg_attr(not(any(feature = "redis", feature = "nats")), allow(dead_code))]
    pub(crate) fn mark_fleet_attached(&self, fleet: &str, glob: &str) {
        let mut fleets = self.fleets.write().unwrap_or_else(PoisonError::into_inner);
        fleets.push((fleet.to_owned(), glob.to_owned()));
    }

    /// Forgets one attachment of breakers matching `glob`.
    #[cfg_attr(not(any(feature = "redis", feature = "nats")), allow(dead_code))]
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
        let entries: Vec<(Arc<CircuitBreaker>, Arc<Base>)> = {
            let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
            for family in maps.families.values_mut() {
                family.template = None;
            }
            maps.entries().map(|e| (e.breaker.clone(), e.base.clone())).collect()
        };
        let mut changed = Vec::new();
        for (breaker, base) in entries {
            let config = self.resolve(breaker.name(), &base).config;
            if let Some(family) = family_of(breaker.name()) {
                let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
                if let Some(members) = maps.families.get_mut(family) {
                    members.limit(&config);
                }
            }
            if config == breaker.config() {
                continue;
            }
            let changes = breaker.reconfigure(config);
            self.events.emit(Event::Reconfigured {
                name: breaker.name().clone(),
                changes: changes.clone(),
            });
            changed.push((breaker.name().clone(), changes));
        }
        changed
    }

    /// Reports fleet membership news.
    #[cfg_attr(not(any(feature = "redis", feature = "nats")), allow(dead_code))]
    pub(crate) fn report_fleet(&self, message: String) {
        self.events.emit(Event::FleetReport { message });
    }

    /// Sends an event of this registry to tracing and subscribers.
    pub(crate) fn emit_event(&self, event: Event) {
        self.events.emit(event);
    }

    /// Whether anyone subscribes to this registry's events.
    pub(crate) fn has_any_subscribers(&self) -> bool {
        self.events.has_any_subscribers()
    }

    /// The breaker named `name`, if registered.
    pub fn get(&self, name: &str) -> Option<Arc<CircuitBreaker>> {
        self.read().get(name).map(|e| e.breaker.clone())
    }

    /// The names of every registered breaker, in order.
    pub fn names(&self) -> Vec<Name> {
        let mut names: Vec<Name> = self.read().entries().map(|e| e.breaker.name().clone()).collect();
        names.sort_unstable();
        names
    }

    /// Unregisters `name`, whatever its state: the next use of the name creates a new breaker
    /// (Closed, with the configuration then in force). Holders of the old one keep a working
    /// breaker that no call site hands out anymore. Emits `Event::Evicted` (`Removed`).
    pub fn remove(&self, name: &str) -> Result<(), UnknownBreaker> {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        let entry = maps.unregister(name).ok_or_else(|| UnknownBreaker(name.to_owned()))?;
        drop(maps);
        self.events.emit(Event::Evicted {
            name: entry.breaker.name().clone(),
            reason: Eviction::Removed,
        });
        Ok(())
    }

    /// Evicts, in every family, the keyed breakers that are Closed, held by nobody and unused
    /// for their family's `idle_ttl` (also done as new keys arrive; call this from a periodic
    /// task to free memory when none do). Returns how many went.
    pub fn evict_idle(&self) -> usize {
        let now = self.clock.now_nanos();
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        let families: Vec<Box<str>> = maps.families.keys().cloned().collect();
        let mut gone = Vec::new();
        let mut warnings = Vec::new();
        for family in &families {
            if let Some(members) = maps.families.get_mut(family) {
                warnings.extend(sweep(family, members, now, true, &self.events, &mut gone));
            }
        }
        drop(maps);
        let evicted = gone.len();
        for event in evictions(gone).chain(warnings) {
            self.events.emit(event);
        }
        evicted
    }

    /// Keyed families: name, live breakers, `max_keys`, and evictions so far.
    pub fn families(&self) -> Vec<FamilyStats> {
        let maps = self.read();
        let mut out: Vec<FamilyStats> = maps
            .families
            .iter()
            .map(|(name, f)| FamilyStats {
                name: name.to_string(),
                live: f.members.len(),
                max_keys: f.max_keys,
                evicted: f.evicted,
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Every registered breaker, in no particular order (for a scrape: snapshots are taken
    /// without the lock).
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn all(&self) -> Vec<Arc<CircuitBreaker>> {
        self.read().entries().map(|e| e.breaker.clone()).collect()
    }

    /// Each family with the summed counters of the breakers that have left it.
    #[cfg_attr(not(feature = "prometheus"), allow(dead_code))]
    pub(crate) fn family_remains(&self) -> Vec<(String, Option<Snapshot>, u64)> {
        let mut maps = self.maps.write().unwrap_or_else(PoisonError::into_inner);
        maps.families
            .iter_mut()
            .map(|(name, f)| (name.to_string(), remains(name, f), f.evicted))
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Maps> {
        self.maps.read().unwrap_or_else(PoisonError::into_inner)
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
    ///
    /// A pattern whose literal prefix has a `/` (`webhook/*`, `webhook/a?`) reads that one
    /// family, not every breaker.
    pub fn list(&self, pattern: &str) -> Vec<Snapshot> {
        let literal = pattern.split(['*', '?']).next().unwrap_or_default();
        let mut matching: Vec<Arc<CircuitBreaker>> = {
            let maps = self.read();
            let candidates: Box<dyn Iterator<Item = &Entry>> = match family_of(literal) {
                Some(family) => Box::new(maps.families.get(family).into_iter().flat_map(|f| f.members.iter())),
                None => Box::new(
                    maps.plain.values().chain(
                        maps.families
                            .iter()
                            .filter(|(family, _)| family.starts_with(literal))
                            .flat_map(|(_, f)| f.members.iter()),
                    ),
                ),
            };
            candidates
                .filter(|e| e.breaker.name().starts_with(literal) && glob_match(pattern, e.breaker.name()))
                .map(|e| e.breaker.clone())
                .collect()
        };
        matching.sort_unstable_by(|a, b| a.name().cmp(b.name()));
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
        self.subscribe_to(crate::Interest::Everything)
    }

    /// The events of every breaker in this registry that `interest` asks for. The first
    /// subscription also receives the configuration problems reported before anyone
    /// subscribed (`Event::ConfigRejected`): the global registry reads its file at its first
    /// use, which may be this very call.
    pub fn subscribe_to(&self, interest: crate::Interest) -> Subscription {
        let subscription = self.events.subscribe_to(interest);
        for error in self.status.undelivered() {
            self.events.deliver(Event::ConfigRejected { error });
        }
        subscription
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let maps = self.read();
        f.debug_struct("Registry")
            .field("breakers", &maps.entries().count())
            .field("families", &maps.families.len())
            .finish_non_exhaustive()
    }
}

/// A keyed family's numbers (see [`Registry::families`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FamilyStats {
    /// The family: the part of its breakers' names before `/`.
    pub name: String,
    /// Breakers registered now.
    pub live: usize,
    /// Its cap.
    pub max_keys: u32,
    /// Breakers evicted so far (idle or over the cap; `remove` not included).
    pub evicted: u64,
}

impl Maps {
    fn get(&self, name: &str) -> Option<&Entry> {
        match family_of(name) {
            Some(family) => self.families.get(family)?.members.get(name),
            None => self.plain.get(name),
        }
    }

    /// Every registered breaker, in no particular order.
    fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.plain
            .values()
            .chain(self.families.values().flat_map(|f| f.members.iter()))
    }

    /// Takes `name` out, keeping its family's count; the breaker is marked retired.
    fn unregister(&mut self, name: &str) -> Option<Entry> {
        match family_of(name) {
            Some(family) => {
                let members = self.families.get_mut(family)?;
                let entry = members.members.remove(name)?;
                leave(family, members, &entry);
                Some(entry)
            }
            None => {
                let entry = self.plain.remove(name)?;
                entry.breaker.retire();
                Some(entry)
            }
        }
    }
}

/// Evicts from `family` the evictable breakers idle for its `idle_ttl`, then, while it is over
/// `max_keys`, the evictable ones unused the longest (see [`Family::sweep`]; `everyone` looks at
/// every member). The evicted entries go to `gone`, to be dropped and reported (see
/// [`evictions`]) once the lock is released; returns the warning that the family stays over
/// its cap, the first time it does.
fn sweep(
    family: &str,
    limits: &mut Family,
    now: u64,
    everyone: bool,
    events: &EventBus,
    gone: &mut Vec<(Entry, Eviction)>,
) -> Option<Event> {
    let max_keys = limits.max_keys as usize;
    let before = gone.len();
    limits.sweep(now, everyone, gone);
    for (entry, _) in &gone[before..] {
        leave(family, limits, entry);
    }
    limits.evicted += (gone.len() - before) as u64;
    limits.swept_at = now;
    let live = limits.members.len();
    if live <= max_keys {
        limits.next_cap_sweep = 0;
        limits.over_reported = false;
        return None;
    }
    limits.next_cap_sweep = live + (max_keys / 10).max(1);
    if limits.over_reported {
        return None;
    }
    limits.over_reported = true;
    let warning = Event::FamilyOverCap {
        family: family.to_owned(),
        live,
        max_keys: limits.max_keys,
    };
    if !events.has_subscribers() {
        eprintln!("cb: {}", over_cap_message(&warning));
    }
    Some(warning)
}

/// The events of evicted breakers; each breaker is dropped as its event is made.
fn evictions(gone: Vec<(Entry, Eviction)>) -> impl Iterator<Item = Event> {
    gone.into_iter().map(|(entry, reason)| Event::Evicted {
        name: entry.breaker.name().clone(),
        reason,
    })
}

/// Marks a breaker that left `family` retired and adds its counters to the family's remains;
/// one that somebody still holds (a call in flight, a call site's cache: possible after
/// `remove`) may still count, so it is kept and counted when the remains are read, until its
/// last holder lets go.
fn leave(family: &str, members: &mut Family, entry: &Entry) {
    entry.breaker.retire();
    fold_released(family, members);
    if Arc::strong_count(&entry.breaker) > 1 {
        members.held.push(entry.breaker.clone());
    } else {
        add_to_remains(family, &mut members.gone, &entry.breaker);
    }
}

/// Adds the counters of the kept breakers nobody else holds any more to the family's remains,
/// and lets them go.
fn fold_released(family: &str, members: &mut Family) {
    let gone = &mut members.gone;
    members.held.retain(|breaker| {
        let held = Arc::strong_count(breaker) > 1;
        if !held {
            add_to_remains(family, gone, breaker);
        }
        held
    });
}

/// Adds `breaker`'s counters to a family's remains (made on the first breaker to leave).
fn add_to_remains(family: &str, gone: &mut Option<Box<Snapshot>>, breaker: &CircuitBreaker) {
    breaker.add_counters_to(gone.get_or_insert_with(|| Box::new(Snapshot::empty(Name::from(family)))));
}

/// A family's remains as of now: the counters of the breakers that left it, those still held
/// included.
fn remains(family: &str, members: &mut Family) -> Option<Snapshot> {
    fold_released(family, members);
    let mut out = members.gone.as_deref().cloned();
    for breaker in &members.held {
        breaker.add_counters_to(out.get_or_insert_with(|| Snapshot::empty(Name::from(family))));
    }
    out
}

fn over_cap_message(event: &Event) -> String {
    match event {
        Event::FamilyOverCap { family, live, max_keys } => format!(
            "keyed circuit breakers `{family}/*`: {live} live, over max_keys = {max_keys}, because the others are tripped or in use"
        ),
        _ => String::new(),
    }
}

/// Whether a file section names `name` itself (not only its family).
fn singled_out(source: &ConfigSource, name: &str) -> bool {
    source.file().is_some_and(|f| f.patterns().any(|p| p == name))
}

/// Whether every key of `family` gets the same file sections and no environment variable
/// configures one of its keys (the environment is read here, once per family).
fn family_is_uniform(source: &ConfigSource, family: &str) -> bool {
    let prefix = format!("CB_BREAKER__{}_", env_stem(family));
    // `CB_BREAKER__<FAMILY>__MAX_KEYS` and `__IDLE_TTL` are the family's own, the same for all.
    let family_wide = |k: &str| matches!(k.strip_prefix(&prefix), Some("_MAX_KEYS" | "_IDLE_TTL"));
    let by_env =
        std::env::vars_os().any(|(k, _)| k.to_str().is_some_and(|k| k.starts_with(&prefix) && !family_wide(k)));
    !by_env
        && source
            .file()
            .is_none_or(|f| f.patterns().all(|p| uniform_over(p, family)))
}

/// `webhook/billing` as environment variables spell it: `WEBHOOK_BILLING`.
fn env_stem(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}
