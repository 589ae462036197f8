//! The per-service JSON Schema against the API's own verdict, over every test case of the
//! catalog: what `/submissions` stores the schema accepts, and what it refuses for a reason
//! JSON Schema can state, the schema refuses too.

use baukasten_dsl::model::{Field, FieldKind, Service};
use regex::Regex;
use serde_json::Value as Json;

use crate::common::*;

/// Error codes for rules that JSON Schema can state about the raw body. The rest (rules across
/// fields, date bounds, check digits, uploads, the finer formats of phone numbers, IBANs,
/// e-mail addresses, number plates and dates) only the server checks.
const STATED: &[&str] = &[
    "unknown_field",
    "required",
    "consent_required",
    "invalid_choice",
    "invalid_bool",
    "invalid_plz",
    "invalid_value",
    "too_many_items",
    "too_few_items",
];

/// Whether a condition is of a form the schema reads (`name == "wert"`, `name`, `not name`,
/// `name != none`, `name in [...]`) over a field that is always shown, in the scope the
/// condition is evaluated in (`fields`: the item's fields inside a repeat, else the top).
fn readable(condition: &str, fields: &[&Field]) -> bool {
    let simple = Regex::new(
        r#"^\s*(?:not\s+)?([a-z][a-z0-9_]*)(?:\s*(?:==|!=)\s*(?:"[^"]*"|true|false|none)|\s+(?:not\s+)?in\s*\[[^\]]*\])?\s*$"#,
    )
    .expect("regex");
    let Some(name) = simple.captures(condition).and_then(|c| c.get(1)) else {
        return false;
    };
    fields
        .iter()
        .find(|f| f.id == name.as_str())
        .is_some_and(|f| f.visible_if.is_none())
}

/// Whether the schema can state the error `code` at `path` for this body: its code is one of
/// [`STATED`] (or a length, pattern or range the schema has), and every condition on the way
/// to the field is one it reads.
fn stated(service: &Service, path: &str, code: &str, body: &Json) -> bool {
    if code == "unknown_field" {
        return true;
    }
    let top_plain: Vec<&Field> = service
        .steps
        .iter()
        .filter(|s| s.visible_if.is_none())
        .flat_map(|s| &s.fields)
        .collect();
    let mut parts = path.split('.');
    let Some(first) = parts.next() else { return false };
    let Some(step) = service.steps.iter().find(|s| s.fields.iter().any(|f| f.id == first)) else {
        return false;
    };
    let step_ok = [&step.visible_if, &step.required_if]
        .into_iter()
        .flatten()
        .all(|c| readable(&c.source, &top_plain));
    if !step_ok {
        return false;
    }
    let mut fields: Vec<&Field> = step.fields.iter().collect();
    let mut scope: Vec<&Field> = top_plain.clone();
    let mut in_item_scoped = false;
    let mut raw = body.get(first);
    let mut current = fields.iter().copied().find(|f| f.id == first);
    let mut chain: Vec<(&Field, Vec<&Field>)> = Vec::new();
    while let Some(field) = current {
        chain.push((field, scope.clone()));
        let Some(next) = parts.next() else { break };
        match &field.kind {
            FieldKind::Group { fields: members } => fields = members.iter().collect(),
            FieldKind::Repeat { fields: members, .. } => {
                // Inside an item, conditions read the item's fields; a requirement scoped from
                // outside the item is beyond the item's schema.
                in_item_scoped |= field.required_if.is_some() || step.required_if.is_some();
                fields = members.iter().collect();
                scope = fields.clone();
                raw = raw.and_then(|r| r.get(next.parse::<usize>().unwrap_or(usize::MAX)));
                let Some(member) = parts.next() else { break };
                raw = raw.and_then(|r| r.get(member));
                current = fields.iter().copied().find(|f| f.id == member);
                continue;
            }
            _ => return false,
        }
        raw = raw.and_then(|r| r.get(next));
        current = fields.iter().copied().find(|f| f.id == next);
    }
    let Some((leaf, _)) = chain.last() else { return false };
    let conditions_ok = chain.iter().all(|(f, scope)| {
        [&f.visible_if, &f.required_if]
            .into_iter()
            .flatten()
            .all(|c| readable(&c.source, scope))
    });
    if !conditions_ok || (in_item_scoped && code == "required") {
        return false;
    }
    match code {
        "too_short" | "too_long" | "pattern" => {
            matches!(leaf.kind, FieldKind::Text | FieldKind::Textarea | FieldKind::Email)
                && raw.is_some_and(|r| r.as_str().is_some_and(|s| s.trim() == s))
        }
        // Ranges: the schema has them for JSON numbers, not for numbers written as text.
        "too_small" | "too_large" => raw.is_some_and(Json::is_number),
        // The notation of numbers written as text, short of more digits than a number holds.
        "invalid_integer" | "invalid_decimal" | "invalid_money" => {
            raw.is_some_and(|r| r.as_str().is_some_and(|s| s.chars().count() <= 18))
        }
        code => STATED.contains(&code),
    }
}

#[test]
fn the_schema_and_the_api_agree_on_every_catalog_test_case() {
    let server = start();
    let catalog = catalog();
    let offers: Vec<(String, String)> = server
        .state
        .registry
        .current()
        .offers
        .iter()
        .map(|o| (o.tenant.id.clone(), o.service().id.clone()))
        .collect();
    let (mut accepted, mut refused_stated, mut refused_server_only) = (0, 0, 0);
    let mut disagreements = Vec::new();
    for (tenant, service) in offers {
        let base = format!("/api/v1/services/{tenant}/{service}");
        let schema = get(&server, &format!("{base}/schema")).json();
        let validator = jsonschema::draft202012::new(&schema).expect("the served schema compiles");
        let offered = catalog.service(Some(&tenant), &service).expect("offered service");
        for test in &offered.tests {
            let body = with_uploads(&server, &tenant, offered, &test.answers.to_json());
            let reply = post_json(&server, &format!("{base}/submissions"), &body.to_string());
            let schema_errors: Vec<String> = validator
                .iter_errors(&body)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .collect();
            let case = format!("{tenant}/{service}: {}", test.name);
            match reply.status {
                201 => {
                    accepted += 1;
                    if !schema_errors.is_empty() {
                        disagreements.push(format!(
                            "{case}: the API stores it, the schema refuses: {schema_errors:?}"
                        ));
                    }
                }
                422 => {
                    let errors = reply.json()["errors"].as_array().cloned().unwrap_or_default();
                    let all_stated = errors.iter().all(|e| {
                        stated(
                            offered,
                            e["field"].as_str().unwrap_or(""),
                            e["code"].as_str().unwrap_or(""),
                            &body,
                        )
                    });
                    if all_stated {
                        refused_stated += 1;
                        if schema_errors.is_empty() {
                            disagreements.push(format!(
                                "{case}: the API refuses it for reasons the schema can state, the schema accepts: {errors:?}"
                            ));
                        }
                    } else {
                        refused_server_only += 1;
                    }
                }
                other => disagreements.push(format!("{case}: status {other}: {}", reply.body)),
            }
        }
    }
    assert!(disagreements.is_empty(), "{}", disagreements.join("\n"));
    // The catalog has cases of both kinds; if these fall, the comparison has lost its teeth.
    assert!(accepted >= 25, "{accepted} cases stored");
    assert!(
        refused_stated >= 50,
        "{refused_stated} cases refused for stated reasons"
    );
    eprintln!(
        "catalog cases: {accepted} stored and accepted by the schema, {refused_stated} refused by both, \
         {refused_server_only} refused by the server for reasons only it checks"
    );
}
