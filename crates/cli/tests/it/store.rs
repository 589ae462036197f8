//! `baukasten store verify` and `store copy`: an operator's check of a data folder, and moving
//! a store between data folders and PostgreSQL, with the server stopped.
//!
//! The copy's tests need a PostgreSQL server: `BAUKASTEN_TEST_POSTGRES`, by default the local
//! one (`postgres://postgres@127.0.0.1:5432/postgres`). Each test works in a schema of its own,
//! dropped at its end; without a server they fail, saying so.

use std::path::Path;
use std::process::Command;

use baukasten_store::conformance::{every_kind, exported, same_answers};
use baukasten_store::{NewSubmission, RedbStore, Store, Submitted};
use baukasten_store_pg::PgStore;
use redb::{Database, ReadableTable, TableDefinition};

use crate::{baukasten, scratch, stdout};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn submit(store: &dyn Store, name: &str) -> String {
    let new = NewSubmission {
        tenant: Some("musterstadt".into()),
        service: "maengelmelder".into(),
        version: "1.0.0".into(),
        definition_hash: "0000000000000000".into(),
        reference_prefix: "MM".into(),
        data: serde_json::json!({ "answers": { "name": name }, "computed": {} }),
        fee_total: "0.00".into(),
        attachments: vec![],
        draft: None,
        deliveries: Vec::new(),
    };
    match store.submit(new, None, "eingegangen", chrono::Utc::now()).unwrap() {
        Submitted::Created(s) => s.reference,
        other => panic!("{other:?}"),
    }
}

#[test]
fn verify_reports_damaged_records_with_status_1() {
    let dir = scratch("store-verify");
    let path = dir.join("data").join("baukasten.redb");
    let store = RedbStore::open(&path).unwrap();
    let (good, bad) = (submit(&store, "Erika"), submit(&store, "Max"));
    drop(store);

    let clean = baukasten(&["store", "verify", "--data", "data"], &dir, "en_US.UTF-8");
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(stdout(&clean).contains(", 0 damaged"), "{}", stdout(&clean));

    {
        // A bit flips in one stored submission, as on a failing disk.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn
                .open_table(TableDefinition::<&str, &[u8]>::new("submissions"))
                .unwrap();
            let mut value = table.get(bad.as_str()).unwrap().unwrap().value().to_vec();
            value[5] ^= 0x20;
            table.insert(bad.as_str(), value.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let found = baukasten(&["store", "verify", "--data", "data"], &dir, "de_DE.UTF-8");
    assert_eq!(found.status.code(), Some(1), "{}", stdout(&found));
    let out = stdout(&found);
    assert!(out.contains("beschädigt:") && out.contains(&bad), "{out}");
    assert!(!out.contains(&good), "only the damaged record is named: {out}");

    let missing = baukasten(&["store", "verify", "--data", "nirgends"], &dir, "en_US.UTF-8");
    assert_eq!(missing.status.code(), Some(2));
}

/// A schema of its own in the test server's database, dropped when the test ends; a store
/// opened with [`Schema::url`] keeps its tables there.
pub(crate) struct Schema {
    server: String,
    name: String,
}

impl Schema {
    pub(crate) fn new(test: &str) -> Schema {
        let server = std::env::var("BAUKASTEN_TEST_POSTGRES")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("baukasten_{test}_{}", std::process::id());
        psql(
            &server,
            &format!("DROP SCHEMA IF EXISTS {name} CASCADE; CREATE SCHEMA {name}"),
        );
        Schema { server, name }
    }

    pub(crate) fn url(&self) -> String {
        let separator = if self.server.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-csearch_path%3D{}", self.server, self.name)
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Not asserted: a test that failed must not panic again while unwinding.
        let _ = try_psql(&self.server, &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// Runs SQL with psql; a server that cannot be reached fails the test, naming it.
fn psql(server: &str, sql: &str) {
    if let Err(e) = try_psql(server, sql) {
        panic!(
            "PostgreSQL at {server} is needed for this test and did not answer (set \
             BAUKASTEN_TEST_POSTGRES to a server's URL): {e}"
        );
    }
}

fn try_psql(server: &str, sql: &str) -> Result<(), String> {
    let out = Command::new("psql")
        .args([server, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])
        .output()
        .map_err(|e| format!("psql, which makes the schema, did not start: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(stderr(&out))
    }
}

fn open_redb(folder: &Path) -> RedbStore {
    RedbStore::open(&folder.join("baukasten.redb")).unwrap()
}

#[test]
fn copy_moves_every_record_to_postgresql_and_back() {
    let dir = scratch("store-copy");
    let original = open_redb(&dir.join("alt"));
    let sample = every_kind(&original);
    let records = exported(&original);
    drop(original);
    let schema = Schema::new("copy_round_trip");
    let url = schema.url();

    let there = baukasten(&["store", "copy", "--from", "alt", "--to", &url], &dir, "en_US.UTF-8");
    let out = stdout(&there);
    assert_eq!(there.status.code(), Some(0), "{out}{}", stderr(&there));
    for kind in [
        "definitions",
        "submissions",
        "audit",
        "idempotency",
        "drafts",
        "uploads",
        "deliveries",
        "accounts",
        "clerk_sessions",
    ] {
        let line = out
            .lines()
            .find(|l| l.starts_with(kind))
            .unwrap_or_else(|| panic!("no {kind} in {out}"));
        assert!(line.ends_with("  ok"), "{line}");
    }
    assert!(out.contains(&format!("copied {} records", records.len())), "{out}");

    // The database answers like the file it came from.
    {
        let original = open_redb(&dir.join("alt"));
        let pg = PgStore::open(&url).unwrap();
        same_answers(&original, &pg, &sample);
    }

    // Once there, it is not copied there again.
    let again = baukasten(&["store", "copy", "--from", "alt", "--to", &url], &dir, "en_US.UTF-8");
    assert_eq!(again.status.code(), Some(1), "{}", stdout(&again));
    assert!(
        stderr(&again).contains("is not empty; nothing was written to it"),
        "{}",
        stderr(&again)
    );

    let back = baukasten(&["store", "copy", "--from", &url, "--to", "neu"], &dir, "de_DE.UTF-8");
    let out = stdout(&back);
    assert_eq!(back.status.code(), Some(0), "{out}{}", stderr(&back));
    assert!(out.contains(&format!("{} Datensätze in", records.len())), "{out}");
    let first = out.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("Kopiere postgres") && first.contains(&schema.name),
        "{out}"
    );

    let original = open_redb(&dir.join("alt"));
    let copy = open_redb(&dir.join("neu"));
    assert_eq!(exported(&copy), records);
    same_answers(&original, &copy, &sample);
    let (attachment, bytes) = copy.attachment(&sample.upload).unwrap().unwrap();
    assert_eq!(
        (attachment.file_name.as_str(), bytes),
        ("fahrzeugschein.pdf", sample.upload_bytes)
    );
    let submission = copy.submission(&sample.reference).unwrap().unwrap();
    assert_eq!(submission.attachments, std::slice::from_ref(&sample.upload));
    assert_eq!(copy.verify().unwrap().damaged.len(), 0);
}

#[test]
fn copy_refuses_a_target_that_is_not_empty_and_leaves_it_alone() {
    let dir = scratch("store-copy-full");
    let source = open_redb(&dir.join("alt"));
    every_kind(&source);
    drop(source);
    let target = open_redb(&dir.join("neu"));
    let reference = submit(&target, "Max");
    let before = exported(&target);
    drop(target);

    let refused = baukasten(&["store", "copy", "--from", "alt", "--to", "neu"], &dir, "de_DE.UTF-8");
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("das Ziel neu/baukasten.redb ist nicht leer; es wurde nichts hineingeschrieben"),
        "{message}"
    );
    let target = open_redb(&dir.join("neu"));
    assert_eq!(exported(&target), before);
    assert_eq!(target.submissions(Some("musterstadt"), 10).unwrap().len(), 1);
    assert!(target.submission(&reference).unwrap().is_some());

    // A PostgreSQL target likewise.
    let schema = Schema::new("copy_full");
    let url = schema.url();
    let pg = PgStore::open(&url).unwrap();
    submit(&pg, "Erika");
    let before = exported(&pg);
    let refused = baukasten(&["store", "copy", "--from", "alt", "--to", &url], &dir, "en_US.UTF-8");
    assert_eq!(refused.status.code(), Some(1), "{}", stdout(&refused));
    let message = stderr(&refused);
    assert!(
        message.contains("the target postgres") && message.contains(&schema.name),
        "{message}"
    );
    assert_eq!(exported(&pg), before);
}

#[test]
fn copy_refuses_a_missing_source_instead_of_creating_one() {
    let dir = scratch("store-copy-missing");
    let out = baukasten(
        &["store", "copy", "--from", "nirgends", "--to", "neu"],
        &dir,
        "en_US.UTF-8",
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("the source nirgends/baukasten.redb does not exist; nothing was copied"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("nirgends").exists(), "no empty source was made");
    assert!(!dir.join("neu").exists(), "the target was not touched");

    // An empty store is refused as a source too: most likely the wrong folder.
    drop(open_redb(&dir.join("leer")));
    let out = baukasten(&["store", "copy", "--from", "leer", "--to", "neu"], &dir, "en_US.UTF-8");
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(stderr(&out).contains("holds nothing"), "{}", stderr(&out));
}
