//! The summary page's data: the label and display value of every visible answer, in step order.

use baukasten_dsl::model::{Field, FieldKind, Text};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as Json;

use crate::messages::{english_date, english_money, german_date, german_money, german_number};
use crate::{CompiledService, Evaluation, Limits};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryStep {
    pub step: String,
    pub title: Text,
    pub rows: Vec<SummaryRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryRow {
    /// The path the "Ändern" link goes to: the field, or the first answered member of a group
    /// or a repeat item.
    pub path: String,
    pub label: String,
    /// The answer as a citizen reads it: one line for a single answer; for a group (an
    /// address) or a repeat item, one line per part, as people write them ("Holstenstraße
    /// 12a", "24103 Kiel").
    pub lines: Vec<String>,
    /// The lines joined by ", ", for a single line of text.
    pub value: String,
}

impl SummaryRow {
    fn new(path: String, label: String, lines: Vec<String>) -> Self {
        let value = lines.join(", ");
        Self {
            path,
            label,
            lines,
            value,
        }
    }
}

/// Autocomplete tokens of answers that explain themselves inside their group: a name, an
/// address, a birth date. Other members are shown with their label ("Rasse: Dackel").
const SELF_EXPLAINING: &[&str] = &[
    "name",
    "honorific-prefix",
    "given-name",
    "additional-name",
    "family-name",
    "organization",
    "street-address",
    "address-line1",
    "address-line2",
    "address-line3",
    "postal-code",
    "address-level1",
    "address-level2",
    "country-name",
    "bday",
];

/// Whether a member's answer goes on the line of the one before it: the family name after the
/// given name, the house number after the street, the town after the postcode.
fn same_line(previous: Option<&str>, field: &Field) -> bool {
    let token = field.autocomplete.as_deref();
    match (previous, token) {
        (Some("given-name"), Some("family-name")) => true,
        (Some("postal-code"), Some("address-level2")) => true,
        (Some("address-line1"), None) => matches!(field.kind, FieldKind::Text),
        _ => false,
    }
}

impl CompiledService {
    /// Every visible answer with its label and a display value in `lang` (`de` or `en`): a
    /// row per field, per group and per repeat item, in step order.
    pub fn summary(&self, evaluation: &Evaluation, lang: &str) -> Vec<SummaryStep> {
        let service = self.service();
        let clean = Json::Object(evaluation.clean());
        let mut out = Vec::new();
        for (step, state) in service.steps.iter().zip(&evaluation.steps) {
            if !state.visible {
                continue;
            }
            let mut rows = Vec::new();
            for field in &step.fields {
                let Some(value) = answered(clean.get(&field.id)) else {
                    continue;
                };
                match &field.kind {
                    FieldKind::Info { .. } => {}
                    FieldKind::Group { fields } => {
                        let mut lines = Vec::new();
                        let first = member_lines(fields, value, &field.id, lang, &mut lines);
                        if let Some(first) = first {
                            rows.push(SummaryRow::new(first, field.label.get(lang).to_string(), lines));
                        }
                    }
                    FieldKind::Repeat { fields, item_label, .. } => {
                        let item = item_label.as_ref().unwrap_or(&field.label).get(lang);
                        let items = value.as_array().map(Vec::as_slice).unwrap_or_default();
                        for (n, entry) in items.iter().take(Limits::DEFAULT.repeat_items(None)).enumerate() {
                            let mut lines = Vec::new();
                            let prefix = format!("{}.{n}", field.id);
                            if let Some(first) = member_lines(fields, entry, &prefix, lang, &mut lines) {
                                rows.push(SummaryRow::new(first, format!("{item} {}", n + 1), lines));
                            }
                        }
                    }
                    _ => rows.push(SummaryRow::new(
                        field.id.clone(),
                        field.label.get(lang).to_string(),
                        vec![display(field, value, lang)],
                    )),
                }
            }
            out.push(SummaryStep {
                step: step.id.clone(),
                title: step.title.clone(),
                rows,
            });
        }
        out
    }
}

/// An answer that is there: not missing, not `null`.
fn answered(value: Option<&Json>) -> Option<&Json> {
    value.filter(|v| !v.is_null())
}

/// Adds the lines of the answered members of a group or repeat item to `lines`; returns the
/// path of the first answered member (where "Ändern" leads), if any.
fn member_lines(fields: &[Field], value: &Json, prefix: &str, lang: &str, lines: &mut Vec<String>) -> Option<String> {
    let mut first = None;
    let mut previous: Option<&str> = None;
    for field in fields {
        let Some(answer) = answered(value.get(&field.id)) else {
            continue;
        };
        let path = format!("{prefix}.{}", field.id);
        match &field.kind {
            FieldKind::Info { .. } => continue,
            FieldKind::Group { fields } => {
                let inner = member_lines(fields, answer, &path, lang, lines);
                first = first.or(inner);
            }
            FieldKind::Repeat { fields, item_label, .. } => {
                let item = item_label.as_ref().unwrap_or(&field.label).get(lang);
                let items = answer.as_array().map(Vec::as_slice).unwrap_or_default();
                for (n, entry) in items.iter().take(Limits::DEFAULT.repeat_items(None)).enumerate() {
                    let mut parts = Vec::new();
                    let inner = member_lines(fields, entry, &format!("{path}.{n}"), lang, &mut parts);
                    if inner.is_some() {
                        lines.push(format!("{item} {}: {}", n + 1, parts.join(", ")));
                        first = first.or(inner);
                    }
                }
            }
            _ => {
                let shown = display(field, answer, lang);
                let token = field.autocomplete.as_deref();
                match lines.last_mut() {
                    Some(line) if same_line(previous, field) => {
                        line.push(' ');
                        line.push_str(&shown);
                    }
                    _ if token.is_some_and(|t| SELF_EXPLAINING.contains(&t)) => lines.push(shown),
                    _ => lines.push(labelled(field.label.get(lang), &shown)),
                }
                first.get_or_insert(path);
            }
        }
        previous = field.autocomplete.as_deref();
    }
    first
}

/// "Rasse: Dackel"; a question keeps its own mark: "Ist der Hund gefährlich? Ja".
fn labelled(label: &str, value: &str) -> String {
    let label = label.trim();
    if label.ends_with(['?', ':', '.', '!']) {
        format!("{label} {value}")
    } else {
        format!("{label}: {value}")
    }
}

/// An answer as a citizen reads it: dates and amounts in the language's notation, choices by
/// their label.
pub fn display(field: &Field, value: &Json, lang: &str) -> String {
    let en = lang == "en";
    let text = value.as_str().unwrap_or_default();
    match &field.kind {
        FieldKind::Date => match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            Ok(d) if en => english_date(d),
            Ok(d) => german_date(d),
            Err(_) => text.to_string(),
        },
        FieldKind::Money => match text.parse::<Decimal>() {
            Ok(d) if en => english_money(d),
            Ok(d) => german_money(d),
            Err(_) => text.to_string(),
        },
        FieldKind::Decimal => match text.parse::<Decimal>() {
            Ok(d) if !en => german_number(d),
            _ => text.to_string(),
        },
        FieldKind::YesNo => match (value.as_bool(), en) {
            (Some(true), false) => "Ja".into(),
            (Some(false), false) => "Nein".into(),
            (Some(true), true) => "Yes".into(),
            _ => "No".into(),
        },
        FieldKind::Consent => if en { "Confirmed" } else { "Bestätigt" }.into(),
        FieldKind::Choice { options, .. } => {
            let label = |v: &str| {
                options
                    .iter()
                    .find(|o| o.value == v)
                    .map_or_else(|| v.to_string(), |o| o.label.get(lang).to_string())
            };
            match value {
                Json::Array(items) => items
                    .iter()
                    .filter_map(Json::as_str)
                    .map(label)
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => label(text),
            }
        }
        FieldKind::File { .. } => value.get("name").and_then(Json::as_str).unwrap_or_default().to_string(),
        FieldKind::Phone => phone_as_written(text),
        FieldKind::Iban => iban_as_written(text),
        _ => match value {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}

/// A telephone number stored in E.164 as people write it: German numbers in the national form
/// with the area code apart ("0431 123456"), others internationally ("+33 1 23 45 67 89").
/// Where the numbering plan is unknown, the stored form.
fn phone_as_written(e164: &str) -> String {
    use phonenumber::Mode;
    match phonenumber::parse(None, e164) {
        Ok(number) if number.code().value() == 49 => number.format().mode(Mode::National).to_string(),
        Ok(number) => number.format().mode(Mode::International).to_string(),
        Err(_) => e164.to_string(),
    }
}

/// An IBAN in groups of four, as printed on bank cards: "DE02 1203 0000 0000 2020 51".
fn iban_as_written(compact: &str) -> String {
    let chars: Vec<char> = compact.chars().filter(|c| !c.is_whitespace()).collect();
    chars
        .chunks(4)
        .map(|group| group.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_numbers_and_ibans_are_grouped_as_people_write_them() {
        assert_eq!(phone_as_written("+49431123456"), "0431 123456");
        assert_eq!(phone_as_written("+4930123456"), "030 123456");
        assert_eq!(phone_as_written("+491701234567"), "0170 1234567");
        assert_eq!(phone_as_written("+33123456789"), "+33 1 23 45 67 89");
        assert_eq!(phone_as_written("kaputt"), "kaputt");
        assert_eq!(iban_as_written("DE02120300000000202051"), "DE02 1203 0000 0000 2020 51");
    }
}
