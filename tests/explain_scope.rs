//! What `explain(name)` lists of the problems the global registry found in the environment:
//! a skipped variable (a bad value or an unknown key) under the problems of the breaker it
//! names, not under another registered breaker; while
//! the breaker it names is not registered, every breaker shows it (it may be a misspelling of
//! theirs). One test: the variable must be set before the registry's first use.

use cb_runtime::registry;

#[test]
fn explain_leaves_out_the_variables_of_other_registered_breakers() {
    // SAFETY: the only test of this binary, set before anything reads the environment.
    unsafe {
        std::env::set_var("CB_BREAKER__EXPL_OTHER__JITTER", "1.5");
        std::env::set_var("CB_BREAKER__EXPL_OTHER__CONSECUTIVE_FAILURE", "3");
    }
    let r = registry();
    r.breaker_with_layers("expl-mine", &[], &[]);
    let notes = |name: &str| r.explain(name).notes.join("\n");
    assert!(
        notes("expl-mine").contains("CB_BREAKER__EXPL_OTHER__JITTER"),
        "no breaker `expl-other` yet, so it may be this one's: {}",
        notes("expl-mine")
    );
    r.breaker_with_layers("expl-other", &[], &[]);
    assert!(
        !notes("expl-mine").contains("CB_BREAKER__EXPL_OTHER__JITTER"),
        "another registered breaker's variable: {}",
        notes("expl-mine")
    );
    let other = r.explain("expl-other");
    let problems: Vec<String> = other.problems.iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 2, "its own problems, the misspelt key too: {other}");
    assert!(problems.iter().any(|p| p.contains("CONSECUTIVE_FAILURE:")), "{other}");
    assert!(
        !notes("expl-other").contains("CB_BREAKER__EXPL_OTHER__"),
        "listed once, under its problems: {other}"
    );
}
