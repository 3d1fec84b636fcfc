//! One stripe's buckets of a time window, and the totals over them.
//!
//! A ring is written by one thread at a time: the owner of an exclusive stripe, or whichever
//! thread holds the lock of the shared overflow stripe. Other threads only read it (judging
//! the window, snapshots), and a move of the window (buckets leaving it) is published like a
//! sequence lock: `since` holds [`MOVING`] while buckets are emptied, so a reader that saw the
//! same `since` before and after its reads read one consistent state.
//!
//! Buckets start narrow, one 32-bit word each (`failures:16 | calls:16`): 60 one-second
//! buckets are 240 bytes, which keeps a keyed breaker under 1 KB. The first bucket that would
//! count a 65,536th call in its span, or the first slow call, widens the ring for good to two
//! 64-bit words per bucket (`failures:32 | calls:32`, then slow calls): counts stay exact at any
//! rate, and only breakers that are hot or time their calls pay for it.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering, fence};

/// Reads of a ring tried before one under a writer that keeps moving is taken as it is.
const READ_TRIES: u32 = 64;

/// `since` while the writer moves the window (see the module doc).
pub(crate) const MOVING: u64 = u64::MAX;
const LOW16: u64 = 0xFFFF;
const LOW32: u64 = 0xFFFF_FFFF;

/// What one bucket holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bucket {
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

/// The window's totals over a ring's buckets, as one read saw them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Totals {
    /// The epoch the totals are valid at: buckets of epochs up to `since - buckets` have left.
    pub(crate) since: u64,
    pub(crate) calls: u64,
    pub(crate) failures: u64,
    pub(crate) slow: u64,
}

#[derive(Debug)]
pub(crate) struct Ring {
    /// The period (generation + 1) the buckets count; 0 before the first outcome.
    pub(crate) generation: AtomicU64,
    /// See [`Totals::since`]; [`MOVING`] while the writer empties buckets.
    since: AtomicU64,
    calls: AtomicU64,
    /// `failures << 32 | slow`.
    bad: AtomicU64,
    /// The writer's note of its current bucket: where its span starts (ns), its epoch, its index.
    pub(crate) note: [AtomicU64; 3],
    /// Held by the thread writing a shared stripe's ring.
    lock: AtomicBool,
    narrow: Box<[AtomicU32]>,
    wide: OnceLock<Box<[AtomicU64]>>,
}

impl Ring {
    /// An empty ring of `buckets` buckets at epoch 0.
    pub(crate) fn new(buckets: usize) -> Ring {
        Ring {
            generation: AtomicU64::new(0),
            since: AtomicU64::new(0),
            calls: AtomicU64::new(0),
            bad: AtomicU64::new(0),
            note: Default::default(),
            lock: AtomicBool::new(false),
            narrow: (0..buckets).map(|_| AtomicU32::new(0)).collect(),
            wide: OnceLock::new(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.narrow.len()
    }

    /// Takes the write lock (for a shared stripe); released when the guard drops.
    pub(crate) fn lock(&self) -> Locked<'_> {
        let mut spins = 0u32;
        while self.lock.swap(true, Ordering::Acquire) {
            spins += 1;
            if spins < 64 {
                std::hint::spin_loop();
            } else {
                std::thread::yield_now();
            }
        }
        Locked(self)
    }

    /// The writer's epoch of the totals.
    #[inline]
    pub(crate) fn since(&self) -> u64 {
        self.since.load(Ordering::Relaxed)
    }

    /// Counts one outcome in bucket `i` and the totals (the writer only).
    #[inline(always)]
    pub(crate) fn add(&self, i: usize, failure: bool, slow: bool) {
        let wide = match self.wide.get() {
            Some(wide) => wide,
            None => {
                let cell = &self.narrow[i];
                let w = cell.load(Ordering::Relaxed);
                if w as u64 & LOW16 != LOW16 && !slow {
                    cell.store(w + 1 + (u32::from(failure) << 16), Ordering::Relaxed);
                    self.add_totals(failure, slow);
                    return;
                }
                self.widen()
            }
        };
        let pair = &wide[2 * i..2 * i + 2];
        let w = pair[0].load(Ordering::Relaxed);
        pair[0].store(w + 1 + (u64::from(failure) << 32), Ordering::Relaxed);
        if slow {
            pair[1].store(pair[1].load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        }
        self.add_totals(failure, slow);
    }

    #[inline]
    fn add_totals(&self, failure: bool, slow: bool) {
        self.calls
            .store(self.calls.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        if failure || slow {
            let bad = (u64::from(failure) << 32) | u64::from(slow);
            self.bad
                .store(self.bad.load(Ordering::Relaxed) + bad, Ordering::Relaxed);
        }
    }

    /// Moves to two words per bucket, copying the narrow counts (the writer only).
    #[cold]
    #[inline(never)]
    fn widen(&self) -> &[AtomicU64] {
        self.wide.get_or_init(|| {
            self.narrow
                .iter()
                .flat_map(|cell| {
                    let w = u64::from(cell.load(Ordering::Relaxed));
                    [AtomicU64::new(((w >> 16) << 32) | (w & LOW16)), AtomicU64::new(0)]
                })
                .collect()
        })
    }

    /// What bucket `i` holds.
    pub(crate) fn bucket(&self, i: usize) -> Bucket {
        match self.wide.get() {
            Some(wide) => {
                let w = wide[2 * i].load(Ordering::Relaxed);
                Bucket {
                    calls: w & LOW32,
                    failures: w >> 32,
                    slow: wide[2 * i + 1].load(Ordering::Relaxed),
                }
            }
            None => {
                let w = u64::from(self.narrow[i].load(Ordering::Relaxed));
                Bucket {
                    calls: w & LOW16,
                    failures: w >> 16,
                    slow: 0,
                }
            }
        }
    }

    /// Starts a move of the window (the writer only): readers retry until [`moved`](Self::moved).
    pub(crate) fn moving(&self) {
        self.since.store(MOVING, Ordering::Relaxed);
        fence(Ordering::Release);
    }

    /// Empties bucket `i`, taking its counts out of the totals (the writer only, while moving).
    pub(crate) fn empty(&self, i: usize) {
        let b = self.bucket(i);
        if b == Bucket::default() {
            return;
        }
        match self.wide.get() {
            Some(wide) => {
                wide[2 * i].store(0, Ordering::Relaxed);
                wide[2 * i + 1].store(0, Ordering::Relaxed);
            }
            None => self.narrow[i].store(0, Ordering::Relaxed),
        }
        let calls = self.calls.load(Ordering::Relaxed);
        self.calls.store(calls.saturating_sub(b.calls), Ordering::Relaxed);
        let bad = self.bad.load(Ordering::Relaxed);
        let failures = (bad >> 32).saturating_sub(b.failures);
        let slow = (bad & LOW32).saturating_sub(b.slow);
        self.bad.store((failures << 32) | slow, Ordering::Relaxed);
    }

    /// Empties every bucket and the totals (the writer only, while moving).
    pub(crate) fn empty_all(&self) {
        for cell in self.narrow.iter() {
            cell.store(0, Ordering::Relaxed);
        }
        if let Some(wide) = self.wide.get() {
            for cell in wide.iter() {
                cell.store(0, Ordering::Relaxed);
            }
        }
        self.calls.store(0, Ordering::Relaxed);
        self.bad.store(0, Ordering::Relaxed);
    }

    /// Ends a move: the totals are valid at `epoch`.
    pub(crate) fn moved(&self, epoch: u64) {
        self.since.store(epoch, Ordering::Release);
    }

    /// Reads the totals and, through `expired`, what must leave them, as one consistent state
    /// (retrying while the writer moves the window; after a few tries under a writer that
    /// keeps moving, the last read, as approximate as any read of counts still moving).
    pub(crate) fn read<R>(&self, mut expired: impl FnMut(&Ring, Totals) -> R) -> R {
        let mut tries = 0;
        loop {
            tries += 1;
            let since = self.since.load(Ordering::Acquire);
            if since == MOVING && tries < READ_TRIES {
                // A move empties at most a window of buckets: spin briefly, then let a writer
                // that lost its core finish.
                if tries < 8 {
                    std::hint::spin_loop();
                } else {
                    std::thread::yield_now();
                }
                continue;
            }
            let bad = self.bad.load(Ordering::Relaxed);
            let totals = Totals {
                since,
                calls: self.calls.load(Ordering::Relaxed),
                failures: bad >> 32,
                slow: bad & LOW32,
            };
            let result = expired(self, totals);
            fence(Ordering::Acquire);
            if self.since.load(Ordering::Relaxed) == since || tries >= READ_TRIES {
                return result;
            }
        }
    }
}

/// The write lock of a shared stripe's ring.
pub(crate) struct Locked<'a>(&'a Ring);

impl Drop for Locked<'_> {
    fn drop(&mut self) {
        self.0.lock.store(false, Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_widens_before_its_calls_overflow_and_keeps_its_counts() {
        let ring = Ring::new(4);
        for n in 0..70_000u64 {
            ring.add(1, n % 10 == 0, false);
        }
        ring.add(2, true, false);
        assert!(ring.wide.get().is_some());
        assert_eq!(
            ring.bucket(1),
            Bucket {
                calls: 70_000,
                failures: 7_000,
                slow: 0
            }
        );
        assert_eq!(ring.bucket(2).failures, 1);
        let totals = ring.read(|_, t| t);
        assert_eq!((totals.calls, totals.failures), (70_001, 7_001));
    }

    #[test]
    fn a_slow_call_widens_the_ring() {
        let ring = Ring::new(3);
        ring.add(0, true, false);
        ring.add(0, false, true);
        assert_eq!(
            ring.bucket(0),
            Bucket {
                calls: 2,
                failures: 1,
                slow: 1
            }
        );
        ring.moving();
        ring.empty(0);
        ring.moved(1);
        assert_eq!(
            ring.read(|_, t| t),
            Totals {
                since: 1,
                ..Totals::default()
            }
        );
    }

    #[test]
    fn the_shared_ring_counts_exactly_under_its_lock() {
        let ring = std::sync::Arc::new(Ring::new(2));
        let handles: Vec<_> = (0..4)
            .map(|_| {
                let ring = ring.clone();
                std::thread::spawn(move || {
                    for n in 0..20_000 {
                        let _locked = ring.lock();
                        ring.add(n % 2, n % 4 == 0, false);
                    }
                })
            })
            .collect();
        for h in handles {
            h.join().unwrap();
        }
        let totals = ring.read(|_, t| t);
        assert_eq!((totals.calls, totals.failures), (80_000, 20_000));
        assert_eq!(ring.bucket(0).calls + ring.bucket(1).calls, 80_000);
    }
}
