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
        out.contains("open_timeout               \"30s\"                                built-in default"),
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

/// Runs `cb-config` in `dir`, as an operator would in an application's directory.
fn cb_config_in(dir: &std::path::Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cb-config"))
        .args(args)
        .current_dir(dir)
        .env_remove("CB_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("cb-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn help_and_version_exit_zero() {
    let dir = temp_dir("help");
    let (code, out, _) = cb_config_in(&dir, &["--help"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("usage: cb-config check [FILE]") && out.contains("explain NAME [FILE]"),
        "{out}"
    );
    let (code, out, _) = cb_config_in(&dir, &["-V"]);
    assert_eq!(
        (code, out.trim()),
        (0, format!("cb-config {}", env!("CARGO_PKG_VERSION")).as_str())
    );
    let (code, _, err) = cb_config_in(&dir, &["check", "--frobnicate"]);
    assert!(code == 2 && err.starts_with("usage: "), "{err}");
}

#[test]
fn check_and_explain_any_file_from_any_directory() {
    let app = temp_dir("app");
    std::fs::write(
        app.join("breakers.toml"),
        "[breakers.payments]\nopen_timeout = \"12s\"\n",
    )
    .unwrap();
    let elsewhere = temp_dir("elsewhere");
    let file = app.join("breakers.toml").display().to_string();
    let (code, out, err) = cb_config_in(&elsewhere, &["check", &file]);
    assert_eq!((code, out.trim()), (0, format!("ok: {file}").as_str()), "{err}");
    let (code, out, _) = cb_config_in(&elsewhere, &["explain", "payments", &file]);
    assert_eq!(code, 0);
    assert!(out.contains(&format!("[breakers.\"payments\"] at {file}:2:1")), "{out}");
    let (code, out, _) = cb_config_in(&app, &["check", "breakers.toml"]);
    assert_eq!(
        (code, out.trim()),
        (0, "ok: breakers.toml"),
        "a path relative to the working directory"
    );
    let (code, _, err) = cb_config_in(&elsewhere, &["check", "missing.toml"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("cannot read missing.toml: "), "{err}");
}

#[test]
fn check_discovers_the_file_of_the_working_directory() {
    let dir = temp_dir("discover");
    std::fs::write(
        dir.join("circuit_breakers.yaml"),
        "breakers:\n  feed:\n    open_timout: 3s\n",
    )
    .unwrap();
    let (code, _, err) = cb_config_in(&dir, &["check"]);
    assert_eq!(code, 1);
    if cfg!(feature = "yaml") {
        assert_eq!(
            err.trim(),
            "circuit_breakers.yaml:3:5: [breakers.\"feed\"]: unknown key `open_timout`; did you mean `open_timeout`?"
        );
    } else {
        assert!(err.contains("needs cb-runtime's feature `yaml`"), "{err}");
    }
    std::fs::write(dir.join("circuit_breakers.toml"), "").unwrap();
    let (code, _, err) = cb_config_in(&dir, &["check"]);
    assert_eq!(code, 1);
    assert_eq!(
        err.trim(),
        "both circuit_breakers.toml and circuit_breakers.yaml are here and cb reads one: remove one, or name it in CB_CONFIG"
    );
    std::fs::remove_file(dir.join("circuit_breakers.yaml")).unwrap();
    let (code, out, _) = cb_config_in(&dir, &["check"]);
    assert_eq!((code, out.trim()), (0, "ok: circuit_breakers.toml"));
}

/// A file whose path is not UTF-8 (legal on Unix) is read, not mangled into `\u{FFFD}`.
#[cfg(unix)]
#[test]
fn a_file_whose_path_is_not_utf8_is_checked() {
    use std::os::unix::ffi::OsStrExt;
    let dir = temp_dir("non-utf8-path");
    let path = dir.join(std::ffi::OsStr::from_bytes(b"\xffcb.toml"));
    std::fs::write(&path, "[defaults]\nopen_timeout = \"10s\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cb-config"))
        .arg("check")
        .arg(&path)
        .env_remove("CB_CONFIG")
        .output()
        .unwrap();
    std::fs::remove_file(&path).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("ok: "));
}

/// Discovering (no FILE), `cb-config` names a variable that nearly spells `CB_CONFIG`, as the
/// program does: it would have been the file. With a FILE it does not matter.
#[test]
fn a_misspelt_cb_config_is_reported_when_discovering() {
    let dir = std::env::temp_dir().join(format!("cb-cli-{}-misspelt", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_cb-config"))
            .args(args)
            .current_dir(&dir)
            .env_remove("CB_CONFIG")
            .env("CB_CONFIGG", "elsewhere.toml")
            .output()
            .unwrap();
        (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
    };
    let (code, err) = run(&["check"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("CB_CONFIGG: not read; did you mean `CB_CONFIG`?"), "{err}");
    let path = file("misspelt.toml", "[defaults]\njitter = 0.0\n");
    let (code, err) = run(&["check", &path]);
    assert_eq!(code, Some(0), "{err}");
    std::fs::remove_dir_all(&dir).unwrap();
}
