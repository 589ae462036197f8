//! YAML text to a tree of [`Node`]s that remember where they stood.
//!
//! We read YAML with the event parser of serde-saphyr (granit-parser) into a small tree of our
//! own instead of deserialising straight into the model: a compiler-like checker must report
//! every problem of a file at once, with its line and column, and name unknown keys with a
//! suggestion. Serde stops at the first mismatch; the tree lets the reader in [`crate::read`]
//! go on. Building the tree from events directly is about ten times faster than wrapping every
//! value in `serde_saphyr::Spanned` (see docs/decisions/0002-yaml-tree.md).
//!
//! The builder runs under a budget (size, depth, nodes with aliases expanded, aliases), so a
//! hostile file, such as a "billion laughs" alias bomb, is refused quickly with a clear message
//! instead of eating the machine.

use std::collections::HashMap;

use serde_saphyr::granit_parser::{self, Event, Parser, ScalarStyle};

use crate::diag::{Code, Diagnostic, Msg};
use crate::source::{FileId, Span};

/// The largest service file we read. The largest real services are around 100 KiB.
pub const MAX_FILE_BYTES: usize = 2 * 1024 * 1024;
/// The deepest nesting of maps and lists we accept.
pub const MAX_DEPTH: usize = 64;
/// The most alias references (`*name`) a file may use.
pub const MAX_ALIASES: usize = 1_000;
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
    let mut builder = Builder {
        file,
        stack: Vec::new(),
        anchors: HashMap::new(),
        nodes: 0,
        aliases: 0,
        root: None,
        documents: 0,
    };
    for item in Parser::new_from_str(text) {
        match item {
            Ok((event, span)) => builder.event(event, span)?,
            Err(error) => {
                let m = error.marker();
                let span = Span::new(file, m.line() as u32, m.col() as u32 + 1, 1);
                return Err(syntax_error(span, &error.info()));
            }
        }
    }
    builder.root.ok_or_else(|| {
        Diagnostic::error(
            Code::UnknownDocument,
            Span::file_start(file),
            Msg::new("Die Datei ist leer.", "the file is empty"),
        )
    })
}

/// A YAML syntax error in the clerk's words: what is wrong and how to fix it, with the
/// parser's own text kept at the end of the help as a detail for those who know YAML.
fn syntax_error(span: Span, detail: &str) -> Diagnostic {
    let (message, help) = explain_syntax(detail);
    Diagnostic::error(Code::YamlSyntax, span, message).with_help(Msg::new(
        format!("{} (Meldung des YAML-Lesers: {detail})", help.de),
        format!("{} (the YAML reader says: {detail})", help.en),
    ))
}

/// The common YAML mistakes of people who do not write YAML every day, matched by the
/// parser's text.
fn explain_syntax(detail: &str) -> (Msg, Msg) {
    let has = |part: &str| detail.contains(part);
    if has("tab") {
        (
            Msg::new(
                "Die Zeile ist mit einem Tabulator eingerückt.",
                "the line is indented with a tab",
            ),
            Msg::new(
                "YAML rückt nur mit Leerzeichen ein: ersetzen Sie den Tabulator durch Leerzeichen.",
                "YAML indents with spaces only: replace the tab with spaces",
            ),
        )
    } else if has("unclosed quote") || has("quoted scalar") {
        (
            Msg::new(
                "Ein Text in Anführungszeichen wird hier geöffnet, aber nicht geschlossen.",
                "a quoted text opens here but is not closed",
            ),
            Msg::new(
                "Schließen Sie den Text mit demselben Zeichen (\" oder '), mit dem er beginnt; ein \" im Text selbst schreiben Sie als \\\".",
                "close the text with the same character (\" or ') it starts with; write a \" inside the text as \\\"",
            ),
        )
    } else if has("mapping values are not allowed") {
        (
            Msg::new(
                "Hier steht ein Doppelpunkt, der einen Text unterbricht oder an der falschen Stelle steht.",
                "a colon here breaks a text or stands in the wrong place",
            ),
            Msg::new(
                "Ein Text mit „: “ gehört in Anführungszeichen, z. B. label: \"Hinweis: bitte …\"; sonst fehlt vielleicht ein Zeilenumbruch oder ein Leerzeichen nach dem Doppelpunkt davor.",
                "put a text containing \": \" in quotes, e.g. label: \"Note: please …\"; otherwise a line break or a space after the colon before may be missing",
            ),
        )
    } else if has("unclosed bracket") || has("flow sequence") || has("flow mapping") || has("flow construct") {
        (
            Msg::new(
                "Eine Liste in [ ] oder eine Angabe in { } ist nicht richtig geschlossen.",
                "a list in [ ] or an entry in { } is not closed properly",
            ),
            Msg::new(
                "Trennen Sie die Einträge mit Kommas und schließen Sie jede Klammer in derselben Zeile; ein Text mit Komma oder Klammer gehört in Anführungszeichen.",
                "separate the entries with commas and close each bracket on the same line; a text with a comma or bracket belongs in quotes",
            ),
        )
    } else if has("indentation") || has("block collection") || has("block mapping") || has("node content") {
        (
            Msg::new(
                "Die Einrückung dieser Zeile passt nicht zu den Zeilen davor.",
                "the indentation of this line does not fit the lines before it",
            ),
            Msg::new(
                "Angaben auf derselben Ebene beginnen genau in derselben Spalte, Einträge einer Liste mit „- “; rücken Sie mit Leerzeichen ein, meist um zwei.",
                "keys on the same level start in exactly the same column, list entries with \"- \"; indent with spaces, usually by two",
            ),
        )
    } else if has("cannot start any token") || has("anchor or alias") || has("tag") {
        (
            Msg::new(
                "Ein Text beginnt mit einem Zeichen, das in YAML eine eigene Bedeutung hat (etwa @, `, %, & oder !).",
                "a text starts with a character that has a meaning of its own in YAML (such as @, `, %, & or !)",
            ),
            Msg::new("Setzen Sie den Text in Anführungszeichen.", "put the text in quotes"),
        )
    } else {
        (
            Msg::new(
                "Die Datei ist an dieser Stelle kein gültiges YAML.",
                "the file is not valid YAML here",
            ),
            Msg::new(
                "Prüfen Sie Einrückung, Doppelpunkte und Anführungszeichen in dieser Zeile und der davor.",
                "check indentation, colons and quotes on this line and the one before",
            ),
        )
    }
}

fn limit_error(span: Span, de: &str, en: &str) -> Diagnostic {
    Diagnostic::error(
        Code::InputLimit,
        span,
        Msg::new(
            format!("Die Datei überschreitet eine Grenze des Lesers: {de}."),
            format!("the file exceeds a limit of the reader: {en}"),
        ),
    )
    .with_help(Msg::new(
        format!(
            "Erlaubt sind höchstens {MAX_DEPTH} Ebenen, {MAX_ALIASES} Verweise (*name) und {MAX_NODES} Knoten, Verweise ausgeschrieben."
        ),
        format!(
            "at most {MAX_DEPTH} levels of nesting, {MAX_ALIASES} aliases (*name) and {MAX_NODES} nodes with aliases expanded are allowed"
        ),
    ))
}

/// A collection being built, with the anchor it will be registered under and the node count
/// when it started (so an alias of it can be charged its full size).
enum Frame {
    Seq {
        items: Vec<Node>,
        span: Span,
        anchor: usize,
        nodes_before: usize,
    },
    Map {
        entries: Vec<(Node, Node)>,
        key: Option<Node>,
        span: Span,
        anchor: usize,
        nodes_before: usize,
    },
}

/// Builds the tree from parser events, enforcing the budgets. Aliases are expanded by copying
/// the anchored node; each copy is charged its node count, so an alias bomb hits
/// [`MAX_NODES`] after a few copies instead of filling the memory.
struct Builder {
    file: FileId,
    stack: Vec<Frame>,
    anchors: HashMap<usize, (Node, usize)>,
    nodes: usize,
    aliases: usize,
    root: Option<Node>,
    documents: usize,
}

impl Builder {
    fn span(&self, span: &granit_parser::Span, container: bool) -> Span {
        let line = span.start.line() as u32;
        let col = span.start.col() as u32 + 1;
        let len = if container {
            1
        } else {
            span.end.index().saturating_sub(span.start.index()).max(1) as u32
        };
        Span::new(self.file, line, col, len)
    }

    fn count(&mut self, n: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes += n;
        if self.nodes > MAX_NODES {
            return Err(limit_error(
                span,
                &format!("mehr als {MAX_NODES} Knoten (Verweise ausgeschrieben)"),
                &format!("more than {MAX_NODES} nodes with aliases expanded"),
            ));
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, raw: granit_parser::Span) -> Result<(), Diagnostic> {
        match event {
            Event::DocumentStart(..) => {
                self.documents += 1;
                if self.documents > 1 {
                    let span = self.span(&raw, true);
                    return Err(syntax_error(
                        span,
                        "a service file holds one YAML document; remove the second `---`",
                    ));
                }
            }
            Event::Scalar(value, style, anchor, tag) => {
                let span = self.span(&raw, false);
                self.count(1, span)?;
                let is_str_tag = tag.as_ref().is_some_and(|t| t.suffix() == "str");
                let kind = if style == ScalarStyle::Plain && !is_str_tag {
                    resolve_plain(&value)
                } else {
                    NodeKind::Str(value.into_owned())
                };
                let node = Node { kind, span };
                if anchor > 0 {
                    self.anchors.insert(anchor, (node.clone(), 1));
                }
                self.push(node);
            }
            Event::Alias(anchor) => {
                let span = self.span(&raw, false);
                self.aliases += 1;
                if self.aliases > MAX_ALIASES {
                    return Err(limit_error(
                        span,
                        &format!("mehr als {MAX_ALIASES} Verweise"),
                        &format!("more than {MAX_ALIASES} aliases"),
                    ));
                }
                let Some((node, size)) = self.anchors.get(&anchor) else {
                    return Err(syntax_error(span, "alias to an unknown anchor"));
                };
                let (node, size) = (node.clone(), *size);
                self.count(size, span)?;
                self.push(node);
            }
            Event::SequenceStart(_, anchor, _) | Event::MappingStart(_, anchor, _) => {
                let span = self.span(&raw, true);
                if self.stack.len() >= MAX_DEPTH {
                    return Err(limit_error(
                        span,
                        &format!("tiefer als {MAX_DEPTH} Ebenen"),
                        &format!("nested deeper than {MAX_DEPTH} levels"),
                    ));
                }
                self.count(1, span)?;
                let nodes_before = self.nodes;
                self.stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq {
                        items: Vec::new(),
                        span,
                        anchor,
                        nodes_before,
                    }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        key: None,
                        span,
                        anchor,
                        nodes_before,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor, nodes_before) = match self.stack.pop() {
                    Some(Frame::Seq {
                        items,
                        span,
                        anchor,
                        nodes_before,
                    }) => (
                        Node {
                            kind: NodeKind::Seq(items),
                            span,
                        },
                        anchor,
                        nodes_before,
                    ),
                    Some(Frame::Map {
                        entries,
                        span,
                        anchor,
                        nodes_before,
                        ..
                    }) => (
                        Node {
                            kind: NodeKind::Map(entries),
                            span,
                        },
                        anchor,
                        nodes_before,
                    ),
                    None => return Ok(()),
                };
                if anchor > 0 {
                    let size = self.nodes - nodes_before + 1;
                    self.anchors.insert(anchor, (node.clone(), size));
                }
                self.push(node);
            }
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, node: Node) {
        match self.stack.last_mut() {
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                Some(k) => entries.push((k, node)),
                None => *key = Some(node),
            },
            None => self.root = Some(node),
        }
    }
}

/// The type of a plain (unquoted) scalar under YAML 1.2's core schema: `no` and `on` stay text.
fn resolve_plain(text: &str) -> NodeKind {
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return NodeKind::Null,
        "true" | "True" | "TRUE" => return NodeKind::Bool(true),
        "false" | "False" | "FALSE" => return NodeKind::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text
            .parse::<i64>()
            .map_or_else(|_| NodeKind::Str(text.to_string()), NodeKind::Int);
    }
    let looks_float = !digits.is_empty()
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'))
        && digits.bytes().filter(|b| *b == b'.').count() <= 1
        && digits.as_bytes()[0] != b'e'
        && digits.as_bytes()[0] != b'E';
    if looks_float && let Ok(f) = text.parse::<f64>() {
        return NodeKind::Float(f);
    }
    NodeKind::Str(text.to_string())
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
    fn the_longest_allowed_expression_compiles_on_a_small_stack() {
        // Server worker threads have 2 MiB stacks; the checker's expression limit must fit.
        let longest = format!("x{}", " + x".repeat((crate::read::MAX_EXPRESSION_CHARS - 1) / 4));
        assert!(longest.len() <= crate::read::MAX_EXPRESSION_CHARS);
        let handle = std::thread::Builder::new()
            .stack_size(512 * 1024)
            .spawn(move || crate::expression_names(&crate::expression_env(), &longest).map(|n| n.len()))
            .unwrap();
        assert_eq!(handle.join().unwrap(), Ok(1));
    }

    #[test]
    fn syntax_error_points_at_line() {
        let error = parse("service: x\n  title: [unclosed\n", 0).unwrap_err();
        assert_eq!(error.code, Code::YamlSyntax);
        assert!(error.span.line >= 2, "{error:?}");
    }
}
