//! What a new user following README.md runs into: silent configuration mistakes and
//! inspection that answers for a breaker that is not the one in force.

mod support;

use cb_runtime::config::ConfigSource;
use cb_runtime::{Registry, Rejected, circuit_breaker, registry};
use support::env::with_var;

/// README, Configuration file: "A section no breaker matches and that nearly names a registered
/// breaker (`[breakers.sentinal]` beside `sentinel`) is in `config_status().skipped` ... with
/// "did you mean"", and "Nothing silent: a file or variable that cannot be applied ... reaches
/// stderr once ... and shows in `registry().config_status()`". The same typo in a variable
/// (`CB_BREAKER__SENTINAL__OPEN_TIMEOUT=5s`) is read, applies to nothing and is reported
/// nowhere: not in `config_status()`, not in `explain`, not on stderr, not even under
/// `CB_CONFIG_STRICT=1`.
#[test]
fn a_variable_that_nearly_names_a_registered_breaker_is_reported() {
    with_var("CB_BREAKER__ADOPT_SENTINAL__OPEN_TIMEOUT", "5s", || {
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        let b = r.breaker_with_layers("adopt-sentinel", &[], &[]);
        assert_eq!(b.config().open_timeout, std::time::Duration::from_secs(30));
        let status = r.config_status();
        let explained = r.explain("adopt-sentinel");
        assert!(
            status
                .skipped
                .iter()
                .any(|p| p.to_string().contains("CB_BREAKER__ADOPT_SENTINAL__OPEN_TIMEOUT")),
            "the misspelt variable is silently unused\nconfig_status:\n{status}\nexplain:\n{explained}"
        );
    });
}

/// README, Runtime API / Configuration file: `registry().explain(name)` says "where every value
/// comes from". For a name no breaker has (a typo of a registered one), it prints a complete,
/// plausible configuration of built-in defaults with no note that no such breaker exists.
#[test]
fn explain_of_a_name_no_breaker_has_says_so() {
    let r = Registry::new().with_config(ConfigSource::builtin());
    r.breaker_with_layers("adopt-pricing", &[], &[]);
    let e = r.explain("adopt-pricng");
    assert!(
        e.notes
            .iter()
            .any(|n| n.contains("adopt-pricing") || n.contains("not registered")),
        "explain of an unknown name reads like a real breaker's:\n{e}"
    );
}

#[derive(Debug)]
#[allow(dead_code)]
enum PromoError {
    Down,
    Open(Rejected),
}
impl From<Rejected> for PromoError {
    fn from(r: Rejected) -> Self {
        PromoError::Open(r)
    }
}

#[circuit_breaker(name = "adopt-explain-early", consecutive_failures = 2, open_timeout = "7s")]
fn promos() -> Result<(), PromoError> {
    Err(PromoError::Down)
}

/// README, Quickstart + Configuration file: a protected function's breaker is created on its
/// first call, and `registry().explain(name)` before that call answers with the built-in
/// defaults (`consecutive_failures 5 built-in default`) as if they were the breaker's, though
/// the macro says 2: an operator checking at startup is told the wrong thing, with no note.
#[test]
fn explain_before_the_first_call_does_not_pass_built_in_defaults_off_as_the_breakers() {
    let before = registry().explain("adopt-explain-early");
    let _ = promos();
    let after = registry().explain("adopt-explain-early");
    let value = |e: &cb_runtime::config::Explanation, key: &str| {
        e.keys.iter().find(|k| k.key == key).map(|k| k.value.clone()).unwrap()
    };
    assert_eq!(value(&after, "consecutive_failures"), "2", "{after}");
    assert!(
        value(&before, "consecutive_failures") == "2" || before.notes.iter().any(|n| n.contains("not registered")),
        "explain before the first call claims another configuration, with no note:\n{before}\nafter the first call:\n{after}"
    );
}

/// README, Keyed breakers: `max_keys` and `idle_ttl` are "set like any key — in the derive or
/// macro, in `circuit_breakers.toml` (`[breakers."webhook/*"] max_keys = 50000`), in the
/// environment or the builder"; "in a file section that does not name a whole family
/// (`[breakers."webhook/vip"]`) they are an error naming `[breakers."webhook/*"]`".
/// In the environment there is no spelling for the family: `CB_BREAKER__WEBHOOK__MAX_KEYS`
/// (the family's name) changes nothing and is reported nowhere.
#[test]
fn a_family_limit_from_the_environment_applies_or_is_reported() {
    with_var("CB_BREAKER__ADOPT_FAM__MAX_KEYS", "2", || {
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        r.breaker_with_layers("adopt-fam/a", &[], &[]);
        let family = r.families().into_iter().find(|f| f.name == "adopt-fam").unwrap();
        let status = r.config_status();
        assert!(
            family.max_keys == 2
                || status
                    .skipped
                    .iter()
                    .any(|p| p.to_string().contains("CB_BREAKER__ADOPT_FAM__MAX_KEYS")),
            "family cap {} and nothing reported:\n{status}",
            family.max_keys
        );
    });
}

/// The per-key spelling, `CB_BREAKER__WEBHOOK_BILLING__MAX_KEYS`, is not the error the per-key
/// file section is: it sets the whole family's cap when that key happens to register first
/// (stderr then blames "two types share the family name?"), and is silently dropped when
/// another key registered first.
#[test]
fn a_per_key_variable_for_a_family_limit_is_an_error_like_the_per_key_section() {
    with_var("CB_BREAKER__ADOPT_HOOK_A__MAX_KEYS", "2", || {
        let r = Registry::new().with_config(ConfigSource::builtin().with_env(true));
        r.breaker_with_layers("adopt-hook/a", &[], &[]);
        r.breaker_with_layers("adopt-hook/b", &[], &[]);
        let family = r.families().into_iter().find(|f| f.name == "adopt-hook").unwrap();
        let status = r.config_status();
        assert!(
            status
                .skipped
                .iter()
                .any(|p| p.to_string().contains("CB_BREAKER__ADOPT_HOOK_A__MAX_KEYS")),
            "the per-key variable was taken as the family's cap ({}) instead of being an error:\n{status}",
            family.max_keys
        );
    });
}
