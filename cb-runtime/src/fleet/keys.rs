//! The fleet's keys and values in Redis.
//!
//! - `cb:{fleet}:{name}:open` = `{opened_at_ms}:{open_until_ms}:{instance_hex}`
//! - `cb:{fleet}:{name}:closed` = `{closed_at_ms}:{instance_hex}`
//! - `cb:{fleet}:{name}:probe` = `{instance_hex}` (the probe lease)
//!
//! Times are Unix milliseconds; the latest of `opened_at` and `closed_at` wins.

/// A fleet event read back from Redis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FleetState {
    Open { at: u64, until: u64, instance: u64 },
    Closed { at: u64, instance: u64 },
}

impl FleetState {
    pub(crate) fn at(&self) -> u64 {
        match self {
            FleetState::Open { at, .. } | FleetState::Closed { at, .. } => *at,
        }
    }
}

pub(crate) fn key(fleet: &str, name: &str, what: &str) -> String {
    format!("cb:{fleet}:{name}:{what}")
}

pub(crate) fn open_value(at: u64, until: u64, instance: u64) -> String {
    format!("{at}:{until}:{instance:016x}")
}

pub(crate) fn closed_value(at: u64, instance: u64) -> String {
    format!("{at}:{instance:016x}")
}

pub(crate) fn instance_value(instance: u64) -> String {
    format!("{instance:016x}")
}

/// Parses an `open` value; `Err` describes what is malformed.
pub(crate) fn parse_open(value: &str) -> Result<FleetState, String> {
    let mut parts = value.split(':');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(at), Some(until), Some(instance), None) => Ok(FleetState::Open {
            at: at.parse().map_err(|_| format!("bad opened_at in {value:?}"))?,
            until: until.parse().map_err(|_| format!("bad open_until in {value:?}"))?,
            instance: u64::from_str_radix(instance, 16).map_err(|_| format!("bad instance in {value:?}"))?,
        }),
        _ => Err(format!("expected opened_at:open_until:instance, found {value:?}")),
    }
}

/// Parses a `closed` value.
pub(crate) fn parse_closed(value: &str) -> Result<FleetState, String> {
    match value.split_once(':') {
        Some((at, instance)) if !instance.contains(':') => Ok(FleetState::Closed {
            at: at.parse().map_err(|_| format!("bad closed_at in {value:?}"))?,
            instance: u64::from_str_radix(instance, 16).map_err(|_| format!("bad instance in {value:?}"))?,
        }),
        _ => Err(format!("expected closed_at:instance, found {value:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_and_garbage_is_an_error() {
        assert_eq!(
            parse_open(&open_value(5, 9, 0xabc)),
            Ok(FleetState::Open {
                at: 5,
                until: 9,
                instance: 0xabc
            })
        );
        assert_eq!(
            parse_closed(&closed_value(7, 1)),
            Ok(FleetState::Closed { at: 7, instance: 1 })
        );
        assert!(parse_open("garbage").is_err());
        assert!(parse_open("1:2:zz").is_err());
        assert!(parse_closed("x:1").is_err());
        assert!(parse_closed("1:2:3").is_err());
    }
}
