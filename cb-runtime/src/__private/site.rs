//! One static per annotated function: resolves its breaker once, then hands it out with a load.
//!
//! Keyed breakers (`name/key`) are found through a per-thread cache, not the registry. A call
//! with the key this thread used last at any keyed site costs a comparison of the site and the
//! key's bytes; another key already seen costs a hash of the key first. The call takes the
//! cache entry out of the cache (a move, no reference count touched) and its handle puts it
//! back when the call ends, in the cache of whichever thread that is: no lock, no shared
//! write, no formatting of the name. The entry holds the breaker by `Arc`, so a breaker a
//! thread has cached (at most [`CACHE_SLOTS`] per thread) or is calling through is never
//! evicted: an in-flight outcome always lands on the breaker the registry hands out for its key.

use crate::{CircuitBreaker, CircuitProtected, Setting, registry};
use std::cell::RefCell;
use std::collections::HashMap;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::sync::{Arc, OnceLock, PoisonError, RwLock};

/// The struct-level arguments of a `#[derive(CircuitProtected)]` type.
#[derive(Debug)]
pub struct Defaults {
    /// The breaker name (`name/key` for keyed instances).
    pub name: &'static str,
    /// The struct-level configuration.
    pub settings: &'static [Setting],
}

/// Whether `name` can name a keyed family: no `/` (a keyed breaker is `name/key`, and its
/// family is the part before the first `/`). Checked at compile time for a constant name.
pub const fn is_family_name(name: &str) -> bool {
    let bytes = name.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'/' {
            return false;
        }
        i += 1;
    }
    true
}

/// Whether a method's explicit `max_open_timeout` (in `inner`) stays at least the
/// `open_timeout` its type's struct-level arguments (`outer`) and its own give: the same rule
/// a single `#[circuit_breaker]` is checked by, across the two levels. Checked at compile time.
pub const fn caps_the_wait(outer: &[Setting], inner: &[Setting]) -> bool {
    let (mut open, mut max) = (30_000_000_000u128, 300_000_000_000u128);
    let levels = [outer, inner];
    let mut level = 0;
    while level < levels.len() {
        let settings = levels[level];
        let mut i = 0;
        while i < settings.len() {
            match settings[i] {
                Setting::Preset(preset) => {
                    (open, max) = match preset {
                        crate::Preset::Aggressive => (60_000_000_000, 600_000_000_000),
                        crate::Preset::Lenient => (10_000_000_000, 120_000_000_000),
                        _ => (30_000_000_000, 300_000_000_000),
                    };
                }
                Setting::OpenTimeout(d) => {
                    open = d.as_nanos();
                    if max < open {
                        max = open;
                    }
                }
                Setting::MaxOpenTimeout(d) => max = d.as_nanos(),
                _ => {}
            }
            i += 1;
        }
        level += 1;
    }
    max >= open
}

/// The per-function static the attribute macro emits.
///
/// A generic function or a trait default method has one static for every type it runs for,
/// so a site without its own `name` caches the first type's breaker and keeps the others'
/// beside it, by their struct-level name (issue 11: one type tripping must never reject a
/// healthy other type's calls); keyed breakers are cached per thread by site, type and key.
#[derive(Debug)]
pub struct CallSite {
    name: Option<&'static str>,
    settings: &'static [Setting],
    breaker: OnceLock<Arc<CircuitBreaker>>,
    /// The first type's struct-level defaults and breaker (see [`FirstType`]).
    first_type: OnceLock<FirstType>,
    other_types: OnceLock<RwLock<ByName>>,
}

/// The breaker of the first type a site ran for, and that type's struct-level defaults.
///
/// Every call checks that it runs for that type: `defaults` is the address of the type's
/// `__CB_DEFAULTS`, so that the check is one comparison of a loaded pointer with a constant
/// (comparing the name and the settings, two fat pointers, cost 33 instructions, 3.5 ns, on
/// every method call).
/// Another address (another type, or a copy of the same constant in another codegen unit)
/// compares the name and settings then.
#[derive(Debug)]
struct FirstType {
    defaults: &'static Defaults,
    breaker: Arc<CircuitBreaker>,
}

/// Breakers by struct-level name, then struct-level settings.
type ByName = HashMap<&'static str, Vec<(&'static [Setting], Arc<CircuitBreaker>)>>;

/// The breaker a call runs through; derefs to [`CircuitBreaker`] and keeps it alive for the
/// call (a breaker evicted or removed meanwhile still records the call's outcome).
#[derive(Debug)]
pub enum BreakerHandle {
    /// A call site's own breaker.
    Site(&'static CircuitBreaker),
    /// A keyed breaker, taken out of this thread's cache for the call.
    Cached(Taken),
    /// A breaker looked up in the registry for this call.
    Looked(Looked),
}

// Both non-`Site` handles release what they hold in an out-of-line `drop` and keep nothing
// for the drop glue after it (`ManuallyDrop` of a taken `Option`): the glue of a handle is a
// test of its variant, inlined in every call, where releasing inline made it a call of its own.

/// A breaker looked up in the registry for one call, released when the call ends.
#[derive(Debug)]
pub struct Looked(ManuallyDrop<Option<Arc<CircuitBreaker>>>);

impl Looked {
    /// The handle of a breaker looked up for one call.
    fn handle(breaker: Arc<CircuitBreaker>) -> BreakerHandle {
        BreakerHandle::Looked(Looked(ManuallyDrop::new(Some(breaker))))
    }

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        match &*self.0 {
            Some(breaker) => breaker,
            None => unreachable!("a looked-up breaker is only released when its handle drops"),
        }
    }
}

impl Drop for Looked {
    #[inline(never)]
    fn drop(&mut self) {
        drop(self.0.take());
    }
}

impl Deref for BreakerHandle {
    type Target = CircuitBreaker;

    #[inline]
    fn deref(&self) -> &CircuitBreaker {
        match self {
            BreakerHandle::Site(b) => b,
            BreakerHandle::Cached(b) => b.breaker(),
            BreakerHandle::Looked(b) => b.breaker(),
        }
    }
}

impl CallSite {
    /// A call site with the method-level name (if given) and configuration.
    pub const fn new(name: Option<&'static str>, settings: &'static [Setting]) -> Self {
        Self {
            name,
            settings,
            breaker: OnceLock::new(),
            first_type: OnceLock::new(),
            other_types: OnceLock::new(),
        }
    }

    /// The breaker of a site with its own `name`.
    #[inline]
    pub fn breaker(&'static self) -> BreakerHandle {
        let breaker: &'static CircuitBreaker = self
            .breaker
            .get_or_init(|| resolve(self.name.unwrap_or("unnamed"), &[], self.settings));
        if breaker.is_retired() {
            return self.named_again();
        }
        BreakerHandle::Site(breaker)
    }

    /// [`breaker`](Self::breaker) after a `registry().remove` of the site's breaker.
    #[cold]
    fn named_again(&'static self) -> BreakerHandle {
        Looked::handle(resolve(self.name.unwrap_or("unnamed"), &[], self.settings))
    }

    /// The breaker of a method of a `CircuitProtected` type without its own name (for keyed
    /// types, the instance's `name/key` breaker).
    #[inline]
    pub fn breaker_of<T: CircuitProtected + ?Sized>(&'static self, this: &T) -> BreakerHandle {
        let mut buf = KeyBuf::new();
        match this.__cb_key(&mut buf) {
            None => self.breaker_for::<T>(),
            Some(key) => self.keyed_breaker::<T>(key),
        }
    }

    /// The breaker of an associated function (no receiver) of a `CircuitProtected` type.
    #[inline]
    pub fn breaker_for<T: CircuitProtected + ?Sized>(&'static self) -> BreakerHandle {
        let defaults: &'static Defaults = &T::__CB_DEFAULTS;
        // No closure for a first call on the way of every call: building its captures costs.
        match self.first_type.get() {
            Some(first) if core::ptr::eq(first.defaults, defaults) => {
                self.current(&first.breaker, defaults.name, defaults.settings)
            }
            _ => self.not_first_defaults::<T>(defaults),
        }
    }

    /// [`breaker_for`](Self::breaker_for) on the site's first call, or for defaults at another
    /// address than the first type's: the same name and settings (the same type's constant
    /// elsewhere, or another type of that name) share the first breaker, but a type's own
    /// struct-level settings go through the registry once, which reports them if they differ.
    ///
    /// `defaults` is the caller's `&T::__CB_DEFAULTS`: a constant's address is not unique
    /// (each function taking it may have a copy), so the one kept is the hot path's own.
    #[inline(never)]
    fn not_first_defaults<T: CircuitProtected + ?Sized>(&'static self, defaults: &'static Defaults) -> BreakerHandle {
        let first = self.first_type.get_or_init(|| FirstType {
            defaults,
            breaker: resolve(defaults.name, defaults.settings, self.settings),
        });
        if same_name(first.defaults.name, defaults.name) && same_settings(first.defaults.settings, defaults.settings) {
            return self.current(&first.breaker, defaults.name, defaults.settings);
        }
        self.other_type::<T>()
    }

    /// `breaker`, or after a `registry().remove` of it, the registry's current breaker of that
    /// name, looked up per call (removing a named breaker is an operator's action, not a
    /// steady state).
    #[inline]
    fn current(&'static self, breaker: &'static CircuitBreaker, name: &str, outer: &[Setting]) -> BreakerHandle {
        if breaker.is_retired() {
            return self.looked_again(name, outer);
        }
        BreakerHandle::Site(breaker)
    }

    #[cold]
    fn looked_again(&'static self, name: &str, outer: &[Setting]) -> BreakerHandle {
        Looked::handle(resolve(name, outer, self.settings))
    }

    /// The breaker of a second (third, ..) type running through a generic site.
    #[cold]
    fn other_type<T: CircuitProtected + ?Sized>(&'static self) -> BreakerHandle {
        let defaults = &T::__CB_DEFAULTS;
        let map = self.other_types.get_or_init(Default::default);
        let find = |map: &ByName| {
            map.get(defaults.name)?
                .iter()
                .find(|(settings, _)| same_settings(settings, defaults.settings))
                .map(|(_, breaker)| breaker.clone())
        };
        let found = find(&map.read().unwrap_or_else(PoisonError::into_inner));
        let breaker = match found {
            Some(found) => found,
            None => {
                let breaker = resolve(defaults.name, defaults.settings, self.settings);
                let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
                match find(&map) {
                    Some(found) => found,
                    None => {
                        map.entry(defaults.name)
                            .or_default()
                            .push((defaults.settings, breaker.clone()));
                        breaker
                    }
                }
            }
        };
        if breaker.is_retired() {
            return Looked::handle(resolve(defaults.name, defaults.settings, self.settings));
        }
        Looked::handle(breaker)
    }

    #[inline]
    fn keyed_breaker<T: CircuitProtected + ?Sized>(&'static self, key: &[u8]) -> BreakerHandle {
        let defaults = &T::__CB_DEFAULTS;
        // One site may serve several types (generic functions, trait default methods): the
        // cache tells them apart by the address of their struct-level name.
        let site = (self as *const CallSite as usize) ^ (defaults.name.as_ptr() as usize).rotate_left(32);
        match take(site, key) {
            Some(entry) => Taken::handle(entry),
            None => self.keyed_miss::<T>(site, key),
        }
    }

    /// A key this thread has not cached (or whose breaker was retired): the registry's breaker.
    #[cold]
    #[inline(never)]
    fn keyed_miss<T: CircuitProtected + ?Sized>(&'static self, site: usize, key: &[u8]) -> BreakerHandle {
        let defaults = &T::__CB_DEFAULTS;
        // Keys are a `str`'s bytes or ASCII digits: always UTF-8.
        let text = String::from_utf8_lossy(key);
        // The name is formatted on the stack (a long one spills to the heap).
        let mut name = KeyBuf::new();
        let name = name.format(&format_args!("{}/{text}", defaults.name));
        let breaker = resolve(name, defaults.settings, self.settings);
        Taken::handle(Box::new(Cached {
            site,
            hash: hash(site, key),
            key: key.into(),
            breaker,
        }))
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

/// Entries of each thread's keyed-breaker cache.
pub(crate) const CACHE_SLOTS: usize = 128;

/// A keyed breaker as a thread's cache holds it.
#[derive(Debug)]
pub struct Cached {
    site: usize,
    hash: u64,
    key: Box<[u8]>,
    breaker: Arc<CircuitBreaker>,
}

/// A cache entry taken out for one call; dropping it puts it back in the cache of the thread
/// that drops it.
#[derive(Debug)]
pub struct Taken(ManuallyDrop<Option<Box<Cached>>>);

impl Taken {
    /// The handle of a cache entry taken out for one call.
    fn handle(entry: Box<Cached>) -> BreakerHandle {
        BreakerHandle::Cached(Taken(ManuallyDrop::new(Some(entry))))
    }

    #[inline]
    fn breaker(&self) -> &CircuitBreaker {
        match &*self.0 {
            Some(entry) => &entry.breaker,
            None => unreachable!("a taken cache entry is only put back when its handle drops"),
        }
    }
}

impl Drop for Taken {
    #[inline(never)]
    fn drop(&mut self) {
        if let Some(entry) = self.0.take() {
            put_back(entry);
        }
    }
}

/// Each thread's cache: entries by hash of site and key, and the slot of the last hit.
struct Cache {
    entries: [Option<Box<Cached>>; CACHE_SLOTS],
    last: usize,
}

thread_local! {
    static CACHE: RefCell<Cache> = const {
        RefCell::new(Cache {
            entries: [const { None }; CACHE_SLOTS],
            last: 0,
        })
    };
}

/// Takes this thread's cache entry of `key` at `site` out of the cache: the slot of the last
/// hit first (a hot key costs no hash), then the key's slot by hash. `None` on a miss, or when
/// the entry's breaker was retired (the entry is dropped then).
#[inline]
fn take(site: usize, key: &[u8]) -> Option<Box<Cached>> {
    let matches = |entry: &Cached| entry.site == site && *entry.key == *key;
    let (found, retired) = CACHE
        .try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return (None, None);
            };
            let mut at = cache.last;
            if !cache.entries[at].as_deref().is_some_and(matches) {
                at = slot_of(hash(site, key));
                if !cache.entries[at].as_deref().is_some_and(matches) {
                    return (None, None);
                }
                cache.last = at;
            }
            match cache.entries[at].take() {
                Some(entry) if entry.breaker.is_retired() => (None, Some(entry)),
                entry => (entry, None),
            }
        })
        .unwrap_or((None, None));
    // Outside the borrow: dropping a breaker's last reference runs its destructor.
    drop(retired);
    found
}

/// Puts an entry back in this thread's cache (replacing another key's entry in its slot).
#[inline]
fn put_back(entry: Box<Cached>) {
    let displaced = CACHE
        .try_with(|cache| {
            let Ok(mut cache) = cache.try_borrow_mut() else {
                return Some(entry);
            };
            let at = slot_of(entry.hash);
            cache.last = at;
            cache.entries[at].replace(entry)
        })
        .unwrap_or(None);
    drop(displaced);
}

#[inline]
fn slot_of(hash: u64) -> usize {
    hash as usize % CACHE_SLOTS
}

/// FxHash of the site's address and the key's bytes.
#[inline]
fn hash(site: usize, key: &[u8]) -> u64 {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    let mix = |h: u64, w: u64| (h.rotate_left(5) ^ w).wrapping_mul(K);
    let mut h = mix(0, site as u64);
    let mut chunks = key.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        h = mix(h, u64::from_le_bytes(word));
    }
    let mut tail = [0u8; 8];
    tail[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = mix(h, u64::from_le_bytes(tail) ^ key.len() as u64);
    h ^ (h >> 29)
}

/// The global registry's breaker for `name` with struct- then method-level settings.
fn resolve(name: &str, outer: &[Setting], inner: &[Setting]) -> Arc<CircuitBreaker> {
    registry().breaker_with_layers(name, outer, inner)
}

/// A field that can be a breaker key: it is formatted into the breaker's name.
#[diagnostic::on_unimplemented(
    message = "the breaker key `{Self}` does not implement `Display`",
    label = "a `#[circuit_breaker(key)]` field is formatted into the breaker's name `name/key`",
    note = "implement `std::fmt::Display` for `{Self}`, or make the key a `String` or an integer"
)]
pub trait BreakerKey {
    /// The key formatted in `buf`: the derive calls `<_ as BreakerKey>::format_key(&field, buf)`
    /// at the field, so a key that is not `Display` is one error there.
    fn format_key<'a>(&self, buf: &'a mut KeyBuf) -> &'a str;
}

impl<T: std::fmt::Display + ?Sized> BreakerKey for T {
    #[inline]
    fn format_key<'a>(&self, buf: &'a mut KeyBuf) -> &'a str {
        buf.format(self)
    }
}

/// A key field whose type is spelled like a primitive integer, for the derive's dispatch:
/// `(&&IntegerProbe(&field)).key_bytes(buf)` resolves to [`IntegerKey`] when the type IS a
/// primitive integer (its digits, no `Display`), and to [`DisplayKey`] otherwise (an alias
/// that names another type under an integer's name: formatted as `Display` formats it).
#[derive(Debug)]
pub struct IntegerProbe<'a, T: ?Sized>(pub &'a T);

/// The key bytes of a primitive integer (see [`IntegerProbe`]).
pub trait IntegerKey {
    /// The key's decimal digits, written in `buf`.
    fn key_bytes<'b>(&self, buf: &'b mut KeyBuf) -> &'b [u8];
}

/// The key bytes of any other `Display` type (see [`IntegerProbe`]).
pub trait DisplayKey {
    /// The key as `Display` formats it, in `buf`.
    fn key_bytes<'b>(&self, buf: &'b mut KeyBuf) -> &'b [u8];
}

macro_rules! integer_keys {
    ($($t:ty => $write:ident as $wide:ty),* $(,)?) => {$(
        impl IntegerKey for &IntegerProbe<'_, $t> {
            #[inline]
            fn key_bytes<'b>(&self, buf: &'b mut KeyBuf) -> &'b [u8] {
                buf.$write(*self.0 as $wide)
            }
        }
    )*};
}

integer_keys!(
    u8 => unsigned64 as u64, u16 => unsigned64 as u64, u32 => unsigned64 as u64,
    u64 => unsigned64 as u64, usize => unsigned64 as u64, u128 => unsigned as u128,
    i8 => signed64 as i64, i16 => signed64 as i64, i32 => signed64 as i64,
    i64 => signed64 as i64, isize => signed64 as i64, i128 => signed as i128,
);

impl<T: std::fmt::Display + ?Sized> DisplayKey for IntegerProbe<'_, T> {
    #[inline]
    fn key_bytes<'b>(&self, buf: &'b mut KeyBuf) -> &'b [u8] {
        buf.format(self.0).as_bytes()
    }
}

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
    pub fn format<K: std::fmt::Display + ?Sized>(&mut self, key: &K) -> &str {
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

impl KeyBuf {
    /// `n` in decimal, as `Display` writes it, as ASCII bytes (the derive's writer for
    /// unsigned integer keys of up to 64 bits: the call site's cache looks keys up by their
    /// bytes, so a key it has seen costs no `str` and no formatting machinery).
    #[inline]
    pub fn unsigned64(&mut self, n: u64) -> &[u8] {
        let at = self.pairs(n, self.bytes.len(), 1);
        &self.bytes[at..]
    }

    /// [`unsigned64`](Self::unsigned64) for signed keys of up to 64 bits.
    #[inline]
    pub fn signed64(&mut self, n: i64) -> &[u8] {
        let mut at = self.pairs(n.unsigned_abs(), self.bytes.len(), 1);
        if n < 0 {
            at -= 1;
            self.bytes[at] = b'-';
        }
        &self.bytes[at..]
    }

    /// Writes `n` in decimal, at least `width` digits (zeros in front), ending at `end`;
    /// returns where it starts.
    #[inline]
    fn pairs(&mut self, mut n: u64, end: usize, width: usize) -> usize {
        const PAIRS: &[u8; 200] = b"0001020304050607080910111213141516171819\
            2021222324252627282930313233343536373839\
            4041424344454647484950515253545556575859\
            6061626364656667686970717273747576777879\
            8081828384858687888990919293949596979899";
        let mut at = end;
        while n >= 100 || end - at + 2 < width {
            let pair = (n % 100) as usize * 2;
            n /= 100;
            at -= 2;
            self.bytes[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        }
        if n >= 10 || end - at + 1 < width {
            let pair = n as usize * 2;
            at -= 2;
            self.bytes[at..at + 2].copy_from_slice(&PAIRS[pair..pair + 2]);
        } else {
            at -= 1;
            self.bytes[at] = b'0' + n as u8;
        }
        at
    }

    /// `n` in decimal, as `Display` writes it, as ASCII bytes (the derive's writer for 128-bit
    /// unsigned keys).
    #[inline]
    pub fn unsigned(&mut self, n: u128) -> &[u8] {
        self.digits(n, false)
    }

    /// `n` in decimal, as `Display` writes it, as ASCII bytes (the derive's writer for signed
    /// integer keys).
    #[inline]
    pub fn signed(&mut self, n: i128) -> &[u8] {
        self.digits(n.unsigned_abs(), n < 0)
    }

    fn digits(&mut self, n: u128, negative: bool) -> &[u8] {
        // Nineteen digits at a time in 64-bit arithmetic (128-bit division is a library call).
        const CHUNK: u128 = 10_000_000_000_000_000_000;
        let mut at = self.bytes.len();
        let mut rest = n;
        loop {
            let (higher, low) = if rest < CHUNK {
                (0, rest as u64)
            } else {
                (rest / CHUNK, (rest % CHUNK) as u64)
            };
            at = self.pairs(low, at, if higher == 0 { 1 } else { 19 });
            if higher == 0 {
                break;
            }
            rest = higher;
        }
        if negative {
            at -= 1;
            self.bytes[at] = b'-';
        }
        &self.bytes[at..]
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
    use super::{KeyBuf, hash};

    #[test]
    fn keys_hash_apart_by_site_and_by_every_byte() {
        assert_ne!(hash(1, b"billing"), hash(2, b"billing"));
        assert_ne!(hash(1, b"billing"), hash(1, b"billinh"));
        assert_ne!(hash(1, b"abcdefgh"), hash(1, b"abcdefgh\0"));
        assert_eq!(
            hash(1, b"a long key over eight bytes"),
            hash(1, b"a long key over eight bytes")
        );
    }

    #[test]
    fn keys_format_in_place_and_long_ones_spill() {
        let mut buf = KeyBuf::new();
        assert_eq!(buf.format(&42u64), "42");
        let long = "k".repeat(100);
        assert_eq!(buf.format(&long), long);
        assert_eq!(buf.format(&7), "7");
    }

    #[test]
    fn integers_are_written_as_display_writes_them() {
        let mut buf = KeyBuf::new();
        for n in [
            0u128,
            7,
            10,
            42,
            1_000_000,
            10u128.pow(19),
            10u128.pow(19) + 1,
            10u128.pow(38),
            u64::MAX as u128,
            u128::MAX,
        ] {
            assert_eq!(buf.unsigned(n), n.to_string().as_bytes());
        }
        for n in [0i128, -1, 9, -10, i64::MIN as i128, i128::MIN, i128::MAX] {
            assert_eq!(buf.signed(n), n.to_string().as_bytes());
        }
        for n in [0u64, 5, 10, 99, 100, 4_200_042, u64::MAX] {
            assert_eq!(buf.unsigned64(n), n.to_string().as_bytes());
        }
        for n in [0i64, -5, 10, -100, i64::MIN, i64::MAX] {
            assert_eq!(buf.signed64(n), n.to_string().as_bytes());
        }
    }

    #[test]
    fn caps_the_wait_follows_the_presets_and_the_defaults() {
        use crate::__private::caps_the_wait;
        use crate::{BreakerConfig, Preset, Setting};
        use std::time::Duration;
        let cases = [(None, BreakerConfig::default())]
            .into_iter()
            .chain(Preset::ALL.map(|p| (Some(p), p.config())));
        for (preset, config) in cases {
            let outer: Vec<Setting> = preset.map(Setting::Preset).into_iter().collect();
            let at = |d: Duration| [Setting::MaxOpenTimeout(d)];
            assert!(caps_the_wait(&outer, &at(config.open_timeout)), "{preset:?}");
            let below = config.open_timeout - Duration::from_nanos(1);
            assert!(!caps_the_wait(&outer, &at(below)), "{preset:?}");
            assert!(
                caps_the_wait(&outer, &[]),
                "{preset:?}: max {:?}",
                config.max_open_timeout
            );
        }
        let ten_minutes = Duration::from_secs(600);
        assert!(!caps_the_wait(
            &[Setting::OpenTimeout(ten_minutes)],
            &[Setting::MaxOpenTimeout(Duration::from_secs(60))]
        ));
        assert!(
            caps_the_wait(
                &[Setting::MaxOpenTimeout(Duration::from_secs(60))],
                &[Setting::OpenTimeout(ten_minutes)]
            ),
            "a method's open_timeout raises a struct-level cap"
        );
    }
}
