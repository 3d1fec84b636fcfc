//! Breaker names: shared, reference-counted strings.
//!
//! A name is an `Arc<str>`: the breaker, its rejections, events and snapshots share one
//! allocation, and it is freed with the last of them. Names used to be leaked as
//! `&'static str`, which made every key of a keyed breaker (user ids, hostnames) a permanent
//! allocation; an `Arc` is freed on eviction while an event or a `Rejected` still in a
//! caller's hands keeps its copy valid. Cloning one is a reference-count increment, paid only
//! where a name leaves the breaker (rejections, events, snapshots), never on a permitted call.

use std::borrow::Borrow;
use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

/// A breaker's name (`payments`, or `webhook/<key>` for a keyed breaker). Derefs to `str` and
/// compares with string slices.
///
/// ```
/// use cb_runtime::Name;
///
/// let name = Name::from("webhook/billing");
/// assert_eq!(name, "webhook/billing");
/// assert_eq!(name.family(), Some("webhook"));
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(Arc<str>);

impl Name {
    /// The name as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The family of a keyed name (the part before the first `/`), if it has one.
    pub fn family(&self) -> Option<&str> {
        self.0.split_once('/').map(|(family, _)| family)
    }
}

impl Deref for Name {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl From<&str> for Name {
    fn from(name: &str) -> Self {
        Name(Arc::from(name))
    }
}

impl From<String> for Name {
    fn from(name: String) -> Self {
        Name(Arc::from(name))
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<String> for Name {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Name> for &str {
    fn eq(&self, other: &Name) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Name> for str {
    fn eq(&self, other: &Name) -> bool {
        *self == *other.0
    }
}

#[cfg(test)]
mod tests {
    use super::Name;

    #[test]
    fn names_compare_with_strings_and_share_one_allocation() {
        let a = Name::from("webhook/a");
        let b = a.clone();
        assert_eq!(a, "webhook/a");
        assert_eq!("webhook/a", a);
        assert!(std::ptr::eq(a.as_str(), b.as_str()));
        assert_eq!(format!("{a} {a:?}"), "webhook/a \"webhook/a\"");
        assert_eq!(Name::from("plain").family(), None);
    }
}
