//! A configuration document whatever its syntax (TOML, or YAML with feature `yaml`): tables
//! of keys and scalar values, each with the line and column it was written at, so the file
//! reader checks keys, types and ranges once for every syntax.

use super::value::Value;
use toml::de::{DeTable, DeValue};

/// Line and column (1-based) in the file.
pub(crate) type Pos = (usize, usize);

/// A value as written, with where.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub(crate) at: Pos,
    pub(crate) kind: Kind<'a>,
}

/// A table or a scalar.
#[derive(Debug)]
pub(crate) enum Kind<'a> {
    Table(Table<'a>),
    Scalar(Value<'a>),
}

/// Keys in the order written, each with where it was written and its value.
pub(crate) type Table<'a> = Vec<(&'a str, Pos, Node<'a>)>;

impl<'a> Node<'a> {
    /// The value as a configuration key reads it: a table is a window (`kind`, `size`).
    pub(crate) fn value(&self) -> Value<'a> {
        match &self.kind {
            Kind::Scalar(v) => v.clone(),
            Kind::Table(t) => {
                let get = |key: &str| t.iter().find(|(k, ..)| *k == key).map(|(.., n)| n);
                Value::Window {
                    kind: get("kind").and_then(|n| n.value().as_str()).map(str::to_owned),
                    size: get("size").map(|n| Box::new(n.value())),
                }
            }
        }
    }

    /// What the node is, for "must be a table, found ...".
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            Kind::Table(_) => "table",
            Kind::Scalar(v) => v.type_name(),
        }
    }
}

/// The document of a parsed TOML file; `pos` turns a byte offset into a line and column.
pub(crate) fn from_toml<'a>(table: &'a DeTable<'a>, pos: &impl Fn(usize) -> Pos) -> Table<'a> {
    table
        .iter()
        .map(|(key, value)| {
            let node = Node {
                at: pos(value.span().start),
                kind: match value.get_ref() {
                    DeValue::Table(t) => Kind::Table(from_toml(t, pos)),
                    other => Kind::Scalar(toml_scalar(other)),
                },
            };
            (key.get_ref().as_ref(), pos(key.span().start), node)
        })
        .collect()
}

fn toml_scalar<'a>(value: &'a DeValue<'a>) -> Value<'a> {
    match value {
        DeValue::Integer(i) => i128::from_str_radix(&i.as_str().replace('_', ""), i.radix())
            .map_or(Value::Other("integer out of range"), Value::Int),
        DeValue::Float(f) => f
            .as_str()
            .replace('_', "")
            .parse()
            .map_or(Value::Other("float"), Value::Float),
        DeValue::String(s) => Value::Str(s),
        other => Value::Other(other.type_str()),
    }
}
