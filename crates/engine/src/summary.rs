//! The summary page's data: the label and display value of every visible answer, in step order.

use baukasten_dsl::model::{Field, FieldKind, Text};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as Json;

use crate::messages::{english_date, english_money, german_date, german_money, german_number};
use crate::{CompiledService, Evaluation};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryStep {
    pub step: String,
    pub title: Text,
    pub rows: Vec<SummaryRow>,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct SummaryRow {
    /// The field's path, for the "Ändern" link.
    pub path: String,
    pub label: String,
    pub value: String,
}

impl CompiledService {
    /// Every visible answer with its label and a display value in `lang` (`de` or `en`).
    pub fn summary(&self, evaluation: &Evaluation, lang: &str) -> Vec<SummaryStep> {
        let service = self.service();
        let clean = evaluation.clean();
        let mut out = Vec::new();
        for (step, state) in service.steps.iter().zip(&evaluation.steps) {
            if !state.visible {
                continue;
            }
            let mut rows = Vec::new();
            for field in &step.fields {
                if let Some(value) = clean.get(&field.id) {
                    rows_of(field, value, &field.id, None, lang, &mut rows);
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

fn rows_of(field: &Field, value: &Json, path: &str, prefix: Option<&str>, lang: &str, rows: &mut Vec<SummaryRow>) {
    let label = match prefix {
        Some(p) => format!("{p}: {}", field.label.get(lang)),
        None => field.label.get(lang).to_string(),
    };
    match &field.kind {
        FieldKind::Group { fields } => {
            for child in fields {
                if let Some(v) = value.get(&child.id) {
                    rows_of(child, v, &format!("{path}.{}", child.id), prefix, lang, rows);
                }
            }
        }
        FieldKind::Repeat { fields, item_label, .. } => {
            let item = item_label
                .as_ref()
                .map_or_else(|| field.label.get(lang).to_string(), |l| l.get(lang).to_string());
            for (n, entry) in value.as_array().into_iter().flatten().enumerate() {
                let item_prefix = format!("{item} {}", n + 1);
                for child in fields {
                    if let Some(v) = entry.get(&child.id) {
                        rows_of(
                            child,
                            v,
                            &format!("{path}.{n}.{}", child.id),
                            Some(&item_prefix),
                            lang,
                            rows,
                        );
                    }
                }
            }
        }
        _ => rows.push(SummaryRow {
            path: path.to_string(),
            label,
            value: display(field, value, lang),
        }),
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
        _ => match value {
            Json::String(s) => s.clone(),
            other => other.to_string(),
        },
    }
}
