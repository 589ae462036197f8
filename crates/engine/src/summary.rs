//! The summary page's data: the label and display value of every visible answer, in step order.

use baukasten_dsl::model::{Field, FieldKind, Text};
use rust_decimal::Decimal;
use serde::Serialize;
use serde_json::Value as Json;

use crate::messages::{english_date, english_money, german_date, german_money, german_number};
use crate::walk::{self, Visit};
use crate::{CompiledService, Evaluation, Limits};

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
        let clean = Json::Object(evaluation.clean());
        let mut out = Vec::new();
        for (step, state) in service.steps.iter().zip(&evaluation.steps) {
            if !state.visible {
                continue;
            }
            let mut rows = Vec::new();
            walk::walk(
                &step.fields,
                &clean,
                &Limits::DEFAULT,
                &mut |visit: Visit<'_, '_>, value| {
                    if visit.field.kind.children().is_some() {
                        return;
                    }
                    let label = visit.field.label.get(lang);
                    // Inside a repeat, the item says which entry the answer belongs to.
                    let label = match visit.item {
                        Some((repeat, n)) => {
                            let item = match &repeat.kind {
                                FieldKind::Repeat {
                                    item_label: Some(item), ..
                                } => item.get(lang),
                                _ => repeat.label.get(lang),
                            };
                            format!("{item} {}: {label}", n + 1)
                        }
                        None => label.to_string(),
                    };
                    rows.push(SummaryRow {
                        path: visit.path.to_string(),
                        label,
                        value: display(visit.field, value, lang),
                    });
                },
            );
            out.push(SummaryStep {
                step: step.id.clone(),
                title: step.title.clone(),
                rows,
            });
        }
        out
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
