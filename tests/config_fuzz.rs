//! Arbitrary text and arbitrary TOML values fed to the loader: it returns a result, never
//! panics, and an accepted file always resolves to a valid configuration.

use cb_runtime::Registry;
use cb_runtime::config::{ConfigSource, parse};
use proptest::prelude::*;
use std::path::Path;

fn toml_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        any::<i64>().prop_map(|i| i.to_string()),
        any::<f64>().prop_map(|f| if f.is_finite() { format!("{f:?}") } else { "nan".into() }),
        "[a-z0-9 .]{0,8}".prop_map(|s| format!("{s:?}")),
        prop_oneof![
            Just("\"150ms\""),
            Just("\"2s\""),
            Just("\"0s\""),
            Just("\"10m\""),
            Just("\"1h\"")
        ]
        .prop_map(String::from),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("1979-05-27T07:32:00Z".to_string()),
    ];
    leaf.prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(|v| format!("[{}]", v.join(", "))),
            (prop_oneof![Just("kind"), Just("size"), Just("x")], inner).prop_map(|(k, v)| format!("{{ {k} = {v} }}")),
        ]
    })
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("consecutive_failures"),
        Just("failure_rate_threshold"),
        Just("slow_call_rate_threshold"),
        Just("slow_call_duration"),
        Just("minimum_calls"),
        Just("window"),
        Just("open_timeout"),
        Just("backoff_multiplier"),
        Just("max_open_timeout"),
        Just("jitter"),
        Just("half_open_max_calls"),
        Just("success_threshold"),
        Just("half_open_max_wait"),
        Just("preset"),
        Just("nonsense"),
    ]
    .prop_map(String::from)
}

fn section() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("[defaults]"),
        Just("[presets.p]"),
        Just("[breakers.a]"),
        Just("[breakers.\"a*\"]"),
        Just("[other]")
    ]
    .prop_map(String::from)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,200}") {
        let _ = parse(&text, Path::new("fuzz.toml"));
    }

    #[test]
    fn arbitrary_values_never_panic_and_accepted_files_resolve_valid(
        body in prop::collection::vec((section(), prop::collection::vec((key(), toml_value()), 0..4)), 0..4)
    ) {
        let text: String = body
            .iter()
            .map(|(s, kvs)| format!("{s}\n{}", kvs.iter().map(|(k, v)| format!("{k} = {v}\n")).collect::<String>()))
            .collect();
        if let Ok(source) = ConfigSource::from_text(&text, "fuzz.toml") {
            let r = Registry::new().with_config(source.with_env(false));
            let config = r.breaker_with_layers("a", &[], &[]).config();
            prop_assert!(config.validate().is_ok(), "{text}\n{config:?}");
        }
    }
}
