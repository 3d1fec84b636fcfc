//! The circuit breaker: a lock-free state machine over one packed atomic word.
//!
//! A call acquires a [`Permit`] ([`CircuitBreaker::try_acquire`]), runs, and records one
//! [`Outcome`] on the permit. In the Closed state with nothing changing, that is a few loads
//! and per-thread stores: no lock, no allocation, no shared write, and a clock read only when a
//! time window or slow-call detection needs one.

pub(crate) mod backoff;
mod call;
mod control;
mod deadline;
mod fleet_hooks;
mod observed;
mod owned;
mod permit;
mod record;
mod run;
pub(crate) mod stripe;
mod tunables;
pub(crate) mod word;

pub use control::ControlError;
pub use owned::OwnedPermit;
pub use permit::{Outcome, Permit};

use crate::clock::{Clock, duration_nanos};
use crate::config::{BreakerConfig, Window};
use crate::events::{Event, EventBus, Reason, Subscription};
use crate::window::Counts;
use crate::window::count::CountWindow;
use crate::window::time::TimeWindow;
use crate::{Rejected, State};
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU16, AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use stripe::{Slot, Stripes, Total};
use tunables::Tunables;
use word::Word;

/// A circuit breaker. Share it by reference or `Arc`; every method takes `&self`.
///
/// ```
/// use cb_runtime::{BreakerConfig, CircuitBreaker, State, Window};
///
/// let breaker = CircuitBreaker::new(
///     "payments",
///     BreakerConfig::builder().consecutive_failures(2).build().unwrap(),
/// );
/// for _ in 0..2 {
///     let _ = breaker.call_sync(|| Err::<(), _>("declined"));
/// }
/// assert_eq!(breaker.state(), State::Open);
/// assert!(breaker.call_sync(|| Ok::<_, &str>(1)).unwrap_err().is_rejected());
/// ```
// Field order is layout (`repr(C)`): the words failures write to (the run, a count window's
// head and totals) come first, then at least 64 bytes of fields only transitions and
// snapshots touch, then what every call reads (state, tunables, stripes, the time window's
// marks). So a failure on one core does not evict the line another core's next call reads.
#[repr(C)]
pub struct CircuitBreaker {
    /// The run of consecutive failures (see [`run`]).
    consecutive: AtomicU64,
    count_window: Option<CountWindow>,
    stamp: AtomicU64,
    /// The nanoseconds below the stamp's millisecond (see `deadline`).
    stamp_fine: AtomicU64,
    /// The generation of the last period adopted from a fleet.
    #[cfg_attr(not(any(feature = "redis", feature = "nats")), allow(dead_code))]
    adopted: AtomicU64,
    name: crate::Name,
    /// The configuration in force: one `Arc` that the keys of a uniform family share.
    config: Mutex<Arc<BreakerConfig>>,
    /// What snapshots explain periods with, written on transitions only (allocated then).
    history: std::sync::OnceLock<Box<control::History>>,
    events: Arc<EventBus>,
    /// Time in each state, probes, fallback durations.
    observed: observed::Observed,
    state: AtomicU64,
    tunables: Tunables,
    stripes: Stripes,
    time_window: Option<TimeWindow>,
    clock: Clock,
    reopens: AtomicU32,
    /// Callers between deciding to take a half-open slot and stamping their time (see
    /// [`Taking`]), and in the top bit a caller deciding a re-open (see [`Deciding`]); 16 bits
    /// fit the padding after `reopens` (a keyed breaker stays under 1 KB).
    taking: AtomicU16,
    /// Whether an Open breaker whose wait has passed may let a probe through (a fleet holds
    /// this off while another instance probes).
    may_probe: AtomicBool,
    /// Set when a registry evicts or removes this breaker: call-site caches drop it and ask
    /// the registry again (holders of an `Arc` keep a working, unregistered breaker).
    retired: AtomicBool,
}

impl CircuitBreaker {
    /// A standalone breaker on the monotonic clock. Breakers shared by name come from
    /// [`registry()`](fn@crate::registry) instead.
    pub fn new(name: &str, config: BreakerConfig) -> Self {
        Self::builder(name).config(config).build()
    }

    /// A builder for a standalone breaker with another clock.
    ///
    /// ```
    /// use cb_runtime::{CircuitBreaker, ManualClock};
    ///
    /// let clock = ManualClock::new();
    /// let breaker = CircuitBreaker::builder("tests").clock(clock.clone()).build();
    /// # let _ = breaker;
    /// ```
    pub fn builder(name: &str) -> CircuitBreakerBuilder {
        CircuitBreakerBuilder {
            name: crate::Name::from(name),
            config: Arc::default(),
            clock: Clock::default(),
            events: None,
            initial: State::Closed,
        }
    }

    /// The breaker's name.
    pub fn name(&self) -> &crate::Name {
        &self.name
    }

    /// The configuration in force.
    pub fn config(&self) -> BreakerConfig {
        BreakerConfig::clone(&self.config.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Takes on a new configuration while calls run, keeping state, windows and counts.
    /// Thresholds apply from the next call; a different window (kind or size) cannot be
    /// swapped under running calls and keeps the old one until restart (the returned list
    /// says so). Returns what changed, as `key: old -> new`.
    pub fn reconfigure(&self, config: BreakerConfig) -> Vec<String> {
        // No half-open re-open is decided from before the new rules are stored until the
        // period's time stands for them: a decider reads the max wait and the time under
        // `Deciding`, which this count keeps anyone from taking (one that holds it now
        // finishes first, under the old rules).
        let deciding_held_off = Taking::once_undecided(&self.taking);
        // A time to fall back on if the clock panics once the rules are in force (read before
        // the lock: no clock source runs under it, and one that panics here changes nothing).
        // Read whenever the new rules have a wait: whether they turn it on is known only
        // under the lock, and another reconfiguration may turn it off before that.
        let before = config.half_open_max_wait.map(|_| self.clock.now_nanos());
        let mut current = self.config.lock().unwrap_or_else(PoisonError::into_inner);
        let mut changes = crate::config::diff(&current, &config);
        let mut config = config;
        if config.window != current.window {
            changes.push(format!("window change to {:?} applies after a restart", config.window));
            config.window = current.window;
        }
        let wait_turned_on = current.half_open_max_wait.is_none() && config.half_open_max_wait.is_some();
        let new = Arc::new(config);
        let old = self.put_in_force(&mut current, Arc::clone(&new));
        // No clock source runs under the configuration lock (one may read `config()`).
        drop(current);
        let word = self.load();
        if wait_turned_on && word.state() == State::HalfOpen {
            // Probes stamp no time while no max wait is set: the wait counts from now, when
            // every probe in flight has started (a later one stamps its own start). A clock
            // source that panics here leaves the old rules in force instead, or, if another
            // reconfiguration has replaced them, the time read before.
            let on_unwind = RestoreOnUnwind {
                breaker: self,
                old: &old,
                new: &new,
                before: before.map(|nanos| (nanos, word.generation())),
            };
            self.write_latest(self.clock.now_nanos(), word.generation());
            // Disarmed by forgetting it, not by `thread::panicking()`: a reconfiguration made
            // while another panic unwinds (from a `Drop`) keeps its rules.
            std::mem::forget(on_unwind);
        }
        drop(deciding_held_off);
        changes
    }

    /// Makes `config` the configuration in force (`current`, under its lock); the one it
    /// replaces.
    fn put_in_force(&self, current: &mut Arc<BreakerConfig>, config: Arc<BreakerConfig>) -> Arc<BreakerConfig> {
        self.tunables.store(&config);
        // Paired with the fence after a time window's judgement (see `time_window_record`).
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(window) = &self.time_window {
            // Judged against the old thresholds: a success in this bucket may reach new ones.
            window.forget_judgement();
        }
        if let Some(window) = &self.count_window {
            // Likewise, an outcome that leaves the counts as they were.
            window.rules_changed(self.tunables.rates());
        }
        std::mem::replace(current, config)
    }

    /// Events of this breaker (for a registry's breakers, of every breaker in it).
    pub fn subscribe(&self) -> Subscription {
        self.events.subscribe()
    }

    /// The events of this breaker (of a registry's breakers: every breaker in it) that
    /// `interest` asks for.
    pub fn subscribe_to(&self, interest: crate::Interest) -> Subscription {
        self.events.subscribe_to(interest)
    }

    /// Asks to run one call. On success, record the call's outcome on the permit; a permit
    /// dropped unrecorded counts nothing (a cancelled call) and frees its half-open slot, and
    /// one dropped while its thread panics counts as a failure.
    #[inline]
    pub fn try_acquire(&self) -> Result<Permit<'_>, Rejected> {
        if let Some(permit) = self.closed_permit() {
            return Ok(permit);
        }
        let word = Word(self.state.load(Ordering::Acquire));
        match word.state() {
            State::Closed | State::MetricsOnly | State::Disabled => Ok(self.permit(word)),
            _ => self.acquire_contended(word),
        }
    }

    /// The permit of the common case, a Closed breaker with nothing to time (no slow-call
    /// detection, and not the call a duration sample times); `None` otherwise
    /// (then [`try_acquire`](Self::try_acquire) decides). Built where the caller keeps it: a
    /// permit that goes through a `Result` first is copied with wider loads than the stores
    /// that wrote it, which stalls.
    #[inline(always)]
    pub(crate) fn closed_permit(&self) -> Option<Permit<'_>> {
        let word = Word(self.state.load(Ordering::Acquire));
        (word.is_closed() && self.tunables.slow_nanos().is_none() && crate::timing::skip_sample())
            .then(|| Permit::new(self, word, crate::timing::NOT_TIMED))
    }

    /// `start` read again now, with the clock it was read with (or not at all, for a call not
    /// timed): a permit taken ahead of its call (a tower service's `poll_ready`) times the
    /// call from when it is made, not the wait for the inner service's readiness.
    #[cfg(feature = "tower")]
    pub(crate) fn restart(&self, start: u64) -> u64 {
        if start == crate::timing::NOT_TIMED {
            start
        } else if crate::timing::is_sampled(start) {
            crate::timing::sampled_again(start, self.clock.precise_nanos())
        } else {
            crate::timing::coarse_start(self.clock.now_nanos())
        }
    }

    /// A permit of period `word`, with its start time where slow-call detection or the
    /// duration histogram (one call in a sample) needs one.
    #[inline(never)]
    fn permit(&self, word: Word) -> Permit<'_> {
        let start = if word.state() == State::Disabled {
            crate::timing::NOT_TIMED
        } else if let Some(weight) = crate::timing::sample_due() {
            crate::timing::sampled_start(self.clock.precise_nanos(), weight)
        } else if self.tunables.slow_nanos().is_some() {
            crate::timing::coarse_start(self.clock.now_nanos())
        } else {
            crate::timing::NOT_TIMED
        };
        Permit::new(self, word, start)
    }

    #[cold]
    fn acquire_contended(&self, mut word: Word) -> Result<Permit<'_>, Rejected> {
        loop {
            match word.state() {
                State::Closed | State::MetricsOnly | State::Disabled => {
                    return Ok(self.permit(word));
                }
                State::ForcedOpen => return Err(self.reject(State::ForcedOpen, None)),
                State::Open => {
                    let now = self.clock.now_nanos();
                    match self.stamp_time(word.generation()) {
                        Some(deadline) if now > deadline && self.may_probe.load(Ordering::Acquire) => {
                            let next = word.next(State::HalfOpen).with_in_flight(1);
                            // `now` was read before the transition: the probe it admits is
                            // timed after it (see `Taking`). A new period: no decider's word
                            // can come back, so a decision under way does not hold it off.
                            let taking = Taking::count(&self.taking);
                            match self.swap_state(word, next, Reason::OpenWaitElapsed, now) {
                                Ok(()) => {
                                    self.stamp_probe(taking, next);
                                    self.observed.probe();
                                    return Ok(self.permit(next));
                                }
                                Err(current) => word = current,
                            }
                        }
                        // Until the wait ends, the time left (at least 1 ns: at the deadline a
                        // call is still rejected); after it, while another instance of the
                        // fleet holds the probe, nobody knows.
                        Some(deadline) => {
                            let wait =
                                (now <= deadline).then(|| std::time::Duration::from_nanos((deadline - now).max(1)));
                            return Err(self.reject(State::Open, wait));
                        }
                        None => {
                            let current = self.load();
                            if current == word {
                                return Err(self.reject(State::Open, None));
                            }
                            word = current;
                        }
                    }
                }
                State::HalfOpen => {
                    if word.in_flight() < self.tunables.half_open_max_calls() {
                        // With a max wait set, the period's time is each probe's start (see
                        // `reopen_undecided`), read once its slot is taken (`stamp_probe`).
                        let Some(taking) = Taking::unless_deciding(&self.taking) else {
                            return Err(self.reject(State::HalfOpen, None));
                        };
                        let next = word.with_in_flight(word.in_flight() + 1);
                        match self.cas(word, next) {
                            Ok(()) => {
                                self.stamp_probe(taking, next);
                                self.observed.probe();
                                return Ok(self.permit(next));
                            }
                            Err(current) => word = current,
                        }
                        continue;
                    }
                    let decided = self.reopen_undecided(word).is_some();
                    let current = self.load();
                    // Undecided, unless the period moved meanwhile (then say what it is).
                    if !decided && current == word {
                        return Err(self.reject(State::HalfOpen, None));
                    }
                    word = current;
                }
            }
        }
    }

    /// Stamps the HalfOpen period `next` (the word this probe's slot made) with the time read
    /// now, after the slot was taken: the probe's start, never earlier than its slot. Only a
    /// time later than the period's replaces it (see `write_latest`), so the period's time is
    /// its newest probe's, however late this one reads. Only with a max wait set, checked
    /// while this caller still counts in `taking`: a max wait turned on since stamps the
    /// reconfiguration's time, later than this check.
    #[inline]
    fn stamp_probe(&self, taking: Taking<'_>, next: Word) {
        if self.tunables.half_open_max_wait().is_some() {
            self.write_latest(self.clock.now_nanos(), next.generation());
        }
        drop(taking);
    }

    /// Re-opens HalfOpen period `word` if every slot is held and the newest probe (from the
    /// period's start if it began with one) has run past `half_open_max_wait`: then every
    /// probe holding a slot has been undecided for longer than the wait, and none is cut
    /// short. With a slot free, the next call is a probe (whoever looks: `try_acquire` or
    /// `state()`). `None` if it has not, or while a caller is between taking a slot and
    /// stamping its time, or another caller decides; else the new period, or `Some(None)` if
    /// the word moved first.
    fn reopen_undecided(&self, word: Word) -> Option<Option<Word>> {
        let past_wait = |now: u64| {
            let max_wait = self.tunables.half_open_max_wait()?;
            if word.in_flight() == 0 || word.in_flight() < self.tunables.half_open_max_calls() {
                return None;
            }
            let since = self.stamp_time(word.generation())?;
            let waited = now.saturating_sub(since);
            (waited > max_wait).then_some(waited)
        };
        // A look holding nothing first: most checks end here, and keep no slot from anyone.
        let now = self.clock.now_nanos();
        past_wait(now)?;
        // Then again with takers held off until the swap: otherwise a probe giving its slot
        // back and another taking it could restore `word` after this look, and the swap
        // would cut the new probe short; the rules too are read again (a reconfiguration
        // since may have changed them, and cannot while this holds). With the time read
        // before: no user code (a clock source) runs while takers and reconfigurations wait
        // on this, and a probe that took its slot since reads a time after it (no wait).
        let now = self.clock.now_nanos();
        let deciding = Deciding::hold(&self.taking)?;
        let waited = past_wait(now)?;
        let next = word.next(State::Open);
        let swapped = self.cas(word, next);
        drop(deciding);
        if swapped.is_err() {
            return Some(None);
        }
        let reason = Reason::ProbesUndecided {
            waited: std::time::Duration::from_nanos(waited),
        };
        self.swapped(word, next, reason, now);
        Some(Some(next))
    }

    #[cold]
    fn reject(&self, state: State, retry_after: Option<std::time::Duration>) -> Rejected {
        let slot = Slot::current();
        self.stripes.get(slot).count(Total::Rejected, slot);
        if self.events.has_subscribers() {
            self.events.emit(Event::Rejected {
                name: self.name.clone(),
                state,
            });
        } else {
            crate::events::trace_rejected(&self.name, state);
        }
        Rejected {
            name: self.name.clone(),
            state,
            retry_after,
        }
    }

    #[inline]
    fn load(&self) -> Word {
        Word(self.state.load(Ordering::Acquire))
    }

    fn cas(&self, from: Word, to: Word) -> Result<(), Word> {
        self.state
            .compare_exchange(from.0, to.0, Ordering::AcqRel, Ordering::Acquire)
            .map(|_| ())
            .map_err(Word)
    }

    /// Moves from `from` to a new period in `to`; `None` if the state moved first.
    fn transition(&self, from: Word, to: State, reason: Reason) -> Option<Word> {
        let next = from.next(to);
        self.swap_state(from, next, reason, self.clock.now_nanos())
            .ok()
            .map(|()| next)
    }

    /// Trips Closed period `from` into Open for `reason`, keeping `counts` (the numbers that
    /// tripped it, judged under `minimum_calls`) for snapshots of the Open period; `None` if
    /// the state moved first.
    fn trip(&self, from: Word, reason: Reason, counts: Counts, minimum_calls: u64) -> Option<Word> {
        let next = from.next(State::Open);
        self.cas(from, next).ok()?;
        // Before the reason: a snapshot that sees the reason sees these numbers.
        self.keep_trip(counts, minimum_calls, next);
        self.swapped(from, next, reason, self.clock.now_nanos());
        Some(next)
    }

    /// CAS `from` -> `next`, then stamps the new period and announces it.
    fn swap_state(&self, from: Word, next: Word, reason: Reason, now: u64) -> Result<(), Word> {
        self.cas(from, next)?;
        self.swapped(from, next, reason, now);
        Ok(())
    }

    /// Stamps the new period `next` (the state word is `next` now) and announces it.
    fn swapped(&self, from: Word, next: Word, reason: Reason, now: u64) {
        match next.state() {
            State::Open => {
                let k = if from.state() == State::HalfOpen {
                    self.reopens.fetch_add(1, Ordering::AcqRel) + 1
                } else {
                    self.reopens.store(0, Ordering::Release);
                    0
                };
                let config = Arc::clone(&self.config.lock().unwrap_or_else(PoisonError::into_inner));
                let wait = duration_nanos(backoff::open_wait(&config, k));
                self.write_stamp(now.saturating_add(wait), next.generation());
                self.opened(next, reason);
            }
            State::HalfOpen => self.write_latest(now, next.generation()),
            State::Closed => self.reopens.store(0, Ordering::Release),
            _ => {}
        }
        self.announce(from, next, reason);
    }
}

impl CircuitBreaker {
    /// Counts a transition and emits its event.
    fn announce(&self, from: Word, next: Word, reason: Reason) {
        // The run word follows every period, so that its 8 bits of generation stay near the
        // state word's (see `run`); not a period that is over by now (an announcement that
        // comes late, after 128 or more transitions, would look newer than the word's and
        // leave it behind: every failure after it would be dropped as an older period's).
        let _ = self
            .consecutive
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                run::begin(held, next.generation()).filter(|_| self.in_force(next))
            });
        // So does the stamp (Open and HalfOpen periods stamped theirs already): its 16 bits of
        // generation could otherwise take a stamp 2^16 transitions back for the new period's
        // while it is not written yet.
        if !matches!(next.state(), State::Open | State::HalfOpen) {
            self.write_stamp(0, next.generation());
        }
        // The windows follow every period too, so that their tags stay near the state word's.
        if let Some(window) = &self.count_window {
            window.begin(next.generation());
        }
        if let Some(window) = &self.time_window {
            window.begin(&self.stripes, next.generation());
        }
        self.start_period(next);
        self.observed
            .entered(from.state(), next.state(), next.generation(), self.clock.now_nanos());
        if from.state() == State::Closed && next.state() == State::Open {
            crate::events::trace_breach(&self.name, &reason, self.tunables.consecutive());
        }
        self.history().transitions[from.state() as usize * 6 + next.state() as usize].fetch_add(1, Ordering::Relaxed);
        if from.state() != next.state() || matches!(reason, Reason::Fleet { .. }) {
            self.events.emit(Event::Transition {
                name: self.name.clone(),
                from: from.state(),
                to: next.state(),
                reason,
            });
        }
    }
}

/// What a registry needs to manage a breaker's lifetime.
impl CircuitBreaker {
    /// Marks the breaker as no longer registered.
    pub(crate) fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }

    /// Whether a registry evicted or removed this breaker.
    #[inline]
    pub(crate) fn is_retired(&self) -> bool {
        self.retired.load(Ordering::Relaxed)
    }

    /// Outcomes and rejections counted so far: unchanged between two looks means unused.
    /// One pass over the stripes: an eviction sweep reads this for each member it looks at.
    pub(crate) fn activity(&self) -> u64 {
        let mut sum = 0u64;
        self.stripes.for_each(|stripe| {
            for t in [
                Total::Success,
                Total::Stale,
                Total::Failure,
                Total::Ignored,
                Total::Rejected,
                Total::Timeout,
            ] {
                sum = sum.wrapping_add(stripe.total(t));
            }
        });
        sum
    }

    /// The state as stored, without applying time rules (an Open breaker stays Open here).
    pub(crate) fn stored_state(&self) -> State {
        self.load().state()
    }
}

impl fmt::Debug for CircuitBreaker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CircuitBreaker")
            .field("name", &self.name)
            .field("state", &self.load().state())
            .field("config", &self.config())
            .finish_non_exhaustive()
    }
}

/// Builds a standalone [`CircuitBreaker`].
#[derive(Debug)]
pub struct CircuitBreakerBuilder {
    name: crate::Name,
    config: Arc<BreakerConfig>,
    clock: Clock,
    events: Option<Arc<EventBus>>,
    initial: State,
}

impl CircuitBreakerBuilder {
    /// The configuration (already validated by its builder).
    pub fn config(mut self, config: BreakerConfig) -> Self {
        self.config = Arc::new(config);
        self
    }

    /// The configuration, shared with other breakers (the keys of a family).
    pub(crate) fn shared_config(mut self, config: Arc<BreakerConfig>) -> Self {
        self.config = config;
        self
    }

    /// The clock (default: monotonic).
    pub fn clock(mut self, clock: impl Into<Clock>) -> Self {
        self.clock = clock.into();
        self
    }

    /// The state the breaker starts in: `Closed` (the default), `ForcedOpen`, `Disabled` or
    /// `MetricsOnly`; `Open` and `HalfOpen` are periods with a deadline and cannot be.
    pub fn initial_state(mut self, state: State) -> Result<Self, ControlError> {
        if matches!(state, State::Open | State::HalfOpen) {
            return Err(ControlError::Illegal {
                from: State::Closed,
                to: state,
            });
        }
        self.initial = state;
        Ok(self)
    }

    pub(crate) fn events(mut self, events: Arc<EventBus>) -> Self {
        self.events = Some(events);
        self
    }

    /// The breaker, Closed.
    pub fn build(self) -> CircuitBreaker {
        let config = self.config;
        let tunables = Tunables::new(&config);
        let (count_window, time_window) = match config.window {
            Window::Count(n) => (Some(CountWindow::new(n, tunables.rates())), None),
            Window::Time(d) => (None, Some(TimeWindow::new(d))),
        };
        let observed = observed::Observed::default();
        observed.begin(self.clock.now_nanos());
        CircuitBreaker {
            state: AtomicU64::new(Word::new(self.initial, 0).0),
            stamp: AtomicU64::new(0),
            stamp_fine: AtomicU64::new(0),
            consecutive: AtomicU64::new(0),
            reopens: AtomicU32::new(0),
            taking: AtomicU16::new(0),
            may_probe: AtomicBool::new(true),
            adopted: AtomicU64::new(u64::MAX),
            name: self.name,
            tunables,
            stripes: Stripes::new(),
            count_window,
            time_window,
            config: Mutex::new(config),
            history: std::sync::OnceLock::new(),
            observed,
            clock: self.clock,
            events: self.events.unwrap_or_default(),
            retired: AtomicBool::new(false),
        }
    }
}

/// The bit of [`CircuitBreaker::taking`] a caller deciding a re-open holds (see [`Deciding`]);
/// the 15 bits below count [`Taking`] callers (each between a check and a store or two).
const DECIDING: u16 = 1 << 15;

/// A caller counted in [`CircuitBreaker::taking`] from before its compare-and-swap for a
/// half-open slot until it has stamped its time (or lost the slot): while any is, no caller
/// re-opens for `half_open_max_wait`, since the stamp may not stand for the newest slot yet.
/// A time read before the swap would be older than the slot by any preemption between them
/// (a probe re-opened on arrival, `waited: 10s`); read after, a preemption only postpones.
/// Dropped on every path, a panicking clock source included, so the count cannot stay up.
struct Taking<'a>(&'a AtomicU16);

impl<'a> Taking<'a> {
    /// Counts a caller about to take the first slot of a new HalfOpen period.
    fn count(taking: &'a AtomicU16) -> Self {
        taking.fetch_add(1, Ordering::Acquire);
        Taking(taking)
    }

    /// Counts a reconfiguration once no caller holds a re-open decision (waiting out one that
    /// does: a few loads and a compare-and-swap), so that none is taken until it drops.
    fn once_undecided(taking: &'a AtomicU16) -> Self {
        let counted = Self::count(taking);
        while taking.load(Ordering::Acquire) & DECIDING != 0 {
            std::thread::yield_now();
        }
        counted
    }

    /// Counts a caller about to take a slot of the HalfOpen period in force; `None` (and not
    /// counted) while another caller decides a re-open: a slot taken then could restore the
    /// word that caller decided on.
    fn unless_deciding(taking: &'a AtomicU16) -> Option<Self> {
        let before = taking.fetch_add(1, Ordering::Acquire);
        let counted = Taking(taking);
        (before & DECIDING == 0).then_some(counted)
    }
}

impl Drop for Taking<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Release);
    }
}

/// Puts the old rules back in force if a reconfiguration that turned the max wait on unwinds
/// before its stamp; if another reconfiguration has replaced its rules since (and may have
/// kept the wait), stamps the time read before the rules went in force instead.
struct RestoreOnUnwind<'a> {
    breaker: &'a CircuitBreaker,
    old: &'a Arc<BreakerConfig>,
    new: &'a Arc<BreakerConfig>,
    /// The time read before, and the HalfOpen period to stamp with it.
    before: Option<(u64, u64)>,
}

impl Drop for RestoreOnUnwind<'_> {
    fn drop(&mut self) {
        let mut current = self.breaker.config.lock().unwrap_or_else(PoisonError::into_inner);
        if Arc::ptr_eq(&current, self.new) {
            self.breaker.put_in_force(&mut current, Arc::clone(self.old));
        } else if let Some((nanos, generation)) = self.before {
            drop(current);
            self.breaker.write_latest(nanos, generation);
        }
    }
}

/// A caller deciding to re-open a HalfOpen period for `half_open_max_wait`, from its look at
/// the period's time to its compare-and-swap (atomics only, no clock source: a
/// reconfiguration waits on it). No slot is taken meanwhile (see
/// [`Taking::unless_deciding`]), so the state word it swaps from cannot have been restored
/// by a release and a new take (its last ABA: no other change brings a HalfOpen word back).
/// Held only once nobody is taking a slot, so the stamp it reads stands for every probe.
struct Deciding<'a>(&'a AtomicU16);

impl<'a> Deciding<'a> {
    /// The decision, if nobody takes a slot or decides now.
    fn hold(taking: &'a AtomicU16) -> Option<Self> {
        taking
            .compare_exchange(0, DECIDING, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Deciding(taking))
    }
}

impl Drop for Deciding<'_> {
    fn drop(&mut self) {
        self.0.fetch_and(!DECIDING, Ordering::Release);
    }
}

#[cfg(test)]
mod deciding {
    use super::*;
    use crate::ManualClock;
    use std::time::Duration;

    /// A HalfOpen breaker (one slot, max wait 5s) with its slot free, on a manual clock.
    fn half_open() -> CircuitBreaker {
        let clock = ManualClock::new();
        let config = BreakerConfig::builder()
            .consecutive_failures(1)
            .open_timeout(Duration::from_secs(10))
            .half_open_max_calls(1)
            .half_open_max_wait(Duration::from_secs(5))
            .jitter(0.0)
            .build()
            .unwrap();
        let b = CircuitBreaker::builder("deciding")
            .config(config)
            .clock(clock.clone())
            .build();
        let _ = b.call_sync(|| Err::<(), _>("down"));
        clock.advance(Duration::from_secs(11));
        assert_eq!(b.state(), State::HalfOpen);
        b
    }

    /// While a decision is held (no clock source can hold one: it is atomics only, so this
    /// test holds it by hand), no slot is taken and no reconfiguration lands; both go on
    /// once it is dropped.
    #[test]
    fn no_slot_is_taken_and_no_reconfiguration_lands_while_a_decision_is_held() {
        let b = half_open();
        let held = Deciding::hold(&b.taking).expect("nobody takes a slot or decides");
        assert!(Deciding::hold(&b.taking).is_none(), "one decision at a time");
        let rejected = b.try_acquire().map(drop).map_err(|r| r.state);
        assert_eq!(rejected, Err(State::HalfOpen), "no slot while a decision is held");
        let mut longer = b.config();
        longer.half_open_max_wait = Some(Duration::from_secs(60));
        std::thread::scope(|s| {
            let reconfiguring = s.spawn(|| b.reconfigure(longer));
            for _ in 0..1000 {
                std::thread::yield_now();
            }
            assert!(!reconfiguring.is_finished(), "it waits the decision out");
            assert_eq!(b.tunables.half_open_max_wait(), Some(5_000_000_000), "not stored yet");
            drop(held);
            reconfiguring.join().unwrap();
        });
        assert_eq!(b.tunables.half_open_max_wait(), Some(60_000_000_000));
        assert_eq!(b.taking.load(Ordering::Acquire), 0, "nothing left counted");
        assert!(
            b.try_acquire().is_ok(),
            "the slot is taken once the decision is dropped"
        );
    }
}

#[cfg(test)]
mod layout {
    use std::mem::offset_of;

    /// What failures write is a cache line away from what every call reads.
    #[test]
    fn failures_write_a_cache_line_away_from_what_calls_read() {
        type B = super::CircuitBreaker;
        let written_end = offset_of!(B, count_window) + std::mem::size_of::<Option<super::CountWindow>>();
        assert!(offset_of!(B, consecutive) < written_end);
        assert!(
            offset_of!(B, state) >= written_end + 64,
            "{} {}",
            offset_of!(B, state),
            written_end
        );
    }
}
