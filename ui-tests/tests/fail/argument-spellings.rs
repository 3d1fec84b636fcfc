//! What users write from other libraries' habits: each is one error on the value.
use cb_runtime::{circuit_breaker, Rejected};

pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}

#[circuit_breaker(name = "a", consecutive_failures = "5")]
pub fn count_as_string() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "b", failure_rate_threshold = "50%")]
pub fn percent_as_string() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "c", open_timeout = "1.5s")]
pub fn fractional_duration() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "d", open_timeout = "30 s")]
pub fn spaced_duration() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "e", consecutive_failures = off)]
pub fn off_as_ident() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "f", window = "100")]
pub fn window_count_as_string() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "h", consecutive_failures = false)]
pub fn off_as_bool() -> Result<(), Error> { Ok(()) }

#[circuit_breaker(name = "i", open_timeout = std::time::Duration::from_secs(30))]
pub fn duration_expression() -> Result<(), Error> { Ok(()) }

fn main() {}
