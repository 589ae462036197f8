//! The file format: versions, migration, and files that are not (or no longer) what they
//! should be. These tests write files with redb directly, as an older or newer Baukasten (or
//! another program) would have left them.

use baukasten_store::{ErrorKind, RedbStore, Store, Submission, Submitted};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
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
        deliveries: vec![],
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
    assert_eq!(stored_version(&path), b"3");
    assert_eq!(baukasten_store::FORMAT_VERSION, 3);
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
    assert_eq!(stored_version(&path), b"3");
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
    write_file(&path, b"4", &[]);
    let err = RedbStore::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Incompatible);
    assert!(err.detail.contains("newer Baukasten"), "{err}");
    assert!(err.detail.contains("format version 4"), "{err}");
    assert_eq!(stored_version(&path), b"4");
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

/// Flips one byte inside a stored value, as a failing disk would.
fn damage(path: &std::path::Path, table: TableDefinition<&str, &[u8]>, key: &str) {
    let db = Database::create(path).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(table).unwrap();
        let mut value = table.get(key).unwrap().expect("the record").value().to_vec();
        value[5] ^= 0x20;
        table.insert(key, value.as_slice()).unwrap();
    }
    txn.commit().unwrap();
}

#[test]
fn a_damaged_record_is_found_by_its_checksum_and_left_out_of_lists() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let store = RedbStore::open(&path).unwrap();
    let mut references = Vec::new();
    for name in ["Erika", "Max", "Lena"] {
        let Submitted::Created(s) = store
            .submit(
                crate::parking_permit(Some("musterstadt"), name),
                None,
                "eingegangen",
                at(2, 0),
            )
            .unwrap()
        else {
            panic!()
        };
        references.push(s.reference);
    }
    let file = store
        .put_attachment(
            Some("musterstadt"),
            "n.pdf",
            "application/pdf",
            b"%PDF-1.4 abcdef",
            at(2, 0),
        )
        .unwrap();
    assert_eq!(store.verify().unwrap().damaged.len(), 0);
    drop(store);
    // A bit flips in a submission (in "Max", still valid JSON) and in a file's bytes.
    damage(&path, SUBMISSIONS, &references[1]);
    damage(&path, TableDefinition::new("attachment_bytes"), &file.id);

    let store = RedbStore::open(&path).unwrap();
    let err = store.submission(&references[1]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Corrupt);
    assert!(
        err.detail.contains("checksum") && err.detail.contains(&references[1]),
        "{err}"
    );
    let listed = store.submissions(Some("musterstadt"), 10).unwrap();
    assert_eq!(listed.len(), 2, "the damaged one is left out, the list still works");
    assert_eq!(store.stats().damaged_records, 1);
    assert_eq!(store.attachment(&file.id).unwrap_err().kind, ErrorKind::Corrupt);
    let verified = store.verify().unwrap();
    assert_eq!(verified.damaged.len(), 2, "{:?}", verified.damaged);
    assert_eq!(verified.checked, 7, "3 submissions, their 3 audit entries, 1 file");
}
