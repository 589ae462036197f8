//! The file format: versions, migration, and files that are not (or no longer) what they
//! should be. These tests write files with redb directly, as an older or newer Baukasten (or
//! another program) would have left them.

use baukasten_store::{ErrorKind, RedbStore, Store, Submission};
use redb::{Database, ReadableDatabase, TableDefinition};
use serde_json::json;

use crate::{at, store_path};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const SUBMISSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("submissions");

fn submission(reference: &str, tenant: &str, seconds: i64) -> Submission {
    Submission {
        reference: reference.to_owned(),
        tenant: Some(tenant.to_owned()),
        service: "bewohnerparkausweis".to_owned(),
        version: "1.0.0".to_owned(),
        definition_hash: "sha256:abc".to_owned(),
        data: json!({ "vorname": reference }),
        fee_total: "30.70".to_owned(),
        attachments: vec![],
        state: "eingegangen".to_owned(),
        created_at: at(2, seconds),
    }
}

/// Writes a file as format `version` would have: meta and submissions only.
fn write_file(path: &std::path::Path, version: &[u8], submissions: &[(&str, Vec<u8>)]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut meta = txn.open_table(META).unwrap();
        meta.insert("format_version", version).unwrap();
        let mut table = txn.open_table(SUBMISSIONS).unwrap();
        for (key, value) in submissions {
            table.insert(*key, value.as_slice()).unwrap();
        }
    }
    txn.commit().unwrap();
}

fn stored_version(path: &std::path::Path) -> Vec<u8> {
    let db = Database::create(path).unwrap();
    let txn = db.begin_read().unwrap();
    let meta = txn.open_table(META).unwrap();
    meta.get("format_version").unwrap().unwrap().value().to_vec()
}

#[test]
fn a_new_file_gets_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    drop(RedbStore::open(&path).unwrap());
    assert_eq!(stored_version(&path), b"2");
    assert_eq!(baukasten_store::FORMAT_VERSION, 2);
}

#[test]
fn a_version_1_file_is_migrated_and_lists_by_tenant() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let rows = [
        submission("BPA-2026-AAAAA", "musterstadt", 10),
        submission("BPA-2026-BBBBB", "beispieldorf", 20),
        submission("BPA-2026-CCCCC", "musterstadt", 30),
    ];
    let encoded: Vec<_> = rows
        .iter()
        .map(|s| (s.reference.as_str(), serde_json::to_vec(s).unwrap()))
        .collect();
    write_file(&path, b"1", &encoded);

    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store.submissions(Some("musterstadt"), 10).unwrap(),
        vec![rows[2].clone(), rows[0].clone()]
    );
    assert_eq!(
        store.submissions(Some("beispieldorf"), 10).unwrap(),
        vec![rows[1].clone()]
    );
    assert_eq!(store.submission("BPA-2026-AAAAA").unwrap(), Some(rows[0].clone()));
    drop(store);
    assert_eq!(stored_version(&path), b"2");
}

#[test]
fn a_failed_migration_leaves_the_file_as_it_was() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    write_file(&path, b"1", &[("BPA-2026-AAAAA", b"{not json".to_vec())]);
    let err = RedbStore::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Corrupt);
    assert!(
        err.detail.contains("submissions") && err.detail.contains("BPA-2026-AAAAA"),
        "{err}"
    );
    assert_eq!(stored_version(&path), b"1");
}

#[test]
fn a_file_from_a_newer_baukasten_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    write_file(&path, b"3", &[]);
    let err = RedbStore::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Incompatible);
    assert!(err.detail.contains("newer Baukasten"), "{err}");
    assert!(err.detail.contains("format version 3"), "{err}");
    assert_eq!(stored_version(&path), b"3");
}

#[test]
fn a_file_that_is_not_a_database_gives_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("baukasten.redb");
    let garbage: Vec<u8> = (0..20_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &garbage).unwrap();
    let err = RedbStore::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Incompatible, "{err}");
    assert!(err.detail.contains("not a Baukasten store"), "{err}");

    std::fs::write(&path, "service: bewohnerparkausweis\n").unwrap();
    assert_eq!(RedbStore::open(&path).unwrap_err().kind, ErrorKind::Incompatible);
    // Untouched: the store never overwrites what it does not understand.
    assert_eq!(std::fs::read(&path).unwrap(), b"service: bewohnerparkausweis\n");
}

#[test]
fn a_redb_file_of_another_program_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.redb");
    let db = Database::create(&path).unwrap();
    let txn = db.begin_write().unwrap();
    txn.open_table(TableDefinition::<u64, u64>::new("counters"))
        .unwrap()
        .insert(1, 2)
        .unwrap();
    txn.commit().unwrap();
    drop(db);
    let err = RedbStore::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Incompatible);
    assert!(err.detail.contains("not a Baukasten store"), "{err}");
}

#[test]
fn a_record_that_does_not_decode_is_reported_as_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let good = submission("BPA-2026-GGGGG", "musterstadt", 10);
    drop(RedbStore::open(&path).unwrap());
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        txn.open_table(SUBMISSIONS)
            .unwrap()
            .insert("BPA-2026-XXXXX", br#"{"reference": 42}"#.as_slice())
            .unwrap();
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    let err = store.submission("BPA-2026-XXXXX").unwrap_err();
    assert_eq!(err.kind, ErrorKind::Corrupt);
    assert!(err.detail.contains("table submissions, key BPA-2026-XXXXX"), "{err}");
    let err = store
        .set_state("BPA-2026-XXXXX", "eingegangen", "genehmigt", "clerk:x", at(2, 0))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Corrupt);
    // The bad record does not take the store down: other writes go on.
    let new = crate::parking_permit(Some("musterstadt"), &good.reference);
    store.submit(new, None, "eingegangen", at(2, 1)).unwrap();
}
