//! Per-thread stripes: what every call must count, kept where (almost always) one thread writes.
//!
//! Each thread claims one of 64 process-wide slots on first use and returns it when it exits;
//! a breaker keeps one lazily allocated [`Stripe`] per slot. The owner of a slot is the only
//! writer of that stripe, so it counts with a plain load and store: no read-modify-write, no
//! cache line shared with other threads. Threads beyond the 64th share one overflow stripe and
//! fall back to atomic read-modify-writes there.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

/// Slots with a single owner each.
pub(crate) const EXCLUSIVE_SLOTS: usize = 64;
/// Stripes per breaker: the exclusive ones plus the shared overflow stripe.
pub(crate) const STRIPES: usize = EXCLUSIVE_SLOTS + 1;

static FREE_SLOTS: AtomicU64 = AtomicU64::new(u64::MAX);

struct SlotGuard {
    index: usize,
}

impl SlotGuard {
    fn claim() -> SlotGuard {
        let mut free = FREE_SLOTS.load(Ordering::Relaxed);
        while free != 0 {
            let bit = free.trailing_zeros();
            match FREE_SLOTS.compare_exchange_weak(free, free & !(1 << bit), Ordering::Acquire, Ordering::Relaxed) {
                Ok(_) => {
                    return SlotGuard { index: bit as usize };
                }
                Err(now) => free = now,
            }
        }
        SlotGuard { index: EXCLUSIVE_SLOTS }
    }
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        if self.index < EXCLUSIVE_SLOTS {
            // Release: the next owner sees every count this thread wrote.
            FREE_SLOTS.fetch_or(1 << self.index, Ordering::Release);
        }
    }
}

thread_local! {
    static SLOT: SlotGuard = SlotGuard::claim();
}

/// This thread's slot: an index into a breaker's stripes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Slot(usize);

impl Slot {
    #[inline]
    pub(crate) fn current() -> Slot {
        Slot(SLOT.try_with(|s| s.index).unwrap_or(EXCLUSIVE_SLOTS))
    }

    /// The shared overflow slot (what the 65th thread gets).
    #[cfg(test)]
    pub(crate) fn overflow() -> Slot {
        Slot(EXCLUSIVE_SLOTS)
    }

    #[inline]
    pub(crate) fn index(self) -> usize {
        self.0
    }

    #[inline]
    pub(crate) fn exclusive(self) -> bool {
        self.0 < EXCLUSIVE_SLOTS
    }
}

/// Adds to a counter of a stripe: load and store for the owner, `fetch_add` when shared.
#[inline]
pub(crate) fn add(cell: &AtomicU64, n: u64, slot: Slot) -> u64 {
    if slot.exclusive() {
        let new = cell.load(Ordering::Relaxed).wrapping_add(n);
        cell.store(new, Ordering::Relaxed);
        new
    } else {
        cell.fetch_add(n, Ordering::Relaxed).wrapping_add(n)
    }
}

/// Totals a stripe counts, in the order of [`Stripe::totals`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum Total {
    Success,
    Failure,
    Ignored,
    Rejected,
    Timeout,
    Slow,
    Fallback,
    /// Successes recorded after their period ended, instead of in `Success`: they end no run
    /// of failures of the period in force (see `breaker::run`) and count in no period's calls;
    /// the totals a snapshot shows add them to the successes.
    Stale,
    /// Failures and timeouts recorded after their period ended: in `Failure` or `Timeout` too,
    /// but in no period's calls.
    StaleFailure,
}

const TOTALS: usize = 9;

/// Upper bounds (seconds) of the call-duration histogram buckets; a last bucket takes the rest.
pub(crate) const DURATION_BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];
const DURATION_BOUNDS_NANOS: [u64; 11] = [
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
];

/// Calls per duration bucket (the last one past every bound), then the sum in nanoseconds.
type Histogram = [AtomicU64; DURATION_BUCKETS.len() + 2];

/// One thread's share of a breaker's counts.
#[derive(Debug)]
#[repr(align(128))]
pub(crate) struct Stripe {
    totals: [AtomicU64; TOTALS],
    /// Calls per duration bucket (the last one past every bound), then the sum in nanoseconds.
    /// Allocated on the first timed call (only timed calls are observed: with metrics on, or
    /// slow-call detection): 104 bytes most keyed breakers never need.
    durations: OnceLock<Box<Histogram>>,
    /// This stripe's buckets of a time window, from its first windowed outcome on.
    pub(crate) ring: OnceLock<Box<crate::window::ring::Ring>>,
    /// Whether one thread owns this stripe (the overflow stripe's writers take turns).
    pub(crate) exclusive: bool,
}

impl Stripe {
    pub(crate) fn new(exclusive: bool) -> Stripe {
        Stripe {
            totals: Default::default(),
            durations: OnceLock::new(),
            ring: OnceLock::new(),
            exclusive,
        }
    }

    /// Counts one `total`; the stripe's count of it now.
    #[inline]
    pub(crate) fn count(&self, total: Total, slot: Slot) -> u64 {
        add(&self.totals[total as usize], 1, slot)
    }

    /// Counts one `total` on a stripe the caller's slot owns exclusively; its count now.
    #[inline(always)]
    pub(crate) fn count_owned(&self, total: Total) -> u64 {
        let cell = &self.totals[total as usize];
        let new = cell.load(Ordering::Relaxed).wrapping_add(1);
        cell.store(new, Ordering::Relaxed);
        new
    }

    pub(crate) fn total(&self, total: Total) -> u64 {
        self.totals[total as usize].load(Ordering::Relaxed)
    }

    /// Counts one timed call duration standing for `weight` calls.
    #[inline]
    pub(crate) fn observe(&self, nanos: u64, weight: u64, slot: Slot) {
        let bucket = DURATION_BOUNDS_NANOS
            .iter()
            .position(|b| nanos <= *b)
            .unwrap_or(DURATION_BOUNDS_NANOS.len());
        let durations = self
            .durations
            .get_or_init(|| Box::new(std::array::from_fn(|_| AtomicU64::new(0))));
        add(&durations[bucket], weight, slot);
        add(
            &durations[DURATION_BUCKETS.len() + 1],
            nanos.saturating_mul(weight),
            slot,
        );
    }
}

/// Slots per chunk of a breaker's table of other threads' stripes.
const CHUNK: usize = 8;
/// Chunks in that table.
const CHUNKS: usize = STRIPES.div_ceil(CHUNK);
/// Eight slots' stripes, allocated when one of them first calls.
type Chunk = [OnceLock<Box<Stripe>>; CHUNK];

/// A breaker's stripes, allocated on a thread's first call.
///
/// Most breakers of a keyed family are only ever called from one thread, or a few: the first
/// thread's stripe hangs off the breaker directly, and the table of every other slot is only
/// allocated once a second thread calls, in chunks of eight slots (threads claim the lowest
/// free slots, so a service with a few workers allocates one or two chunks, not 65 cells).
#[derive(Debug)]
pub(crate) struct Stripes {
    /// The stripe of the first slot that called, with that slot's index.
    first: OnceLock<(usize, Box<Stripe>)>,
    /// The other slots' stripes, once a second slot has called.
    rest: OnceLock<Box<[OnceLock<Box<Chunk>>; CHUNKS]>>,
    /// Which exclusive stripes exist (bit `i` for stripe `i`).
    used: AtomicU64,
    used_overflow: std::sync::atomic::AtomicBool,
}

impl Stripes {
    pub(crate) fn new() -> Stripes {
        Stripes {
            first: OnceLock::new(),
            rest: OnceLock::new(),
            used: AtomicU64::new(0),
            used_overflow: std::sync::atomic::AtomicBool::new(false),
        }
    }

    #[inline]
    pub(crate) fn get(&self, slot: Slot) -> &Stripe {
        let (owner, stripe) = self.first.get_or_init(|| (slot.index(), self.create(slot)));
        if *owner == slot.index() {
            return stripe;
        }
        self.get_rest(slot)
    }

    /// The stripe `slot` owns exclusively, if it has one already: the first stripe (the common
    /// case of one thread, or the first thread of several) is a load and two comparisons, the
    /// other threads' two loads more.
    #[inline(always)]
    pub(crate) fn owned(&self, slot: Slot) -> Option<&Stripe> {
        if !slot.exclusive() {
            return None;
        }
        match self.first.get() {
            Some((owner, stripe)) if *owner == slot.index() => Some(stripe),
            Some(_) => self.owned_rest(slot),
            None => None,
        }
    }

    #[inline]
    fn owned_rest(&self, slot: Slot) -> Option<&Stripe> {
        self.rest_stripe(slot.index())
    }

    /// Stripe `index` of the other slots, if it exists.
    #[inline]
    fn rest_stripe(&self, index: usize) -> Option<&Stripe> {
        let chunk = self.rest.get()?[index / CHUNK].get()?;
        chunk[index % CHUNK].get().map(|b| &**b)
    }

    #[cold]
    fn get_rest(&self, slot: Slot) -> &Stripe {
        let chunks = self.rest.get_or_init(Box::default);
        let chunk = chunks[slot.index() / CHUNK].get_or_init(Box::default);
        chunk[slot.index() % CHUNK].get_or_init(|| self.create(slot))
    }

    fn create(&self, slot: Slot) -> Box<Stripe> {
        if slot.exclusive() {
            self.used.fetch_or(1 << slot.index(), Ordering::Release);
        } else {
            self.used_overflow.store(true, Ordering::Release);
        }
        Box::new(Stripe::new(slot.exclusive()))
    }

    /// Calls `f` on every stripe some thread has used (only those: judging a time window
    /// visits no empty slot). A breaker only one thread has called visits its first stripe
    /// without looking further.
    #[inline]
    pub(crate) fn for_each(&self, mut f: impl FnMut(&Stripe)) {
        let Some((owner, first)) = self.first.get() else {
            return;
        };
        f(first);
        if self.rest.get().is_none() {
            return;
        }
        let mut used = self.used.load(Ordering::Acquire) & !(1u64.checked_shl(*owner as u32).unwrap_or(0));
        while used != 0 {
            let i = used.trailing_zeros() as usize;
            used &= used - 1;
            if let Some(stripe) = self.rest_stripe(i) {
                f(stripe);
            }
        }
        if *owner != EXCLUSIVE_SLOTS
            && self.used_overflow.load(Ordering::Acquire)
            && let Some(stripe) = self.rest_stripe(EXCLUSIVE_SLOTS)
        {
            f(stripe);
        }
    }

    pub(crate) fn sum(&self, total: Total) -> u64 {
        let mut sum = 0;
        self.for_each(|s| sum = u64::wrapping_add(sum, s.total(total)));
        sum
    }

    /// Calls per duration bucket (not cumulative) and the sum of durations in nanoseconds.
    pub(crate) fn durations(&self) -> ([u64; DURATION_BUCKETS.len() + 1], u64) {
        let mut counts = [0; DURATION_BUCKETS.len() + 1];
        let mut sum = 0u64;
        self.for_each(|stripe| {
            let Some(durations) = stripe.durations.get() else {
                return;
            };
            for (c, cell) in counts.iter_mut().zip(durations.iter()) {
                *c += cell.load(Ordering::Relaxed);
            }
            sum = sum.wrapping_add(durations[DURATION_BUCKETS.len() + 1].load(Ordering::Relaxed));
        });
        (counts, sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn threads_count_exactly_in_their_own_stripes() {
        let stripes = Arc::new(Stripes::new());
        let handles: Vec<_> = (0..8)
            .map(|_| {
                let stripes = stripes.clone();
                std::thread::spawn(move || {
                    for _ in 0..10_000 {
                        let slot = Slot::current();
                        stripes.get(slot).count(Total::Success, slot);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(stripes.sum(Total::Success), 80_000);
    }

    #[test]
    fn one_thread_needs_no_table_and_a_second_gets_its_own_stripe() {
        let stripes = Arc::new(Stripes::new());
        let slot = Slot::current();
        stripes.get(slot).count(Total::Success, slot);
        assert!(stripes.rest.get().is_none());
        let other = stripes.clone();
        std::thread::spawn(move || {
            let slot = Slot::current();
            other.get(slot).count(Total::Failure, slot);
        })
        .join()
        .unwrap();
        assert!(stripes.rest.get().is_some());
        assert_eq!((stripes.sum(Total::Success), stripes.sum(Total::Failure)), (1, 1));
        let mut visited = 0;
        stripes.for_each(|_| visited += 1);
        assert_eq!(visited, 2);
    }

    #[test]
    fn the_shared_stripe_counts_atomically() {
        let stripe = Arc::new(Stripe::new(false));
        let shared = Slot(EXCLUSIVE_SLOTS);
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let stripe = stripe.clone();
                std::thread::spawn(move || (0..10_000).for_each(|_| _ = stripe.count(Total::Failure, shared)))
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        assert_eq!(stripe.total(Total::Failure), 40_000);
    }
}
