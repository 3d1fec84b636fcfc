//! Configuration that cannot be applied is never silent: at discovery (first use of the
//! global registry) and on reload it reaches stderr once with no tracing subscriber, an
//! `Event::ConfigRejected`, and `registry().config_status()`; strict mode fails startup.
//!
//! Discovery happens once per process, so each discovery case runs this test binary again as
//! a child (`CB_LOUD_CHILD` names the scenario) with no subscriber, and asserts its stderr.

use cb_runtime::config::{self, ConfigSource};
use cb_runtime::{Event, Registry, registry};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const TYPO: &str = "[defaults]\nopen_timeout = \"11s\"\n[breakers.orders]\nconsecutive_failurs = 2\n";

fn temp_file(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cb-loud-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Runs scenario `name` in a child process of this test binary.
fn child(name: &str, envs: &[(&OsStr, &OsStr)]) -> (Output, String, String) {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", "child_scenario", "--nocapture", "--test-threads=1"])
        .env("CB_LOUD_CHILD", name)
        .env_remove("CB_CONFIG")
        .env_remove(config::STRICT_VAR);
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out, stdout, stderr)
}

/// The child side: does nothing in a normal run.
#[test]
fn child_scenario() {
    let Some(scenario) = std::env::var_os("CB_LOUD_CHILD") else {
        return;
    };
    match scenario.to_str().unwrap() {
        "discover" => {
            let b = registry().breaker_with_layers("orders", &[], &[]);
            let again = registry().breaker_with_layers("other", &[], &[]);
            println!("open_timeout={:?}", b.config().open_timeout);
            println!("other={:?}", again.config().open_timeout);
            println!("STATUS\n{}", registry().config_status());
            println!("EXPLAIN\n{}", registry().explain("orders"));
        }
        "strict-api" => match config::strict() {
            Ok(_) => println!("strict: ok"),
            Err(err) => println!("strict: failed\n{err}"),
        },
        "strict-env" => {
            let _ = registry();
            println!("unreachable: strict mode let a bad configuration through");
        }
        "non-utf8" => {
            let b = registry().breaker_with_layers("x", &[], &[]);
            println!("open_timeout={:?}", b.config().open_timeout);
            println!("problems={}", config::env_problems().len());
            let path = temp_file("ok.toml", "[breakers.x]\njitter = 0.0\n");
            println!("load={}", config::load_into(&Registry::new(), &path).is_err());
            println!("STATUS\n{}", registry().config_status());
        }
        other => panic!("unknown scenario {other}"),
    }
}

#[test]
fn a_typo_under_default_discovery_reaches_stderr_once_and_the_status() {
    let path = temp_file("typo.toml", TYPO);
    let (out, stdout, stderr) = child("discover", &[(OsStr::new("CB_CONFIG"), path.as_os_str())]);
    assert!(out.status.success(), "{stderr}");
    let located = format!(
        "{}:4:1: [breakers.\"orders\"]: unknown key `consecutive_failurs`; did you mean `consecutive_failures`?",
        path.display()
    );
    assert_eq!(
        stderr.matches(&located).count(),
        1,
        "once, with file:line:col and the hint:\n{stderr}"
    );
    assert!(stderr.contains("the built-in defaults stay in force"), "{stderr}");
    assert!(
        stdout.contains("open_timeout=30s"),
        "the whole file is rejected: {stdout}"
    );
    assert!(stdout.contains("in force: built-in defaults"), "{stdout}");
    assert!(
        stdout.contains(&format!("rejected at startup: {}", path.display())),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "note: {} was rejected at startup (1 problem(s))",
            path.display()
        )),
        "explain says the file in force is not the one on disk: {stdout}"
    );
}

#[test]
fn a_valid_discovered_file_is_in_force_and_quiet() {
    let path = temp_file("good.toml", "[defaults]\nopen_timeout = \"11s\"\n");
    let (out, stdout, stderr) = child("discover", &[(OsStr::new("CB_CONFIG"), path.as_os_str())]);
    assert!(out.status.success(), "{stderr}");
    assert!(!stderr.contains("cb_runtime:"), "{stderr}");
    assert!(stdout.contains("open_timeout=11s"), "{stdout}");
    assert!(stdout.contains(&format!("in force: {}", path.display())), "{stdout}");
}

#[test]
fn strict_mode_by_api_returns_every_problem() {
    let path = temp_file("strict-api.toml", TYPO);
    let (out, stdout, stderr) = child("strict-api", &[(OsStr::new("CB_CONFIG"), path.as_os_str())]);
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("strict: failed"), "{stdout}");
    assert!(stdout.contains("did you mean `consecutive_failures`?"), "{stdout}");
}

#[test]
fn strict_mode_by_variable_fails_startup() {
    let path = temp_file("strict-env.toml", TYPO);
    let (out, stdout, stderr) = child(
        "strict-env",
        &[
            (OsStr::new("CB_CONFIG"), path.as_os_str()),
            (OsStr::new(config::STRICT_VAR), OsStr::new("1")),
        ],
    );
    assert!(!out.status.success(), "{stdout}");
    assert!(!stdout.contains("unreachable"), "{stdout}");
    assert!(stderr.contains("CB_CONFIG_STRICT is on"), "{stderr}");
    assert!(stderr.contains("did you mean `consecutive_failures`?"), "{stderr}");
}

#[test]
fn a_missing_cb_config_file_is_reported() {
    let path = std::env::temp_dir().join("cb-loud-no-such-file.toml");
    let (out, stdout, stderr) = child("discover", &[(OsStr::new("CB_CONFIG"), path.as_os_str())]);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains(&format!("cannot read {}", path.display())), "{stderr}");
    assert!(stdout.contains("rejected at startup"), "{stdout}");
}

#[test]
fn non_utf8_variables_never_panic_and_breaker_ones_are_named() {
    let (out, stdout, stderr) = child(
        "non-utf8",
        &[
            (OsStr::new("UNRELATED_BYTES"), OsStr::from_bytes(b"\xff\xfe")),
            (OsStr::from_bytes(b"ALSO_\xff"), OsStr::new("1")),
            (OsStr::new("CB_BREAKER__X__OPEN_TIMEOUT"), OsStr::from_bytes(b"\xff")),
            (OsStr::new("CB_BREAKER____OPEN_TIMEOUT"), OsStr::new("3s")),
        ],
    );
    assert!(out.status.success(), "{stderr}");
    assert!(stdout.contains("open_timeout=30s"), "{stdout}");
    assert!(stdout.contains("problems=2"), "{stdout}");
    assert!(stdout.contains("load=true"), "load refuses bad variables: {stdout}");
    assert!(
        stderr.contains("CB_BREAKER__X__OPEN_TIMEOUT: the value is not UTF-8"),
        "{stderr}"
    );
    assert!(
        stderr.contains("CB_BREAKER____OPEN_TIMEOUT: the breaker name is empty"),
        "{stderr}"
    );
    assert!(stdout.contains("skipped: CB_BREAKER____OPEN_TIMEOUT"), "{stdout}");
}

#[test]
fn a_rejected_load_or_reload_is_an_event_and_a_status() {
    let path = temp_file("reload.toml", "[breakers.orders]\nopen_timeout = \"10s\"\n");
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let b = r.breaker_with_layers("orders", &[], &[]);
    let watcher = config::watch_every(r, &path, Duration::from_secs(3600));
    assert!(watcher.check_now().is_none(), "loaded by watch_every itself");
    assert_eq!(r.config_status().in_force.as_deref(), Some(path.as_path()));
    let mut events = r.subscribe();
    std::fs::write(&path, "[breakers.orders]\nopen_timout = \"5s\"\n").unwrap();
    assert!(watcher.check_now().unwrap().is_err());
    assert!(watcher.check_now().is_none(), "reported once");
    let status = r.config_status();
    assert_eq!(status.rejected.as_ref().unwrap().when, "reload");
    let shown = status.rejected.as_ref().unwrap().to_string();
    assert!(
        shown.starts_with(&format!("rejected at reload: {}\n  ", path.display()))
            && shown.contains("unknown key `open_timout`; did you mean `open_timeout`?"),
        "{shown}"
    );
    assert_eq!(
        status.in_force.as_deref(),
        Some(path.as_path()),
        "the last good file stays"
    );
    assert!(
        matches!(events.try_recv(), Some(Event::ConfigRejected { error }) if error.contains("did you mean `open_timeout`?"))
    );
    assert!(events.try_recv().is_none());
    assert_eq!(b.config().open_timeout, Duration::from_secs(10));
    let explained = r.explain("orders").to_string();
    assert!(explained.contains("was rejected at reload"), "{explained}");
    assert!(
        explained.contains("on disk differs from the configuration in force"),
        "{explained}"
    );
}

#[test]
fn the_watcher_reports_a_deleted_unreadable_or_replaced_file_and_keeps_the_last_good_one() {
    let path = temp_file("watched.toml", "[breakers.pay]\nopen_timeout = \"10s\"\n");
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let b = r.breaker_with_layers("pay", &[], &[]);
    let watcher = config::watch_every(r, &path, Duration::from_secs(3600));
    assert_eq!(
        b.config().open_timeout,
        Duration::from_secs(10),
        "loaded by watch_every itself"
    );
    let mut events = r.subscribe();
    let rejected = |events: &mut cb_runtime::Subscription, what: &str| {
        let err = watcher.check_now().expect("a change is seen").unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
        assert!(watcher.check_now().is_none(), "reported once");
        assert!(matches!(events.try_recv(), Some(Event::ConfigRejected { error }) if error.contains(what)));
        assert_eq!(r.config_status().rejected.unwrap().when, "reload");
        assert_eq!(
            b.config().open_timeout,
            Duration::from_secs(10),
            "the last good config stays"
        );
    };
    std::fs::remove_file(&path).unwrap();
    rejected(&mut events, "cannot read");
    std::fs::write(&path, b"[breakers.pay]\nopen_timeout = \"\xff\"\n").unwrap();
    rejected(&mut events, "not UTF-8");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    rejected(&mut events, "it is a directory");
    std::fs::remove_dir(&path).unwrap();
    std::fs::write(&path, "[breakers.pay]\nopen_timeout = \"20s\"\n").unwrap();
    watcher.check_now().unwrap().unwrap();
    assert_eq!(b.config().open_timeout, Duration::from_secs(20));
    assert!(r.config_status().is_ok(), "a good file clears the rejection");
}

#[test]
fn a_registry_from_a_good_source_reports_nothing() {
    let r = Registry::new().with_config(ConfigSource::builtin());
    assert!(r.config_status().is_ok());
    r.breaker_with_layers("any", &[], &[]);
    assert!(r.explain("any").notes.is_empty(), "{}", r.explain("any"));
}

/// `watch` loads the file before it returns: a breaker created right after has the file's
/// values, its window included (which no reload can change on a running breaker). A file that
/// is not there yet is reported as a rejected load, and the watcher loads it once it appears.
#[test]
fn a_watched_file_applies_before_watch_returns_window_included() {
    let path = temp_file(
        "watch-start.toml",
        "[breakers.ws]\nconsecutive_failures = 7\nwindow = { kind = \"count\", size = 10 }\n",
    );
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let _watcher = config::watch_every(r, &path, Duration::from_secs(3600));
    let b = r.breaker_with_layers("ws", &[], &[]);
    assert_eq!(b.config().consecutive_failures, Some(7));
    assert_eq!(b.config().window, cb_runtime::Window::Count(10));
    assert_eq!(r.config_status().in_force.as_deref(), Some(path.as_path()));

    let later = path.with_file_name("watch-later.toml");
    let _ = std::fs::remove_file(&later);
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let watcher = config::watch_every(r, &later, Duration::from_secs(3600));
    let status = r.config_status();
    assert_eq!(status.rejected.as_ref().map(|r| r.when), Some("load"), "{status}");
    std::fs::write(&later, "[breakers.ws]\nconsecutive_failures = 3\n").unwrap();
    watcher.check_now().unwrap().unwrap();
    assert_eq!(
        r.breaker_with_layers("ws", &[], &[]).config().consecutive_failures,
        Some(3)
    );
    assert!(r.config_status().is_ok(), "{}", r.config_status());
}

/// A reload that changes a running breaker's window: `explain` keeps the window it runs on as
/// the configuration in force and says the file's applies after a restart.
#[test]
fn explain_after_a_window_reload_shows_the_window_in_force() {
    let path = temp_file("window-reload.toml", "[breakers.wr]\nconsecutive_failures = 4\n");
    let r: &'static Registry = Box::leak(Box::new(Registry::new()));
    let watcher = config::watch_every(r, &path, Duration::from_secs(3600));
    let b = r.breaker_with_layers("wr", &[], &[]);
    let running = b.config().window;
    std::fs::write(&path, "[breakers.wr]\nwindow = { kind = \"count\", size = 50 }\n").unwrap();
    watcher.check_now().unwrap().unwrap();
    assert_eq!(b.config().window, running, "a reload keeps the window");
    let explained = r.explain("wr");
    assert_eq!(explained.config.window, running, "{explained}");
    assert!(
        explained
            .notes
            .iter()
            .any(|n| n == "window { kind = \"count\", size = 50 } applies after a restart: this breaker runs on window { kind = \"time\", size = \"1m\" }"),
        "{explained}"
    );
}
