//! Arguments passed through `macro_rules!` (wrapped in invisible groups) (issue 11, item 6).
use cb_runtime::{circuit_breaker, Rejected, Timeout};

#[derive(Debug)]
pub struct Error;
impl From<Rejected> for Error {
    fn from(_: Rejected) -> Self { Error }
}
impl From<Timeout> for Error {
    fn from(_: Timeout) -> Self { Error }
}

macro_rules! literal_args {
    ($fn_name:ident, $name:literal, $failures:literal, $open:literal, $rate:literal) => {
        #[circuit_breaker(name = $name, consecutive_failures = $failures, open_timeout = $open, failure_rate_threshold = $rate)]
        pub fn $fn_name(n: u32) -> Result<u32, Error> {
            Ok(n)
        }
    };
}

macro_rules! expr_args {
    ($fn_name:ident, $name:expr, $failures:expr, $window:expr, $fallback:expr, $ret:ty) => {
        #[circuit_breaker(name = $name, consecutive_failures = $failures, window = $window, fallback = $fallback)]
        pub fn $fn_name(n: u32) -> $ret {
            Ok(n)
        }
    };
}

macro_rules! tt_args {
    ($fn_name:ident, $($args:tt)*) => {
        #[circuit_breaker($($args)*)]
        pub async fn $fn_name(n: u32) -> Result<u32, Error> {
            Ok(n)
        }
    };
}

macro_rules! path_args {
    ($fn_name:ident, $name:literal, $fallback:path) => {
        #[circuit_breaker(name = $name, fallback = $fallback)]
        pub fn $fn_name(n: u32) -> Result<u32, Error> {
            Ok(n)
        }
    };
}

fn zero(_n: u32) -> Result<u32, Error> {
    Ok(0)
}

literal_args!(by_literal, "pass-mr-literal", 3, "15s", 0.5);
expr_args!(by_expr, "pass-mr-expr", 4, "30s", zero, Result<u32, Error>);
tt_args!(by_tt, name = "pass-mr-tt", consecutive_failures = 2, timeout = "1s");
path_args!(by_path, "pass-mr-path", zero);

fn main() {
    let _ = by_literal(1);
    let _ = by_expr(1);
    let _ = by_tt(1);
    let _ = by_path(1);
}
