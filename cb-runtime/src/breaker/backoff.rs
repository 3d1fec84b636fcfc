//! The open wait: `open_timeout * backoff_multiplier^k`, capped, times a jitter factor.

use crate::config::BreakerConfig;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The wait before the `k`-th consecutive re-open (k = 0 for a first trip) may probe.
pub(crate) fn open_wait(config: &BreakerConfig, k: u32) -> Duration {
    let base = config.open_timeout.as_secs_f64();
    let grown = base * config.backoff_multiplier.powi(k.min(1_000) as i32);
    let capped = grown.min(config.max_open_timeout.as_secs_f64());
    let factor = if config.jitter > 0.0 {
        1.0 + config.jitter * (2.0 * unit_random() - 1.0)
    } else {
        1.0
    };
    Duration::try_from_secs_f64(capped * factor).unwrap_or(config.max_open_timeout)
}

/// A uniform number in `[0, 1)` from a process-wide splitmix64 sequence: transitions are rare,
/// so one shared atomic is plenty.
fn unit_random() -> f64 {
    static STATE: AtomicU64 = AtomicU64::new(0);
    let mut seed = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
    if seed == 0 {
        let addr = &STATE as *const AtomicU64 as u64;
        seed = crate::Clock::monotonic().now_nanos() ^ addr.rotate_left(32);
        STATE.store(seed, Ordering::Relaxed);
    }
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(jitter: f64) -> BreakerConfig {
        BreakerConfig::builder()
            .open_timeout(Duration::from_secs(10))
            .backoff_multiplier(2.0)
            .max_open_timeout(Duration::from_secs(60))
            .jitter(jitter)
            .build()
            .unwrap()
    }

    #[test]
    fn grows_exponentially_up_to_the_cap() {
        let c = config(0.0);
        let waits: Vec<u64> = (0..5).map(|k| open_wait(&c, k).as_secs()).collect();
        assert_eq!(waits, [10, 20, 40, 60, 60]);
    }

    #[test]
    fn jitter_stays_within_its_band_and_varies() {
        let c = config(0.2);
        let waits: Vec<Duration> = (0..200).map(|_| open_wait(&c, 0)).collect();
        assert!(
            waits
                .iter()
                .all(|w| *w >= Duration::from_secs(8) && *w <= Duration::from_secs(12))
        );
        assert!(waits.iter().any(|w| *w != waits[0]));
    }
}
