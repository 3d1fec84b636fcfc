//! Declarative fallback strategies: what served a call ([`last_served`]), the strategies'
//! names in metrics ([`FallbackKind`]) and, with the `fallback-cache` feature, the last-good
//! cache behind `fallback = cache`.
//!
//! ```
//! use cb_runtime::circuit_breaker;
//! use cb_runtime::fallback::{FallbackKind, last_served};
//!
//! #[derive(Debug)]
//! struct Down;
//! impl From<cb_runtime::Rejected> for Down {
//!     fn from(_: cb_runtime::Rejected) -> Self { Down }
//! }
//!
//! #[circuit_breaker(name = "fallback-docs-prices", fallback = default)]
//! fn prices(shop: u32) -> Result<Vec<u32>, Down> {
//!     if shop == 0 { Err(Down) } else { Ok(vec![shop]) }
//! }
//!
//! assert_eq!(prices(0).unwrap(), Vec::<u32>::new());
//! assert_eq!(last_served().unwrap().kind, FallbackKind::Empty);
//! assert_eq!(prices(3).unwrap(), vec![3]);
//! assert!(last_served().is_none());
//! ```

#[cfg(feature = "fallback-cache")]
pub(crate) mod cache;
mod kind;
mod served;

#[cfg(feature = "fallback-cache")]
#[cfg_attr(docsrs, doc(cfg(feature = "fallback-cache")))]
pub use cache::{CacheStats, cache_stats};
pub use kind::FallbackKind;
pub(crate) use served::set_served;
pub use served::{Served, last_served};
