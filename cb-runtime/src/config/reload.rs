//! Loading a configuration file into a registry, at startup or while the program runs.

use super::file::{FileError, LoadError};
use super::source::ConfigSource;
use super::value::{Value, keys, parse_setting};
use crate::{Registry, registry};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Breakers whose thresholds a reload changed, each with its `key: old -> new` changes.
pub type Changes = Vec<(&'static str, Vec<String>)>;

/// What a successful load changed and what looks suspicious.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadReport {
    /// Registered breakers whose thresholds changed, with the changes.
    pub changed: Changes,
    /// Not errors: `[breakers.PATTERN]` sections matching no registered breaker (yet).
    pub warnings: Vec<String>,
}

/// Loads `path` into the global registry: every registered breaker takes on the new
/// thresholds (state and counts kept) and breakers created later resolve with it. Fails fast
/// with every problem (file, line, column, key, what is allowed) and changes nothing then.
///
/// ```no_run
/// fn main() -> Result<(), cb_runtime::config::LoadError> {
///     cb_runtime::config::load("circuit_breakers.toml")?;
///     Ok(())
/// }
/// ```
pub fn load(path: impl AsRef<Path>) -> Result<LoadReport, LoadError> {
    load_into(registry(), path)
}

/// [`load`] into a given registry.
pub fn load_into(registry: &Registry, path: impl AsRef<Path>) -> Result<LoadReport, LoadError> {
    let source = ConfigSource::from_file(path)?;
    let env_errors = env_problems();
    if !env_errors.is_empty() {
        return Err(LoadError { errors: env_errors });
    }
    let names = registry.names();
    let warnings = source
        .unmatched_patterns(&names)
        .map(|p| format!("[breakers.\"{p}\"] matches no registered breaker (yet)"))
        .collect();
    for w in &warnings {
        tracing::warn!(target: "cb_runtime", "{w}");
    }
    Ok(LoadReport {
        changed: registry.reconfigure(source),
        warnings,
    })
}

/// Every `CB_BREAKER__<NAME>__<KEY>` variable with an unknown key or a bad value.
pub fn env_problems() -> Vec<FileError> {
    let mut problems = Vec::new();
    for (var, text) in std::env::vars() {
        let Some(rest) = var.strip_prefix("CB_BREAKER__") else {
            continue;
        };
        let Some((_, key)) = rest.rsplit_once("__") else {
            problems.push(env_error(&var, None, "expected CB_BREAKER__<NAME>__<KEY>".to_owned()));
            continue;
        };
        let key = key.to_ascii_lowercase();
        if !keys().contains(&key.as_str()) {
            problems.push(env_error(
                &var,
                Some(&key),
                format!("unknown key `{key}`; expected one of {}", keys().join(", ")),
            ));
            continue;
        }
        match parse_setting(&key, &Value::from_env(&text)) {
            Ok(Some(_)) => {}
            Ok(None) => problems.push(env_error(&var, Some(&key), format!("unknown preset `{}`", text.trim()))),
            Err(p) => problems.push(env_error(&var, Some(&key), p.message)),
        }
    }
    problems
}

fn env_error(var: &str, key: Option<&str>, message: String) -> FileError {
    FileError {
        at: None,
        variable: Some(var.to_owned()),
        key: key.map(str::to_owned),
        message,
    }
}

/// The global registry's starting configuration: the discovered file and the environment;
/// problems are reported and leave the built-in defaults in force.
pub(crate) fn discover_or_report() -> ConfigSource {
    ConfigSource::discover().unwrap_or_else(|err| {
        tracing::error!(target: "cb_runtime", "circuit breaker configuration not applied, using the built-in defaults:\n{err}");
        ConfigSource::builtin().with_env(true)
    })
}

/// Reloads a configuration file whenever its content changes; stops when dropped.
///
/// A changed file that is invalid is reported (`Event::ConfigRejected` and a tracing error)
/// and the last good configuration stays in force: nothing is half-applied.
#[derive(Debug)]
pub struct Watcher {
    state: Arc<WatchState>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct WatchState {
    path: PathBuf,
    registry: &'static Registry,
    last: std::sync::Mutex<Option<String>>,
    stop: AtomicBool,
}

/// Watches `path` for the global registry, checking once a second.
pub fn watch(path: impl Into<PathBuf>) -> Watcher {
    watch_every(registry(), path, Duration::from_secs(1))
}

/// Watches `path` for `registry`, checking every `every`.
pub fn watch_every(registry: &'static Registry, path: impl Into<PathBuf>, every: Duration) -> Watcher {
    let state = Arc::new(WatchState {
        path: path.into(),
        registry,
        last: std::sync::Mutex::new(None),
        stop: AtomicBool::new(false),
    });
    let polling = state.clone();
    let thread = std::thread::Builder::new()
        .name("cb-config-watch".into())
        .spawn(move || {
            let step = every.min(Duration::from_millis(50));
            let mut waited = Duration::ZERO;
            while !polling.stop.load(Ordering::Acquire) {
                if waited >= every {
                    polling.check();
                    waited = Duration::ZERO;
                }
                std::thread::sleep(step);
                waited += step;
            }
        })
        .ok();
    Watcher { state, thread }
}

impl Watcher {
    /// Checks the file now (what the background thread does periodically); returns the changes
    /// applied, if the content changed and is valid.
    pub fn check_now(&self) -> Option<Result<Changes, LoadError>> {
        self.state.check()
    }
}

impl WatchState {
    fn check(&self) -> Option<Result<Changes, LoadError>> {
        let text = std::fs::read_to_string(&self.path).ok()?;
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if last.as_deref() == Some(text.as_str()) {
            return None;
        }
        *last = Some(text.clone());
        drop(last);
        match ConfigSource::from_text(&text, &self.path) {
            Ok(source) => Some(Ok(self.registry.reconfigure(source))),
            Err(err) => {
                self.registry.report_rejected(err.to_string());
                Some(Err(err))
            }
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::Release);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
