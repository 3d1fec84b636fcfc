//! `circuit_breakers.toml` (or `circuit_breakers.yaml` with feature `yaml`): `defaults`,
//! `presets.NAME` and `breakers.NAME` (NAME may be a glob), read with positions so every error
//! names the file, line and column, the key, and what is allowed. All errors of a file are
//! collected; a file with any error is not applied.

use super::tree::{self, Kind, Node, Pos, Table};
use super::value::parse_setting;
use super::{Preset, Setting};
use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;
use toml::de::DeTable;

/// Where a setting was written.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Location {
    /// The file.
    pub file: Arc<Path>,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}", self.file.display(), self.line, self.column)
    }
}

/// One setting of a file section, with where it was written.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Entry {
    pub(crate) setting: Setting,
    pub(crate) at: Location,
    /// The file preset this entry came through, if any.
    pub(crate) via_preset: Option<String>,
}

/// A parsed, valid configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FileConfig {
    pub(crate) path: Option<Arc<Path>>,
    /// A hash of the text this configuration was parsed from, to tell whether the file on
    /// disk is still the one in force.
    pub(crate) digest: u64,
    pub(crate) defaults: Vec<Entry>,
    /// `[breakers.NAME]` sections in file order: (pattern, entries, where the header is).
    pub(crate) breakers: Vec<(String, Vec<Entry>, Location)>,
}

/// A problem in a configuration file or variable.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileError {
    /// Where (file, line, column), if the problem is in a file.
    pub at: Option<Location>,
    /// The environment variable, if the problem is in one.
    pub variable: Option<String>,
    /// The key concerned, if any.
    pub key: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.at, &self.variable) {
            (Some(at), _) => write!(f, "{at}: {}", self.message),
            (None, Some(var)) => write!(f, "{var}: {}", self.message),
            (None, None) => f.write_str(&self.message),
        }
    }
}

/// Every problem found in one load.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadError {
    /// The problems, in file order.
    pub errors: Vec<FileError>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        f.write_str(&lines.join("\n"))
    }
}

impl std::error::Error for LoadError {}

const SECTIONS: [&str; 3] = ["defaults", "presets", "breakers"];

/// Where each line of a text starts, so a byte offset becomes a line and column in
/// O(log lines): loading stays linear in the size of the file however many keys it has.
struct Lines {
    starts: Vec<usize>,
    /// Whether each line is ASCII (its column is then its byte offset).
    ascii: Vec<bool>,
}

impl Lines {
    fn new(text: &str) -> Lines {
        let mut starts = vec![0];
        let mut ascii = Vec::new();
        let mut line_ascii = true;
        for (i, b) in text.bytes().enumerate() {
            line_ascii &= b.is_ascii();
            if b == b'\n' {
                starts.push(i + 1);
                ascii.push(line_ascii);
                line_ascii = true;
            }
        }
        ascii.push(line_ascii);
        Lines { starts, ascii }
    }

    /// Line and column (1-based) of a byte offset.
    fn line_column(&self, text: &str, offset: usize) -> (usize, usize) {
        let offset = offset.min(text.len());
        let line = self.starts.partition_point(|&start| start <= offset) - 1;
        let start = self.starts[line];
        let column = if self.ascii[line] {
            offset - start
        } else {
            text.get(start..offset).map_or(offset - start, |s| s.chars().count())
        };
        (line + 1, column + 1)
    }
}

struct Reader {
    file: Arc<Path>,
    errors: Vec<FileError>,
}

impl Reader {
    fn at(&self, (line, column): Pos) -> Location {
        Location {
            file: self.file.clone(),
            line,
            column,
        }
    }

    fn error(&mut self, at: Pos, key: Option<&str>, message: String) {
        let at = Some(self.at(at));
        self.errors.push(FileError {
            at,
            variable: None,
            key: key.map(str::to_owned),
            message,
        });
    }

    /// The entries of one section. A preset expands first, under the section's own keys,
    /// wherever it is written in the section.
    fn section(&mut self, table: &Table<'_>, where_: &str, presets: &BTreeMap<String, Vec<Entry>>) -> Vec<Entry> {
        let mut entries = Vec::new();
        let preset_first = table.iter().filter(|(k, ..)| *k == "preset");
        let others = table.iter().filter(|(k, ..)| *k != "preset");
        for (name, key_at, value) in preset_first.chain(others) {
            let raw = value.value();
            match parse_setting(name, &raw) {
                Ok(Some(setting)) => entries.push(Entry {
                    setting,
                    at: self.at(*key_at),
                    via_preset: None,
                }),
                Ok(None) => {
                    let preset_name = raw.as_str().unwrap_or_default().to_owned();
                    match presets.get(&preset_name) {
                        Some(preset) => entries.extend(preset.iter().map(|e| Entry {
                            via_preset: Some(preset_name.clone()),
                            at: self.at(*key_at),
                            ..e.clone()
                        })),
                        None => {
                            let known: Vec<String> = Preset::ALL
                                .iter()
                                .map(|p| p.name().to_owned())
                                .chain(presets.keys().cloned())
                                .collect();
                            let msg = format!(
                                "{where_}: unknown preset `{}`; expected one of {}",
                                super::value::clip(&preset_name),
                                known.join(", ")
                            );
                            self.error(value.at, Some("preset"), msg);
                        }
                    }
                }
                Err(problem) => {
                    let at = if problem.at_key { *key_at } else { value.at };
                    self.error(at, Some(name), format!("{where_}: {}", problem.message));
                }
            }
        }
        entries
    }

    fn table<'n, 'a>(&mut self, value: &'n Node<'a>, what: &str) -> Option<&'n Table<'a>> {
        match &value.kind {
            Kind::Table(t) => Some(t),
            Kind::Scalar(_) => {
                let msg = format!("{what} must be a table, found {}", value.type_name());
                self.error(value.at, None, msg);
                None
            }
        }
    }
}

/// Whether `path` names a YAML file (`.yaml` or `.yml`).
pub(crate) fn is_yaml(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"))
}

/// Parses the text of a configuration file; `path` is used in error locations, and its
/// extension picks the syntax: `.yaml` and `.yml` are YAML (feature `yaml`), anything else TOML.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, LoadError> {
    let file: Arc<Path> = Arc::from(path);
    let mut r = Reader {
        file: file.clone(),
        errors: Vec::new(),
    };
    if is_yaml(path) {
        return parse_yaml(text, r);
    }
    let lines = Lines::new(text);
    let pos = |offset: usize| lines.line_column(text, offset);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let at = pos(err.span().unwrap_or(0..0).start);
            let message = super::value::clip(err.message().trim()).into_owned();
            r.error(at, None, format!("invalid TOML: {message}"));
            return Err(LoadError { errors: r.errors });
        }
    };
    let root = root.into_inner();
    let root = tree::from_toml(&root, &pos);
    read_document(r, &root, text)
}

#[cfg(feature = "yaml")]
fn parse_yaml(text: &str, mut r: Reader) -> Result<FileConfig, LoadError> {
    let docs = super::yaml::load(text);
    match docs
        .as_ref()
        .map_err(Clone::clone)
        .and_then(|docs| super::yaml::document(docs))
    {
        Ok(root) => read_document(r, &root, text),
        Err(problems) => {
            for (at, message) in problems {
                r.error(at, None, message);
            }
            Err(LoadError { errors: r.errors })
        }
    }
}

#[cfg(not(feature = "yaml"))]
fn parse_yaml(_: &str, r: Reader) -> Result<FileConfig, LoadError> {
    Err(LoadError {
        errors: vec![FileError {
            at: None,
            variable: None,
            key: None,
            message: format!(
                "{}: a YAML configuration needs cb-runtime's feature `yaml` (cb-runtime = {{ version = \"0.1\", features = [\"yaml\"] }}); this program was built without it",
                r.file.display()
            ),
        }],
    })
}

/// Checks a document's sections and keys: what [`parse`] does once the syntax is read.
fn read_document(mut r: Reader, root: &Table<'_>, text: &str) -> Result<FileConfig, LoadError> {
    let file = r.file.clone();
    let mut defaults_table = None;
    let mut presets_table = None;
    let mut breakers_table = None;
    for (key, key_at, value) in root {
        match *key {
            "defaults" => defaults_table = r.table(value, "[defaults]"),
            "presets" => presets_table = r.table(value, "[presets]"),
            "breakers" => breakers_table = r.table(value, "[breakers]"),
            other => {
                let hint = super::value::did_you_mean(other, &SECTIONS).map_or_else(
                    || "expected [defaults], [presets.NAME] or [breakers.NAME]".to_owned(),
                    |s| format!("did you mean `{s}`?"),
                );
                let shown = super::value::clip(other);
                r.error(*key_at, Some(other), format!("unknown section `{shown}`; {hint}"));
            }
        }
    }
    let mut presets = BTreeMap::new();
    for (name, _, value) in presets_table.into_iter().flatten() {
        let name = (*name).to_owned();
        let where_ = format!("[presets.{}]", super::value::clip(&name));
        if let Some(t) = r.table(value, &where_) {
            let entries = r.section(t, &where_, &BTreeMap::new());
            presets.insert(name, entries);
        }
    }
    let defaults = match defaults_table {
        Some(t) => r.section(t, "[defaults]", &presets),
        None => Vec::new(),
    };
    let mut breakers = Vec::new();
    for (name, name_at, value) in breakers_table.into_iter().flatten() {
        let pattern = (*name).to_owned();
        let header = r.at(*name_at);
        let where_ = format!("[breakers.\"{}\"]", super::value::clip(&pattern));
        if let Some(t) = r.table(value, &where_) {
            let entries = r.section(t, &where_, &presets);
            breakers.push((pattern, entries, header));
        }
    }
    for (pattern, entries, _) in &breakers {
        let level = std::iter::once(&defaults).chain(std::iter::once(entries));
        let settings: Vec<Setting> = level.flatten().map(|e| e.setting).collect();
        if let Err(err) = super::BreakerConfig::from_settings(&settings) {
            let at = entries
                .iter()
                .chain(&defaults)
                .find(|e| e.setting.key() == err.key())
                .map(|e| e.at.clone());
            r.errors.push(FileError {
                at,
                variable: None,
                key: Some(err.key().to_owned()),
                message: format!("[breakers.\"{}\"] over [defaults]: {err}", super::value::clip(pattern)),
            });
        }
    }
    r.errors.sort_by_key(|e| e.at.as_ref().map(|at| (at.line, at.column)));
    if r.errors.is_empty() {
        Ok(FileConfig {
            path: Some(file),
            digest: digest(text),
            defaults,
            breakers,
        })
    } else {
        Err(LoadError { errors: r.errors })
    }
}

impl FileConfig {
    /// The file this configuration was read from.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The `[breakers.NAME]` patterns, in file order.
    pub fn patterns(&self) -> impl Iterator<Item = &str> {
        self.breakers.iter().map(|(p, ..)| p.as_str())
    }
}

/// A hash of a configuration text.
pub(crate) fn digest(text: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut hasher);
    hasher.finish()
}

/// Reads and parses a configuration file.
pub(crate) fn read(path: &Path) -> Result<FileConfig, LoadError> {
    parse(&read_text(path)?, path)
}

/// The largest configuration file read: past it (a wrong path such as `/dev/zero`, a log
/// file) the file is refused rather than read into memory, at every reload.
pub(crate) const MAX_FILE_BYTES: u64 = 16 << 20;

/// The bytes of `path`, or `None` when it has more than `limit`.
fn read_at_most(path: &Path, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit + 1).read_to_end(&mut bytes)?;
    Ok((bytes.len() as u64 <= limit).then_some(bytes))
}

/// The text of a configuration file; a missing, unreadable, non-UTF-8 file or a directory is
/// an error naming the file.
pub(crate) fn read_text(path: &Path) -> Result<String, LoadError> {
    let fail = |why: String| LoadError {
        errors: vec![FileError {
            at: None,
            variable: None,
            key: None,
            message: format!("cannot read {}: {why}", path.display()),
        }],
    };
    if path.is_dir() {
        return Err(fail("it is a directory".to_owned()));
    }
    match read_at_most(path, MAX_FILE_BYTES) {
        Ok(None) => Err(fail(format!(
            "larger than {} MiB, which no breaker configuration needs",
            MAX_FILE_BYTES >> 20
        ))),
        Ok(Some(bytes)) => String::from_utf8(bytes).map_err(|e| {
            fail(format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ))
        }),
        Err(err) => Err(fail(err.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_endless_or_huge_file_is_refused_not_read_into_memory() {
        let err = read_text(Path::new("/dev/zero")).unwrap_err().to_string();
        assert!(err.contains("larger than 16 MiB"), "{err}");
        let path = std::env::temp_dir().join(format!("cb-huge-{}.toml", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = read_text(&path).unwrap_err().to_string();
        std::fs::remove_file(&path).unwrap();
        assert!(err.contains("larger than 16 MiB"), "{err}");
    }

    fn line_column(text: &str, offset: usize) -> (usize, usize) {
        Lines::new(text).line_column(text, offset)
    }

    #[test]
    fn lines_and_columns_are_one_based() {
        assert_eq!(line_column("a\nbc = 1", 2), (2, 1));
        assert_eq!(line_column("a\nbc = 1", 5), (2, 4));
        assert_eq!(line_column("x", 0), (1, 1));
        assert_eq!(line_column("a\n", 2), (2, 1));
        assert_eq!(line_column("é = 1\nx", 2), (1, 2), "columns count characters");
        assert_eq!(line_column("é = 1\nx", 7), (2, 1));
    }

    #[cfg(not(feature = "yaml"))]
    #[test]
    fn a_yaml_file_without_the_feature_is_an_error_naming_it() {
        let err = parse("breakers: {}\n", Path::new("conf/circuit_breakers.yaml")).unwrap_err();
        assert_eq!(err.errors.len(), 1);
        let message = err.to_string();
        assert!(
            message.starts_with("conf/circuit_breakers.yaml: a YAML configuration needs cb-runtime's feature `yaml`"),
            "{message}"
        );
    }
}
