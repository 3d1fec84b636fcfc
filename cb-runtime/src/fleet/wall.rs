//! The only wall-clock read of the fleet: it seeds the instance id. Nothing in the protocol
//! depends on it (a test below keeps it that way).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// A random instance id: the wall clock, the process and a per-process counter, mixed.
pub(crate) fn instance_id(wall_clock: fn() -> SystemTime) -> u64 {
    static JOINED: AtomicU64 = AtomicU64::new(0);
    let nth = JOINED.fetch_add(1, Ordering::Relaxed);
    let wall = wall_clock()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let seed = wall ^ u64::from(std::process::id()).rotate_left(47) ^ nth.rotate_left(23);
    let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The protocol takes no time from any client's wall clock: no other fleet file reads it.
    #[test]
    fn no_other_fleet_file_reads_the_wall_clock() {
        for (file, source) in [
            ("conditions.rs", include_str!("conditions.rs")),
            ("periods.rs", include_str!("periods.rs")),
            ("secret.rs", include_str!("secret.rs")),
            #[cfg(feature = "redis")]
            ("over_redis/agent/mod.rs", include_str!("over_redis/agent/mod.rs")),
            #[cfg(feature = "redis")]
            ("over_redis/agent/lease.rs", include_str!("over_redis/agent/lease.rs")),
            #[cfg(feature = "redis")]
            (
                "over_redis/agent/publish.rs",
                include_str!("over_redis/agent/publish.rs"),
            ),
            #[cfg(feature = "redis")]
            ("over_redis/agent/read.rs", include_str!("over_redis/agent/read.rs")),
            #[cfg(feature = "redis")]
            ("over_redis/errors.rs", include_str!("over_redis/errors.rs")),
            #[cfg(feature = "redis")]
            ("over_redis/keys.rs", include_str!("over_redis/keys.rs")),
            #[cfg(feature = "redis")]
            ("over_redis/scripts.rs", include_str!("over_redis/scripts.rs")),
            #[cfg(feature = "nats")]
            ("over_nats/mod.rs", include_str!("over_nats/mod.rs")),
            #[cfg(feature = "nats")]
            ("over_nats/agent.rs", include_str!("over_nats/agent.rs")),
            #[cfg(feature = "nats")]
            ("over_nats/events.rs", include_str!("over_nats/events.rs")),
            #[cfg(feature = "nats")]
            ("over_nats/lease.rs", include_str!("over_nats/lease.rs")),
            #[cfg(feature = "nats")]
            ("over_nats/subject.rs", include_str!("over_nats/subject.rs")),
        ] {
            for clock in ["SystemTime", "UNIX_EPOCH", "wall_clock"] {
                assert!(!source.contains(clock), "{file} mentions {clock}");
            }
        }
        let module = include_str!("mod.rs");
        assert_eq!(
            module.matches("config.wall_clock").count(),
            1,
            "mod.rs reads the wall clock once, for the id"
        );
    }

    #[test]
    fn ids_differ_even_on_a_stopped_clock() {
        let stopped = || UNIX_EPOCH;
        assert_ne!(instance_id(stopped), instance_id(stopped));
    }
}
