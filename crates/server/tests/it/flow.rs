//! The citizen's HTML flow over real HTTP: every catalog service from start page to
//! confirmation, errors at the fields, CSRF, saving and resuming, and drafts pinned to the
//! version they were started on.

use baukasten_dsl::model::{Field, FieldKind, Service, Widget};
use serde_json::Value as Json;

use crate::common::*;

/// A browser without JavaScript: keeps the session cookie, sends forms.
pub(crate) struct Browser<'a> {
    server: &'a TestServer,
    cookies: Vec<(String, String)>,
}

impl<'a> Browser<'a> {
    pub(crate) fn new(server: &'a TestServer) -> Self {
        Browser {
            server,
            cookies: vec![],
        }
    }

    /// The same browser (its cookies) talking to another server: another instance behind the
    /// same address.
    pub(crate) fn moved_to<'b>(self, server: &'b TestServer) -> Browser<'b> {
        Browser {
            server,
            cookies: self.cookies,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.server.base)
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep_cookies(&mut self, reply: &Reply) {
        for (name, value) in &reply.headers {
            if name.eq_ignore_ascii_case("set-cookie")
                && let Some((pair, _)) = value.split_once(';').or(Some((value.as_str(), "")))
                && let Some((k, v)) = pair.split_once('=')
            {
                self.cookies.retain(|(name, _)| name != k);
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    pub(crate) fn get(&mut self, path: &str) -> Reply {
        let reply = reply(
            agent()
                .get(self.url(path))
                .header("Cookie", self.cookie_header())
                .call(),
        );
        self.keep_cookies(&reply);
        reply
    }

    pub(crate) fn post_form(&mut self, path: &str, pairs: &[(String, String)]) -> Reply {
        let body = serde_urlencoded::to_string(pairs).expect("form");
        let reply = reply(
            agent()
                .post(self.url(path))
                .header("Cookie", self.cookie_header())
                .header("Content-Type", "application/x-www-form-urlencoded")
                .send(body.as_str()),
        );
        self.keep_cookies(&reply);
        reply
    }

    pub(crate) fn post_multipart(
        &mut self,
        path: &str,
        pairs: &[(String, String)],
        files: &[(String, String)],
    ) -> Reply {
        let boundary = "----baukastenTestBoundary";
        let mut body = Vec::new();
        for (name, value) in pairs {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        for (name, file_name) in files {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
                )
                .as_bytes(),
            );
            body.extend_from_slice(sample_file(file_name));
            body.extend_from_slice(b"\r\n");
        }
        body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        let reply = reply(
            agent()
                .post(self.url(path))
                .header("Cookie", self.cookie_header())
                .header("Content-Type", format!("multipart/form-data; boundary={boundary}"))
                .send(&body[..]),
        );
        self.keep_cookies(&reply);
        reply
    }
}

pub(crate) fn csrf(html: &str) -> String {
    let start = html
        .find("name=\"_csrf\" value=\"")
        .expect("the form carries a CSRF token")
        + 20;
    html[start..].split('"').next().unwrap().to_string()
}

pub(crate) fn location(reply: &Reply) -> String {
    assert_eq!(
        reply.status,
        303,
        "expected a redirect, got {}: {}",
        reply.status,
        &reply.body[..reply.body.len().min(3000)]
    );
    reply.header("Location").expect("Location").to_string()
}

/// Writes answers as the form of a step would send them: dotted names, dates in three parts,
/// checkboxes repeated, yes/no as "ja"/"nein", numbers the German way; files apart.
fn encode(
    fields: &[Field],
    answers: &Json,
    prefix: &str,
    pairs: &mut Vec<(String, String)>,
    files: &mut Vec<(String, String)>,
) {
    for field in fields {
        let name = format!("{prefix}{}", field.id);
        let Some(value) = answers.get(&field.id) else { continue };
        match &field.kind {
            FieldKind::Info { .. } => {}
            FieldKind::Group { fields } => encode(fields, value, &format!("{name}."), pairs, files),
            FieldKind::Repeat { fields, .. } => {
                for (i, item) in value.as_array().into_iter().flatten().enumerate() {
                    encode(fields, item, &format!("{name}.{i}."), pairs, files);
                }
            }
            FieldKind::File { .. } => {
                let file_name = value
                    .get("name")
                    .and_then(Json::as_str)
                    .or(value.as_str())
                    .unwrap_or("nachweis.pdf");
                files.push((name, file_name.to_string()));
            }
            FieldKind::Date => {
                let iso = value.as_str().unwrap_or_default();
                let mut parts = iso.split('-');
                let (y, m, d) = (
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                    parts.next().unwrap_or(""),
                );
                pairs.push((format!("{name}.day"), d.to_string()));
                pairs.push((format!("{name}.month"), m.to_string()));
                pairs.push((format!("{name}.year"), y.to_string()));
            }
            FieldKind::Choice {
                widget: Widget::Checkboxes,
                ..
            } => {
                for v in value.as_array().into_iter().flatten() {
                    pairs.push((name.clone(), v.as_str().unwrap_or_default().to_string()));
                }
            }
            FieldKind::YesNo | FieldKind::Consent => {
                let yes = value.as_bool().unwrap_or(false) || value.as_str() == Some("ja");
                if yes || matches!(field.kind, FieldKind::YesNo) {
                    pairs.push((name, if yes { "ja" } else { "nein" }.to_string()));
                }
            }
            _ => {
                let text = match value {
                    Json::String(s) => s.clone(),
                    Json::Number(n) => n.to_string().replace('.', ","),
                    other => other.to_string(),
                };
                pairs.push((name, text));
            }
        }
    }
}

/// Removes file answers (their ids and types differ between a real upload and a test's
/// stand-in), so the rest of two submissions can be compared.
fn without_files(value: &Json) -> Json {
    match value {
        Json::Object(map) if map.contains_key("name") && map.contains_key("type") => Json::Null,
        Json::Object(map) => Json::Object(map.iter().map(|(k, v)| (k.clone(), without_files(v))).collect()),
        Json::Array(items) => Json::Array(items.iter().map(without_files).collect()),
        other => other.clone(),
    }
}

/// Goes through one service as a citizen: start page, every step, summary, send. Returns the
/// reference shown on the confirmation page.
fn complete(server: &TestServer, tenant: &str, service: &Service, answers: &Json) -> String {
    let mut browser = Browser::new(server);
    let (base, path) = fill_steps(&mut browser, server, tenant, service, answers);
    let next = format!("{base}pruefen");
    let summary = browser.get(&next);
    assert_eq!(summary.status, 200);
    assert!(
        summary.body.contains(&format!("{base}schritt/{}", path[0])),
        "change links lead to the steps"
    );
    let pairs = vec![
        ("_csrf".to_string(), csrf(&summary.body)),
        ("_declaration".into(), "ja".into()),
    ];
    let to = location(&browser.post_form(&format!("{base}senden"), &pairs));
    assert_eq!(to, format!("{base}bestaetigung"));
    let confirmation = browser.get(&to);
    assert_eq!(confirmation.status, 200);
    // The receipt to keep: a PDF, for this session only.
    let receipt = format!("{base}eingangsbestaetigung.pdf");
    assert!(
        confirmation.body.contains(&format!("href=\"{receipt}\" download")),
        "the confirmation offers the receipt: {}",
        confirmation.body
    );
    let pdf = browser.get(&receipt);
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.bytes.starts_with(b"%PDF-"), "{}", pdf.body);
    let reference = reference_in(&confirmation.body)
        .unwrap_or_else(|| panic!("the confirmation shows a reference: {}", confirmation.body))
        .to_string();
    assert!(
        pdf.header("content-disposition")
            .is_some_and(|d| d.contains(&format!("{reference}.pdf"))),
        "{:?}",
        pdf.headers
    );
    let stranger = get(server, &receipt);
    assert_eq!(stranger.status, 303, "without the session there is no receipt");
    reference
}

/// Answers every step of the service with `answers` through the pages, "Weiter" after each,
/// until the server leads to the summary. Returns the service's base path and its steps.
fn fill_steps(
    browser: &mut Browser,
    server: &TestServer,
    tenant: &str,
    service: &Service,
    answers: &Json,
) -> (String, Vec<String>) {
    let base = format!("/{tenant}/{}/", service.id);
    let start = browser.get(&base);
    assert_eq!(start.status, 200, "{base}");
    let path: Vec<String> = post_json(
        server,
        &format!("/api/v1/services/{tenant}/{}/evaluate", service.id),
        &answers.to_string(),
    )
    .json()["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["visible"] == true)
        .map(|s| s["id"].as_str().unwrap().to_string())
        .collect();
    let mut next = format!("{base}schritt/{}", path[0]);
    for step_id in &path {
        assert_eq!(
            next,
            format!("{base}schritt/{step_id}"),
            "the server leads to the next step"
        );
        let page = browser.get(&next);
        assert_eq!(page.status, 200, "{next}");
        let step = service.step(step_id).unwrap();
        let mut pairs = vec![
            ("_csrf".to_string(), csrf(&page.body)),
            ("_action".into(), "continue".into()),
        ];
        let mut files = vec![];
        encode(&step.fields, answers, "", &mut pairs, &mut files);
        let reply = if files.is_empty() {
            browser.post_form(&next, &pairs)
        } else {
            browser.post_multipart(&next, &pairs, &files)
        };
        next = location(&reply);
    }
    assert_eq!(next, format!("{base}pruefen"));
    (base, path)
}

#[test]
fn a_change_from_the_summary_returns_to_the_summary_unless_it_needs_a_new_answer() {
    let server = start();
    let catalog = catalog();
    let service = catalog.service(Some("musterstadt"), "maengelmelder").unwrap();
    let answers = serde_json::json!({
        "kategorie": "schlagloch",
        "ortsangabe": "adresse",
        "strasse": "Holstenstraße",
        "hausnummer": "12a",
        "beschreibung": "Tiefes Schlagloch am rechten Fahrbahnrand.",
        "rueckmeldung": false
    });
    let mut browser = Browser::new(&server);
    let (base, _) = fill_steps(&mut browser, &server, "musterstadt", service, &answers);
    let summary = browser.get(&format!("{base}pruefen"));
    let change = format!("{base}schritt/mangel?_zurueck=pruefen");
    assert!(summary.body.contains(&format!("href=\"{change}#")), "{}", summary.body);

    // "Ändern", a new answer, "Weiter": back to the summary, not on to the next step.
    let page = browser.get(&change);
    assert!(
        page.body.contains("name=\"_zurueck\" value=\"pruefen\""),
        "{}",
        page.body
    );
    let post = |kategorie: &str, extra: &[(&str, &str)]| {
        let mut pairs = vec![
            ("_csrf".to_string(), csrf(&page.body)),
            ("_zurueck".into(), "pruefen".into()),
            ("kategorie".into(), kategorie.to_string()),
            ("_action".into(), "continue".into()),
        ];
        pairs.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        pairs
    };
    let step = format!("{base}schritt/mangel");
    let to = location(&browser.post_form(&step, &post("beleuchtung", &[])));
    assert_eq!(to, format!("{base}pruefen"));
    let summary = browser.get(&to);
    assert!(summary.body.contains("Straßenbeleuchtung"), "the change shows");

    // A change that reveals a required question asks it first, still on the way back.
    let asked = browser.post_form(&step, &post("sonstiges", &[]));
    assert_eq!(asked.status, 200, "the revealed question is asked, not called an error");
    assert!(asked.body.contains("id=\"f-kategorie_sonstiges\""), "{}", asked.body);
    assert!(asked.body.contains("name=\"_zurueck\" value=\"pruefen\""));
    let to = location(&browser.post_form(&step, &post("sonstiges", &[("kategorie_sonstiges", "Bank zerbrochen")])));
    assert_eq!(to, format!("{base}pruefen"));

    // "Zurück" on a step reached from the summary also returns there; without the marker
    // "Weiter" goes on to the next step as before.
    let mut back = post("sonstiges", &[("kategorie_sonstiges", "Bank zerbrochen")]);
    back.retain(|(k, _)| k != "_action");
    back.push(("_action".into(), "back".into()));
    assert_eq!(location(&browser.post_form(&step, &back)), format!("{base}pruefen"));
    let mut plain = post("sonstiges", &[("kategorie_sonstiges", "Bank zerbrochen")]);
    plain.retain(|(k, _)| k != "_zurueck");
    assert_eq!(
        location(&browser.post_form(&step, &plain)),
        format!("{base}schritt/ort")
    );
}

#[test]
fn every_catalog_service_can_be_completed_through_the_pages() {
    let server = start();
    let catalog = catalog();
    for shared in catalog.services.iter().filter(|s| s.tenant.is_none()) {
        for (tenant, token) in [("musterstadt", TOKEN_MUSTERSTADT), ("beispieldorf", TOKEN_BEISPIELDORF)] {
            let answers = valid_answers(&catalog, tenant, &shared.id);
            let service = catalog.service(Some(tenant), &shared.id).unwrap();
            let reference = complete(&server, tenant, service, &answers);
            let stored = get_with_token(&server, &format!("/api/v1/submissions/{reference}"), token);
            assert_eq!(stored.status, 200, "{reference}");
            let stored = stored.json();
            // One evaluator: the pages store what the API stores for the same answers.
            let via_api = post_json(
                &server,
                &format!("/api/v1/services/{tenant}/{}/submissions", shared.id),
                &with_uploads(&server, tenant, service, &answers).to_string(),
            )
            .json();
            assert_eq!(
                without_files(&stored["data"]["answers"]),
                without_files(&via_api["data"]["answers"]),
                "{tenant}/{}",
                shared.id
            );
            assert!(
                !stored["attachments"].as_array().unwrap().is_empty() || !service_has_required_file(service, &answers)
            );
        }
    }
}

fn service_has_required_file(service: &Service, answers: &Json) -> bool {
    service
        .steps
        .iter()
        .flat_map(|s| &s.fields)
        .any(|f| matches!(f.kind, FieldKind::File { .. }) && answers.get(&f.id).is_some())
}

#[test]
fn a_failed_step_shows_errors_at_the_top_and_at_the_fields() {
    let server = start();
    let mut browser = Browser::new(&server);
    let step = "/musterstadt/maengelmelder/schritt/mangel";
    let page = browser.get(step);
    let pairs = vec![
        ("_csrf".to_string(), csrf(&page.body)),
        ("_action".into(), "continue".into()),
    ];
    let reply = browser.post_form(step, &pairs);
    assert_eq!(reply.status, 422);
    let title = reply.body.split("<title>").nth(1).unwrap_or("");
    assert!(title.starts_with("Fehler:"), "{title}");
    assert!(reply.body.contains("aria-invalid=\"true\""));
    assert!(
        reply.body.contains("href=\"#f-kategorie\""),
        "the summary links to the field"
    );
}

#[test]
fn a_post_without_the_csrf_token_changes_nothing() {
    let server = start();
    let mut browser = Browser::new(&server);
    let step = "/musterstadt/maengelmelder/schritt/mangel";
    browser.get(step);
    let forged = vec![
        ("kategorie".to_string(), "graffiti".to_string()),
        ("_action".into(), "continue".into()),
    ];
    let to = location(&browser.post_form(step, &forged));
    assert_eq!(to, step, "back to the step");
    let summary = browser.get("/musterstadt/maengelmelder/pruefen");
    assert_eq!(summary.status, 303, "no draft was saved");
}

#[test]
fn a_saved_draft_is_resumed_with_its_code_in_another_browser() {
    let server = start();
    let mut first = Browser::new(&server);
    let step = "/beispieldorf/maengelmelder/schritt/mangel";
    let page = first.get(step);
    let pairs = vec![
        ("_csrf".to_string(), csrf(&page.body)),
        ("kategorie".into(), "sonstiges".into()),
        ("kategorie_sonstiges".into(), "Bank im Park zerbrochen".into()),
        ("_action".into(), "save".into()),
    ];
    let saved = first.post_form(step, &pairs);
    assert_eq!(saved.status, 200);
    let code = saved
        .body
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
        .find(|w| {
            w.len() == 9
                && w.as_bytes()[4] == b'-'
                && w.bytes()
                    .filter(|b| *b != b'-')
                    .all(|b| baukasten_store::ALPHABET.contains(&b))
        })
        .unwrap_or_else(|| panic!("the page shows the resume code: {}", saved.body))
        .to_string();

    let mut second = Browser::new(&server);
    let resume = second.get("/beispieldorf/maengelmelder/fortsetzen");
    let wrong = second.post_form(
        "/beispieldorf/maengelmelder/fortsetzen",
        &[
            ("_csrf".to_string(), csrf(&resume.body)),
            ("code".into(), "ZZZZ-ZZZZ".into()),
        ],
    );
    assert_eq!(wrong.status, 422, "an unknown code is an error at the field");
    let to = location(&second.post_form(
        "/beispieldorf/maengelmelder/fortsetzen",
        &[
            ("_csrf".to_string(), csrf(&resume.body)),
            ("code".into(), code.to_lowercase().replace('-', " ")),
        ],
    ));
    assert_eq!(to, step);
    let page = second.get(&to);
    assert!(page.body.contains("Bank im Park zerbrochen"), "the answers are back");
}

#[test]
fn a_draft_finishes_on_the_version_it_was_started_on() {
    let server = start();
    let mut browser = Browser::new(&server);
    let base = "/musterstadt/maengelmelder/";
    let page = browser.get(&format!("{base}schritt/mangel"));
    let pairs = vec![
        ("_csrf".to_string(), csrf(&page.body)),
        ("kategorie".into(), "graffiti".into()),
        ("_action".into(), "continue".into()),
    ];
    assert_eq!(
        location(&browser.post_form(&format!("{base}schritt/mangel"), &pairs)),
        format!("{base}schritt/ort")
    );

    // Version 2 is published: a new required question on the location step.
    let mut files = server.files.lock().unwrap().clone();
    let file = files
        .iter_mut()
        .find(|f| {
            f.path.ends_with("/maengelmelder.yaml")
                && !f.path.contains("musterstadt/")
                && !f.path.contains("beispieldorf/")
        })
        .unwrap();
    let v2 = file
        .text
        .replacen("version: 1.0.0", "version: 2.0.0", 1)
        .replacen(
            "    fields:\n      - id: ortsangabe\n",
            "    fields:\n      - id: ortsteil\n        type: text\n        required: true\n        label: { de: Ortsteil, en: District }\n      - id: ortsangabe\n",
            1,
        );
    assert_ne!(v2, *file.text, "the test changed the service");
    *file = baukasten_dsl::SourceFile::new(file.path.clone(), v2);
    assert!(server.state.registry.reload(&files).expect("v2 publishes"));

    // The draft goes on under version 1: no Ortsteil asked.
    let page = browser.get(&format!("{base}schritt/ort"));
    assert!(!page.body.contains("Ortsteil"));
    let pairs = vec![
        ("_csrf".to_string(), csrf(&page.body)),
        ("ortsangabe".into(), "beschreibung".into()),
        ("ortsbeschreibung".into(), "Am Spielplatz hinter der Grundschule".into()),
        ("_action".into(), "continue".into()),
    ];
    let mut next = location(&browser.post_form(&format!("{base}schritt/ort"), &pairs));
    let catalog = catalog();
    let v1 = catalog.service(Some("musterstadt"), "maengelmelder").unwrap();
    let answers = valid_answers(&catalog, "musterstadt", "maengelmelder");
    while let Some(step_id) = next.strip_prefix(&format!("{base}schritt/")).map(str::to_string) {
        let page = browser.get(&next);
        let mut pairs = vec![
            ("_csrf".to_string(), csrf(&page.body)),
            ("_action".into(), "continue".into()),
        ];
        let mut files = vec![];
        encode(&v1.step(&step_id).unwrap().fields, &answers, "", &mut pairs, &mut files);
        // Optional photos are left out of this walk.
        let _ = files;
        next = location(&browser.post_form(&next, &pairs));
    }
    let summary = browser.get(&next);
    let pairs = vec![
        ("_csrf".to_string(), csrf(&summary.body)),
        ("_declaration".into(), "ja".into()),
    ];
    let done = location(&browser.post_form(&format!("{base}senden"), &pairs));
    let confirmation = browser.get(&done);
    let reference = reference_in(&confirmation.body).expect("a reference").to_string();
    let stored = get_with_token(&server, &format!("/api/v1/submissions/{reference}"), TOKEN_MUSTERSTADT).json();
    assert_eq!(stored["version"], "1.0.0");

    // A new citizen gets version 2.
    let mut fresh = Browser::new(&server);
    assert!(fresh.get(&format!("{base}schritt/ort")).body.contains("Ortsteil"));
}

#[test]
fn live_updates_evaluate_the_page_with_the_draft_it_belongs_to() {
    let server = start();
    let mut browser = Browser::new(&server);
    let base = "/musterstadt/baumfaellung/";
    // Earlier steps say the citizen does not own the plot: the consent step is shown.
    let page = browser.get(&format!("{base}schritt/grundstueck"));
    let pairs = vec![
        ("_csrf".to_string(), csrf(&page.body)),
        ("grundstueck_gleich".into(), "ja".into()),
        ("eigentuemer".into(), "nein".into()),
        ("_action".into(), "save".into()),
    ];
    assert_eq!(
        browser.post_form(&format!("{base}schritt/grundstueck"), &pairs).status,
        200
    );
    let step = format!("{base}schritt/zustimmung");
    let page = browser.get(&step);
    assert!(
        page.body.contains(&format!("data-evaluate=\"{step}/live\"")),
        "the script posts to the step's live address"
    );
    let live = |browser: &mut Browser, token: &str| {
        browser.post_form(
            &format!("{step}/live"),
            &[
                ("_csrf".to_string(), token.to_string()),
                ("eigentuemer_name".into(), "Hausverwaltung Nord".into()),
            ],
        )
    };
    let reply = live(&mut browser, &csrf(&page.body));
    assert_eq!(reply.status, 200, "{}", reply.body);
    let fields = reply.json()["fields"].as_array().unwrap().clone();
    let upload = fields
        .iter()
        .find(|f| f["path"] == "zustimmung_datei")
        .expect("the upload is in the reply");
    assert_eq!(
        upload["visible"], true,
        "the page's fields alone would hide it: {fields:?}"
    );
    assert_eq!(upload["required"], true);
    // The stateless evaluation of the page alone hides it: the old behaviour, now not used.
    let alone = post_json(
        &server,
        "/api/v1/services/musterstadt/baumfaellung/evaluate",
        r#"{"eigentuemer_name": "Hausverwaltung Nord"}"#,
    )
    .json();
    let hidden = alone["fields"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "zustimmung_datei")
        .unwrap()
        .clone();
    assert_eq!(hidden["visible"], false);
    // Without the session's token: 403 as JSON, nothing evaluated.
    let forged = live(&mut browser, "falsch");
    assert_eq!(forged.status, 403);
    assert_eq!(forged.json()["error"]["code"], "forbidden");
}
