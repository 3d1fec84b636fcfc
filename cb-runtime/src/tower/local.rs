//! One service's own handle on its shared breaker.
//!
//! A response future must own a reference to the breaker it records on. Cloning the breaker's
//! `Arc` per call makes every thread write the same reference count; instead each service
//! (each clone of it) holds its own handle, and its futures count references on that handle.
//! Two threads calling their own clones write no common cache line.

use crate::{CircuitBreaker, OwnedPermit, Rejected};
use std::borrow::Borrow;
use std::sync::Arc;

/// A service's handle: one allocation per service or clone, pointing at the shared breaker.
#[allow(
    clippy::redundant_allocation,
    reason = "the outer allocation is the point: a reference count per service, not per breaker"
)]
#[derive(Clone, Debug)]
pub(crate) struct LocalBreaker(Arc<Arc<CircuitBreaker>>);

/// A permit whose reference count lives on its service's handle.
pub(crate) type LocalPermit = OwnedPermit<LocalBreaker>;

impl LocalBreaker {
    /// A new handle on `breaker`.
    pub(crate) fn new(breaker: Arc<CircuitBreaker>) -> Self {
        LocalBreaker(Arc::new(breaker))
    }

    /// The breaker every handle shares.
    pub(crate) fn shared(&self) -> &Arc<CircuitBreaker> {
        &self.0
    }

    /// A permit holding a reference to this handle.
    #[inline]
    pub(crate) fn try_acquire(&self) -> Result<LocalPermit, Rejected> {
        OwnedPermit::acquire(self.clone())
    }
}

impl Borrow<CircuitBreaker> for LocalBreaker {
    fn borrow(&self) -> &CircuitBreaker {
        &self.0
    }
}
