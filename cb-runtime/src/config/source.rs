//! Where a registry's configuration comes from: an optional file and the environment.

use super::file::{self, FileConfig, FileError, LoadError};
use super::resolve::{Base, Explanation, resolve};
use crate::glob_match;
use std::path::{Path, PathBuf};

/// The files discovery looks for in the working directory, in order.
const DISCOVERED: [&str; 2] = ["circuit_breakers.toml", "circuit_breakers.yaml"];

/// The configuration a registry resolves breakers with: a parsed `circuit_breakers.toml` (or
/// none) and whether `CB_BREAKER__<NAME>__<KEY>` variables apply.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ConfigSource {
    pub(crate) file: Option<FileConfig>,
    pub(crate) env: bool,
}

impl ConfigSource {
    /// Built-in defaults only: no file, no environment.
    pub fn builtin() -> Self {
        Self::default()
    }

    /// `path`, plus the environment.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, LoadError> {
        Ok(Self {
            file: Some(file::read(path.as_ref())?),
            env: true,
        })
    }

    /// Configuration text (as if read from `path`), plus the environment.
    pub fn from_text(text: &str, path: impl AsRef<Path>) -> Result<Self, LoadError> {
        Ok(Self {
            file: Some(file::parse(text, path.as_ref())?),
            env: true,
        })
    }

    /// The text just read from the file at `path` (a watcher's read), plus the environment.
    pub(crate) fn read_from(text: &str, path: &Path) -> Result<Self, LoadError> {
        let mut file = file::parse(text, path)?;
        file.from_disk = true;
        Ok(Self {
            file: Some(file),
            env: true,
        })
    }

    /// Whether environment variables apply.
    pub(crate) fn env(&self) -> bool {
        self.env
    }

    /// Whether environment variables apply (on for files and discovery).
    pub fn with_env(mut self, env: bool) -> Self {
        self.env = env;
        self
    }

    /// The file to use: `CB_CONFIG` if set, else `./circuit_breakers.toml`, else
    /// `./circuit_breakers.yaml` (read with feature `yaml`; without it, finding one is an error
    /// saying so), whichever exists.
    pub fn discover_path() -> Option<PathBuf> {
        match std::env::var_os("CB_CONFIG") {
            Some(path) => Some(PathBuf::from(path)),
            None => DISCOVERED.iter().map(PathBuf::from).find(|p| p.exists()),
        }
    }

    /// What the global registry starts with: the discovered file (if any) and the
    /// environment. An unreadable or invalid file is an error, and so are both
    /// `circuit_breakers.toml` and `circuit_breakers.yaml` without `CB_CONFIG` to choose.
    pub fn discover() -> Result<Self, LoadError> {
        let found: Vec<&str> = DISCOVERED.iter().copied().filter(|p| Path::new(p).exists()).collect();
        if std::env::var_os("CB_CONFIG").is_none() && found.len() > 1 {
            return Err(LoadError {
                errors: vec![FileError {
                    breaker: None,
                    at: None,
                    variable: None,
                    key: None,
                    message: format!(
                        "both {} are here and cb reads one: remove one, or name it in CB_CONFIG",
                        found.join(" and ")
                    ),
                }],
            });
        }
        match Self::discover_path() {
            Some(path) => Self::from_file(path),
            None => Ok(Self { file: None, env: true }),
        }
    }

    /// The parsed file, if any.
    pub fn file(&self) -> Option<&FileConfig> {
        self.file.as_ref()
    }

    /// Resolves breaker `name` over `base`. A combination that breaks a cross-key rule (each
    /// value is checked on its own when read) is reported in `problems`, and the file's breaker
    /// sections and the environment are left out until it is valid.
    pub(crate) fn resolve(&self, name: &str, base: &Base) -> Explanation {
        let full = resolve(name, base, self.file.as_ref(), self.env);
        if full.config.validate().is_ok() {
            return full;
        }
        let error = full.config.validate().err().map(|e| e.to_string()).unwrap_or_default();
        let mut fallback = resolve(name, base, self.file.as_ref().map(without_breakers).as_ref(), false);
        fallback.problems = full.problems;
        fallback.problems.push(FileError::of_breaker(
            name,
            None,
            &format!("{error}; its [breakers] sections and environment overrides are not applied"),
        ));
        fallback
    }

    /// `[breakers.PATTERN]` globs that match none of `names`.
    pub fn unmatched_patterns<'a>(&'a self, names: &'a [&str]) -> impl Iterator<Item = &'a str> + 'a {
        self.file
            .iter()
            .flat_map(FileConfig::patterns)
            .filter(move |pattern| !names.iter().any(|n| glob_match(pattern, n)))
    }
}

fn without_breakers(file: &FileConfig) -> FileConfig {
    FileConfig {
        breakers: Vec::new(),
        ..file.clone()
    }
}
