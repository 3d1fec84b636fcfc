//! A manual clock whose source panics on a chosen read of the thread that armed it: how a
//! failing custom `ClockSource` reaches the breaker in the middle of a decision.

use cb_runtime::{BreakerConfigBuilder, CircuitBreaker, Clock, ClockSource, ManualClock};
use std::cell::Cell;
use std::sync::Arc;

thread_local! {
    /// Reads left before the panicking one (`None`: never panic).
    static PANIC_AFTER: Cell<Option<u32>> = const { Cell::new(None) };
}

/// Makes the current thread's clock read after the next `skip` panic.
pub fn panic_after(skip: u32) {
    PANIC_AFTER.with(|p| p.set(Some(skip)));
}

/// Disarms the current thread; whether it was still armed (the panicking read never came).
pub fn disarm() -> bool {
    PANIC_AFTER.with(|p| p.replace(None)).is_some()
}

#[derive(Debug)]
struct PanickyClock(ManualClock);

impl ClockSource for PanickyClock {
    fn now_nanos(&self) -> u64 {
        if let Some(left) = PANIC_AFTER.with(Cell::get) {
            if left == 0 {
                PANIC_AFTER.with(|p| p.set(None));
                panic!("clock source failed");
            }
            PANIC_AFTER.with(|p| p.set(Some(left - 1)));
        }
        self.0.elapsed().as_nanos() as u64
    }
}

/// A breaker (jitter off) on a panicky clock counting from 0, and that clock's time.
pub fn panicky(config: BreakerConfigBuilder) -> (CircuitBreaker, ManualClock) {
    let manual = ManualClock::new();
    let b = CircuitBreaker::builder("panicky")
        .config(config.jitter(0.0).build().unwrap())
        .clock(Clock::custom(Arc::new(PanickyClock(manual.clone()))))
        .build();
    (b, manual)
}
