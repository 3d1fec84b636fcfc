//! The fallback strategies, as the `type` label of the fallback metrics names them.

/// What kind of fallback served a call: the `type` label of
/// `circuit_breaker_fallback_executions_total` and `fallback_requests_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FallbackKind {
    /// A function the user wrote (`fallback = path`, the API's fallback closures, the tower
    /// layer's fallback service).
    Function,
    /// A value written in the attribute (`fallback_value = expr`).
    Static,
    /// The "empty response": `Ok(Default::default())` or `Default::default()` (`fallback = default`).
    Empty,
    /// The last-good cache (`fallback = cache`).
    Cache,
    /// Several fallbacks tried in order (`fallback = [..]`).
    Chain,
    /// A queue that retries the call later.
    Queue,
}

impl FallbackKind {
    /// Every kind, in label order.
    pub const ALL: [FallbackKind; 6] = [
        FallbackKind::Function,
        FallbackKind::Static,
        FallbackKind::Empty,
        FallbackKind::Cache,
        FallbackKind::Chain,
        FallbackKind::Queue,
    ];

    /// The `type` label: `function`, `static`, `empty`, `cache`, `chain` or `queue`.
    pub const fn as_str(self) -> &'static str {
        match self {
            FallbackKind::Function => "function",
            FallbackKind::Static => "static",
            FallbackKind::Empty => "empty",
            FallbackKind::Cache => "cache",
            FallbackKind::Chain => "chain",
            FallbackKind::Queue => "queue",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_discriminant_order() {
        for (i, kind) in FallbackKind::ALL.iter().enumerate() {
            assert_eq!(*kind as usize, i, "{}", kind.as_str());
        }
    }
}
