//! The [model](crate::model) to the text of a Baukasten service file (the import).
//!
//! The result is a starting point a clerk edits, not a finished service: XDatenfelder says
//! what is asked, not how the form is cut into pages, what a rule computes or which code
//! list values apply. So the text says in YAML comments (German, for the clerk) what has to
//! be done by hand, and [`Import::warnings`] says the same for the command line. Every field
//! and group carries `fim: { id, version }`, so the way back to FIM stays known.
//!
//! The mapping, in one place (`docs/xdatenfelder.md` shows it as a table):
//! - each `datenfeldgruppe` becomes an entry under `groups:` (once per id and version), used
//!   by a field of type `group` (`anzahl` at most 1) or `repeat` (more);
//! - each top-level group gets a step of its own; top-level fields in a row share one step;
//! - a `datenfeld` becomes a field by `feldart` and `datentyp` (see `field_kind`);
//! - `anzahl` `1:1` is `required: true`; a field that may occur more than once is a `repeat`
//!   around it, with `min_items`/`max_items`;
//! - rules are prose: they become comments saying the rule must be written by hand.
//!
//! The text is built line by line rather than serialised, because it carries comments and
//! follows the style of the catalog's files (`forms/*.yaml`).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use serde::Serialize;

use crate::model::{CodeListRef, Datentyp, Element, Feldart, Field, Group, Item, Rule, Schema};

/// The service text and what the clerk must look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Import {
    pub yaml: String,
    pub warnings: Vec<Warning>,
}

/// Something the import could not carry over, or that needs a person: a code list to fill
/// in, a rule to write, a detail left out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The FIM element concerned: `F60000001`, `G60000001`, `R60000001`, `S60000001`.
    pub element: String,
    /// In English.
    pub message: String,
    /// The same in German, for the clerk.
    pub message_de: String,
}

/// A message in German and English.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Said {
    de: String,
    en: String,
}

fn said(de: impl Into<String>, en: impl Into<String>) -> Said {
    Said {
        de: de.into(),
        en: en.into(),
    }
}

/// Turns a schema into the text of a service file (`forms/<service>.yaml`).
pub fn to_service_yaml(schema: &Schema) -> Import {
    let mut registry = Registry::default();
    registry.collect(&schema.elements);

    let mut w = Writer {
        inline_lists: false,
        out: String::new(),
        warnings: Vec::new(),
        registry: &registry,
    };
    w.header(schema);
    w.lists();
    w.groups();
    w.steps(schema);
    Import {
        yaml: w.out,
        warnings: w.warnings,
    }
}

/// A group of the catalog the import may use instead of writing it again: one already in a
/// group file, known by its FIM id and version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KnownGroup {
    pub name: String,
    pub fim_id: Option<String>,
    pub fim_version: Option<String>,
}

/// An import whose groups go into files of the catalog's own (`forms/gruppen/<name>.yaml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CatalogImport {
    /// The service file, using the groups by name.
    pub service: String,
    /// New group files: the group's name and the file's text. Groups the catalog has already
    /// (same FIM id and version) are used, not written again.
    pub groups: Vec<(String, String)>,
    pub warnings: Vec<Warning>,
}

/// Like [`to_service_yaml`], with each group in a file of its own for the whole catalog to
/// use. `known` are the catalog's groups: one with the same FIM id and version is used as it
/// is; no new group takes the name of a known one.
pub fn to_catalog_files(schema: &Schema, known: &[KnownGroup]) -> CatalogImport {
    let mut registry = Registry::default();
    for k in known {
        registry.names_of_groups.0.insert(k.name.clone());
        if let Some(id) = &k.fim_id {
            registry
                .group_names
                .insert((id.clone(), k.fim_version.clone()), k.name.clone());
        }
    }
    registry.collect(&schema.elements);
    let mut w = Writer {
        inline_lists: true,
        out: String::new(),
        warnings: Vec::new(),
        registry: &registry,
    };
    let mut groups = Vec::new();
    for (group, name) in &registry.groups {
        w.out.clear();
        w.group_file(group, name);
        groups.push((name.clone(), std::mem::take(&mut w.out)));
    }
    w.header(schema);
    w.steps(schema);
    CatalogImport {
        service: w.out,
        groups,
        warnings: w.warnings,
    }
}

// ------------------------------------------------------------------ names

/// Turns a FIM name ("Anschrift Inland Straßenanschrift") into an identifier of the language
/// (`anschrift_inland_strassenanschrift`): lower case, umlauts spelt out, other characters
/// turned into `_`, starting with a letter.
fn identifier(text: &str) -> String {
    let mut out = String::new();
    for c in text.trim().chars() {
        match c {
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' | 'ẞ' => out.push_str("ss"),
            c if c.is_ascii_alphanumeric() => out.push(c.to_ascii_lowercase()),
            _ if !out.ends_with('_') && !out.is_empty() => out.push('_'),
            _ => {}
        }
    }
    out.trim_matches('_')
        .trim_start_matches(|c: char| c.is_ascii_digit() || c == '_')
        .to_string()
}

/// Names given out in one scope (a service's fields, a group's fields, the lists, …), made
/// unique by a suffix: `plz`, `plz_2`.
#[derive(Default)]
struct Names(HashSet<String>);

impl Names {
    fn unique(&mut self, text: &str, fallback: &str) -> String {
        let mut base = identifier(text);
        if base.is_empty() {
            base = fallback.to_string();
        }
        let mut name = base.clone();
        let mut n = 1;
        while !self.0.insert(name.clone()) {
            n += 1;
            name = format!("{base}_{n}");
        }
        name
    }
}

/// The groups and code lists of the schema, each once, with the name it gets in the file.
#[derive(Default)]
struct Registry<'s> {
    groups: Vec<(&'s Group, String)>,
    group_names: HashMap<(String, Option<String>), String>,
    lists: Vec<(&'s CodeListRef, &'s Field, String)>,
    list_names: HashMap<(String, Option<String>), String>,
    names_of_groups: Names,
    names_of_lists: Names,
}

impl<'s> Registry<'s> {
    /// Walks the tree depth first, so groups and lists are listed in the order a reader of
    /// the schema meets them.
    fn collect(&mut self, items: &'s [Item]) {
        for item in items {
            match &item.element {
                Element::Group(group) => {
                    let key = (group.id.clone(), group.version.clone());
                    if !self.group_names.contains_key(&key) {
                        let name = self.names_of_groups.unique(&group.name, "gruppe");
                        self.group_names.insert(key, name.clone());
                        self.groups.push((group, name));
                        self.collect(&group.items);
                    }
                }
                Element::Field(field) => {
                    if let Some(list) = &field.code_list
                        && field.feldart == Feldart::Select
                    {
                        let key = (list.canonical_id.clone(), list.version.clone());
                        if !self.list_names.contains_key(&key) {
                            // `urn:de:dataport:codeliste:geschlecht` → `geschlecht`.
                            let last = list.canonical_id.rsplit([':', '/']).next().unwrap_or("");
                            let base = if identifier(last).is_empty() { &field.name } else { last };
                            let name = self.names_of_lists.unique(base, "liste");
                            self.list_names.insert(key, name.clone());
                            self.lists.push((list, field, name));
                        }
                    }
                }
            }
        }
    }

    fn group_name(&self, group: &Group) -> &str {
        self.group_names
            .get(&(group.id.clone(), group.version.clone()))
            .map_or("gruppe", String::as_str)
    }

    fn list_name(&self, list: &CodeListRef) -> &str {
        self.list_names
            .get(&(list.canonical_id.clone(), list.version.clone()))
            .map_or("liste", String::as_str)
    }
}

// ------------------------------------------------------------------ the field mapping

/// What a data field becomes: the field type, its keys in order, and the comments and
/// warnings that go with it.
struct Mapped {
    kind: &'static str,
    keys: Vec<(&'static str, String)>,
    comments: Vec<String>,
    warnings: Vec<Said>,
}

/// Whole input must match, like the language's `pattern`.
pub(crate) const TIME_PATTERN: &str = "([01][0-9]|2[0-3]):[0-5][0-9]";
pub(crate) const DATETIME_PATTERN: &str =
    r"(0[1-9]|[12][0-9]|3[01])\.(0[1-9]|1[0-2])\.[0-9]{4} ([01][0-9]|2[0-3]):[0-5][0-9]";

/// The field type a data field becomes, by `feldart` and `datentyp`. The one place that
/// decides it; `map_field` adds the keys.
fn field_kind(field: &Field) -> &'static str {
    match field.feldart {
        Feldart::Label => "info",
        Feldart::Select => "choice",
        Feldart::Input | Feldart::Locked | Feldart::Hidden => match field.datentyp {
            Datentyp::Text | Datentyp::TextLatin => {
                if field.max_length.is_some_and(|n| n > 200) {
                    "textarea"
                } else {
                    "text"
                }
            }
            Datentyp::Date => "date",
            Datentyp::Time | Datentyp::Datetime => "text",
            Datentyp::Bool => "yes_no",
            Datentyp::Num => "decimal",
            Datentyp::NumInt => "integer",
            Datentyp::NumCurrency => "money",
            Datentyp::File | Datentyp::Obj => "file",
        },
    }
}

fn map_field(field: &Field, registry: &Registry<'_>) -> Mapped {
    let kind = field_kind(field);
    let mut m = Mapped {
        kind,
        keys: Vec::new(),
        comments: Vec::new(),
        warnings: Vec::new(),
    };
    let textual = matches!(kind, "text" | "textarea");
    let numeric = matches!(kind, "integer" | "decimal" | "money");

    match field.feldart {
        Feldart::Label => {
            if let (Some(_), Some(label)) = (&field.content, &field.label) {
                m.keys.push(("label", scalar(label)));
            }
            let text = field.content.as_ref().or(field.label.as_ref()).unwrap_or(&field.name);
            m.keys.push(("text", scalar(text)));
            return m;
        }
        Feldart::Select => {
            if !field.values.is_empty() {
                let widget = if field.values.len() > 5 { "select" } else { "radio" };
                m.keys.push(("widget", widget.into()));
                let mut options = String::new();
                for value in &field.values {
                    options.push_str(&format!(
                        "\n- {{ value: {}, label: {}",
                        flow_scalar(&value.code),
                        flow_scalar(&value.name)
                    ));
                    if let Some(hint) = &value.hint {
                        options.push_str(&format!(", hint: {}", flow_scalar(hint)));
                    }
                    options.push_str(" }");
                }
                m.keys.push(("options", options));
                if field.code_list.is_some() {
                    m.warnings.push(said(
                        "hat Werte und eine Codeliste; übernommen sind die Werte, der Verweis auf die Codeliste fehlt",
                        "has both values and a code list; the values were taken, the code list reference was left out",
                    ));
                }
            } else if let Some(list) = &field.code_list {
                m.keys.push(("widget", "select".into()));
                m.keys.push(("list", registry.list_name(list).into()));
            } else {
                m.keys.push(("widget", "select".into()));
                m.keys.push(("options", "[]".into()));
                m.comments.push(
                    "TODO: FIM nennt für dieses Auswahlfeld weder Werte noch eine Codeliste; \
                     tragen Sie die Möglichkeiten unter `options:` ein."
                        .into(),
                );
                m.warnings.push(said(
                    "ein Auswahlfeld ohne Werte und ohne Codeliste; tragen Sie die Möglichkeiten ein",
                    "a selection without values or a code list; its options must be added",
                ));
            }
        }
        Feldart::Input | Feldart::Locked | Feldart::Hidden => {}
    }

    if field.feldart == Feldart::Locked {
        m.comments.push(
            "FIM: Das Feld ist gesperrt (locked): dort vorbefüllt und nicht änderbar. Hier \
             füllen es die Bürger:innen selbst aus."
                .into(),
        );
        m.warnings.push(said(
            "ein gesperrtes (vorbefülltes, nicht änderbares) Feld; übernommen als Feld, das die Bürger:innen ausfüllen",
            "a locked (pre-filled, read-only) field; it was taken as a field the citizen fills in",
        ));
    }

    match field.datentyp {
        Datentyp::Time if kind == "text" => {
            m.keys.push(("pattern", single_quoted(TIME_PATTERN)));
            m.keys.push((
                "pattern_message",
                scalar("Bitte geben Sie die Uhrzeit in Stunden und Minuten an, zum Beispiel 14:30."),
            ));
            m.warnings.push(said(
                "eine Uhrzeit (`time`) wurde ein Textfeld mit einem Muster für HH:MM",
                "a time (`time`) became a text field with a pattern for HH:MM",
            ));
        }
        Datentyp::Datetime if kind == "text" => {
            m.keys.push(("pattern", single_quoted(DATETIME_PATTERN)));
            m.keys.push((
                "pattern_message",
                scalar("Bitte geben Sie Datum und Uhrzeit an, zum Beispiel 24.12.2026 14:30."),
            ));
            m.warnings.push(said(
                "Datum und Uhrzeit (`datetime`) wurden ein Textfeld mit einem Muster für TT.MM.JJJJ HH:MM",
                "a date and time (`datetime`) became a text field with a pattern for DD.MM.YYYY HH:MM",
            ));
        }
        Datentyp::TextLatin if textual => m.warnings.push(said(
            "`text_latin` (die Zeichen nach DIN 91379) wurde einfacher Text; die Zeichen werden nicht geprüft",
            "`text_latin` (the characters of DIN 91379) became plain text; the characters are not checked",
        )),
        Datentyp::Obj if kind == "file" => {
            m.warnings.push(said(
                "ein binäres Objekt (`obj`) wurde ein Datei-Upload",
                "a binary object (`obj`) became a file upload",
            ));
        }
        _ => {}
    }

    // Lengths.
    if field.min_length.is_some() || field.max_length.is_some() {
        if textual {
            // At least one character says nothing: an empty answer is no answer.
            if let Some(n) = field.min_length.filter(|n| *n > 1) {
                m.keys.push(("min_length", n.to_string()));
            }
            if let Some(n) = field.max_length {
                m.keys.push(("max_length", n.to_string()));
            }
        } else if field.feldart != Feldart::Select {
            m.warnings.push(said(
                format!("`minLength`/`maxLength` passen nicht zu einem Feld vom Typ `{kind}`; weggelassen"),
                format!("`minLength`/`maxLength` do not apply to a field of type `{kind}`; left out"),
            ));
        }
    }

    // Bounds.
    for (key, value) in [("min", &field.min_value), ("max", &field.max_value)] {
        let Some(value) = value else { continue };
        let fim_key = if key == "min" { "minValue" } else { "maxValue" };
        if numeric && is_decimal(value) {
            m.keys.push((
                key,
                if value.contains('.') {
                    format!("\"{value}\"")
                } else {
                    value.clone()
                },
            ));
        } else if kind == "date" && is_iso_date(value) {
            m.keys.push((key, value.clone()));
        } else {
            m.warnings.push(said(
                format!("`{fim_key}` `{value}` passt nicht zu einem Feld vom Typ `{kind}`; weggelassen"),
                format!("`{fim_key}` `{value}` does not fit a field of type `{kind}`; left out"),
            ));
        }
    }

    // Pattern, unless the type brings its own.
    if let Some(pattern) = &field.pattern {
        let own = matches!(field.datentyp, Datentyp::Time | Datentyp::Datetime);
        if !textual || own {
            m.warnings.push(said(
                format!("das Muster `{pattern}` passt nicht zu einem Feld vom Typ `{kind}`; weggelassen"),
                format!("the pattern `{pattern}` does not apply to a field of type `{kind}`; left out"),
            ));
        } else if regex::Regex::new(&format!("^(?:{pattern})$")).is_err() || pattern.contains('\n') {
            m.comments.push(format!(
                "TODO: FIM gibt das Muster {} vor; Baukasten kann es so nicht lesen. Schreiben \
                 Sie es als `pattern` mit `pattern_message` neu.",
                single_quoted(pattern)
            ));
            m.warnings.push(said(format!("das Muster `{pattern}` ist kein regulärer Ausdruck, den Baukasten liest (XML-Schema-Schreibweise?); schreiben Sie es von Hand neu"), format!("the pattern `{pattern}` is not a regular expression Baukasten reads (XML Schema syntax?); it must be rewritten by hand")));
        } else {
            m.keys.push(("pattern", single_quoted(pattern)));
            m.keys.push((
                "pattern_message",
                scalar("Bitte prüfen Sie Ihre Eingabe: Sie hat nicht die erwartete Form."),
            ));
        }
    }

    // Files.
    if kind == "file" {
        let mut accept = Vec::new();
        for media_type in &field.media_types {
            match accept_word(media_type) {
                Some(word) if !accept.contains(&word) => accept.push(word),
                Some(_) => {}
                None => m.warnings.push(said(format!("den Dateityp `{media_type}` nimmt Baukasten nicht an (pdf, jpeg, png, tiff, heic, webp); weggelassen"), format!("the media type `{media_type}` is not one Baukasten accepts (pdf, jpeg, png, tiff, heic, webp); left out"))),
            }
        }
        if !accept.is_empty() {
            m.keys.push(("accept", format!("[{}]", accept.join(", "))));
        }
        if let Some(size) = &field.max_size {
            m.comments.push(format!(
                "TODO: FIM begrenzt die Dateigröße auf {size}; tragen Sie `max_size` (z. B. \
                 `10 MB`) ein."
            ));
            m.warnings.push(said(
                format!("die größte Dateigröße `{size}` ist von Hand einzutragen"),
                format!("the largest file size `{size}` must be set by hand"),
            ));
        }
    }

    if field.content.is_some() && field.feldart != Feldart::Label {
        m.warnings.push(said(
            "der Vorgabewert (`inhalt`) wurde weggelassen",
            "the default value (`inhalt`) was left out",
        ));
    }
    if matches!(field.vorbefuellung.as_deref(), Some("optional" | "verpflichtend")) {
        m.warnings.push(said("FIM sieht eine Vorbefüllung vor (`vorbefuellung`), etwa aus einem Nutzerkonto; Baukasten befüllt nicht vor", "FIM asks for pre-filling (`vorbefuellung`), e.g. from a user account; Baukasten does not pre-fill"));
    }
    m
}

fn accept_word(media_type: &str) -> Option<&'static str> {
    match media_type.trim().to_ascii_lowercase().as_str() {
        "application/pdf" => Some("pdf"),
        "image/jpeg" | "image/jpg" => Some("jpeg"),
        "image/png" => Some("png"),
        "image/tiff" => Some("tiff"),
        "image/heic" | "image/heif" => Some("heic"),
        "image/webp" => Some("webp"),
        _ => None,
    }
}

// ------------------------------------------------------------------ the text

struct Writer<'r, 's> {
    /// Code lists as inline `options: []` to fill, not as `lists:` of the service: group files
    /// of the catalog have no lists of their own.
    inline_lists: bool,
    out: String,
    warnings: Vec<Warning>,
    registry: &'r Registry<'s>,
}

impl Writer<'_, '_> {
    fn line(&mut self, indent: usize, text: &str) {
        let _ = writeln!(self.out, "{:indent$}{text}", "");
    }

    /// A comment, wrapped at about 96 columns; the text's own line breaks are kept.
    fn comment(&mut self, indent: usize, text: &str) {
        let width = 96usize.saturating_sub(indent + 2).max(40);
        for paragraph in text.lines() {
            let mut line = String::new();
            for word in paragraph.split_whitespace() {
                if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
                    self.line(indent, &format!("# {line}"));
                    line.clear();
                }
                if !line.is_empty() {
                    line.push(' ');
                }
                line.push_str(word);
            }
            if line.is_empty() {
                self.line(indent, "#");
            } else {
                self.line(indent, &format!("# {line}"));
            }
        }
    }

    fn warn(&mut self, element: &str, message: Said) {
        self.warnings.push(Warning {
            element: element.to_string(),
            message: message.en,
            message_de: message.de,
        });
    }

    fn rules(&mut self, indent: usize, rules: &[Rule]) {
        for rule in rules {
            let mut text = format!(
                "TODO: Regel {} „{}“ aus FIM – als `rules:` (oder `visible_if`/`required_if`) \
                 von Hand schreiben.",
                versioned(&rule.id, rule.version.as_deref()),
                rule.name
            );
            if let Some(prose) = &rule.prose {
                text.push('\n');
                text.push_str(prose);
            }
            self.comment(indent, &text);
            self.warn(
                &rule.id,
                said(
                    format!("die Regel „{}“ ist Prosa; schreiben Sie sie von Hand", rule.name),
                    format!("the rule „{}“ is prose; it must be written by hand", rule.name),
                ),
            );
        }
    }

    fn header(&mut self, schema: &Schema) {
        self.comment(
            0,
            &format!(
                "Aus FIM übernommen: {} {}. Prüfen Sie jede Stelle mit TODO, die Schritte und \
                 die Texte, bevor Sie den Dienst veröffentlichen.",
                if schema.id.starts_with('G') {
                    "Datenfeldgruppe"
                } else {
                    "Stammdatenschema"
                },
                versioned_name(&schema.id, schema.version.as_deref(), &schema.name),
            ),
        );
        self.rules(0, &schema.rules);
        let service = Names::default().unique(&schema.name, "dienst");
        self.line(0, &format!("service: {service}"));
        self.line(0, "version: 1.0.0");
        let title = schema.label.as_ref().unwrap_or(&schema.name);
        self.line(0, &format!("title: {}", scalar(title)));
        if let Some(hint) = &schema.hint {
            self.line(0, &format!("description: {}", scalar(hint)));
        }
        if schema.elements.is_empty() {
            self.warn(
                &schema.id,
                said(
                    "das Schema hat keine Elemente; der Dienst fragt nichts ab",
                    "the schema has no elements; the service has nothing to ask",
                ),
            );
        }
    }

    fn lists(&mut self) {
        if self.registry.lists.is_empty() {
            return;
        }
        self.line(0, "");
        self.line(0, "lists:");
        let registry = self.registry;
        for (list, field, name) in &registry.lists {
            self.comment(
                2,
                &format!(
                    "TODO: Codeliste {} eintragen (für FIM-Feld {} „{}“). Bis dahin bietet das \
                     Auswahlfeld nichts zur Auswahl an.",
                    list.reference(),
                    field.id,
                    field.name
                ),
            );
            self.line(2, &format!("{name}: []"));
            self.warn(
                &field.id,
                said(
                    format!(
                        "die Codeliste {} ist unter `lists: {name}` einzutragen",
                        list.reference()
                    ),
                    format!(
                        "the code list {} must be filled in under `lists: {name}`",
                        list.reference()
                    ),
                ),
            );
        }
    }

    /// A group as a file of the catalog: `group: <name>`, its label, FIM id and fields.
    fn group_file(&mut self, group: &Group, name: &str) {
        self.comment(
            0,
            &format!(
                "Aus FIM übernommen: Datenfeldgruppe {}. Jeder Dienst des Katalogs kann sie mit \
                 `use: {name}` verwenden; wer ihre Felder ändert, ändert die Daten aller dieser Dienste.",
                versioned_name(&group.id, group.version.as_deref(), &group.name)
            ),
        );
        self.rules(0, &group.rules);
        if let Some(hint) = &group.hint {
            self.comment(0, &format!("Hilfetext aus FIM: {hint}"));
        }
        self.line(0, &format!("group: {name}"));
        self.line(
            0,
            &format!("label: {}", scalar(group.label.as_ref().unwrap_or(&group.name))),
        );
        self.line(0, &fim_key(&group.id, group.version.as_deref()));
        if group.items.is_empty() {
            self.line(0, "fields: []");
            self.warn(
                &group.id,
                said("die Gruppe hat keine Elemente", "the group has no elements"),
            );
            return;
        }
        self.line(0, "fields:");
        let mut names = Names::default();
        for item in &group.items {
            self.item(2, item, &mut names);
        }
    }

    fn groups(&mut self) {
        if self.registry.groups.is_empty() {
            return;
        }
        self.line(0, "");
        self.line(0, "groups:");
        let registry = self.registry;
        for (group, name) in &registry.groups {
            self.rules(2, &group.rules);
            self.line(2, &format!("{name}:"));
            self.line(
                4,
                &format!("label: {}", scalar(group.label.as_ref().unwrap_or(&group.name))),
            );
            if let Some(hint) = &group.hint {
                // A group object has no hint of its own; keep the text for the clerk.
                self.comment(4, &format!("Hilfetext aus FIM: {hint}"));
            }
            self.line(4, &fim_key(&group.id, group.version.as_deref()));
            if group.items.is_empty() {
                self.line(4, "fields: []");
                self.warn(
                    &group.id,
                    said("die Gruppe hat keine Elemente", "the group has no elements"),
                );
            } else {
                self.line(4, "fields:");
            }
            let mut names = Names::default();
            for item in &group.items {
                self.item(6, item, &mut names);
            }
        }
    }

    fn steps(&mut self, schema: &Schema) {
        self.line(0, "");
        if schema.elements.is_empty() {
            self.line(0, "steps: []");
            return;
        }
        self.line(0, "steps:");
        let mut step_names = Names::default();
        let mut field_names = Names::default();
        let mut run: Vec<&Item> = Vec::new();
        for item in &schema.elements {
            match &item.element {
                Element::Group(group) => {
                    self.field_step(&mut run, &mut step_names, &mut field_names);
                    let id = step_names.unique(&group.name, "schritt");
                    self.line(2, &format!("- id: {id}"));
                    let title = group.label.as_ref().unwrap_or(&group.name);
                    self.line(4, &format!("title: {}", scalar(title)));
                    self.line(4, "fields:");
                    self.item(6, item, &mut field_names);
                }
                Element::Field(_) => run.push(item),
            }
        }
        self.field_step(&mut run, &mut step_names, &mut field_names);
    }

    /// One step for fields in a row at the top of the schema.
    fn field_step(&mut self, run: &mut Vec<&Item>, steps: &mut Names, fields: &mut Names) {
        if run.is_empty() {
            return;
        }
        let shown = run
            .iter()
            .any(|i| !matches!(&i.element, Element::Field(f) if f.feldart == Feldart::Hidden));
        if shown {
            let id = steps.unique("angaben", "angaben");
            self.line(2, &format!("- id: {id}"));
            self.line(4, "title: Angaben");
            self.line(4, "fields:");
        }
        for item in run.drain(..) {
            self.item(6, item, fields);
        }
    }

    /// One entry of a `fields:` list, its `- ` at `indent`.
    fn item(&mut self, indent: usize, item: &Item, names: &mut Names) {
        let inner = indent + 2;
        match &item.element {
            Element::Group(group) => {
                let use_name = self.registry.group_name(group).to_string();
                let id = names.unique(&group.name, "gruppe");
                let label = group.label.as_ref().unwrap_or(&group.name);
                if item.repeats() {
                    self.line(indent, &format!("- id: {id}"));
                    self.line(inner, "type: repeat");
                    self.line(inner, &format!("use: {use_name}"));
                    self.line(inner, &format!("label: {}", scalar(label)));
                    self.line(inner, &format!("item_label: {}", scalar(label)));
                    self.repeat_bounds(inner, item);
                } else {
                    if item.min == 0 {
                        self.comment(
                            indent,
                            "FIM: Die Gruppe ist optional (0:1). Baukasten verlangt ihre \
                             Pflichtfelder trotzdem; soll sie wegfallen können, regeln Sie das mit \
                             `visible_if`.",
                        );
                        self.warn(&group.id, said("eine optionale Gruppe (0:1): ihre Pflichtfelder sind immer Pflicht, bis ein `visible_if` sagt, wann die Gruppe gilt", "an optional group (0:1): its required fields are required always until a `visible_if` says when the group applies"));
                    }
                    self.line(indent, &format!("- id: {id}"));
                    self.line(inner, "type: group");
                    self.line(inner, &format!("use: {use_name}"));
                    self.line(inner, &format!("label: {}", scalar(label)));
                }
            }
            Element::Field(field) if field.feldart == Feldart::Hidden => {
                self.comment(
                    indent,
                    &format!(
                        "FIM: Das verborgene Feld {} (hidden) ist nicht übernommen: Es wird \
                         nicht abgefragt, sondern vom Verfahren gesetzt.",
                        versioned_name(&field.id, field.version.as_deref(), &field.name)
                    ),
                );
                self.warn(
                    &field.id,
                    said(
                        "ein verborgenes Feld (vom Verfahren gesetzt, nicht abgefragt) wurde weggelassen",
                        "a hidden field (set by the system, not asked) was left out",
                    ),
                );
            }
            Element::Field(field) if item.repeats() => {
                let id = names.unique(&field.name, "feld");
                let label = field.label.as_ref().unwrap_or(&field.name);
                self.line(indent, &format!("- id: {id}"));
                self.line(inner, "type: repeat");
                self.line(inner, &format!("label: {}", scalar(label)));
                self.line(inner, &format!("item_label: {}", scalar(label)));
                self.repeat_bounds(inner, item);
                self.line(inner, "fields:");
                let mut own = Names::default();
                let id = own.unique(&field.name, "feld");
                let required = field.feldart != Feldart::Label;
                self.field(inner + 2, &id, field, required);
            }
            Element::Field(field) => {
                let id = names.unique(&field.name, "feld");
                self.field(indent, &id, field, item.is_required());
            }
        }
    }

    fn repeat_bounds(&mut self, indent: usize, item: &Item) {
        if item.min > 0 {
            self.line(indent, &format!("min_items: {}", item.min));
        }
        if let Some(max) = item.max {
            self.line(indent, &format!("max_items: {max}"));
        }
    }

    fn field(&mut self, indent: usize, id: &str, field: &Field, required: bool) {
        let inner = indent + 2;
        let mut mapped = map_field(field, self.registry);
        if self.inline_lists
            && let Some(list) = &field.code_list
            && let Some(entry) = mapped.keys.iter_mut().find(|(k, _)| *k == "list")
        {
            *entry = ("options", "[]".into());
            mapped.comments.push(format!(
                "TODO: Codeliste {} als `options:` eintragen. Bis dahin bietet das Auswahlfeld \
                 nichts zur Auswahl an.",
                list.reference()
            ));
            mapped.warnings.push(said(
                format!(
                    "die Codeliste {} ist als `options:` des Feldes einzutragen",
                    list.reference()
                ),
                format!(
                    "the code list {} must be filled in as the field's `options:`",
                    list.reference()
                ),
            ));
        }
        self.rules(indent, &field.rules);
        for comment in &mapped.comments {
            self.comment(indent, comment);
        }
        for warning in mapped.warnings {
            self.warn(&field.id, warning);
        }
        self.line(indent, &format!("- id: {id}"));
        self.line(inner, &format!("type: {}", mapped.kind));
        if mapped.kind != "info" {
            self.line(
                inner,
                &format!("label: {}", scalar(field.label.as_ref().unwrap_or(&field.name))),
            );
            if let Some(hint) = &field.hint {
                self.line(inner, &format!("hint: {}", scalar(hint)));
            }
            if required {
                self.line(inner, "required: true");
            }
        }
        for (key, value) in &mapped.keys {
            if let Some(list) = value.strip_prefix('\n') {
                self.line(inner, &format!("{key}:"));
                for entry in list.split('\n') {
                    self.line(inner + 2, entry);
                }
            } else {
                self.line(inner, &format!("{key}: {value}"));
            }
        }
        self.line(inner, &fim_key(&field.id, field.version.as_deref()));
    }
}

fn fim_key(id: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("fim: {{ id: {}, version: {} }}", flow_scalar(id), double_quoted(v)),
        None => format!("fim: {{ id: {} }}", flow_scalar(id)),
    }
}

fn versioned(id: &str, version: Option<&str>) -> String {
    match version {
        Some(v) => format!("{id} Version {v}"),
        None => id.to_string(),
    }
}

fn versioned_name(id: &str, version: Option<&str>, name: &str) -> String {
    format!("{} „{name}“", versioned(id, version))
}

// ------------------------------------------------------------------ YAML scalars

/// A text as a YAML scalar in block context: plain where that is unambiguous, else in double
/// quotes.
fn scalar(text: &str) -> String {
    if is_plain(text, false) {
        text.to_string()
    } else {
        double_quoted(text)
    }
}

/// A text inside `{ … }`, where commas, brackets and `?` need quotes too.
fn flow_scalar(text: &str) -> String {
    if is_plain(text, true) {
        text.to_string()
    } else {
        double_quoted(text)
    }
}

fn is_plain(text: &str, flow: bool) -> bool {
    let Some(first) = text.chars().next() else { return false };
    let reserved = ["true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"];
    !(text.trim() != text
        || "-?:,[]{}#&*!|>'\"%@`.+0123456789".contains(first)
        || text.contains(": ")
        || text.contains(" #")
        || text.ends_with(':')
        || text.chars().any(char::is_control)
        || (flow && text.contains([',', '[', ']', '{', '}', '?']))
        || reserved.contains(&text.to_ascii_lowercase().as_str()))
}

fn double_quoted(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A pattern in single quotes, where a backslash is just a backslash.
fn single_quoted(text: &str) -> String {
    if text.chars().any(char::is_control) {
        return double_quoted(text);
    }
    format!("'{}'", text.replace('\'', "''"))
}

fn is_decimal(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let (int, frac) = match t.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (t, None),
    };
    !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

fn is_iso_date(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_follow_the_language() {
        assert_eq!(
            identifier("Anschrift Inland Straßenanschrift"),
            "anschrift_inland_strassenanschrift"
        );
        assert_eq!(identifier("Größe (in cm)"), "groesse_in_cm");
        assert_eq!(identifier("1. Staatsangehörigkeit"), "staatsangehoerigkeit");
        assert_eq!(identifier("---"), "");
        let mut names = Names::default();
        assert_eq!(names.unique("PLZ", "feld"), "plz");
        assert_eq!(names.unique("Plz", "feld"), "plz_2");
        assert_eq!(names.unique("§", "feld"), "feld");
    }

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        assert_eq!(scalar("Vorname"), "Vorname");
        assert_eq!(scalar("Wem gehört es?"), "Wem gehört es?");
        assert_eq!(flow_scalar("Wem gehört es?"), "\"Wem gehört es?\"");
        assert_eq!(scalar("01"), "\"01\"");
        assert_eq!(scalar("ja"), "ja");
        assert_eq!(scalar("Yes"), "\"Yes\"");
        assert_eq!(scalar("Hinweis: bitte"), "\"Hinweis: bitte\"");
        assert_eq!(scalar("zwei\nZeilen \"x\""), "\"zwei\\nZeilen \\\"x\\\"\"");
        assert_eq!(single_quoted(r"[0-9]{5}"), r"'[0-9]{5}'");
        assert_eq!(single_quoted("it's"), "'it''s'");
    }
}
