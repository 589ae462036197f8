//! A Baukasten service to the [model](crate::model) (the export): what FIM calls a
//! Stammdatenschema, ready for [`crate::write()`].
//!
//! The mapping inverts the import ([`crate::service`]), so that importing, exporting and
//! importing again gives the same service, and exporting what an import made gives the same
//! XML again:
//! - a `group` or `repeat` field that `use:`s a group becomes that `datenfeldgruppe`, written
//!   once per group however often it is used, with the group's `fim:` id; its `name` is the
//!   group's name in the catalog;
//! - every other field becomes a `datenfeld`, its `name` the field's id; a `repeat` of one
//!   field of its own name becomes that field with its `anzahl`;
//! - `required: true` is `anzahl 1:1`, otherwise `0:1`; a repeat's `min_items`/`max_items`
//!   are its `anzahl` (`0:*` without a maximum);
//! - steps are not part of XDatenfelder: their fields follow one another at the top;
//! - a choice writes its options (its own or its `list:`'s) as `werte`; one whose list is
//!   empty (an import's code list still to fill) refers to the code list
//!   `urn:xoev-de:baukasten:codeliste:<list>`;
//! - the service's `rules:` become `regel`s with their German message as prose.
//!
//! Elements without a `fim:` id get one from the local range [`LOCAL_RANGE`]: `F`, `G`, `R`
//! or `S` and eight digits from `90000001` on, numbered in the order they are met, so the
//! same service always gets the same ids. FIM's own ids are given out by the FIM
//! repositories and do not use this range.

use std::collections::HashMap;

use baukasten_dsl::model::{Field as DslField, FieldKind, Service, Text};

use crate::model::{CodeListRef, CodeValue, Datentyp, Element, Feldart, Field, Group, Item, Rule, Schema};
use crate::service::{DATETIME_PATTERN, TIME_PATTERN};

/// Where the ids of elements that FIM does not know start: `F90000001`, `G90000001`, …
pub const LOCAL_RANGE: u32 = 90_000_001;

/// The code list a choice with `list: <name>` refers to.
pub const CODE_LIST_PREFIX: &str = "urn:xoev-de:baukasten:codeliste:";

/// The service as a Stammdatenschema.
pub fn from_service(service: &Service) -> Schema {
    let mut ids = Ids::default();
    let schema_id = ids.next('S');
    let mut elements = Vec::new();
    for step in &service.steps {
        for field in &step.fields {
            if let Some(item) = item(field, service, &mut ids) {
                elements.push(item);
            }
        }
    }
    let rules = service
        .rules
        .iter()
        .map(|rule| Rule {
            id: ids.next('R'),
            version: Some("1.0".into()),
            name: rule.id.clone().unwrap_or_else(|| rule.field.clone()),
            prose: Some(german(&rule.message)),
            typ: Some("V".into()),
        })
        .collect();
    Schema {
        id: schema_id,
        version: Some("1.0".into()),
        name: service.id.clone(),
        label: Some(german(&service.title)),
        hint: service.description.as_ref().map(german),
        rules,
        elements,
    }
}

/// Local ids, and the ids given to each used group (written once, referred to again).
#[derive(Default)]
struct Ids {
    next: u32,
    /// Each used group as first written, by name: a second use is the same element.
    groups: HashMap<String, Group>,
}

impl Ids {
    fn next(&mut self, letter: char) -> String {
        let id = format!("{letter}{}", LOCAL_RANGE + self.next);
        self.next += 1;
        id
    }

    /// The FIM id and version of a field, its own or a new local one.
    fn of(&mut self, letter: char, fim: Option<&baukasten_dsl::model::FimRef>) -> (String, Option<String>) {
        match fim {
            Some(f) => (f.id.clone(), f.version.clone()),
            None => (self.next(letter), Some("1.0".into())),
        }
    }
}

fn german(text: &Text) -> String {
    text.get("de").to_string()
}

fn nonempty(text: &Text) -> Option<String> {
    Some(german(text)).filter(|t| !t.is_empty())
}

/// One entry of a `fields:` list as an item of a `struktur`. `None` for what XDatenfelder
/// cannot say (nothing at present).
fn item(field: &DslField, service: &Service, ids: &mut Ids) -> Option<Item> {
    match &field.kind {
        FieldKind::Group { fields } => Some(Item {
            element: Element::Group(group(field, fields, service, ids)),
            min: 1,
            max: Some(1),
        }),
        FieldKind::Repeat {
            fields,
            min_items,
            max_items,
            ..
        } => {
            let (min, max) = (min_items.unwrap_or(0), *max_items);
            // The import's repeat around one field: that field, repeated.
            if field.uses.is_none()
                && let [only] = fields.as_slice()
                && only.id == field.id
                && only.kind.children().is_none()
            {
                return Some(Item {
                    element: Element::Field(data_field(only, service, ids)),
                    min,
                    max,
                });
            }
            Some(Item {
                element: Element::Group(group(field, fields, service, ids)),
                min,
                max,
            })
        }
        _ => Some(Item {
            element: Element::Field(data_field(field, service, ids)),
            min: u32::from(field.required),
            max: Some(1),
        }),
    }
}

/// A group or repeat field as a `datenfeldgruppe`: the group it uses (once per group), or its
/// own fields.
fn group(field: &DslField, fields: &[DslField], service: &Service, ids: &mut Ids) -> Group {
    let (name, label, fim) = match &field.uses {
        Some(used) => (
            used.name.clone(),
            used.label
                .as_ref()
                .and_then(nonempty)
                .or_else(|| nonempty(&field.label)),
            used.fim.as_ref(),
        ),
        None => (field.id.clone(), nonempty(&field.label), field.fim.as_ref()),
    };
    if field.uses.is_some()
        && let Some(known) = ids.groups.get(&name)
    {
        return known.clone();
    }
    let (id, version) = ids.of('G', fim);
    let items = fields.iter().filter_map(|f| item(f, service, ids)).collect();
    let group = Group {
        id,
        version,
        name: name.clone(),
        label,
        hint: field.hint.as_ref().and_then(nonempty).filter(|_| field.uses.is_none()),
        schemaelementart: Some("HAR".into()),
        rules: Vec::new(),
        items,
    };
    if field.uses.is_some() {
        ids.groups.insert(name, group.clone());
    }
    group
}

/// A field that is not a group as a `datenfeld`.
fn data_field(field: &DslField, service: &Service, ids: &mut Ids) -> Field {
    let (id, version) = ids.of('F', field.fim.as_ref());
    let c = &field.constraints;
    let bound = |b: &Option<baukasten_dsl::model::Bound>| match b {
        Some(baukasten_dsl::model::Bound::Number(n) | baukasten_dsl::model::Bound::Date(n)) => Some(n.clone()),
        _ => None,
    };
    let mut out = Field {
        id,
        version,
        name: field.id.clone(),
        label: nonempty(&field.label),
        hint: field.hint.as_ref().and_then(nonempty),
        schemaelementart: Some("HAR".into()),
        feldart: Feldart::Input,
        datentyp: Datentyp::Text,
        min_length: c.min_length,
        max_length: c.max_length,
        min_value: bound(&c.min),
        max_value: bound(&c.max),
        pattern: c.pattern.as_ref().map(|p| p.regex.clone()),
        content: None,
        vorbefuellung: None,
        values: Vec::new(),
        code_list: None,
        max_size: None,
        media_types: Vec::new(),
        rules: Vec::new(),
    };
    match &field.kind {
        FieldKind::Text | FieldKind::Textarea => {
            // The import's text fields for times: the type again, without the pattern.
            match out.pattern.as_deref() {
                Some(TIME_PATTERN) => {
                    out.datentyp = Datentyp::Time;
                    out.pattern = None;
                }
                Some(DATETIME_PATTERN) => {
                    out.datentyp = Datentyp::Datetime;
                    out.pattern = None;
                }
                _ => {}
            }
        }
        FieldKind::Integer => out.datentyp = Datentyp::NumInt,
        FieldKind::Decimal => out.datentyp = Datentyp::Num,
        FieldKind::Money => out.datentyp = Datentyp::NumCurrency,
        FieldKind::Date => out.datentyp = Datentyp::Date,
        FieldKind::YesNo | FieldKind::Consent => out.datentyp = Datentyp::Bool,
        FieldKind::File { accept, .. } => {
            out.datentyp = Datentyp::File;
            out.media_types = accept
                .iter()
                .filter_map(|word| media_type(word))
                .map(str::to_string)
                .collect();
        }
        FieldKind::Choice { options, list, .. } => {
            out.feldart = Feldart::Select;
            // A list the service fills is written out as values; an empty one (an import's
            // code list still to fill) stays a reference.
            let options = match list {
                Some(name) => service.lists.get(name).map_or(&[][..], Vec::as_slice),
                None => options.as_slice(),
            };
            match list {
                Some(name) if options.is_empty() => {
                    out.code_list = Some(CodeListRef {
                        canonical_id: format!("{CODE_LIST_PREFIX}{name}"),
                        version: None,
                        canonical_version_uri: None,
                    });
                }
                _ => {
                    out.values = options
                        .iter()
                        .map(|o| CodeValue {
                            code: o.value.clone(),
                            name: german(&o.label),
                            hint: o.hint.as_ref().and_then(nonempty),
                        })
                        .collect();
                }
            }
        }
        FieldKind::Info { text } => {
            out.feldart = Feldart::Label;
            out.content = nonempty(text);
        }
        // Types of their own in Baukasten, text in XDatenfelder (their checks are lost).
        FieldKind::Email
        | FieldKind::Phone
        | FieldKind::Plz
        | FieldKind::Iban
        | FieldKind::SteuerId
        | FieldKind::KfzKennzeichen => {}
        FieldKind::Group { .. } | FieldKind::Repeat { .. } => {}
    }
    out
}

/// The media type of a word of `accept:`, as the import reads it back.
fn media_type(word: &str) -> Option<&'static str> {
    Some(match word {
        "pdf" => "application/pdf",
        "jpeg" | "jpg" => "image/jpeg",
        "png" => "image/png",
        "tiff" => "image/tiff",
        "heic" => "image/heic",
        "webp" => "image/webp",
        _ => return None,
    })
}
