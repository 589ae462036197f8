//! Several instances on one PostgreSQL database (`store:`): a draft started on one continues
//! on another, a submission sent to one is read from another, and `/readyz` reports the
//! database. Each test makes a database of its own on the server `BAUKASTEN_TEST_POSTGRES`
//! names (default: the local one) and drops it at the end.

use std::process::Command;

use crate::common::*;
use crate::flow::{Browser, csrf, location};

const SECRET_ENV: &str = "BAUKASTEN_TEST_PG_SECRET";

/// A Mängelmelder report without a photo.
fn report() -> serde_json::Value {
    serde_json::json!({
        "kategorie": "schlagloch", "ortsangabe": "adresse", "strasse": "Hauptstraße",
        "hausnummer": "12", "beschreibung": "Ein tiefes Schlagloch auf der rechten Fahrspur.",
        "rueckmeldung": false
    })
}

/// A database of its own, dropped when the guard goes.
struct Database {
    server: String,
    name: String,
}

impl Database {
    fn new(tag: &str) -> Database {
        let server = std::env::var("BAUKASTEN_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("baukasten_server_{tag}_{}", std::process::id());
        let db = Database { server, name };
        db.psql(&format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", db.name));
        db.psql(&format!("CREATE DATABASE {}", db.name));
        db
    }

    fn url(&self) -> String {
        let (base, _) = self.server.rsplit_once('/').expect("a database address");
        format!("{base}/{}", self.name)
    }

    fn psql(&self, sql: &str) {
        let out = Command::new("psql")
            .args([self.server.as_str(), "-qc", sql])
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "{sql}: {} (is PostgreSQL running? pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args([
                self.server.as_str(),
                "-qc",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

fn instance(db: &Database) -> TestServer {
    // SAFETY of the test: the same value whichever test sets it first.
    unsafe {
        std::env::set_var(
            SECRET_ENV,
            "8899aabbccddeeff00112233445566778899aabbccddeeff0011223344556677",
        )
    };
    let url = db.url();
    start_with(read_forms(&forms_dir()), move |config| {
        config.store = Some(url);
        config.secret_env = Some(SECRET_ENV.into());
    })
}

#[test]
fn two_instances_on_one_database_act_as_one() {
    let db = Database::new("two");
    let (a, b) = (instance(&db), instance(&db));

    // A draft started on one instance goes on on the other, with the same cookie.
    let mut browser = Browser::new(&a);
    let step = "/beispieldorf/maengelmelder/schritt/mangel";
    let page = browser.get(step);
    let next = browser.post_form(
        step,
        &[
            ("_csrf".to_string(), csrf(&page.body)),
            ("kategorie".into(), "sonstiges".into()),
            ("kategorie_sonstiges".into(), "Bank im Park zerbrochen".into()),
        ],
    );
    assert_eq!(next.status, 303, "{}", next.body);
    let to = location(&next);
    let mut browser = browser.moved_to(&b);
    let page = browser.get(step);
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("Bank im Park zerbrochen"),
        "the other instance shows the answers of the draft: {}",
        page.body
    );
    assert_eq!(browser.get(&to).status, 200, "and the next step");

    // A submission sent to one instance is read from the other, pinned definition and all.
    let answers = report();
    let sent = post_json(
        &a,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &answers.to_string(),
    );
    assert_eq!(sent.status, 201, "{}", sent.body);
    let reference = sent.json()["reference"].as_str().unwrap().to_string();
    let read = get_with_token(&b, &format!("/api/v1/submissions/{reference}"), TOKEN_MUSTERSTADT);
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.json()["reference"], reference);
    let pinned = a.state.store.submission(&reference).unwrap().unwrap().definition_hash;
    assert!(
        b.state.store.definition(&pinned).unwrap().is_some(),
        "the definition it is pinned to is in the database"
    );
}

#[test]
fn readyz_reports_the_database() {
    let db = Database::new("ready");
    let server = instance(&db);
    let ready = get(&server, "/readyz");
    assert_eq!(ready.status, 200);
    assert_eq!(ready.json()["store"], "postgresql");

    // The database goes away (its connections are ended): not ready, and nothing panics.
    db.psql(&format!("DROP DATABASE {} WITH (FORCE)", db.name));
    let gone = get(&server, "/readyz");
    assert_eq!(gone.status, 503, "{}", gone.body);
    assert_eq!(gone.json()["store"], "postgresql");
    assert!(gone.header("retry-after").is_some());
    let answers = report();
    let refused = post_json(
        &server,
        "/api/v1/services/musterstadt/maengelmelder/submissions",
        &answers.to_string(),
    );
    assert_eq!(
        refused.status, 503,
        "a submission is refused, not lost: {}",
        refused.body
    );

    // Back, but empty (as after a restore that went wrong): reachable, yet not ready, since
    // the schema the instance started with is not there.
    db.psql(&format!("CREATE DATABASE {}", db.name));
    let empty = get(&server, "/readyz");
    assert_eq!(empty.status, 503, "{}", empty.body);
}

#[test]
fn without_a_shared_secret_postgresql_is_refused() {
    let db = Database::new("nosecret");
    let config = baukasten_server::Config {
        store: Some(db.url()),
        addr: "127.0.0.1:0".parse().unwrap(),
        ..Default::default()
    };
    let files = read_forms(&forms_dir());
    let loader: baukasten_server::Loader = std::sync::Arc::new(move || Ok(files.clone()));
    let Err(refused) = baukasten_server::prepare(config, loader) else {
        panic!("started on PostgreSQL without secret_env");
    };
    assert!(refused.to_string().contains("secret_env"), "{refused}");
}
