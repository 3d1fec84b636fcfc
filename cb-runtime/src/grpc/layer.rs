//! The layer that puts a gRPC client service behind a breaker.

use super::codes::GrpcCodes;
use super::service::GrpcService;
use crate::{BreakerConfig, CircuitBreaker, registry};
use std::sync::Arc;
use tower_layer::Layer;

/// Wraps gRPC client services (a tonic `Channel`) so every call goes through one breaker,
/// classified by its `grpc-status`.
#[derive(Clone, Debug)]
pub struct GrpcLayer {
    breaker: Arc<CircuitBreaker>,
    failures: GrpcCodes,
}

impl GrpcLayer {
    /// A layer over a given breaker, counting [`GrpcCodes::DEFAULT`] as failures.
    pub fn new(breaker: Arc<CircuitBreaker>) -> Self {
        GrpcLayer {
            breaker,
            failures: GrpcCodes::DEFAULT,
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

    /// The status codes that count as failures.
    pub fn failure_codes(mut self, failures: GrpcCodes) -> Self {
        self.failures = failures;
        self
    }

    /// The breaker.
    pub fn breaker(&self) -> &Arc<CircuitBreaker> {
        &self.breaker
    }
}

impl<S> Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GrpcService::new(inner, self.breaker.clone(), self.failures)
    }
}
