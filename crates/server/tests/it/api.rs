//! The JSON API: catalog, definitions, schemas, evaluation, submissions, back office, and
//! the errors a client gets for bad input.

use std::collections::BTreeSet;

use serde_json::{Value as Json, json};

use crate::common::*;

#[test]
fn the_catalog_lists_every_service_of_every_municipality_and_searches() {
    let server = start();
    let all = get(&server, "/api/v1/services").json();
    let all = all.as_array().expect("a list");
    let catalog = catalog();
    let shared = catalog.services.iter().filter(|s| s.tenant.is_none()).count();
    assert_eq!(
        all.len(),
        shared * 2,
        "each of the two municipalities offers every shared service"
    );
    assert!(
        all.iter()
            .any(|s| s["tenant"] == "musterstadt" && s["service"] == "bewohnerparkausweis")
    );

    let dogs = get(&server, "/api/v1/services?q=hund&tenant=beispieldorf").json();
    let ids: Vec<&str> = dogs
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["hundesteuer"]);

    // The API and the catalog page search alike: by id too, in any of the title's languages.
    let by_id = get(&server, "/api/v1/services?q=maengelmelder&tenant=musterstadt").json();
    assert_eq!(by_id.as_array().unwrap().len(), 1, "{by_id}");
    let page = get(&server, "/musterstadt/?q=maengelmelder");
    assert!(
        page.body.contains("/musterstadt/maengelmelder/"),
        "the page finds it too"
    );
}

#[test]
fn definitions_and_schemas_are_served_and_unknown_services_are_404_json() {
    let server = start();
    let definition = get(&server, "/api/v1/services/musterstadt/bewohnerparkausweis");
    assert_eq!(definition.status, 200);
    let definition = definition.json();
    assert_eq!(definition["id"], "bewohnerparkausweis");
    assert!(
        definition.get("tests").is_none(),
        "the clerk's tests are not part of the API"
    );

    let schema = get(&server, "/api/v1/services/musterstadt/bewohnerparkausweis/schema");
    assert_eq!(schema.status, 200);
    assert_eq!(schema.json()["$schema"], "https://json-schema.org/draft/2020-12/schema");

    for path in [
        "/api/v1/services/musterstadt/gibtsnicht",
        "/api/v1/services/nirgendwo/hundesteuer/schema",
        "/api/v1/gibtsnicht",
    ] {
        let reply = get(&server, path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.json()["error"]["code"], "not_found", "{path}");
    }
}

#[test]
fn evaluate_says_what_is_shown_required_and_wrong() {
    let server = start();
    let reply = post_json(
        &server,
        "/api/v1/services/musterstadt/bewohnerparkausweis/evaluate",
        r#"{"halter": "firma"}"#,
    );
    assert_eq!(reply.status, 200);
    let body = reply.json();
    assert_eq!(body["valid"], false);
    let field = |path: &str| {
        body["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["path"] == path)
            .cloned()
    };
    assert_eq!(field("nutzungsnachweis").expect("listed")["visible"], true);
    let errors = body["errors"].as_array().unwrap();
    assert!(
        errors
            .iter()
            .any(|e| e["field"] == "nutzungsnachweis" && e["code"] == "required")
    );
    assert!(
        errors
            .iter()
            .all(|e| e["message"].as_str().is_some_and(|m| !m.is_empty()))
    );

    // English on request.
    let english = reply_en(&server);
    assert!(english.contains("required") || english.contains("Please"), "{english}");
}

fn reply_en(server: &TestServer) -> String {
    let reply = reply(
        agent()
            .post(format!(
                "{}/api/v1/services/musterstadt/bewohnerparkausweis/evaluate",
                server.base
            ))
            .header("Content-Type", "application/json")
            .header("Accept-Language", "en-GB,en;q=0.9")
            .send("{}"),
    );
    reply.json()["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn bad_input_gets_a_4xx_with_a_json_body_never_a_500() {
    let server = start();
    let evaluate = "/api/v1/services/musterstadt/hundesteuer/evaluate";
    let submit = "/api/v1/services/musterstadt/hundesteuer/submissions";
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    let cases: Vec<(&str, &str, String, u16)> = vec![
        (evaluate, "application/json", "{not json".into(), 400),
        (submit, "application/json", "{not json".into(), 400),
        (evaluate, "application/json", "[1, 2]".into(), 400),
        (submit, "application/json", "\"text\"".into(), 400),
        (evaluate, "application/json", deep.clone(), 400),
        (submit, "application/json", deep, 400),
        (evaluate, "text/plain", "{}".into(), 415),
        (submit, "text/plain", "{}".into(), 415),
        (
            evaluate,
            "application/json",
            format!("{{\"x\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)),
            413,
        ),
        (
            submit,
            "application/json",
            format!("{{\"x\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)),
            413,
        ),
        (submit, "application/json", "{}".into(), 422),
    ];
    for (path, content_type, body, status) in cases {
        let reply = reply(
            agent()
                .post(format!("{}{path}", server.base))
                .header("Content-Type", content_type)
                .send(body.as_str()),
        );
        assert_eq!(
            reply.status,
            status,
            "{path} {content_type} {}…: {}",
            &body[..body.len().min(20)],
            reply.body
        );
        let json = reply.json();
        if status == 422 {
            let errors = json["errors"].as_array().expect("a list of errors");
            assert!(
                errors
                    .iter()
                    .all(|e| e["field"].is_string() && e["code"].is_string() && e["message"].is_string())
            );
        } else {
            assert!(
                json["error"]["code"].is_string() && json["error"]["message"].is_string(),
                "{json}"
            );
        }
    }
}

#[test]
fn huge_repeats_and_long_strings_are_errors_at_the_field() {
    let server = start();
    let dogs: Vec<Json> = (0..100_000).map(|_| json!({})).collect();
    let body = json!({ "hunde": dogs, "vorname": "x".repeat(200_000) }).to_string();
    let reply = post_json(&server, "/api/v1/services/musterstadt/hundesteuer/evaluate", &body);
    assert_eq!(reply.status, 200, "{}", &reply.body[..reply.body.len().min(300)]);
    let errors = reply.json()["errors"].as_array().cloned().unwrap_or_default();
    assert!(
        errors.iter().any(|e| e["field"] == "hunde"),
        "the repeat names its limit"
    );
}

#[test]
fn every_catalog_service_can_be_submitted_through_the_api_and_read_back() {
    let server = start();
    let catalog = catalog();
    for service in catalog.services.iter().filter(|s| s.tenant.is_none()) {
        for (tenant, token) in [("musterstadt", TOKEN_MUSTERSTADT), ("beispieldorf", TOKEN_BEISPIELDORF)] {
            let offered = catalog.service(Some(tenant), &service.id).unwrap();
            let answers = with_uploads(&server, tenant, offered, &valid_answers(&catalog, tenant, &service.id));
            let path = format!("/api/v1/services/{tenant}/{}/submissions", service.id);
            let reply = post_json(&server, &path, &answers.to_string());
            assert_eq!(reply.status, 201, "{tenant}/{}: {}", service.id, reply.body);
            let created = reply.json();
            let reference = created["reference"].as_str().expect("a reference").to_string();
            assert!(is_reference(&reference), "{reference}");
            assert_eq!(
                reply.header("Location"),
                Some(format!("/api/v1/submissions/{reference}").as_str())
            );

            let stored = get_with_token(&server, &format!("/api/v1/submissions/{reference}"), token);
            assert_eq!(stored.status, 200);
            let stored = stored.json();
            assert_eq!(stored["service"], service.id.as_str());
            assert_eq!(stored["data"]["answers"], created["data"]["answers"]);
            let mut files = Vec::new();
            collect_ids(&answers, &mut files);
            assert_eq!(
                stored["attachments"].as_array().unwrap().len(),
                files.len(),
                "every upload is linked"
            );
            assert!(stored["definition_hash"].as_str().is_some_and(|h| !h.is_empty()));
        }
    }
}

#[test]
fn the_back_office_sees_only_its_own_municipality() {
    let server = start();
    let answers = valid_answers(&catalog(), "musterstadt", "hundesteuer");
    let created = post_json(
        &server,
        "/api/v1/services/musterstadt/hundesteuer/submissions",
        &answers.to_string(),
    )
    .json();
    let reference = created["reference"].as_str().unwrap();
    let path = format!("/api/v1/submissions/{reference}");
    assert_eq!(get(&server, &path).status, 401);
    assert_eq!(get_with_token(&server, &path, "wrong").status, 401);
    assert_eq!(get_with_token(&server, &path, TOKEN_BEISPIELDORF).status, 404);
    let list = get_with_token(&server, "/api/v1/submissions", TOKEN_MUSTERSTADT).json();
    assert!(list.as_array().unwrap().iter().any(|s| s["reference"] == reference));
    let other = get_with_token(&server, "/api/v1/submissions", TOKEN_BEISPIELDORF).json();
    assert!(other.as_array().unwrap().iter().all(|s| s["reference"] != reference));
}

#[test]
fn an_idempotency_key_makes_a_retry_return_the_first_answer() {
    let server = start();
    let answers = maengelmelder_answers();
    let send = |key: &str, body: &str| {
        reply(
            agent()
                .post(format!(
                    "{}/api/v1/services/musterstadt/maengelmelder/submissions",
                    server.base
                ))
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .send(body),
        )
    };
    let first = send("key-1", &answers);
    let second = send("key-1", &answers);
    assert_eq!((first.status, second.status), (201, 201));
    assert_eq!(first.json()["reference"], second.json()["reference"]);
    assert_eq!(second.header("Idempotent-Replayed"), Some("true"));
    let list = get_with_token(&server, "/api/v1/submissions", TOKEN_MUSTERSTADT).json();
    assert_eq!(list.as_array().unwrap().len(), 1, "stored once");

    let mut changed: Json = serde_json::from_str(&answers).unwrap();
    changed["beschreibung"] = json!("Eine andere Beschreibung des Schadens am Gehweg.");
    let reused = send("key-1", &changed.to_string());
    assert_eq!(reused.status, 422);
    assert_eq!(reused.json()["error"]["code"], "idempotency_key_reused");
}

#[test]
fn a_hundred_concurrent_submissions_get_a_hundred_references() {
    let server = start();
    let answers = maengelmelder_answers();
    let url = format!("{}/api/v1/services/beispieldorf/maengelmelder/submissions", server.base);
    let references: Vec<String> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..100)
            .map(|_| {
                scope.spawn(|| {
                    let reply = reply(
                        agent()
                            .post(&url)
                            .header("Content-Type", "application/json")
                            .send(answers.as_str()),
                    );
                    assert_eq!(reply.status, 201, "{}", reply.body);
                    reply.json()["reference"].as_str().unwrap().to_string()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("thread")).collect()
    });
    let distinct: BTreeSet<&String> = references.iter().collect();
    assert_eq!(distinct.len(), 100);
    let list = get_with_token(&server, "/api/v1/submissions?limit=500", TOKEN_BEISPIELDORF).json();
    assert_eq!(list.as_array().unwrap().len(), 100);
}

#[test]
fn the_openapi_document_matches_the_routes() {
    let server = start();
    let doc = get(&server, "/api/v1/openapi.json").json();
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")));
    let paths = doc["paths"].as_object().expect("paths");
    let mut documented = BTreeSet::new();
    for (path, item) in paths {
        for method in item.as_object().unwrap().keys() {
            documented.insert(format!("{} {path}", method.to_uppercase()));
            // Every documented operation exists: it answers with something other than the
            // server's "no such endpoint".
            let concrete = path
                .replace("{tenant}", "musterstadt")
                .replace("{service}", "hundesteuer")
                .replace("{reference}", "XYZ-2026-22222")
                .replace("{id}", "00");
            let request = match method.as_str() {
                "get" => agent().get(format!("{}{concrete}", server.base)).call(),
                "post" => agent()
                    .post(format!("{}{concrete}", server.base))
                    .header("Content-Type", "application/json")
                    .send("{}"),
                other => panic!("unexpected method {other}"),
            };
            let reply = reply(request);
            assert!(
                !reply.body.contains("no such endpoint"),
                "{method} {path} is documented but not routed: {}",
                reply.body
            );
        }
    }
    // And every route of the API is documented.
    let routed = [
        "GET /api/v1/services",
        "GET /api/v1/services/{tenant}/{service}",
        "GET /api/v1/services/{tenant}/{service}/schema",
        "POST /api/v1/services/{tenant}/{service}/evaluate",
        "POST /api/v1/services/{tenant}/{service}/submissions",
        "GET /api/v1/submissions",
        "GET /api/v1/submissions/{reference}",
        "POST /api/v1/submissions/{reference}/state",
        "GET /api/v1/submissions/{reference}/deliveries",
        "POST /api/v1/submissions/{reference}/deliveries/{id}/resend",
        "GET /api/v1/submissions/{reference}/receipt.pdf",
        "POST /api/v1/services/{tenant}/{service}/attachments",
        "GET /api/v1/attachments/{id}",
        "POST /api/v1/fit-connect/{tenant}/callbacks",
        "GET /api/v1/schemas/{hash}.json",
        "GET /api/v1/openapi.json",
    ];
    let routed: BTreeSet<String> = routed.iter().map(|s| s.to_string()).collect();
    assert_eq!(documented, routed);
}

#[test]
fn responses_carry_security_headers_and_no_internals() {
    let server = start();
    for path in [
        "/musterstadt/",
        "/api/v1/services",
        "/gibtsnicht/ganz/sicher",
        "/api/v1/x",
    ] {
        let reply = get(&server, path);
        let csp = reply.header("Content-Security-Policy").expect("CSP");
        assert!(!csp.contains("unsafe-inline") && !csp.contains("unsafe-eval"), "{csp}");
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(reply.header("X-Content-Type-Options"), Some("nosniff"));
        assert!(reply.header("Referrer-Policy").is_some());
        for leak in ["/work/", "src/", "panicked", "RUST_BACKTRACE", ".rs:"] {
            assert!(!reply.body.contains(leak), "{path} leaks {leak}");
        }
    }
}

#[test]
fn uploads_are_typed_by_their_content() {
    let server = start();
    let upload = |name: &str, bytes: &[u8]| upload_for(&server, "musterstadt", "bewohnerparkausweis", name, bytes);
    let pdf = upload(
        "../../Nachweis<1>.pdf",
        b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n",
    );
    assert_eq!(pdf.status, 201, "{}", pdf.body);
    let stored = &pdf.json()[0];
    assert_eq!(stored["type"], "application/pdf");
    assert_eq!(stored["name"], "Nachweis_1_.pdf");
    let id = stored["id"].as_str().unwrap();
    let download = get_with_token(&server, &format!("/api/v1/attachments/{id}"), TOKEN_MUSTERSTADT);
    assert_eq!(download.status, 200);
    assert!(download.body.starts_with("%PDF"));
    let elsewhere = get_with_token(&server, &format!("/api/v1/attachments/{id}"), TOKEN_BEISPIELDORF);
    assert_eq!(
        elsewhere.status, 404,
        "another municipality's back office cannot read it"
    );
    let nowhere = upload_for(&server, "musterstadt", "gibtsnicht", "x.pdf", PDF);
    assert_eq!(nowhere.status, 404);

    let fake = upload("rechnung.pdf", b"MZ\x90\x00 this is a program, not a PDF");
    assert_eq!(
        fake.status, 415,
        "the name says PDF, the content does not: {}",
        fake.body
    );
    let too_big = upload("gross.pdf", &[b'%'; 11 * 1024 * 1024]);
    assert_eq!(too_big.status, 413);
}

#[test]
fn health_and_metrics_are_served() {
    let server = start();
    let health = get(&server, "/healthz");
    assert_eq!(health.status, 200);
    assert_eq!(health.json()["status"], "ok");
    let answers = maengelmelder_answers();
    assert_eq!(
        post_json(
            &server,
            "/api/v1/services/musterstadt/maengelmelder/submissions",
            &answers
        )
        .status,
        201
    );
    let metrics = get(&server, "/metrics").body;
    assert!(metrics.contains("baukasten_submissions_total{tenant=\"musterstadt\",service=\"maengelmelder\"} 1"));
    assert!(metrics.contains("route=\"/api/v1/services/{tenant}/{service}/submissions\""));
    assert!(metrics.contains("baukasten_http_request_duration_seconds_bucket"));
    assert!(
        !metrics.contains("BUE-") && !metrics.contains("MAE-"),
        "no references in metrics"
    );
}

/// Mängelmelder's valid answers without the optional photo, so they need no upload.
fn maengelmelder_answers() -> String {
    let mut answers = valid_answers(&catalog(), "musterstadt", "maengelmelder");
    answers.as_object_mut().unwrap().remove("foto");
    answers.to_string()
}

fn collect_ids(value: &Json, out: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            if let (Some(Json::String(id)), Some(_)) = (map.get("id"), map.get("type")) {
                out.push(id.clone());
            }
            map.values().for_each(|v| collect_ids(v, out));
        }
        Json::Array(items) => items.iter().for_each(|v| collect_ids(v, out)),
        _ => {}
    }
}

#[test]
fn a_file_answer_must_name_an_upload() {
    let server = start();
    let mut answers: Json = serde_json::from_str(&maengelmelder_answers()).unwrap();
    answers["foto"] = json!({"name": "schlagloch.jpg", "size": 1000, "type": "jpeg"});
    let reply = post_json(
        &server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &answers.to_string(),
    );
    assert_eq!(reply.status, 422);
    let errors = reply.json()["errors"].clone();
    assert_eq!(
        errors,
        json!([{"field": "foto", "code": "file_not_uploaded", "message": "Bitte laden Sie die Datei zuerst hoch."}])
    );

    // Uploaded first, the type and size are the server's, whatever the client claims.
    // An upload made for another municipality does not count.
    let foreign = upload_for(&server, "beispieldorf", "maengelmelder", "schlagloch.jpg", JPEG).json()[0].clone();
    answers["foto"] = json!({"id": foreign["id"]});
    let reply = post_json(
        &server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &answers.to_string(),
    );
    assert_eq!(reply.status, 422);
    assert_eq!(reply.json()["errors"][0]["code"], "file_not_uploaded");

    let uploaded = upload_for(&server, "musterstadt", "maengelmelder", "schlagloch.jpg", JPEG).json()[0].clone();
    answers["foto"] = json!({"id": uploaded["id"], "name": "x.jpg", "size": 1, "type": "png"});
    let reply = post_json(
        &server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &answers.to_string(),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let foto = reply.json()["data"]["answers"]["foto"].clone();
    assert_eq!(foto["name"], "schlagloch.jpg");
    assert_eq!(foto["size"], JPEG.len());
}

/// What an integrator's tooling reads in the OpenAPI document: every answer described (OpenAPI
/// 3.1 requires it; generators and validators refuse the document otherwise), the answers'
/// body as a documented type that points at each service's JSON Schema, the schema's own media
/// type, and the rules of `Idempotency-Key` and `limit`. (tests/api/run.sh checks the whole
/// document with an independent validator and a generated client.)
#[test]
fn the_openapi_document_describes_bodies_headers_and_every_answer() {
    let server = start();
    let doc = get(&server, "/api/v1/openapi.json").json();
    assert_eq!(doc["openapi"], "3.1.0");
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("operations") {
            for (status, response) in operation["responses"].as_object().expect("responses") {
                assert!(
                    response["description"].as_str().is_some_and(|d| !d.is_empty()),
                    "{method} {path} {status} has no description"
                );
            }
        }
    }
    let service = "/api/v1/services/{tenant}/{service}";
    for endpoint in ["evaluate", "submissions"] {
        let operation = &doc["paths"][format!("{service}/{endpoint}")]["post"];
        let body = &operation["requestBody"];
        assert_eq!(
            body["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/Answers"
        );
        assert!(
            body["description"]
                .as_str()
                .unwrap_or("")
                .contains(&format!("{service}/schema"))
        );
        for status in ["400", "415"] {
            assert!(
                operation["responses"].get(status).is_some(),
                "{endpoint} documents {status}"
            );
        }
    }
    assert!(
        doc["components"]["schemas"]["Answers"]["description"]
            .as_str()
            .unwrap_or("")
            .contains("/schema")
    );
    let schema = &doc["paths"][format!("{service}/schema")]["get"]["responses"]["200"]["content"];
    assert!(schema.get("application/schema+json").is_some(), "{schema}");

    let submit = &doc["paths"][format!("{service}/submissions")]["post"];
    let key = submit["parameters"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "Idempotency-Key"))
        .expect("Idempotency-Key is documented");
    assert_eq!(key["in"], "header");
    assert_eq!(key["schema"]["maxLength"], 200);
    for rule in ["200", "Idempotent-Replayed", "idempotency_key_reused", "400"] {
        assert!(
            key["description"].as_str().unwrap_or("").contains(rule),
            "{rule}: {key}"
        );
    }
    assert!(submit["responses"]["201"]["headers"].get("Location").is_some());
    assert!(
        submit["responses"]["422"]["content"]["application/json"]["schema"]["$ref"]
            .as_str()
            .is_some_and(|r| r.ends_with("/Unprocessable"))
    );

    let list = &doc["paths"]["/api/v1/submissions"]["get"];
    let limit = list["parameters"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "limit"))
        .expect("limit is documented");
    assert_eq!(limit["in"], "query");
    assert!(limit["description"].as_str().unwrap_or("").contains("500"));
    // And the server keeps what the document says about `limit`.
    let not_a_number = get_with_token(&server, "/api/v1/submissions?limit=viele", TOKEN_MUSTERSTADT);
    assert_eq!(not_a_number.status, 400, "{}", not_a_number.body);
    assert!(list["responses"].get("400").is_some());
}

/// The definition is documented as a type of its own, and what is served is what the OpenAPI
/// document says: every catalog service's definition validates against its schema there.
#[test]
fn every_served_definition_matches_its_documented_type() {
    let server = start();
    let doc = get(&server, "/api/v1/openapi.json").json();
    let response = &doc["paths"]["/api/v1/services/{tenant}/{service}"]["get"]["responses"]["200"];
    assert_eq!(
        response["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/Definition"
    );
    let definition = &doc["components"]["schemas"]["Definition"];
    for key in ["steps", "process", "definition_hash", "tenant"] {
        assert!(
            definition["properties"].get(key).is_some(),
            "Definition documents {key}"
        );
    }
    let schema = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "#/components/schemas/Definition",
        "components": doc["components"],
    });
    let validator = jsonschema::draft202012::new(&schema).expect("the documented schema compiles");
    let catalog = catalog();
    let mut checked = 0;
    for service in catalog.services.iter().filter(|s| s.tenant.is_none()) {
        for tenant in ["musterstadt", "beispieldorf"] {
            let served = get(&server, &format!("/api/v1/services/{tenant}/{}", service.id)).json();
            let errors: Vec<String> = validator
                .iter_errors(&served)
                .map(|e| format!("{} at {}", e, e.instance_path()))
                .take(5)
                .collect();
            assert!(errors.is_empty(), "{tenant}/{}: {errors:?}", service.id);
            checked += 1;
        }
    }
    assert_eq!(checked, 16);
    // A definition with a field the documented type lacks would fail.
    let mut extra = get(&server, "/api/v1/services/musterstadt/hundesteuer").json();
    extra["steps"][0]["fields"][0]["kind"]["type"] = json!("hologram");
    assert!(
        !validator.is_valid(&extra),
        "an unknown field type is not the documented shape"
    );
}

/// Path segments a handler might echo (into a `Location`, a page, a log) are checked first:
/// a control character, a quote or an overlong segment anywhere in a URL is a 4xx, never a 500.
#[test]
fn hostile_path_segments_get_a_4xx_never_a_500() {
    let server = start();
    let evil = [
        "%0Aevil",
        "%0D%0ASet-Cookie:%20x=1",
        "%00",
        "a%22b",
        &"x".repeat(3000),
        "..",
        "%E2%80%AE",
    ];
    let mut checked = 0;
    for segment in evil {
        let gets = [
            format!("/{segment}/"),
            format!("/{segment}"),
            format!("/musterstadt/{segment}/"),
            format!("/musterstadt/{segment}"),
            format!("/musterstadt/maengelmelder/schritt/{segment}"),
            format!("/assets/{segment}"),
            format!("/assets/theme/{segment}.css"),
            format!("/api/v1/services/{segment}/maengelmelder"),
            format!("/api/v1/services/musterstadt/{segment}/schema"),
            format!("/api/v1/submissions/{segment}"),
            format!("/api/v1/attachments/{segment}"),
            format!("/musterstadt/maengelmelder/fortsetzen?code={segment}"),
        ];
        for path in gets {
            let reply = get(&server, &path);
            assert!(reply.status < 500, "GET {path}: {} {}", reply.status, reply.body);
            checked += 1;
        }
        let posts = [
            format!("/musterstadt/maengelmelder/schritt/{segment}"),
            format!("/musterstadt/maengelmelder/verlaengern?schritt={segment}"),
            format!("/musterstadt/{segment}/senden"),
            format!("/api/v1/services/musterstadt/{segment}/evaluate"),
            format!("/api/v1/submissions/{segment}/state"),
        ];
        for path in posts {
            let reply = reply(
                agent()
                    .post(format!("{}{path}", server.base))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .send("_csrf=x&_action=next"),
            );
            assert!(reply.status < 500, "POST {path}: {} {}", reply.status, reply.body);
            checked += 1;
        }
    }
    assert_eq!(checked, evil.len() * 17);
}

/// Two clerks deciding the same application at once: one wins, the other gets 409, and the
/// audit trail holds only moves the process allows.
#[test]
fn conflicting_state_changes_have_exactly_one_winner() {
    let server = start();
    let catalog = catalog();
    let service = catalog.service(Some("musterstadt"), "bewohnerparkausweis").unwrap();
    let move_to = |reference: &str, to: &str| move_submission(&server, reference, to, TOKEN_MUSTERSTADT);
    for round in 0..20 {
        let answers = with_uploads(
            &server,
            "musterstadt",
            service,
            &valid_answers(&catalog, "musterstadt", "bewohnerparkausweis"),
        );
        let created = post_json(
            &server,
            "/api/v1/services/musterstadt/bewohnerparkausweis/submissions",
            &answers.to_string(),
        );
        assert_eq!(created.status, 201, "{}", created.body);
        let reference = created.json()["reference"].as_str().unwrap().to_string();
        assert_eq!(move_to(&reference, "in_bearbeitung").status, 200);

        let barrier = std::sync::Barrier::new(2);
        let statuses: Vec<u16> = std::thread::scope(|scope| {
            let clerks: Vec<_> = ["genehmigt", "abgelehnt"]
                .into_iter()
                .map(|to| {
                    let (barrier, reference, move_to) = (&barrier, &reference, &move_to);
                    scope.spawn(move || {
                        barrier.wait();
                        move_to(reference, to).status
                    })
                })
                .collect();
            clerks.into_iter().map(|c| c.join().unwrap()).collect()
        });
        let mut sorted = statuses.clone();
        sorted.sort();
        assert_eq!(sorted, [200, 409], "round {round}: {statuses:?}");
        let audit = server.state.store.audit(&reference).unwrap();
        let moves: Vec<&str> = audit.iter().map(|e| e.action.as_str()).collect();
        let stored = server.state.store.submission(&reference).unwrap().unwrap();
        let last = format!("state:{}", stored.state);
        assert_eq!(
            moves,
            ["submitted", "state:in_bearbeitung", last.as_str()],
            "round {round}: the winner's move, and only it, is in the audit trail"
        );
    }
}

/// A file is stored and served under the type its content is, and a name outside ASCII
/// reaches the clerk's download intact (RFC 6266 `filename*`).
#[test]
fn a_file_is_stored_under_the_type_it_is_and_downloaded_with_its_name() {
    let server = start();
    let download = |id: &str| {
        reply(
            agent()
                .get(format!("{}/api/v1/attachments/{id}", server.base))
                .header("Authorization", format!("Bearer {TOKEN_MUSTERSTADT}"))
                .call(),
        )
    };
    let html = upload_for(&server, "musterstadt", "maengelmelder", "x.html", PDF).json()[0].clone();
    assert_eq!(html["name"], "x.pdf", "a PDF named x.html is a PDF");
    let got = download(html["id"].as_str().unwrap());
    assert_eq!(got.header("Content-Type"), Some("application/pdf"));
    assert_eq!(
        got.header("Content-Disposition"),
        Some("attachment; filename=\"x.pdf\"")
    );

    let umlaut = upload_for(&server, "musterstadt", "maengelmelder", "Bescheinigung_Müller.pdf", PDF).json()[0].clone();
    assert_eq!(umlaut["name"], "Bescheinigung_Müller.pdf");
    let got = download(umlaut["id"].as_str().unwrap());
    assert_eq!(
        got.header("Content-Disposition"),
        Some("attachment; filename=\"Bescheinigung_M_ller.pdf\"; filename*=UTF-8''Bescheinigung_M%C3%BCller.pdf")
    );
}

fn evaluate_from(server: &TestServer, forwarded_for: Option<&str>) -> Reply {
    let mut request = agent()
        .post(format!(
            "{}/api/v1/services/musterstadt/maengelmelder/evaluate",
            server.base
        ))
        .header("Content-Type", "application/json");
    if let Some(chain) = forwarded_for {
        request = request.header("X-Forwarded-For", chain);
    }
    reply(request.send("{}"))
}

/// Every endpoint that writes or computes takes from the client's rate limit, and a refusal
/// says when to come back.
#[test]
fn the_rate_limit_covers_evaluation_and_step_posts_and_says_when_to_retry() {
    let server = start_with(read_forms(&forms_dir()), |c| c.rate_limit_per_minute = 2);
    assert_eq!(evaluate_from(&server, None).status, 200);
    assert_eq!(evaluate_from(&server, None).status, 200);
    let refused = evaluate_from(&server, None);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.json()["error"]["code"], "rate_limited");
    let seconds: u64 = refused.header("Retry-After").expect("Retry-After").parse().unwrap();
    assert!((1..=30).contains(&seconds), "{seconds}");
    // A made-up X-Forwarded-For from a client that is no trusted proxy changes nothing.
    assert_eq!(evaluate_from(&server, Some("203.0.113.9")).status, 429);
    // The citizen's pages: a step post is refused with a page, also with Retry-After.
    let step = reply(
        agent()
            .post(format!("{}/musterstadt/maengelmelder/schritt/mangel", server.base))
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send("kategorie=graffiti"),
    );
    assert_eq!(step.status, 429);
    assert!(step.header("Content-Type").is_some_and(|t| t.starts_with("text/html")));
    assert!(step.header("Retry-After").is_some());
}

/// Behind a trusted reverse proxy each citizen has a limit of their own, found from the last
/// address the proxy added, not from what the client wrote before it.
#[test]
fn behind_a_trusted_proxy_the_forwarded_client_is_limited() {
    let server = start_with(read_forms(&forms_dir()), |c| {
        c.rate_limit_per_minute = 1;
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    assert_eq!(evaluate_from(&server, Some("203.0.113.5")).status, 200);
    assert_eq!(evaluate_from(&server, Some("203.0.113.5")).status, 429);
    assert_eq!(
        evaluate_from(&server, Some("203.0.113.6")).status,
        200,
        "another citizen"
    );
    assert_eq!(
        evaluate_from(&server, Some("198.51.100.7, 203.0.113.6")).status,
        429,
        "an address the client wrote in front does not make it someone else"
    );
}

/// A thousand connections whose bodies trickle in (here: never come) neither starve other
/// clients nor stay open for ever: a normal request answers within a second, the slow ones are
/// refused beyond the per-address cap (429) or cut off after the request timeout (408).
#[test]
fn slow_bodies_cannot_starve_the_server() {
    use std::io::{Read, Write};
    use std::time::{Duration, Instant};
    let server = start_with(read_forms(&forms_dir()), |c| {
        c.request_timeout = 2;
        c.max_requests_per_address = 20;
        // The slow client comes through the (local) proxy as 203.0.113.66.
        c.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    });
    let addr = server.base.trim_start_matches("http://").to_string();
    let head = "POST /api/v1/services/musterstadt/maengelmelder/submissions HTTP/1.1\r\nHost: x\r\n\
                Content-Type: application/json\r\nX-Forwarded-For: 203.0.113.66\r\nContent-Length: 100\r\n\r\n{";
    let mut slow: Vec<std::net::TcpStream> = (0..1000)
        .map(|_| {
            let mut stream = std::net::TcpStream::connect(&addr).expect("connect");
            stream.write_all(head.as_bytes()).expect("send the head");
            stream
        })
        .collect();

    let started = Instant::now();
    let normal = get(&server, "/healthz");
    assert_eq!(normal.status, 200);
    let evaluated = post_json(&server, "/api/v1/services/musterstadt/maengelmelder/evaluate", "{}");
    assert_eq!(evaluated.status, 200);
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );

    let (mut refused, mut cut_off) = (0, 0);
    for stream in &mut slow {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut answer = [0u8; 12];
        stream
            .read_exact(&mut answer)
            .expect("every slow connection gets an answer");
        match &answer[9..12] {
            b"429" => refused += 1,
            b"408" => cut_off += 1,
            other => panic!("unexpected status {}", String::from_utf8_lossy(other)),
        }
    }
    assert!(cut_off <= 20, "at most the cap was let in: {cut_off}");
    assert_eq!(refused + cut_off, 1000);
    assert!(refused >= 980, "{refused}");
}

/// A full disk stops only the writes that hit it: submissions get 503 with `Retry-After`, the
/// readiness check says so while liveness stays fine, and once there is space again the server
/// takes submissions without a restart. Nothing acknowledged is lost.
#[test]
fn a_full_disk_makes_submissions_wait_not_fail_for_good() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.redb");
    let (store, full) = baukasten_store::faults::store_on_full_disk(&path).unwrap();
    let store: std::sync::Arc<dyn baukasten_store::Store> = std::sync::Arc::new(store);
    let server = start_with_store(read_forms(&forms_dir()), store);
    let url = "/api/v1/services/beispieldorf/maengelmelder/submissions";
    let answers = maengelmelder_answers();
    let mut acknowledged = Vec::new();
    let first = post_json(&server, url, &answers);
    assert_eq!(first.status, 201, "{}", first.body);
    acknowledged.push(first.json()["reference"].as_str().unwrap().to_string());
    assert_eq!(get(&server, "/readyz").status, 200);

    full.store(true, Ordering::SeqCst);
    let refused = post_json(&server, url, &answers);
    assert_eq!(refused.status, 503, "{}", refused.body);
    assert_eq!(refused.json()["error"]["code"], "unavailable");
    assert!(refused.header("Retry-After").is_some());
    let ready = get(&server, "/readyz");
    assert_eq!(ready.status, 503);
    assert!(ready.header("Retry-After").is_some());
    assert_eq!(
        get(&server, "/healthz").status,
        200,
        "the process is alive and will recover"
    );
    let metrics = get(&server, "/metrics").body;
    assert!(metrics.contains("baukasten_store_writable 0"), "{metrics}");
    assert!(!metrics.contains("baukasten_store_failed_commits_total 0\n"));

    full.store(false, Ordering::SeqCst);
    assert_eq!(get(&server, "/readyz").status, 200, "ready again without a restart");
    assert!(get(&server, "/metrics").body.contains("baukasten_store_writable 1"));
    for _ in 0..3 {
        let again = post_json(&server, url, &answers);
        assert_eq!(again.status, 201, "{}", again.body);
        acknowledged.push(again.json()["reference"].as_str().unwrap().to_string());
    }
    for reference in &acknowledged {
        let stored = get_with_token(&server, &format!("/api/v1/submissions/{reference}"), TOKEN_BEISPIELDORF);
        assert_eq!(stored.status, 200, "{reference}");
    }
}

/// Each municipality has a quota for its uploads; beyond it an upload is refused with 507 and
/// a message that says so, and other municipalities are not affected.
#[test]
fn uploads_beyond_a_municipalitys_quota_are_refused_with_507() {
    let quota = PDF.len() as u64 + 10;
    let server = start_with(read_forms(&forms_dir()), |c| {
        c.upload_quotas.insert("musterstadt".into(), quota);
    });
    assert_eq!(
        upload_for(&server, "musterstadt", "maengelmelder", "a.pdf", PDF).status,
        201
    );
    let refused = upload_for(&server, "musterstadt", "maengelmelder", "b.pdf", PDF);
    assert_eq!(refused.status, 507, "{}", refused.body);
    let error = refused.json();
    assert_eq!(error["error"]["code"], "quota_exceeded");
    assert!(error["error"]["message"].as_str().unwrap().contains("full"));
    assert_eq!(
        upload_for(&server, "beispieldorf", "maengelmelder", "c.pdf", PDF).status,
        201
    );
}

/// An operator sees the store's health in `/metrics`: whether it can write, commits with their
/// latency and batch sizes, failed commits, and upload bytes per municipality.
#[test]
fn the_store_is_visible_in_the_metrics() {
    let server = start();
    let submitted = post_json(
        &server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &maengelmelder_answers(),
    );
    assert_eq!(submitted.status, 201);
    assert_eq!(
        upload_for(&server, "beispieldorf", "maengelmelder", "a.pdf", PDF).status,
        201
    );
    let metrics = get(&server, "/metrics").body;
    let value = |name: &str| -> f64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(name).and_then(|rest| rest.strip_prefix(' ')))
            .unwrap_or_else(|| panic!("{name} in /metrics:\n{metrics}"))
            .parse()
            .unwrap()
    };
    assert_eq!(value("baukasten_store_writable"), 1.0);
    assert!(
        value("baukasten_store_commits_total") >= 2.0,
        "the submission and the upload"
    );
    assert!(value("baukasten_store_writes_total") >= value("baukasten_store_commits_total"));
    assert_eq!(value("baukasten_store_failed_commits_total"), 0.0);
    assert_eq!(value("baukasten_store_damaged_records_total"), 0.0);
    assert_eq!(
        value("baukasten_store_commit_duration_seconds_count"),
        value("baukasten_store_commits_total")
    );
    assert_eq!(
        value("baukasten_store_batch_size_bucket{le=\"+Inf\"}"),
        value("baukasten_store_commits_total")
    );
    assert_eq!(
        value("baukasten_upload_bytes{tenant=\"beispieldorf\"}"),
        PDF.len() as f64
    );
}

/// A misspelt key is refused at its path, at the top, in a group and in a repeat item, on
/// both endpoints; an answer to a field that exists but is hidden is still accepted (and
/// cleared).
#[test]
fn unknown_answer_keys_are_refused_not_dropped() {
    let server = start();
    let mut answers: Json = serde_json::from_str(&maengelmelder_answers()).unwrap();
    answers["telefn"] = json!("0170 1234567");
    let base = "/api/v1/services/musterstadt/maengelmelder";
    let refused = post_json(&server, &format!("{base}/submissions"), &answers.to_string());
    assert_eq!(refused.status, 422, "{}", refused.body);
    let errors = refused.json()["errors"].clone();
    assert_eq!(errors[0]["field"], "telefn");
    assert_eq!(errors[0]["code"], "unknown_field");
    let evaluated = post_json(&server, &format!("{base}/evaluate"), &answers.to_string()).json();
    assert_eq!(evaluated["valid"], false);
    assert_eq!(evaluated["errors"], errors, "both endpoints say the same");

    // Inside groups and repeat items: Hundesteuer has a repeat of dogs.
    let catalog = catalog();
    let dogs = catalog.service(Some("musterstadt"), "hundesteuer").unwrap();
    let mut answers = with_uploads(
        &server,
        "musterstadt",
        dogs,
        &valid_answers(&catalog, "musterstadt", "hundesteuer"),
    );
    let (repeat, _) = dogs
        .fields()
        .into_iter()
        .find(|(_, f)| matches!(f.kind, baukasten_dsl::model::FieldKind::Repeat { .. }))
        .expect("a repeat");
    answers[&repeat][0]["rasse_typo"] = json!("Dackel");
    let refused = post_json(
        &server,
        "/api/v1/services/musterstadt/hundesteuer/submissions",
        &answers.to_string(),
    );
    assert_eq!(refused.status, 422, "{}", refused.body);
    let fields: Vec<String> = refused.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["code"] == "unknown_field")
        .map(|e| e["field"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(fields, [format!("{repeat}.0.rasse_typo")]);

    // A hidden field's answer is not unknown: Mängelmelder's `strasse` is hidden for a
    // description of the place, and stays accepted.
    let mut answers: Json = serde_json::from_str(&maengelmelder_answers()).unwrap();
    if answers.get("ortsangabe").is_some() {
        answers["ortsangabe"] = json!("beschreibung");
        answers["ortsbeschreibung"] = json!("Am Spielplatz hinter der Grundschule");
    }
    let accepted = post_json(&server, &format!("{base}/submissions"), &answers.to_string());
    assert_eq!(accepted.status, 201, "{}", accepted.body);
    assert!(
        accepted.json()["data"]["answers"].get("strasse").is_none(),
        "hidden, so cleared"
    );
}

/// `/evaluate` and `/submissions` judge the same body the same way, for every test case of
/// the catalog, with real uploads and with the tests' stand-in file answers.
#[test]
fn evaluate_and_submissions_agree_on_every_catalog_test() {
    let server = start();
    let catalog = catalog();
    let mut compared = 0;
    for service in catalog.services.iter().filter(|s| s.tenant.is_none()) {
        for tenant in ["musterstadt", "beispieldorf"] {
            let offered = catalog.service(Some(tenant), &service.id).unwrap();
            let base = format!("/api/v1/services/{tenant}/{}", service.id);
            for test in &offered.tests {
                let raw = test.answers.to_json();
                for body in [with_uploads(&server, tenant, offered, &raw), raw.clone()] {
                    let evaluated = post_json(&server, &format!("{base}/evaluate"), &body.to_string()).json();
                    let submitted = post_json(&server, &format!("{base}/submissions"), &body.to_string());
                    match submitted.status {
                        201 => {
                            assert_eq!(evaluated["valid"], true, "{tenant}/{} › {}", service.id, test.name);
                            assert_eq!(evaluated["errors"], json!([]));
                        }
                        422 => {
                            assert_eq!(evaluated["valid"], false, "{tenant}/{} › {}", service.id, test.name);
                            assert_eq!(
                                evaluated["errors"],
                                submitted.json()["errors"],
                                "{tenant}/{} › {}",
                                service.id,
                                test.name
                            );
                        }
                        other => panic!("{tenant}/{} › {}: {other} {}", service.id, test.name, submitted.body),
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(
        compared >= 200,
        "every test, twice, for both municipalities: {compared}"
    );
}

/// The back-office configuration documented in docs/api.md is a configuration the server
/// reads, and its token works as documented.
#[test]
fn the_documented_token_configuration_works() {
    let doc =
        std::fs::read_to_string(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/api.md")).unwrap();
    let start = doc.find("# baukasten.yaml\n").expect("the example in docs/api.md");
    let yaml = &doc[start..start + doc[start..].find("```").unwrap()];
    let config: baukasten_server::Config =
        serde_saphyr::from_str(yaml).expect("the documented YAML is a configuration");
    let token = config.tokens["musterstadt"].clone();
    let server = start_with(read_forms(&forms_dir()), |c| c.tokens = config.tokens.clone());
    assert_eq!(
        get_with_token(&server, "/api/v1/submissions?limit=50", &token).status,
        200
    );
    assert_eq!(get_with_token(&server, "/api/v1/submissions", "wrong").status, 401);
}
