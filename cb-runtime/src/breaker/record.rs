//! Recording outcomes: counting, the consecutive and rate triggers, and half-open decisions.

use super::CircuitBreaker;
use super::permit::Recorded;
use super::stripe::{Slot, Stripe, Total};
use super::tunables::Mode;
use super::word::Word;
use crate::State;
use crate::events::{Event, Reason};
use crate::window::{Counts, Sample};
use std::sync::atomic::Ordering;
use std::time::Duration;

impl CircuitBreaker {
    /// Records the outcome of a call admitted in period `word`, started at `start`.
    #[inline]
    pub(crate) fn record(&self, word: Word, start: u64, outcome: Recorded) {
        if outcome == Recorded::Success && start == crate::timing::NOT_TIMED && self.quiet_success(word) {
            return;
        }
        self.record_any(word, start, outcome);
    }

    /// An untimed failure of the Closed period in force, counted by a thread with a stripe of
    /// its own, with a count window or no window: [`record_closed`](Self::record_closed)'s
    /// work in its order (the stripe, the window, the run), without its lookups. False
    /// (having done nothing) when any of that does not hold.
    #[inline(always)]
    fn quiet_failure(&self, word: Word) -> bool {
        if !word.is_closed() || self.load() != word {
            return false;
        }
        let mode = self.tunables.mode();
        if mode.rates() && self.count_window.is_none() {
            return false;
        }
        let Some(stripe) = self.stripes.owned(Slot::current()) else {
            return false;
        };
        stripe.count_owned(Total::Failure);
        // Kept with the rates off too (see `quiet_success`), judged only with them on.
        let counts = match &self.count_window {
            Some(window) => window.record(
                word.generation() as u16,
                Sample {
                    failure: true,
                    slow: false,
                },
            ),
            None => None,
        }
        .filter(|_| mode.rates());
        let reason = match self.tunables.run_limit(mode) {
            Some(limit) => self.consecutive_run(word, limit),
            None => None,
        };
        if reason.is_some() || counts.is_some() {
            self.conclude(word, reason, counts, mode);
        }
        true
    }

    /// The common case in full: an untimed success of the Closed period in force, counted by a
    /// thread with a stripe of its own (a run of failures ends by that count alone, see
    /// [`run`](super::run)), with a count window (written here when it holds failures) or a
    /// clean time window in the bucket its last outcome went to. Counts it and returns true;
    /// false (having done nothing) when any of that does not hold.
    #[inline(always)]
    fn quiet_success(&self, word: Word) -> bool {
        // A success of a period that is over ends no run of the period in force: it is
        // counted as stale on the general path. (Nothing but a transition changes the word of
        // a Closed period.)
        if !word.is_closed() || self.load() != word {
            return false;
        }
        let Some(stripe) = self.stripes.owned(Slot::current()) else {
            return false;
        };
        // A count window is kept while no rate trigger is on too, so that one turned on again
        // judges exactly the last N outcomes (a time window's buckets age out by themselves).
        let rates = self.tunables.mode().rates();
        if rates || self.count_window.is_some() {
            let generation = word.generation() as u16;
            match (&self.count_window, &self.time_window) {
                (Some(window), _) if window.is_full_and_clean(generation) => {}
                (Some(window), _) => {
                    // A count window holding failures (or still filling) takes the success
                    // anyway: counted as on the general path, in the same order (the stripe,
                    // then the window), without that path's other checks.
                    if super::run::ends_round(stripe.count_owned(Total::Success)) {
                        self.end_run(word);
                    }
                    let clean = Sample {
                        failure: false,
                        slow: false,
                    };
                    if let Some(counts) = window.record(generation, clean)
                        && rates
                    {
                        self.judge_success(word, counts);
                    }
                    return true;
                }
                (None, Some(window)) if window.quiet_success(stripe, generation, || self.clock.now_nanos()) => {}
                _ => return false,
            }
        }
        if super::run::ends_round(stripe.count_owned(Total::Success)) {
            self.end_run(word);
        }
        true
    }

    /// Judges a count window's `counts` after a success of `word`'s Closed period (one that
    /// completes `minimum_calls` can trip it, see DESIGN).
    #[cold]
    #[inline(never)]
    fn judge_success(&self, word: Word, counts: Counts) {
        self.conclude(word, None, Some(counts), self.tunables.mode());
    }

    /// Ends the run of failures of `word`'s period, if one is going on: what a success does
    /// once in [`ROUND`](super::run::ROUND) successes of its stripe (see [`run`](super::run)).
    #[cold]
    #[inline(never)]
    fn end_run(&self, word: Word) {
        let _ = self
            .consecutive
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                super::run::end(held, word.generation())
            });
    }

    /// [`record`](Self::record) past the common case.
    #[inline(never)]
    fn record_any(&self, word: Word, start: u64, outcome: Recorded) {
        if outcome == Recorded::Failure && start == crate::timing::NOT_TIMED && self.quiet_failure(word) {
            return;
        }
        match word.state() {
            State::Closed | State::MetricsOnly => self.record_closed(word, start, outcome),
            State::HalfOpen => self.record_probe(word, start, outcome),
            _ => {}
        }
    }

    /// Counts `outcome` in this thread's stripe (`slot`'s), with its duration if the call was
    /// timed; returns (now, slow) when the configuration needs time.
    #[inline(always)]
    fn count(
        &self,
        stripe: &Stripe,
        slot: Slot,
        start: u64,
        outcome: Recorded,
        mode: Mode,
        over: bool,
    ) -> (u64, bool, u64) {
        // A success of a period that is over is counted as stale instead: in one total, so no
        // reader of the run's successes sees it in one and not yet in the other.
        let total = if over && outcome == Recorded::Success {
            Total::Stale
        } else {
            outcome.total()
        };
        let counted = stripe.count(total, slot);
        let timed = start != crate::timing::NOT_TIMED;
        let windowed = mode.rates() && self.time_window.is_some();
        if !timed && !windowed {
            return (0, false, counted);
        }
        if !timed {
            return (self.clock.now_nanos(), false, counted);
        }
        let (now, took) = if crate::timing::is_sampled(start) {
            let now = self.clock.precise_nanos();
            let (took, weight) = crate::timing::sampled_took(start, now);
            stripe.observe(took, weight, slot);
            (now, took)
        } else {
            let now = self.clock.now_nanos();
            (now, crate::timing::coarse_took(start, now))
        };
        let slow =
            mode.slow() && outcome != Recorded::Ignored && self.tunables.slow_nanos().is_some_and(|limit| took > limit);
        if slow {
            stripe.count(Total::Slow, slot);
            self.events.emit(Event::SlowCall {
                name: self.name.clone(),
                duration: Duration::from_nanos(took),
            });
        }
        (now, slow, counted)
    }

    /// Closed or MetricsOnly: with a rate trigger on, every outcome goes into the window (the
    /// consecutive trigger firing does not drop it); the triggers judge only in Closed. With
    /// no rate trigger no window is kept: snapshots count the period from the totals.
    #[inline]
    fn record_closed(&self, word: Word, start: u64, outcome: Recorded) {
        let slot = Slot::current();
        let stripe = self.stripes.get(slot);
        let mode = self.tunables.mode();
        let over = self.period_over(word, stripe, slot, outcome);
        let (now, slow, counted) = self.count(stripe, slot, start, outcome, mode, over);
        if outcome == Recorded::Ignored || over {
            return;
        }
        if outcome == Recorded::Success && super::run::ends_round(counted) {
            self.end_run(word);
        }
        let failure = outcome != Recorded::Success;
        // Into the window before the run: a run's failures are in the window when its last
        // one trips it, whichever threads recorded them.
        let sample = Sample { failure, slow };
        let counts = if mode.rates() {
            self.window_record(word, stripe, now, sample)
        } else {
            // A count window is kept with the rates off too (see `quiet_success`), judged only
            // with them on (a time window is not written: its buckets age out).
            if self.count_window.is_some() {
                let _ = self.window_record(word, stripe, now, sample);
            }
            None
        };
        // A success ends a run by being counted (above); only a failure lengthens it.
        let reason = match self.tunables.run_limit(mode) {
            Some(limit) if failure => self.consecutive_run(word, limit),
            _ => None,
        };
        self.conclude(word, reason, counts, mode);
    }

    /// What an outcome of `word`'s Closed (or MetricsOnly) period concludes: the consecutive
    /// trigger's `reason`, else the rate rules' verdict on the window's `counts`; opens the
    /// breaker on either, in Closed only.
    #[inline]
    fn conclude(&self, word: Word, mut reason: Option<Reason>, counts: Option<Counts>, mode: Mode) {
        let mut judged = None;
        if reason.is_none()
            && let Some(counts) = counts
        {
            let rule = self.tunables.rates();
            reason = rule.judge(counts);
            judged = reason.map(|_| (counts, rule.minimum_calls()));
        }
        if let Some(reason) = reason
            && word.state() == State::Closed
        {
            // The numbers that trip it: those judged, or the window's (read before the
            // transition: the new period lets go of the window) for the consecutive trigger.
            let (counts, minimum_calls) = judged.unwrap_or_else(|| {
                (
                    self.run_counts(word, reason, mode),
                    self.tunables.rates().minimum_calls(),
                )
            });
            let _ = self.trip(word, reason, counts, minimum_calls);
        }
    }

    /// The numbers a consecutive trip keeps: the window's, or without a rate window the
    /// period's, which count at least the run (a period's calls are counted from totals read
    /// when it began, a moment after its first outcomes may have been counted: those would
    /// otherwise be missing).
    #[cold]
    fn run_counts(&self, word: Word, reason: Reason, mode: Mode) -> Counts {
        let mut counts = self.period_counts(word);
        if let (false, Reason::ConsecutiveFailures { count }) = (mode.rates(), reason) {
            counts.failures = counts.failures.max(u64::from(count));
            counts.calls = counts.calls.max(counts.failures);
        }
        counts
    }

    /// Lengthens the run of failures by this one (or starts one: a success was counted since
    /// the run's last failure, or the period changed); the reason to open when it reaches
    /// `limit` (see [`Tunables::run_limit`](super::tunables::Tunables::run_limit)).
    #[inline]
    fn consecutive_run(&self, word: Word, limit: u64) -> Option<Reason> {
        let generation = word.generation();
        let successes = self.run_enders();
        let mut run = 0;
        let _ = self
            .consecutive
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                // A failure whose period ended meanwhile lengthens nothing (past 128
                // transitions its 8 bits of generation could pass for the word's).
                if !self.in_force(word) {
                    return None;
                }
                let (next, length) = super::run::lengthen(held, generation, successes)?;
                run = length;
                Some(next)
            });
        (u64::from(run) >= limit).then_some(Reason::ConsecutiveFailures { count: run })
    }

    /// Whether the period `word` admitted the call in has ended; if it has, a failure (to be
    /// counted in the totals right after) is counted as stale first, so that it counts in the
    /// calls of no period's window (see [`period_totals`](Self::period_totals)). A success of
    /// an ended period is counted as [`Stale`](Total::Stale) instead of a success (`count`).
    fn period_over(&self, word: Word, stripe: &Stripe, slot: Slot, outcome: Recorded) -> bool {
        let over = self.load().generation() != word.generation();
        if over && matches!(outcome, Recorded::Failure | Recorded::Timeout) {
            stripe.count(Total::StaleFailure, slot);
        }
        over
    }

    /// The calls and failures counted so far, but for outcomes recorded after their period
    /// ended: what a period without a rate window counts its calls from (the difference since
    /// its start).
    pub(crate) fn period_totals(&self) -> (u64, u64) {
        let stale = self.stripes.sum(Total::StaleFailure);
        let failures = (self.stripes.sum(Total::Failure) + self.stripes.sum(Total::Timeout)).wrapping_sub(stale);
        let successes = self.stripes.sum(Total::Success);
        (failures.wrapping_add(successes), failures)
    }

    /// The count of successes that end runs of failures: every success but stale ones.
    pub(crate) fn run_enders(&self) -> u64 {
        self.stripes.sum(Total::Success)
    }

    /// Puts a sample in the window from the thread of `stripe`; the window's counts when they
    /// are worth judging.
    ///
    /// A count window's record is inlined in `record_closed`; a time window's is a call of its
    /// own (together they were too big to inline, and a count window's record cost a call).
    #[inline(always)]
    fn window_record(&self, word: Word, stripe: &Stripe, now: u64, sample: Sample) -> Option<Counts> {
        let generation = word.generation() as u16;
        if let Some(window) = &self.count_window {
            if sample.is_clean() && window.is_full_and_clean(generation) {
                return None;
            }
            return window.record(generation, sample);
        }
        self.time_window_record(generation, stripe, now, sample)
    }

    /// [`window_record`](Self::window_record) for a time window.
    #[inline(never)]
    fn time_window_record(&self, generation: u16, stripe: &Stripe, now: u64, sample: Sample) -> Option<Counts> {
        let window = self.time_window.as_ref()?;
        if !window.record(stripe, generation, now, sample) {
            return None;
        }
        if sample.is_clean() {
            if window.judged_in_epoch(generation, now) {
                return None;
            }
        } else if window.take_budget(generation, now) {
            return None;
        }
        let seen = window.budget_seen();
        let (counts, writers) = window.counts_and_writers(&self.stripes, generation, now);
        let rule = self.tunables.rates();
        if counts.calls >= rule.minimum_calls() {
            // Each other writer may have an outcome counted after this read that has not come
            // to the budget yet (one that took from it since `seen` fails the grant): leave
            // room for it.
            let left = rule
                .headroom(counts, u64::from(u16::MAX))
                .saturating_sub(writers.saturating_sub(1));
            window.grant(generation, now, left, seen);
            window.mark_judged(generation, now);
            // Paired with the fence in `reconfigure`: either this read sees the new rules or
            // the reconfiguration's forgetting comes after the mark.
            std::sync::atomic::fence(Ordering::SeqCst);
            if self.tunables.rates() != rule {
                // A reconfiguration forgot judgements between the read of the rules and the
                // mark: this one (and its budget) is of the old rules.
                window.forget_judgement();
            }
        }
        Some(counts)
    }

    /// The window's counts as of now, for snapshots.
    pub(crate) fn window_counts(&self, word: Word) -> Counts {
        let generation = word.generation() as u16;
        if let Some(window) = &self.count_window {
            return window.counts(generation);
        }
        match &self.time_window {
            Some(window) => window.counts(&self.stripes, generation, self.clock.now_nanos()),
            None => Counts::default(),
        }
    }

    /// A half-open probe's outcome: close after enough successes, re-open on a failure.
    fn record_probe(&self, word: Word, start: u64, outcome: Recorded) {
        let slot = Slot::current();
        let stripe = self.stripes.get(slot);
        let over = self.period_over(word, stripe, slot, outcome);
        self.count(stripe, slot, start, outcome, self.tunables.mode(), over);
        let mut current = self.load();
        while current.state() == State::HalfOpen && current.generation() == word.generation() {
            let result = match outcome {
                Recorded::Success => {
                    let successes = current.successes() + 1;
                    if successes >= self.tunables.success_threshold() {
                        let reason = Reason::ProbesSucceeded { successes };
                        self.transition(current, State::Closed, reason)
                            .map(|_| ())
                            .ok_or(current)
                    } else {
                        let next = current
                            .with_in_flight(current.in_flight().saturating_sub(1))
                            .with_successes(successes);
                        self.cas(current, next)
                    }
                }
                Recorded::Failure | Recorded::Timeout => self
                    .transition(current, State::Open, Reason::ProbeFailed)
                    .map(|_| ())
                    .ok_or(current),
                Recorded::Ignored => return self.release(word),
            };
            match result {
                Ok(()) => return,
                Err(_) => current = self.load(),
            }
        }
    }

    /// Hands back the half-open slot of a permit that recorded nothing.
    pub(crate) fn release(&self, word: Word) {
        if word.state() != State::HalfOpen {
            return;
        }
        let mut current = self.load();
        while current.state() == State::HalfOpen && current.generation() == word.generation() {
            let next = current.with_in_flight(current.in_flight().saturating_sub(1));
            match self.cas(current, next) {
                Ok(()) => return,
                Err(now) => current = now,
            }
        }
    }
}
