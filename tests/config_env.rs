//! Environment overrides: `CB_BREAKER__<NAME>__<KEY>` beats every other level; bad variables
//! are errors naming the variable. These tests change the process environment, so they run
//! one at a time.

mod support;

use cb_runtime::Registry;
use cb_runtime::config::{ConfigSource, env_problems, env_var};
use std::time::Duration;
use support::env::with_var;

#[test]
fn variable_names_upper_case_the_breaker_and_replace_other_characters() {
    assert_eq!(env_var("ml-eta", "open_timeout"), "CB_BREAKER__ML_ETA__OPEN_TIMEOUT");
}

#[test]
fn the_environment_beats_the_exact_breaker_section() {
    let file = "[breakers.\"env-test/a\"]\nopen_timeout = \"20s\"\n";
    with_var("CB_BREAKER__ENV_TEST_A__OPEN_TIMEOUT", "3s", || {
        let r = Registry::new().with_config(ConfigSource::from_text(file, "f.toml").unwrap());
        let b = r.breaker_with_layers("env-test/a", &[], &[]);
        assert_eq!(b.config().open_timeout, Duration::from_secs(3));
        let e = r.explain("env-test/a");
        let level = &e.keys.iter().find(|k| k.key == "open_timeout").unwrap().level;
        assert_eq!(level.to_string(), "environment CB_BREAKER__ENV_TEST_A__OPEN_TIMEOUT");
    });
}

#[test]
fn windows_and_presets_from_the_environment() {
    with_var("CB_BREAKER__ENV_WINDOW__WINDOW", "25", || {
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        assert_eq!(
            r.breaker_with_layers("env-window", &[], &[]).config().window,
            cb_runtime::Window::Count(25)
        );
    });
    with_var("CB_BREAKER__ENV_PRESET__PRESET", "aggressive", || {
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        assert_eq!(
            r.breaker_with_layers("env-preset", &[], &[])
                .config()
                .consecutive_failures,
            Some(3)
        );
    });
}

#[test]
fn bad_variables_are_errors_naming_the_variable_and_are_skipped() {
    with_var("CB_BREAKER__ENV_BAD__JITTER", "1.5", || {
        let problems: Vec<String> = env_problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            ["CB_BREAKER__ENV_BAD__JITTER: `jitter` = 1.5: must be in [0.0, 1.0)"]
        );
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        assert_eq!(
            r.breaker_with_layers("env-bad", &[], &[]).config().jitter,
            0.1,
            "skipped, reported"
        );
        assert_eq!(r.explain("env-bad").problems.len(), 1);
    });
    with_var("CB_BREAKER__ENV_BAD__TIMEOUT", "2s", || {
        let problems: Vec<String> = env_problems().iter().map(ToString::to_string).collect();
        assert!(
            problems[0].starts_with("CB_BREAKER__ENV_BAD__TIMEOUT: unknown key `TIMEOUT`; expected one of PRESET,"),
            "{problems:?}"
        );
    });
}

#[test]
fn two_breakers_mapping_to_one_variable_is_a_named_error() {
    with_var("CB_BREAKER__PARTNER_ACME__OPEN_TIMEOUT", "4s", || {
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        let a = r.breaker_with_layers("partner/acme", &[], &[]);
        assert!(r.config_status().is_ok());
        let b = r.breaker_with_layers("partner-acme", &[], &[]);
        let problems: Vec<String> = r.config_status().skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "CB_BREAKER__PARTNER_ACME__*: breakers `partner-acme` and `partner/acme` map to the same variables; they apply to both (rename one to tell them apart)"
            ]
        );
        assert_eq!(a.config().open_timeout, Duration::from_secs(4));
        assert_eq!(b.config().open_timeout, Duration::from_secs(4));
    });
}

#[test]
fn off_turns_every_trigger_off_from_the_environment() {
    for key in [
        "CONSECUTIVE_FAILURES",
        "FAILURE_RATE_THRESHOLD",
        "SLOW_CALL_RATE_THRESHOLD",
        "HALF_OPEN_MAX_WAIT",
    ] {
        with_var(&format!("CB_BREAKER__ENV_OFF__{key}"), "off", || {
            assert!(env_problems().is_empty(), "{key}");
            let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
            let e = r.explain("env-off");
            let k = e.keys.iter().find(|k| k.key == key.to_ascii_lowercase()).unwrap();
            assert_eq!(k.value, "\"off\"", "{key}");
            assert_eq!(k.level.to_string(), format!("environment CB_BREAKER__ENV_OFF__{key}"));
        });
    }
    with_var("CB_BREAKER__ENV_OFF__MINIMUM_CALLS", "off", || {
        let problems: Vec<String> = env_problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            ["CB_BREAKER__ENV_OFF__MINIMUM_CALLS: `minimum_calls` must be an integer, found string \"off\""]
        );
    });
}

#[test]
fn durations_have_one_upper_bound_in_the_environment() {
    with_var("CB_BREAKER__ENV_LONG__OPEN_TIMEOUT", "99999999h", || {
        let problems: Vec<String> = env_problems().iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            ["CB_BREAKER__ENV_LONG__OPEN_TIMEOUT: `open_timeout` = \"99999999h\": must be positive and at most 24h"]
        );
    });
}

#[test]
fn a_cross_key_rule_broken_by_sections_and_variables_is_reported_in_the_status() {
    let file = "[breakers.\"env-cross\"]\nopen_timeout = \"20s\"\n";
    with_var("CB_BREAKER__ENV_CROSS__MAX_OPEN_TIMEOUT", "5s", || {
        let r = Registry::new().with_config(ConfigSource::from_text(file, "f.toml").unwrap());
        let mut events = r.subscribe();
        let b = r.breaker_with_layers("env-cross", &[], &[]);
        assert_eq!(b.config().open_timeout, Duration::from_secs(30), "runs without them");
        let skipped: Vec<String> = r.config_status().skipped.iter().map(ToString::to_string).collect();
        assert_eq!(
            skipped,
            [
                "breaker `env-cross`: invalid `max_open_timeout` = \"5s\" < \"20s\": must be at least open_timeout; its [breakers] sections and environment overrides are not applied"
            ]
        );
        assert!(matches!(
            events.try_recv(),
            Some(cb_runtime::Event::ConfigRejected { .. })
        ));
    });
}
