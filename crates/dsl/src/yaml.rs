//! YAML text to a tree of [`Node`]s that remember where they stood.
//!
//! We read YAML with serde-saphyr into a small tree of our own instead of deserialising straight
//! into the model: a compiler-like checker must report every problem of a file at once, with
//! its line and column, and name unknown keys with a suggestion. Serde stops at the first
//! mismatch; the tree lets the reader in [`crate::read`] go on.
//!
//! The parser runs under a budget (size, depth, nodes, alias expansion), so a hostile file, such
//! as a "billion laughs" alias bomb, is refused quickly with a clear message instead of eating
//! the machine.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

use crate::diag::{Code, Diagnostic, Msg};
use crate::source::{FileId, Span};

/// The largest service file we read. The largest real services are around 100 KiB.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// The deepest nesting of maps and lists we accept.
pub const MAX_DEPTH: usize = 64;
/// The most alias references (`*name`) a file may use.
pub const MAX_ALIASES: usize = 1_000;
/// The most events that anchors may copy for later alias expansion. Real services reuse a
/// few small anchors; an alias bomb needs millions.
pub const MAX_ANCHOR_EVENTS: usize = 20_000;
/// The most nodes a file may expand to, aliases included.
pub const MAX_NODES: usize = 250_000;

/// One YAML value with its place in the source.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Entries in source order; keys are scalar nodes.
    Map(Vec<(Node, Node)>),
}

impl Node {
    pub fn new(kind: NodeKind, span: Span) -> Self {
        Self { kind, span }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The scalar as text, the way the clerk wrote it: numbers and booleans included, so an
    /// unquoted key such as `1:` or a value such as `en` can be used where text is expected.
    pub fn scalar_text(&self) -> Option<String> {
        match &self.kind {
            NodeKind::Str(s) => Some(s.clone()),
            NodeKind::Int(i) => Some(i.to_string()),
            NodeKind::Float(f) => Some(format!("{f:?}")),
            NodeKind::Bool(b) => Some(b.to_string()),
            NodeKind::Null | NodeKind::Seq(_) | NodeKind::Map(_) => None,
        }
    }

    pub fn as_map(&self) -> Option<&[(Node, Node)]> {
        match &self.kind {
            NodeKind::Map(entries) => Some(entries),
            _ => None,
        }
    }

    pub fn as_seq(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    /// The value under `key`, if this node is a map that has it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.as_map()?
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v)
    }

    /// The kind of value in plain words, for "expected …, found …" messages.
    pub fn describe(&self) -> Msg {
        match &self.kind {
            NodeKind::Null => Msg::new("nichts (leerer Wert)", "nothing (an empty value)"),
            NodeKind::Bool(_) => Msg::new("ein Wahrheitswert", "a boolean"),
            NodeKind::Int(_) => Msg::new("eine ganze Zahl", "an integer"),
            NodeKind::Float(_) => Msg::new("eine Kommazahl", "a decimal number"),
            NodeKind::Str(_) => Msg::new("ein Text", "a text"),
            NodeKind::Seq(_) => Msg::new("eine Liste", "a list"),
            NodeKind::Map(_) => Msg::new("eine Zuordnung (Schlüssel: Wert)", "a map (key: value)"),
        }
    }

    /// The node as plain JSON, for answers in tests. Map keys become strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value;
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::from(*i),
            NodeKind::Float(f) => serde_json::Number::from_f64(*f).map_or(Value::Null, Value::Number),
            NodeKind::Str(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.scalar_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }
}

/// Parses one YAML document into a [`Node`] tree, or says why it cannot.
pub fn parse(text: &str, file: FileId) -> Result<Node, Diagnostic> {
    if text.len() > MAX_FILE_BYTES {
        return Err(Diagnostic::error(
            Code::InputLimit,
            Span::file_start(file),
            Msg::new(
                format!(
                    "Die Datei ist mit {} KiB zu groß; erlaubt sind höchstens {} KiB.",
                    text.len() / 1024,
                    MAX_FILE_BYTES / 1024
                ),
                format!(
                    "the file is too large ({} KiB); at most {} KiB are allowed",
                    text.len() / 1024,
                    MAX_FILE_BYTES / 1024
                ),
            ),
        )
        .with_help(Msg::new(
            "Teilen Sie den Dienst auf oder lagern Sie Feldgruppen aus.",
            "split the service, or move field groups into shared groups",
        )));
    }
    if text.trim().is_empty() {
        return Err(Diagnostic::error(
            Code::UnknownDocument,
            Span::file_start(file),
            Msg::new("Die Datei ist leer.", "the file is empty"),
        ));
    }
    let options = serde_saphyr::options! {
        budget: serde_saphyr::budget! {
            max_depth: MAX_DEPTH,
            max_aliases: MAX_ALIASES,
            max_nodes: MAX_NODES,
            max_events: MAX_NODES * 2,
            max_recorded_anchor_events: MAX_ANCHOR_EVENTS,
            max_total_scalar_bytes: MAX_FILE_BYTES * 2,
            max_documents: 1,
        },
    };
    match serde_saphyr::from_str_with_options::<Spanned<Raw>>(text, options) {
        Ok(raw) => Ok(convert(raw, file)),
        Err(error) => Err(yaml_error(&error, file)),
    }
}

fn yaml_error(error: &serde_saphyr::Error, file: FileId) -> Diagnostic {
    let span = error
        .location()
        .map(|loc| span_of(&loc, file))
        .filter(|s| s.line > 0)
        .unwrap_or(Span::file_start(file));
    let detail = error
        .without_snippet()
        .render_with_options(serde_saphyr::render_options! {
            snippets: serde_saphyr::SnippetMode::Off,
        });
    let detail = detail.lines().next().unwrap_or_default().to_string();
    let mut original = error;
    while let serde_saphyr::Error::AliasError { error, .. } | serde_saphyr::Error::WithSnippet { error, .. } = original {
        original = error;
    }
    if matches!(original, serde_saphyr::Error::Budget { .. }) {
        return Diagnostic::error(
            Code::InputLimit,
            span,
            Msg::new(
                format!("Die Datei ist zu tief verschachtelt oder verweist zu oft auf Anker (*name), um sie sicher zu lesen ({detail})."),
                format!("the file is nested too deeply or expands too many aliases (*name) to be read safely ({detail})"),
            ),
        )
        .with_help(Msg::new(
            format!(
                "Erlaubt sind höchstens {MAX_DEPTH} Ebenen, {MAX_ALIASES} Verweise (*name) und {MAX_NODES} Knoten."
            ),
            format!(
                "at most {MAX_DEPTH} levels of nesting, {MAX_ALIASES} aliases (*name) and {MAX_NODES} nodes are allowed"
            ),
        ));
    }
    Diagnostic::error(
        Code::YamlSyntax,
        span,
        Msg::new(format!("Die Datei ist kein gültiges YAML: {detail}"), format!("invalid YAML: {detail}")),
    )
    .with_help(Msg::new(
        "Prüfen Sie Einrückung, Doppelpunkte und Anführungszeichen in dieser Zeile und der davor.",
        "check indentation, colons and quotes on this line and the one before",
    ))
}

fn span_of(loc: &serde_saphyr::Location, file: FileId) -> Span {
    let line = u32::try_from(loc.line()).unwrap_or(u32::MAX);
    let col = u32::try_from(loc.column()).unwrap_or(u32::MAX);
    let len = u32::try_from(loc.span().len()).unwrap_or(1);
    Span::new(file, line, col, len)
}

fn convert(raw: Spanned<Raw>, file: FileId) -> Node {
    let span = span_of(&raw.referenced, file);
    let kind = match raw.value {
        Raw::Null => NodeKind::Null,
        Raw::Bool(b) => NodeKind::Bool(b),
        Raw::Int(i) => NodeKind::Int(i),
        Raw::Float(f) => NodeKind::Float(f),
        Raw::Str(s) => NodeKind::Str(s),
        Raw::Seq(items) => NodeKind::Seq(items.into_iter().map(|i| convert(i, file)).collect()),
        Raw::Map(entries) => NodeKind::Map(
            entries
                .into_iter()
                .map(|(k, v)| (convert(k, file), convert(v, file)))
                .collect(),
        ),
    };
    // A container's span would cover all its lines; the caret belongs on its first character.
    let span = match kind {
        NodeKind::Seq(_) | NodeKind::Map(_) => Span { len: 1, ..span },
        _ => span,
    };
    Node { kind, span }
}

/// The tree as serde-saphyr hands it to us, before file ids are attached.
enum Raw {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Spanned<Raw>>),
    Map(Vec<(Spanned<Raw>, Spanned<Raw>)>),
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Str(v.to_string()), Raw::Int))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Str(v.to_string()), Raw::Int))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Raw, E> {
        Ok(i64::try_from(v).map_or(Raw::Str(v.to_string()), Raw::Int))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw::Float(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Raw, E> {
        Ok(Raw::Str(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Raw, E> {
        Ok(Raw::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Raw, D::Error> {
        Raw::deserialize(deserializer)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Raw, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(item) = seq.next_element::<Spanned<Raw>>()? {
            items.push(item);
        }
        Ok(Raw::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(1024));
        while let Some(entry) = map.next_entry::<Spanned<Raw>, Spanned<Raw>>()? {
            entries.push(entry);
        }
        Ok(Raw::Map(entries))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_keys_and_values() {
        let node = parse("service: x\nsteps:\n  - id: eins\n", 0).unwrap();
        let entries = node.as_map().unwrap();
        assert_eq!(entries[0].0.span, Span::new(0, 1, 1, 7));
        assert_eq!(entries[0].1.as_str(), Some("x"));
        let step = &entries[1].1.as_seq().unwrap()[0];
        let (key, value) = &step.as_map().unwrap()[0];
        assert_eq!((key.span.line, key.span.col), (3, 5));
        assert_eq!((value.span.line, value.span.col), (3, 9));
    }

    #[test]
    fn reads_scalars_with_yaml_1_2_types() {
        let node = parse("a: 1.0.0\nb: 99108001000000\nc: no\nd: 1.5\ne: true\nf:\n", 0).unwrap();
        assert_eq!(node.get("a").unwrap().kind, NodeKind::Str("1.0.0".into()));
        assert_eq!(node.get("b").unwrap().kind, NodeKind::Int(99108001000000));
        assert_eq!(node.get("d").unwrap().kind, NodeKind::Float(1.5));
        assert_eq!(node.get("e").unwrap().kind, NodeKind::Bool(true));
        assert_eq!(node.get("f").unwrap().kind, NodeKind::Null);
    }

    #[test]
    fn syntax_error_points_at_line() {
        let error = parse("service: x\n  title: [unclosed\n", 0).unwrap_err();
        assert_eq!(error.code, Code::YamlSyntax);
        assert!(error.span.line >= 2, "{error:?}");
    }
}
