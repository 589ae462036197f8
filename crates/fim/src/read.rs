//! XDatenfelder 3 XML to the [model](crate::model).
//!
//! Two passes. The first reads the text with quick-xml's namespace-aware reader into a small
//! element tree, within the limits below, and turns every syntax problem into a [`ReadError`]
//! with a line and column. The second walks the tree by namespace and local name (prefixes
//! vary: `xdf:`, `xdf3:`, a default namespace) into the model, and refuses what it cannot
//! make sense of, again with the position of the element. Elements the model does not keep
//! (status, dates, legal references) are passed over.
//!
//! Reading never panics, whatever the input: a test feeds it truncated and garbled messages.

use std::fmt;
use std::rc::Rc;

use quick_xml::XmlVersion;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::reader::NsReader;

use crate::model::{CodeListRef, CodeValue, Datentyp, Element, Feldart, Field, Group, Item, Rule, Schema};

/// The namespace of XDatenfelder 3.
pub const NAMESPACE: &str = "urn:xoev-de:fim:standard:xdatenfelder_3.0.0";
/// The namespace of XDatenfelder 2, which this crate recognises only to say so.
pub const NAMESPACE_V2: &str = "urn:xoev-de:fim:standard:xdatenfelder_2";

/// The largest message read. Real schemas are well under 2 MiB.
pub const MAX_INPUT_BYTES: usize = 8 * 1024 * 1024;
/// The deepest nesting of elements. A schema nests a few levels per group; 64 leaves room for
/// about ten levels of groups.
pub const MAX_DEPTH: usize = 64;
/// The most elements in one message, so that a file of empty tags cannot fill the memory.
pub const MAX_ELEMENTS: usize = 400_000;

const SCHEMA_MESSAGE: &str = "xdatenfelder.stammdatenschema.0102";
const GROUP_MESSAGE: &str = "xdatenfelder.datenfeldgruppe.0103";

/// Why a message could not be read, and where: line and column count from 1, columns in
/// characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    pub kind: ReadErrorKind,
    pub line: usize,
    pub col: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReadErrorKind {
    /// Not well-formed XML.
    Syntax,
    /// Larger or deeper than the limits of the reader.
    Limit,
    /// Not an XDatenfelder 3 message: another namespace, another version, another message.
    Namespace,
    /// Well-formed XDatenfelder, but an element is missing or holds what it cannot.
    Structure,
}

impl fmt::Display for ReadErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ReadErrorKind::Syntax => "malformed XML",
            ReadErrorKind::Limit => "input limit",
            ReadErrorKind::Namespace => "not XDatenfelder 3",
            ReadErrorKind::Structure => "invalid XDatenfelder",
        })
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {} (line {}, column {})",
            self.kind, self.message, self.line, self.col
        )
    }
}

impl std::error::Error for ReadError {}

/// Reads an XDatenfelder 3 message: a `xdatenfelder.stammdatenschema.0102` (its
/// `stammdatenschema`) or a `xdatenfelder.datenfeldgruppe.0103`, whose group becomes the one
/// element (`1:1`) of a schema with the group's id, version, name, label and hint.
pub fn read(text: &str) -> Result<Schema, ReadError> {
    let root = parse_tree(text)?;
    let at = |pos: usize, kind: ReadErrorKind, message: String| error(text, pos, kind, message);

    match root.ns.as_deref() {
        Some(NAMESPACE) => {}
        Some(ns) if ns.starts_with(NAMESPACE_V2) => {
            return Err(at(
                root.pos,
                ReadErrorKind::Namespace,
                format!(
                    "this is an XDatenfelder 2 message (namespace `{ns}`); Baukasten reads \
                     XDatenfelder 3 (namespace `{NAMESPACE}`). Export the schema as XDatenfelder 3 \
                     from the FIM repository, or convert it first"
                ),
            ));
        }
        Some(ns) => {
            return Err(at(
                root.pos,
                ReadErrorKind::Namespace,
                format!(
                    "the root element `{}` is in the namespace `{ns}`; an XDatenfelder 3 message \
                     is in `{NAMESPACE}`",
                    root.local
                ),
            ));
        }
        None => {
            return Err(at(
                root.pos,
                ReadErrorKind::Namespace,
                format!(
                    "the root element `{}` has no namespace; an XDatenfelder 3 message is in \
                     `{NAMESPACE}`",
                    root.local
                ),
            ));
        }
    }

    let reader = TreeReader { text };
    match root.local.as_str() {
        SCHEMA_MESSAGE => reader.schema(reader.required_child(&root, "stammdatenschema")?),
        GROUP_MESSAGE => {
            let group = reader.group(reader.required_child(&root, "datenfeldgruppe")?)?;
            Ok(Schema {
                id: group.id.clone(),
                version: group.version.clone(),
                name: group.name.clone(),
                label: group.label.clone(),
                hint: group.hint.clone(),
                rules: Vec::new(),
                elements: vec![Item {
                    element: Element::Group(group),
                    min: 1,
                    max: Some(1),
                }],
            })
        }
        other => Err(at(
            root.pos,
            ReadErrorKind::Namespace,
            format!(
                "the message `{other}` is not read here; expected `{SCHEMA_MESSAGE}` (a data \
                 schema) or `{GROUP_MESSAGE}` (a data field group)"
            ),
        )),
    }
}

// ------------------------------------------------------------------ first pass: the tree

/// An element of the message: its namespace and local name, its unprefixed attributes, its
/// own text, its children and the byte offset of its `<`.
#[derive(Debug)]
struct Node {
    /// Shared between elements: a message has one or two namespaces and many elements.
    ns: Option<Rc<str>>,
    local: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
    pos: usize,
}

fn parse_tree(text: &str) -> Result<Node, ReadError> {
    if text.len() > MAX_INPUT_BYTES {
        return Err(error(
            text,
            0,
            ReadErrorKind::Limit,
            format!(
                "the message has {} bytes; at most {} MiB are read",
                text.len(),
                MAX_INPUT_BYTES / (1024 * 1024)
            ),
        ));
    }
    // quick-xml counts from the start of what it is given; a byte order mark is skipped here
    // and added back to every position.
    let bom = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    let mut reader = NsReader::from_str(&text[bom..]);
    let syntax = |pos: usize, message: String| error(text, bom + pos, ReadErrorKind::Syntax, message);

    let mut stack: Vec<Node> = Vec::new();
    let mut root: Option<Node> = None;
    let mut elements = 0usize;
    let mut last_ns: Option<Rc<str>> = None;
    loop {
        let event = reader.read_resolved_event();
        let (ns, event) = match event {
            Ok((ns, event)) => (namespace(ns, &mut last_ns), event),
            Err(e) => {
                let pos = usize::try_from(reader.error_position()).unwrap_or(usize::MAX);
                return Err(syntax(pos, e.to_string()));
            }
        };
        let end = usize::try_from(reader.buffer_position()).unwrap_or(usize::MAX);
        // The `<` of the tag just read: attribute values cannot hold a literal `<`.
        let tag_start = || text[bom..].get(..end).and_then(|t| t.rfind('<')).unwrap_or(0);
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let pos = tag_start();
                let ns =
                    ns.map_err(|prefix| syntax(pos, format!("the namespace prefix `{prefix}` is not declared")))?;
                if root.is_some() && stack.is_empty() {
                    return Err(syntax(pos, "a second root element; a message has one".into()));
                }
                elements += 1;
                if elements > MAX_ELEMENTS {
                    return Err(error(
                        text,
                        bom + pos,
                        ReadErrorKind::Limit,
                        format!("more than {MAX_ELEMENTS} elements; the message is too large"),
                    ));
                }
                if stack.len() >= MAX_DEPTH {
                    return Err(error(
                        text,
                        bom + pos,
                        ReadErrorKind::Limit,
                        format!("elements nested more than {MAX_DEPTH} levels deep"),
                    ));
                }
                let mut attrs = Vec::new();
                for attr in e.attributes() {
                    let attr = attr.map_err(|err| syntax(pos, err.to_string()))?;
                    let key = attr.key.as_ref();
                    // Namespace declarations and prefixed attributes (`xsi:schemaLocation`)
                    // say nothing the model keeps.
                    if key.contains(&b':') || key == b"xmlns" {
                        continue;
                    }
                    let value = attr
                        .decoded_and_normalized_value(XmlVersion::Implicit1_0, reader.decoder())
                        .map_err(|err| syntax(pos, err.to_string()))?;
                    attrs.push((String::from_utf8_lossy(key).into_owned(), value.into_owned()));
                }
                let node = Node {
                    ns,
                    local: String::from_utf8_lossy(e.local_name().as_ref()).into_owned(),
                    attrs,
                    text: String::new(),
                    children: Vec::new(),
                    pos: bom + pos,
                };
                if matches!(event, Event::Start(_)) {
                    stack.push(node);
                } else {
                    attach(&mut stack, &mut root, node);
                }
            }
            Event::End(_) => {
                // quick-xml checks that the name matches the open element.
                let Some(node) = stack.pop() else {
                    return Err(syntax(tag_start(), "a closing tag without an opening one".into()));
                };
                attach(&mut stack, &mut root, node);
            }
            Event::Text(e) => {
                let content = e.xml10_content().map_err(|err| syntax(end, err.to_string()))?;
                push_text(&mut stack, &content)
                    .map_err(|()| syntax(end - e.len(), "text outside the root element".into()))?;
            }
            Event::CData(e) => {
                let content = e.decode().map_err(|err| syntax(end, err.to_string()))?;
                push_text(&mut stack, &content)
                    .map_err(|()| syntax(end - e.len(), "text outside the root element".into()))?;
            }
            Event::GeneralRef(e) => {
                let pos = end.saturating_sub(e.len() + 2);
                let name = e.decode().map_err(|err| syntax(pos, err.to_string()))?;
                let resolved = match e.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    Ok(None) => match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => s.to_string(),
                        None => {
                            return Err(syntax(pos, format!("unknown entity `&{name};`")));
                        }
                    },
                    Err(err) => return Err(syntax(pos, err.to_string())),
                };
                push_text(&mut stack, &resolved).map_err(|()| syntax(pos, "text outside the root element".into()))?;
            }
            Event::DocType(_) => {
                // XÖV messages have no DTD, and a DTD's entities are the classic way to blow
                // up a parser's memory: refuse it outright.
                let pos = text[bom..].get(..end).and_then(|t| t.rfind("<!DOCTYPE")).unwrap_or(0);
                return Err(syntax(pos, "a DOCTYPE declaration is not allowed".into()));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if let Some(open) = stack.last() {
        return Err(error(
            text,
            text.len(),
            ReadErrorKind::Syntax,
            format!("the message ends before the element `{}` is closed", open.local),
        ));
    }
    root.ok_or_else(|| error(text, 0, ReadErrorKind::Syntax, "the message has no root element".into()))
}

/// The namespace URI of a resolved name, or the undeclared prefix. The URI is shared with
/// the element before when it is the same.
fn namespace(ns: ResolveResult<'_>, last: &mut Option<Rc<str>>) -> Result<Option<Rc<str>>, String> {
    match ns {
        ResolveResult::Bound(ns) => {
            let uri = String::from_utf8_lossy(ns.as_ref());
            if let Some(last) = last
                && **last == *uri
            {
                return Ok(Some(last.clone()));
            }
            let uri: Rc<str> = Rc::from(uri.as_ref());
            *last = Some(uri.clone());
            Ok(Some(uri))
        }
        ResolveResult::Unbound => Ok(None),
        ResolveResult::Unknown(prefix) => Err(String::from_utf8_lossy(&prefix).into_owned()),
    }
}

fn attach(stack: &mut [Node], root: &mut Option<Node>, node: Node) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(node),
        None => *root = Some(node),
    }
}

/// Adds text to the open element; outside the root only whitespace is allowed.
fn push_text(stack: &mut [Node], content: &str) -> Result<(), ()> {
    match stack.last_mut() {
        Some(node) => {
            node.text.push_str(content);
            Ok(())
        }
        None if content.trim().is_empty() => Ok(()),
        None => Err(()),
    }
}

fn error(text: &str, offset: usize, kind: ReadErrorKind, message: String) -> ReadError {
    let (line, col) = line_col(text, offset);
    ReadError {
        kind,
        line,
        col,
        message,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, col)
}

// ------------------------------------------------------------------ second pass: the model

struct TreeReader<'t> {
    text: &'t str,
}

impl TreeReader<'_> {
    fn structure(&self, node: &Node, message: String) -> ReadError {
        error(self.text, node.pos, ReadErrorKind::Structure, message)
    }

    fn children<'n>(&self, node: &'n Node, local: &'static str) -> impl Iterator<Item = &'n Node> {
        node.children
            .iter()
            .filter(move |c| c.local == local && c.ns.as_deref() == Some(NAMESPACE))
    }

    fn child<'n>(&self, node: &'n Node, local: &'static str) -> Option<&'n Node> {
        self.children(node, local).next()
    }

    fn required_child<'n>(&self, node: &'n Node, local: &'static str) -> Result<&'n Node, ReadError> {
        self.child(node, local)
            .ok_or_else(|| self.structure(node, format!("`{}` lacks its `{local}` element", node.local)))
    }

    /// The trimmed text of a child; `None` if it is missing or blank.
    fn text_of(&self, node: &Node, local: &'static str) -> Option<String> {
        self.child(node, local).and_then(|c| non_blank(&c.text))
    }

    fn required_text(&self, node: &Node, local: &'static str) -> Result<String, ReadError> {
        let child = self.required_child(node, local)?;
        non_blank(&child.text).ok_or_else(|| self.structure(child, format!("`{local}` is empty")))
    }

    /// The code of a code-typed element: `<xdf:feldart><code>input</code></xdf:feldart>`.
    /// XDatenfelder writes `code` without a namespace; it is taken in any.
    fn code_of<'n>(&self, node: &'n Node, local: &'static str) -> Option<(&'n Node, String)> {
        let element = self.child(node, local)?;
        let code = element.children.iter().find(|c| c.local == "code")?;
        non_blank(&code.text).map(|text| (element, text))
    }

    fn attr<'n>(&self, node: &'n Node, name: &str) -> Option<&'n str> {
        node.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    fn identification(&self, node: &Node) -> Result<(String, Option<String>), ReadError> {
        let ident = self.required_child(node, "identifikation")?;
        Ok((self.required_text(ident, "id")?, self.text_of(ident, "version")))
    }

    fn schema(&self, node: &Node) -> Result<Schema, ReadError> {
        let (id, version) = self.identification(node)?;
        Ok(Schema {
            id,
            version,
            name: self.required_text(node, "name")?,
            // A schema has `bezeichnung` and `hilfetext`; groups and fields have the
            // `…Eingabe` forms. Some tools write those on schemas too.
            label: self
                .text_of(node, "bezeichnung")
                .or_else(|| self.text_of(node, "bezeichnungEingabe")),
            hint: self
                .text_of(node, "hilfetext")
                .or_else(|| self.text_of(node, "hilfetextEingabe")),
            rules: self.rules(node)?,
            elements: self.items(node)?,
        })
    }

    fn group(&self, node: &Node) -> Result<Group, ReadError> {
        let (id, version) = self.identification(node)?;
        Ok(Group {
            id,
            version,
            name: self.required_text(node, "name")?,
            label: self.text_of(node, "bezeichnungEingabe"),
            hint: self.text_of(node, "hilfetextEingabe"),
            schemaelementart: self.code_of(node, "schemaelementart").map(|(_, c)| c),
            rules: self.rules(node)?,
            items: self.items(node)?,
        })
    }

    fn field(&self, node: &Node) -> Result<Field, ReadError> {
        let (id, version) = self.identification(node)?;
        let feldart = match self.code_of(node, "feldart") {
            Some((element, code)) => Feldart::from_code(&code).ok_or_else(|| {
                self.structure(
                    element,
                    format!(
                        "`feldart` `{code}` of {id} is not one of {}",
                        list(Feldart::ALL.iter().map(|f| f.code()))
                    ),
                )
            })?,
            None => return Err(self.structure(node, format!("the field {id} lacks its `feldart`"))),
        };
        let datentyp = match self.code_of(node, "datentyp") {
            Some((element, code)) => Datentyp::from_code(&code).ok_or_else(|| {
                self.structure(
                    element,
                    format!(
                        "`datentyp` `{code}` of {id} is not one of {}",
                        list(Datentyp::ALL.iter().map(|d| d.code()))
                    ),
                )
            })?,
            None => return Err(self.structure(node, format!("the field {id} lacks its `datentyp`"))),
        };
        let precision = self.child(node, "praezisierung");
        let length = |name: &str| -> Result<Option<u32>, ReadError> {
            let Some(p) = precision else { return Ok(None) };
            match self.attr(p, name) {
                None => Ok(None),
                Some(v) => v
                    .parse()
                    .map(Some)
                    .map_err(|_| self.structure(p, format!("`{name}` of {id} is `{v}`, not a whole number"))),
            }
        };
        let value = |name: &str| precision.and_then(|p| self.attr(p, name)).map(str::to_string);
        let values = match self.child(node, "werte") {
            None => Vec::new(),
            Some(werte) => self
                .children(werte, "wert")
                .map(|wert| {
                    Ok(CodeValue {
                        code: self.required_text(wert, "code")?,
                        name: self.required_text(wert, "name")?,
                        hint: self.text_of(wert, "hilfe"),
                    })
                })
                .collect::<Result<_, ReadError>>()?,
        };
        let code_list = match self.child(node, "codelisteReferenz") {
            None => None,
            Some(r) => Some(CodeListRef {
                canonical_id: self.required_text(r, "canonicalIdentification")?,
                version: self.text_of(r, "version"),
                canonical_version_uri: self.text_of(r, "canonicalVersionUri"),
            }),
        };
        Ok(Field {
            name: self.required_text(node, "name")?,
            label: self.text_of(node, "bezeichnungEingabe"),
            hint: self.text_of(node, "hilfetextEingabe"),
            schemaelementart: self.code_of(node, "schemaelementart").map(|(_, c)| c),
            feldart,
            datentyp,
            min_length: length("minLength")?,
            max_length: length("maxLength")?,
            min_value: value("minValue"),
            max_value: value("maxValue"),
            pattern: value("pattern"),
            content: self.text_of(node, "inhalt"),
            vorbefuellung: self.code_of(node, "vorbefuellung").map(|(_, c)| c),
            values,
            code_list,
            max_size: self.text_of(node, "maxSize"),
            media_types: self
                .children(node, "mediaType")
                .filter_map(|m| non_blank(&m.text))
                .collect(),
            rules: self.rules(node)?,
            id,
            version,
        })
    }

    fn rules(&self, node: &Node) -> Result<Vec<Rule>, ReadError> {
        self.children(node, "regel")
            .map(|regel| {
                let (id, version) = self.identification(regel)?;
                Ok(Rule {
                    id,
                    version,
                    name: self.required_text(regel, "name")?,
                    prose: self.text_of(regel, "freitextRegel"),
                    typ: self.code_of(regel, "typ").map(|(_, c)| c),
                })
            })
            .collect()
    }

    /// The `struktur` entries of a schema or group, in order.
    fn items(&self, node: &Node) -> Result<Vec<Item>, ReadError> {
        self.children(node, "struktur")
            .map(|struktur| {
                let anzahl = self.required_child(struktur, "anzahl")?;
                let (min, max) = parse_anzahl(anzahl.text.trim()).ok_or_else(|| {
                    self.structure(
                        anzahl,
                        format!(
                            "`anzahl` is `{}`; expected the least and the most occurrences, such \
                             as `0:1`, `1:1`, `0:*` or `1:5`",
                            anzahl.text.trim()
                        ),
                    )
                })?;
                let enthaelt = self.required_child(struktur, "enthaelt")?;
                let mut elements = enthaelt.children.iter();
                let element = match (elements.next(), elements.next()) {
                    (Some(only), None) if only.ns.as_deref() == Some(NAMESPACE) => match only.local.as_str() {
                        "datenfeld" => Element::Field(self.field(only)?),
                        "datenfeldgruppe" => Element::Group(self.group(only)?),
                        other => {
                            return Err(self.structure(
                                only,
                                format!(
                                    "`enthaelt` holds `{other}`; expected a `datenfeld` or a \
                                         `datenfeldgruppe`"
                                ),
                            ));
                        }
                    },
                    (None, _) => {
                        return Err(self.structure(
                            enthaelt,
                            "`enthaelt` is empty; expected a `datenfeld` or a `datenfeldgruppe`".into(),
                        ));
                    }
                    (Some(first), _) => {
                        return Err(self.structure(
                            first,
                            "`enthaelt` holds one `datenfeld` or one `datenfeldgruppe` in the \
                             XDatenfelder 3 namespace"
                                .into(),
                        ));
                    }
                };
                Ok(Item { element, min, max })
            })
            .collect()
    }
}

/// `0:1` → (0, Some(1)); `1:*` → (1, None). The upper bound is at least the lower and at
/// least 1.
fn parse_anzahl(text: &str) -> Option<(u32, Option<u32>)> {
    let (min, max) = text.split_once(':')?;
    let min: u32 = min.trim().parse().ok()?;
    let max = match max.trim() {
        "*" => None,
        m => {
            let m: u32 = m.parse().ok()?;
            if m < min || m == 0 {
                return None;
            }
            Some(m)
        }
    };
    Some((min, max))
}

fn non_blank(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_string())
}

fn list<'a>(words: impl Iterator<Item = &'a str>) -> String {
    words.map(|w| format!("`{w}`")).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_characters_from_one() {
        let text = "ab\nçd<x";
        assert_eq!(line_col(text, 0), (1, 1));
        assert_eq!(line_col(text, 3), (2, 1));
        // `ç` is two bytes, one character.
        assert_eq!(line_col(text, 6), (2, 3));
        assert_eq!(line_col(text, 99), (2, 5));
    }

    #[test]
    fn anzahl() {
        assert_eq!(parse_anzahl("0:1"), Some((0, Some(1))));
        assert_eq!(parse_anzahl("1:*"), Some((1, None)));
        assert_eq!(parse_anzahl("1:5"), Some((1, Some(5))));
        assert_eq!(parse_anzahl("2:1"), None);
        assert_eq!(parse_anzahl("0:0"), None);
        assert_eq!(parse_anzahl("eins"), None);
    }
}
