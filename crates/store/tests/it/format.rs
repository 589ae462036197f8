//! The file format: versions, migration, and files that are not (or no longer) what they
//! should be. These tests write files with redb directly, as an older or newer Baukasten (or
//! another program) would have left them, or read records as older releases wrote them.

use std::collections::BTreeMap;

use baukasten_store::{
    ALPHABET, Delivery, DeliveryStatus, ErrorKind, NewDelivery, RedbStore, Store, Submission, Submitted,
};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde_json::json;

use crate::{at, store_path};

const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const SUBMISSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("submissions");
const AUDIT: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("audit");

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
        redacted_at: None,
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
    assert_eq!(stored_version(&path), b"4");
    assert_eq!(baukasten_store::FORMAT_VERSION, 4);
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
    assert_eq!(stored_version(&path), b"4");
}

/// A version 3 file has no `state_counts`: opening it counts its submissions, per tenant and
/// state, once; from then on every submission and move keeps the counts.
#[test]
fn a_version_3_file_gets_its_state_counts_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut rows = Vec::new();
    for (i, (tenant, state)) in [
        ("musterstadt", "eingegangen"),
        ("musterstadt", "eingegangen"),
        ("musterstadt", "in_bearbeitung"),
        ("musterstadt", "genehmigt"),
        ("musterstadt", "eingegangen"),
        ("beispieldorf", "eingegangen"),
        ("beispieldorf", "abgelehnt"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut s = submission(&format!("BPA-2026-AAAA{}", ALPHABET[i] as char), tenant, i as i64);
        s.state = state.to_owned();
        rows.push(s);
    }
    let mut shared = submission("BPA-2026-BBBBB", "x", 99);
    shared.tenant = None;
    rows.push(shared);
    let mut encoded: Vec<_> = rows
        .iter()
        .map(|s| (s.reference.as_str(), serde_json::to_vec(s).unwrap()))
        .collect();
    // A damaged record is left out of the counts as it is out of lists; the file still opens.
    encoded.push(("BPA-2026-XXXXX", b"{not json".to_vec()));
    write_file(&path, b"3", &encoded);

    let store = RedbStore::open(&path).unwrap();
    let counts = |tenant: &str| store.state_counts(tenant).unwrap();
    assert_eq!(
        counts("musterstadt"),
        BTreeMap::from([
            ("eingegangen".to_owned(), 3),
            ("genehmigt".to_owned(), 1),
            ("in_bearbeitung".to_owned(), 1),
        ])
    );
    assert_eq!(
        counts("beispieldorf"),
        BTreeMap::from([("abgelehnt".to_owned(), 1), ("eingegangen".to_owned(), 1)])
    );
    assert_eq!(counts(""), BTreeMap::from([("eingegangen".to_owned(), 1)]));
    assert_eq!(counts("nirgendwo"), BTreeMap::new());

    // Kept from now on, and not counted again on the next open.
    store
        .set_state(&rows[2].reference, "in_bearbeitung", "genehmigt", "clerk:x", at(3, 0))
        .unwrap();
    drop(store);
    assert_eq!(stored_version(&path), b"4");
    let store = RedbStore::open(&path).unwrap();
    assert_eq!(
        store.state_counts("musterstadt").unwrap(),
        BTreeMap::from([("eingegangen".to_owned(), 3), ("genehmigt".to_owned(), 2)])
    );
    // The inbox's indexes by state and by service were built from the old file, and the move
    // since then is in them.
    let listed = |state: Option<&str>, service: Option<&str>| -> Vec<String> {
        let query = baukasten_store::InboxQuery {
            tenant: "musterstadt".into(),
            state: state.map(str::to_owned),
            service: service.map(str::to_owned),
            ..Default::default()
        };
        store
            .inbox(&query)
            .unwrap()
            .submissions
            .into_iter()
            .map(|s| s.reference)
            .collect()
    };
    assert_eq!(
        listed(Some("genehmigt"), None),
        [rows[3].reference.clone(), rows[2].reference.clone()],
        "newest first"
    );
    assert_eq!(listed(Some("in_bearbeitung"), None), Vec::<String>::new());
    assert_eq!(listed(None, Some("bewohnerparkausweis")).len(), 5);
    assert_eq!(listed(Some("eingegangen"), Some("bewohnerparkausweis")).len(), 3);
}

/// Audit entries written before `from` and `comment` existed are plain JSON without them (and,
/// before version 3, without a checksum): they still read, with neither.
#[test]
fn an_audit_entry_without_from_and_comment_still_reads() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    let mut s = submission("BPA-2026-AAAAA", "musterstadt", 10);
    s.state = "in_bearbeitung".to_owned();
    write_file(&path, b"3", &[(&s.reference, serde_json::to_vec(&s).unwrap())]);
    {
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut audit = txn.open_table(AUDIT).unwrap();
            let submitted = br#"{"at":"2026-03-02T12:00:10Z","actor":"citizen","action":"submitted"}"#;
            let moved = br#"{"at":"2026-03-02T13:00:00Z","actor":"clerk:musterstadt","action":"state:in_bearbeitung"}"#;
            audit.insert(("BPA-2026-AAAAA", 0), submitted.as_slice()).unwrap();
            audit.insert(("BPA-2026-AAAAA", 1), moved.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&path).unwrap();
    store
        .set_state_with(
            "BPA-2026-AAAAA",
            "in_bearbeitung",
            "genehmigt",
            "clerk:musterstadt",
            Some("Unterlagen vollständig"),
            at(3, 0),
            Vec::new(),
        )
        .unwrap();
    let audit = store.audit("BPA-2026-AAAAA").unwrap();
    let seen: Vec<_> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.from.as_deref(), e.comment.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("submitted", None, None),
            ("state:in_bearbeitung", None, None),
            (
                "state:genehmigt",
                Some("in_bearbeitung"),
                Some("Unterlagen vollständig")
            ),
        ]
    );
    assert_eq!(audit[1].at, at(2, 3600));
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
    write_file(&path, b"5", &[]);
    let err = RedbStore::open(&path).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Incompatible);
    assert!(err.detail.contains("newer Baukasten"), "{err}");
    assert!(err.detail.contains("format version 5"), "{err}");
    assert_eq!(stored_version(&path), b"5");
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

/// The store that release 0.1.0 wrote (`tests/fixtures/store-0.1.0/`, also opened by the
/// server's upgrade test): opened by this release, its submission is counted in its state and
/// its audit entries, written without `from` and `comment`, still read.
#[test]
fn the_store_of_release_0_1_0_gets_state_counts() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/store-0.1.0");
    let fixture: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(golden.join("fixture.json")).unwrap()).unwrap();
    let reference = fixture["submission"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(golden.join("baukasten.redb"), &path).unwrap();

    let store = RedbStore::open(&path).unwrap();
    let submission = store.submission(reference).unwrap().unwrap();
    assert_eq!(submission.redacted_at, None, "written before retention, kept");
    let tenant = submission.tenant.clone().unwrap_or_default();
    assert_eq!(
        store.state_counts(&tenant).unwrap(),
        BTreeMap::from([(submission.state.clone(), 1)])
    );
    let audit = store.audit(reference).unwrap();
    assert!(!audit.is_empty());
    assert!(audit.iter().all(|e| e.from.is_none() && e.comment.is_none()));
    drop(store);
    assert_eq!(stored_version(&path), b"4");
}

/// A delivery as release 0.2 writes it: later releases must still read it.
#[test]
fn the_stored_delivery_format_is_read_by_later_releases() {
    let golden = include_str!("../fixtures/delivery-0.2.json");
    let delivery: Delivery = serde_json::from_str(golden).unwrap();
    assert_eq!(delivery.id, "msg_2f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c");
    assert_eq!(delivery.status, DeliveryStatus::Pending);
    assert_eq!(delivery.attempts[0].status, Some(500));
    assert_eq!(delivery.series_attempts(), 1);
}

/// Writes a file as the first release with an outbox wrote it, at `path`: submission
/// `BPA-2026-7K3Q9`, whose record does not name its one delivery, and `outbox_by_reference`,
/// which does.
pub fn first_outbox_release_file(path: &std::path::Path) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let golden = include_str!("../fixtures/delivery-0.2.json");
    let submission = serde_json::json!({
        "reference": "BPA-2026-7K3Q9", "tenant": "musterstadt", "service": "bewohnerparkausweis",
        "version": "1.0.0", "definition_hash": "sha256:abc", "data": {"answers": {}},
        "fee_total": "30.70", "attachments": [], "state": "eingegangen",
        "created_at": "2026-03-01T12:00:00Z"
    });
    {
        let db = Database::create(path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut meta = txn.open_table(TableDefinition::<&str, &[u8]>::new("meta")).unwrap();
            meta.insert("format_version", b"3".as_slice()).unwrap();
            let mut submissions = txn
                .open_table(TableDefinition::<&str, &[u8]>::new("submissions"))
                .unwrap();
            submissions
                .insert("BPA-2026-7K3Q9", submission.to_string().as_bytes())
                .unwrap();
            let mut outbox = txn.open_table(TableDefinition::<&str, &[u8]>::new("outbox")).unwrap();
            outbox
                .insert("msg_2f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c", golden.as_bytes())
                .unwrap();
            let mut due = txn
                .open_table(TableDefinition::<(i64, &str), ()>::new("outbox_due"))
                .unwrap();
            due.insert(
                (at(1, 5).timestamp_micros(), "msg_2f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c"),
                (),
            )
            .unwrap();
            let mut index = txn
                .open_table(TableDefinition::<(&str, u64), &str>::new("outbox_by_reference"))
                .unwrap();
            index
                .insert(("BPA-2026-7K3Q9", 0), "msg_2f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c")
                .unwrap();
        }
        txn.commit().unwrap();
    }
}

/// A file as the first release with an outbox wrote it: the submission's record does not name
/// its deliveries; an index table (`outbox_by_reference`) does. Its deliveries are still
/// listed, due and attempted, and one added by a later move comes after them.
#[test]
fn deliveries_of_the_first_outbox_release_are_still_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    first_outbox_release_file(&path);
    let store = RedbStore::open(&path).unwrap();
    let listed = store.deliveries("BPA-2026-7K3Q9").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, "msg_2f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c");
    assert_eq!(store.due_deliveries(at(1, 5), 10).unwrap().len(), 1);
    let notify = vec![NewDelivery {
        channel: "email_state".into(),
        target: "erika@example.org".into(),
        event: Some("state:in_bearbeitung".into()),
    }];
    store
        .set_state_with(
            "BPA-2026-7K3Q9",
            "eingegangen",
            "in_bearbeitung",
            "clerk:x",
            None,
            at(1, 9),
            notify,
        )
        .unwrap();
    let listed: Vec<String> = store
        .deliveries("BPA-2026-7K3Q9")
        .unwrap()
        .into_iter()
        .map(|d| d.channel)
        .collect();
    assert_eq!(listed, ["webhook", "email_state"]);

    // Redacting the submission deletes both, the old one with its row in the old index.
    store.redact("BPA-2026-7K3Q9", at(9, 0)).unwrap().unwrap();
    assert!(store.deliveries("BPA-2026-7K3Q9").unwrap().is_empty());
    assert!(store.due_deliveries(at(30, 0), 10).unwrap().is_empty());
    drop(store);
    let db = Database::create(&path).unwrap();
    let txn = redb::ReadableDatabase::begin_read(&db).unwrap();
    let index = txn
        .open_table(TableDefinition::<(&str, u64), &str>::new("outbox_by_reference"))
        .unwrap();
    assert!(redb::ReadableTableMetadata::is_empty(&index).unwrap());
}

/// A record as every release before retention wrote it reads as not redacted, and a record
/// that is not redacted is written as before (no `redacted_at` key).
#[test]
fn a_record_without_redacted_at_reads_as_kept() {
    let old = json!({
        "reference": "BPA-2026-7K3Q9", "tenant": "musterstadt", "service": "bewohnerparkausweis",
        "version": "1.0.0", "definition_hash": "sha256:abc", "data": {"answers": {"vorname": "Erika"}},
        "fee_total": "30.70", "attachments": [], "state": "eingegangen",
        "created_at": "2026-03-01T12:00:00Z"
    });
    let submission: Submission = serde_json::from_value(old.clone()).unwrap();
    assert_eq!(submission.redacted_at, None);
    assert_eq!(serde_json::to_value(&submission).unwrap(), old);
}
