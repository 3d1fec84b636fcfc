//! Durations and rates written the way a config file or another language spells them.
use cb_runtime::{circuit_breaker, Rejected, Timeout};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

#[circuit_breaker(name = "a", open_timeout = 30s)]
pub fn suffixed() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "b", window = 60s)]
pub fn suffixed_window() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "c", timeout = 500ms)]
pub async fn suffixed_timeout() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "d", open_timeout = 1.5)]
pub fn float_seconds() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "e", failure_rate_threshold = 50)]
pub fn rate_as_percent_number() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "f", consecutive_failures = 5.0)]
pub fn count_as_float() -> Result<(), Error> { Ok(()) }

fn main() {}
