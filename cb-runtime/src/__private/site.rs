//! One static per annotated function: resolves its breaker once, then hands it out with a load.

use crate::{CircuitBreaker, CircuitProtected, Setting, registry};
use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// The struct-level arguments of a `#[derive(CircuitProtected)]` type.
#[derive(Debug)]
pub struct Defaults {
    /// The breaker name (`name/key` for keyed instances).
    pub name: &'static str,
    /// The struct-level configuration.
    pub settings: &'static [Setting],
}

/// The per-function static the attribute macro emits.
#[derive(Debug)]
pub struct CallSite {
    name: Option<&'static str>,
    settings: &'static [Setting],
    breaker: OnceLock<&'static CircuitBreaker>,
    keyed: OnceLock<RwLock<HashMap<Box<str>, &'static CircuitBreaker>>>,
}

impl CallSite {
    /// A call site with the method-level name (if given) and configuration.
    pub const fn new(name: Option<&'static str>, settings: &'static [Setting]) -> Self {
        Self {
            name,
            settings,
            breaker: OnceLock::new(),
            keyed: OnceLock::new(),
        }
    }

    /// The breaker of a site with its own `name`.
    #[inline]
    pub fn breaker(&'static self) -> &'static CircuitBreaker {
        self.breaker
            .get_or_init(|| resolve(self.name.unwrap_or("unnamed"), &[], self.settings))
    }

    /// The breaker of a method of a `CircuitProtected` type without its own name (for keyed
    /// types, the instance's `name/key` breaker).
    #[inline]
    pub fn breaker_of<T: CircuitProtected + ?Sized>(&'static self, this: &T) -> &'static CircuitBreaker {
        match this.__cb_key() {
            None => self.breaker_for::<T>(),
            Some(key) => self.keyed_breaker::<T>(&key),
        }
    }

    /// The breaker of an associated function (no receiver) of a `CircuitProtected` type.
    #[inline]
    pub fn breaker_for<T: CircuitProtected + ?Sized>(&'static self) -> &'static CircuitBreaker {
        self.breaker.get_or_init(|| {
            let defaults = &T::__CB_DEFAULTS;
            resolve(defaults.name, defaults.settings, self.settings)
        })
    }

    fn keyed_breaker<T: CircuitProtected + ?Sized>(&'static self, key: &str) -> &'static CircuitBreaker {
        let map = self.keyed.get_or_init(Default::default);
        if let Some(found) = map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return found;
        }
        let defaults = &T::__CB_DEFAULTS;
        let breaker = resolve(&format!("{}/{key}", defaults.name), defaults.settings, self.settings);
        let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(key.into()).or_insert(breaker)
    }
}

/// The global registry's breaker for `name` with struct- then method-level settings.
fn resolve(name: &str, outer: &[Setting], inner: &[Setting]) -> &'static CircuitBreaker {
    leak(registry().breaker_with_layers(name, outer, inner))
}

/// Registry breakers live as long as the process; a call site keeps a plain reference.
fn leak(breaker: Arc<CircuitBreaker>) -> &'static CircuitBreaker {
    Box::leak(Box::new(breaker))
}

/// The text of a key field: borrowed when it is a string, formatted otherwise.
pub fn key_text<K: std::fmt::Display + ?Sized>(key: &K) -> Cow<'_, str> {
    Cow::Owned(key.to_string())
}
