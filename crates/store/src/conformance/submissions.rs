//! Submissions, idempotency, states and the audit trail, attachments and definitions.

use std::collections::HashSet;

use serde_json::json;

use super::{Backend, at, created, key, new_draft, parking_permit};
use crate::{ALPHABET, CatalogSources, DefinitionRecord, ErrorKind, SourceText, StateChanged, Submitted};

pub fn a_submission_round_trips_and_survives_a_reopen(backend: &dyn Backend) {
    let store = backend.store();
    let new = parking_permit(Some("musterstadt"), "Erika");
    let stored = created(store.submit(new.clone(), None, "eingegangen", at(2, 0)).unwrap());

    assert_eq!(stored.tenant.as_deref(), Some("musterstadt"));
    assert_eq!(stored.service, new.service);
    assert_eq!(stored.version, new.version);
    assert_eq!(stored.definition_hash, new.definition_hash);
    assert_eq!(stored.data, new.data);
    assert_eq!(stored.fee_total, "30.70");
    assert_eq!(stored.state, "eingegangen");
    assert_eq!(stored.created_at, at(2, 0));
    let (head, random) = stored.reference.rsplit_once('-').unwrap();
    assert_eq!(head, "BPA-2026");
    assert_eq!(random.len(), 5);
    assert!(random.bytes().all(|b| ALPHABET.contains(&b)));

    assert_eq!(store.submission(&stored.reference).unwrap(), Some(stored.clone()));
    assert_eq!(store.submission("BPA-2026-22222").unwrap(), None);
    drop(store);

    let store = backend.reopen();
    assert_eq!(store.submission(&stored.reference).unwrap(), Some(stored));
}

pub fn a_retry_with_the_same_key_returns_the_first_submission(backend: &dyn Backend) {
    let store = backend.store();
    let new = parking_permit(Some("musterstadt"), "Erika");
    let first = created(
        store
            .submit(new.clone(), key("k1", "f1"), "eingegangen", at(2, 0))
            .unwrap(),
    );
    let retry = store
        .submit(new.clone(), key("k1", "f1"), "eingegangen", at(2, 5))
        .unwrap();
    assert_eq!(retry, Submitted::Replayed(first.clone()));
    assert_eq!(store.submissions(Some("musterstadt"), 10).unwrap(), vec![first.clone()]);
    assert_eq!(store.audit(&first.reference).unwrap().len(), 1);

    let reused = store
        .submit(new.clone(), key("k1", "f2"), "eingegangen", at(2, 6))
        .unwrap();
    assert_eq!(reused, Submitted::KeyReused);
    assert_eq!(store.submissions(Some("musterstadt"), 10).unwrap().len(), 1);

    // Another key is another submission.
    let other = created(store.submit(new, key("k2", "f1"), "eingegangen", at(2, 7)).unwrap());
    assert_ne!(other.reference, first.reference);
}

pub fn idempotency_keys_are_forgotten_after_their_lifetime(backend: &dyn Backend) {
    let store = backend.store();
    let new = parking_permit(Some("musterstadt"), "Erika");
    created(
        store
            .submit(new.clone(), key("old", "f1"), "eingegangen", at(2, 0))
            .unwrap(),
    );
    created(
        store
            .submit(new.clone(), key("new", "f1"), "eingegangen", at(9, 0))
            .unwrap(),
    );
    // Keys first used before day 5 are forgotten; the one of day 9 stays.
    assert_eq!(store.expire_idempotency_keys(at(5, 0)).unwrap(), 1);
    assert_eq!(
        store.expire_idempotency_keys(at(5, 0)).unwrap(),
        0,
        "nothing left to forget"
    );
    drop(store);

    let store = backend.reopen();
    // The old key is free again: another body makes a new submission, not `KeyReused`.
    let again = store
        .submit(new.clone(), key("old", "f2"), "eingegangen", at(10, 0))
        .unwrap();
    assert!(matches!(again, Submitted::Created(_)), "{again:?}");
    assert_eq!(
        store.submit(new, key("new", "f2"), "eingegangen", at(10, 0)).unwrap(),
        Submitted::KeyReused,
        "a key within its lifetime still protects"
    );
}

pub fn concurrent_retries_with_one_key_store_one_submission(backend: &dyn Backend) {
    // Sent at the same moment, these requests usually land in one batch of redb's group
    // commit, or in concurrent transactions on PostgreSQL; the second must still see the
    // first one's key.
    let store = backend.store();
    let answers: Vec<Submitted> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..16)
            .map(|_| {
                s.spawn(|| {
                    let new = parking_permit(Some("musterstadt"), "Erika");
                    store.submit(new, key("same", "f"), "eingegangen", at(2, 0)).unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created: Vec<_> = answers.iter().filter(|a| matches!(a, Submitted::Created(_))).collect();
    assert_eq!(created.len(), 1, "{answers:?}");
    let Submitted::Created(first) = created[0] else {
        unreachable!()
    };
    for answer in &answers {
        match answer {
            Submitted::Created(s) | Submitted::Replayed(s) => assert_eq!(s, first),
            Submitted::KeyReused => panic!("same fingerprint reported as reuse"),
        }
    }
    assert_eq!(store.submissions(Some("musterstadt"), 100).unwrap().len(), 1);
}

pub fn a_tenant_sees_its_own_submissions_newest_first(backend: &dyn Backend) {
    let store = backend.store();
    let mut musterstadt = Vec::new();
    for i in 0..5 {
        let s = parking_permit(Some("musterstadt"), &format!("M{i}"));
        musterstadt.push(created(store.submit(s, None, "eingegangen", at(2, i)).unwrap()));
        let s = parking_permit(Some("beispieldorf"), &format!("B{i}"));
        store.submit(s, None, "eingegangen", at(2, i)).unwrap();
    }
    let shared = created(
        store
            .submit(parking_permit(None, "S"), None, "eingegangen", at(3, 0))
            .unwrap(),
    );

    let listed = store.submissions(Some("musterstadt"), 3).unwrap();
    let names: Vec<_> = listed.iter().map(|s| s.data["vorname"].as_str().unwrap()).collect();
    assert_eq!(names, ["M4", "M3", "M2"]);
    assert_eq!(store.submissions(Some("musterstadt"), 100).unwrap().len(), 5);
    assert_eq!(store.submissions(Some("beispieldorf"), 100).unwrap().len(), 5);
    assert_eq!(store.submissions(None, 100).unwrap(), vec![shared]);
    assert!(store.submissions(Some("nirgendwo"), 100).unwrap().is_empty());
    assert!(store.submissions(Some("musterstadt"), 0).unwrap().is_empty());
}

pub fn state_changes_are_stored_and_audited_in_order(backend: &dyn Backend) {
    let store = backend.store();
    let s = created(
        store
            .submit(
                parking_permit(Some("musterstadt"), "Erika"),
                None,
                "eingegangen",
                at(2, 0),
            )
            .unwrap(),
    );
    let moved = store
        .set_state(&s.reference, "eingegangen", "in_bearbeitung", "clerk:meier", at(2, 60))
        .unwrap();
    let StateChanged::Moved(moved) = moved else {
        panic!("moved: {moved:?}")
    };
    assert_eq!(moved.state, "in_bearbeitung");
    // A clerk who saw the old state loses: nothing is written, not even to the audit trail.
    let late = store
        .set_state(&s.reference, "eingegangen", "abgelehnt", "clerk:late", at(2, 90))
        .unwrap();
    let StateChanged::Conflict(now) = late else {
        panic!("conflict: {late:?}")
    };
    assert_eq!(now.state, "in_bearbeitung");
    store
        .set_state(&s.reference, "in_bearbeitung", "genehmigt", "clerk:schulz", at(2, 120))
        .unwrap();
    assert_eq!(
        store
            .set_state("BPA-2026-22222", "eingegangen", "genehmigt", "clerk:x", at(2, 0))
            .unwrap(),
        StateChanged::NotFound
    );
    drop(store);

    let store = backend.reopen();
    assert_eq!(store.submission(&s.reference).unwrap().unwrap().state, "genehmigt");
    let audit = store.audit(&s.reference).unwrap();
    let lines: Vec<_> = audit
        .iter()
        .map(|e| (e.actor.as_str(), e.action.as_str(), e.at))
        .collect();
    assert_eq!(
        lines,
        [
            ("citizen", "submitted", at(2, 0)),
            ("clerk:meier", "state:in_bearbeitung", at(2, 60)),
            ("clerk:schulz", "state:genehmigt", at(2, 120)),
        ]
    );
    assert!(store.audit("BPA-2026-22222").unwrap().is_empty());
}

pub fn attachments_round_trip_with_their_bytes(backend: &dyn Backend) {
    let store = backend.store();
    // Larger than a redb page, to exercise values spread over several pages.
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let a = store
        .put_attachment(Some("musterstadt"), "nachweis.pdf", "application/pdf", &bytes, at(2, 0))
        .unwrap();
    assert_eq!(a.id.len(), 32);
    assert_eq!(a.size, 300_000);
    assert_eq!(a.file_name, "nachweis.pdf");
    assert_eq!(a.tenant.as_deref(), Some("musterstadt"));
    let empty = store
        .put_attachment(None, "leer.txt", "text/plain", &[], at(2, 0))
        .unwrap();
    assert_ne!(a.id, empty.id);
    drop(store);

    let store = backend.reopen();
    assert_eq!(store.attachment(&a.id).unwrap(), Some((a, bytes)));
    assert_eq!(store.attachment(&empty.id).unwrap(), Some((empty, vec![])));
    assert_eq!(store.attachment("00000000000000000000000000000000").unwrap(), None);
}

pub fn definitions_are_kept_once_per_hash(backend: &dyn Backend) {
    let store = backend.store();
    let first = DefinitionRecord {
        catalog: "catalog:1".into(),
        tenant: "musterstadt".into(),
        service: "bewohnerparkausweis".into(),
        version: Some("1.0.0".into()),
    };
    store.put_definition("sha256:abc", &first).unwrap();
    // Same hash, same definition by contract; the first one stays.
    let other = DefinitionRecord {
        service: "other".into(),
        ..first.clone()
    };
    store.put_definition("sha256:abc", &other).unwrap();
    let sources = CatalogSources {
        files: vec![SourceText {
            path: "forms/a.yaml".into(),
            text: "service: a".into(),
        }],
    };
    store.put_catalog("catalog:1", &sources).unwrap();
    drop(store);

    let store = backend.reopen();
    assert_eq!(store.definition("sha256:abc").unwrap(), Some(first));
    assert_eq!(store.definition("sha256:def").unwrap(), None);
    assert_eq!(store.catalog("catalog:1").unwrap(), Some(sources));
}

pub fn uploads_nothing_names_are_deleted_after_their_time_and_counted_per_municipality(backend: &dyn Backend) {
    let store = backend.store();
    let put = |name: &str, day: u32| {
        store
            .put_attachment(Some("musterstadt"), name, "application/pdf", b"%PDF-1.4 x", at(day, 0))
            .unwrap()
    };
    let (loose, sent, drafted, fresh) = (
        put("lose.pdf", 1),
        put("gesendet.pdf", 1),
        put("entwurf.pdf", 1),
        put("neu.pdf", 9),
    );
    store
        .put_attachment(
            Some("beispieldorf"),
            "anderswo.pdf",
            "application/pdf",
            b"%PDF-1.4 yy",
            at(9, 0),
        )
        .unwrap();
    assert_eq!(store.upload_bytes().unwrap()["musterstadt"], 40);
    assert_eq!(store.upload_bytes().unwrap()["beispieldorf"], 11);

    let mut new = parking_permit(Some("musterstadt"), "Erika");
    new.attachments = vec![sent.id.clone()];
    created(store.submit(new, None, "eingegangen", at(2, 0)).unwrap());
    let mut draft = new_draft(Some("musterstadt"));
    draft.answers = json!({ "kinder": [{ "nachweis": { "id": drafted.id, "name": "entwurf.pdf" } }] });
    store.create_draft(draft, at(2, 0)).unwrap();

    // Uploads before day 5 that nothing names: only the loose one.
    assert_eq!(store.expire_uploads(at(5, 0)).unwrap(), 1);
    assert_eq!(store.attachment(&loose.id).unwrap(), None);
    for kept in [&sent, &drafted, &fresh] {
        assert!(
            store.attachment(&kept.id).unwrap().is_some(),
            "{} is kept",
            kept.file_name
        );
    }
    assert_eq!(store.upload_bytes().unwrap()["musterstadt"], 30);

    // Once the draft has expired, its upload goes too.
    assert_eq!(store.expire_drafts(at(20, 0)).unwrap(), 1);
    assert_eq!(store.expire_uploads(at(5, 0)).unwrap(), 1);
    assert_eq!(store.attachment(&drafted.id).unwrap(), None);
    assert!(
        store.attachment(&sent.id).unwrap().is_some(),
        "a submission's file stays"
    );
}

/// A bit flipped in a stored submission: reading it says so, naming it; lists leave it out
/// and count it; a write that would change it fails and writes nothing; the rest of the store
/// goes on.
pub fn a_damaged_submission_is_reported_and_left_out_of_lists(backend: &dyn Backend) {
    let store = backend.store();
    let mut references = Vec::new();
    for name in ["Erika", "Max", "Lena"] {
        let s = created(
            store
                .submit(parking_permit(Some("musterstadt"), name), None, "eingegangen", at(2, 0))
                .unwrap(),
        );
        references.push(s.reference);
    }
    drop(store);
    backend.damage("submissions", &references[1]);

    let store = backend.reopen();
    let err = store.submission(&references[1]).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Corrupt);
    assert!(
        err.detail.contains("checksum") && err.detail.contains(&references[1]),
        "{err}"
    );
    let listed = store.submissions(Some("musterstadt"), 10).unwrap();
    assert_eq!(listed.len(), 2, "the damaged one is left out, the list still works");
    assert!(listed.iter().all(|s| s.reference != references[1]));
    assert!(store.stats().damaged_records >= 1);

    let err = store
        .set_state(&references[1], "eingegangen", "genehmigt", "clerk:x", at(2, 1))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Corrupt);
    assert_eq!(
        store.redact(&references[1], at(9, 0)).unwrap_err().kind,
        ErrorKind::Corrupt
    );
    assert_eq!(store.audit(&references[1]).unwrap().len(), 1, "nothing was written");
    assert_eq!(
        store.state_counts("musterstadt").unwrap()["eingegangen"],
        3,
        "the refused move left the counts alone"
    );

    // The bad record does not take the store down: other writes go on.
    let moved = store
        .set_state(&references[0], "eingegangen", "genehmigt", "clerk:x", at(2, 2))
        .unwrap();
    assert!(matches!(moved, StateChanged::Moved(_)), "{moved:?}");
    created(
        store
            .submit(
                parking_permit(Some("musterstadt"), "Nach"),
                None,
                "eingegangen",
                at(2, 3),
            )
            .unwrap(),
    );
    assert_eq!(store.submissions(Some("musterstadt"), 10).unwrap().len(), 3);
}

/// Many citizens at once: nothing lost, mixed up or duplicated.
pub fn many_threads_store_distinct_submissions(backend: &dyn Backend) {
    let store = backend.store();
    let references: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..64)
            .map(|thread| {
                let store = &store;
                s.spawn(move || {
                    (0..50)
                        .map(|i| {
                            let name = format!("{thread}/{i}");
                            let new = parking_permit(Some("musterstadt"), &name);
                            match store.submit(new, None, "eingegangen", at(2, i)).unwrap() {
                                Submitted::Created(s) => (s.reference, name),
                                other => panic!("{other:?}"),
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(references.len(), 3200);
    let distinct: HashSet<_> = references.iter().map(|(r, _)| r).collect();
    assert_eq!(distinct.len(), 3200);
    drop(store);

    let store = backend.reopen();
    for (reference, name) in &references {
        let s = store.submission(reference).unwrap().unwrap();
        // Each reference leads to the very submission its caller sent.
        assert_eq!(s.data["vorname"], name.as_str());
        assert_eq!(store.audit(reference).unwrap().len(), 1);
    }
    assert_eq!(store.submissions(Some("musterstadt"), 10_000).unwrap().len(), 3200);
}
