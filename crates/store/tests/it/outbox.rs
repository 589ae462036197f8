//! The outbox: deliveries written with their submission, due, attempted, retried, resent, and
//! still there after a restart.

use baukasten_store::{
    AfterAttempt, Delivery, DeliveryAttempt, DeliveryStatus, NewDelivery, RedbStore, Store, Submitted,
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
        .set_state_with(&reference, "in_bearbeitung", "genehmigt", "clerk:x", at(2, 0), notify())
        .unwrap();
    assert!(matches!(refused, baukasten_store::StateChanged::Conflict(_)));
    assert_eq!(store.deliveries(&reference).unwrap().len(), 2);
    let moved = store
        .set_state_with(&reference, "eingegangen", "genehmigt", "clerk:x", at(2, 0), notify())
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
