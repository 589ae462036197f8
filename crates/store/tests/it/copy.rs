//! Copying a store: every record exported, imported into a fresh store with its indexes and
//! counts, and the copy answering like the original.

use baukasten_store::conformance::{every_kind, exported, same_answers};
use baukasten_store::{ErrorKind, NewDelivery, Record, RedbStore, Store, Submitted, Tally};
use redb::{Database, ReadableTable, TableDefinition};

use crate::{at, parking_permit, store_path, temp_store};

#[test]
fn a_copy_holds_the_same_records_and_answers_alike() {
    let (_dir, original) = temp_store();
    assert!(original.is_empty().unwrap());
    let sample = every_kind(&original);
    let records = exported(&original);
    let kinds: Vec<&str> = records.iter().map(Record::kind).collect();
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
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }

    let (copy_dir, copy) = temp_store();
    // In several imports, as `baukasten store copy` writes in batches.
    for batch in records.chunks(4) {
        copy.import(batch.to_vec()).unwrap();
    }
    assert_eq!(exported(&copy), records);
    same_answers(&original, &copy, &sample);
    assert!(copy.verify().unwrap().damaged.is_empty());

    // And after a restart, read from the file.
    drop(copy);
    let copy = RedbStore::open(&store_path(&copy_dir)).unwrap();
    assert_eq!(exported(&copy), records);
    same_answers(&original, &copy, &sample);

    let tally = |store: &RedbStore| {
        let mut tally = Tally::new();
        store.export(&mut |record| tally.add(&record)).unwrap();
        tally
    };
    assert_eq!(tally(&original), tally(&copy));
    assert_eq!(tally(&copy).records(), records.len() as u64);
}

#[test]
fn any_record_makes_a_store_not_empty() {
    let (_dir, store) = temp_store();
    assert!(store.is_empty().unwrap());
    store
        .put_catalog("catalog:1", &baukasten_store::CatalogSources { files: vec![] })
        .unwrap();
    assert!(!store.is_empty().unwrap());

    let (_dir, store) = temp_store();
    store
        .put_attachment(None, "a.pdf", "application/pdf", b"%PDF", at(1, 0))
        .unwrap();
    assert!(!store.is_empty().unwrap());
}

#[test]
fn a_damaged_record_fails_the_export() {
    let (dir, store) = temp_store();
    let Submitted::Created(s) = store
        .submit(
            parking_permit(Some("musterstadt"), "Erika"),
            None,
            "eingegangen",
            at(1, 0),
        )
        .unwrap()
    else {
        panic!()
    };
    drop(store);
    {
        let db = Database::create(store_path(&dir)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn
                .open_table(TableDefinition::<&str, &[u8]>::new("submissions"))
                .unwrap();
            let mut value = table.get(s.reference.as_str()).unwrap().unwrap().value().to_vec();
            value[5] ^= 0x20;
            table.insert(s.reference.as_str(), value.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = RedbStore::open(&store_path(&dir)).unwrap();
    let mut seen = 0;
    let e = store
        .export(&mut |_| {
            seen += 1;
            Ok(())
        })
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
    assert!(e.detail.contains(&s.reference), "{e}");
    assert_eq!(seen, 0, "nothing was handed out before the damaged submission");
}

#[test]
fn an_import_replaces_a_record_and_its_places_in_the_indexes() {
    let (_dir, store) = temp_store();
    let mut new = parking_permit(Some("musterstadt"), "Erika");
    new.deliveries = vec![NewDelivery {
        channel: "webhook".into(),
        target: "fachverfahren".into(),
        event: None,
    }];
    let Submitted::Created(mut submission) = store.submit(new, None, "eingegangen", at(1, 0)).unwrap() else {
        panic!()
    };
    let mut delivery = store.deliveries(&submission.reference).unwrap().remove(0);

    submission.state = "abgeschlossen".into();
    delivery.status = baukasten_store::DeliveryStatus::Delivered;
    delivery.next_attempt = None;
    delivery.external_id = Some("ext-2".into());
    store
        .import(vec![
            Record::Submission(submission.clone()),
            Record::Delivery(delivery.clone()),
        ])
        .unwrap();
    assert_eq!(
        store.state_counts("musterstadt").unwrap(),
        [("abgeschlossen".to_owned(), 1)].into()
    );
    let query = |state: &str| baukasten_store::InboxQuery {
        tenant: "musterstadt".into(),
        state: Some(state.into()),
        ..Default::default()
    };
    assert!(store.inbox(&query("eingegangen")).unwrap().submissions.is_empty());
    assert_eq!(store.inbox(&query("abgeschlossen")).unwrap().submissions, [submission]);
    assert!(store.due_deliveries(at(9, 0), 10).unwrap().is_empty(), "no longer due");
    assert_eq!(store.delivery_by_external_id("ext-2").unwrap(), Some(delivery.clone()));

    // A new external id replaces the old one in the index.
    delivery.external_id = Some("ext-3".into());
    store.import(vec![Record::Delivery(delivery)]).unwrap();
    assert_eq!(store.delivery_by_external_id("ext-2").unwrap(), None);
    assert!(store.delivery_by_external_id("ext-3").unwrap().is_some());
}

#[test]
fn an_upload_whose_bytes_do_not_match_its_size_is_refused_with_nothing_written() {
    let (_dir, store) = temp_store();
    let (_other, source) = temp_store();
    let attachment = source
        .put_attachment(None, "a.pdf", "application/pdf", b"%PDF-1.7", at(1, 0))
        .unwrap();
    let records = vec![
        Record::Account(baukasten_store::Account {
            tenant: "musterstadt".into(),
            name: "erika".into(),
            password_hash: "h".into(),
            created_at: at(1, 0),
        }),
        Record::Upload {
            attachment,
            bytes: b"%PDF".to_vec(),
        },
    ];
    let e = store.import(records).unwrap_err();
    assert_eq!(e.kind, ErrorKind::Corrupt, "{e}");
    assert!(
        store.is_empty().unwrap(),
        "the account before it was not written either"
    );
}

/// A store of release 0.1.0, and one of the first release with an outbox (whose submissions'
/// records do not name their deliveries), copy like any other.
#[test]
fn old_stores_copy_too() {
    let golden = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/store-0.1.0");
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::copy(golden.join("baukasten.redb"), &path).unwrap();
    let old = RedbStore::open(&path).unwrap();
    let (_copy_dir, copy) = temp_store();
    let records = exported(&old);
    assert!(records.iter().any(|r| matches!(r, Record::Draft(_))));
    copy.import(records.clone()).unwrap();
    assert_eq!(exported(&copy), records);
    let Some(Record::Submission(submission)) = records.iter().find(|r| matches!(r, Record::Submission(_))) else {
        panic!("the fixture has a submission")
    };
    let tenant = submission.tenant.clone().unwrap_or_default();
    assert_eq!(old.state_counts(&tenant).unwrap(), copy.state_counts(&tenant).unwrap());
    assert_eq!(
        old.audit(&submission.reference).unwrap(),
        copy.audit(&submission.reference).unwrap()
    );
}

#[test]
fn deliveries_named_only_by_the_old_outbox_index_are_named_by_the_copy() {
    let dir = tempfile::tempdir().unwrap();
    let path = store_path(&dir);
    crate::format::first_outbox_release_file(&path);
    let old = RedbStore::open(&path).unwrap();
    let (_copy_dir, copy) = temp_store();
    copy.import(exported(&old)).unwrap();
    let ids = |store: &RedbStore| -> Vec<String> {
        store
            .deliveries("BPA-2026-7K3Q9")
            .unwrap()
            .into_iter()
            .map(|d| d.id)
            .collect()
    };
    assert_eq!(ids(&copy), ["msg_2f1c0d9a8b7e6f5a4b3c2d1e0f9a8b7c"]);
    assert_eq!(ids(&copy), ids(&old));
    assert_eq!(
        copy.due_deliveries(at(1, 5), 10).unwrap(),
        old.due_deliveries(at(1, 5), 10).unwrap()
    );
}

#[test]
fn run_copies_into_an_empty_store_only_and_tallies_both_sides() {
    let (_dir, source) = temp_store();
    let (_empty_dir, empty) = temp_store();
    assert!(matches!(
        baukasten_store::copy::run(&empty, &source),
        Err(baukasten_store::copy::CopyError::SourceEmpty)
    ));
    let sample = every_kind(&source);
    let (_dir, target) = temp_store();
    let copied = baukasten_store::copy::run(&source, &target).unwrap();
    assert!(copied.differences().is_empty(), "{copied:?}");
    assert_eq!(copied.source.records(), exported(&source).len() as u64);
    assert_eq!(copied.batches, 1);
    same_answers(&source, &target, &sample);

    let before = exported(&target);
    let refused = baukasten_store::copy::run(&source, &target).unwrap_err();
    assert!(
        matches!(refused, baukasten_store::copy::CopyError::TargetNotEmpty),
        "{refused:?}"
    );
    assert_eq!(exported(&target), before, "nothing was written to it");
}
