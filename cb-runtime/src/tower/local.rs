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

    /// What a readiness check answers, kept in `ready` until the call: a permit reserved by an
    /// earlier check stays; a rejection answers one check, not the next (the breaker may admit
    /// calls by now: its open wait over, a probe's slot freed), so the breaker is asked again.
    pub(crate) fn for_readiness<'r>(
        &self,
        ready: &'r mut Option<Result<LocalPermit, Rejected>>,
    ) -> &'r mut Result<LocalPermit, Rejected> {
        if matches!(ready, Some(Err(_))) {
            *ready = None;
        }
        ready.get_or_insert_with(|| self.try_acquire())
    }

    /// The permit (or rejection) of a call: the one its readiness check reserved, timed from
    /// now (waiting for the inner service's readiness is not the backend's slowness), or, for
    /// a call made without a check, the breaker's answer now.
    pub(crate) fn for_call(&self, ready: Option<Result<LocalPermit, Rejected>>) -> Result<LocalPermit, Rejected> {
        match ready {
            Some(Ok(mut permit)) => {
                permit.restart();
                Ok(permit)
            }
            Some(Err(rejected)) => Err(rejected),
            None => self.try_acquire(),
        }
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
