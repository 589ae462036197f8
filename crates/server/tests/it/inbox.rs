//! The clerks' inbox over real HTTP: sign-in with an account of the store, the list, one
//! submission, state changes with a comment and a colleague's change in between, resend,
//! receipt and attachments, sign-out, throttled guessing, and nothing of another municipality.

use baukasten_server::backoffice::account;
use serde_json::Value as Json;

use crate::common::*;
use crate::flow::{Browser, csrf, location};
use crate::memory;

const PASSWORD: &str = "ein-langes-passwort-2026";

fn with_account(server: &TestServer, tenant: &str, name: &str) {
    let account = account(tenant, name, PASSWORD, chrono::Utc::now()).unwrap();
    server.state.store.put_account(account).unwrap();
}

fn sign_in<'a>(server: &'a TestServer, tenant: &str, name: &str, password: &str) -> (Browser<'a>, Reply) {
    let mut browser = Browser::new(server);
    let page = browser.get("/verwaltung/anmelden");
    assert_eq!(page.status, 200, "{}", page.body);
    let reply = browser.post_form(
        "/verwaltung/anmelden",
        &[
            ("_csrf".into(), csrf(&page.body)),
            ("municipality".into(), tenant.into()),
            ("name".into(), name.into()),
            ("password".into(), password.into()),
        ],
    );
    (browser, reply)
}

/// A Mängelmelder report with a photo through the API; its reference.
fn report(server: &TestServer, tenant: &str, name: &str) -> String {
    let mut answers = valid_answers(&catalog(), tenant, "maengelmelder");
    answers["rueckmeldung"] = Json::from(true);
    answers["name"] = Json::from(name);
    answers["email"] = Json::from("erika@example.org");
    let service = catalog();
    let body = with_uploads(
        server,
        tenant,
        service.service(Some(tenant), "maengelmelder").unwrap(),
        &answers,
    );
    let reply = post_json(
        server,
        &format!("/api/v1/services/{tenant}/maengelmelder/submissions"),
        &body.to_string(),
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    reply.json()["reference"].as_str().unwrap().to_string()
}

#[test]
fn a_clerk_signs_in_finds_a_report_moves_it_with_a_comment_and_signs_out() {
    let server = start();
    with_account(&server, "musterstadt", "erika");
    let mine = report(&server, "musterstadt", "Gustav Gans");
    let other = report(&server, "musterstadt", "Daisy Duck");

    // Not signed in: to the sign-in page.
    let mut stranger = Browser::new(&server);
    assert_eq!(location(&stranger.get("/verwaltung/eingang")), "/verwaltung/anmelden");

    let (mut browser, reply) = sign_in(&server, "musterstadt", "erika", PASSWORD);
    assert_eq!(location(&reply), "/verwaltung/eingang");
    let cookie = reply.header("set-cookie").unwrap_or_default().to_string();
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/verwaltung/"] {
        assert!(
            reply.headers.iter().any(|(k, v)| k.eq_ignore_ascii_case("set-cookie")
                && v.starts_with("bk_verwaltung=")
                && v.contains(flag)),
            "{flag} in {cookie}"
        );
    }

    // The list: both reports, newest first, with the counts; the search finds one by name.
    let list = browser.get("/verwaltung/eingang");
    assert_eq!(list.status, 200, "{}", list.body);
    let (a, b) = (list.body.find(&other).unwrap(), list.body.find(&mine).unwrap());
    assert!(a < b, "newest first");
    assert!(list.body.contains("Vorgänge nach Stand"));
    let found = browser.get("/verwaltung/eingang?q=gans");
    assert!(
        found.body.contains(&mine) && !found.body.contains(&other),
        "{}",
        found.body
    );
    let none = browser.get("/verwaltung/eingang?state=erledigt");
    assert!(none.body.contains("Keine Vorgänge gefunden."));

    // One report: the answers, the photo, the receipt, the history, the deliveries, the moves.
    let detail = browser.get(&format!("/verwaltung/vorgang/{mine}"));
    assert_eq!(detail.status, 200, "{}", detail.body);
    for part in [
        "Gustav Gans",
        "Eingangsbestätigung herunterladen (PDF)",
        "Verlauf",
        "Zustellungen",
    ] {
        assert!(detail.body.contains(part), "{part}: {}", detail.body);
    }
    let pdf = browser.get(&format!("/verwaltung/vorgang/{mine}/eingangsbestaetigung.pdf"));
    assert_eq!(pdf.status, 200);
    assert!(pdf.bytes.starts_with(b"%PDF-"));
    let photo = regex::Regex::new(r#"href="(/verwaltung/anlagen/[0-9a-f]+)""#)
        .unwrap()
        .captures(&detail.body)
        .map(|c| c[1].to_string())
        .expect("the photo is linked");
    assert_eq!(browser.get(&photo).status, 200);

    // A move with a comment, then the history says who, from where and why.
    let token = csrf(&detail.body);
    let moved = browser.post_form(
        &format!("/verwaltung/vorgang/{mine}/stand"),
        &[
            ("_csrf".into(), token.clone()),
            ("from".into(), "eingegangen".into()),
            ("to".into(), "in_bearbeitung".into()),
            ("comment".into(), "Bauhof ist informiert.".into()),
        ],
    );
    assert_eq!(location(&moved), format!("/verwaltung/vorgang/{mine}?hinweis=stand"));
    let detail = browser.get(&format!("/verwaltung/vorgang/{mine}?hinweis=stand"));
    assert!(detail.body.contains("role=\"status\""), "{}", detail.body);
    assert!(detail.body.contains("Bauhof ist informiert."));
    assert!(detail.body.contains("<td>erika</td>"), "{}", detail.body);

    // A colleague's tab still showing "eingegangen": a clear message, nothing overwritten.
    let stale = browser.post_form(
        &format!("/verwaltung/vorgang/{mine}/stand"),
        &[
            ("_csrf".into(), token.clone()),
            ("from".into(), "eingegangen".into()),
            ("to".into(), "nicht_zustaendig".into()),
        ],
    );
    assert_eq!(stale.status, 409);
    assert!(
        stale.body.contains("Jemand anderes hat den Stand inzwischen geändert"),
        "{}",
        stale.body
    );
    let stored = server.state.store.submission(&mine).unwrap().unwrap();
    assert_eq!(stored.state, "in_bearbeitung");
    // A move the process does not allow from here.
    let skip = browser.post_form(
        &format!("/verwaltung/vorgang/{mine}/stand"),
        &[
            ("_csrf".into(), token.clone()),
            ("from".into(), "in_bearbeitung".into()),
            ("to".into(), "eingegangen".into()),
        ],
    );
    assert_eq!(skip.status, 409, "{}", skip.body);
    // Without the form's token nothing moves.
    let forged = browser.post_form(
        &format!("/verwaltung/vorgang/{mine}/stand"),
        &[
            ("from".into(), "in_bearbeitung".into()),
            ("to".into(), "erledigt".into()),
        ],
    );
    assert_eq!(forged.status, 403);
    assert_eq!(
        server.state.store.submission(&mine).unwrap().unwrap().state,
        "in_bearbeitung"
    );

    // Resend a delivery.
    let id = server.state.store.deliveries(&mine).unwrap()[0].id.clone();
    let resent = browser.post_form(
        &format!("/verwaltung/vorgang/{mine}/zustellungen/{id}/erneut"),
        &[("_csrf".into(), token.clone())],
    );
    assert_eq!(location(&resent), format!("/verwaltung/vorgang/{mine}?hinweis=erneut"));

    // Sign out: the session is over, also for a copy of its cookie.
    let list = browser.get("/verwaltung/eingang");
    let out = browser.post_form("/verwaltung/abmelden", &[("_csrf".into(), csrf(&list.body))]);
    assert_eq!(location(&out), "/verwaltung/anmelden");
    let session = cookie.split(';').next().unwrap().to_string();
    let replay = crate::common::reply(
        agent()
            .get(format!("{}/verwaltung/eingang", server.base))
            .header("Cookie", session)
            .call(),
    );
    assert_eq!(replay.status, 303);
}

#[test]
fn wrong_passwords_are_refused_alike_and_guessing_is_throttled() {
    let server = start();
    with_account(&server, "musterstadt", "erika");
    let (_, wrong) = sign_in(&server, "musterstadt", "erika", "falsches-passwort-123");
    assert_eq!(wrong.status, 401);
    assert!(wrong.body.contains("Benutzername oder Passwort ist falsch."));
    let (_, unknown) = sign_in(&server, "musterstadt", "niemand", PASSWORD);
    assert_eq!(unknown.status, 401);
    let (_, elsewhere) = sign_in(&server, "beispieldorf", "erika", PASSWORD);
    assert_eq!(elsewhere.status, 401, "an account belongs to one municipality");
    for _ in 0..4 {
        let (_, r) = sign_in(&server, "musterstadt", "erika", "falsches-passwort-123");
        assert_eq!(r.status, 401);
    }
    // The account has had five failures within the minute: even the right password waits.
    let (_, throttled) = sign_in(&server, "musterstadt", "erika", PASSWORD);
    assert_eq!(throttled.status, 429, "{}", throttled.body);
    assert_eq!(throttled.header("retry-after"), Some("60"));
    assert!(throttled.body.contains("Zu viele Anmeldeversuche"));
    // A sign-in form without its nonce (a forged post) is refused.
    let forged = Browser::new(&server).post_form(
        "/verwaltung/anmelden",
        &[
            ("municipality".into(), "musterstadt".into()),
            ("name".into(), "erika".into()),
            ("password".into(), PASSWORD.into()),
        ],
    );
    assert_eq!(forged.status, 403);
}

#[test]
fn a_clerk_sees_nothing_of_another_municipality() {
    let server = start();
    with_account(&server, "musterstadt", "erika");
    let theirs = report(&server, "beispieldorf", "Daisy Duck");
    let photo = server.state.store.submission(&theirs).unwrap().unwrap().attachments[0].clone();
    let delivery = server.state.store.deliveries(&theirs).unwrap()[0].id.clone();
    let (mut browser, reply) = sign_in(&server, "musterstadt", "erika", PASSWORD);
    assert_eq!(reply.status, 303);
    let list = browser.get("/verwaltung/eingang");
    assert!(!list.body.contains(&theirs));
    let token = csrf(&list.body);
    for path in [
        format!("/verwaltung/vorgang/{theirs}"),
        format!("/verwaltung/vorgang/{theirs}/eingangsbestaetigung.pdf"),
        format!("/verwaltung/anlagen/{photo}"),
    ] {
        assert_eq!(browser.get(&path).status, 404, "GET {path}");
    }
    for path in [
        format!("/verwaltung/vorgang/{theirs}/stand"),
        format!("/verwaltung/vorgang/{theirs}/zustellungen/{delivery}/erneut"),
    ] {
        let r = browser.post_form(
            &path,
            &[
                ("_csrf".into(), token.clone()),
                ("from".into(), "eingegangen".into()),
                ("to".into(), "in_bearbeitung".into()),
            ],
        );
        assert_eq!(r.status, 404, "POST {path}");
    }
    assert_eq!(
        server.state.store.submission(&theirs).unwrap().unwrap().state,
        "eingegangen"
    );
    // The JSON API with the other municipality's token: the same.
    for path in [
        format!("/api/v1/submissions/{theirs}"),
        format!("/api/v1/submissions/{theirs}/deliveries"),
        format!("/api/v1/submissions/{theirs}/receipt.pdf"),
        format!("/api/v1/attachments/{photo}"),
    ] {
        assert_eq!(
            get_with_token(&server, &path, TOKEN_MUSTERSTADT).status,
            404,
            "GET {path}"
        );
    }
    assert_eq!(
        move_submission(&server, &theirs, "in_bearbeitung", TOKEN_MUSTERSTADT).status,
        404
    );
}

/// 50,000 submissions of one municipality exported as CSV and JSON Lines: every row arrives,
/// and the server holds a page of them at a time, not the file (the allocations of the whole
/// test binary, server included, peak far below the export's size).
#[test]
fn the_export_streams_fifty_thousand_submissions_with_flat_memory() {
    use baukasten_store::{NewSubmission, Submitted};
    use std::io::{BufRead, BufReader};

    const COUNT: usize = 50_000;
    let server = start();
    with_account(&server, "musterstadt", "erika");
    let store = server.state.store.clone();
    std::thread::scope(|s| {
        for thread in 0..8 {
            let store = store.clone();
            s.spawn(move || {
                for i in 0..COUNT / 8 {
                    let new = NewSubmission {
                        tenant: Some("musterstadt".into()),
                        service: "maengelmelder".into(),
                        version: "1.0.0".into(),
                        definition_hash: "0000000000000000".into(),
                        reference_prefix: "MM".into(),
                        data: serde_json::json!({"answers": {
                            "kategorie": "schlagloch", "strasse": "Holstenstraße", "hausnummer": format!("{i}"),
                            "beschreibung": format!("=HYPERLINK(\"http://evil\") Nummer {thread}/{i}"),
                            "name": "Erika Mustermann"
                        }, "computed": {}}),
                        fee_total: "0.00".into(),
                        attachments: vec![],
                        draft: None,
                        deliveries: vec![],
                    };
                    assert!(matches!(
                        store.submit(new, None, "eingegangen", chrono::Utc::now()).unwrap(),
                        Submitted::Created(_)
                    ));
                }
            });
        }
    });
    let (browser, reply) = sign_in(&server, "musterstadt", "erika", PASSWORD);
    assert_eq!(reply.status, 303);
    drop(browser);
    let session = reply
        .headers
        .iter()
        .find(|(k, v)| k.eq_ignore_ascii_case("set-cookie") && v.starts_with("bk_verwaltung="))
        .map(|(_, v)| v.split(';').next().unwrap().to_string())
        .unwrap();
    let export = |path: &str| -> (usize, String, String, usize) {
        let mut response = agent()
            .get(format!("{}{path}", server.base))
            .header("Cookie", &session)
            .call()
            .unwrap();
        assert_eq!(response.status(), 200);
        let (mut lines, mut bytes) = (0, 0);
        let (mut first, mut second) = (String::new(), String::new());
        let reader = BufReader::new(response.body_mut().with_config().limit(u64::MAX).reader());
        for line in reader.split(b'\n') {
            let line = line.unwrap();
            bytes += line.len() + 1;
            match lines {
                0 => first = String::from_utf8(line).unwrap(),
                1 => second = String::from_utf8(line).unwrap(),
                _ => {}
            }
            lines += 1;
        }
        (lines, first, second, bytes)
    };
    // Once to warm the store's cache, then measured.
    export("/verwaltung/export.csv?service=maengelmelder");
    let base = memory::reset_peak();
    let (lines, header, row, bytes) = export("/verwaltung/export.csv?service=maengelmelder");
    let grown = memory::peak().saturating_sub(base);
    assert_eq!(lines, COUNT + 1, "a header and every submission");
    assert!(
        header.starts_with("\u{feff}Vorgangsnummer;Dienst;Version;Eingegangen;Stand;Gebühren;"),
        "{header}"
    );
    assert!(header.contains("Straße"), "the service's fields by label: {header}");
    assert!(
        row.contains(";\"'=HYPERLINK(\"\"http://evil\"\") Nummer"),
        "a formula is neutralised: {row}"
    );
    assert!(bytes > 5_000_000, "{bytes} bytes");
    assert!(
        grown < bytes / 4,
        "the export of {bytes} bytes made the process allocate {grown} bytes more at its peak"
    );
    let base = memory::reset_peak();
    let (lines, first, _, bytes) = export("/verwaltung/export.jsonl");
    let grown = memory::peak().saturating_sub(base);
    assert_eq!(lines, COUNT);
    let first: Json = serde_json::from_str(&first).unwrap();
    assert_eq!(first["answers"]["name"], "Erika Mustermann");
    assert!(grown < bytes / 4, "{grown} of {bytes}");
    eprintln!("export: {COUNT} submissions, CSV and JSON Lines; JSON Lines {bytes} bytes, peak growth {grown} bytes");
}

#[test]
fn the_overview_charts_the_last_thirty_days_and_lists_failed_deliveries() {
    use baukasten_store::{AfterAttempt, DeliveryAttempt, NewDelivery, NewSubmission, Submitted};
    use chrono::TimeZone;

    let server = start();
    with_account(&server, "musterstadt", "erika");
    let store = server.state.store.clone();
    // TODAY is 2026-05-04: three reports the day before, a bulky-waste order today, one
    // report long before the period.
    let submit = |service: &str, at: chrono::DateTime<chrono::Utc>, deliveries: Vec<NewDelivery>| {
        let new = NewSubmission {
            tenant: Some("musterstadt".into()),
            service: service.into(),
            version: "1.0.0".into(),
            definition_hash: "0000000000000000".into(),
            reference_prefix: "MM".into(),
            data: serde_json::json!({"answers": {}, "computed": {}}),
            fee_total: "0.00".into(),
            attachments: vec![],
            draft: None,
            deliveries,
        };
        match store.submit(new, None, "eingegangen", at).unwrap() {
            Submitted::Created(s) => s.reference,
            other => panic!("{other:?}"),
        }
    };
    let day_before = chrono::Utc.with_ymd_and_hms(2026, 5, 3, 10, 0, 0).unwrap();
    let webhook = NewDelivery {
        channel: "webhook".into(),
        target: "fachverfahren".into(),
        event: None,
    };
    let failing = submit("maengelmelder", day_before, vec![webhook]);
    submit("maengelmelder", day_before, vec![]);
    submit("maengelmelder", day_before, vec![]);
    submit(
        "sperrmuell",
        chrono::Utc.with_ymd_and_hms(2026, 5, 4, 8, 0, 0).unwrap(),
        vec![],
    );
    submit(
        "maengelmelder",
        chrono::Utc.with_ymd_and_hms(2026, 1, 2, 8, 0, 0).unwrap(),
        vec![],
    );
    let id = store.deliveries(&failing).unwrap()[0].id.clone();
    let attempt = DeliveryAttempt {
        at: day_before,
        status: Some(500),
        error: Some("the receiver answered 500".into()),
    };
    store.record_attempt(&id, attempt, AfterAttempt::Failed).unwrap();

    let (mut browser, reply) = sign_in(&server, "musterstadt", "erika", PASSWORD);
    assert_eq!(reply.status, 303);
    let page = browser.get("/verwaltung/uebersicht");
    assert_eq!(page.status, 200, "{}", page.body);
    for part in [
        "<svg class=\"chart\"",
        "role=\"img\" aria-labelledby=\"chart-title chart-desc\"",
        "<title id=\"chart-title\">Eingänge pro Tag, letzte 30 Tage</title>",
        "an 30 Tagen, 4 insgesamt",
        "<th scope=\"row\">03.05.2026</th><td class=\"table__number\">3</td><td class=\"table__number\">0</td>",
        "<th scope=\"row\">04.05.2026</th><td class=\"table__number\">0</td><td class=\"table__number\">1</td>",
        &format!("<a href=\"/verwaltung/vorgang/{failing}\">{failing}</a>"),
        "the receiver answered 500",
    ] {
        assert!(page.body.contains(part), "{part}: {}", page.body);
    }
    assert!(!page.body.contains("02.01.2026"), "outside the period");
}

/// The retention sweep with an injected clock: a report resting in a final state loses its
/// answers, photo and deliveries once its service's period (180 days for the Mängelmelder) is
/// over, not a day before; one still being worked on is kept; the inbox shows the minimal
/// record.
#[test]
fn the_retention_sweep_deletes_personal_data_after_the_period_and_keeps_a_minimal_record() {
    let server = start();
    with_account(&server, "musterstadt", "erika");
    let done = report(&server, "musterstadt", "Gustav Gans");
    let open = report(&server, "musterstadt", "Daisy Duck");
    let store = server.state.store.clone();
    let photo = store.submission(&done).unwrap().unwrap().attachments[0].clone();
    for to in ["in_bearbeitung", "erledigt"] {
        assert_eq!(move_submission(&server, &done, to, TOKEN_MUSTERSTADT).status, 200);
    }
    let settled = store.last_state_change(&done).unwrap().unwrap();
    let day = chrono::Duration::days(1);

    let sweep = |at| baukasten_server::retention::sweep(&server.state, at).unwrap();
    assert_eq!(sweep(settled + day * 179), 0, "a day before the end nothing goes");
    assert!(store.submission(&done).unwrap().unwrap().redacted_at.is_none());
    assert_eq!(sweep(settled + day * 181), 1);
    assert_eq!(sweep(settled + day * 182), 0, "once is enough");

    let kept = store.submission(&done).unwrap().unwrap();
    assert_eq!(kept.data, serde_json::json!({}));
    assert!(kept.attachments.is_empty());
    assert_eq!(
        (kept.state.as_str(), kept.reference.as_str()),
        ("erledigt", done.as_str())
    );
    assert!(kept.redacted_at.is_some());
    assert!(
        store.attachment(&photo).unwrap().is_none(),
        "the photo's bytes are gone"
    );
    assert!(
        store.deliveries(&done).unwrap().is_empty(),
        "the deliveries held the e-mail address"
    );
    let untouched = store.submission(&open).unwrap().unwrap();
    assert_eq!(untouched.data["answers"]["name"], "Daisy Duck", "still being worked on");

    // The inbox shows what is left; the receipt is gone with the answers.
    let (mut browser, reply) = sign_in(&server, "musterstadt", "erika", PASSWORD);
    assert_eq!(reply.status, 303);
    let detail = browser.get(&format!("/verwaltung/vorgang/{done}"));
    assert_eq!(detail.status, 200);
    assert!(
        detail.body.contains("weil seine Aufbewahrungsfrist abgelaufen war"),
        "{}",
        detail.body
    );
    assert!(
        detail
            .body
            .contains("Angaben und Anlagen gelöscht (Aufbewahrungsfrist)")
    );
    assert!(!detail.body.contains("Gustav Gans"));
    assert!(!detail.body.contains("eingangsbestaetigung.pdf"));
    let list = browser.get("/verwaltung/eingang");
    assert!(list.body.contains("Angaben gelöscht"), "{}", list.body);
    assert_eq!(
        browser
            .get(&format!("/verwaltung/vorgang/{done}/eingangsbestaetigung.pdf"))
            .status,
        404
    );
    let api = get_with_token(
        &server,
        &format!("/api/v1/submissions/{done}/receipt.pdf"),
        TOKEN_MUSTERSTADT,
    );
    assert_eq!(api.status, 404);
}
