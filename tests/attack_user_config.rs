//! Each test here showed a defect found on 2026-11-24 by an outside-in attack (fixed since).
//!
//! A new user's `circuit_breakers.toml` mistakes that are accepted without a word (attack of
//! the macros and config file as client code writes them). DESIGN.md: "Unknown keys,
//! out-of-range values and malformed durations are errors that name the file, line and column
//! ... nothing is silently ignored", and "One rule everywhere: builder, macro, file and
//! environment accept the same keys, values and ranges and give the same errors."

use cb_runtime::config::{ConfigSource, LoadError, parse};
use cb_runtime::{BreakerConfig, Registry};
use std::path::Path;
use std::time::Duration;

fn errors(text: &str) -> Vec<String> {
    match parse(text, Path::new("cb.toml")) {
        Ok(_) => vec![],
        Err(LoadError { errors, .. }) => errors.iter().map(ToString::to_string).collect(),
    }
}

fn registry(text: &str) -> Registry {
    Registry::new().with_config(
        ConfigSource::from_text(text, "circuit_breakers.toml")
            .unwrap()
            .with_env(false),
    )
}

/// `max_open_timeout` below `open_timeout`, both written in one section: the builder refuses
/// it, the macro refuses it at compile time
/// (`ui-tests/tests/fail/max-open-timeout-below-open-timeout.rs`), the environment refuses it
/// (`config_env.rs`). The file took it and raised the explicit cap to the wait without a word
/// (a later `open_timeout` raised the cap, and TOML tables come sorted). Now an error at the cap,
/// whatever the order of the keys.
#[test]
fn an_explicit_cap_below_the_wait_in_one_section_is_an_error_like_everywhere_else() {
    let builder = BreakerConfig::builder()
        .open_timeout(Duration::from_secs(600))
        .max_open_timeout(Duration::from_secs(60))
        .build();
    assert!(builder.is_err(), "the builder refuses it");
    for text in [
        "[breakers.x]\nopen_timeout = \"10m\"\nmax_open_timeout = \"1m\"\n",
        "[breakers.x]\nmax_open_timeout = \"1m\"\nopen_timeout = \"10m\"\n",
    ] {
        let line = text.lines().position(|l| l.starts_with("max_open")).unwrap() + 1;
        assert_eq!(
            errors(text),
            [format!(
                "cb.toml:{line}:1: [breakers.\"x\"]: invalid `max_open_timeout` = \"1m\" < \"10m\": must be at least open_timeout"
            )]
        );
    }
    // Across levels, `open_timeout` alone still raises the cap it is written over.
    let raised = registry("[defaults]\nmax_open_timeout = \"1m\"\n[breakers.x]\nopen_timeout = \"10m\"\n");
    let config = raised.breaker_with_layers("x", &[], &[]).config();
    assert_eq!(config.max_open_timeout, Duration::from_secs(600));
}

#[test]
fn an_explicit_cap_below_the_wait_in_defaults_is_an_error() {
    let text = "[defaults]\nopen_timeout = \"10m\"\nmax_open_timeout = \"1m\"\n[breakers.y]\njitter = 0.2\n";
    assert_eq!(
        errors(text),
        ["cb.toml:3:1: [defaults]: invalid `max_open_timeout` = \"1m\" < \"10m\": must be at least open_timeout"],
        "once, not again for every section over [defaults]"
    );
}

/// A misspelt key inside the inline `window` table was dropped (`sise = 10` not read, the
/// breaker ran on a window of 5). Every unknown key is an error with did-you-mean.
#[test]
fn an_unknown_key_in_the_window_table_is_an_error() {
    let text = "[breakers.x]\nwindow = { kind = \"count\", size = 5, sise = 10 }\n";
    assert_eq!(
        errors(text),
        ["cb.toml:2:38: [breakers.\"x\"]: unknown key `sise` in `window`; did you mean `size`?"]
    );
}

/// `[presets.aggressive]` was accepted, and every `preset = "aggressive"` kept using the
/// built-in preset: the user's section was dead without a word. A file cannot redefine a
/// built-in preset (the macros' `preset = "aggressive"` is compiled in and would not follow).
#[test]
fn a_user_preset_named_like_a_built_in_one_is_not_silently_ignored() {
    let text = "[presets.aggressive]\nconsecutive_failures = 1\n[breakers.x]\npreset = \"aggressive\"\n";
    assert_eq!(
        errors(text),
        [
            "cb.toml:1:10: [presets.aggressive]: `aggressive` is a built-in preset (default, aggressive, lenient), which a file cannot redefine; give yours another name"
        ]
    );
    let text = "[presets.lenient]\nconsecutive_failures = 1\n[defaults]\npreset = \"lenient\"\n";
    assert_eq!(errors(text).len(), 1, "{:?}", errors(text));
}

/// README: a `preset = ".."` expands "wherever it is written in the section (in
/// `[breakers.X]` and `[presets.X]` too)". Inside `[presets.p]`, a preset the same file defines
/// was reported as unknown. Now presets build on each other in any order; a cycle is an error.
#[test]
fn a_preset_built_on_a_file_preset_is_not_reported_as_unknown() {
    let text = "[presets.strict]\npreset = \"base\"\nsuccess_threshold = 7\n[presets.base]\npreset = \"aggressive\"\nconsecutive_failures = 1\n[breakers.x]\npreset = \"strict\"\n";
    assert_eq!(errors(text), Vec::<String>::new());
    let config = registry(text).breaker_with_layers("x", &[], &[]).config();
    assert_eq!(config.consecutive_failures, Some(1), "from base");
    assert_eq!(config.success_threshold, 7, "from strict");
    assert_eq!(config.half_open_max_calls, 1, "from aggressive, under base");
    let cycle = "[presets.a]\npreset = \"b\"\n[presets.b]\npreset = \"a\"\n[breakers.x]\npreset = \"a\"\n";
    assert_eq!(
        errors(cycle),
        ["cb.toml:4:10: [presets.b]: presets name each other in a cycle: a -> b -> a"]
    );
    assert_eq!(
        errors("[presets.a]\npreset = \"nope\"\n"),
        ["cb.toml:2:10: [presets.a]: unknown preset `nope`; expected one of default, aggressive, lenient, a"]
    );
}

/// A breaker variable with the prefix slightly wrong (`CB_BREAKER_` with one underscore, or
/// `CB_BREAKERS__`) is not read and not reported: the operator's override is silently dropped.
/// The `CB_` namespace is the library's own (`CB_CONFIG`, `CB_CONFIG_STRICT`, `CB_BREAKER__`),
/// and a misspelt key in a well-formed variable is already an error with did-you-mean; a
/// misspelt prefix deserves the same. The only test here that touches the environment.
#[test]
fn a_misspelt_breaker_variable_prefix_is_reported() {
    for var in [
        "CB_BREAKER_PAYMENTS__OPEN_TIMEOUT",
        "CB_BREAKERS__PAYMENTS__OPEN_TIMEOUT",
    ] {
        // SAFETY: no other test in this binary reads or writes the environment.
        unsafe { std::env::set_var(var, "5s") };
        let problems: Vec<String> = cb_runtime::config::env_problems()
            .iter()
            .map(ToString::to_string)
            .collect();
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        let applied = r.breaker_with_layers("payments", &[], &[]).config().open_timeout;
        unsafe { std::env::remove_var(var) };
        assert!(
            problems.iter().any(|p| p.contains(var)),
            "{var}=5s is neither applied (open_timeout {applied:?}) nor reported: {problems:?}"
        );
    }
}

/// The same two mistakes in `circuit_breakers.yaml` (feature `yaml`), which promises "the
/// keys, precedence, line:column errors" of the TOML file. In YAML the cap-below-wait verdict
/// depends on the order the two keys are written in: `open_timeout` then `max_open_timeout` is
/// an error, `max_open_timeout` then `open_timeout` is accepted (the later `open_timeout`
/// raises the explicit cap). TOML tables come in key order, `max_..` before `open_..`, which is
/// why TOML accepts both orders.
#[test]
fn the_yaml_file_verdict_does_not_depend_on_key_order() {
    let yaml_errors = |text: &str| match parse(text, Path::new("cb.yaml")) {
        Ok(_) => vec![],
        Err(LoadError { errors, .. }) => errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    let open_first = yaml_errors("breakers:\n  x:\n    open_timeout: 10m\n    max_open_timeout: 1m\n");
    let max_first = yaml_errors("breakers:\n  x:\n    max_open_timeout: 1m\n    open_timeout: 10m\n");
    assert!(!open_first.is_empty(), "open_timeout first is an error: {open_first:?}");
    assert!(
        !max_first.is_empty(),
        "the same two keys, max_open_timeout written first, are accepted: {max_first:?} (open_timeout first: {open_first:?})"
    );
}

#[test]
fn the_yaml_window_table_reports_a_typo() {
    let problems = match parse(
        "breakers:\n  x:\n    window: { kind: count, size: 5, sise: 10 }\n",
        Path::new("cb.yaml"),
    ) {
        Ok(_) => vec![],
        Err(LoadError { errors, .. }) => errors.iter().map(ToString::to_string).collect::<Vec<_>>(),
    };
    assert!(problems.iter().any(|p| p.contains("sise")), "{problems:?}");
}

// ===== family limits written where they cannot apply =====
//
// README (Keyed breakers): "A family has one cap and one idle time", set "in
// circuit_breakers.toml (`[breakers."webhook/*"] max_keys = 50000`)". Two natural ways to
// write them elsewhere are taken without a word.

fn family_registry(text: &str) -> (Registry, cb_runtime::ManualClock) {
    let clock = cb_runtime::ManualClock::new();
    let source = ConfigSource::from_text(text, "circuit_breakers.toml")
        .unwrap()
        .with_env(false);
    (Registry::with_clock(clock.clone()).with_config(source), clock)
}

/// `[breakers.fam]` (the family's own name, as the derive's `name = "fam"` spells it) with
/// `max_keys = 2`: the family `fam/*` kept the built-in cap of 10,000, and nothing said the
/// section could not reach it. Now an error that names the section the limit belongs in.
#[test]
fn max_keys_under_the_family_name_is_an_error_naming_the_family_section() {
    let problems = errors("[breakers.fam]\nmax_keys = 2\n");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("cb.toml:2:1") && p.contains("write it in [breakers.\"fam/*\"]")),
        "{problems:?}"
    );
    for narrow in ["fam/vip", "fam/v*"] {
        let problems = errors(&format!("[breakers.\"{narrow}\"]\nidle_ttl = \"1s\"\n"));
        assert!(
            problems.iter().any(|p| p.contains("[breakers.\"fam/*\"]")),
            "{narrow}: {problems:?}"
        );
    }
    for wide in ["fam/*", "*", "fa*"] {
        let problems = errors(&format!("[breakers.\"{wide}\"]\nmax_keys = 2\nidle_ttl = \"1s\"\n"));
        assert!(problems.is_empty(), "{wide}: {problems:?}");
    }
    let (r, _clock) = family_registry("[breakers.\"fam/*\"]\nmax_keys = 2\n");
    for i in 0..5 {
        let _ = r
            .breaker_with_layers(&format!("fam/{i}"), &[], &[])
            .call_sync(|| Ok::<_, ()>(()));
    }
    let family = r.families().into_iter().find(|f| f.name == "fam").unwrap();
    assert_eq!(family.max_keys, 2, "{family:?}");
}

/// `idle_ttl` in one key's own section was claimed in force by the key's config and `explain`
/// while the family kept its own. In a file it is now an error (above); a key asking for other
/// limits another way (macro arguments of a second type sharing the family name) runs on the
/// family's, and its config and `explain` say so.
#[test]
fn a_keys_own_idle_ttl_is_not_claimed_in_force_when_the_family_ignores_it() {
    let problems = errors("[breakers.\"fam/*\"]\nidle_ttl = \"1h\"\n[breakers.\"fam/vip\"]\nidle_ttl = \"1s\"\n");
    assert!(
        problems
            .iter()
            .any(|p| p.contains("cb.toml:4:1") && p.contains("`idle_ttl` is a limit of a keyed family")),
        "{problems:?}"
    );
    let (r, clock) = family_registry("");
    let _ = r.breaker_with_layers("fam/a", &[], &[]).call_sync(|| Ok::<_, ()>(()));
    let own = [cb_runtime::Setting::IdleTtl(Duration::from_secs(1))];
    let _ = r
        .breaker_with_layers("fam/vip", &[], &own)
        .call_sync(|| Ok::<_, ()>(()));
    let claimed = r.get("fam/vip").unwrap().config().idle_ttl;
    let explained = r.explain("fam/vip");
    let line = explained.keys.iter().find(|k| k.key == "idle_ttl").unwrap();
    r.evict_idle();
    clock.advance(Duration::from_secs(10));
    r.evict_idle();
    assert!(r.get("fam/vip").is_some(), "the family's 10m is in force");
    assert_eq!(
        claimed,
        Duration::from_secs(600),
        "the key's config says what is in force"
    );
    assert_eq!(line.value, "\"10m\"", "{explained}");
    assert!(line.level.to_string().contains("keyed family `fam`"), "{explained}");
    assert!(
        explained
            .notes
            .iter()
            .any(|n| n.contains("`idle_ttl` = \"1s\"") && n.contains("is not in force")),
        "{explained}"
    );
}

// ===== breaker names that need quotes =====
//
// Keyed breakers are `name/key` and names may hold dots; README writes such sections quoted
// (`[breakers."webhook/*"]`). Unquoted, the errors are about something else: a TOML lexer
// message for `/`, and for a dot "unknown key `v2`" followed by the list of configuration keys.
// README: errors "say what is allowed, suggest the key you meant".

#[test]
fn an_unquoted_keyed_name_is_told_to_quote_it() {
    let problems = errors("[breakers.webhook/billing]\nopen_timeout = \"5s\"\n");
    assert!(
        problems.iter().any(|p| p.contains("[breakers.\"webhook/billing\"]")),
        "{problems:?}"
    );
}

#[test]
fn a_dotted_name_is_told_to_quote_it_not_given_the_key_list() {
    let problems = errors("[breakers.payments.v2]\nopen_timeout = \"5s\"\n");
    assert!(
        problems.iter().any(|p| p.contains("[breakers.\"payments.v2\"]")),
        "{problems:?}"
    );
}

// ===== a misspelt section name, on the discovery path =====
//
// README: "A glob matching no breaker is a warning", and "Nothing silent". That warning exists
// on `config::load_into` (an explicit load into a registry that already has breakers). On the
// path README leads with, the registry reading `./circuit_breakers.toml` at first use, the file
// is read before any breaker exists, and a section that never matches anything (the usual
// typo: `[breakers.sentinal]` for `sentinel`) is reported nowhere: not on stderr, not in
// `config_status()`, not in `explain("sentinel")`, not as an event, however many breakers
// register afterwards.

#[test]
fn a_section_that_never_matches_is_reported_somewhere_once_breakers_exist() {
    let text = "[breakers.sentinal]\nconsecutive_failures = 1\n[breakers.\"webhok/*\"]\nconsecutive_failures = 1\n";
    let r = registry(text);
    let mut events = r.subscribe();
    r.breaker_with_layers("sentinel", &[], &[]);
    r.breaker_with_layers("webhook/billing", &[], &[]);
    let status = format!("{:?}", r.config_status());
    let explained = format!("{:?}", r.explain("sentinel").problems);
    let events = format!("{:?}", events.drain());
    let everywhere = format!("{status} {explained} {events}");
    assert!(
        everywhere.contains("sentinal") && everywhere.contains("webhok"),
        "status: {status}; explain problems: {explained}; events: {events}"
    );
}

/// The report is taken back when a breaker the section matches registers after all (two
/// breakers `payments` and `payment`, the second created later).
#[test]
fn a_near_miss_is_taken_back_when_its_breaker_registers() {
    let r = registry("[breakers.payment]\nconsecutive_failures = 1\n");
    r.breaker_with_layers("payments", &[], &[]);
    let status = r.config_status();
    assert!(
        status.skipped.iter().any(|p| p
            .to_string()
            .contains("[breakers.\"payment\"] matches no breaker; did you mean [breakers.\"payments\"]")),
        "{status}"
    );
    let payment = r.breaker_with_layers("payment", &[], &[]);
    assert_eq!(payment.config().consecutive_failures, Some(1));
    assert!(r.config_status().is_ok(), "{}", r.config_status());
    // A keyed family's section under the family's bare name.
    let r = registry("[breakers.webhook]\nopen_timeout = \"5s\"\n");
    r.breaker_with_layers("webhook/billing", &[], &[]);
    let status = r.config_status().to_string();
    assert!(status.contains("did you mean [breakers.\"webhook/*\"]"), "{status}");
}
