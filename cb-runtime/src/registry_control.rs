//! Manual control by name: open for a duration or until an instant, and checked transitions.

use crate::{ControlError, Registry, State};
use std::time::{Duration, Instant};

impl Registry {
    fn control(&self, name: &str) -> Result<std::sync::Arc<crate::CircuitBreaker>, ControlError> {
        self.get(name).ok_or_else(|| ControlError::Unknown(name.to_owned()))
    }

    /// Opens `name` for `wait`, then it probes as after any open wait.
    ///
    /// ```
    /// use cb_runtime::{BreakerConfig, Registry, State};
    /// use std::time::Duration;
    ///
    /// let registry = Registry::new();
    /// registry.breaker("billing", &BreakerConfig::default());
    /// registry.open_for("billing", Duration::from_secs(300)).unwrap();
    /// assert_eq!(registry.snapshot("billing").unwrap().state, State::Open);
    /// assert!(registry.open_for("nope", Duration::from_secs(1)).is_err());
    /// ```
    pub fn open_for(&self, name: &str, wait: Duration) -> Result<(), ControlError> {
        self.control(name)?.open_for(wait)
    }

    /// Opens `name` until `until`.
    pub fn open_until(&self, name: &str, until: Instant) -> Result<(), ControlError> {
        self.control(name)?.open_until(until)
    }

    /// Moves `name` to `to` by hand (see [`CircuitBreaker::transition_to`](crate::CircuitBreaker::transition_to)).
    pub fn transition_to(&self, name: &str, to: State) -> Result<(), ControlError> {
        self.control(name)?.transition_to(to)
    }
}
