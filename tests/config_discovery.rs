//! The global registry reads `CB_CONFIG` at first use (this binary's only test, so nothing
//! uses the registry before it sets the variable).

use cb_runtime::{BreakerConfig, registry};
use std::time::Duration;

#[test]
fn cb_config_is_read_at_first_use_of_the_registry() {
    let path = std::env::temp_dir().join(format!("cb-discovery-{}.toml", std::process::id()));
    std::fs::write(
        &path,
        "[defaults]\nopen_timeout = \"11s\"\n[breakers.discovered]\nconsecutive_failures = 2\n",
    )
    .unwrap();
    // SAFETY: single-threaded at this point: the only test of this binary, before any other use.
    unsafe { std::env::set_var("CB_CONFIG", &path) };
    let b = registry().breaker_with_layers("discovered", &[], &[]);
    assert_eq!(b.config().open_timeout, Duration::from_secs(11));
    assert_eq!(b.config().consecutive_failures, Some(2));
    let code = registry().breaker("discovered-code", &BreakerConfig::default());
    assert_eq!(
        code.config().open_timeout,
        Duration::from_secs(30),
        "[defaults] sits below a config given in code"
    );
}
