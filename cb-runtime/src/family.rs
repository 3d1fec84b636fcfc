//! Keyed families (`name/key`): their limits, their live count, and which members may go.
//!
//! A family is every registered breaker whose name has the same part before the first `/`.
//! It keeps at most `max_keys` live breakers and drops those unused for `idle_ttl`, but only
//! breakers that are Closed (a tripped key keeps its state until it recovers) and that nobody
//! holds (an `Arc` outside the registry — a call in flight, a call site's cache, a handle a
//! user kept — pins it: no outcome is lost and no key ever has two live breakers).

use crate::config::Base;
use crate::events::Eviction;
use crate::members::{Entry, Members, Step};
use crate::{BreakerConfig, CircuitBreaker, State};
use std::sync::Arc;

/// The family of `name`, if it is keyed.
pub(crate) fn family_of(name: &str) -> Option<&str> {
    name.split_once('/').map(|(family, _)| family)
}

/// One family's limits and counts (kept under the registry's lock).
pub(crate) struct Family {
    pub(crate) max_keys: u32,
    pub(crate) idle_ttl: u64,
    /// The live breakers, least recently seen in use first.
    pub(crate) members: Members,
    pub(crate) evicted: u64,
    /// When the family was last swept for idle breakers.
    pub(crate) swept_at: u64,
    /// Live count at which the next over-cap sweep runs (sweeps that free nothing are not
    /// repeated on every new key).
    pub(crate) next_cap_sweep: usize,
    /// Whether being over the cap has been reported since the family last fitted.
    pub(crate) over_reported: bool,
    /// Whether a key asking for other limits than the family's has been reported.
    pub(crate) limits_reported: bool,
    /// The configuration of a key no file section or environment variable singles out,
    /// resolved once per family and macro arguments.
    pub(crate) template: Option<(Arc<Base>, Arc<BreakerConfig>)>,
    /// The counters of breakers that left the family, so its exported totals never go down.
    pub(crate) gone: Option<Box<crate::Snapshot>>,
    /// Breakers that left the family while somebody still held them (see `registry::leave`).
    pub(crate) held: Vec<std::sync::Arc<crate::CircuitBreaker>>,
}

impl Family {
    pub(crate) fn new(config: &BreakerConfig, now: u64) -> Family {
        Family {
            max_keys: config.max_keys,
            idle_ttl: crate::clock::duration_nanos(config.idle_ttl),
            members: Members::default(),
            evicted: 0,
            swept_at: now,
            next_cap_sweep: 0,
            over_reported: false,
            limits_reported: false,
            template: None,
            gone: None,
            held: Vec::new(),
        }
    }

    /// The family's limits against those `config` asks for: an event, the first time a key of
    /// the family asks for others (two types sharing a family name with different `max_keys`
    /// or `idle_ttl`: the family's limits stay, one per family).
    pub(crate) fn limits_conflict(&mut self, family: &str, config: &BreakerConfig) -> Option<crate::events::Event> {
        let idle_ttl = crate::clock::duration_nanos(config.idle_ttl);
        if self.limits_reported || (config.max_keys == self.max_keys && idle_ttl == self.idle_ttl) {
            return None;
        }
        self.limits_reported = true;
        let limits = |max_keys: u32, idle_ttl: u64| {
            format!(
                "max_keys = {max_keys}, idle_ttl = {:?}",
                std::time::Duration::from_nanos(idle_ttl)
            )
        };
        Some(crate::events::Event::ConfigConflict {
            name: crate::Name::from(format!("{family}/*").as_str()),
            kept: limits(self.max_keys, self.idle_ttl),
            ignored: limits(config.max_keys, idle_ttl),
        })
    }

    pub(crate) fn limit(&mut self, config: &BreakerConfig) {
        self.max_keys = config.max_keys;
        self.idle_ttl = crate::clock::duration_nanos(config.idle_ttl);
    }

    /// Whether an idle sweep is due (at most twice per `idle_ttl`).
    pub(crate) fn sweep_due(&self, now: u64) -> bool {
        now.saturating_sub(self.swept_at) >= self.idle_ttl / 2
    }

    /// Whether the family is over its cap and a sweep may free room.
    pub(crate) fn over_cap(&self) -> bool {
        let live = self.members.len();
        live > self.max_keys as usize && live >= self.next_cap_sweep
    }

    /// Takes out the evictable members unused for `idle_ttl`, and while the family is over
    /// `max_keys`, the evictable ones unused the longest, with the reason of each.
    ///
    /// Members are looked at from the least recently seen in use on: one found used since the
    /// last look, or held, or not Closed, is seen in use now and moves to the back. Unless
    /// `everyone` (a full look, which also records who is in use), the walk ends at the first
    /// member that can be neither idle nor needed to get under the cap: a sweep for a new key
    /// looks at the members it evicts and at the few it finds in use, never at the others.
    pub(crate) fn sweep(&mut self, now: u64, everyone: bool, out: &mut Vec<(Entry, Eviction)>) {
        let idle_ttl = self.idle_ttl;
        let mut excess = self.members.len().saturating_sub(self.max_keys as usize);
        self.members.walk(
            |entry| {
                if !everyone && excess == 0 && now.saturating_sub(entry.activity.since) < idle_ttl {
                    return Step::Stop;
                }
                if entry.activity.look(&entry.breaker, now) || !evictable(&entry.breaker) {
                    entry.activity.since = now;
                    return Step::ToBack;
                }
                let idle = now.saturating_sub(entry.activity.since) >= idle_ttl;
                if !idle && excess == 0 {
                    return Step::Keep;
                }
                excess = excess.saturating_sub(1);
                Step::Take(if idle { Eviction::Idle } else { Eviction::OverCap })
            },
            |entry, why| out.push((entry, why)),
        );
    }
}

/// When a registered breaker was last seen in use (kept under the registry's lock).
#[derive(Debug)]
pub(crate) struct Activity {
    /// The breaker's activity count at the last look.
    seen: u64,
    /// When the registry last saw it in use (registry clock, nanoseconds).
    pub(crate) since: u64,
}

impl Activity {
    pub(crate) fn new(now: u64) -> Activity {
        Activity { seen: 0, since: now }
    }

    /// Looks at `breaker`: whether it was used since the last look (then `since` is `now`).
    pub(crate) fn look(&mut self, breaker: &CircuitBreaker, now: u64) -> bool {
        let activity = breaker.activity();
        let used = activity != self.seen;
        if used {
            (self.seen, self.since) = (activity, now);
        }
        used
    }
}

/// Whether `breaker` may be dropped: Closed, and held by nobody but the registry.
pub(crate) fn evictable(breaker: &Arc<CircuitBreaker>) -> bool {
    Arc::strong_count(breaker) == 1 && breaker.stored_state() == State::Closed
}

/// Whether a file pattern gives every key of `family` the same sections (so one resolution
/// serves them all): it cannot match any of them, or it matches all of them.
pub(crate) fn uniform_over(pattern: &str, family: &str) -> bool {
    let prefix = format!("{family}/");
    let literal = pattern.split(['*', '?']).next().unwrap_or_default();
    let has_wildcard = literal.len() != pattern.len();
    if !has_wildcard {
        // An exact name: other keys are not concerned (that one key is checked by name).
        return true;
    }
    let disjoint = !literal.starts_with(&prefix) && !prefix.starts_with(literal);
    let covers_all = pattern.len() == literal.len() + 1 && pattern.ends_with('*') && prefix.starts_with(literal);
    disjoint || covers_all
}

/// Whether `pattern` covers whole keyed families (every key of each family it matches):
/// `webhook/*`, `*/*`, `web*`, `*`; not `webhook`, `webhook/vip` or `webhook/v*`. Only such a
/// section may set a family's limits (`max_keys`, `idle_ttl`).
pub(crate) fn family_wide(pattern: &str) -> bool {
    match pattern.split_once('/') {
        Some((_, keys)) => !keys.is_empty() && keys.chars().all(|c| c == '*'),
        None => pattern.ends_with('*'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_wide_patterns_cover_every_key_of_a_family() {
        for wide in ["webhook/*", "webhook/**", "*/*", "web*", "*", "we?/*"] {
            assert!(family_wide(wide), "{wide}");
        }
        for narrow in ["webhook", "webhook/vip", "webhook/v*", "*hook", "webhook/*/x"] {
            assert!(!family_wide(narrow), "{narrow}");
        }
    }

    #[test]
    fn patterns_that_single_out_keys_are_not_uniform() {
        assert!(uniform_over("webhook/*", "webhook"));
        assert!(uniform_over("*", "webhook"));
        assert!(uniform_over("web*", "webhook"));
        assert!(uniform_over("payments", "webhook"));
        assert!(uniform_over("webhook/billing", "webhook"));
        assert!(uniform_over("other/*", "webhook"));
        assert!(!uniform_over("webhook/b*", "webhook"));
        assert!(!uniform_over("webhook/?", "webhook"));
        assert!(!uniform_over("*/billing", "webhook"));
    }

    #[test]
    fn keyed_names_have_a_family() {
        assert_eq!(family_of("webhook/a/b"), Some("webhook"));
        assert_eq!(family_of("sentinel"), None);
    }
}
