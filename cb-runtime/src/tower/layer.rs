//! The layer that wraps services in a breaker.

use super::classify::{ErrIsFailure, NoFallback};
use super::service::CircuitBreakerService;
use crate::{BreakerConfig, CircuitBreaker, registry};
use std::sync::Arc;
use tower_layer::Layer;

/// Wraps services so every call goes through one breaker.
#[derive(Clone, Debug)]
pub struct CircuitBreakerLayer<C = ErrIsFailure, F = NoFallback> {
    breaker: Arc<CircuitBreaker>,
    classify: C,
    fallback: F,
}

impl CircuitBreakerLayer {
    /// A layer over a given breaker.
    pub fn new(breaker: Arc<CircuitBreaker>) -> Self {
        Self {
            breaker,
            classify: ErrIsFailure,
            fallback: NoFallback,
        }
    }

    /// A layer over the global registry's breaker `name` (built-in defaults, then the
    /// configuration file and environment).
    pub fn named(name: &str) -> Self {
        Self::new(registry().breaker_with_layers(name, &[], &[]))
    }

    /// A layer over the global registry's breaker `name`, created with `config` if new.
    pub fn with_config(name: &str, config: &BreakerConfig) -> Self {
        Self::new(registry().breaker(name, config))
    }
}

impl<C, F> CircuitBreakerLayer<C, F> {
    /// Decides how results count (e.g. [`HttpStatus`](super::HttpStatus) or a closure).
    pub fn classify<C2>(self, classify: C2) -> CircuitBreakerLayer<C2, F> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classify,
            fallback: self.fallback,
        }
    }

    /// Answers rejections and errors: `Fn(CallError<E>) -> Result<Response, CallError<E>>`.
    pub fn fallback<F2>(self, fallback: F2) -> CircuitBreakerLayer<C, F2> {
        CircuitBreakerLayer {
            breaker: self.breaker,
            classify: self.classify,
            fallback,
        }
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl<S, C: Clone, F: Clone> Layer<S> for CircuitBreakerLayer<C, F> {
    type Service = CircuitBreakerService<S, C, F>;

    fn layer(&self, inner: S) -> Self::Service {
        CircuitBreakerService::new(
            inner,
            self.breaker.clone(),
            self.classify.clone(),
            self.fallback.clone(),
        )
    }
}
