//! `circuit_breakers.yaml` (feature `yaml`): the same document as the TOML file, read with
//! saphyr, a pure-Rust YAML 1.2 parser whose tree keeps the position of every node.
//!
//! ```yaml
//! defaults:
//!   open_timeout: 30s
//! breakers:
//!   "webhook/*":
//!     window: { kind: count, size: 100 }
//! ```
//!
//! YAML 1.2 reads `off`, `yes` and `no` as strings (only `true` and `false` are booleans), so
//! `consecutive_failures: off` means what it means in TOML. Duplicate keys are errors.

use super::tree::{Kind, Node, Pos, Table};
use super::value::Value;
use saphyr::{LoadableYamlNode, MarkedYaml, Marker, Scalar, YamlData};

/// Problems with where they are.
pub(crate) type Problems = Vec<(Pos, String)>;

fn pos(marker: &Marker) -> Pos {
    (marker.line(), marker.col() + 1)
}

/// The YAML documents of `text`, or where the syntax is broken.
pub(crate) fn load(text: &str) -> Result<Vec<MarkedYaml<'_>>, Problems> {
    MarkedYaml::load_from_str(text).map_err(|err| {
        let message = super::value::clip(err.info()).into_owned();
        vec![(pos(err.marker()), format!("invalid YAML: {message}"))]
    })
}

/// The one document of a file as a table of sections; an empty file is an empty table.
pub(crate) fn document<'a>(docs: &'a [MarkedYaml<'a>]) -> Result<Table<'a>, Problems> {
    match docs {
        [] => Ok(Vec::new()),
        [doc] if matches!(doc.data, YamlData::Value(Scalar::Null)) => Ok(Vec::new()),
        [doc] => {
            let mut problems = Vec::new();
            let node = node(doc, &mut problems);
            match node.kind {
                Kind::Table(t) if problems.is_empty() => Ok(t),
                Kind::Table(_) => Err(problems),
                Kind::Scalar(_) => Err(vec![(
                    node.at,
                    format!(
                        "the file must be a mapping with `defaults`, `presets` and `breakers`, found {}",
                        node.type_name()
                    ),
                )]),
            }
        }
        [_, second, ..] => Err(vec![(
            pos(&second.span.start),
            "a second YAML document; the file must hold one".to_owned(),
        )]),
    }
}

fn node<'a>(yaml: &'a MarkedYaml<'a>, problems: &mut Problems) -> Node<'a> {
    let at = pos(&yaml.span.start);
    let kind = match &yaml.data {
        YamlData::Mapping(map) => {
            let mut table = Vec::new();
            for (key, value) in map {
                match &key.data {
                    YamlData::Value(Scalar::String(name)) => {
                        table.push((name.as_ref(), pos(&key.span.start), node(value, problems)));
                    }
                    _ => problems.push((pos(&key.span.start), "keys must be strings".to_owned())),
                }
            }
            Kind::Table(table)
        }
        YamlData::Value(scalar) => Kind::Scalar(match scalar {
            Scalar::Integer(i) => Value::Int(i128::from(*i)),
            Scalar::FloatingPoint(f) => Value::Float(f.into_inner()),
            Scalar::String(s) => Value::Str(s),
            Scalar::Boolean(_) => Value::Other("boolean"),
            Scalar::Null => Value::Other("null"),
        }),
        YamlData::Sequence(_) => Kind::Scalar(Value::Other("sequence")),
        YamlData::Tagged(..) => Kind::Scalar(Value::Other("tagged value")),
        YamlData::Alias(_) => Kind::Scalar(Value::Other("alias")),
        _ => Kind::Scalar(Value::Other("invalid value")),
    };
    Node { at, kind }
}
