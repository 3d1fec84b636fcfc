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
