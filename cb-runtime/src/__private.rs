//! Support for the code `cb-macros` generates.
//!
//! /!\ WARNING: This is *not* a stable API! /!\
//! It is versioned together with `cb-macros`; nothing outside generated code may name it.

pub use crate::breaker::{Outcome, Permit};
pub use crate::{BreakerConfig, CallError, CircuitBreaker, Rejected, Timeout, registry};
pub use core::future::Future;
pub use core::option::Option;
pub use core::result::Result;
pub use std::sync::Arc;
