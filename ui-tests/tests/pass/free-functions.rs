use cb_runtime::{circuit_breaker, Rejected, Timeout};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

/// Sync, Result, no fallback.
#[circuit_breaker(name = "pass-sync", consecutive_failures = 3, window = 50, minimum_calls = 10)]
pub fn sync_fn(x: u32) -> Result<u32, Error> {
    Ok(x)
}

/// Async with timeout, preset and every duration form.
#[circuit_breaker(name = "pass-async", preset = "aggressive", timeout = "150ms", open_timeout = "2m",
    slow_call_duration = "1s", slow_call_rate_threshold = 0.8, half_open_max_wait = "1h", window = "30s")]
pub async fn async_fn(x: &str) -> Result<usize, Error> {
    Ok(x.len())
}

/// `io::Result` aliases work.
#[circuit_breaker(name = "pass-io")]
pub fn io_fn() -> std::io::Result<()> {
    Err(std::io::Error::other("down"))
}

#[circuit_breaker(name = "pass-unit", fallback = nothing)]
pub fn unit_fn() {}

fn nothing() {}

#[circuit_breaker(name = "pass-early-return")]
pub fn early_return(x: Option<u32>) -> Result<u32, Error> {
    let Some(x) = x else { return Err(Error) };
    let y: u32 = "7".parse().map_err(|_| Error)?;
    Ok(x + y)
}

fn main() {
    let _ = sync_fn(1);
    let _ = async_fn("x");
    let _ = io_fn();
    unit_fn();
    let _ = early_return(Some(1));
}
