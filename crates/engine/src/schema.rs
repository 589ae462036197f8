//! JSON Schema (draft 2020-12) of a service's clean submission, for integrators.
//!
//! The schema says what JSON Schema can say: types, required fields, `if`/`then` for
//! conditions of the simple form `field == literal` or `field != literal`, patterns, ranges,
//! item counts. What it cannot say (cross-field rules, relative dates, IBAN check digits,
//! conditions with `and`/`or` or computed values) the engine checks; the schema is then
//! deliberately looser, never stricter. A property test checks that the two agree where the
//! rule is expressible.

use std::sync::OnceLock;

use baukasten_dsl::model::{Bound, Expr, Field, FieldKind, Service, Widget};
use regex::Regex;
use serde_json::{Map, Value as Json, json};

/// The schema of the clean submission of `service`.
pub fn json_schema(service: &Service) -> Json {
    let top: Vec<&Field> = service.steps.iter().flat_map(|s| &s.fields).collect();
    let mut properties = Map::new();
    let mut required = Vec::new();
    let mut conditions = Vec::new();
    for step in &service.steps {
        let step_conditional = step.visible_if.is_some() || step.required_if.is_some();
        for field in &step.fields {
            if matches!(field.kind, FieldKind::Info { .. }) {
                continue;
            }
            properties.insert(field.id.clone(), field_schema(field));
            let conditional = step_conditional || field.visible_if.is_some() || field.required_if.is_some();
            if field.required && !conditional {
                required.push(Json::String(field.id.clone()));
            }
            if !step_conditional && let Some(c) = condition_schema(field, &top) {
                conditions.push(c);
            }
        }
    }
    let mut schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:baukasten:{}:{}", service.id, service.version),
        "title": service.title.get("de"),
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    });
    if !conditions.is_empty() {
        schema["allOf"] = Json::Array(conditions);
    }
    schema
}

fn field_schema(field: &Field) -> Json {
    let c = &field.constraints;
    let mut s = match &field.kind {
        FieldKind::Text | FieldKind::Textarea | FieldKind::Email | FieldKind::KfzKennzeichen => {
            let mut s = json!({"type": "string"});
            if let Some(p) = &c.pattern {
                s["pattern"] = Json::String(format!("^(?:{})$", p.regex));
            }
            s
        }
        FieldKind::Phone => json!({"type": "string", "pattern": "^\\+[1-9][0-9]{6,14}$"}),
        FieldKind::Plz => json!({"type": "string", "pattern": "^(0[1-9]|[1-9][0-9])[0-9]{3}$"}),
        FieldKind::Iban => json!({"type": "string", "pattern": "^[A-Z]{2}[0-9]{2}[A-Z0-9]{11,30}$"}),
        FieldKind::SteuerId => json!({"type": "string", "pattern": "^[1-9][0-9]{10}$"}),
        FieldKind::Integer => {
            let mut s = json!({"type": "integer"});
            if let Some(Bound::Number(min)) = &c.min
                && let Ok(n) = min.parse::<i64>()
            {
                s["minimum"] = json!(n);
            }
            if let Some(Bound::Number(max)) = &c.max
                && let Ok(n) = max.parse::<i64>()
            {
                s["maximum"] = json!(n);
            }
            s
        }
        // Exact decimals travel as strings; their ranges are the engine's to check.
        FieldKind::Decimal => json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?$"}),
        FieldKind::Money => json!({"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}),
        FieldKind::Date => json!({"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"}),
        FieldKind::YesNo => json!({"type": "boolean"}),
        FieldKind::Consent if field.required && field.required_if.is_none() => json!({"const": true}),
        FieldKind::Consent => json!({"type": "boolean"}),
        FieldKind::Choice { options, widget, .. } => {
            let values: Vec<&str> = options.iter().map(|o| o.value.as_str()).collect();
            if *widget == Widget::Checkboxes {
                json!({"type": "array", "items": {"enum": values}, "uniqueItems": true, "minItems": 1})
            } else {
                json!({"type": "string", "enum": values})
            }
        }
        FieldKind::File { accept, max_size } => {
            let mut size = json!({"type": "integer", "minimum": 0});
            if let Some(max) = max_size {
                size["maximum"] = json!(max);
            }
            json!({
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1, "maxLength": 255},
                    "size": size,
                    "type": {"enum": accept},
                    "id": {"type": "string"}
                },
                "required": ["name", "size", "type"],
                "additionalProperties": false
            })
        }
        FieldKind::Group { fields } => object_schema(fields),
        FieldKind::Repeat {
            fields,
            min_items,
            max_items,
            ..
        } => {
            let mut s = json!({"type": "array", "items": object_schema(fields)});
            if let Some(min) = min_items.filter(|m| *m > 0) {
                s["minItems"] = json!(min);
            }
            if let Some(max) = max_items {
                s["maxItems"] = json!(max);
            }
            s
        }
        FieldKind::Info { .. } => json!({}),
    };
    if field.kind.is_textual()
        && let Json::Object(map) = &mut s
    {
        if let Some(min) = c.min_length {
            map.insert("minLength".into(), json!(min));
        }
        if let Some(max) = c.max_length {
            map.insert("maxLength".into(), json!(max));
        }
    }
    if let Json::Object(map) = &mut s {
        map.insert("title".into(), Json::String(field.label.get("de").to_string()));
    }
    s
}

fn object_schema(fields: &[Field]) -> Json {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for f in fields.iter().filter(|f| !matches!(f.kind, FieldKind::Info { .. })) {
        properties.insert(f.id.clone(), field_schema(f));
        if f.required && f.visible_if.is_none() && f.required_if.is_none() {
            required.push(Json::String(f.id.clone()));
        }
    }
    json!({"type": "object", "properties": properties, "required": required, "additionalProperties": false})
}

/// `name == literal` or `name != literal`, the conditions JSON Schema can express.
fn simple_condition(expr: &Expr) -> Option<(String, bool, Json)> {
    static RE: OnceLock<Regex> = OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r#"^\s*([a-z][a-z0-9_]*)\s*(==|!=)\s*(?:"([^"\\]*)"|'([^'\\]*)'|(true|false)|(-?[0-9]+))\s*$"#)
            .expect("static regex")
    });
    let caps = re.captures(&expr.source)?;
    let name = caps.get(1)?.as_str().to_string();
    let equal = caps.get(2)?.as_str() == "==";
    let literal = if let Some(s) = caps.get(3).or(caps.get(4)) {
        Json::String(s.as_str().to_string())
    } else if let Some(b) = caps.get(5) {
        Json::Bool(b.as_str() == "true")
    } else {
        Json::from(caps.get(6)?.as_str().parse::<i64>().ok()?)
    };
    Some((name, equal, literal))
}

/// `if`/`then`/`else` for a top-level field whose visibility or requirement hangs on a simple
/// condition over another top-level field. Hidden fields are absent from the clean submission.
fn condition_schema(field: &Field, top: &[&Field]) -> Option<Json> {
    let (expr, by_visibility) = match (&field.visible_if, &field.required_if) {
        (Some(v), None) => (v, true),
        (None, Some(r)) => (r, false),
        _ => return None,
    };
    let (name, equal, literal) = simple_condition(expr)?;
    let other = top.iter().find(|f| f.id == name)?;
    // The condition's field must itself be plainly present for `if` to mean what it says.
    if other.visible_if.is_some() || other.required_if.is_some() || !other.required {
        return None;
    }
    let holds = json!({"properties": {name.clone(): {"const": literal}}, "required": [name]});
    let cond = if equal { holds } else { json!({"not": holds}) };
    let id = field.id.clone();
    if by_visibility {
        let then = if field.required {
            json!({"required": [id]})
        } else {
            json!({})
        };
        Some(json!({"if": cond, "then": then, "else": {"not": {"required": [id]}}}))
    } else {
        Some(json!({"if": cond, "then": {"required": [id]}}))
    }
}
