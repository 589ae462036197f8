//! The outbox: deliveries written with their submission, due, attempted, retried, resent, and
//! still there after a restart.

use baukasten_store::{
    AfterAttempt, Delivery, DeliveryAttempt, DeliveryEvent, DeliveryStatus, NewDelivery, RedbStore, Store, Submitted,
};

use crate::{at, parking_permit, store_path, temp_store};

fn submit_with_deliveries(store: &RedbStore) -> String {
    let mut new = parking_permit(Some("musterstadt"), "Erika");
    new.deliveries = vec![
        NewDelivery {
            channel: "webhook".into(),
            target: "fachverfahren".into(),
            event: None,
        },
        NewDelivery {
            channel: "email".into(),
            target: "buergerbuero@musterstadt.example".into(),
            event: None,
        },
    ];
    match store.submit(new, None, "eingegangen", at(1, 0)).unwrap() {
        Submitted::Created(s) => s.reference,
        other => panic!("{other:?}"),
    }
}

fn failed_attempt(seconds: i64, status: u16) -> DeliveryAttempt {
    DeliveryAttempt {
        at: at(1, seconds),
        status: Some(status),
        error: Some(format!("the receiver answered {status}")),
    }
}

#[test]
fn a_submission_and_its_deliveries_are_written_together_and_are_due_at_once() {
    let (_dir, store) = temp_store();
    let reference = submit_with_deliveries(&store);
    let deliveries = store.deliveries(&reference).unwrap();
    assert_eq!(deliveries.len(), 2);
    assert_eq!(
        (deliveries[0].channel.as_str(), deliveries[0].target.as_str()),
        ("webhook", "fachverfahren")
    );
    assert!(
        deliveries
            .iter()
            .all(|d| d.status == DeliveryStatus::Pending && d.attempts.is_empty())
    );
    assert!(deliveries[0].id.starts_with("msg_"));
    assert_ne!(deliveries[0].id, deliveries[1].id);
    assert_eq!(deliveries[0].tenant.as_deref(), Some("musterstadt"));
    assert_eq!(store.due_deliveries(at(1, 0), 10).unwrap().len(), 2);
    assert!(
        store.due_deliveries(at(1, -1), 10).unwrap().is_empty(),
        "not due before"
    );
    assert_eq!(store.next_delivery_due().unwrap(), Some(at(1, 0)));
    // A submission without deliveries has none.
    let plain = match store
        .submit(
            parking_permit(Some("musterstadt"), "Max"),
            None,
            "eingegangen",
            at(1, 0),
        )
        .unwrap()
    {
        Submitted::Created(s) => s.reference,
        other => panic!("{other:?}"),
    };
    assert!(store.deliveries(&plain).unwrap().is_empty());
}

#[test]
fn attempts_are_recorded_retries_wait_and_a_resend_starts_a_new_series() {
    let (_dir, store) = temp_store();
    let reference = submit_with_deliveries(&store);
    let id = store.deliveries(&reference).unwrap()[0].id.clone();
    let d = store
        .record_attempt(&id, failed_attempt(0, 500), AfterAttempt::RetryAt(at(1, 5)))
        .unwrap()
        .unwrap();
    assert_eq!(
        (d.status, d.next_attempt, d.attempts.len()),
        (DeliveryStatus::Pending, Some(at(1, 5)), 1)
    );
    let due_now: Vec<String> = store
        .due_deliveries(at(1, 1), 10)
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert!(!due_now.contains(&id), "waits for its retry");
    assert!(store.due_deliveries(at(1, 5), 10).unwrap().iter().any(|d| d.id == id));

    let d = store
        .record_attempt(&id, failed_attempt(5, 503), AfterAttempt::Failed)
        .unwrap()
        .unwrap();
    assert_eq!((d.status, d.next_attempt), (DeliveryStatus::Failed, None));
    assert!(!store.due_deliveries(at(9, 0), 10).unwrap().iter().any(|d| d.id == id));
    let backlog = store.delivery_backlog().unwrap();
    assert_eq!(
        (backlog.pending, backlog.failed),
        (1, 1),
        "the e-mail waits, the webhook failed"
    );
    let failed: Vec<String> = store
        .failed_deliveries("musterstadt", 10)
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    assert_eq!(failed, vec![id.clone()]);
    assert!(store.failed_deliveries("beispieldorf", 10).unwrap().is_empty());

    // A resend after the final failure: a fresh series, due now, the history kept.
    let d = store.resend(&id, at(2, 0)).unwrap().unwrap();
    assert_eq!(
        (d.status, d.series_start, d.series_attempts()),
        (DeliveryStatus::Pending, 2, 0)
    );
    assert_eq!(d.attempts.len(), 2);
    assert!(store.due_deliveries(at(2, 0), 10).unwrap().iter().any(|d| d.id == id));
    let backlog = store.delivery_backlog().unwrap();
    assert_eq!((backlog.pending, backlog.failed), (2, 0));
    assert!(store.failed_deliveries("musterstadt", 10).unwrap().is_empty());
    let d = store
        .record_attempt(
            &id,
            DeliveryAttempt {
                at: at(2, 1),
                status: Some(204),
                error: None,
            },
            AfterAttempt::Delivered,
        )
        .unwrap()
        .unwrap();
    assert_eq!((d.status, d.series_attempts()), (DeliveryStatus::Delivered, 1));
    assert!(
        store
            .record_attempt("msg_unknown", failed_attempt(0, 500), AfterAttempt::Failed)
            .unwrap()
            .is_none()
    );
    assert!(store.resend("msg_unknown", at(2, 0)).unwrap().is_none());
}

#[test]
fn a_message_about_a_new_state_is_written_only_with_the_move() {
    let (_dir, store) = temp_store();
    let reference = submit_with_deliveries(&store);
    let notify = || {
        vec![NewDelivery {
            channel: "email_state".into(),
            target: "erika@example.org".into(),
            event: Some("state:genehmigt".into()),
        }]
    };
    // The submission is not in `in_bearbeitung`: no move, no message.
    let refused = store
        .set_state_with(
            &reference,
            "in_bearbeitung",
            "genehmigt",
            "clerk:x",
            None,
            at(2, 0),
            notify(),
        )
        .unwrap();
    assert!(matches!(refused, baukasten_store::StateChanged::Conflict(_)));
    assert_eq!(store.deliveries(&reference).unwrap().len(), 2);
    let moved = store
        .set_state_with(
            &reference,
            "eingegangen",
            "genehmigt",
            "clerk:x",
            None,
            at(2, 0),
            notify(),
        )
        .unwrap();
    assert!(matches!(moved, baukasten_store::StateChanged::Moved(_)));
    let deliveries = store.deliveries(&reference).unwrap();
    assert_eq!(deliveries.len(), 3, "after the submission's own");
    assert_eq!(deliveries[2].event.as_deref(), Some("state:genehmigt"));
    assert_eq!(deliveries[2].next_attempt, Some(at(2, 0)));
}

#[test]
fn pending_deliveries_survive_a_restart() {
    let (dir, store) = temp_store();
    let reference = submit_with_deliveries(&store);
    let id = store.deliveries(&reference).unwrap()[0].id.clone();
    store
        .record_attempt(&id, failed_attempt(0, 500), AfterAttempt::RetryAt(at(1, 5)))
        .unwrap();
    drop(store);
    let store = RedbStore::open(&store_path(&dir)).unwrap();
    let due: Vec<Delivery> = store.due_deliveries(at(1, 5), 10).unwrap();
    assert_eq!(due.len(), 2, "both are still due after the restart");
    let retried = due.iter().find(|d| d.id == id).unwrap();
    assert_eq!(retried.attempts, vec![failed_attempt(0, 500)]);
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
    use redb::{Database, TableDefinition};
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
    use redb::{Database, TableDefinition};
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

#[test]
fn new_delivery_ids_are_ordered_by_time() {
    let (_dir, store) = temp_store();
    let first = submit_with_deliveries(&store);
    let mut later = parking_permit(Some("musterstadt"), "Max");
    later.deliveries = vec![NewDelivery {
        channel: "webhook".into(),
        target: "fachverfahren".into(),
        event: None,
    }];
    let Submitted::Created(later) = store.submit(later, None, "eingegangen", at(1, 60)).unwrap() else {
        panic!()
    };
    let ids: Vec<String> = store.deliveries(&first).unwrap().into_iter().map(|d| d.id).collect();
    let newer = &store.deliveries(&later.reference).unwrap()[0].id;
    assert!(ids.iter().all(|id| id.len() == 36 && id.starts_with("msg_")), "{ids:?}");
    assert!(ids.iter().all(|id| id < newer), "{ids:?} before {newer}");
    assert_eq!(later.deliveries, vec![newer.clone()], "the record names its entries");
}

#[test]
fn a_delivery_in_steps_keeps_its_progress_and_the_targets_reports_across_a_restart() {
    let (dir, store) = temp_store();
    let reference = submit_with_deliveries(&store);
    let id = store.deliveries(&reference).unwrap()[0].id.clone();
    let progress = serde_json::json!({"submission_id": "f39ab143", "uploaded": ["a"]});
    assert!(store.record_progress(&id, progress.clone(), Some("f39ab143")).unwrap());
    assert!(!store.record_progress("msg_unknown", progress.clone(), None).unwrap());
    // Progress alone leaves the delivery due: it is not an attempt.
    assert!(store.due_deliveries(at(1, 0), 10).unwrap().iter().any(|d| d.id == id));

    let event = |jti: &str, kind: &str| DeliveryEvent {
        id: jti.into(),
        at: at(3, 0),
        kind: kind.into(),
        detail: None,
    };
    let d = store
        .record_delivery_events(
            &id,
            vec![event("e1", "submit-submission"), event("e2", "accept-submission")],
        )
        .unwrap()
        .unwrap();
    assert_eq!(d.events.len(), 2);
    // A callback that repeats the log adds only what is new.
    let d = store
        .record_delivery_events(
            &id,
            vec![event("e2", "accept-submission"), event("e3", "delete-submission")],
        )
        .unwrap()
        .unwrap();
    let kinds: Vec<&str> = d.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["submit-submission", "accept-submission", "delete-submission"]);
    assert!(store.record_delivery_events("msg_unknown", vec![]).unwrap().is_none());

    drop(store);
    let store = RedbStore::open(&store_path(&dir)).unwrap();
    let found = store.delivery_by_external_id("f39ab143").unwrap().unwrap();
    assert_eq!(found.id, id);
    assert_eq!(found.progress, Some(progress));
    assert_eq!(found.external_id.as_deref(), Some("f39ab143"));
    assert_eq!(found.events.len(), 3);
    assert!(store.delivery_by_external_id("unknown").unwrap().is_none());

    // A resend of a failed delivery goes on from its progress; of a delivered one, afresh.
    let failed = DeliveryAttempt {
        at: at(4, 0),
        status: Some(503),
        error: Some("503".into()),
    };
    store.record_attempt(&id, failed, AfterAttempt::Failed).unwrap();
    assert!(store.resend(&id, at(5, 0)).unwrap().unwrap().progress.is_some());
    let ok = DeliveryAttempt {
        at: at(5, 1),
        status: None,
        error: None,
    };
    store.record_attempt(&id, ok, AfterAttempt::Delivered).unwrap();
    assert!(store.resend(&id, at(6, 0)).unwrap().unwrap().progress.is_none());

    // A new submission at the target (the old one expired there) replaces the name.
    store
        .record_progress(&id, serde_json::json!({}), Some("9eec7d3e"))
        .unwrap();
    assert!(store.delivery_by_external_id("f39ab143").unwrap().is_none());
    assert_eq!(store.delivery_by_external_id("9eec7d3e").unwrap().unwrap().id, id);

    // Redaction forgets the target's name with the delivery.
    store.redact(&reference, at(9, 0)).unwrap().unwrap();
    assert!(store.delivery_by_external_id("9eec7d3e").unwrap().is_none());
}

#[test]
fn a_file_without_the_external_id_index_answers_that_nothing_is_known() {
    let (_dir, store) = temp_store();
    assert!(store.delivery_by_external_id("f39ab143").unwrap().is_none());
}
