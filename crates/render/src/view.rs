//! The step page's fields as plain data: every id, name, value, error and `aria-describedby`
//! is worked out here, so [`crate::fields`], which writes their markup, only writes.
//!
//! Ids are `f-` and the dotted path with dots as dashes (`f-antragsteller-vorname`); names are
//! the dotted paths themselves, which is what [`crate::decode_form`] reads back.

use std::borrow::Cow;
use std::collections::HashMap;

use baukasten_dsl::model::{Field, FieldKind, Widget};
use baukasten_engine::{Evaluation, FieldState, Limits};
use serde::Serialize;
use serde_json::Value as Json;

use crate::Action;
use crate::i18n::ui_string;
use crate::pages::StepMode;

#[derive(Debug, Default)]
pub(crate) struct FieldView<'a> {
    pub(crate) kind: &'static str,
    pub(crate) path: String,
    pub(crate) id: String,
    pub(crate) label: Cow<'a, str>,
    pub(crate) hint: Option<Cow<'a, str>>,
    pub(crate) optional: bool,
    pub(crate) visible: bool,
    pub(crate) error: Option<Cow<'a, str>>,
    pub(crate) value: Cow<'a, str>,
    /// The input's CSS classes, with its width.
    pub(crate) class: &'static str,
    /// Whether the field is a group of controls (`fieldset` and `legend`).
    pub(crate) fieldset: bool,
    pub(crate) input_type: &'static str,
    pub(crate) inputmode: Option<&'static str>,
    pub(crate) autocomplete: Option<&'a str>,
    pub(crate) no_spellcheck: bool,
    /// `inline` for yes/no radios, side by side.
    pub(crate) width: &'static str,
    pub(crate) suffix: Option<&'static str>,
    pub(crate) options: Vec<OptionView<'a>>,
    pub(crate) date: Option<DateView<'a>>,
    pub(crate) file: Option<&'a str>,
    pub(crate) accept: Option<String>,
    pub(crate) text: Option<&'a str>,
    pub(crate) children: Vec<FieldView<'a>>,
    pub(crate) add: Option<ButtonView>,
    pub(crate) remove: Option<ButtonView>,
    /// The control takes the focus when the page loads: the first field of a repeat item the
    /// citizen just added.
    pub(crate) autofocus: bool,
    /// A repeat's message after an item was removed ("Person 2 entfernt."), which takes the
    /// focus.
    pub(crate) status: Option<String>,
}

#[derive(Debug)]
pub(crate) struct OptionView<'a> {
    pub(crate) id: String,
    pub(crate) value: &'a str,
    pub(crate) label: &'a str,
    pub(crate) hint: Option<&'a str>,
    pub(crate) checked: bool,
}

#[derive(Debug)]
pub(crate) struct DateView<'a> {
    pub(crate) day: Cow<'a, str>,
    pub(crate) month: Cow<'a, str>,
    pub(crate) year: Cow<'a, str>,
    /// Whether the date is a birthday: `bday` becomes `bday-day`, `bday-month`, `bday-year`.
    pub(crate) autocomplete: bool,
}

#[derive(Debug)]
pub(crate) struct ButtonView {
    pub(crate) action: String,
    pub(crate) label: String,
}

/// One entry of the error summary: the message and the id it links to.
#[derive(Debug, Serialize)]
pub(crate) struct ErrorLink {
    /// The id of the element, without `#`, while the page is built; a whole `href` after.
    #[serde(rename = "href")]
    pub anchor: String,
    pub message: String,
}

/// The fields of one step, and the error summary in document order.
pub(crate) struct StepView<'a> {
    /// The fields, written by [`crate::fields::write_fields`].
    pub fields: Vec<FieldView<'a>>,
    pub errors: Vec<ErrorLink>,
    pub has_files: bool,
    pub has_repeats: bool,
}

pub(crate) fn html_id(path: &str) -> String {
    let mut id = String::with_capacity(path.len() + 2);
    id.push_str("f-");
    id.extend(path.chars().map(|c| if c == '.' { '-' } else { c }));
    id
}

/// The id a link to the field at `path` goes to: its input, or for a date its day.
pub(crate) fn field_anchor(service: &baukasten_dsl::model::Service, path: &str) -> String {
    let model_path: Vec<&str> = path.split('.').filter(|s| s.parse::<usize>().is_err()).collect();
    let id = html_id(path);
    match service.field(&model_path.join(".")).map(|f| &f.kind) {
        Some(FieldKind::Date) => format!("{id}-day"),
        _ => id,
    }
}

struct Builder<'a> {
    lang: &'a str,
    states: HashMap<&'a str, &'a FieldState>,
    errors: HashMap<&'a str, &'a str>,
    summary: Vec<ErrorLink>,
    /// The heading of the repeat item whose fields are being built ("Gesellschafter:in 2"),
    /// so the error summary can say which entry an error is in.
    item: Option<String>,
    has_files: bool,
    has_repeats: bool,
    /// The add or remove button just pressed, if any.
    after: Option<&'a Action>,
}

/// Builds the views of `fields` (a step's), re-filled from the raw `answers`.
pub(crate) fn step_view<'a>(
    fields: &'a [Field],
    step: &str,
    evaluation: &'a Evaluation,
    answers: &'a Json,
    mode: StepMode<'a>,
    lang: &'a str,
) -> StepView<'a> {
    let show_errors = mode.show_errors;
    let states = evaluation
        .fields
        .iter()
        .filter(|f| &*f.step == step)
        .map(|f| (&*f.path, f))
        .collect();
    let errors = if show_errors {
        let mut map = HashMap::new();
        for e in evaluation.errors.iter().filter(|e| e.step == step) {
            // The first message of a field is the one to fix first.
            map.entry(e.field.as_str()).or_insert(e.message.get(lang));
        }
        map
    } else {
        HashMap::new()
    };
    let mut b = Builder {
        lang,
        states,
        errors,
        summary: Vec::new(),
        item: None,
        has_files: false,
        has_repeats: false,
        after: mode.after,
    };
    let views = fields
        .iter()
        .map(|f| b.field(f, f.id.clone(), answers.get(&f.id), true))
        .collect();
    // Errors at paths this page does not show (none are expected) still reach the summary:
    // every error a field showed was taken out of the map.
    let mut rest: Vec<ErrorLink> = Vec::new();
    for e in evaluation.errors.iter().filter(|e| e.step == step) {
        if let Some(message) = b.errors.remove(e.field.as_str()) {
            rest.push(ErrorLink {
                anchor: "step-form".to_string(),
                message: message.to_string(),
            });
        }
    }
    let mut errors = b.summary;
    errors.extend(rest);
    for e in &mut errors {
        e.anchor.insert(0, '#');
    }
    StepView {
        fields: views,
        errors,
        has_files: b.has_files,
        has_repeats: b.has_repeats,
    }
}

impl<'a> Builder<'a> {
    fn ui(&self, key: &str) -> &'static str {
        ui_string(self.lang, key).unwrap_or("")
    }

    fn field(&mut self, field: &'a Field, path: String, raw: Option<&'a Json>, parent_visible: bool) -> FieldView<'a> {
        let state = self.states.get(path.as_str()).copied();
        let visible = state.map_or(parent_visible, |s| s.visible);
        // A hidden field is never required now, but it is shown as it will be once the script
        // or the next round reveals it: a field that can be required is not marked optional.
        let required = match state {
            Some(s) if s.visible => s.required,
            _ => field.required || field.required_if.is_some(),
        };
        let id = html_id(&path);
        let label = Cow::Borrowed(field.label.get(self.lang));
        let error = self.errors.remove(path.as_str()).map(Cow::Borrowed);
        let mut view = FieldView {
            kind: "input",
            class: "input",
            id,
            label,
            hint: field.hint.as_ref().map(|h| Cow::Borrowed(h.get(self.lang))),
            optional: !required,
            visible,
            error,
            autocomplete: field.autocomplete.as_deref(),
            ..FieldView::default()
        };
        let text = || raw.and_then(scalar_text).unwrap_or_default();
        match &field.kind {
            FieldKind::Text => {
                view.input_type = "text";
                view.value = text();
                if field.constraints.max_length.is_some_and(|m| m <= 20) {
                    view.class = "input input--short";
                }
            }
            FieldKind::Textarea => {
                view.kind = "textarea";
                view.value = text();
            }
            FieldKind::Email => {
                view.input_type = "email";
                view.value = text();
                view.no_spellcheck = true;
                view.autocomplete.get_or_insert("email");
            }
            FieldKind::Phone => {
                view.input_type = "tel";
                view.value = text();
                view.autocomplete.get_or_insert("tel");
                view.class = "input input--medium";
            }
            FieldKind::Plz => {
                view.input_type = "text";
                view.inputmode = Some("numeric");
                view.value = text();
                view.class = "input input--short";
            }
            FieldKind::Iban => {
                view.input_type = "text";
                view.value = text();
                view.no_spellcheck = true;
                view.class = "input input--medium";
            }
            FieldKind::SteuerId => {
                view.input_type = "text";
                view.inputmode = Some("numeric");
                view.value = text();
                view.class = "input input--medium";
            }
            FieldKind::KfzKennzeichen => {
                view.input_type = "text";
                view.value = text();
                view.no_spellcheck = true;
                view.class = "input input--short";
            }
            FieldKind::Integer => {
                view.input_type = "text";
                view.inputmode = Some("numeric");
                view.value = text();
                view.class = "input input--short";
            }
            FieldKind::Decimal | FieldKind::Money => {
                view.input_type = "text";
                view.inputmode = Some("decimal");
                view.value = text();
                view.class = "input input--short";
                if matches!(field.kind, FieldKind::Money) {
                    view.suffix = Some("€");
                }
            }
            FieldKind::Date => {
                view.kind = "date";
                if view.hint.is_none() {
                    view.hint = Some(Cow::Borrowed(self.ui("date_hint")));
                }
                let (day, month, year) = date_parts(raw);
                // Only a birthday has tokens for its parts (`bday-day`, …).
                let autocomplete = view.autocomplete.take() == Some("bday");
                view.date = Some(DateView {
                    day,
                    month,
                    year,
                    autocomplete,
                });
            }
            FieldKind::Choice { options, widget, .. } => {
                let chosen: Vec<Cow<str>> = match raw {
                    Some(Json::Array(items)) => items.iter().filter_map(scalar_text).collect(),
                    Some(other) => scalar_text(other).into_iter().collect(),
                    None => Vec::new(),
                };
                view.kind = match widget {
                    Widget::Radio => "radios",
                    Widget::Select => "select",
                    Widget::Checkboxes => "checkboxes",
                };
                view.options = options
                    .iter()
                    .enumerate()
                    .map(|(i, o)| OptionView {
                        id: option_id(&view.id, i),
                        value: &o.value,
                        label: o.label.get(self.lang),
                        hint: o.hint.as_ref().map(|h| h.get(self.lang)),
                        checked: chosen.iter().any(|c| *c == o.value),
                    })
                    .collect();
            }
            FieldKind::YesNo => {
                view.kind = "radios";
                let answer = raw.and_then(bool_of);
                view.options = [("ja", "yes", Some(true)), ("nein", "no", Some(false))]
                    .into_iter()
                    .enumerate()
                    .map(|(i, (value, key, b))| OptionView {
                        id: option_id(&view.id, i),
                        value,
                        label: self.ui(key),
                        hint: None,
                        checked: answer == b,
                    })
                    .collect();
                view.width = "inline";
            }
            FieldKind::Consent => {
                view.kind = "consent";
                if raw.and_then(bool_of) == Some(true) {
                    view.value = Cow::Borrowed("ja");
                }
            }
            FieldKind::File { accept, max_size } => {
                self.has_files = true;
                view.kind = "file";
                view.file = raw
                    .and_then(|r| r.get("name").and_then(Json::as_str).or(r.as_str()))
                    .filter(|n| !n.is_empty());
                if !accept.is_empty() {
                    view.accept = Some(accept.iter().flat_map(|a| extensions(a)).collect::<Vec<_>>().join(","));
                }
                let mut note = String::new();
                if !accept.is_empty() {
                    let types: Vec<String> = accept.iter().map(|a| a.to_uppercase()).collect();
                    note.push_str(&self.ui("file_types").replace("{types}", &types.join(", ")));
                }
                if let Some(size) = max_size {
                    if !note.is_empty() {
                        note.push(' ');
                    }
                    note.push_str(&self.ui("file_size").replace("{size}", &human_size(*size)));
                }
                // A hint written for the field usually names the types and size already.
                if !note.is_empty() && view.hint.is_none() {
                    view.hint = Some(Cow::Owned(note));
                }
            }
            FieldKind::Info { text } => {
                view.kind = "info";
                view.text = Some(text.get(self.lang));
                view.optional = false;
            }
            FieldKind::Group { fields } => {
                view.kind = "group";
                view.optional = false;
                view.children = fields
                    .iter()
                    .map(|f| {
                        let child = format!("{path}.{}", f.id);
                        self.field(f, child, raw.and_then(|r| r.get(&f.id)), visible)
                    })
                    .collect();
            }
            FieldKind::Repeat {
                fields,
                min_items,
                max_items,
                item_label,
            } => {
                self.has_repeats = true;
                view.kind = "repeat";
                view.optional = false;
                let present = raw.and_then(Json::as_array).map_or(0, Vec::len);
                let cap = Limits::DEFAULT.repeat_items(*max_items).max(1);
                let floor = (min_items.unwrap_or(0) as usize).max(1);
                let count = present.max(floor).min(cap);
                let item = item_label.as_ref().unwrap_or(&field.label).get(self.lang).to_string();
                view.children = (0..count)
                    .map(|n| {
                        let entry = raw.and_then(|r| r.get(n));
                        let number = (n + 1).to_string();
                        let heading = self.ui("item_heading").replace("{item}", &item).replace("{n}", &number);
                        let outer = self.item.replace(heading);
                        let children = fields
                            .iter()
                            .map(|f| {
                                let child = format!("{path}.{n}.{}", f.id);
                                self.field(f, child, entry.and_then(|e| e.get(&f.id)), visible)
                            })
                            .collect();
                        self.item = outer;
                        let item_path = format!("{path}.{n}");
                        FieldView {
                            kind: "item",
                            id: html_id(&item_path),
                            path: item_path,
                            label: Cow::Owned(self.ui("item_heading").replace("{item}", &item).replace("{n}", &number)),
                            visible,
                            children,
                            remove: (count > floor).then(|| ButtonView {
                                action: format!("remove:{path}.{n}"),
                                label: self.ui("remove_item").replace("{item}", &item).replace("{n}", &number),
                            }),
                            ..FieldView::default()
                        }
                    })
                    .collect();
                match self.after {
                    Some(Action::Add(repeat)) if *repeat == path => {
                        if let Some(last) = view.children.last_mut() {
                            focus_first(&mut last.children);
                        }
                    }
                    Some(Action::Remove { repeat, index }) if *repeat == path => {
                        let number = (index + 1).to_string();
                        view.status = Some(self.ui("item_removed").replace("{item}", &item).replace("{n}", &number));
                    }
                    _ => {}
                }
                if count < cap {
                    view.add = Some(ButtonView {
                        action: format!("add:{path}"),
                        label: self.ui("add_item").replace("{item}", &item),
                    });
                }
            }
        }
        if let Some(message) = view.error.take() {
            let anchor = match view.kind {
                "date" => format!("{}-day", view.id),
                _ => view.id.clone(),
            };
            // Inside a repeat the summary and the field name the entry: "Gesellschafter:in 2:
            // Geburtsdatum: …", so that a screen reader moving from error to error knows which.
            let message = match &self.item {
                Some(item) => {
                    let named = labelled(&format!("{item}: {}", view.label.trim()), &message);
                    view.error = Some(Cow::Owned(named.clone()));
                    named
                }
                None => {
                    let named = labelled(&view.label, &message);
                    view.error = Some(message);
                    named
                }
            };
            self.summary.push(ErrorLink { anchor, message });
        }
        view.fieldset = matches!(view.kind, "group" | "repeat" | "date" | "radios" | "checkboxes");
        view.path = path;
        view
    }
}

/// Gives the focus to the first control among `fields` (into groups; past info texts).
/// Returns whether there was one.
fn focus_first(fields: &mut [FieldView<'_>]) -> bool {
    for f in fields.iter_mut().filter(|f| f.visible) {
        match f.kind {
            "info" => continue,
            "group" | "repeat" | "item" => {
                if focus_first(&mut f.children) {
                    return true;
                }
            }
            _ => {
                f.autofocus = true;
                return true;
            }
        }
    }
    false
}

/// An error message for the error summary, after the label of its field so that it makes
/// sense on its own: "Vorname: Bitte füllen Sie …", or after a question, "Haben Sie …? Bitte …".
pub(crate) fn labelled(label: &str, message: &str) -> String {
    let label = label.trim();
    if label.is_empty() {
        message.to_string()
    } else if label.ends_with(['?', ':', '.', '!']) {
        format!("{label} {message}")
    } else {
        format!("{label}: {message}")
    }
}

fn option_id(field_id: &str, index: usize) -> String {
    // The first option carries the field's own id, so the error summary's link lands on it.
    if index == 0 {
        field_id.to_string()
    } else {
        format!("{field_id}-{}", index + 1)
    }
}

fn scalar_text(raw: &Json) -> Option<Cow<'_, str>> {
    match raw {
        Json::String(s) => Some(Cow::Borrowed(s)),
        Json::Number(n) => Some(Cow::Owned(n.to_string())),
        Json::Bool(b) => Some(Cow::Borrowed(if *b { "true" } else { "false" })),
        _ => None,
    }
}

fn bool_of(raw: &Json) -> Option<bool> {
    match raw {
        Json::Bool(b) => Some(*b),
        Json::String(s) => match s.trim().to_lowercase().as_str() {
            "true" | "ja" | "yes" | "on" | "1" => Some(true),
            "false" | "nein" | "no" | "off" | "0" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// Day, month and year as typed (`{"day": "31", …}`) or from an ISO date.
fn date_parts(raw: Option<&Json>) -> (Cow<'_, str>, Cow<'_, str>, Cow<'_, str>) {
    match raw {
        Some(Json::Object(parts)) => {
            let part = |k: &str| parts.get(k).and_then(scalar_text).unwrap_or_default();
            (part("day"), part("month"), part("year"))
        }
        Some(Json::String(text)) => {
            let mut it = text.trim().splitn(3, '-');
            match (it.next(), it.next(), it.next()) {
                (Some(y), Some(m), Some(d)) if y.len() == 4 => (
                    Cow::Borrowed(d.trim_start_matches('0')),
                    Cow::Borrowed(m.trim_start_matches('0')),
                    Cow::Borrowed(y),
                ),
                _ => Default::default(),
            }
        }
        _ => Default::default(),
    }
}

/// File name extensions for an `accept` entry (`jpeg` accepts `.jpg` too).
fn extensions(kind: &str) -> Vec<String> {
    let kind = kind.to_lowercase();
    let mut out = vec![format!(".{kind}")];
    match kind.as_str() {
        "jpeg" => out.push(".jpg".into()),
        "jpg" => out.push(".jpeg".into()),
        "tiff" => out.push(".tif".into()),
        _ => {}
    }
    out
}

fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    const KB: u64 = 1024;
    if bytes >= MB && bytes.is_multiple_of(MB) {
        format!("{} MB", bytes / MB)
    } else if bytes >= KB {
        format!("{} KB", bytes.div_ceil(KB))
    } else {
        format!("{bytes} B")
    }
}
