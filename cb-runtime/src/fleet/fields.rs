//! The fields that both backends' values carry (a Redis `state` value, a NATS circuit
//! payload), checked the same way wherever they are read.

use crate::fleet::conditions::shown;

/// Parses an instance id (16 hex digits); `Err` says what is wrong with it.
pub(crate) fn parse_instance(instance: &str) -> Result<u64, String> {
    (instance.len() == 16 && instance.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u64::from_str_radix(instance, 16).ok())
        .flatten()
        .ok_or_else(|| format!("instance {:?} is not 16 hex digits", shown(instance)))
}

/// Parses the open wait of a trip (milliseconds, a positive integer); `Err` says what is
/// wrong with it.
pub(crate) fn parse_wait_ms(wait: &str) -> Result<u64, String> {
    wait.parse::<u64>()
        .ok()
        .filter(|w| *w > 0)
        .ok_or_else(|| format!("wait_ms {:?} is not a positive integer", shown(wait)))
}
