//! Outside-in attack on commit cbe8494: misspelt-prefix reports in the environment. The only
//! test binary of this attack touching the environment.

use cb_runtime::Registry;

/// DEFECT (false positive that blocks loading): `env_problems()` now names every variable
/// starting (in any case) with `CB_BREAKER` but not `CB_BREAKER__`, even one that cannot be a
/// breaker variable at all (no `__<KEY>` part: `CB_BREAKER_DASHBOARD_PORT`,
/// `CB_BREAKERS_ENABLED`). `load_into` refuses the whole (valid) file when `env_problems()` is
/// non-empty, so such a variable makes `config::load`/`load_into` fail.
#[test]
fn a_variable_that_cannot_be_a_breaker_variable_does_not_block_loading_a_valid_file() {
    let dir = std::env::temp_dir().join(format!("cb-attack-env-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("circuit_breakers.toml");
    std::fs::write(&path, "[breakers.payments]\nconsecutive_failures = 2\n").unwrap();
    // SAFETY: no other test in this binary reads or writes the environment.
    unsafe { std::env::set_var("CB_BREAKER_DASHBOARD_PORT", "9000") };
    let r = Registry::new();
    let loaded = cb_runtime::config::load_into(&r, &path);
    unsafe { std::env::remove_var("CB_BREAKER_DASHBOARD_PORT") };
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(loaded.is_ok(), "{:?}", loaded.err().map(|e| e.to_string()));
}
