//! Changing the process environment in a test, one test of the binary at a time.

use std::sync::{Mutex, PoisonError};

/// Held by every test of the binary while it changes the environment.
static ENV: Mutex<()> = Mutex::new(());

/// Runs `f` with variable `var` set to `value` and removes `var` once `f` returns, holding
/// `ENV` all along (a lock poisoned by a failed test is taken over).
pub fn with_var<T>(var: &str, value: &str, f: impl FnOnce() -> T) -> T {
    let _guard = ENV.lock().unwrap_or_else(PoisonError::into_inner);
    // SAFETY: the tests of a binary that touch the environment do it through here, holding
    // `ENV`; nothing else there reads or writes it concurrently.
    unsafe { std::env::set_var(var, value) };
    let out = f();
    unsafe { std::env::remove_var(var) };
    out
}
