//! The [model](crate::model) to XDatenfelder 3 XML: a `xdatenfelder.stammdatenschema.0102`
//! message, indented by two spaces, the same bytes for the same model and header.
//!
//! Elements come in the order of the standard; elements the model does not keep (status,
//! dates of validity, legal references) are left out. Only `letzteAenderung`, which
//! XDatenfelder wants on every element and rule, is written with the message's creation time,
//! as the converters of the FIM community do. The crate has no clock: the caller gives the
//! message's id and time in the [`Header`].
//!
//! What [`crate::read()`] reads back from the result is the model written: `read(write(s)) == s`
//! for every schema `read` can return (texts trimmed and not empty, as `read` gives them).

use std::borrow::Cow;

use quick_xml::Writer;
use quick_xml::events::attributes::Attribute;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};

use crate::model::{Element, Field, Group, Item, Rule, Schema};
use crate::read::NAMESPACE;

/// The message's `header`, given by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `nachrichtID`: unique per message, e.g. a UUID.
    pub message_id: String,
    /// `erstellungszeitpunkt`: when the message was made, as an XML date-time
    /// (`2026-05-04T10:15:00Z`).
    pub created: String,
}

/// Writes the schema as a `xdatenfelder.stammdatenschema.0102` message.
pub fn write(schema: &Schema, header: &Header) -> String {
    let mut out = Out {
        w: Writer::new_with_indent(Vec::new(), b' ', 2),
        created: &header.created,
    };
    out.event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
    let root = "xdf:xdatenfelder.stammdatenschema.0102";
    out.event(Event::Start(
        BytesStart::new(root).with_attributes([("xmlns:xdf", NAMESPACE)]),
    ));
    out.open("header");
    out.text("nachrichtID", &header.message_id);
    out.text("erstellungszeitpunkt", &header.created);
    out.close("header");

    out.open("stammdatenschema");
    out.identification(&schema.id, schema.version.as_deref());
    out.text("name", &schema.name);
    out.text("letzteAenderung", out.created);
    out.optional("bezeichnung", schema.label.as_deref());
    out.optional("hilfetext", schema.hint.as_deref());
    for rule in &schema.rules {
        out.rule(rule);
    }
    for item in &schema.elements {
        out.item(item);
    }
    out.close("stammdatenschema");
    out.event(Event::End(BytesEnd::new(root)));

    let mut bytes = out.w.into_inner();
    bytes.push(b'\n');
    // Every piece written is a `&str`, so the bytes are UTF-8.
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

struct Out<'h> {
    w: Writer<Vec<u8>>,
    created: &'h str,
}

impl Out<'_> {
    fn event(&mut self, event: Event<'_>) {
        // Writing into a `Vec` cannot fail.
        let _ = self.w.write_event(event);
    }

    fn open(&mut self, local: &str) {
        self.event(Event::Start(BytesStart::new(format!("xdf:{local}"))));
    }

    fn close(&mut self, local: &str) {
        self.event(Event::End(BytesEnd::new(format!("xdf:{local}"))));
    }

    fn text(&mut self, local: &str, text: &str) {
        let _ = self
            .w
            .create_element(format!("xdf:{local}"))
            .write_text_content(BytesText::new(text));
    }

    fn optional(&mut self, local: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.text(local, text);
        }
    }

    /// A code-typed element: `<xdf:feldart listURI="…" listVersionID="…"><code>input</code>`.
    /// `code` has no namespace in XDatenfelder.
    fn code(&mut self, local: &str, list: &str, list_version: &str, code: &str) {
        let list_uri = format!("urn:xoev-de:fim:codeliste:xdatenfelder.{list}");
        self.event(Event::Start(BytesStart::new(format!("xdf:{local}")).with_attributes([
            ("listURI", list_uri.as_str()),
            ("listVersionID", list_version),
        ])));
        let _ = self.w.create_element("code").write_text_content(BytesText::new(code));
        self.close(local);
    }

    fn identification(&mut self, id: &str, version: Option<&str>) {
        self.open("identifikation");
        self.text("id", id);
        self.optional("version", version);
        self.close("identifikation");
    }

    fn rule(&mut self, rule: &Rule) {
        self.open("regel");
        self.identification(&rule.id, rule.version.as_deref());
        self.text("name", &rule.name);
        self.optional("freitextRegel", rule.prose.as_deref());
        self.text("letzteAenderung", self.created);
        if let Some(typ) = &rule.typ {
            self.code("typ", "regeltyp", "1.0", typ);
        }
        self.close("regel");
    }

    fn item(&mut self, item: &Item) {
        self.open("struktur");
        self.text("anzahl", &item.anzahl());
        self.open("enthaelt");
        match &item.element {
            Element::Group(group) => self.group(group),
            Element::Field(field) => self.field(field),
        }
        self.close("enthaelt");
        self.close("struktur");
    }

    fn group(&mut self, group: &Group) {
        self.open("datenfeldgruppe");
        self.identification(&group.id, group.version.as_deref());
        self.text("name", &group.name);
        self.text("letzteAenderung", self.created);
        self.optional("bezeichnungEingabe", group.label.as_deref());
        if let Some(art) = &group.schemaelementart {
            self.code("schemaelementart", "schemaelementart", "1.0", art);
        }
        self.optional("hilfetextEingabe", group.hint.as_deref());
        for rule in &group.rules {
            self.rule(rule);
        }
        for item in &group.items {
            self.item(item);
        }
        self.close("datenfeldgruppe");
    }

    fn field(&mut self, field: &Field) {
        self.open("datenfeld");
        self.identification(&field.id, field.version.as_deref());
        self.text("name", &field.name);
        self.text("letzteAenderung", self.created);
        self.optional("bezeichnungEingabe", field.label.as_deref());
        if let Some(art) = &field.schemaelementart {
            self.code("schemaelementart", "schemaelementart", "1.0", art);
        }
        self.optional("hilfetextEingabe", field.hint.as_deref());
        self.code("feldart", "feldart", "2.0", field.feldart.code());
        self.code("datentyp", "datentyp", "2.0", field.datentyp.code());

        let min_length = field.min_length.map(|n| n.to_string());
        let max_length = field.max_length.map(|n| n.to_string());
        let precision: Vec<(&str, &str)> = [
            ("minLength", min_length.as_deref()),
            ("maxLength", max_length.as_deref()),
            ("minValue", field.min_value.as_deref()),
            ("maxValue", field.max_value.as_deref()),
            ("pattern", field.pattern.as_deref()),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k, v)))
        .collect();
        if !precision.is_empty() {
            let escaped: Vec<(&str, String)> = precision.iter().map(|(k, v)| (*k, escape_attribute(v))).collect();
            let mut start = BytesStart::new("xdf:praezisierung");
            for (k, v) in &escaped {
                start.push_attribute(Attribute::from((k.as_bytes(), v.as_bytes())));
            }
            self.event(Event::Empty(start));
        }
        self.optional("inhalt", field.content.as_deref());
        if let Some(vorbefuellung) = &field.vorbefuellung {
            self.code("vorbefuellung", "vorbefuellung", "1.0", vorbefuellung);
        }
        if !field.values.is_empty() {
            self.open("werte");
            for value in &field.values {
                self.open("wert");
                self.text("code", &value.code);
                self.text("name", &value.name);
                self.optional("hilfe", value.hint.as_deref());
                self.close("wert");
            }
            self.close("werte");
        }
        if let Some(list) = &field.code_list {
            self.open("codelisteReferenz");
            self.text("canonicalIdentification", &list.canonical_id);
            self.optional("version", list.version.as_deref());
            self.optional("canonicalVersionUri", list.canonical_version_uri.as_deref());
            self.close("codelisteReferenz");
        }
        self.optional("maxSize", field.max_size.as_deref());
        for media_type in &field.media_types {
            self.text("mediaType", media_type);
        }
        for rule in &field.rules {
            self.rule(rule);
        }
        self.close("datenfeld");
    }
}

/// Escapes an attribute value, including the whitespace characters a reader would otherwise
/// turn into spaces (attribute value normalisation), so a pattern keeps its tab or newline.
fn escape_attribute(value: &str) -> String {
    let escaped: Cow<'_, str> = quick_xml::escape::escape(value);
    escaped
        .replace('\t', "&#9;")
        .replace('\n', "&#10;")
        .replace('\r', "&#13;")
}
