//! Breaker names live as long as the process: a registry never forgets a breaker, and a
//! `&'static str` lets rejections and events carry the name without counting references.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock, PoisonError};

/// The one `&'static str` for `name`, allocated on its first use.
pub(crate) fn intern(name: &str) -> &'static str {
    static NAMES: OnceLock<Mutex<HashSet<&'static str>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if let Some(existing) = names.get(name) {
        return existing;
    }
    let leaked: &'static str = Box::leak(name.to_owned().into_boxed_str());
    names.insert(leaked);
    leaked
}
