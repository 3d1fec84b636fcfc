//! One static per annotated function: resolves its breaker once, then hands it out with a load.

use crate::{CircuitBreaker, CircuitProtected, Setting, registry};
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
///
/// A generic function or a trait default method has one static for every type it runs for,
/// so a site without its own `name` caches the first type's breaker and keeps the others'
/// beside it, by their struct-level name (issue 11: one type tripping must never reject a
/// healthy other type's calls).
#[derive(Debug)]
pub struct CallSite {
    name: Option<&'static str>,
    settings: &'static [Setting],
    breaker: OnceLock<&'static CircuitBreaker>,
    /// The first type's struct-level name (the very pointer of its `Defaults`, so that the
    /// check on every call is one comparison) and breaker.
    first_type: OnceLock<(&'static str, &'static [Setting], &'static CircuitBreaker)>,
    other_types: OnceLock<RwLock<ByName>>,
    keyed: OnceLock<RwLock<HashMap<&'static str, ByKey>>>,
}

/// Breakers by struct-level name and settings (two types of one name with different settings
/// each ask the registry once, so that the conflict is reported).
type ByName = HashMap<&'static str, Vec<(&'static [Setting], &'static CircuitBreaker)>>;
/// Breakers of one type by key.
type ByKey = HashMap<Box<str>, &'static CircuitBreaker>;

impl CallSite {
    /// A call site with the method-level name (if given) and configuration.
    pub const fn new(name: Option<&'static str>, settings: &'static [Setting]) -> Self {
        Self {
            name,
            settings,
            breaker: OnceLock::new(),
            first_type: OnceLock::new(),
            other_types: OnceLock::new(),
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
        let mut buf = KeyBuf::new();
        match this.__cb_key(&mut buf) {
            None => self.breaker_for::<T>(),
            Some(key) => self.keyed_breaker::<T>(key),
        }
    }

    /// The breaker of an associated function (no receiver) of a `CircuitProtected` type.
    #[inline]
    pub fn breaker_for<T: CircuitProtected + ?Sized>(&'static self) -> &'static CircuitBreaker {
        let defaults = &T::__CB_DEFAULTS;
        let (name, settings, first) = self.first_type.get_or_init(|| {
            let breaker = resolve(defaults.name, defaults.settings, self.settings);
            (defaults.name, defaults.settings, breaker)
        });
        // A second type with the same name shares the breaker, but its own struct-level
        // settings go through the registry once, which reports them if they differ.
        if same_name(name, defaults.name) && same_settings(settings, defaults.settings) {
            return first;
        }
        self.other_type::<T>()
    }

    /// The breaker of a second (third, ..) type running through a generic site.
    #[cold]
    fn other_type<T: CircuitProtected + ?Sized>(&'static self) -> &'static CircuitBreaker {
        let defaults = &T::__CB_DEFAULTS;
        let map = self.other_types.get_or_init(Default::default);
        let find = |map: &ByName| {
            map.get(defaults.name)?
                .iter()
                .find(|(settings, _)| same_settings(settings, defaults.settings))
                .map(|(_, breaker)| *breaker)
        };
        if let Some(found) = find(&map.read().unwrap_or_else(PoisonError::into_inner)) {
            return found;
        }
        let breaker = resolve(defaults.name, defaults.settings, self.settings);
        let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
        if let Some(found) = find(&map) {
            return found;
        }
        map.entry(defaults.name).or_default().push((defaults.settings, breaker));
        breaker
    }

    fn keyed_breaker<T: CircuitProtected + ?Sized>(&'static self, key: &str) -> &'static CircuitBreaker {
        let defaults = &T::__CB_DEFAULTS;
        let map = self.keyed.get_or_init(Default::default);
        let found = map
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(defaults.name)
            .and_then(|keys| keys.get(key).copied());
        if let Some(found) = found {
            return found;
        }
        let breaker = resolve(&format!("{}/{key}", defaults.name), defaults.settings, self.settings);
        let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
        map.entry(defaults.name)
            .or_default()
            .entry(key.into())
            .or_insert(breaker)
    }
}

/// Whether two struct-level configurations are the same (one pointer comparison when they
/// share their storage).
#[inline]
fn same_settings(a: &[Setting], b: &[Setting]) -> bool {
    core::ptr::eq(a, b) || a == b
}

/// Whether two names are the same (one pointer comparison when they share their bytes).
#[inline]
fn same_name(a: &str, b: &str) -> bool {
    core::ptr::eq(a, b) || a == b
}

/// The global registry's breaker for `name` with struct- then method-level settings.
fn resolve(name: &str, outer: &[Setting], inner: &[Setting]) -> &'static CircuitBreaker {
    leak(registry().breaker_with_layers(name, outer, inner))
}

/// Registry breakers live as long as the process; a call site keeps a plain reference.
fn leak(breaker: Arc<CircuitBreaker>) -> &'static CircuitBreaker {
    Box::leak(Box::new(breaker))
}

/// A field that can be a breaker key: it is formatted into the breaker's name.
#[diagnostic::on_unimplemented(
    message = "the breaker key `{Self}` does not implement `Display`",
    label = "a `#[circuit_breaker(key)]` field is formatted into the breaker's name `name/key`",
    note = "implement `std::fmt::Display` for `{Self}`, or make the key a `String` or an integer"
)]
pub trait BreakerKey: std::fmt::Display {}

impl<T: std::fmt::Display + ?Sized> BreakerKey for T {}

/// Room to format a key field without allocating (longer keys spill to the heap).
#[derive(Debug)]
pub struct KeyBuf {
    bytes: [u8; 64],
    len: usize,
    spilled: String,
}

impl KeyBuf {
    /// An empty buffer.
    pub fn new() -> Self {
        Self {
            bytes: [0; 64],
            len: 0,
            spilled: String::new(),
        }
    }

    /// `key` formatted in this buffer.
    pub fn format<K: BreakerKey + ?Sized>(&mut self, key: &K) -> &str {
        use std::fmt::Write as _;
        self.len = 0;
        self.spilled.clear();
        if write!(self, "{key}").is_ok() && self.spilled.is_empty() {
            return std::str::from_utf8(&self.bytes[..self.len]).unwrap_or_default();
        }
        self.spilled.clear();
        let _ = write!(self.spilled, "{key}");
        &self.spilled
    }
}

impl Default for KeyBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Write for KeyBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        if !self.spilled.is_empty() || end > self.bytes.len() {
            self.spilled.push('x');
            return Err(std::fmt::Error);
        }
        self.bytes[self.len..end].copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::KeyBuf;

    #[test]
    fn keys_format_in_place_and_long_ones_spill() {
        let mut buf = KeyBuf::new();
        assert_eq!(buf.format(&42u64), "42");
        let long = "k".repeat(100);
        assert_eq!(buf.format(&long), long);
        assert_eq!(buf.format(&7), "7");
    }
}
