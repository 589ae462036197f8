//! Retention: a submission whose period is over is redacted. Its answers, attachments, outbox
//! entries and the clerks' comments go; a minimal record with its audit trail stays.

use serde_json::json;

use super::{Backend, at, parking_permit};
use crate::{AfterAttempt, DeliveryAttempt, DeliveryBacklog, NewDelivery, StateChanged, Store, Submission, Submitted};

fn delivery(channel: &str, target: &str) -> NewDelivery {
    NewDelivery {
        channel: channel.into(),
        target: target.into(),
        event: None,
    }
}

/// A submission with a photo, two deliveries (one of them failed for good) and a move with a
/// clerk's comment and a message to the citizen (pending).
pub(super) fn submission_with_everything(store: &dyn Store, name: &str) -> (Submission, String) {
    let photo = store
        .put_attachment(
            Some("musterstadt"),
            "foto.jpg",
            "image/jpeg",
            b"\xff\xd8 a photo",
            at(1, 0),
        )
        .unwrap();
    let mut new = parking_permit(Some("musterstadt"), name);
    new.data = json!({ "answers": { "vorname": name, "email": "erika@example.org", "foto": { "id": photo.id } } });
    new.attachments = vec![photo.id.clone()];
    new.deliveries = vec![
        delivery("webhook", "fachverfahren"),
        delivery("email", "buergerbuero@musterstadt.example"),
    ];
    let Submitted::Created(s) = store.submit(new, None, "eingegangen", at(1, 0)).unwrap() else {
        panic!("created")
    };
    let webhook = store.deliveries(&s.reference).unwrap()[0].id.clone();
    let attempt = DeliveryAttempt {
        at: at(1, 1),
        status: Some(500),
        error: None,
    };
    store.record_attempt(&webhook, attempt, AfterAttempt::Failed).unwrap();
    let notify = vec![NewDelivery {
        event: Some("state:erledigt".into()),
        ..delivery("email_state", "erika@example.org")
    }];
    let StateChanged::Moved(s) = store
        .set_state_with(
            &s.reference,
            "eingegangen",
            "erledigt",
            "clerk:mueller",
            Some("Frau Mustermann hat angerufen, Tel. 0123 456"),
            at(2, 0),
            notify,
        )
        .unwrap()
    else {
        panic!("moved")
    };
    (s, photo.id)
}

pub fn a_redacted_submission_keeps_a_minimal_record_and_nothing_personal(backend: &dyn Backend) {
    let store = backend.store();
    let (before, photo) = submission_with_everything(&*store, "Erika");
    let (other, other_photo) = submission_with_everything(&*store, "Max");
    assert_eq!(store.deliveries(&before.reference).unwrap().len(), 3);
    assert_eq!(
        store.delivery_backlog().unwrap(),
        DeliveryBacklog { pending: 4, failed: 2 }
    );
    let counts = store.state_counts("musterstadt").unwrap();

    let redacted = store.redact(&before.reference, at(20, 0)).unwrap().unwrap();
    assert_eq!(redacted.data, json!({}));
    assert!(redacted.attachments.is_empty() && redacted.deliveries.is_empty());
    assert_eq!(redacted.redacted_at, Some(at(20, 0)));
    let kept = |s: &Submission| {
        (
            s.reference.clone(),
            s.tenant.clone(),
            s.service.clone(),
            s.version.clone(),
            s.definition_hash.clone(),
            s.state.clone(),
            s.fee_total.clone(),
            s.created_at,
        )
    };
    assert_eq!(kept(&redacted), kept(&before));
    assert_eq!(store.submission(&before.reference).unwrap(), Some(redacted.clone()));

    // The photo's bytes, every delivery (with its place in the due and failed indexes) and the
    // clerk's comment are gone; the trail of who did what, when, stays, with the redaction.
    assert_eq!(store.attachment(&photo).unwrap(), None);
    assert!(store.deliveries(&before.reference).unwrap().is_empty());
    assert_eq!(
        store.delivery_backlog().unwrap(),
        DeliveryBacklog { pending: 2, failed: 1 }
    );
    assert!(
        store
            .due_deliveries(at(30, 0), 100)
            .unwrap()
            .iter()
            .all(|d| d.reference == other.reference)
    );
    let audit = store.audit(&before.reference).unwrap();
    let trail: Vec<(&str, &str)> = audit.iter().map(|e| (e.actor.as_str(), e.action.as_str())).collect();
    assert_eq!(
        trail,
        [
            ("citizen", "submitted"),
            ("clerk:mueller", "state:erledigt"),
            ("system", "redacted")
        ]
    );
    assert!(audit.iter().all(|e| e.comment.is_none()));
    assert_eq!(audit[1].from.as_deref(), Some("eingegangen"));
    assert_eq!(audit[2].at, at(20, 0));
    assert_eq!(store.last_state_change(&before.reference).unwrap(), Some(at(2, 0)));
    assert_eq!(store.state_counts("musterstadt").unwrap(), counts);

    // The other submission is untouched.
    assert_eq!(store.submission(&other.reference).unwrap(), Some(other.clone()));
    assert!(store.attachment(&other_photo).unwrap().is_some());
    assert_eq!(store.deliveries(&other.reference).unwrap().len(), 3);
    assert!(store.audit(&other.reference).unwrap()[1].comment.is_some());

    // Twice is once; an unknown reference is none.
    assert_eq!(
        store.redact(&before.reference, at(25, 0)).unwrap(),
        Some(redacted.clone())
    );
    assert_eq!(store.audit(&before.reference).unwrap().len(), 3);
    assert_eq!(store.redact("BPA-2026-ZZZZZ", at(25, 0)).unwrap(), None);
    drop(store);
    let store = backend.reopen();
    assert_eq!(store.submission(&before.reference).unwrap(), Some(redacted));
    // An upload no longer named by the redacted submission is not needed by anyone else.
    assert_eq!(store.expire_uploads(at(30, 0)).unwrap(), 0);
}

pub fn the_last_state_change_is_the_latest_move(backend: &dyn Backend) {
    let store = backend.store();
    let Submitted::Created(s) = store
        .submit(parking_permit(None, "Erika"), None, "eingegangen", at(1, 0))
        .unwrap()
    else {
        panic!("created")
    };
    assert_eq!(store.last_state_change(&s.reference).unwrap(), None, "never moved");
    store
        .set_state(&s.reference, "eingegangen", "in_bearbeitung", "clerk:x", at(2, 0))
        .unwrap();
    store
        .set_state(&s.reference, "in_bearbeitung", "erledigt", "clerk:x", at(3, 0))
        .unwrap();
    store.redact(&s.reference, at(9, 0)).unwrap();
    assert_eq!(store.last_state_change(&s.reference).unwrap(), Some(at(3, 0)));
    assert_eq!(store.last_state_change("BPA-2026-ZZZZZ").unwrap(), None);
}
