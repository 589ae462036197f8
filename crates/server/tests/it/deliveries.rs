//! Deliveries over real HTTP: a submission sent through the API reaches a webhook receiver on
//! loopback, through the outbox, and the back office sees every attempt and can resend.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use baukasten_deliver::{Schedule, WebhookTarget};
use serde_json::Value as Json;

use crate::common::*;

const SECRET_ENV: &str = "BAUKASTEN_TEST_WEBHOOK_SECRET";

/// A receiver that answers the statuses of `answers` in turn (the last from then on) and keeps
/// the `webhook-id` of every request.
fn receiver(answers: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let ids = Arc::new(Mutex::new(Vec::new()));
    let seen = ids.clone();
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let (mut line, mut len, mut id) = (String::new(), 0usize, String::new());
            reader.read_line(&mut line).unwrap();
            loop {
                line.clear();
                reader.read_line(&mut line).unwrap();
                let l = line.trim_end().to_ascii_lowercase();
                if l.is_empty() {
                    break;
                }
                if let Some(v) = l.strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
                if let Some(v) = l.strip_prefix("webhook-id:") {
                    id = v.trim().to_string();
                }
            }
            let mut body = vec![0; len];
            reader.read_exact(&mut body).unwrap();
            seen.lock().unwrap().push(id);
            let status = answers[n.min(answers.len() - 1)];
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
            );
        }
    });
    (url, ids)
}

/// Polls the submission's deliveries until `done` holds for them (at most 30 s).
fn wait_for(server: &TestServer, reference: &str, done: impl Fn(&[Json]) -> bool) -> Vec<Json> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reply = get_with_token(
            server,
            &format!("/api/v1/submissions/{reference}/deliveries"),
            TOKEN_MUSTERSTADT,
        );
        assert_eq!(reply.status, 200, "{}", reply.body);
        let list = reply.json().as_array().cloned().unwrap_or_default();
        if done(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "deliveries never got there: {list:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn submit_maengelmelder(server: &TestServer) -> String {
    let answers = valid_answers(&catalog(), "musterstadt", "maengelmelder");
    let body = with_uploads(
        server,
        "musterstadt",
        catalog().service(Some("musterstadt"), "maengelmelder").unwrap(),
        &answers,
    );
    let reply = post_json(
        server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &body.to_string(),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["reference"].as_str().unwrap().to_string()
}

#[test]
fn a_submission_reaches_the_webhook_after_failures_and_can_be_resent() {
    // SAFETY of the test: the variable is set once, before the server reads it, by this test
    // alone (no other test reads or writes it).
    unsafe { std::env::set_var(SECRET_ENV, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") };
    let (url, ids) = receiver(vec![500, 502, 503, 204]);
    let server = start_with(read_forms(&forms_dir()), |config| {
        config.webhooks = BTreeMap::from([(
            "musterstadt".to_string(),
            BTreeMap::from([(
                "fachverfahren".to_string(),
                WebhookTarget {
                    url: url.clone(),
                    secret_env: SECRET_ENV.into(),
                },
            )]),
        )]);
        config.delivery_schedule = Schedule::new(vec![0, 0, 0, 0, 0]);
        config.require_delivery_targets = false;
    });
    let reference = submit_maengelmelder(&server);
    let list = wait_for(&server, &reference, |l| {
        l.first().is_some_and(|d| d["status"] == "delivered")
    });
    let d = &list[0];
    assert_eq!(
        (d["channel"].as_str(), d["target"].as_str()),
        (Some("webhook"), Some("fachverfahren"))
    );
    assert_eq!(d["attempts"], 4);
    let statuses: Vec<&Json> = d["history"].as_array().unwrap().iter().map(|a| &a["status"]).collect();
    assert_eq!(
        statuses,
        vec![&Json::from(500), &Json::from(502), &Json::from(503), &Json::from(204)]
    );
    let seen = ids.lock().unwrap().clone();
    assert_eq!(seen.len(), 4);
    let metrics = get(&server, "/metrics").body;
    assert!(metrics.contains("\nbaukasten_deliveries_pending 0\n"), "{metrics}");
    assert!(metrics.contains("\nbaukasten_deliveries_failed 0\n"), "{metrics}");
    assert!(
        seen.iter()
            .all(|id| *id == d["id"].as_str().unwrap().to_ascii_lowercase()),
        "{seen:?}"
    );

    // A resend starts a fresh series with the same id; the history stays.
    let id = d["id"].as_str().unwrap();
    let resend = agent()
        .post(format!(
            "{}/api/v1/submissions/{reference}/deliveries/{id}/resend",
            server.base
        ))
        .header("Authorization", &format!("Bearer {TOKEN_MUSTERSTADT}"))
        .send_empty();
    let resend = reply(resend);
    assert_eq!(resend.status, 202, "{}", resend.body);
    let list = wait_for(&server, &reference, |l| {
        l[0]["status"] == "delivered" && l[0]["history"].as_array().is_some_and(|h| h.len() == 5)
    });
    assert_eq!(list[0]["attempts"], 1, "the new series");
    assert_eq!(ids.lock().unwrap().len(), 5);

    // Another municipality's token sees none of it.
    let other = get_with_token(
        &server,
        &format!("/api/v1/submissions/{reference}/deliveries"),
        TOKEN_BEISPIELDORF,
    );
    assert_eq!(other.status, 404);
}

#[test]
fn with_a_config_file_an_unconfigured_webhook_stops_the_start_and_says_where() {
    let data = tempfile::tempdir().unwrap();
    let config = baukasten_server::Config {
        data: data.path().to_path_buf(),
        addr: "127.0.0.1:0".parse().unwrap(),
        require_delivery_targets: true,
        ..Default::default()
    };
    let files = read_forms(&forms_dir());
    let loader = Arc::new(move || Ok(files.clone()));
    let Err(baukasten_server::StartError::Catalog(refused)) = baukasten_server::prepare(config, loader) else {
        panic!("the server must not start");
    };
    let loaded = refused.loaded.expect("diagnostics with places");
    let rendered: String = loaded
        .diagnostics
        .iter()
        .map(|d| d.render(&loaded.sources, baukasten_dsl::Lang::En))
        .collect();
    assert!(rendered.contains("maengelmelder.yaml:"), "{rendered}");
    assert!(
        rendered.contains("delivers to the webhook `fachverfahren`"),
        "{rendered}"
    );
    assert!(rendered.contains("for `musterstadt`"), "{rendered}");
}

#[test]
fn a_citizen_who_gives_an_address_gets_a_confirmation_delivery() {
    let server = start();
    let mut answers = valid_answers(&catalog(), "musterstadt", "maengelmelder");
    answers["rueckmeldung"] = serde_json::json!(true);
    answers["name"] = serde_json::json!("Erika Mustermann");
    answers["email"] = serde_json::json!("erika@example.org");
    let service = catalog();
    let body = with_uploads(
        &server,
        "musterstadt",
        service.service(Some("musterstadt"), "maengelmelder").unwrap(),
        &answers,
    );
    let reply = post_json(
        &server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &body.to_string(),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let reference = reply.json()["reference"].as_str().unwrap().to_string();
    // No mail server in this configuration: the confirmation waits in the outbox, saying why.
    let list = wait_for(&server, &reference, |l| {
        l.iter()
            .any(|d| d["channel"] == "email_confirmation" && !d["history"].as_array().unwrap().is_empty())
    });
    let confirmation = list.iter().find(|d| d["channel"] == "email_confirmation").unwrap();
    assert_eq!(confirmation["target"], "erika@example.org");
    assert_eq!(confirmation["status"], "pending");
    assert!(
        confirmation["last_error"].as_str().unwrap().contains("smtp:"),
        "{confirmation}"
    );
    // Reaching `erledigt`, whose `notify:` speaks to the citizen, adds a message; the step
    // before it, without `notify:`, does not.
    assert_eq!(
        move_submission(&server, &reference, "in_bearbeitung", TOKEN_MUSTERSTADT).status,
        200
    );
    assert_eq!(
        move_submission(&server, &reference, "erledigt", TOKEN_MUSTERSTADT).status,
        200
    );
    let list = wait_for(&server, &reference, |l| l.iter().any(|d| d["channel"] == "email_state"));
    let states: Vec<&Json> = list
        .iter()
        .filter(|d| d["channel"] == "email_state")
        .map(|d| &d["event"])
        .collect();
    assert_eq!(states, vec![&Json::from("state:erledigt")]);
}

#[test]
fn the_back_office_gets_the_receipt_of_its_own_submissions_only() {
    let server = start();
    let reference = submit_maengelmelder(&server);
    let path = format!("/api/v1/submissions/{reference}/receipt.pdf");
    let pdf = get_with_token(&server, &path, TOKEN_MUSTERSTADT);
    assert_eq!(pdf.status, 200, "{}", pdf.body);
    assert_eq!(pdf.header("content-type"), Some("application/pdf"));
    assert!(pdf.bytes.starts_with(b"%PDF-"), "{}", pdf.body);
    assert!(
        pdf.header("content-disposition")
            .is_some_and(|d| d.contains(&format!("Eingangsbestaetigung-{reference}.pdf"))),
        "{:?}",
        pdf.headers
    );
    // Tagged, with its language and the PDF/UA identification.
    for marker in ["/StructTreeRoot", "/MarkInfo", "/Lang", "pdfuaid"] {
        assert!(
            pdf.bytes.windows(marker.len()).any(|w| w == marker.as_bytes()),
            "{marker} in the receipt"
        );
    }
    let other = get_with_token(&server, &path, TOKEN_BEISPIELDORF);
    assert_eq!(other.status, 404, "{}", other.body);
    assert_eq!(other.json()["error"]["code"], "not_found");
    assert_eq!(get(&server, &path).status, 401);
    let unknown = get_with_token(
        &server,
        "/api/v1/submissions/MM-2026-XXXXX/receipt.pdf",
        TOKEN_MUSTERSTADT,
    );
    assert_eq!(unknown.status, 404);
    // The API document says what comes back.
    let document = get(&server, "/api/v1/openapi.json").json();
    let ok = &document["paths"]["/api/v1/submissions/{reference}/receipt.pdf"]["get"]["responses"]["200"];
    assert!(ok["content"].get("application/pdf").is_some(), "{ok}");
}
