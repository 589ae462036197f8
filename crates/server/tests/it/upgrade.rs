//! Upgrades never strand a pinned draft or submission.
//!
//! `tests/fixtures/store-0.1.0/` is a data folder written by release 0.1.0: a store with a
//! submission (with an attachment and an audit entry) and a draft, both pinned to version 1.0.0
//! of a small service, and the catalog sources that version was published from. Every later
//! release must open it, finish the draft on version 1.0.0, read the submission and its file,
//! and move it along its process, while the catalog it serves has moved on to version 2.0.0.
//! Keep the folder; add one per release that changes the store.
//!
//! `BAUKASTEN_WRITE_GOLDEN=1 cargo test -p baukasten-server --test it upgrade` writes the
//! folder anew (only for a new release's own fixture, never over an old one).

use std::path::{Path, PathBuf};

use baukasten_dsl::SourceFile;
use baukasten_store::{NewDraft, NewSubmission, Submitted};
use serde_json::{Value as Json, json};

use crate::common::*;
use crate::flow::{Browser, csrf, location};

const RELEASE: &str = "0.1.0";

const TENANT: &str = r#"
tenant: musterstadt
name: Musterstadt
links:
  impressum: https://musterstadt.example/impressum
  datenschutz: https://musterstadt.example/datenschutz
  barrierefreiheit: https://musterstadt.example/barrierefreiheit
"#;

/// Version 1.0.0, as the fixture's store holds it.
const GOLDEN_V1: &str = r#"
service: golden
version: 1.0.0
title: { de: Goldene Probe, en: Golden sample }
steps:
  - id: person
    title: { de: Person, en: Person }
    fields:
      - { id: name, type: text, required: true, label: { de: Name, en: Name } }
      - { id: nachweis, type: file, accept: [pdf], label: { de: Nachweis, en: Proof } }
  - id: anliegen
    title: { de: Anliegen, en: Request }
    fields:
      - { id: anliegen, type: textarea, required: true, label: { de: Ihr Anliegen, en: Your request } }
process:
  states: [eingegangen, in_bearbeitung, erledigt]
  transitions:
    - { from: eingegangen, to: in_bearbeitung }
    - { from: in_bearbeitung, to: erledigt }
"#;

fn catalog_files(service: &str) -> Vec<SourceFile> {
    vec![
        SourceFile::new("forms/musterstadt/tenant.yaml", TENANT),
        SourceFile::new("forms/golden.yaml", service),
    ]
}

/// Version 2.0.0, as the server publishes it now: a new required question on the second step.
fn golden_v2() -> String {
    GOLDEN_V1.replace("version: 1.0.0", "version: 2.0.0").replace(
        "      - { id: anliegen, type: textarea",
        "      - { id: telefon, type: phone, required: true, label: { de: Telefonnummer, en: Phone } }\n      - { id: anliegen, type: textarea",
    )
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/fixtures/store-{RELEASE}"))
}

/// A copy of the fixture folder to work on; the fixture itself is never written by a test.
fn fixture_copy() -> (tempfile::TempDir, Json) {
    let copy = tempfile::tempdir().expect("temp dir");
    for name in ["baukasten.redb", "secret.key", "fixture.json"] {
        std::fs::copy(fixture_dir().join(name), copy.path().join(name))
            .unwrap_or_else(|e| panic!("tests/fixtures/store-{RELEASE}/{name}: {e}"));
    }
    let facts = serde_json::from_str(&std::fs::read_to_string(copy.path().join("fixture.json")).unwrap()).unwrap();
    (copy, facts)
}

fn move_to(server: &TestServer, reference: &str, to: &str) -> Reply {
    move_submission(server, reference, to, TOKEN_MUSTERSTADT)
}

/// Resumes a draft by its code and sends it through the pages; the new submission's reference.
fn finish_draft(server: &TestServer, code: &str, anliegen: &str) -> (String, String) {
    let mut browser = Browser::new(server);
    let base = "/musterstadt/golden/";
    let step = location(&browser.get(&format!("{base}fortsetzen?code={code}")));
    assert_eq!(
        step,
        format!("{base}schritt/anliegen"),
        "the draft resumes where it was left"
    );
    let page = browser.get(&step);
    assert_eq!(page.status, 200);
    let pairs = vec![
        ("_csrf".to_string(), csrf(&page.body)),
        ("anliegen".to_string(), anliegen.to_string()),
        ("_action".to_string(), "continue".to_string()),
    ];
    let summary = location(&browser.post_form(&step, &pairs));
    assert_eq!(summary, format!("{base}pruefen"), "version 1.0.0 asks nothing more");
    let summary = browser.get(&summary);
    let pairs = vec![("_csrf".to_string(), csrf(&summary.body))];
    let done = location(&browser.post_form(&format!("{base}senden"), &pairs));
    let confirmation = browser.get(&done);
    let reference = reference_in(&confirmation.body).expect("a reference").to_string();
    (reference, page.body)
}

#[test]
fn the_store_of_release_0_1_0_is_read_finished_and_moved_on() {
    if std::env::var_os("BAUKASTEN_WRITE_GOLDEN").is_some() {
        write_fixture();
    }
    let (data, facts) = fixture_copy();
    let server = start_with(catalog_files(&golden_v2()), |c| c.data = data.path().to_path_buf());

    // The submission of 0.1.0, with its file and its audit trail.
    let reference = facts["submission"].as_str().unwrap();
    let stored = get_with_token(&server, &format!("/api/v1/submissions/{reference}"), TOKEN_MUSTERSTADT);
    assert_eq!(stored.status, 200, "{}", stored.body);
    let stored = stored.json();
    assert_eq!(stored["version"], "1.0.0");
    assert_eq!(stored["state"], "in_bearbeitung");
    assert_eq!(stored["data"]["answers"]["name"], "Erika Mustermann");
    let attachment = facts["attachment"].as_str().unwrap();
    assert_eq!(stored["attachments"], json!([attachment]));
    let file = reply(
        agent()
            .get(format!("{}/api/v1/attachments/{attachment}", server.base))
            .header("Authorization", format!("Bearer {TOKEN_MUSTERSTADT}"))
            .call(),
    );
    assert_eq!(file.status, 200);
    assert_eq!(file.body.as_bytes(), PDF);
    let audit = server.state.store.audit(reference).unwrap();
    assert_eq!(audit.last().map(|e| e.action.as_str()), Some("state:in_bearbeitung"));

    // It moves on along version 1.0.0's process.
    let moved = move_to(&server, reference, "erledigt");
    assert_eq!(moved.status, 200, "{}", moved.body);

    // The draft finishes on version 1.0.0: no phone number asked, none required.
    let (sent, page) = finish_draft(&server, facts["draft_code"].as_str().unwrap(), "Bitte um Rückruf");
    assert!(!page.contains("Telefonnummer"), "version 1.0.0 has no phone question");
    let sent = get_with_token(&server, &format!("/api/v1/submissions/{sent}"), TOKEN_MUSTERSTADT).json();
    assert_eq!(sent["version"], "1.0.0");
    assert_eq!(sent["definition_hash"], facts["definition_hash"]);
    assert_eq!(sent["data"]["answers"]["name"], "Erika Mustermann");
}

/// A later release may hash the same sources differently (a key added to the model changes
/// the hash). Records pinned to a hash this release would not compute must still find their
/// definition: by its stored sources, never by hashing again.
#[test]
fn a_definition_is_found_by_the_hash_it_was_published_with_not_by_hashing_again() {
    let (data, facts) = fixture_copy();
    let server = start_with(catalog_files(&golden_v2()), |c| c.data = data.path().to_path_buf());
    let store = &server.state.store;
    let published = facts["definition_hash"].as_str().unwrap();
    let record = store.definition(published).unwrap().expect("the fixture's definition");
    // What an older release with another hash function left in the store.
    let old_hash = "0ld0ld0ld0ld0ld0";
    store.put_definition(old_hash, &record).unwrap();
    let now = chrono::Utc::now();
    let submitted = store
        .submit(
            NewSubmission {
                tenant: Some("musterstadt".into()),
                service: "golden".into(),
                version: "1.0.0".into(),
                definition_hash: old_hash.into(),
                reference_prefix: "GOL".into(),
                data: json!({ "answers": { "name": "Max", "anliegen": "x" }, "computed": {} }),
                fee_total: "0.00".into(),
                attachments: vec![],
                draft: None,
                deliveries: Vec::new(),
            },
            None,
            "eingegangen",
            now,
        )
        .unwrap();
    let Submitted::Created(old) = submitted else {
        panic!("{submitted:?}")
    };
    let moved = move_to(&server, &old.reference, "in_bearbeitung");
    assert_eq!(moved.status, 200, "{}", moved.body);

    let draft = store
        .create_draft(
            NewDraft {
                tenant: Some("musterstadt".into()),
                service: "golden".into(),
                version: "1.0.0".into(),
                definition_hash: old_hash.into(),
                answers: json!({ "name": "Max Muster" }),
            },
            now,
        )
        .unwrap();
    store
        .update_draft(&draft.id, &draft.answers, Some("anliegen"), now)
        .unwrap();
    let (sent, page) = finish_draft(&server, &draft.resume_code, "Frage zur Abholung");
    assert!(
        !page.contains("Telefonnummer"),
        "the draft did not move to version 2.0.0"
    );
    let sent = get_with_token(&server, &format!("/api/v1/submissions/{sent}"), TOKEN_MUSTERSTADT).json();
    assert_eq!(sent["version"], "1.0.0");
    assert_eq!(
        sent["definition_hash"], old_hash,
        "it stays pinned to the hash it was started on"
    );
}

/// Writes `tests/fixtures/store-<RELEASE>/` with this release.
fn write_fixture() {
    let dir = fixture_dir();
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["baukasten.redb", "secret.key", "fixture.json"] {
        let _ = std::fs::remove_file(dir.join(name));
    }
    let server = start_with(catalog_files(GOLDEN_V1), |c| c.data = dir.clone());
    let upload = upload_for(&server, "musterstadt", "golden", "nachweis.pdf", PDF).json()[0].clone();
    let answers = json!({ "name": "Erika Mustermann", "nachweis": upload, "anliegen": "Sperrmüll abholen" });
    let created = post_json(
        &server,
        "/api/v1/services/musterstadt/golden/submissions",
        &answers.to_string(),
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let created = created.json();
    let reference = created["reference"].as_str().unwrap().to_string();
    assert_eq!(move_to(&server, &reference, "in_bearbeitung").status, 200);

    let offer = server.state.registry.current();
    let offer = offer.offer("musterstadt", "golden").unwrap();
    let now = chrono::Utc::now();
    let draft = server
        .state
        .store
        .create_draft(
            NewDraft {
                tenant: Some("musterstadt".into()),
                service: "golden".into(),
                version: "1.0.0".into(),
                definition_hash: offer.compiled.definition_hash().into(),
                answers: json!({ "name": "Erika Mustermann" }),
            },
            now,
        )
        .unwrap();
    server
        .state
        .store
        .update_draft(&draft.id, &draft.answers, Some("anliegen"), now)
        .unwrap();
    let facts = json!({
        "release": RELEASE,
        "submission": reference,
        "attachment": upload["id"],
        "draft_code": draft.resume_code,
        "definition_hash": offer.compiled.definition_hash(),
    });
    drop(server);
    std::fs::write(
        dir.join("fixture.json"),
        serde_json::to_string_pretty(&facts).unwrap() + "\n",
    )
    .unwrap();
}

/// A data folder that was used before and whose store file is now empty or gone is refused,
/// instead of quietly starting with no submissions at all.
#[test]
fn a_used_data_folder_with_an_empty_or_missing_store_is_refused() {
    for empty in [true, false] {
        let (data, _) = fixture_copy();
        let store = data.path().join("baukasten.redb");
        if empty {
            std::fs::write(&store, b"").unwrap();
        } else {
            std::fs::remove_file(&store).unwrap();
        }
        let config = baukasten_server::Config {
            data: data.path().to_path_buf(),
            addr: "127.0.0.1:0".parse().unwrap(),
            ..Default::default()
        };
        let files = catalog_files(GOLDEN_V1);
        let loader: baukasten_server::Loader = std::sync::Arc::new(move || Ok(files.clone()));
        let Err(refused) = baukasten_server::prepare(config, loader) else {
            panic!("a server started on a lost store (empty: {empty})")
        };
        let message = refused.to_string();
        assert!(
            message.contains("baukasten.redb") && message.contains("secret.key"),
            "{message}"
        );
        assert!(message.contains("backup"), "{message}");
        if empty {
            assert_eq!(
                std::fs::metadata(&store).unwrap().len(),
                0,
                "the empty file is left as it was"
            );
        } else {
            assert!(!store.exists(), "no new store was made");
        }
    }
}

/// "Today" is the date in the configured zone, not on the machine's clock: two servers whose
/// zones are 26 hours apart (UTC+14 and UTC-12) never share a date, so an answer of the eastern
/// server's today is "in the future" for the western one, whatever the time of the run.
#[test]
fn today_is_the_date_in_the_configured_time_zone() {
    use chrono_tz::Etc::{GMTMinus14, GMTPlus12};
    let service = r#"
service: termin
version: 1.0.0
title: Termin
steps:
  - id: tag
    title: Tag
    fields:
      - { id: datum, type: date, required: true, label: Datum, max: today }
"#;
    let east_today = || chrono::Utc::now().with_timezone(&GMTMinus14).date_naive();
    let before = east_today();
    let east = start_with(
        vec![
            SourceFile::new("forms/musterstadt/tenant.yaml", TENANT),
            SourceFile::new("forms/termin.yaml", service),
        ],
        |c| {
            c.today = None;
            c.time_zone = GMTMinus14;
        },
    );
    let west = start_with(
        vec![
            SourceFile::new("forms/musterstadt/tenant.yaml", TENANT),
            SourceFile::new("forms/termin.yaml", service),
        ],
        |c| {
            c.today = None;
            c.time_zone = GMTPlus12;
        },
    );
    let answers = json!({ "datum": before.format("%Y-%m-%d").to_string() }).to_string();
    let path = "/api/v1/services/musterstadt/termin/evaluate";
    let (in_east, in_west) = (
        post_json(&east, path, &answers).json(),
        post_json(&west, path, &answers).json(),
    );
    if east_today() != before {
        return; // the eastern midnight passed during the run; nothing can be concluded
    }
    assert_eq!(
        in_east["valid"], true,
        "today in UTC+14 is not in the future there: {in_east}"
    );
    assert_eq!(in_west["valid"], false, "but it is in UTC-12: {in_west}");
    assert_eq!(in_west["errors"][0]["field"], "datum");
}

/// With the secret from the environment (several instances), the folder has no `secret.key`;
/// a marker keeps a lost store from going unnoticed all the same.
#[test]
fn with_the_secret_from_the_environment_a_lost_store_is_still_refused() {
    // SAFETY of the test: set before the server reads it, by this test alone.
    unsafe {
        std::env::set_var(
            "BAUKASTEN_TEST_SECRET",
            "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
        )
    };
    let data = tempfile::tempdir().unwrap();
    let config = || baukasten_server::Config {
        data: data.path().to_path_buf(),
        addr: "127.0.0.1:0".parse().unwrap(),
        secret_env: Some("BAUKASTEN_TEST_SECRET".into()),
        ..Default::default()
    };
    let files = catalog_files(GOLDEN_V1);
    let loader: baukasten_server::Loader = std::sync::Arc::new(move || Ok(files.clone()));
    let prepared = baukasten_server::prepare(config(), loader.clone());
    assert!(prepared.is_ok(), "a fresh folder starts");
    drop(prepared);
    assert!(!data.path().join("secret.key").exists(), "no secret of its own");
    assert!(data.path().join("store.used").exists());
    std::fs::remove_file(data.path().join("baukasten.redb")).unwrap();
    let Err(refused) = baukasten_server::prepare(config(), loader) else {
        panic!("a server started on a lost store");
    };
    let message = refused.to_string();
    assert!(
        message.contains("baukasten.redb") && message.contains("store.used"),
        "{message}"
    );
}
