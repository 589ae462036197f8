//! Recorded API traffic: a fixed set of requests whose responses are kept as snapshots, so a
//! change inside the server (a refactoring, a new room for the handlers) is shown to leave
//! what integrators see unchanged.
//!
//! For every service as every municipality offers it: the definition, the JSON Schema, and for
//! each of its YAML tests the answers through `/evaluate` (German and English) and through
//! `/submissions` (with sample files uploaded for file answers); for each stored submission,
//! an attempt to move it into each state of its process, in order. Values that differ from run
//! to run (references, upload ids, times) are replaced by placeholders before comparing.
//!
//! The snapshots were first written by the release before the domain rules moved out of the
//! handlers (issue 10). Review a diff in them as a change of the public API.

use std::collections::HashMap;

use serde_json::{Value as Json, json};

use crate::common::*;

/// Replaces what differs from run to run by stable placeholders, in order of appearance.
#[derive(Default)]
struct Placeholders {
    seen: HashMap<String, String>,
}

impl Placeholders {
    fn name(&mut self, value: &str, kind: &str) -> String {
        let next = self.seen.len();
        self.seen
            .entry(value.to_string())
            .or_insert_with(|| format!("<{kind}-{next}>"))
            .clone()
    }

    fn scrub(&mut self, value: &mut Json) {
        match value {
            Json::Object(map) => {
                for (key, v) in map.iter_mut() {
                    match (key.as_str(), &*v) {
                        ("reference", Json::String(s)) => *v = json!(self.name(s, "reference")),
                        ("created_at", Json::String(_)) => *v = json!("<time>"),
                        ("id", Json::String(s)) if s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                            *v = json!(self.name(s, "upload"))
                        }
                        _ => self.scrub(v),
                    }
                }
            }
            Json::Array(items) => items.iter_mut().for_each(|v| self.scrub(v)),
            Json::String(s) => {
                // Upload ids and references also appear inside lists and headers.
                if let Some(known) = self.seen.get(s.as_str()) {
                    *s = known.clone();
                }
            }
            _ => {}
        }
    }
}

fn recorded(reply: &Reply, placeholders: &mut Placeholders) -> Json {
    let mut body = serde_json::from_str(&reply.body).unwrap_or_else(|_| json!(reply.body));
    placeholders.scrub(&mut body);
    let mut out = json!({ "status": reply.status, "body": body });
    if let Some(location) = reply.header("Location") {
        let reference = location.rsplit('/').next().unwrap_or("");
        let named = placeholders.name(reference, "reference");
        out["location"] = json!(location.replace(reference, &named));
    }
    out
}

fn post_json_en(server: &TestServer, path: &str, body: &str) -> Reply {
    reply(
        agent()
            .post(format!("{}{path}", server.base))
            .header("Content-Type", "application/json")
            .header("Accept-Language", "en")
            .send(body),
    )
}

#[test]
fn api_responses_are_the_recorded_ones() {
    let server = start();
    let catalog = catalog();
    let mut placeholders = Placeholders::default();
    let services = get(&server, "/api/v1/services");
    insta::assert_json_snapshot!("services", recorded(&services, &mut placeholders));

    let offers: Vec<(String, String)> = server
        .state
        .registry
        .current()
        .offers
        .iter()
        .map(|o| (o.tenant.id.clone(), o.service().id.clone()))
        .collect();
    for (tenant, service) in offers {
        let token = match tenant.as_str() {
            "musterstadt" => TOKEN_MUSTERSTADT,
            _ => TOKEN_BEISPIELDORF,
        };
        let mut placeholders = Placeholders::default();
        let base = format!("/api/v1/services/{tenant}/{service}");
        let definition = get(&server, &base);
        insta::assert_json_snapshot!(
            format!("definition__{tenant}__{service}"),
            recorded(&definition, &mut placeholders)
        );
        let schema = get(&server, &format!("{base}/schema"));
        let offered = catalog.service(Some(&tenant), &service).expect("offered service");
        let states: Vec<String> = offered.process.states.iter().map(|s| s.id.clone()).collect();
        let mut cases = Vec::new();
        for test in &offered.tests {
            let answers = test.answers.to_json();
            let evaluate_de = post_json(&server, &format!("{base}/evaluate"), &answers.to_string());
            let evaluate_en = post_json_en(&server, &format!("{base}/evaluate"), &answers.to_string());
            let with_files = with_uploads(&server, &tenant, offered, &answers);
            let submit = post_json(&server, &format!("{base}/submissions"), &with_files.to_string());
            let mut case = json!({
                "test": test.name,
                "evaluate_de": recorded(&evaluate_de, &mut placeholders),
                "evaluate_en": recorded(&evaluate_en, &mut placeholders),
                "submit": recorded(&submit, &mut placeholders),
            });
            if submit.status == 201 {
                let reference = submit.json()["reference"].as_str().expect("reference").to_string();
                let moves: Vec<Json> = states
                    .iter()
                    .map(|to| {
                        let moved = move_submission(&server, &reference, to, token);
                        json!({ "to": to, "reply": recorded(&moved, &mut placeholders) })
                    })
                    .collect();
                case["state_changes"] = json!(moves);
            }
            cases.push(case);
        }
        insta::assert_json_snapshot!(
            format!("traffic__{tenant}__{service}"),
            json!({ "schema": recorded(&schema, &mut placeholders), "cases": cases })
        );
    }
}
