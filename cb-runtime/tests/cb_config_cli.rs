//! The `cb-config` command: `check` and `explain`, run as a user would.

use std::process::Command;

fn cb_config(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cb-config"))
        .args(args)
        .env_remove("CB_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn file(name: &str, text: &str) -> String {
    let path = std::env::temp_dir().join(format!("cb-cli-{}-{name}", std::process::id()));
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn explain_names_the_level_of_every_key() {
    let path = file("ok.toml", "[breakers.sentinel]\nfailure_rate_threshold = 0.4\n");
    let (ok, out, _) = cb_config(&["explain", "sentinel", "--config", &path]);
    assert!(ok);
    assert!(
        out.contains(&format!(
            "failure_rate_threshold     0.4                                  [breakers.\"sentinel\"] at {path}:2:1"
        )),
        "{out}"
    );
    assert!(
        out.contains("open_timeout               30s                                  built-in default"),
        "{out}"
    );
}

#[test]
fn check_reports_every_error_and_fails() {
    let path = file("bad.toml", "[breakers.x]\nopen_timout = \"3s\"\n");
    let (ok, _, err) = cb_config(&["check", "--config", &path]);
    assert!(!ok);
    assert_eq!(
        err.trim(),
        format!("{path}:2:1: [breakers.\"x\"]: unknown key `open_timout`; did you mean `open_timeout`?")
    );
    let (ok, _, err) = cb_config(&["frobnicate"]);
    assert!(!ok && err.starts_with("usage: cb-config"), "{err}");
}

#[test]
fn non_utf8_variables_never_panic_and_breaker_ones_are_named() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let out = Command::new(env!("CARGO_BIN_EXE_cb-config"))
        .arg("check")
        .env_remove("CB_CONFIG")
        .env("UNRELATED_BYTES", OsStr::from_bytes(b"\xff"))
        .env("CB_BREAKER__X__OPEN_TIMEOUT", OsStr::from_bytes(b"\xfe"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert_eq!(err.trim(), "CB_BREAKER__X__OPEN_TIMEOUT: the value is not UTF-8");
}
