//! Copying a store (`baukasten store copy`): what one store exports, an empty one imports,
//! and then answers every question as the first does.

use std::collections::BTreeSet;

use chrono::Duration;
use serde_json::json;

use super::retention::submission_with_everything;
use super::{Backend, at, created, key, new_draft, parking_permit};
use crate::{Account, CatalogSources, DefinitionRecord, InboxQuery, Record, SourceText, Store, StoreError, Submitted};

fn account(name: &str) -> Account {
    Account {
        tenant: "musterstadt".into(),
        name: name.into(),
        password_hash: "$argon2id$h".into(),
        created_at: at(1, 0),
    }
}

fn definition() -> DefinitionRecord {
    DefinitionRecord {
        catalog: "catalog:1".into(),
        tenant: "musterstadt".into(),
        service: "bewohnerparkausweis".into(),
        version: Some("1.0.0".into()),
    }
}

fn sources() -> CatalogSources {
    CatalogSources {
        files: vec![SourceText {
            path: "forms/a.yaml".into(),
            text: "service: a".into(),
        }],
    }
}

/// Every record of a store, in a stable order (by their JSON), to compare two stores by.
fn exported(store: &dyn Store) -> Vec<Record> {
    let mut records = Vec::new();
    store
        .export(&mut |record| {
            records.push(record);
            Ok::<(), StoreError>(())
        })
        .unwrap();
    records.sort_by_cached_key(|r| serde_json::to_string(r).unwrap());
    records
}

/// A store is empty until anything at all is written to it, whatever it is.
pub fn an_empty_store_is_empty_and_one_with_anything_is_not(backend: &dyn Backend) {
    assert!(backend.store().is_empty().unwrap());
    type Put = fn(&dyn Store);
    let kinds: [(&str, Put); 7] = [
        ("a submission", |store| {
            created(
                store
                    .submit(parking_permit(None, "Erika"), None, "eingegangen", at(1, 0))
                    .unwrap(),
            );
        }),
        ("a draft", |store| {
            store.create_draft(new_draft(None), at(1, 0)).unwrap();
        }),
        ("an upload", |store| {
            store
                .put_attachment(None, "a.pdf", "application/pdf", b"%PDF", at(1, 0))
                .unwrap();
        }),
        ("a definition", |store| {
            store.put_definition("sha256:abc", &definition()).unwrap()
        }),
        ("a catalog", |store| store.put_catalog("catalog:1", &sources()).unwrap()),
        ("an account", |store| store.put_account(account("mueller")).unwrap()),
        ("a session", |store| {
            store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
        }),
    ];
    for (what, put) in kinds {
        let store = backend.empty();
        assert!(store.is_empty().unwrap(), "a new store is empty");
        put(&*store);
        assert!(!store.is_empty().unwrap(), "a store with {what} is not empty");
    }
}

/// Everything a store can hold, exported and imported into an empty store: the copy holds the
/// same records, and every question asked of it (lists, indexes, counts, keys, codes, files,
/// the outbox, sessions) is answered as by the original.
pub fn a_copy_reads_as_the_original(backend: &dyn Backend) {
    let original = backend.store();
    let (moved, photo) = submission_with_everything(&*original, "Erika");
    let keyed = created(
        original
            .submit(
                parking_permit(Some("musterstadt"), "Max"),
                key("k1", "f1"),
                "eingegangen",
                at(3, 0),
            )
            .unwrap(),
    );
    let mut draft = new_draft(Some("musterstadt"));
    let upload = original
        .put_attachment(
            Some("musterstadt"),
            "entwurf.pdf",
            "application/pdf",
            b"%PDF-1.4 d",
            at(3, 0),
        )
        .unwrap();
    draft.answers = json!({ "nachweis": { "id": upload.id } });
    let draft = original.create_draft(draft, at(3, 0)).unwrap();
    original.put_definition("sha256:abc", &definition()).unwrap();
    original.put_catalog("catalog:1", &sources()).unwrap();
    original.put_account(account("mueller")).unwrap();
    original.put_account(account("abel")).unwrap();
    let session = original
        .create_clerk_session("musterstadt", "mueller", at(3, 0))
        .unwrap();
    let webhook = original.deliveries(&moved.reference).unwrap()[0].id.clone();
    let email = original.deliveries(&moved.reference).unwrap()[1].id.clone();
    original
        .record_progress(&email, json!({"step": 1}), Some("f39ab143"))
        .unwrap();

    let records = exported(&*original);
    let kinds: BTreeSet<&str> = records.iter().map(Record::kind).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "accounts",
            "audit",
            "clerk_sessions",
            "definitions",
            "deliveries",
            "drafts",
            "idempotency",
            "submissions",
            "uploads"
        ]),
        "the original holds every kind of record"
    );

    let copy = backend.empty();
    assert!(copy.is_empty().unwrap());
    copy.import(records.clone()).unwrap();
    assert!(!copy.is_empty().unwrap());
    assert_eq!(exported(&*copy), records, "the copy holds the same records");

    // The copy answers as the original does.
    let stores = [original, copy];
    let same = |ask: &dyn Fn(&dyn Store) -> String| {
        let [a, b] = &stores;
        assert_eq!(ask(&**a), ask(&**b));
    };
    for reference in [&moved.reference, &keyed.reference] {
        same(&|s| format!("{:?}", s.submission(reference).unwrap()));
        same(&|s| format!("{:?}", s.audit(reference).unwrap()));
        same(&|s| format!("{:?}", s.deliveries(reference).unwrap()));
        same(&|s| format!("{:?}", s.last_state_change(reference).unwrap()));
    }
    same(&|s| format!("{:?}", s.submissions(Some("musterstadt"), 10).unwrap()));
    for state in [None, Some("erledigt"), Some("eingegangen")] {
        let query = InboxQuery {
            tenant: "musterstadt".into(),
            state: state.map(str::to_owned),
            service: Some("bewohnerparkausweis".into()),
            ..InboxQuery::default()
        };
        same(&|s| format!("{:?}", s.inbox(&query).unwrap()));
    }
    same(&|s| format!("{:?}", s.state_counts("musterstadt").unwrap()));
    same(&|s| format!("{:?}", s.draft(&draft.id).unwrap()));
    same(&|s| format!("{:?}", s.draft_by_code(&draft.resume_code).unwrap()));
    same(&|s| format!("{:?}", s.attachment(&photo).unwrap()));
    same(&|s| format!("{:?}", s.attachment(&upload.id).unwrap()));
    same(&|s| format!("{:?}", s.upload_bytes().unwrap()));
    same(&|s| format!("{:?}", s.definition("sha256:abc").unwrap()));
    same(&|s| format!("{:?}", s.catalog("catalog:1").unwrap()));
    same(&|s| format!("{:?}", s.due_deliveries(at(30, 0), 100).unwrap()));
    same(&|s| format!("{:?}", s.next_delivery_due().unwrap()));
    same(&|s| format!("{:?}", s.delivery_backlog().unwrap()));
    same(&|s| format!("{:?}", s.failed_deliveries("musterstadt", 10).unwrap()));
    same(&|s| format!("{:?}", s.delivery_by_external_id("f39ab143").unwrap()));
    same(&|s| format!("{:?}", s.accounts("musterstadt").unwrap()));
    same(&|s| format!("{:?}", s.account("musterstadt", "mueller").unwrap()));
    assert_eq!(stores[0].failed_deliveries("musterstadt", 10).unwrap()[0].id, webhook);

    // And goes on as the original would.
    for store in &stores {
        let idle = Duration::hours(1);
        assert_eq!(
            store.clerk_session(&session.id, at(3, 30), idle).unwrap(),
            Some(session.clone())
        );
        let retry = parking_permit(Some("musterstadt"), "Max");
        assert_eq!(
            store
                .submit(retry.clone(), key("k1", "f1"), "eingegangen", at(4, 0))
                .unwrap(),
            Submitted::Replayed(keyed.clone())
        );
        assert_eq!(
            store.submit(retry, key("k1", "f2"), "eingegangen", at(4, 0)).unwrap(),
            Submitted::KeyReused
        );
        // The draft's upload is named by the draft, the photo by its submission.
        assert_eq!(store.expire_uploads(at(30, 0)).unwrap(), 0);
        assert_eq!(store.expire_drafts(at(30, 0)).unwrap(), 1);
        assert_eq!(store.expire_uploads(at(30, 0)).unwrap(), 1);
        assert_eq!(store.expire_idempotency_keys(at(30, 0)).unwrap(), 1);
        assert_eq!(
            store.redact(&moved.reference, at(30, 0)).unwrap().unwrap().redacted_at,
            Some(at(30, 0))
        );
        assert!(store.delivery_by_external_id("f39ab143").unwrap().is_none());
    }
    same(&|s| format!("{:?}", s.audit(&moved.reference).unwrap()));
    same(&|s| format!("{:?}", s.delivery_backlog().unwrap()));
}
