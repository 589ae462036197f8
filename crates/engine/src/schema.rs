//! JSON Schema (draft 2020-12) of the request body an integrator sends to a service's
//! `/evaluate` and `/submissions`: the raw answers, in every form the engine reads them.
//!
//! The schema describes input, not the stored result: numbers as JSON numbers and as text in
//! German or English notation (`"1.234,56"`, `"1234.56"`), telephone numbers and IBANs with
//! spaces, dates as `"2026-05-04"`, `"04.05.2026"` or `{"day", "month", "year"}`, blank answers
//! (`null`, `""`) for fields that need none, and file answers as `{"id": …}` naming an upload.
//!
//! It says what JSON Schema can say: the accepted forms of each field type, required fields
//! (also the members of groups and repeat items), unknown keys, choice values, lengths,
//! patterns, numeric ranges of JSON numbers, item counts, and `if`/`then` for conditions of the
//! simple forms `name == "wert"`, `name != "wert"`, `name in [...]`, `name`, `not name` and
//! `name != none` over a field that is always shown. What it cannot say (rules across fields,
//! computed values, conditions with `and`/`or`, relative and fixed date bounds, check digits,
//! impossible dates, whether an upload exists) only the server checks; there the schema is
//! deliberately looser, never stricter: every body the server accepts passes the schema. A
//! field shown only under a condition the schema cannot read is left unchecked. Tests compare
//! the two verdicts on generated answers and on every test case of the catalog.

use std::sync::OnceLock;

use baukasten_dsl::model::{Bound, Expr, Field, FieldKind, Service, Widget};
use regex::Regex;
use serde_json::{Map, Value as Json, json};

use crate::Limits;

/// The schema of the request body (the answers) of `service`'s `/evaluate` and `/submissions`.
pub fn request_schema(service: &Service) -> Json {
    let mut builder = Builder {
        names: Names::Top(service),
        clauses: Vec::new(),
    };
    let mut properties = Map::new();
    let mut required = Vec::new();
    for step in &service.steps {
        let inherited = Inherited {
            vis: condition_list(&builder, step.visible_if.as_ref()),
            scope: condition_list(&builder, step.required_if.as_ref()),
        };
        for field in &step.fields {
            let (schema, demanded) = builder.field(field, &[field.id.as_str()], &inherited);
            properties.insert(field.id.clone(), schema);
            if demanded {
                required.push(Json::String(field.id.clone()));
            }
        }
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:baukasten:{}:{}:answers", service.id, service.version),
        "title": service.title.get("de"),
        "description": "Die Antworten, wie POST …/evaluate und POST …/submissions sie annehmen. \
            Regeln über mehrere Felder, berechnete Werte, Datumsgrenzen und Prüfziffern prüft nur der Server.",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if !builder.clauses.is_empty() {
        schema["allOf"] = Json::Array(merged(builder.clauses));
    }
    // The shared forms the schema refers to, and only those.
    let text = schema.to_string();
    let defs: Map<String, Json> = definitions()
        .into_iter()
        .filter(|(name, _)| text.contains(&format!("\"#/$defs/{name}\"")))
        .map(|(name, def)| (name.to_string(), def))
        .collect();
    schema["$defs"] = Json::Object(defs);
    schema
}

/// Forms several fields share, under `$defs`.
fn definitions() -> Vec<(&'static str, Json)> {
    vec![
        ("blank", blank_schema()),
        ("yes_no", yes_no_schema()),
        ("yes", truth_schema(true)),
        ("no", truth_schema(false)),
        ("upload", upload_schema()),
        ("date", date_schema()),
    ]
}

fn def(name: &str) -> Json {
    json!({ "$ref": format!("#/$defs/{name}") })
}

/// An answer the engine reads as "not answered": `null`, a text of spaces, an empty list, or
/// an object (date parts) whose values are all blank.
fn blank_schema() -> Json {
    json!({
        "anyOf": [
            {"type": "null"},
            {"type": "string", "pattern": "^\\s*$"},
            {"type": "array", "maxItems": 0},
            {"type": "object", "additionalProperties": {"$ref": "#/$defs/blank"}}
        ]
    })
}

fn blank() -> Json {
    def("blank")
}

/// Where the names a condition reads are looked up: the service's top-level fields, or the
/// fields of one repeat item (an item's conditions see its own fields first).
enum Names<'s> {
    Top(&'s Service),
    Item(&'s [Field]),
}

/// Conditions from the step and the enclosing groups: each a schema over the object being
/// built that holds exactly when the condition does; `None` when one of them is not
/// expressible.
#[derive(Clone)]
struct Inherited {
    vis: Option<Vec<Json>>,
    scope: Option<Vec<Json>>,
}

/// Whether a field must be answered when shown.
enum Requirement {
    Always,
    Never,
    /// Under a condition (`None`: one the schema cannot read).
    When(Option<Json>),
}

/// The accepted forms of a field that is shown: `optional` when it need not be answered,
/// `demanded` when it must be; `forces` when the field cannot be left out even when optional
/// (a group with required members, a repeat with `min_items`).
struct Forms {
    optional: Json,
    demanded: Json,
    forces: bool,
}

struct Builder<'s> {
    names: Names<'s>,
    clauses: Vec<Json>,
}

fn condition_list(builder: &Builder<'_>, expr: Option<&Expr>) -> Option<Vec<Json>> {
    match expr {
        None => Some(Vec::new()),
        Some(e) => builder.condition(e).map(|c| vec![c]),
    }
}

/// The clauses with one `if` each: the members of a group shown under one condition come
/// together under it.
fn merged(clauses: Vec<Json>) -> Vec<Json> {
    let mut out: Vec<(Json, Vec<Json>)> = Vec::new();
    for mut clause in clauses {
        let condition = clause["if"].take();
        let then = clause["then"].take();
        match out.iter_mut().find(|(c, _)| *c == condition) {
            Some((_, thens)) => thens.push(then),
            None => out.push((condition, vec![then])),
        }
    }
    out.into_iter()
        .map(|(condition, mut thens)| {
            let then = if thens.len() == 1 {
                thens.remove(0)
            } else {
                json!({ "allOf": thens })
            };
            json!({"if": condition, "then": then})
        })
        .collect()
}

fn all_of(conditions: &[Json]) -> Json {
    match conditions {
        [one] => one.clone(),
        many => json!({ "allOf": many }),
    }
}

/// `inner` placed at `path` inside the object being built. With `present`, every level of
/// the path must be there (and be an object), as a required answer needs.
fn wrap(path: &[&str], inner: Json, present: bool) -> Json {
    let mut schema = inner;
    for i in (0..path.len()).rev() {
        let mut level = json!({ "properties": { path[i]: schema } });
        if present {
            level["required"] = json!([path[i]]);
            if i > 0 {
                level["type"] = json!("object");
            }
        }
        schema = level;
    }
    schema
}

impl<'s> Builder<'s> {
    /// The schema of `field` at its place, and whether the object around it must contain it.
    /// Conditional parts go to `self.clauses` as `if`/`then` over the whole object.
    fn field(&mut self, field: &'s Field, path: &[&str], inherited: &Inherited) -> (Json, bool) {
        let vis = match (&inherited.vis, &field.visible_if) {
            (Some(v), None) => Some(v.clone()),
            (Some(v), Some(e)) => self.condition(e).map(|c| [v.clone(), vec![c]].concat()),
            (None, _) => None,
        };
        // A group carries no requirement of its own (its members do), an info text none at all.
        let requirement = if matches!(field.kind, FieldKind::Group { .. } | FieldKind::Info { .. }) {
            Requirement::Never
        } else if field.required {
            Requirement::Always
        } else if let Some(e) = &field.required_if {
            Requirement::When(self.condition(e))
        } else {
            Requirement::Never
        };
        let (mut schema, demanded) = match vis {
            // Shown under a condition the schema cannot read: only what the server checks of
            // hidden answers too (their keys and file answers).
            None => (always(field), false),
            Some(vis) if vis.is_empty() => {
                let forms = self.forms(field, path, inherited);
                match (&inherited.scope, requirement) {
                    (Some(scope), Requirement::Always) if scope.is_empty() => (forms.demanded, true),
                    (Some(scope), Requirement::Always) => {
                        self.clauses
                            .push(json!({"if": all_of(scope), "then": wrap(path, forms.demanded, true)}));
                        (forms.optional, forms.forces)
                    }
                    (Some(scope), Requirement::When(Some(c))) => {
                        let holds = [scope.clone(), vec![c]].concat();
                        self.clauses
                            .push(json!({"if": all_of(&holds), "then": wrap(path, forms.demanded, true)}));
                        (forms.optional, forms.forces)
                    }
                    _ => (forms.optional, forms.forces),
                }
            }
            Some(vis) => {
                let shown = Inherited {
                    vis: Some(vis.clone()),
                    scope: inherited.scope.clone(),
                };
                let forms = self.forms(field, path, &shown);
                let always_required =
                    matches!((&inherited.scope, &requirement), (Some(s), Requirement::Always) if s.is_empty());
                let mut then = if always_required {
                    wrap(path, forms.demanded.clone(), true)
                } else {
                    wrap(path, forms.optional, forms.forces)
                };
                let required_when = match (&inherited.scope, requirement) {
                    (Some(scope), Requirement::Always) if !scope.is_empty() => Some(scope.clone()),
                    (Some(scope), Requirement::When(Some(c))) => Some([scope.clone(), vec![c]].concat()),
                    _ => None,
                };
                if let Some(holds) = required_when {
                    then = json!({"allOf": [then, {"if": all_of(&holds), "then": wrap(path, forms.demanded, true)}]});
                }
                self.clauses.push(json!({"if": all_of(&vis), "then": then}));
                (always(field), false)
            }
        };
        if let Json::Object(map) = &mut schema {
            map.insert("title".into(), Json::String(field.label.get("de").to_string()));
        }
        (schema, demanded)
    }

    /// The forms a shown field accepts.
    fn forms(&mut self, field: &'s Field, path: &[&str], inherited: &Inherited) -> Forms {
        let scalar = |value: Json| Forms {
            optional: json!({"anyOf": [blank(), value.clone()]}),
            demanded: value,
            forces: false,
        };
        match &field.kind {
            FieldKind::Group { fields } => {
                let members = Inherited {
                    vis: inherited.vis.clone(),
                    scope: match (&inherited.scope, &field.required_if) {
                        (Some(s), None) => Some(s.clone()),
                        (Some(s), Some(e)) => self.condition(e).map(|c| [s.clone(), vec![c]].concat()),
                        (None, _) => None,
                    },
                };
                let mut properties = Map::new();
                let mut required = Vec::new();
                for member in fields {
                    let member_path = [path, &[member.id.as_str()]].concat();
                    let (schema, demanded) = self.field(member, &member_path, &members);
                    properties.insert(member.id.clone(), schema);
                    if demanded {
                        required.push(Json::String(member.id.clone()));
                    }
                }
                // A group carries no "required" of its own: its members do.
                let forces = !required.is_empty();
                let kind = if forces {
                    json!("object")
                } else {
                    json!(["object", "null"])
                };
                let schema = json!({
                    "type": kind,
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                });
                Forms {
                    optional: schema.clone(),
                    demanded: schema,
                    forces,
                }
            }
            FieldKind::Repeat {
                fields,
                min_items,
                max_items,
                ..
            } => {
                // An item's conditions read the item's own fields; requirements scoped by
                // conditions outside the item are beyond the item's schema.
                let scoped = !inherited.scope.as_ref().is_some_and(Vec::is_empty) || field.required_if.is_some();
                let members = Inherited {
                    vis: Some(Vec::new()),
                    scope: if scoped { None } else { Some(Vec::new()) },
                };
                let mut item = Builder {
                    names: Names::Item(fields),
                    clauses: Vec::new(),
                };
                let mut properties = Map::new();
                let mut required = Vec::new();
                for member in fields {
                    let (schema, demanded) = item.field(member, &[member.id.as_str()], &members);
                    properties.insert(member.id.clone(), schema);
                    if demanded {
                        required.push(Json::String(member.id.clone()));
                    }
                }
                let mut items = json!({
                    "type": "object",
                    "properties": properties,
                    "required": required,
                    "additionalProperties": false,
                });
                if !item.clauses.is_empty() {
                    items["allOf"] = Json::Array(merged(item.clauses));
                }
                let max = Limits::DEFAULT.repeat_items(*max_items);
                let min = min_items.unwrap_or(0);
                let list = |kind: Json, min: u32| {
                    let mut s = json!({"type": kind, "items": items.clone(), "maxItems": max});
                    if min > 0 {
                        s["minItems"] = json!(min);
                    }
                    s
                };
                Forms {
                    optional: if min > 0 {
                        list(json!("array"), min)
                    } else {
                        list(json!(["array", "null"]), 0)
                    },
                    demanded: list(json!("array"), min.max(1)),
                    forces: min > 0,
                }
            }
            FieldKind::File { .. } => Forms {
                optional: json!({"anyOf": [{"type": "null"}, file_answer()]}),
                demanded: file_answer(),
                forces: false,
            },
            FieldKind::Consent => Forms {
                optional: json!({"anyOf": [blank(), yes_no()]}),
                demanded: truth(true),
                forces: false,
            },
            FieldKind::Info { .. } => Forms {
                optional: json!({}),
                demanded: json!({}),
                forces: false,
            },
            _ => scalar(value(field)),
        }
    }

    /// A schema over the object being built that holds exactly when `expr` does, for every
    /// body in which the field it reads is valid (otherwise the server refuses the body
    /// anyway); `None` when the condition is not of a form the schema can read.
    fn condition(&self, expr: &Expr) -> Option<Json> {
        static FORMS: OnceLock<[Regex; 3]> = OnceLock::new();
        let [compare, bare, member] = FORMS.get_or_init(|| {
            let lit = r#"(?:"[^"\\]*"|'[^'\\]*')"#;
            [
                Regex::new(
                    r#"^\s*([a-z][a-z0-9_]*)\s*(==|!=)\s*("[^"\\]*"|'[^'\\]*'|true|false|none|True|False|None)\s*$"#,
                ),
                Regex::new(r"^\s*(not\s+)?([a-z][a-z0-9_]*)\s*$"),
                Regex::new(&format!(
                    r"^\s*([a-z][a-z0-9_]*)\s+(not\s+)?in\s*\[\s*({lit}(?:\s*,\s*{lit})*)\s*,?\s*\]\s*$"
                )),
            ]
            .map(|r| r.expect("static regex"))
        });
        let source = expr.source.as_str();
        let (name, negated, form) = if let Some(c) = compare.captures(source) {
            let literal = c.get(3)?.as_str();
            let form = match literal {
                "true" | "True" => Literal::Bool(true),
                "false" | "False" => Literal::Bool(false),
                "none" | "None" => Literal::None,
                quoted => Literal::Texts(vec![quoted[1..quoted.len() - 1].to_string()]),
            };
            (c.get(1)?.as_str(), c.get(2)?.as_str() == "!=", form)
        } else if let Some(c) = bare.captures(source) {
            let name = c.get(2)?.as_str();
            if name == "none" || name == "true" || name == "false" {
                return None;
            }
            (name, c.get(1).is_some(), Literal::Bool(true))
        } else if let Some(c) = member.captures(source) {
            static ITEM: OnceLock<Regex> = OnceLock::new();
            let item = ITEM.get_or_init(|| Regex::new(r#""([^"\\]*)"|'([^'\\]*)'"#).expect("static regex"));
            let texts = item
                .captures_iter(c.get(3)?.as_str())
                .filter_map(|i| i.get(1).or(i.get(2)).map(|m| m.as_str().to_string()))
                .collect();
            (c.get(1)?.as_str(), c.get(2).is_some(), Literal::Texts(texts))
        } else {
            return None;
        };
        let field = self.plain_field(name)?;
        let value = match (&field.kind, form) {
            (FieldKind::YesNo | FieldKind::Consent, Literal::Bool(b)) => truth(b),
            (FieldKind::Choice { widget, .. }, Literal::Texts(texts)) if *widget != Widget::Checkboxes => {
                // A text that JSON could also send as a number or `true` has more raw forms.
                if texts
                    .iter()
                    .any(|t| serde_json::from_str::<Json>(t).is_ok_and(|j| !j.is_string()))
                {
                    return None;
                }
                let alternatives: Vec<String> = texts.iter().map(|t| escape(t)).collect();
                json!({"type": "string", "pattern": format!("^\\s*(?:{})\\s*$", alternatives.join("|"))})
            }
            (kind, Literal::None)
                if !matches!(
                    kind,
                    FieldKind::Group { .. } | FieldKind::Repeat { .. } | FieldKind::Info { .. }
                ) =>
            {
                // `!= none`: answered. A valid answer is `none` exactly when it is blank.
                let answered = json!({"required": [name], "properties": {name: {"not": blank()}}});
                return Some(if negated { answered } else { json!({"not": answered}) });
            }
            _ => return None,
        };
        let holds = json!({"required": [name], "properties": {name: value}});
        Some(if negated { json!({"not": holds}) } else { holds })
    }

    /// The field `name` reads, when it is always shown (so its value is what was sent).
    fn plain_field(&self, name: &str) -> Option<&'s Field> {
        match self.names {
            Names::Top(service) => service
                .steps
                .iter()
                .filter(|s| s.visible_if.is_none())
                .flat_map(|s| &s.fields)
                .find(|f| f.id == name),
            Names::Item(fields) => fields.iter().find(|f| f.id == name),
        }
        .filter(|f| f.visible_if.is_none())
    }
}

enum Literal {
    Bool(bool),
    None,
    Texts(Vec<String>),
}

/// What the server checks of an answer whether or not its field is shown: no unknown keys in
/// groups and repeat items, and file answers that name an upload.
fn always(field: &Field) -> Json {
    let members = |fields: &[Field]| {
        let properties: Map<String, Json> = fields.iter().map(|f| (f.id.clone(), always(f))).collect();
        json!({"properties": properties, "additionalProperties": false})
    };
    match &field.kind {
        FieldKind::File { .. } => json!({"anyOf": [{"type": "null"}, file_answer()]}),
        FieldKind::Group { fields } => members(fields),
        FieldKind::Repeat { fields, .. } => json!({"items": members(fields)}),
        _ => json!({}),
    }
}

/// A file answer: the id an upload to this service's `/attachments` returned. Name, size and
/// type are taken from the stored upload; whatever else the object holds is ignored.
fn file_answer() -> Json {
    def("upload")
}

fn upload_schema() -> Json {
    json!({
        "type": "object",
        "description": "Eine Datei, zuvor hochgeladen mit POST …/attachments; Name, Größe und Typ nimmt der Server von dort.",
        "properties": {"id": {"type": "string", "minLength": 1}},
        "required": ["id"]
    })
}

const TRUE_WORDS: &str = "[Tt][Rr][Uu][Ee]|[Jj][Aa]|[Yy][Ee][Ss]|[Oo][Nn]|1";
const FALSE_WORDS: &str = "[Ff][Aa][Ll][Ss][Ee]|[Nn][Ee][Ii][Nn]|[Nn][Oo]|[Oo][Ff][Ff]|0";

/// Yes or no: `true`/`false`, `1`/`0`, or the words forms send (`ja`, `nein`, `on`, …).
fn yes_no() -> Json {
    def("yes_no")
}

fn yes_no_schema() -> Json {
    json!({"anyOf": [
        {"type": "boolean"},
        {"enum": [0, 1]},
        {"type": "string", "pattern": format!("^\\s*(?:{TRUE_WORDS}|{FALSE_WORDS})\\s*$")}
    ]})
}

/// Every raw form of yes (`true`) or of no (`false`).
fn truth(yes: bool) -> Json {
    def(if yes { "yes" } else { "no" })
}

fn truth_schema(yes: bool) -> Json {
    let (words, number) = if yes { (TRUE_WORDS, 1) } else { (FALSE_WORDS, 0) };
    json!({"anyOf": [
        {"const": yes},
        {"const": number},
        {"type": "string", "pattern": format!("^\\s*(?:{words})\\s*$")}
    ]})
}

/// A regex that matches `text` literally, in the syntax both ECMA 262 and Rust's regex read.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\^$.|?*+()[]{}/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A decimal number written in the field's bounds, as JSON.
fn bound(b: &Option<Bound>) -> Option<Json> {
    match b {
        Some(Bound::Number(n)) => serde_json::from_str::<Json>(n).ok().filter(Json::is_number),
        _ => None,
    }
}

/// Digits with thousands dots between groups of three (`1.234.567`).
const GROUPED: &str = "[0-9]{1,3}(?:\\.[0-9]{3})+";

/// The forms a non-blank answer of a scalar field takes, as the engine reads them (see
/// `validators.rs` for each).
fn value(field: &Field) -> Json {
    let c = &field.constraints;
    let numbers = |kind: &str, floor: Option<Json>| {
        let mut s = json!({"type": kind});
        if let Some(min) = bound(&c.min).or(floor) {
            s["minimum"] = min;
        }
        if let Some(max) = bound(&c.max) {
            s["maximum"] = max;
        }
        s
    };
    let text = |pattern: String| json!({"type": "string", "pattern": pattern});
    match &field.kind {
        FieldKind::Text | FieldKind::Textarea | FieldKind::Email => {
            let email = matches!(field.kind, FieldKind::Email);
            // Numbers and yes/no are read as their text; lengths and patterns concern texts.
            let kinds = if email {
                json!("string")
            } else {
                json!(["string", "number", "boolean"])
            };
            let mut s = json!({"type": kinds, "pattern": "\\S"});
            if let Some(min) = c.min_length {
                // Counted after trimming: the raw text is at least as long.
                s["minLength"] = json!(min);
            }
            if let Some(max) = c.max_length {
                // Counted after trimming; a text with spaces around it is left to the server.
                s["anyOf"] = json!([{"maxLength": max}, {"pattern": "^\\s|\\s$"}]);
            }
            let mut patterns = Vec::new();
            if let Some(p) = &c.pattern {
                patterns.push(json!({"pattern": format!("^\\s*(?:{})\\s*$", p.regex)}));
            }
            if email {
                patterns.push(json!({"pattern": "^\\s*[^\\s@]+@[^\\s@]*\\.[^\\s@]*\\s*$"}));
            }
            if !patterns.is_empty() {
                s["allOf"] = Json::Array(patterns);
            }
            s
        }
        // Digits with spaces, slashes, hyphens, dots and brackets; "+" or a 0 in front. The
        // country code and the length are the server's to check.
        FieldKind::Phone => text("^\\s*\\+?[\\s/().-]*(?:[0-9][\\s/().-]*){7,}$".into()),
        FieldKind::Plz => json!({"anyOf": [
            text("^\\s*(?:0[1-9]|[1-9][0-9])[0-9]{3}\\s*$".into()),
            {"type": "integer", "minimum": 10000, "maximum": 99999}
        ]}),
        // Spaces anywhere, any case; the check digits are the server's to check.
        FieldKind::Iban => text("^\\s*[A-Za-z]\\s*[A-Za-z]\\s*[0-9]\\s*[0-9](?:\\s*[A-Za-z0-9]){11,30}\\s*$".into()),
        FieldKind::SteuerId => json!({"anyOf": [
            text("^\\s*[1-9](?:\\s*[0-9]){10}\\s*$".into()),
            {"type": "integer", "minimum": 10_000_000_000u64, "maximum": 99_999_999_999u64}
        ]}),
        FieldKind::KfzKennzeichen => {
            text("^\\s*[A-Za-zÄÖÜäöü]{1,3}[\\s-]*[A-Za-z]{1,2}[\\s-]*[1-9][0-9]{0,3}[EHeh]?[\\s-]*$".into())
        }
        FieldKind::Integer => json!({"anyOf": [
            numbers("integer", None),
            text(format!("^\\s*[-−]?(?:[0-9]+|{GROUPED})\\s*$"))
        ]}),
        FieldKind::Decimal => json!({"anyOf": [
            numbers("number", None),
            text(format!(
                "^\\s*[-−]?(?:[0-9]+(?:[.,][0-9]*)?|{GROUPED}(?:,[0-9]*)?|[.,][0-9]+)\\s*$"
            ))
        ]}),
        FieldKind::Money => json!({"anyOf": [
            numbers("number", Some(json!(0))),
            text(format!(
                "^\\s*(?:(?:€|[Ee][Uu][Rr])\\s*)?(?:[0-9]+(?:[.,][0-9]{{0,2}})?|{GROUPED}(?:,[0-9]{{0,2}})?|[.,][0-9]{{1,2}}|[-−]0*[.,]?0{{0,2}})\\s*(?:(?:€|[Ee][Uu][Rr])\\s*)?$"
            ))
        ]}),
        FieldKind::Date => def("date"),
        FieldKind::YesNo | FieldKind::Consent => yes_no(),
        FieldKind::Choice { options, widget, .. } => {
            let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
            let alternatives: Vec<String> = values.iter().map(|v| escape(v)).collect();
            let mut one_of = vec![json!({"type": "string", "enum": values})];
            // Spaces around a value are ignored; values that read as numbers may come as such.
            one_of.push(text(format!("^\\s+(?:{0})\\s*$|^(?:{0})\\s+$", alternatives.join("|"))));
            let numeric: Vec<Json> = values
                .iter()
                .filter_map(|v| serde_json::from_str::<Json>(v).ok().filter(|j| !j.is_string()))
                .collect();
            if !numeric.is_empty() {
                one_of.push(json!({"enum": numeric}));
            }
            let one = json!({"anyOf": one_of});
            if *widget == Widget::Checkboxes {
                json!({"anyOf": [
                    // Blank entries are skipped, so the list's length says nothing more.
                    {"type": "array", "items": {"anyOf": [one.clone(), blank()]}, "minItems": 1},
                    one
                ]})
            } else {
                one
            }
        }
        FieldKind::File { .. } => file_answer(),
        FieldKind::Info { .. } | FieldKind::Group { .. } | FieldKind::Repeat { .. } => json!({}),
    }
}

/// A date: ISO (`2026-05-04`), German (`04.05.2026`, `4.5.2026`), day first with hyphens
/// (`04-05-2026`), or its three parts. Whether the day exists (31 June) the server checks.
fn date_schema() -> Json {
    let day = "0*(?:[1-9]|[12][0-9]|3[01])";
    let month = "0*(?:[1-9]|1[0-2])";
    let year = "[0-9]{4}";
    let part =
        json!({"anyOf": [{"type": "integer", "minimum": 0}, {"type": "string", "pattern": "^\\s*[0-9]+\\.?\\s*$"}]});
    json!({"anyOf": [
        {"type": "string", "pattern": format!(
            "^\\s*(?:{year}\\s*-\\s*{month}\\s*-\\s*{day}|{day}\\s*\\.\\s*{month}\\s*\\.\\s*{year}|{day}\\s*-\\s*{month}\\s*-\\s*{year})\\s*$"
        )},
        {"type": "object", "properties": {"day": part, "month": part, "year": part}, "required": ["day", "month", "year"]}
    ]})
}
