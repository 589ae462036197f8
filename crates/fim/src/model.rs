//! The intermediate model: what Baukasten takes from an XDatenfelder 3 message.
//!
//! Plain data, close to the standard's own words (`feldart`, `datentyp`, `anzahl`), so that
//! reading and writing stay simple and [`crate::read()`] ∘ [`crate::write()`] is the identity on
//! it. It is not the service model of `baukasten-dsl`: [`crate::service`] maps one to the other.
//! Metadata that a form does not need (status, dates of validity, legal references, keywords,
//! output labels) is not kept.

use serde::Serialize;

/// A data schema (*Stammdatenschema*), the root of a `xdatenfelder.stammdatenschema.0102`
/// message. A `xdatenfelder.datenfeldgruppe.0103` message is read as a schema too: see
/// [`crate::read()`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Schema {
    /// `S60000001`.
    pub id: String,
    /// `1.0`; FIM elements without a version exist in the wild.
    pub version: Option<String>,
    pub name: String,
    /// `bezeichnung`: the title people read.
    pub label: Option<String>,
    /// `hilfetext`.
    pub hint: Option<String>,
    pub rules: Vec<Rule>,
    pub elements: Vec<Item>,
}

/// One entry of a `struktur`: an element and how often it occurs (`anzahl`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    pub element: Element,
    /// The lower bound of `anzahl`: `0` in `0:1`.
    pub min: u32,
    /// The upper bound of `anzahl`; `None` for `*`.
    pub max: Option<u32>,
}

impl Item {
    /// Exactly once (`1:1`).
    pub fn is_required(&self) -> bool {
        self.min >= 1 && self.max == Some(1)
    }

    /// More than once possible (`0:*`, `1:5`).
    pub fn repeats(&self) -> bool {
        self.max != Some(1) && self.max != Some(0)
    }

    /// `anzahl` as the standard writes it: `0:1`, `1:*`.
    pub fn anzahl(&self) -> String {
        match self.max {
            Some(max) => format!("{}:{max}", self.min),
            None => format!("{}:*", self.min),
        }
    }
}

// A schema has hundreds of elements, not millions: boxing the larger variant would buy
// nothing measurable and cost every `match` a dereference.
#[expect(clippy::large_enum_variant, reason = "a small tree, matched often")]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Element {
    Group(Group),
    Field(Field),
}

impl Element {
    pub fn id(&self) -> &str {
        match self {
            Element::Group(g) => &g.id,
            Element::Field(f) => &f.id,
        }
    }
}

/// A data field group (*Datenfeldgruppe*), `G60000001`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: String,
    pub version: Option<String>,
    pub name: String,
    /// `bezeichnungEingabe`.
    pub label: Option<String>,
    /// `hilfetextEingabe`.
    pub hint: Option<String>,
    /// `schemaelementart/code`: `ABS`, `HAR` or `RNG`, as written.
    pub schemaelementart: Option<String>,
    pub rules: Vec<Rule>,
    pub items: Vec<Item>,
}

/// A data field (*Datenfeld*), `F60000001`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    pub id: String,
    pub version: Option<String>,
    pub name: String,
    /// `bezeichnungEingabe`.
    pub label: Option<String>,
    /// `hilfetextEingabe`.
    pub hint: Option<String>,
    pub schemaelementart: Option<String>,
    pub feldart: Feldart,
    pub datentyp: Datentyp,
    /// `praezisierung/@minLength`.
    pub min_length: Option<u32>,
    /// `praezisierung/@maxLength`.
    pub max_length: Option<u32>,
    /// `praezisierung/@minValue`, as written: a number or a date, depending on `datentyp`.
    pub min_value: Option<String>,
    /// `praezisierung/@maxValue`.
    pub max_value: Option<String>,
    /// `praezisierung/@pattern`, an XML Schema regular expression.
    pub pattern: Option<String>,
    /// `inhalt`: the text of a `label` field, or a default value.
    pub content: Option<String>,
    /// `vorbefuellung/code`: `keine`, `optional` or `verpflichtend`, as written.
    pub vorbefuellung: Option<String>,
    /// `werte/wert`: the options of a selection given in the field itself.
    pub values: Vec<CodeValue>,
    /// `codelisteReferenz`: the options of a selection kept in a code list elsewhere.
    pub code_list: Option<CodeListRef>,
    /// `maxSize`, as written (a file field's largest size).
    pub max_size: Option<String>,
    /// `mediaType`: the MIME types a file field accepts.
    pub media_types: Vec<String>,
    pub rules: Vec<Rule>,
}

/// `feldart/code`: how the citizen interacts with the field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Feldart {
    /// `input`: the citizen enters a value.
    Input,
    /// `select`: the citizen picks from values or a code list.
    Select,
    /// `label`: a text shown, nothing asked.
    Label,
    /// `hidden`: a value the system fills in, not shown.
    Hidden,
    /// `locked`: a value shown but not editable (pre-filled).
    Locked,
}

impl Feldart {
    pub const ALL: [Feldart; 5] = [
        Feldart::Input,
        Feldart::Select,
        Feldart::Label,
        Feldart::Hidden,
        Feldart::Locked,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Feldart::Input => "input",
            Feldart::Select => "select",
            Feldart::Label => "label",
            Feldart::Hidden => "hidden",
            Feldart::Locked => "locked",
        }
    }

    pub fn from_code(code: &str) -> Option<Feldart> {
        Feldart::ALL.into_iter().find(|f| f.code() == code)
    }
}

/// `datentyp/code`: the kind of value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Datentyp {
    Text,
    /// Text restricted to the Latin characters of DIN 91379.
    TextLatin,
    Date,
    Time,
    Datetime,
    Bool,
    /// A decimal number.
    Num,
    NumInt,
    NumCurrency,
    File,
    /// A binary object.
    Obj,
}

impl Datentyp {
    pub const ALL: [Datentyp; 11] = [
        Datentyp::Text,
        Datentyp::TextLatin,
        Datentyp::Date,
        Datentyp::Time,
        Datentyp::Datetime,
        Datentyp::Bool,
        Datentyp::Num,
        Datentyp::NumInt,
        Datentyp::NumCurrency,
        Datentyp::File,
        Datentyp::Obj,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Datentyp::Text => "text",
            Datentyp::TextLatin => "text_latin",
            Datentyp::Date => "date",
            Datentyp::Time => "time",
            Datentyp::Datetime => "datetime",
            Datentyp::Bool => "bool",
            Datentyp::Num => "num",
            Datentyp::NumInt => "num_int",
            Datentyp::NumCurrency => "num_currency",
            Datentyp::File => "file",
            Datentyp::Obj => "obj",
        }
    }

    pub fn from_code(code: &str) -> Option<Datentyp> {
        Datentyp::ALL.into_iter().find(|d| d.code() == code)
    }
}

/// One `werte/wert`: a code and its name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeValue {
    pub code: String,
    pub name: String,
    /// `hilfe`.
    pub hint: Option<String>,
}

/// A `codelisteReferenz`: which code list (in XRepository) holds the options.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodeListRef {
    /// `canonicalIdentification`, e.g. `urn:de:dataport:codeliste:geschlecht`.
    pub canonical_id: String,
    /// `version` of the code list.
    pub version: Option<String>,
    /// `canonicalVersionUri`.
    pub canonical_version_uri: Option<String>,
}

impl CodeListRef {
    /// The reference as one string, for messages: the version URI where there is one.
    pub fn reference(&self) -> String {
        match (&self.canonical_version_uri, &self.version) {
            (Some(uri), _) => uri.clone(),
            (None, Some(v)) => format!("{} (Version {v})", self.canonical_id),
            (None, None) => self.canonical_id.clone(),
        }
    }
}

/// A rule (*Regel*), `R60000001`. In XDatenfelder rules are prose for people, not code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rule {
    pub id: String,
    pub version: Option<String>,
    pub name: String,
    /// `freitextRegel`.
    pub prose: Option<String>,
    /// `typ/code`: `K`, `M`, `V` or `B`, as written.
    pub typ: Option<String>,
}
