//! A clock whose source panics on a chosen read of the thread that armed it: how a failing
//! custom `ClockSource` reaches the breaker in the middle of a decision (a script clock with
//! one panicking step).

use super::script_clock::{Step, on_script_clock, script, unscript};
use cb_runtime::{BreakerConfigBuilder, CircuitBreaker, ManualClock};
use std::sync::Arc;

/// Makes the current thread's clock read after the next `skip` panic.
pub fn panic_after(skip: u32) {
    let _ = unscript();
    script((0..skip).map(|_| Step::Read).chain([Step::Panic]));
}

/// Disarms the current thread; whether it was still armed (the panicking read never came).
pub fn disarm() -> bool {
    unscript()
}

/// A breaker (jitter off) on a panicky clock counting from 0, and that clock's time.
pub fn panicky(config: BreakerConfigBuilder) -> (Arc<CircuitBreaker>, ManualClock) {
    on_script_clock("panicky", config.jitter(0.0).build().unwrap())
}
