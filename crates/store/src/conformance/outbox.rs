//! The outbox: deliveries written with their submission, due, attempted, retried, resent, and
//! still there after a restart.

use chrono::Duration;

use super::{Backend, at, created, parking_permit};
use crate::{AfterAttempt, Delivery, DeliveryAttempt, DeliveryEvent, DeliveryStatus, NewDelivery, Store, Submitted};

fn submit_with_deliveries(store: &dyn Store) -> String {
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

pub fn a_submission_and_its_deliveries_are_written_together_and_are_due_at_once(backend: &dyn Backend) {
    let store = backend.store();
    let reference = submit_with_deliveries(&*store);
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

pub fn attempts_are_recorded_retries_wait_and_a_resend_starts_a_new_series(backend: &dyn Backend) {
    let store = backend.store();
    let reference = submit_with_deliveries(&*store);
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

pub fn a_message_about_a_new_state_is_written_only_with_the_move(backend: &dyn Backend) {
    let store = backend.store();
    let reference = submit_with_deliveries(&*store);
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
    assert!(matches!(refused, crate::StateChanged::Conflict(_)));
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
    assert!(matches!(moved, crate::StateChanged::Moved(_)));
    let deliveries = store.deliveries(&reference).unwrap();
    assert_eq!(deliveries.len(), 3, "after the submission's own");
    assert_eq!(deliveries[2].event.as_deref(), Some("state:genehmigt"));
    assert_eq!(deliveries[2].next_attempt, Some(at(2, 0)));
}

pub fn pending_deliveries_survive_a_restart(backend: &dyn Backend) {
    let store = backend.store();
    let reference = submit_with_deliveries(&*store);
    let id = store.deliveries(&reference).unwrap()[0].id.clone();
    store
        .record_attempt(&id, failed_attempt(0, 500), AfterAttempt::RetryAt(at(1, 5)))
        .unwrap();
    drop(store);
    let store = backend.reopen();
    let due: Vec<Delivery> = store.due_deliveries(at(1, 5), 10).unwrap();
    assert_eq!(due.len(), 2, "both are still due after the restart");
    let retried = due.iter().find(|d| d.id == id).unwrap();
    assert_eq!(retried.attempts, vec![failed_attempt(0, 500)]);
}

pub fn new_delivery_ids_are_ordered_by_time(backend: &dyn Backend) {
    let store = backend.store();
    let first = submit_with_deliveries(&*store);
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

pub fn a_delivery_in_steps_keeps_its_progress_and_the_targets_reports_across_a_restart(backend: &dyn Backend) {
    let store = backend.store();
    let reference = submit_with_deliveries(&*store);
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
    let store = backend.reopen();
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

pub fn an_unknown_external_id_finds_nothing(backend: &dyn Backend) {
    let store = backend.store();
    assert!(store.delivery_by_external_id("f39ab143").unwrap().is_none());
}

/// A dispatcher claims what is due for a lease. Until the lease ends, or until an attempt on
/// a delivery is recorded, no other claim returns it, whatever else is written about it
/// meanwhile; then it is claimable again.
pub fn a_claim_keeps_a_delivery_from_other_claimers_until_its_lease_ends(backend: &dyn Backend) {
    let store = backend.store();
    let other = backend.reopen();
    let lease = Duration::seconds(60);
    let reference = submit_with_deliveries(&*store);
    let mut third = parking_permit(Some("musterstadt"), "Max");
    third.deliveries = vec![NewDelivery {
        channel: "webhook".into(),
        target: "fachverfahren".into(),
        event: None,
    }];
    let third = created(store.submit(third, None, "eingegangen", at(1, 1)).unwrap());
    let third = third.deliveries[0].clone();
    let ids = |list: Vec<Delivery>| -> Vec<String> { list.into_iter().map(|d| d.id).collect() };

    assert!(
        store.claim_due_deliveries(at(1, -1), 10, lease).unwrap().is_empty(),
        "not due before"
    );
    // Soonest first, at most the limit: the first submission's two, due a second before the
    // third.
    let due = ids(store.due_deliveries(at(1, 1), 2).unwrap());
    let first = ids(store.claim_due_deliveries(at(1, 1), 2, lease).unwrap());
    assert_eq!(first, due);
    let mut theirs = ids(store.deliveries(&reference).unwrap());
    theirs.sort();
    assert_eq!(first, theirs);
    assert_eq!(
        ids(store.due_deliveries(at(1, 1), 2).unwrap()),
        due,
        "a claim does not change what is due"
    );
    // Another claimer gets only what is left, and then nothing.
    assert_eq!(
        ids(other.claim_due_deliveries(at(1, 30), 10, lease).unwrap()),
        [third.as_str()]
    );
    assert!(other.claim_due_deliveries(at(1, 30), 10, lease).unwrap().is_empty());

    // What a channel records during its attempt (the steps it got through, the target's
    // reports) and a clerk's resend do not end the claim.
    assert!(
        store
            .record_progress(&first[0], serde_json::json!({"step": 1}), Some("ext-1"))
            .unwrap()
    );
    let report = DeliveryEvent {
        id: "e1".into(),
        at: at(1, 31),
        kind: "submit-submission".into(),
        detail: None,
    };
    store.record_delivery_events(&first[0], vec![report]).unwrap().unwrap();
    store.resend(&first[1], at(1, 31)).unwrap().unwrap();
    assert!(other.claim_due_deliveries(at(1, 40), 10, lease).unwrap().is_empty());

    // A recorded attempt ends the claim: the delivery is due again at its retry.
    let attempt = DeliveryAttempt {
        at: at(1, 41),
        status: Some(503),
        error: Some("503".into()),
    };
    store
        .record_attempt(&first[0], attempt.clone(), AfterAttempt::RetryAt(at(1, 45)))
        .unwrap()
        .unwrap();
    assert!(other.claim_due_deliveries(at(1, 44), 10, lease).unwrap().is_empty());
    assert_eq!(
        ids(other.claim_due_deliveries(at(1, 45), 10, lease).unwrap()),
        [first[0].as_str()]
    );

    // At the end of its lease, the claim is over.
    assert!(other.claim_due_deliveries(at(1, 60), 10, lease).unwrap().is_empty());
    assert_eq!(
        ids(other.claim_due_deliveries(at(1, 61), 10, lease).unwrap()),
        [first[1].as_str()]
    );

    // Attempts recorded in one write end their claims too, and a final one for good.
    other
        .record_attempts(vec![
            (third.clone(), attempt.clone(), AfterAttempt::RetryAt(at(1, 70))),
            (first[1].clone(), attempt, AfterAttempt::Failed),
        ])
        .unwrap();
    assert_eq!(
        ids(store.claim_due_deliveries(at(1, 70), 10, lease).unwrap()),
        [third.as_str()]
    );
    // The one claimed at 1:45 is claimed until 2:45; then it is claimable again.
    assert!(store.claim_due_deliveries(at(1, 104), 10, lease).unwrap().is_empty());
    assert_eq!(
        ids(store.claim_due_deliveries(at(1, 105), 10, lease).unwrap()),
        [first[0].as_str()]
    );
    assert!(
        store
            .claim_due_deliveries(at(9, 0), 10, lease)
            .unwrap()
            .iter()
            .all(|d| d.id != first[1])
    );
}
