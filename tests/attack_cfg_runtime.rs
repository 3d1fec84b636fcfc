//! Outside-in attack on commit cbe8494 (config file checks, near-miss reports, family limits).
//! Each test is a defect found (or, where marked, a check that held up).

use cb_runtime::Registry;
use cb_runtime::config::{ConfigSource, LoadError, parse};
use std::path::Path;
use std::time::Duration;

fn errors_in(text: &str, file: &str) -> Vec<String> {
    match parse(text, Path::new(file)) {
        Ok(_) => vec![],
        Err(LoadError { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn errors(text: &str) -> Vec<String> {
    errors_in(text, "cb.toml")
}

fn source(text: &str) -> ConfigSource {
    ConfigSource::from_text(text, "circuit_breakers.toml")
        .unwrap()
        .with_env(false)
}

fn registry(text: &str) -> Registry {
    Registry::new().with_config(source(text))
}

fn family_max_keys(r: &Registry, family: &str) -> u32 {
    r.families().into_iter().find(|f| f.name == family).unwrap().max_keys
}

/// HELD (suspected, not a defect): a reload still changes a keyed family's `max_keys` / `idle_ttl`.
/// `reconfigure` resolves every breaker, and `resolve` now replaces the resolved limits by
/// the family's current ones (`Explanation::in_family`), so `members.limit(&config)` writes
/// the old limits back: `[breakers."fam/*"] max_keys = 100` edited to 2 and reloaded stays 100.
#[test]
fn a_reload_changes_a_familys_max_keys() {
    let r = registry("[breakers.\"fam/*\"]\nmax_keys = 100\n");
    let _ = r.breaker_with_layers("fam/a", &[], &[]).call_sync(|| Ok::<_, ()>(()));
    assert_eq!(family_max_keys(&r, "fam"), 100);
    r.reconfigure(source("[breakers.\"fam/*\"]\nmax_keys = 2\n"));
    assert_eq!(
        family_max_keys(&r, "fam"),
        2,
        "the reloaded file's max_keys is not in force; explain says: {}",
        r.explain("fam/a")
    );
}

#[test]
fn a_reload_changes_a_familys_idle_ttl() {
    let r = registry("[breakers.\"fam/*\"]\nidle_ttl = \"1h\"\n");
    let _ = r.breaker_with_layers("fam/a", &[], &[]).call_sync(|| Ok::<_, ()>(()));
    r.reconfigure(source("[breakers.\"fam/*\"]\nidle_ttl = \"5s\"\n"));
    let idle = r.get("fam/a").unwrap().config().idle_ttl;
    assert_eq!(idle, Duration::from_secs(5), "{}", r.explain("fam/a"));
}

/// DEFECT: a near-miss report outlives the typo. The operator sees
/// `[breakers."sentinal"] matches no breaker`, fixes the file and reloads: the status keeps
/// the entry for good (nothing re-judges or clears near misses on reconfigure), so
/// `config_status().is_ok()` stays false for a file with no problem at all.
#[test]
fn fixing_a_reported_near_miss_and_reloading_clears_the_report() {
    let r = registry("[breakers.sentinal]\nconsecutive_failures = 2\n");
    let _ = r.breaker_with_layers("sentinel", &[], &[]);
    assert_eq!(r.config_status().skipped.len(), 1, "reported: {}", r.config_status());
    r.reconfigure(source("[breakers.sentinel]\nconsecutive_failures = 2\n"));
    assert_eq!(r.get("sentinel").unwrap().config().consecutive_failures, Some(2));
    let status = r.config_status();
    assert!(status.skipped.is_empty(), "stale after the fix was reloaded: {status}");
}

/// DEFECT (false positive): a file configuring sibling breakers `api-v1` and `api-v2`,
/// breakers registered lazily at first call. The first call of `api-v1` reports the perfectly
/// valid `[breakers."api-v2"]` as a misspelling of `api-v1` (stderr, event, status not ok)
/// until `api-v2` happens to be called — possibly never, or hours later.
#[test]
fn a_valid_section_for_a_sibling_not_yet_called_is_not_reported_as_a_typo() {
    let r = registry("[breakers.api-v1]\nconsecutive_failures = 2\n[breakers.api-v2]\nconsecutive_failures = 3\n");
    let _ = r.breaker_with_layers("api-v1", &[], &[]);
    let status = r.config_status();
    assert!(status.is_ok(), "{status}");
}

/// Was a defect (performance trap): every registration looked for near misses over every
/// section and every name, so 1,500 breakers with a file of 1,500 near-named sections took
/// 658 s (45 ms without the file). Near misses are now judged when asked; registering does no
/// such work, and sections that differ from a breaker's name in digits only are siblings.
#[test]
fn registering_breakers_with_a_file_of_many_near_named_sections_reports_no_typo() {
    const N: usize = 1500;
    let mut text = String::new();
    for i in 0..N {
        text.push_str(&format!("[breakers.svc-{i:04}]\nconsecutive_failures = 3\n"));
    }
    let r = registry(&text);
    for i in 0..N / 2 {
        let _ = r.breaker_with_layers(&format!("svc-{i:04}"), &[], &[]);
    }
    let status = r.config_status();
    assert!(status.is_ok(), "{status}");
}

/// DEFECT (false negative): `max_keys` / `idle_ttl` are refused in `[breakers.fam]` but
/// accepted when they reach that same section through a file preset.
#[test]
fn a_family_limit_through_a_preset_in_a_one_breaker_section_is_an_error() {
    let text = "[presets.p]\nmax_keys = 2\n[breakers.single]\npreset = \"p\"\n";
    let problems = errors(text);
    assert!(
        !problems.is_empty(),
        "accepted; direct: {:?}",
        errors("[breakers.single]\nmax_keys = 2\n")
    );
}

/// DEFECT (false negative): a preset section breaking the cap-below-wait rule in itself
/// (`open_timeout = "10m"`, `max_open_timeout = "1m"`) is accepted while no breaker uses it;
/// the same two keys are an error in any `[breakers.X]` or `[defaults]`.
#[test]
fn an_unused_preset_with_a_cap_below_its_wait_is_an_error() {
    let text = "[presets.slow]\nopen_timeout = \"10m\"\nmax_open_timeout = \"1m\"\n";
    assert!(!errors(text).is_empty(), "accepted");
}

/// DEFECT (false positive): `fam/**` covers every key of `fam` (`*` matches any run,
/// `/` included) but is not a "whole family" to the max_keys check.
#[test]
fn a_double_star_family_section_may_set_max_keys() {
    assert_eq!(errors("[breakers.\"fam/**\"]\nmax_keys = 2\n"), Vec::<String>::new());
}

// ===== checks that held up (kept as regression tests) =====

#[test]
fn held_hostile_names_do_not_panic() {
    for text in [
        "[breakers.\"\"]\njitter = 0.1\n",
        "[breakers.\"é/ü\"]\njitter = 0.1\n",
        "[breakers.\"日本/*\"]\nmax_keys = 3\n",
        "[presets.\"\"]\njitter = 0.1\n[breakers.x]\npreset = \"\"\n",
        "[breakers.日本]\nx = 1\n",
        "[breakers.a/b]\n",
        "[breakers.\"a.b\".c]\njitter = 1\n",
        "[presets.x]\npreset = \"x\"\n",
        "[breakers.x]\nwindow = { kind = \"count\", size = 5, \"\" = 1, \"é\" = 2 }\n",
    ] {
        let _ = errors(text);
        let _ = errors_in(&text.replace('[', "").replace(']', ":"), "cb.yaml");
    }
}

#[test]
fn held_valid_configs_still_load() {
    let ok = [
        "[breakers.\"payments.v2\"]\njitter = 0.1\n",
        "[breakers.\"webhook/*\"]\nmax_keys = 5\nidle_ttl = \"1m\"\n",
        "[breakers.\"*\"]\nmax_keys = 5\n",
        "[breakers.x.window]\nkind = \"count\"\nsize = 5\n",
        "[breakers.x]\nwindow.kind = \"count\"\nwindow.size = 5\n",
        "[defaults]\nmax_keys = 5\nidle_ttl = \"1m\"\n",
        "[presets.a]\npreset = \"b\"\n[presets.b]\npreset = \"c\"\n[presets.c]\npreset = \"lenient\"\n[breakers.x]\npreset = \"a\"\n",
        "[breakers.x]\nmax_open_timeout = \"10m\"\nopen_timeout = \"1m\"\n",
    ];
    for text in ok {
        assert_eq!(errors(text), Vec::<String>::new(), "{text}");
    }
    let yaml_ok = [
        "presets:\n  b:\n    preset: c\n  c:\n    jitter: 0.1\n  a:\n    preset: b\nbreakers:\n  x:\n    preset: a\n",
        "breakers:\n  \"fam/*\":\n    max_keys: 3\n  payments.v2:\n    jitter: 0.1\n",
    ];
    for text in yaml_ok {
        assert_eq!(errors_in(text, "cb.yaml"), Vec::<String>::new(), "{text}");
    }
}

#[test]
fn held_yaml_family_limit_error_has_a_position() {
    let problems = errors_in("breakers:\n  fam:\n    max_keys: 2\n", "cb.yaml");
    assert!(problems.iter().any(|p| p.starts_with("cb.yaml:3:5:")), "{problems:?}");
}
