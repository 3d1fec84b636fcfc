//! `circuit_breakers.toml`: precedence, every error kind with its location, reload and watch.

use cb_runtime::config::{ConfigSource, LoadError, parse};
use cb_runtime::{BreakerConfig, Event, Preset, Registry, Setting, State};
use std::path::Path;
use std::time::Duration;

const FILE: &str = r#"
[defaults]
open_timeout = "45s"
jitter = 0.0

[presets.paranoid]
consecutive_failures = 2
success_threshold = 5

[breakers."webhook/*"]
preset = "paranoid"
open_timeout = "10s"
minimum_calls = 7

[breakers."webhook/billing"]
open_timeout = "20s"

[breakers.sentinel]
failure_rate_threshold = 0.4
window = { kind = "count", size = 50 }
"#;

fn registry(text: &str) -> Registry {
    Registry::new().with_config(
        ConfigSource::from_text(text, "circuit_breakers.toml")
            .unwrap()
            .with_env(false),
    )
}

fn level_of(registry: &Registry, name: &str, key: &str) -> (String, String) {
    let e = registry.explain(name);
    let k = e
        .keys
        .iter()
        .find(|k| k.key == key)
        .unwrap_or_else(|| panic!("no {key}"));
    (k.value.clone(), k.level.to_string())
}

#[test]
fn built_in_defaults_apply_where_nothing_else_does() {
    let r = registry(FILE);
    assert_eq!(
        level_of(&r, "anything", "half_open_max_calls"),
        ("3".into(), "built-in default".into())
    );
}

#[test]
fn file_defaults_beat_built_ins() {
    let r = registry(FILE);
    r.breaker_with_layers("plain", &[], &[]);
    assert_eq!(
        level_of(&r, "plain", "open_timeout"),
        ("\"45s\"".into(), "[defaults] at circuit_breakers.toml:3:1".into())
    );
}

/// `explain` writes every value as a file writes it (`"1500ms"`, `"5m"`, not `1.5s` or `300s`),
/// so its lines copied into a file give the same configuration.
#[test]
fn explained_values_copied_into_a_file_give_the_same_configuration() {
    let r = registry(FILE);
    let asked = [
        Setting::OpenTimeout(Duration::from_millis(1500)),
        Setting::MaxOpenTimeout(Duration::from_secs(300)),
        Setting::SlowCallDuration(Duration::from_millis(2250)),
        Setting::SlowCallRateThreshold(0.75),
        Setting::Window(cb_runtime::Window::Time(Duration::from_secs(90))),
        Setting::IdleTtl(Duration::from_secs(7200)),
    ];
    r.breaker_with_layers("copied", &asked, &[]);
    let explained = r.explain("copied");
    let values: Vec<(&str, &str)> = explained.keys.iter().map(|k| (k.key, k.value.as_str())).collect();
    for (key, value) in [
        ("open_timeout", "\"1500ms\""),
        ("max_open_timeout", "\"5m\""),
        ("slow_call_duration", "\"2250ms\""),
        ("window", "{ kind = \"time\", size = \"90s\" }"),
        ("idle_ttl", "\"2h\""),
    ] {
        assert!(values.contains(&(key, value)), "{key} = {value} not in {values:?}");
    }
    let section: String = explained
        .keys
        .iter()
        .map(|k| format!("{} = {}\n", k.key, k.value))
        .collect();
    // `[defaults]`: `max_keys` and `idle_ttl` belong to a family's section or the defaults.
    let copied = registry(&format!("[defaults]\n{section}"));
    copied.breaker_with_layers("copied", &[], &[]);
    let again = copied.explain("copied");
    assert!(again.problems.is_empty(), "{:?}", again.problems);
    assert_eq!(again.config, explained.config, "{section}");
}

/// A rule one breaker's sections break is that breaker's problem: `explain` of another
/// breaker leaves it out (it showed under every breaker's notes).
#[test]
fn explain_leaves_out_another_breakers_broken_rule() {
    let r = registry("[breakers.p1]\nopen_timeout = \"5m\"\n[breakers.p2]\nmax_open_timeout = \"2m\"\n");
    let secs = Duration::from_secs;
    r.breaker_with_layers(
        "p1",
        &[Setting::MaxOpenTimeout(secs(60)), Setting::OpenTimeout(secs(10))],
        &[],
    );
    r.breaker_with_layers("p2", &[Setting::OpenTimeout(secs(600))], &[]);
    let p2 = r.explain("p2").to_string();
    assert!(p2.contains("must be at least open_timeout"), "{p2}");
    let p1 = r.explain("p1").to_string();
    assert!(!p1.contains("p2"), "{p1}");
}

/// A cap raised by an `open_timeout` above it is credited to that `open_timeout`'s level, not
/// to the level that set the cap (or the built-in default).
#[test]
fn a_raised_max_open_timeout_names_the_open_timeout_that_raised_it() {
    let r = registry("[breakers.p1]\nopen_timeout = \"5m\"\n");
    let secs = Duration::from_secs;
    r.breaker_with_layers(
        "p1",
        &[],
        &[Setting::MaxOpenTimeout(secs(60)), Setting::OpenTimeout(secs(10))],
    );
    r.breaker_with_layers("p2", &[], &[Setting::OpenTimeout(secs(600))]);
    assert_eq!(
        level_of(&r, "p1", "max_open_timeout"),
        (
            "\"5m\"".into(),
            "raised to open_timeout, set by [breakers.\"p1\"] at circuit_breakers.toml:2:1".into()
        )
    );
    assert_eq!(
        level_of(&r, "p2", "max_open_timeout"),
        (
            "\"10m\"".into(),
            "raised to open_timeout, set by #[circuit_breaker] arguments".into()
        )
    );
    assert_eq!(level_of(&r, "p2", "open_timeout").1, "#[circuit_breaker] arguments");
}

/// A key written twice is named, with the line of its first definition (TOML said only
/// "duplicate key").
#[test]
fn a_duplicate_key_is_named_with_its_first_line() {
    let err = ConfigSource::from_text(
        "[breakers.a]\nopen_timeout = \"5s\"\njitter = 0.0\nopen_timeout = \"6s\"\n",
        "cb.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("duplicate key `open_timeout` (first defined at line 2)"),
        "{err}"
    );
    let err = ConfigSource::from_text("[breakers.a]\njitter = 0.0\n[breakers.a]\njitter = 0.1\n", "cb.toml")
        .unwrap_err()
        .to_string();
    assert!(err.contains("duplicate key `a`"), "{err}");
}

#[test]
fn macro_arguments_beat_file_defaults_and_method_beats_struct() {
    let r = registry(FILE);
    let outer = [Setting::OpenTimeout(Duration::from_secs(60)), Setting::MinimumCalls(9)];
    let inner = [Setting::OpenTimeout(Duration::from_secs(90))];
    let b = r.breaker_with_layers("macro", &outer, &inner);
    assert_eq!(b.config().open_timeout, Duration::from_secs(90));
    assert_eq!(level_of(&r, "macro", "open_timeout").1, "#[circuit_breaker] arguments");
    assert_eq!(
        level_of(&r, "macro", "minimum_calls"),
        ("9".into(), "struct-level #[circuit_breaker]".into())
    );
    assert_eq!(
        level_of(&r, "macro", "jitter").1,
        "[defaults] at circuit_breakers.toml:4:1"
    );
}

#[test]
fn a_macro_preset_expands_at_its_level_under_its_own_keys() {
    let r = registry(FILE);
    let b = r.breaker_with_layers(
        "preset-macro",
        &[],
        &[
            Setting::Preset(Preset::Lenient),
            Setting::OpenTimeout(Duration::from_secs(7)),
        ],
    );
    let c = b.config();
    assert_eq!(
        (c.consecutive_failures, c.open_timeout),
        (Some(10), Duration::from_secs(7))
    );
    assert_eq!(
        level_of(&r, "preset-macro", "consecutive_failures").1,
        "preset `lenient` via #[circuit_breaker] arguments"
    );
    assert_eq!(c.jitter, 0.1, "the preset replaced the file defaults below it");
}

#[test]
fn breaker_sections_beat_macros_and_the_exact_name_beats_a_glob() {
    let r = registry(FILE);
    let billing = r.breaker_with_layers("webhook/billing", &[], &[Setting::OpenTimeout(Duration::from_secs(1))]);
    let chat = r.breaker_with_layers("webhook/chat", &[], &[]);
    assert_eq!(billing.config().open_timeout, Duration::from_secs(20));
    assert_eq!(chat.config().open_timeout, Duration::from_secs(10));
    assert_eq!(
        billing.config().consecutive_failures,
        Some(2),
        "the glob's file preset still applies"
    );
    assert_eq!(
        level_of(&r, "webhook/billing", "success_threshold").1,
        "preset `paranoid` via [breakers.\"webhook/*\"] at circuit_breakers.toml:11:1"
    );
    assert_eq!(
        level_of(&r, "webhook/billing", "minimum_calls").1,
        "[breakers.\"webhook/*\"] at circuit_breakers.toml:13:1"
    );
}

#[test]
fn a_config_given_in_code_is_overridden_by_its_breaker_section_only() {
    let r = registry(FILE);
    let code = BreakerConfig::builder()
        .consecutive_failures(9)
        .open_timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let b = r.breaker("sentinel", &code);
    let c = b.config();
    assert_eq!((c.consecutive_failures, c.failure_rate_threshold), (Some(9), Some(0.4)));
    assert_eq!(c.open_timeout, Duration::from_secs(5), "[defaults] sits below code");
    assert_eq!(c.window, cb_runtime::Window::Count(50));
    assert_eq!(
        level_of(&r, "sentinel", "consecutive_failures").1,
        "BreakerConfig in code"
    );
}

fn errors(text: &str) -> Vec<String> {
    match parse(text, Path::new("cb.toml")) {
        Ok(_) => vec![],
        Err(LoadError { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn every_error_names_the_file_line_column_key_and_rule() {
    let text = r#"[breakers.a]
open_timout = "3s"
minimum_calls = "20"
failure_rate_threshold = 1.5
slow_call_duration = "2 s"
preset = "paranoid"
window = { kind = "tumbling", size = 3 }
window_size = 3
[breakrs.b]
"#;
    assert_eq!(
        errors(text),
        [
            "cb.toml:2:1: [breakers.\"a\"]: unknown key `open_timout`; did you mean `open_timeout`?",
            "cb.toml:3:17: [breakers.\"a\"]: `minimum_calls` must be an integer, found string \"20\"",
            "cb.toml:4:26: [breakers.\"a\"]: `failure_rate_threshold` = 1.5: must be in (0.0, 1.0]",
            "cb.toml:5:22: [breakers.\"a\"]: invalid duration \"2 s\" for `slow_call_duration`: expected an integer followed by ms, s, m or h, at most 24h (e.g. \"150ms\", \"2s\")",
            "cb.toml:6:10: [breakers.\"a\"]: unknown preset `paranoid`; expected one of default, aggressive, lenient",
            "cb.toml:7:10: [breakers.\"a\"]: `window.kind` = \"tumbling\": expected \"count\" or \"time\"",
            "cb.toml:8:1: [breakers.\"a\"]: unknown key `window_size`; expected one of preset, consecutive_failures, failure_rate_threshold, slow_call_rate_threshold, slow_call_duration, minimum_calls, window, open_timeout, backoff_multiplier, max_open_timeout, jitter, half_open_max_calls, success_threshold, half_open_max_wait, max_keys, idle_ttl",
            "cb.toml:9:2: unknown section `breakrs`; did you mean `breakers`?",
        ]
    );
}

#[test]
fn out_of_range_counts_windows_and_cross_key_rules() {
    assert_eq!(
        errors("[defaults]\nconsecutive_failures = 0\nwindow = { kind = \"count\", size = 70000 }\n"),
        [
            "cb.toml:2:24: [defaults]: `consecutive_failures` = 0: must be at least 1",
            "cb.toml:3:10: [defaults]: `window` = { kind = \"count\", size = 70000 }: a count window must hold 1..=65535 calls",
        ]
    );
    assert_eq!(
        errors("[defaults]\nopen_timeout = \"1m\"\n[breakers.x]\nmax_open_timeout = \"10s\"\n"),
        [
            "cb.toml:4:1: [breakers.\"x\"] over [defaults]: invalid `max_open_timeout` = \"10s\" < \"1m\": must be at least open_timeout"
        ]
    );
}

#[test]
fn malformed_toml_and_wrong_shapes() {
    assert_eq!(
        errors("[breakers.x\nopen_timeout = 3"),
        ["cb.toml:1:12: invalid TOML: unclosed table, expected `]`"]
    );
    assert_eq!(
        errors("breakers = 3"),
        ["cb.toml:1:12: [breakers] must be a table, found integer"]
    );
    assert_eq!(
        errors("[breakers]\nx = 1"),
        ["cb.toml:2:5: [breakers.\"x\"] must be a table, found integer"]
    );
}

#[test]
fn a_glob_that_matches_nothing_is_a_warning() {
    let dir = std::env::temp_dir().join(format!("cb-glob-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("circuit_breakers.toml");
    std::fs::write(
        &path,
        "[breakers.\"payments/*\"]\nopen_timeout = \"5s\"\n[breakers.known]\njitter = 0.0\n",
    )
    .unwrap();
    let r = Box::leak(Box::new(Registry::new()));
    r.breaker("known", &BreakerConfig::default());
    let report = cb_runtime::config::load_into(r, &path).unwrap();
    assert_eq!(
        report.warnings,
        ["[breakers.\"payments/*\"] matches no registered breaker (yet)"]
    );
    assert_eq!(
        report.changed,
        [("known".into(), vec!["jitter: 0.1 -> 0.0".to_string()])]
    );
}

#[test]
fn a_reload_changes_thresholds_and_keeps_state_and_counts() {
    let clock = cb_runtime::ManualClock::new();
    let r = Registry::with_clock(clock).with_config(
        ConfigSource::from_text("[breakers.feed]\nconsecutive_failures = 5\n", "a.toml")
            .unwrap()
            .with_env(false),
    );
    let b = r.breaker_with_layers("feed", &[], &[]);
    let mut events = r.subscribe();
    for _ in 0..3 {
        b.try_acquire().unwrap().failure();
    }
    let changed =
        r.reconfigure(ConfigSource::from_text("[breakers.feed]\nconsecutive_failures = 4\n", "a.toml").unwrap());
    assert_eq!(
        changed,
        [("feed".into(), vec!["consecutive_failures: 5 -> 4".to_string()])]
    );
    assert_eq!(
        events.try_recv(),
        Some(Event::Reconfigured {
            name: "feed".into(),
            changes: vec!["consecutive_failures: 5 -> 4".into()]
        })
    );
    assert_eq!(
        b.snapshot().consecutive_failures,
        3,
        "the run of failures survived the reload"
    );
    b.try_acquire().unwrap().failure();
    assert_eq!(
        b.state(),
        State::Open,
        "the fourth failure trips under the new threshold"
    );
}

#[test]
fn an_invalid_reload_changes_nothing_and_is_reported() {
    let dir = std::env::temp_dir().join(format!("cb-watch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("circuit_breakers.toml");
    std::fs::write(&path, "[breakers.orders]\nopen_timeout = \"10s\"\n").unwrap();
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let b = r.breaker_with_layers("orders", &[], &[]);
    let mut events = r.subscribe();
    let watcher = cb_runtime::config::watch_every(r, &path, Duration::from_secs(3600));
    assert_eq!(
        b.config().open_timeout,
        Duration::from_secs(10),
        "loaded by watch_every itself"
    );
    assert!(
        matches!(events.try_recv(), Some(Event::Reconfigured { name, changes }) if name == "orders" && changes == ["open_timeout: 30s -> 10s"])
    );
    assert!(watcher.check_now().is_none(), "unchanged content is not reloaded");
    std::fs::write(
        &path,
        "[breakers.orders]\nopen_timeout = \"5s\"\nconsecutive_failures = -1\n",
    )
    .unwrap();
    let err = watcher.check_now().unwrap().unwrap_err();
    assert!(err.to_string().ends_with("circuit_breakers.toml:3:24: [breakers.\"orders\"]: `consecutive_failures` = -1 is out of range: it must be a count between 1 and 4294967295"), "{err}");
    let err =
        ConfigSource::from_text("[breakers.orders]\nsuccess_threshold = -1\n", "circuit_breakers.toml").unwrap_err();
    assert!(
        err.to_string()
            .ends_with("`success_threshold` = -1 is out of range: it must be in 1..=8191"),
        "the key's own range: {err}"
    );
    assert_eq!(
        b.config().open_timeout,
        Duration::from_secs(10),
        "nothing was half-applied"
    );
    assert!(matches!(events.try_recv(), Some(Event::ConfigRejected { .. })));
}

#[test]
fn explain_renders_a_table() {
    let text = registry(FILE).explain("webhook/chat").to_string();
    assert!(text.starts_with("circuit breaker `webhook/chat`\n"), "{text}");
    assert!(text.contains("open_timeout               \"10s\""), "{text}");
}

#[test]
fn the_watcher_thread_reloads_a_changed_file_by_itself() {
    let dir = std::env::temp_dir().join(format!("cb-watch-thread-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("circuit_breakers.toml");
    std::fs::write(&path, "[breakers.search]\nopen_timeout = \"10s\"\n").unwrap();
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let b = r.breaker_with_layers("search", &[], &[]);
    let _watcher = cb_runtime::config::watch_every(r, &path, Duration::from_millis(20));
    let wait_for = |want: Duration| {
        let start = std::time::Instant::now();
        while b.config().open_timeout != want {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "the watcher did not apply {want:?}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    wait_for(Duration::from_secs(10));
    std::fs::write(&path, "[breakers.search]\nopen_timeout = \"20s\"\n").unwrap();
    wait_for(Duration::from_secs(20));
}

#[test]
fn a_section_preset_expands_under_the_section_own_keys_wherever_it_is_written() {
    let text = r#"
[presets.paranoid]
success_threshold = 7
preset = "aggressive"

[breakers.a]
open_timeout = "9s"
preset = "lenient"
"#;
    let r = registry(text);
    let a = r.breaker_with_layers("a", &[], &[]);
    assert_eq!(
        a.config().open_timeout,
        Duration::from_secs(9),
        "the section's key wins"
    );
    assert_eq!(a.config().consecutive_failures, Some(10), "the preset fills the rest");
    let text = "[presets.p]\nsuccess_threshold = 7\npreset = \"aggressive\"\n[breakers.b]\npreset = \"p\"\n";
    let b = registry(text).breaker_with_layers("b", &[], &[]);
    assert_eq!(b.config().success_threshold, 7, "inside [presets.X] too");
    assert_eq!(b.config().consecutive_failures, Some(3));
}

#[test]
fn off_turns_every_trigger_off_in_a_file() {
    let text = r#"
[breakers.quiet]
consecutive_failures = "off"
failure_rate_threshold = "off"
slow_call_rate_threshold = "off"
half_open_max_wait = "off"
"#;
    let c = registry(text).breaker_with_layers("quiet", &[], &[]).config();
    assert_eq!(c.consecutive_failures, None);
    assert_eq!(c.failure_rate_threshold, None);
    assert_eq!(c.slow_call_rate_threshold, None);
    assert_eq!(c.half_open_max_wait, None);
    assert_eq!(
        errors("[breakers.a]\nminimum_calls = \"off\"\n"),
        ["cb.toml:2:17: [breakers.\"a\"]: `minimum_calls` must be an integer, found string \"off\""]
    );
    assert_eq!(
        errors("[breakers.a]\nconsecutive_failures = \"of\"\n"),
        ["cb.toml:2:24: [breakers.\"a\"]: `consecutive_failures` must be an integer or \"off\", found string \"of\""]
    );
}

#[test]
fn durations_have_a_documented_upper_bound() {
    assert_eq!(
        errors("[breakers.a]\nopen_timeout = \"99999999h\"\n"),
        ["cb.toml:2:16: [breakers.\"a\"]: `open_timeout` = \"99999999h\": must be positive and at most 24h"]
    );
    assert!(errors("[breakers.a]\nopen_timeout = \"24h\"\nmax_open_timeout = \"24h\"\n").is_empty());
    let err = BreakerConfig::builder()
        .slow_call_duration(Duration::from_secs(25 * 3600))
        .build()
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid `slow_call_duration` = \"25h\": must be positive and at most 24h"
    );
}

#[test]
fn open_timeout_alone_raises_max_open_timeout_in_the_builder_too() {
    let c = BreakerConfig::builder()
        .open_timeout(Duration::from_secs(600))
        .build()
        .unwrap();
    assert_eq!(c.max_open_timeout, Duration::from_secs(600));
    let err = BreakerConfig::builder()
        .max_open_timeout(Duration::from_secs(60))
        .open_timeout(Duration::from_secs(600))
        .build()
        .unwrap_err();
    assert_eq!(
        err.key(),
        "max_open_timeout",
        "an explicit cap below the wait is an error"
    );
    let from_file = registry("[breakers.a]\nopen_timeout = \"10m\"\n")
        .breaker_with_layers("a", &[], &[])
        .config();
    assert_eq!(from_file.max_open_timeout, c.max_open_timeout, "same rule as a file");
}

#[test]
fn error_texts_are_bounded() {
    let huge = "k".repeat(1 << 20);
    for text in [
        format!("[breakers.a]\n{huge} = 1\n"),
        format!("[breakers.a]\nopen_timeout = \"{huge}\"\n"),
        format!("[breakers.a]\npreset = \"{huge}\"\n"),
        format!("[{huge}]\n"),
        format!("[breakers.\"{huge}\"]\nminimum_calls = 0\n"),
    ] {
        let errs = errors(&text);
        assert_eq!(errs.len(), 1, "{}", &errs.join("\n")[..200.min(errs.join("\n").len())]);
        assert!(errs[0].len() < 1000, "{} bytes: {}", errs[0].len(), &errs[0][..300]);
    }
}

#[test]
fn loading_is_linear_in_file_size() {
    let sections: String = (0..20_000)
        .map(|i| {
            format!(
                "[breakers.\"b{i}\"]\nopen_timeout = \"{}s\"\nminimum_calls = 5\n",
                i % 50 + 1
            )
        })
        .collect();
    assert!(sections.len() > 1 << 20);
    let file = parse(&sections, Path::new("big.toml")).unwrap();
    assert_eq!(file.patterns().count(), 20_000);
    let mut bad = sections.clone();
    bad.push_str("[breakers.last]\nopen_timout = \"1s\"\n");
    let err = parse(&bad, Path::new("big.toml")).unwrap_err();
    assert_eq!(
        err.errors[0].at.as_ref().unwrap().line,
        60_002,
        "the location is still exact"
    );
}

/// `explain("fam/*")` when every key so far has a section of its own (no key took the family's
/// shared resolution): the note says the type's macro arguments are not shown, rather than
/// passing the defaults off as all a key gets.
#[test]
fn explaining_a_family_whose_keys_all_have_sections_says_what_it_cannot_show() {
    let r = registry("[breakers.\"solo/a\"]\nconsecutive_failures = 4\n");
    r.breaker_with_layers("solo/a", &[cb_runtime::Setting::ConsecutiveFailures(7)], &[]);
    let text = r.explain("solo/*").to_string();
    assert!(text.contains("keyed family `solo` (1 live keys)"), "{text}");
    assert!(text.contains("macro arguments are not shown"), "{text}");
}
