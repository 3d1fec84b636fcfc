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
    /// Whether the text was read from `path` (not given as text under that name), so the
    /// file on disk can be compared with the configuration in force.
    pub(crate) from_disk: bool,
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
    /// The breaker whose resolution breaks a cross-key rule ([`of_breaker`](Self::of_breaker)).
    pub(crate) breaker: Option<String>,
}

impl FileError {
    /// A cross-key rule that breaker `name`'s resolution breaks: "breaker `NAME`: MESSAGE",
    /// remembering whose it is so that `explain` of another breaker can leave it out.
    pub(crate) fn of_breaker(name: &str, key: Option<&str>, message: &str) -> FileError {
        FileError {
            at: None,
            variable: None,
            key: key.map(str::to_owned),
            message: format!("breaker `{}`: {message}", super::value::clip(name)),
            breaker: Some(name.to_owned()),
        }
    }

    /// Whether this is a problem made by [`of_breaker`](Self::of_breaker) for a breaker other
    /// than those of `names`.
    pub(crate) fn of_another_breaker(&self, names: &[&str]) -> bool {
        self.breaker.as_deref().is_some_and(|b| !names.contains(&b))
    }
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

/// How deep file presets may build on each other.
const MAX_PRESET_DEPTH: usize = 32;

/// Where a table's first key is written (for an error about the whole section).
fn self_pos(table: &Table<'_>) -> Pos {
    table.first().map_or((1, 1), |(_, at, _)| *at)
}

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
    /// The names of the file's `[presets.NAME]` sections.
    file_presets: Vec<String>,
    /// Whether the file is YAML (hints spell its syntax).
    yaml: bool,
}

/// The section being read, for messages.
enum Header<'a> {
    Defaults,
    Preset(&'a str),
    Breaker(&'a str),
}

impl fmt::Display for Header<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Header::Defaults => f.write_str("[defaults]"),
            Header::Preset(name) => write!(f, "[presets.{}]", super::value::clip(name)),
            Header::Breaker(name) => write!(f, "[breakers.\"{}\"]", super::value::clip(name)),
        }
    }
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
            breaker: None,
            at,
            variable: None,
            key: key.map(str::to_owned),
            message,
        });
    }

    /// The entries of one section. A preset expands first, under the section's own keys,
    /// wherever it is written in the section; an explicit `max_open_timeout` applies after the
    /// section's `open_timeout`, so a cap below the wait written in one section is an error
    /// whatever the order of the keys (as in the builder and the macro).
    fn section(
        &mut self,
        table: &Table<'_>,
        header: &Header<'_>,
        presets: &BTreeMap<String, Vec<Entry>>,
    ) -> Vec<Entry> {
        let where_ = header.to_string();
        let mut entries = Vec::new();
        let rank = |key: &str| match key {
            "preset" => 0,
            "max_open_timeout" => 2,
            _ => 1,
        };
        let mut ordered: Vec<_> = table.iter().collect();
        ordered.sort_by_key(|(k, ..)| rank(k));
        for (name, key_at, value) in ordered {
            if let Kind::Table(inner) = &value.kind {
                if *name != "window" {
                    let message = self.nested_table(header, name);
                    self.error(*key_at, Some(name), format!("{where_}: {message}"));
                    continue;
                }
                self.window_keys(inner, &where_);
            }
            let raw = value.value();
            match parse_setting(name, &raw) {
                Ok(Some(setting)) => {
                    self.family_limit(&setting, header, *key_at);
                    entries.push(Entry {
                        setting,
                        at: self.at(*key_at),
                        via_preset: None,
                    })
                }
                Ok(None) => {
                    let preset_name = raw.as_str().unwrap_or_default().to_owned();
                    match presets.get(&preset_name) {
                        Some(preset) => {
                            for e in preset {
                                self.family_limit(&e.setting, header, value.at);
                            }
                            entries.extend(preset.iter().map(|e| Entry {
                                via_preset: Some(preset_name.clone()),
                                at: self.at(*key_at),
                                ..e.clone()
                            }))
                        }
                        None if self.file_presets.contains(&preset_name) => {
                            // A preset in a cycle: reported as the cycle.
                        }
                        None => {
                            let known: Vec<String> = Preset::ALL
                                .iter()
                                .map(|p| p.name().to_owned())
                                .chain(self.file_presets.iter().cloned())
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

    /// Why a table written inside a section is not a key: most often a breaker name with a dot
    /// written unquoted (`[breakers.payments.v2]` is breaker `payments`, table `v2`).
    fn nested_table(&self, header: &Header<'_>, key: &str) -> String {
        if self.yaml && key == "<<" {
            return "`<<` (a YAML merge key) is not read: YAML 1.2 has no merge keys; write the keys, or alias the whole section (`name: *anchor`)".to_owned();
        }
        let clipped = super::value::clip(key);
        let what = format!("`{clipped}` holds a table, which no key takes (only `window` is a table)");
        match header {
            Header::Breaker(name) | Header::Preset(name) => {
                let section = if matches!(header, Header::Breaker(_)) {
                    "breakers"
                } else {
                    "presets"
                };
                let dotted = format!("{name}.{key}");
                let dotted = super::value::clip(&dotted);
                if self.yaml {
                    format!("{what}; a name with a dot is one key: `{dotted}:`")
                } else {
                    format!("{what}; a name with a dot is written in quotes: [{section}.\"{dotted}\"]")
                }
            }
            Header::Defaults => format!("{what}; [defaults] holds keys only"),
        }
    }

    /// A preset's own `max_open_timeout` below its own `open_timeout` is an error, as in any
    /// section, even while no breaker uses the preset.
    fn own_cap(&mut self, name: &str, entries: &[Entry]) {
        let own = |key: &str| {
            entries
                .iter()
                .rev()
                .find(|e| e.via_preset.is_none() && e.setting.key() == key)
        };
        if let (Some(open), Some(cap)) = (own("open_timeout"), own("max_open_timeout"))
            && let (Setting::OpenTimeout(wait), Setting::MaxOpenTimeout(max)) = (open.setting, cap.setting)
            && max < wait
        {
            self.errors.push(FileError {
                breaker: None,
                at: Some(cap.at.clone()),
                variable: None,
                key: Some("max_open_timeout".to_owned()),
                message: format!(
                    "{}: invalid `max_open_timeout` = \"{}\" < \"{}\": must be at least open_timeout",
                    Header::Preset(name),
                    super::duration_text(max),
                    super::duration_text(wait)
                ),
            });
        }
    }

    /// `entries` over `below` against the rules between keys; an error (at the entry that
    /// broke it, `entries` first) is pushed, and then this returns true.
    fn cross_key_rules(&mut self, below: &[Entry], entries: &[Entry], what: String) -> bool {
        let settings: Vec<Setting> = below.iter().chain(entries).map(|e| e.setting).collect();
        let Err(err) = super::BreakerConfig::from_settings(&settings) else {
            return false;
        };
        let at = entries
            .iter()
            .rev()
            .chain(below.iter().rev())
            .find(|e| e.setting.key() == err.key())
            .map(|e| e.at.clone());
        self.errors.push(FileError {
            breaker: None,
            at,
            variable: None,
            key: Some(err.key().to_owned()),
            message: format!("{what}: {err}"),
        });
        true
    }

    /// Every key of a `window` table is `kind` or `size`.
    fn window_keys(&mut self, window: &Table<'_>, where_: &str) {
        for (key, at, _) in window {
            if !matches!(*key, "kind" | "size") {
                let hint = super::value::did_you_mean(key, &["kind", "size"]).map_or_else(
                    || "expected `kind` and `size`".to_owned(),
                    |k| format!("did you mean `{k}`?"),
                );
                let message = format!(
                    "{where_}: unknown key `{}` in `window`; {hint}",
                    super::value::clip(key)
                );
                self.error(*at, Some(key), message);
            }
        }
    }

    /// `max_keys` and `idle_ttl` are a keyed family's (one cap and one idle time per family):
    /// written in a section that names one breaker or some keys of a family, they could not
    /// apply as written, so they are an error that names the section they belong in.
    fn family_limit(&mut self, setting: &Setting, header: &Header<'_>, at: Pos) {
        let Header::Breaker(pattern) = header else { return };
        if !matches!(setting, Setting::MaxKeys(_) | Setting::IdleTtl(_)) || crate::family::family_wide(pattern) {
            return;
        }
        let family = pattern.split_once('/').map_or(*pattern, |(family, _)| family);
        let family = super::value::clip(family);
        let message = format!(
            "{header}: `{}` is a limit of a keyed family (one cap and one idle time per family), and this section does not name a whole family: write it in [breakers.\"{family}/*\"] (or in [defaults])",
            setting.key()
        );
        self.error(at, Some(setting.key()), message);
    }

    /// The file's presets, each expanded (a preset may name a built-in one or another of the
    /// file's, in any order). A name of a built-in preset and a cycle are errors.
    fn presets(&mut self, table: Option<&Table<'_>>) -> BTreeMap<String, Vec<Entry>> {
        let mut tables = BTreeMap::new();
        for (name, name_at, value) in table.into_iter().flatten() {
            let header = Header::Preset(name);
            if name.parse::<Preset>().is_ok() {
                let message = format!(
                    "{header}: `{name}` is a built-in preset (default, aggressive, lenient), which a file cannot redefine; give yours another name"
                );
                self.error(*name_at, Some(name), message);
                continue;
            }
            if let Some(t) = self.table(value, &header.to_string()) {
                tables.insert(*name, t);
            }
        }
        self.file_presets = tables.keys().map(|n| (*n).to_owned()).collect();
        let mut done = BTreeMap::new();
        for name in tables.keys() {
            self.expand_preset(name, &tables, &mut done, &mut Vec::new());
        }
        done
    }

    /// Expands preset `name` after the file presets it names; `stack` is the chain being
    /// expanded, to report a cycle once.
    fn expand_preset<'a>(
        &mut self,
        name: &'a str,
        tables: &BTreeMap<&'a str, &Table<'a>>,
        done: &mut BTreeMap<String, Vec<Entry>>,
        stack: &mut Vec<&'a str>,
    ) {
        if done.contains_key(name) {
            return;
        }
        let table = tables[name];
        if stack.len() >= MAX_PRESET_DEPTH {
            let message = format!(
                "{}: presets build on each other more than {MAX_PRESET_DEPTH} deep ({} -> ...)",
                Header::Preset(name),
                stack[..3].join(" -> ")
            );
            self.error(self_pos(table), Some("preset"), message);
            done.insert(name.to_owned(), Vec::new());
            return;
        }
        stack.push(name);
        for (_, _, value) in table.iter().filter(|(k, ..)| *k == "preset") {
            let Some(other) = value.value().as_str() else { continue };
            let Some((other, _)) = tables.get_key_value(other) else {
                continue;
            };
            if let Some(first) = stack.iter().position(|n| n == other) {
                let mut chain: Vec<&str> = stack[first..].to_vec();
                chain.push(other);
                let message = format!(
                    "{}: presets name each other in a cycle: {}",
                    Header::Preset(name),
                    chain.join(" -> ")
                );
                self.error(value.at, Some("preset"), message);
                continue;
            }
            self.expand_preset(other, tables, done, stack);
        }
        stack.pop();
        let entries = self.section(table, &Header::Preset(name), done);
        self.own_cap(name, &entries);
        done.insert(name.to_owned(), entries);
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

/// Whether `path` names a YAML file (`.yaml` or `.yml`, in any case: `X.YAML` too).
pub(crate) fn is_yaml(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
}

/// Parses the text of a configuration file; `path` is used in error locations, and its
/// extension picks the syntax: `.yaml` and `.yml` are YAML (feature `yaml`), anything else TOML.
pub fn parse(text: &str, path: &Path) -> Result<FileConfig, LoadError> {
    let file: Arc<Path> = Arc::from(path);
    let mut r = Reader {
        file: file.clone(),
        errors: Vec::new(),
        file_presets: Vec::new(),
        yaml: is_yaml(path),
    };
    if is_yaml(path) {
        return parse_yaml(text, r);
    }
    let lines = Lines::new(text);
    let pos = |offset: usize| lines.line_column(text, offset);
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let span = err.span().unwrap_or(0..0);
            let offset = span.start;
            let message = super::value::clip(err.message().trim()).into_owned();
            let message = duplicate_named(text, span, message);
            let hint = quote_hint(text, offset).unwrap_or_default();
            r.error(pos(offset), None, format!("invalid TOML: {message}{hint}"));
            return Err(LoadError { errors: r.errors });
        }
    };
    let root = root.into_inner();
    let root = tree::from_toml(&root, &pos);
    read_document(r, &root, text)
}

/// TOML's "duplicate key" with the key it is about (the text the error's span covers) and the
/// line of its first definition when that is a line starting with the same key; any other
/// message as it is.
fn duplicate_named(text: &str, span: std::ops::Range<usize>, message: String) -> String {
    if !message.starts_with("duplicate key") {
        return message;
    }
    let Some(key) = text
        .get(span.clone())
        .map(str::trim)
        .filter(|k| !k.is_empty() && !k.contains('\n'))
    else {
        return message;
    };
    let before = text.get(..span.start).unwrap_or_default();
    let first = before.lines().enumerate().find_map(|(n, line)| {
        let rest = line.trim_start().strip_prefix(key)?;
        rest.trim_start().starts_with(['=', ']', '.']).then_some(n + 1)
    });
    let key = super::value::clip(key);
    match first {
        Some(line) => format!("duplicate key `{key}` (first defined at line {line})"),
        None => format!("duplicate key `{key}`"),
    }
}

/// For a TOML error in a section header with an unquoted name (`[breakers.webhook/billing]`):
/// how the name is written.
fn quote_hint(text: &str, offset: usize) -> Option<String> {
    let start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
    let line = text[start..].lines().next()?.trim();
    let (inner, _) = line.strip_prefix('[')?.split_once(']')?;
    let (section, name) = inner.trim().split_once('.')?;
    let (section, name) = (section.trim(), name.trim());
    let bare = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ' ');
    let quoted = name.contains(['"', '\'']);
    if !matches!(section, "breakers" | "presets") || name.chars().all(bare) || quoted {
        return None;
    }
    let name = super::value::clip(name);
    Some(format!(
        "; a name with characters other than letters, digits, `-` and `_` (a keyed `name/key`, a glob) is written in quotes: [{section}.\"{name}\"]"
    ))
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
            breaker: None,
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
    let presets = r.presets(presets_table);
    let defaults = match defaults_table {
        Some(t) => r.section(t, &Header::Defaults, &presets),
        None => Vec::new(),
    };
    let mut breakers = Vec::new();
    for (name, name_at, value) in breakers_table.into_iter().flatten() {
        let pattern = (*name).to_owned();
        let header = r.at(*name_at);
        let where_ = Header::Breaker(name).to_string();
        if name.trim().is_empty() {
            r.error(
                *name_at,
                None,
                format!("{where_}: a breaker name must not be empty: write the breaker's name, or a glob such as \"webhook/*\""),
            );
            continue;
        }
        if let Some(t) = r.table(value, &where_) {
            let entries = r.section(t, &Header::Breaker(name), &presets);
            breakers.push((pattern, entries, header));
        }
    }
    // `[defaults]` alone, then each section over it, against the cross-key rules; an error in
    // `[defaults]` is not repeated for every section over it.
    if !r.cross_key_rules(&defaults, &[], "[defaults]".to_owned()) {
        let over = if defaults.is_empty() { "" } else { " over [defaults]" };
        for (pattern, entries, _) in &breakers {
            r.cross_key_rules(&defaults, entries, format!("{}{over}", Header::Breaker(pattern)));
        }
    }
    r.errors.sort_by_key(|e| e.at.as_ref().map(|at| (at.line, at.column)));
    if r.errors.is_empty() {
        Ok(FileConfig {
            path: Some(file),
            digest: digest(text),
            from_disk: false,
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
    let mut config = parse(&read_text(path)?, path)?;
    config.from_disk = true;
    Ok(config)
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
            breaker: None,
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
    fn a_breakers_rule_problem_is_told_from_anothers_whatever_the_name() {
        for name in ["p1", "a`: b", "webhook/billing", &"long".repeat(100)] {
            let problem = FileError::of_breaker(name, None, "invalid `max_open_timeout`");
            assert!(!problem.of_another_breaker(&[name]), "{name}");
            assert!(problem.of_another_breaker(&["p2"]), "{name}");
        }
        assert!(FileError::of_breaker("p10", None, "x").of_another_breaker(&["p1"]));
        assert!(FileError::of_breaker("a", None, "x").of_another_breaker(&["a`: b"]));
    }

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
