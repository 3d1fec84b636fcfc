//! What configuration a registry runs on and what it refused: the loud side of discovery and
//! reload. A rejected file or variable reaches stderr once (even with no tracing subscriber),
//! an [`Event::ConfigRejected`], and [`Registry::config_status`];
//! strict mode (`CB_CONFIG_STRICT=1` or [`strict`]) fails startup instead.

use super::env::{collision, env_problems, has_variables};
use super::file::{FileError, LoadError, digest};
use super::source::ConfigSource;
use crate::events::Event;
use crate::{Registry, registry};
use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

/// The variable that turns strict mode on at startup (`1`, `true`, `yes` or `on`).
pub const STRICT_VAR: &str = "CB_CONFIG_STRICT";

/// The configuration a registry runs on, and what it refused.
///
/// ```
/// use cb_runtime::Registry;
///
/// let status = Registry::new().config_status();
/// assert!(status.is_ok());
/// assert_eq!(status.in_force, None, "built-in defaults");
/// ```
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct ConfigStatus {
    /// The configuration file in force; `None`: the built-in defaults.
    pub in_force: Option<PathBuf>,
    /// The last file refused since the one in force was accepted.
    pub rejected: Option<Rejection>,
    /// What is not applied as written: `CB_BREAKER__…` variables that are skipped (bad value,
    /// unknown key, empty name) or that two breakers share, and breakers whose sections and
    /// variables together break a cross-key rule (they run without them).
    pub skipped: Vec<FileError>,
}

/// A configuration file that could not be applied.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Rejection {
    /// The file.
    pub path: Option<PathBuf>,
    /// When: `"startup"` (discovery at first use), `"load"` or `"reload"` (a watcher).
    pub when: &'static str,
    /// Every problem, with file, line and column.
    pub errors: LoadError,
}

/// `rejected at reload: cb.toml` and one indented line per problem.
impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "rejected at {}: {}", self.when, shown(self.path.as_deref()))?;
        for e in &self.errors.errors {
            writeln!(f, "  {e}")?;
        }
        Ok(())
    }
}

impl ConfigStatus {
    /// Whether everything asked for is in force.
    pub fn is_ok(&self) -> bool {
        self.rejected.is_none() && self.skipped.is_empty()
    }

    /// Every problem: the rejected file's, then the variables'.
    pub fn problems(&self) -> Vec<FileError> {
        let file = self.rejected.iter().flat_map(|r| r.errors.errors.iter().cloned());
        file.chain(self.skipped.iter().cloned()).collect()
    }
}

impl fmt::Display for ConfigStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.in_force {
            Some(path) => writeln!(f, "in force: {}", path.display())?,
            None => writeln!(f, "in force: built-in defaults")?,
        }
        if let Some(r) = &self.rejected {
            write!(f, "{r}")?;
        }
        for v in &self.skipped {
            writeln!(f, "skipped: {v}")?;
        }
        Ok(())
    }
}

/// A registry's configuration status and which reports already reached stderr.
#[derive(Debug, Default)]
pub(crate) struct StatusCell {
    status: Mutex<ConfigStatus>,
    printed: Mutex<HashSet<u64>>,
    /// Reports made while nobody subscribed, for the first subscription (at most 64).
    undelivered: Mutex<Vec<String>>,
    /// The last configuration conflict reported for each breaker (see
    /// [`Registry::explain`](crate::Registry::explain)).
    conflicts: Mutex<std::collections::HashMap<String, String>>,
}

impl StatusCell {
    fn update<T>(&self, f: impl FnOnce(&mut ConfigStatus) -> T) -> T {
        f(&mut self.status.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The reports nobody has received yet, taken.
    pub(crate) fn undelivered(&self) -> Vec<String> {
        std::mem::take(&mut *self.undelivered.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// Keeps `text` for the first subscription.
    fn keep_undelivered(&self, text: &str) {
        let mut kept = self.undelivered.lock().unwrap_or_else(PoisonError::into_inner);
        if kept.len() < 64 {
            kept.push(text.to_owned());
        }
    }

    /// Whether `text` reached stderr already.
    fn printed(&self, text: &str) -> bool {
        let printed = self.printed.lock().unwrap_or_else(PoisonError::into_inner);
        printed.contains(&digest(text))
    }

    /// Keeps `message` as breaker `name`'s configuration conflict; whether it is new (the
    /// caller then reports it on stderr and as an event).
    pub(crate) fn conflict(&self, name: &str, message: &str) -> bool {
        let mut conflicts = self.conflicts.lock().unwrap_or_else(PoisonError::into_inner);
        if conflicts.get(name).is_some_and(|m| m == message) {
            return false;
        }
        conflicts.insert(name.to_owned(), message.to_owned());
        drop(conflicts);
        self.first_time(message)
    }

    /// Breaker `name`'s configuration conflict, if one was reported.
    pub(crate) fn conflict_of(&self, name: &str) -> Option<String> {
        self.conflicts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .cloned()
    }

    /// Whether `text` is new to stderr (and now printed).
    fn first_time(&self, text: &str) -> bool {
        let mut printed = self.printed.lock().unwrap_or_else(PoisonError::into_inner);
        printed.insert(digest(text))
    }
}

/// Strict mode at startup: the global registry (discovering `CB_CONFIG` or
/// `./circuit_breakers.toml` and the environment if it does not exist yet), or every
/// problem of its configuration. Call it first thing in `main` to fail startup on bad
/// configuration instead of running on the built-in defaults.
///
/// ```no_run
/// fn main() -> Result<(), cb_runtime::config::LoadError> {
///     cb_runtime::config::strict()?;
///     Ok(())
/// }
/// ```
pub fn strict() -> Result<&'static Registry, LoadError> {
    let registry = registry();
    let status = registry.config_status();
    if status.is_ok() {
        Ok(registry)
    } else {
        Err(LoadError {
            errors: status.problems(),
        })
    }
}

/// Whether `CB_CONFIG_STRICT` asks for strict mode; an unreadable value is a problem and
/// counts as on.
fn strict_from_env() -> (bool, Option<FileError>) {
    let Some(value) = std::env::var_os(STRICT_VAR) else {
        return (false, None);
    };
    match value.to_str().map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        Some("1" | "true" | "yes" | "on") => (true, None),
        Some("" | "0" | "false" | "no" | "off") => (false, None),
        _ => (
            true,
            Some(super::env::env_error(
                STRICT_VAR,
                None,
                "expected 1, true, yes, on or 0, false, no, off; strict mode is on".to_owned(),
            )),
        ),
    }
}

impl Registry {
    /// The configuration this registry runs on and what it refused (a rejected file, skipped
    /// variables), for health endpoints and startup checks.
    pub fn config_status(&self) -> ConfigStatus {
        let mut status = self.status.update(|s| s.clone());
        status.skipped.extend(self.near_misses());
        status
    }

    /// Discovery at first use of the global registry: the file of `CB_CONFIG` (else
    /// `./circuit_breakers.toml`) and the environment. Problems are reported; in strict mode
    /// they end the program's startup with a panic that lists them.
    pub(crate) fn discover_config(&self) {
        let (strict, strict_problem) = strict_from_env();
        match ConfigSource::discover() {
            Ok(source) => {
                self.config_accepted(&source);
                self.reconfigure(source);
            }
            Err(err) => {
                self.reconfigure(ConfigSource::builtin().with_env(true));
                self.config_rejected(ConfigSource::discover_path().as_deref(), &err, "startup");
            }
        }
        let mut variables = env_problems();
        variables.extend(strict_problem);
        variables.extend(misspelt_config_variables());
        self.report_skipped(variables);
        let status = self.config_status();
        if strict && !status.is_ok() {
            panic!("circuit breaker configuration rejected ({STRICT_VAR} is on):\n{status}");
        }
    }

    /// A configuration file was accepted: it is the one in force now.
    pub(crate) fn config_accepted(&self, source: &ConfigSource) {
        let path = source.file().and_then(|f| f.path()).map(Path::to_path_buf);
        self.status.update(|s| {
            s.in_force = path;
            s.rejected = None;
        });
    }

    /// A configuration file could not be applied: stderr once, an event, the status.
    pub(crate) fn config_rejected(&self, path: Option<&Path>, errors: &LoadError, when: &'static str) {
        let in_force = self.status.update(|s| {
            s.rejected = Some(Rejection {
                path: path.map(Path::to_path_buf),
                when,
                errors: errors.clone(),
            });
            s.in_force.clone()
        });
        let kept = in_force.map_or("the built-in defaults stay".to_owned(), |p| {
            format!("{} stays", p.display())
        });
        let file = shown(path);
        self.report(format!(
            "circuit breaker configuration {file} rejected at {when}; {kept} in force:\n{errors}"
        ));
    }

    /// Problems met resolving breaker `name` (bad variables, a cross-key rule broken by its
    /// sections and variables): reported like any skipped configuration. A configuration
    /// that still breaks a rule runs on the built-in defaults.
    pub(crate) fn resolution_problems(&self, name: &str, explained: &mut super::Explanation) {
        let mut problems = explained.problems.clone();
        if let Err(err) = explained.config.validate() {
            problems.push(FileError::of_breaker(
                name,
                Some(err.key()),
                &format!("{err}; using the built-in defaults"),
            ));
            explained.config = crate::BreakerConfig::default();
        }
        if !problems.is_empty() {
            self.report_skipped(problems);
        }
    }

    /// Variables or sections that are skipped: stderr once each, an event, the status.
    pub(crate) fn report_skipped(&self, problems: Vec<FileError>) {
        let new: Vec<FileError> = self.status.update(|s| {
            let new: Vec<FileError> = problems.into_iter().filter(|p| !s.skipped.contains(p)).collect();
            s.skipped.extend(new.iter().cloned());
            new
        });
        if new.is_empty() {
            return;
        }
        let lines: Vec<String> = new.iter().map(ToString::to_string).collect();
        self.report(format!(
            "circuit breaker configuration not applied as written:\n{}",
            lines.join("\n")
        ));
    }

    /// The file's sections that match no registered breaker and nearly name one (or, for a
    /// keyed family, `family/*`): `[breakers.sentinal]` beside breaker `sentinel`,
    /// `[breakers.webhook]` beside `webhook/billing`. Judged when asked (a section read before
    /// its breaker registers is not a mistake yet), from the plain names and the families, so
    /// the cost does not grow with the keys; each new one reaches stderr once and an event.
    fn near_misses(&self) -> Vec<FileError> {
        let source = self.config_source();
        let (plain, families) = self.name_shapes();
        if plain.is_empty() && families.is_empty() {
            return Vec::new();
        }
        let mut found = Vec::new();
        let no_sections = Vec::new();
        let sections = source.file().map_or(&no_sections, |file| &file.breakers);
        let plain_set: HashSet<&str> = plain.iter().map(String::as_str).collect();
        let family_set: HashSet<&str> = families.iter().map(String::as_str).collect();
        let wide: Vec<String> = families.iter().map(|f| format!("{f}/*")).collect();
        let candidates: Vec<&str> = plain.iter().chain(&wide).map(String::as_str).collect();
        for (pattern, _, at) in sections {
            let family = crate::family::family_of(pattern);
            let glob = pattern.contains(['*', '?']);
            let matched = plain_set.contains(pattern.as_str())
                || family.is_some_and(|f| {
                    family_set.contains(f) || (glob && families.iter().any(|g| crate::glob_match(f, g)))
                })
                || (glob && plain.iter().any(|n| crate::glob_match(pattern, n)))
                || (glob && family.is_none() && families.iter().any(|f| crate::glob_match(pattern, &format!("{f}/"))));
            if matched {
                continue;
            }
            let near = |c: &&str| c.len().abs_diff(pattern.len()) <= 2.max(c.len() / 4);
            let close: Vec<&str> = candidates.iter().copied().filter(near).collect();
            let Some(meant) = super::value::did_you_mean(pattern, &close) else {
                continue;
            };
            // Names that differ only in digits are siblings (`api-v1`, `api-v2`), not a typo.
            let letters = |s: &str| s.chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
            if letters(pattern) == letters(meant) {
                continue;
            }
            found.push(FileError {
                breaker: None,
                at: Some(at.clone()),
                variable: None,
                key: None,
                message: format!(
                    "[breakers.\"{}\"] matches no breaker; did you mean [breakers.\"{}\"]?",
                    super::value::clip(pattern),
                    super::value::clip(meant)
                ),
            });
        }
        if source.env() {
            found.extend(variable_near_misses(&plain, &families));
        }
        for problem in &found {
            let text = format!("circuit breaker configuration not applied as written:\n{problem}");
            if !self.status.printed(&text) {
                self.report(text);
            }
        }
        found
    }

    /// Names the variables of a new breaker `name` that another breaker's name maps to as well.
    pub(crate) fn check_variable_collision(&self, name: &str) {
        if !has_variables(name) {
            return;
        }
        let names = self.names();
        if let Some(problem) = collision(name, names.iter().map(|n| n.as_str())) {
            self.report_skipped(vec![problem]);
        }
    }

    /// What `explain` adds about the file: a rejected one, or a file on disk that differs from
    /// the one in force; and the skipped variables and rules `relevant` keeps.
    pub(crate) fn config_notes(&self, relevant: impl Fn(&FileError) -> bool) -> Vec<String> {
        let mut notes = Vec::new();
        let status = self.config_status();
        if let Some(r) = &status.rejected {
            let path = shown(r.path.as_deref());
            let kept = status
                .in_force
                .as_deref()
                .map_or("the built-in defaults stay".into(), |p| {
                    format!("{} stays", p.display())
                });
            notes.push(format!(
                "{path} was rejected at {} ({} problem(s)); {kept} in force",
                r.when,
                r.errors.errors.len()
            ));
        }
        let source = self.config_source();
        if let Some(file) = source.file().filter(|f| f.from_disk)
            && let Some(path) = file.path()
        {
            match super::file::read_text(path) {
                Ok(text) if digest(&text) == file.digest => {}
                Ok(_) => notes.push(format!(
                    "{} on disk differs from the configuration in force (not loaded yet)",
                    path.display()
                )),
                Err(err) => notes.push(format!("the file in force can no longer be read: {err}")),
            }
        }
        for v in status.skipped.iter().filter(|v| relevant(v)) {
            notes.push(format!("skipped: {v}"));
        }
        notes
    }

    /// Sends a report to stderr (once per text), tracing and subscribers.
    fn report(&self, text: String) {
        if self.status.first_time(&text) {
            eprintln!("cb_runtime: {text}");
        }
        if !self.has_any_subscribers() {
            self.status.keep_undelivered(&text);
        }
        self.emit_event(Event::ConfigRejected { error: text });
    }
}

/// `CB_BREAKER__<NAME>__<KEY>` variables whose name is no registered breaker's (nor a keyed
/// family's, nor one of its keys') and nearly is one's: `CB_BREAKER__SENTINAL__OPEN_TIMEOUT`
/// beside breaker `sentinel`. Names that differ only in digits are siblings, not typos.
fn variable_near_misses(plain: &[String], families: &[String]) -> Vec<FileError> {
    let stem = |name: &str| {
        let prefix = super::resolve::env_var(name, "");
        prefix[super::env::PREFIX.len()..prefix.len() - 2].to_owned()
    };
    let plain: Vec<String> = plain.iter().map(|n| stem(n)).collect();
    let families: Vec<String> = families.iter().map(|f| stem(f)).collect();
    let candidates: Vec<&str> = plain.iter().chain(&families).map(String::as_str).collect();
    let mut found = Vec::new();
    for (var, _) in std::env::vars_os() {
        let Some(var) = var.to_str() else { continue };
        let Some(rest) = var.strip_prefix(super::env::PREFIX) else {
            continue;
        };
        let Some((name, key)) = rest.rsplit_once("__") else {
            continue;
        };
        if !super::value::keys().contains(&key.to_ascii_lowercase().as_str()) {
            continue;
        }
        let known = plain.iter().any(|p| p == name)
            || families
                .iter()
                .any(|f| name == f || name.strip_prefix(f.as_str()).is_some_and(|k| k.starts_with('_')));
        if known {
            continue;
        }
        let near = |c: &&str| c.len().abs_diff(name.len()) <= 2.max(c.len() / 4);
        let close: Vec<&str> = candidates.iter().copied().filter(near).collect();
        let Some(meant) = super::value::did_you_mean(name, &close) else {
            continue;
        };
        let letters = |s: &str| s.chars().filter(|c| !c.is_ascii_digit()).collect::<String>();
        if letters(name) == letters(meant) {
            continue;
        }
        found.push(super::env::env_error(
            var,
            None,
            format!(
                "names no breaker, so it is not applied; did you mean `{}{meant}__{key}`?",
                super::env::PREFIX
            ),
        ));
    }
    found
}

/// Variables that nearly spell `CB_CONFIG` or `CB_CONFIG_STRICT` (`CB_CONFG`): not read, so
/// named at discovery, where they would have mattered (the program's discovery and
/// `cb-config` without a file both report them).
///
/// ```
/// // SAFETY: this example's process has no other thread.
/// unsafe { std::env::set_var("CB_CONFIGG", "cb.toml") };
/// let problems = cb_runtime::config::misspelt_config_variables();
/// assert_eq!(problems[0].to_string(), "CB_CONFIGG: not read; did you mean `CB_CONFIG`?");
/// ```
pub fn misspelt_config_variables() -> Vec<FileError> {
    const NAMES: [&str; 2] = ["CB_CONFIG", STRICT_VAR];
    std::env::vars_os()
        .filter_map(|(var, _)| {
            let var = var.to_str()?.to_owned();
            if NAMES.contains(&var.as_str()) || !var.starts_with("CB_") {
                return None;
            }
            let meant = super::value::did_you_mean(&var.to_ascii_uppercase(), &NAMES)?;
            Some(super::env::env_error(
                &var,
                None,
                format!("not read; did you mean `{meant}`?"),
            ))
        })
        .collect()
}

/// A file name for messages.
fn shown(path: Option<&Path>) -> String {
    path.map_or("configuration".to_owned(), |p| p.display().to_string())
}
