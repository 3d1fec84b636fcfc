//! A return type that is a type parameter of the impl or trait around the function: the macro
//! sees only `R`, so with `R = Result<..>` the `Err` counts as a success. Not silently: the
//! call is counted in `observe::uncounted_results` and reported on stderr.
use cb_runtime::{circuit_breaker, observe, registry, CallError, CircuitProtected};

#[derive(CircuitProtected)]
#[circuit_breaker(name = "pass-impl-param")]
pub struct Cache<R> {
    value: R,
}

impl<R: Clone> Cache<R> {
    #[circuit_breaker(fallback = stale)]
    pub fn get(&self) -> R {
        self.value.clone()
    }

    fn stale(&self, _cause: CallError<std::convert::Infallible>) -> R {
        self.value.clone()
    }
}

pub trait Loader<R>: CircuitProtected {
    fn fresh(&self) -> R;

    #[circuit_breaker(fallback = Self::fresh)]
    fn load(&self) -> R {
        self.fresh()
    }
}

impl Loader<u8> for Cache<u8> {
    fn fresh(&self) -> u8 {
        self.value
    }
}

fn main() {
    let plain = Cache { value: 3u8 };
    assert_eq!(plain.get(), 3);
    assert_eq!(plain.load(), 3);
    assert_eq!(observe::uncounted_results(), 0, "a plain value is not reported");
    let failing: Cache<Result<u8, String>> = Cache { value: Err("down".to_owned()) };
    assert!(failing.get().is_err());
    assert_eq!(observe::uncounted_results(), 1, "a Result through `R` is reported");
    let totals = registry().get("pass-impl-param").unwrap().snapshot().totals;
    assert_eq!(totals.successes, 3);
}
