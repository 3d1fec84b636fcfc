//! `circuit_breakers.yaml` (feature `yaml`): the keys, precedence, line:column errors and
//! reload of the TOML file, in YAML.

use cb_runtime::config::{ConfigSource, LoadError, parse};
use cb_runtime::{Registry, Setting, State, Window};
use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

const FILE: &str = r#"# Seed 002's config/circuit_breakers.yaml, in cb's keys
defaults:
  open_timeout: 45s
  jitter: 0.0
presets:
  paranoid:
    consecutive_failures: 2
    success_threshold: 5
breakers:
  "webhook/*":
    preset: paranoid
    open_timeout: 10s
  webhook/billing:
    open_timeout: 20s
  sentinel:
    failure_rate_threshold: 0.4
    window: { kind: count, size: 50 }
    slow_call_rate_threshold: off
"#;

fn registry(text: &str) -> Registry {
    Registry::new().with_config(
        ConfigSource::from_text(text, "circuit_breakers.yaml")
            .unwrap()
            .with_env(false),
    )
}

fn level_of(registry: &Registry, name: &str, key: &str) -> String {
    let e = registry.explain(name);
    e.keys.iter().find(|k| k.key == key).unwrap().level.to_string()
}

fn errors(text: &str) -> Vec<String> {
    match parse(text, Path::new("cb.yaml")) {
        Ok(_) => vec![],
        Err(LoadError { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
    }
}

/// A section with an empty breaker name is an error, in YAML and TOML (it was accepted and
/// applied to no breaker).
#[test]
fn an_empty_breaker_name_is_an_error() {
    assert_eq!(
        errors("breakers:\n  \"\":\n    open_timeout: 5s\n"),
        [
            "cb.yaml:2:3: [breakers.\"\"]: a breaker name must not be empty: write the breaker's name, or a glob such as \"webhook/*\""
        ]
    );
    let toml = parse("[breakers.\"\"]\nopen_timeout = \"5s\"\n", Path::new("cb.toml")).unwrap_err();
    assert_eq!(
        toml.errors[0].to_string(),
        "cb.toml:1:11: [breakers.\"\"]: a breaker name must not be empty: write the breaker's name, or a glob such as \"webhook/*\""
    );
}

/// A YAML merge key is not read, and the error says so and what works instead (it said a name
/// with a dot is one key).
#[test]
fn a_merge_key_says_merge_keys_are_not_read() {
    let text = "presets:\n  base: &b\n    jitter: 0.1\nbreakers:\n  y:\n    <<: *b\n    open_timeout: 5s\n";
    let errors = errors(text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("`<<` (a YAML merge key) is not read") && errors[0].contains("`name: *anchor`"),
        "{errors:?}"
    );
}

/// The extension picks the syntax whatever its case: `X.YAML` was read as TOML.
#[test]
fn an_extension_in_capitals_is_yaml_too() {
    for name in ["cb.YAML", "cb.Yml"] {
        let parsed = parse("breakers:\n  a:\n    open_timeout: 5s\n", Path::new(name));
        assert!(parsed.is_ok(), "{name}: {:?}", parsed.err());
    }
}

#[test]
fn a_good_file_applies_with_the_toml_precedence() {
    let r = registry(FILE);
    let billing = r.breaker_with_layers("webhook/billing", &[], &[Setting::OpenTimeout(Duration::from_secs(1))]);
    let chat = r.breaker_with_layers("webhook/chat", &[], &[]);
    let sentinel = r.breaker_with_layers("sentinel", &[], &[]);
    assert_eq!(
        billing.config().open_timeout,
        Duration::from_secs(20),
        "the exact name beats the macro and the glob"
    );
    assert_eq!(chat.config().open_timeout, Duration::from_secs(10));
    assert_eq!(chat.config().consecutive_failures, Some(2), "a file preset");
    assert_eq!(sentinel.config().open_timeout, Duration::from_secs(45), "[defaults]");
    assert_eq!(sentinel.config().window, Window::Count(50));
    assert_eq!(sentinel.config().failure_rate_threshold, Some(0.4));
    assert_eq!(
        sentinel.config().slow_call_rate_threshold,
        None,
        "YAML 1.2 reads `off` as the string"
    );
    assert_eq!(
        level_of(&r, "webhook/billing", "success_threshold"),
        "preset `paranoid` via [breakers.\"webhook/*\"] at circuit_breakers.yaml:11:5"
    );
    assert_eq!(
        level_of(&r, "webhook/billing", "open_timeout"),
        "[breakers.\"webhook/billing\"] at circuit_breakers.yaml:14:5"
    );
}

#[test]
fn a_bad_key_and_a_wrong_type_name_the_line_and_column() {
    let text = "breakers:\n  a:\n    open_timout: 3s\n    minimum_calls: \"20\"\n    failure_rate_threshold: 1.5\n    window: { kind: tumbling, size: 3 }\n    jitter: true\nbreakrs: {}\n";
    assert_eq!(
        errors(text),
        [
            "cb.yaml:3:5: [breakers.\"a\"]: unknown key `open_timout`; did you mean `open_timeout`?",
            "cb.yaml:4:20: [breakers.\"a\"]: `minimum_calls` must be an integer, found string \"20\"",
            "cb.yaml:5:29: [breakers.\"a\"]: `failure_rate_threshold` = 1.5: must be in (0.0, 1.0]",
            "cb.yaml:6:13: [breakers.\"a\"]: `window.kind` = \"tumbling\": expected \"count\" or \"time\"",
            "cb.yaml:7:13: [breakers.\"a\"]: `jitter` must be a number, found boolean",
            "cb.yaml:8:1: unknown section `breakrs`; did you mean `breakers`?",
        ]
    );
}

#[test]
fn malformed_yaml_and_wrong_shapes() {
    let broken = errors("breakers:\n  x:\n    open_timeout: [1s\n");
    assert_eq!(broken.len(), 1);
    assert!(broken[0].starts_with("cb.yaml:4:1: invalid YAML: "), "{broken:?}");
    assert_eq!(
        errors("breakers: 3"),
        ["cb.yaml:1:11: [breakers] must be a table, found integer"]
    );
    assert_eq!(
        errors("- a\n- b\n"),
        ["cb.yaml:1:1: the file must be a mapping with `defaults`, `presets` and `breakers`, found sequence"]
    );
    assert_eq!(
        errors("breakers:\n  x:\n    jitter: 0.1\n    jitter: 0.2\n"),
        ["cb.yaml:4:5: invalid YAML: duplicated key in mapping"]
    );
    assert_eq!(
        errors("a: 1\n---\nb: 2\n"),
        ["cb.yaml:3:1: a second YAML document; the file must hold one"]
    );
    assert!(errors("").is_empty(), "an empty file is an empty configuration");
}

static ENV: Mutex<()> = Mutex::new(());

#[test]
fn the_environment_beats_the_yaml_file() {
    let _guard = ENV.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let file = "breakers:\n  yaml-env/a:\n    open_timeout: 20s\n";
    // SAFETY: the only test of this binary touching the environment, under `ENV`.
    unsafe { std::env::set_var("CB_BREAKER__YAML_ENV_A__OPEN_TIMEOUT", "3s") };
    let r = Registry::new().with_config(ConfigSource::from_text(file, "f.yaml").unwrap());
    let b = r.breaker_with_layers("yaml-env/a", &[], &[]);
    let level = level_of(&r, "yaml-env/a", "open_timeout");
    unsafe { std::env::remove_var("CB_BREAKER__YAML_ENV_A__OPEN_TIMEOUT") };
    assert_eq!(b.config().open_timeout, Duration::from_secs(3));
    assert_eq!(level, "environment CB_BREAKER__YAML_ENV_A__OPEN_TIMEOUT");
}

#[test]
fn a_yaml_file_reloads_and_an_invalid_reload_changes_nothing() {
    let dir = std::env::temp_dir().join(format!("cb-yaml-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("circuit_breakers.yaml");
    std::fs::write(&path, "breakers:\n  orders:\n    consecutive_failures: 5\n").unwrap();
    let r: &'static Registry = Box::leak(Box::new(Registry::with_clock(cb_runtime::ManualClock::new())));
    let b = r.breaker_with_layers("orders", &[], &[]);
    let watcher = cb_runtime::config::watch_every(r, &path, Duration::from_secs(3600));
    assert_eq!(b.config().consecutive_failures, Some(5), "loaded by watch_every itself");
    for _ in 0..3 {
        b.try_acquire().unwrap().failure();
    }
    std::fs::write(&path, "breakers:\n  orders:\n    consecutive_failures: 4\n").unwrap();
    assert_eq!(
        watcher.check_now().unwrap().unwrap(),
        [("orders".into(), vec!["consecutive_failures: 5 -> 4".to_string()])]
    );
    b.try_acquire().unwrap().failure();
    assert_eq!(b.state(), State::Open, "the run of failures survived the reload");
    std::fs::write(&path, "breakers:\n  orders:\n    consecutive_failures: -1\n").unwrap();
    let err = watcher.check_now().unwrap().unwrap_err();
    assert!(err.to_string().contains("circuit_breakers.yaml:3:27: "), "{err}");
    assert_eq!(b.config().consecutive_failures, Some(4), "nothing was half-applied");
    std::fs::remove_dir_all(&dir).unwrap();
}
