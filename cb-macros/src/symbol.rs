//! The one table of `#[circuit_breaker]` arguments: it feeds parsing, the "expected one of" list
//! and did-you-mean suggestions.

/// What a key's value must be.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Kind {
    /// A string literal.
    Str,
    /// A string like "150ms", "2s", "5m", "1h".
    Duration,
    /// A number in (0, 1].
    Rate,
    /// A whole number.
    Int { min: u64, max: u64 },
    /// A number in a closed-open range.
    Float { min: f64, max: f64, max_inclusive: bool },
    /// A path to a function.
    Path,
    /// A fallback strategy or a chain of them (`strategy::stages`).
    Strategy,
    /// Any expression, type-checked where it is used.
    Expr,
    /// Settings in parentheses: `cache(max_entries = 100)`.
    List,
    /// A count (integer) or a duration (string).
    Window,
    /// No value.
    Flag,
}

/// Where a key may appear.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    /// On a function or method only.
    Function,
    /// On a function or a struct.
    Both,
    /// On a struct field only.
    Field,
}

/// One argument key.
#[derive(Debug)]
pub(crate) struct Key {
    pub(crate) name: &'static str,
    pub(crate) kind: Kind,
    pub(crate) scope: Scope,
}

const fn key(name: &'static str, kind: Kind, scope: Scope) -> Key {
    Key { name, kind, scope }
}

const COUNT: Kind = Kind::Int {
    min: 1,
    max: u32::MAX as u64,
};
const HALF_OPEN: Kind = Kind::Int { min: 1, max: 8191 };

pub(crate) const KEYS: &[Key] = &[
    key("name", Kind::Str, Scope::Both),
    key("preset", Kind::Str, Scope::Both),
    key("crate", Kind::Str, Scope::Both),
    key("fallback", Kind::Strategy, Scope::Function),
    key("fallback_value", Kind::Expr, Scope::Function),
    key("cache", Kind::List, Scope::Function),
    key("fallback_on", Kind::Str, Scope::Function),
    key("timeout", Kind::Duration, Scope::Function),
    key("failure_if", Kind::Path, Scope::Function),
    key("ignore_if", Kind::Path, Scope::Function),
    key("queue", Kind::Str, Scope::Function),
    key("consecutive_failures", COUNT, Scope::Both),
    key("failure_rate_threshold", Kind::Rate, Scope::Both),
    key("slow_call_rate_threshold", Kind::Rate, Scope::Both),
    key("slow_call_duration", Kind::Duration, Scope::Both),
    key("minimum_calls", COUNT, Scope::Both),
    key("window", Kind::Window, Scope::Both),
    key("open_timeout", Kind::Duration, Scope::Both),
    key(
        "backoff_multiplier",
        Kind::Float {
            min: 1.0,
            max: 100.0,
            max_inclusive: true,
        },
        Scope::Both,
    ),
    key("max_open_timeout", Kind::Duration, Scope::Both),
    key(
        "jitter",
        Kind::Float {
            min: 0.0,
            max: 1.0,
            max_inclusive: false,
        },
        Scope::Both,
    ),
    key("half_open_max_calls", HALF_OPEN, Scope::Both),
    key("success_threshold", HALF_OPEN, Scope::Both),
    key("half_open_max_wait", Kind::Duration, Scope::Both),
    key(
        "max_keys",
        Kind::Int {
            min: 1,
            max: 10_000_000,
        },
        Scope::Both,
    ),
    key("idle_ttl", Kind::Duration, Scope::Both),
    key("key", Kind::Flag, Scope::Field),
];

/// The key named `name`.
pub(crate) fn lookup(name: &str) -> Option<&'static Key> {
    KEYS.iter().find(|k| k.name == name)
}

/// The closest known key to a misspelt one, if close enough to be a likely typo.
pub(crate) fn did_you_mean(unknown: &str) -> Option<&'static str> {
    KEYS.iter()
        .map(|k| (edit_distance(unknown, k.name), k.name))
        .filter(|(d, name)| *d <= 2.max(name.len() / 4))
        .min_by_key(|(d, _)| *d)
        .map(|(_, name)| name)
}

/// The keys allowed in `scope`, for "expected one of" messages.
pub(crate) fn allowed(scope: Scope) -> String {
    KEYS.iter()
        .filter(|k| k.scope == scope || (k.scope == Scope::Both && scope != Scope::Field))
        .map(|k| format!("`{}`", k.name))
        .collect::<Vec<_>>()
        .join(", ")
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != *cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_close_keys_only() {
        assert_eq!(did_you_mean("timout"), Some("timeout"));
        assert_eq!(did_you_mean("consecutive_failure"), Some("consecutive_failures"));
        assert_eq!(did_you_mean("fallbak"), Some("fallback"));
        assert_eq!(did_you_mean("zzz"), None);
    }

    #[test]
    fn every_key_is_unique() {
        for k in KEYS {
            assert_eq!(KEYS.iter().filter(|o| o.name == k.name).count(), 1, "{}", k.name);
        }
    }
}
