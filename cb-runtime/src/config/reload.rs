//! Loading a configuration file into a registry, at startup or while the program runs.

use super::env::env_problems;
use super::file::{LoadError, digest, read_text};
use super::source::ConfigSource;
use crate::{Registry, registry};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Breakers whose thresholds a reload changed, each with its `key: old -> new` changes.
pub type Changes = Vec<(crate::Name, Vec<String>)>;

/// What a successful load changed and what looks suspicious.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
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
    registry.config_accepted(&source);
    let names = registry.names();
    let names: Vec<&str> = names.iter().map(|n| n.as_str()).collect();
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

/// Reloads a configuration file whenever its content changes; stops when dropped.
///
/// A changed file that is invalid, unreadable, not UTF-8, deleted or replaced by a directory
/// is reported like a rejected file at startup (stderr once, `Event::ConfigRejected`, the
/// registry's [`config_status`](Registry::config_status)) and the last good configuration stays
/// in force: nothing is half-applied. Each condition is reported once, when it appears.
#[derive(Debug)]
#[must_use = "the file is watched only while the Watcher lives: keep it (`let _watcher = watch(..)`)"]
pub struct Watcher {
    state: Arc<WatchState>,
    thread: Option<JoinHandle<()>>,
}

#[derive(Debug)]
struct WatchState {
    path: PathBuf,
    registry: &'static Registry,
    /// The digest of the last text seen, or of the last read error.
    last: std::sync::Mutex<Option<u64>>,
    stop: AtomicBool,
}

/// Watches `path` for the global registry: loads it now, then checks it once a second.
///
/// The file applies before this returns, so breakers created after it get its values, the
/// window included (a reload cannot change a running breaker's window). A file that cannot be
/// loaded now is reported like a rejected reload ("load"), and the watcher goes on waiting for
/// a good one.
pub fn watch(path: impl Into<PathBuf>) -> Watcher {
    watch_every(registry(), path, Duration::from_secs(1))
}

/// Watches `path` for `registry`, checking every `every`; loads it now, as [`watch`] does.
pub fn watch_every(registry: &'static Registry, path: impl Into<PathBuf>, every: Duration) -> Watcher {
    let state = Arc::new(WatchState {
        path: path.into(),
        registry,
        last: std::sync::Mutex::new(None),
        stop: AtomicBool::new(false),
    });
    let _ = state.check_as("load");
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
        self.check_as("reload")
    }

    /// Loads the file if its content changed since the last look; `when` names the occasion
    /// in a rejection's report.
    fn check_as(&self, when: &'static str) -> Option<Result<Changes, LoadError>> {
        let read = read_text(&self.path);
        let seen = match &read {
            Ok(text) => digest(text),
            Err(err) => digest(&err.to_string()) ^ 1,
        };
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if *last == Some(seen) {
            return None;
        }
        *last = Some(seen);
        drop(last);
        match read.and_then(|text| ConfigSource::read_from(&text, &self.path)) {
            Ok(source) => {
                self.registry.config_accepted(&source);
                Some(Ok(self.registry.reconfigure(source)))
            }
            Err(err) => {
                self.registry.config_rejected(Some(&self.path), &err, when);
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
