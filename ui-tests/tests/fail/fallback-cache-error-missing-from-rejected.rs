use cb_runtime::circuit_breaker;

#[derive(Debug)]
pub enum ApiError { Down }

/// README's "Fallback strategies" snippet: `fallback = cache` with an error type that has no
/// `From<Rejected>`. A cache can miss, so the rejection still needs the error type; the error
/// should say so, not tell the user to "give the breaker a `fallback`" it already has.
#[circuit_breaker(name = "prices", fallback = cache, cache(max_entries = 50_000, max_stale = "15m"))]
pub async fn price(sku: &str) -> Result<u64, ApiError> { let _ = sku; Err(ApiError::Down) }

fn main() {}
