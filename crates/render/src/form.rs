//! From a posted step form back to answers. The names are the ones the step page writes:
//! dotted paths (`antragsteller.vorname`), repeat items with an index (`kinder.0.vorname`),
//! date parts (`geburtsdatum.day`), checkboxes repeating their name, and the button pressed as
//! `_action`. Decoding never fails: names that are not fields of the step are ignored.

use std::collections::{BTreeSet, HashMap};

use baukasten_dsl::model::{Field, FieldKind, Service, Widget};
use baukasten_engine::{Limits, walk};
use serde_json::{Map, Value as Json};

/// Most form pairs looked at, so a hostile post cannot make decoding expensive.
const MAX_PAIRS: usize = 5_000;

/// What a step's form post says.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The answers of this step's fields, keyed by the step's top-level field ids. Every field
    /// of the step is present (an unticked checkbox group is `[]`, an empty input `""`), so
    /// the caller replaces these keys in the draft and a cleared answer stays cleared. File
    /// fields are left out: the caller stores uploads and sets their answers itself.
    /// An `Add` or `Remove` is already applied to the repeat it names.
    pub answers: Json,
    pub action: Action,
    /// The step was reached with "Ändern" from the summary (`_zurueck=pruefen`, written by
    /// the step page): "Weiter" and "Zurück" lead back there.
    pub from_summary: bool,
}

/// The form field and value a step page carries when it was reached from the summary.
pub const FROM_SUMMARY: (&str, &str) = ("_zurueck", "pruefen");

/// The button the citizen pressed (`name="_action"`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// "Weiter": validate the step and go on. Also what Enter and unknown values mean.
    Continue,
    /// "Zurück": keep the answers and go to the previous step.
    Back,
    /// "Speichern und später fortsetzen": keep the answers and give a resume code.
    Save,
    /// An item was added to the repeat at this path (`kinder`, or `a.0.b` when nested); show
    /// the step again without errors.
    Add(String),
    /// Item `index` was removed from the repeat at `repeat`; show the step again.
    Remove { repeat: String, index: usize },
}

/// Decodes the pairs of a step's form post. Never panics; names that are not fields of `step`
/// (or an unknown step) are ignored.
pub fn decode_form(service: &Service, step: &str, pairs: &[(String, String)]) -> Decoded {
    let mut by_name: HashMap<&str, Vec<&str>> = HashMap::new();
    for (name, value) in pairs.iter().take(MAX_PAIRS) {
        by_name.entry(name.as_str()).or_default().push(value.as_str());
    }
    let action_text = by_name.get("_action").and_then(|v| v.first()).copied().unwrap_or("");
    let from_summary = by_name
        .get(FROM_SUMMARY.0)
        .is_some_and(|v| v.first() == Some(&FROM_SUMMARY.1));
    let Some(step) = service.step(step) else {
        return Decoded {
            answers: Json::Object(Map::new()),
            action: Action::Continue,
            from_summary,
        };
    };
    let form = Form { by_name: &by_name };
    let mut answers = Map::new();
    form.fields(&step.fields, "", &mut answers);
    let mut answers = Json::Object(answers);
    let action = parse_action(service, &step.fields, action_text);
    apply(&action, service, &mut answers);
    Decoded {
        answers,
        action,
        from_summary,
    }
}

struct Form<'a> {
    by_name: &'a HashMap<&'a str, Vec<&'a str>>,
}

impl Form<'_> {
    fn first(&self, name: &str) -> Json {
        let value = self.by_name.get(name).and_then(|v| v.first()).copied().unwrap_or("");
        Json::String(value.to_string())
    }

    fn fields(&self, fields: &[Field], prefix: &str, out: &mut Map<String, Json>) {
        for field in fields {
            let path = format!("{prefix}{}", field.id);
            if let Some(value) = self.field(field, &path) {
                out.insert(field.id.clone(), value);
            }
        }
    }

    fn field(&self, field: &Field, path: &str) -> Option<Json> {
        Some(match &field.kind {
            FieldKind::Info { .. } | FieldKind::File { .. } => return None,
            FieldKind::Group { fields } => {
                let mut obj = Map::new();
                self.fields(fields, &format!("{path}."), &mut obj);
                Json::Object(obj)
            }
            FieldKind::Repeat { fields, max_items, .. } => {
                let cap = Limits::DEFAULT.repeat_items(*max_items);
                let items = self
                    .indices(path, cap)
                    .into_iter()
                    .map(|n| {
                        let mut obj = Map::new();
                        self.fields(fields, &format!("{path}.{n}."), &mut obj);
                        Json::Object(obj)
                    })
                    .collect();
                Json::Array(items)
            }
            FieldKind::Date => {
                let mut obj = Map::new();
                for part in ["day", "month", "year"] {
                    obj.insert(part.to_string(), self.first(&format!("{path}.{part}")));
                }
                Json::Object(obj)
            }
            FieldKind::Choice {
                widget: Widget::Checkboxes,
                ..
            } => Json::Array(
                self.by_name
                    .get(path)
                    .into_iter()
                    .flatten()
                    .filter(|v| !v.is_empty())
                    .map(|v| Json::String((*v).to_string()))
                    .collect(),
            ),
            _ => self.first(path),
        })
    }

    /// The item indices posted for the repeat at `path`, in order, at most `cap` of them.
    fn indices(&self, path: &str, cap: usize) -> BTreeSet<usize> {
        let prefix = format!("{path}.");
        let mut found = BTreeSet::new();
        for name in self.by_name.keys() {
            let Some(rest) = name.strip_prefix(&prefix) else {
                continue;
            };
            let index = rest.split('.').next().unwrap_or("");
            // Only plain small numbers: "007" or "1e3" are not indices this page wrote.
            let plain = (index.len() <= 4 && !index.starts_with('0')) || index == "0";
            if plain && let Ok(n) = index.parse::<usize>() {
                found.insert(n);
            }
        }
        found.into_iter().take(cap).collect()
    }
}

fn parse_action(service: &Service, step_fields: &[Field], text: &str) -> Action {
    let is_step_repeat = |path: &str| {
        let first = path.split('.').next().unwrap_or("");
        step_fields.iter().any(|f| f.id == first)
            && matches!(
                repeat_field(service, path).map(|f| &f.kind),
                Some(FieldKind::Repeat { .. })
            )
    };
    match text {
        "back" => Action::Back,
        "save" => Action::Save,
        _ => {
            if let Some(path) = text.strip_prefix("add:")
                && is_step_repeat(path)
            {
                return Action::Add(path.to_string());
            }
            if let Some((path, index)) = text.strip_prefix("remove:").and_then(|r| r.rsplit_once('.'))
                && let Ok(index) = index.parse::<usize>()
                && is_step_repeat(path)
            {
                return Action::Remove {
                    repeat: path.to_string(),
                    index,
                };
            }
            Action::Continue
        }
    }
}

/// The field at a path that may contain item indices (`a.0.b`).
fn repeat_field<'s>(service: &'s Service, path: &str) -> Option<&'s Field> {
    walk::field_at(service, path, &Limits::DEFAULT)
}

/// Applies an add or remove to the decoded answers.
fn apply(action: &Action, service: &Service, answers: &mut Json) {
    let (path, index) = match action {
        Action::Add(path) => (path, None),
        Action::Remove { repeat, index } => (repeat, Some(*index)),
        _ => return,
    };
    let cap = match repeat_field(service, path).map(|f| &f.kind) {
        Some(FieldKind::Repeat { max_items, .. }) => Limits::DEFAULT.repeat_items(*max_items),
        _ => return,
    };
    let mut node = &mut *answers;
    for segment in path.split('.') {
        node = match node {
            Json::Object(map) => match map.get_mut(segment) {
                Some(next) => next,
                None => return,
            },
            Json::Array(items) => match segment.parse::<usize>().ok().and_then(|n| items.get_mut(n)) {
                Some(next) => next,
                None => return,
            },
            _ => return,
        };
    }
    let Json::Array(items) = node else { return };
    match index {
        None if items.len() < cap => items.push(Json::Object(Map::new())),
        Some(n) if n < items.len() => {
            items.remove(n);
        }
        _ => {}
    }
}
