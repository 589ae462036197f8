//! The conformance suite: every store test as a function over any [`Store`](crate::Store), run
//! by each backend's own tests.
//!
//! So far it holds what copying a store needs ([`Store::export`], [`Store::import`], and
//! `baukasten store copy` over them): [`every_kind`] fills a store with records of every kind,
//! and [`same_answers`] asks two stores the same questions about them and checks that they
//! answer alike. Functions here panic on a failed check, as tests do.

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::json;

use crate::{
    Account, AfterAttempt, CatalogSources, DefinitionRecord, DeliveryAttempt, Idempotency, InboxQuery, NewDelivery,
    NewDraft, NewSubmission, Record, SourceText, StateChanged, Store, Submitted,
};

/// What [`every_kind`] wrote, to ask a store about it.
#[derive(Debug, Clone)]
pub struct Sample {
    pub tenant: String,
    /// The submission with an upload, deliveries and a state change.
    pub reference: String,
    /// Its upload.
    pub upload: String,
    pub upload_bytes: Vec<u8>,
    pub draft: String,
    pub resume_code: String,
    /// The external id of one of its deliveries.
    pub external_id: String,
    pub session: String,
    pub definition: String,
    pub catalog: String,
    /// When it was all written; the latest time used.
    pub now: DateTime<Utc>,
}

/// Fills `store` with records of every kind: a definition and its catalog; an upload; a
/// submission naming it, sent with an idempotency key and two deliveries, of which one got an
/// external id and the other failed, and moved to another state with a comment and a message
/// about it (pending); a submission without a municipality; a draft with answers and a step;
/// an account with a session.
pub fn every_kind(store: &dyn Store) -> Sample {
    let start = Utc.with_ymd_and_hms(2026, 3, 2, 9, 30, 0).unwrap();
    let tenant = "musterstadt";
    let (definition, catalog) = ("sha256:0f1e2d3c", "catalog:9a8b7c6d");
    store
        .put_catalog(
            catalog,
            &CatalogSources {
                files: vec![SourceText {
                    path: "bewohnerparkausweis.yaml".into(),
                    text: "service: bewohnerparkausweis\nversion: 1.0.0\n".into(),
                }],
            },
        )
        .unwrap();
    store
        .put_definition(
            definition,
            &DefinitionRecord {
                catalog: catalog.into(),
                tenant: tenant.into(),
                service: "bewohnerparkausweis".into(),
                version: Some("1.0.0".into()),
            },
        )
        .unwrap();

    // Bytes that are not text, as a scan is not.
    let upload_bytes: Vec<u8> = (0..20_000u32).map(|i| (i.wrapping_mul(7919) >> 3) as u8).collect();
    let upload = store
        .put_attachment(
            Some(tenant),
            "fahrzeugschein.pdf",
            "application/pdf",
            &upload_bytes,
            start,
        )
        .unwrap();

    let new = NewSubmission {
        tenant: Some(tenant.into()),
        service: "bewohnerparkausweis".into(),
        version: "1.0.0".into(),
        definition_hash: definition.into(),
        reference_prefix: "BPA".into(),
        data: json!({ "answers": { "name": "Erika Mustermann", "kennzeichen": "M-AB 123" }, "computed": { "gebuehr": 30.7 } }),
        fee_total: "30.70".into(),
        attachments: vec![upload.id.clone()],
        draft: None,
        deliveries: vec![
            NewDelivery {
                channel: "fit_connect".into(),
                target: "parkraum".into(),
                event: None,
            },
            NewDelivery {
                channel: "webhook".into(),
                target: "fachverfahren".into(),
                event: None,
            },
        ],
    };
    let key = Idempotency {
        key: format!("{tenant}/bewohnerparkausweis/3f2a"),
        fingerprint: "sha256:request".into(),
    };
    let Submitted::Created(submission) = store
        .submit(new, Some(key), "eingegangen", start + Duration::minutes(1))
        .unwrap()
    else {
        panic!("a new submission")
    };
    let reference = submission.reference.clone();
    let external_id = "c0ffee00-1234-4abc-8def-000000000001".to_owned();
    assert!(
        store
            .record_progress(
                &submission.deliveries[0],
                json!({ "submission": external_id, "sent": [upload.id] }),
                Some(&external_id),
            )
            .unwrap()
    );
    store
        .record_attempt(
            &submission.deliveries[1],
            DeliveryAttempt {
                at: start + Duration::minutes(2),
                status: Some(500),
                error: Some("the receiver answered 500".into()),
            },
            AfterAttempt::Failed,
        )
        .unwrap()
        .unwrap();
    let moved = store
        .set_state_with(
            &reference,
            "eingegangen",
            "in_bearbeitung",
            "clerk:erika",
            Some("Unterlagen vollständig, Prüfung läuft."),
            start + Duration::minutes(3),
            vec![NewDelivery {
                channel: "email_state".into(),
                target: "erika@example.org".into(),
                event: Some("state:in_bearbeitung".into()),
            }],
        )
        .unwrap();
    assert!(matches!(moved, StateChanged::Moved(_)), "{moved:?}");

    let anonymous = NewSubmission {
        tenant: None,
        service: "maengelmelder".into(),
        version: "2.0.0".into(),
        definition_hash: definition.into(),
        reference_prefix: "MM".into(),
        data: json!({ "answers": { "ort": "Marktplatz" } }),
        fee_total: "0.00".into(),
        attachments: Vec::new(),
        draft: None,
        deliveries: Vec::new(),
    };
    store
        .submit(anonymous, None, "eingegangen", start + Duration::minutes(4))
        .unwrap();

    let draft = store
        .create_draft(
            NewDraft {
                tenant: Some(tenant.into()),
                service: "bewohnerparkausweis".into(),
                version: "1.0.0".into(),
                definition_hash: definition.into(),
                answers: json!({}),
            },
            start + Duration::minutes(5),
        )
        .unwrap();
    store
        .update_draft(
            &draft.id,
            &json!({ "name": "Max Mustermann" }),
            Some("fahrzeug"),
            start + Duration::minutes(6),
        )
        .unwrap()
        .unwrap();

    store
        .put_account(Account {
            tenant: tenant.into(),
            name: "erika".into(),
            password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
            created_at: start,
        })
        .unwrap();
    let now = start + Duration::minutes(7);
    let session = store.create_clerk_session(tenant, "erika", now).unwrap();

    Sample {
        tenant: tenant.into(),
        reference,
        upload: upload.id,
        upload_bytes,
        draft: draft.id,
        resume_code: draft.resume_code,
        external_id,
        session: session.id,
        definition: definition.into(),
        catalog: catalog.into(),
        now,
    }
}

/// Every record of a store, in the order it exports them.
pub fn exported(store: &dyn Store) -> Vec<Record> {
    let mut records = Vec::new();
    store
        .export(&mut |record| {
            records.push(record);
            Ok(())
        })
        .unwrap();
    records
}

/// Asks both stores what the server asks (the inbox with and without filters, the counts, the
/// outbox, drafts by code, deliveries by external id, uploads, definitions, accounts and
/// sessions) about the records of `sample`, and checks that they answer alike, and as
/// [`every_kind`] left them.
pub fn same_answers(original: &dyn Store, copy: &dyn Store, sample: &Sample) {
    let stores = [original, copy];
    let ask = |what: &str, answer: &dyn Fn(&dyn Store) -> String| {
        let answers: Vec<String> = stores.iter().map(|s| answer(*s)).collect();
        assert_eq!(answers[0], answers[1], "the copy answers {what} differently");
        answers[0].clone()
    };
    let tenant = sample.tenant.as_str();
    let query = |state: Option<&str>, service: Option<&str>, text: Option<&str>| InboxQuery {
        tenant: tenant.into(),
        state: state.map(Into::into),
        service: service.map(Into::into),
        text: text.map(Into::into),
        text_fields: vec!["name".into()],
        ..InboxQuery::default()
    };
    let inbox = ask("the inbox", &|s| {
        format!("{:?}", s.inbox(&query(None, None, None)).unwrap())
    });
    assert!(inbox.contains(&sample.reference), "{inbox}");
    for (state, service, text) in [
        (Some("in_bearbeitung"), None, None),
        (Some("eingegangen"), None, None),
        (None, Some("bewohnerparkausweis"), None),
        (None, None, Some("erika")),
    ] {
        ask(&format!("the inbox filtered by {state:?} {service:?} {text:?}"), &|s| {
            format!("{:?}", s.inbox(&query(state, service, text)).unwrap())
        });
    }
    let counts = ask("the state counts", &|s| {
        format!("{:?}", s.state_counts(tenant).unwrap())
    });
    assert_eq!(counts, r#"{"in_bearbeitung": 1}"#);
    ask("the counts without a municipality", &|s| {
        format!("{:?}", s.state_counts("").unwrap())
    });
    ask("the submissions", &|s| {
        format!("{:?}", s.submissions(None, 10).unwrap())
    });
    let later = sample.now + Duration::days(1);
    let due = ask("the due deliveries", &|s| {
        format!("{:?}", s.due_deliveries(later, 100).unwrap())
    });
    assert!(due.contains("email_state") && due.contains("fit_connect"), "{due}");
    ask("when the next delivery is due", &|s| {
        format!("{:?}", s.next_delivery_due().unwrap())
    });
    let failed = ask("the failed deliveries", &|s| {
        format!("{:?}", s.failed_deliveries(tenant, 10).unwrap())
    });
    assert!(failed.contains("fachverfahren"), "{failed}");
    ask("the backlog", &|s| format!("{:?}", s.delivery_backlog().unwrap()));
    let by_external = ask("the delivery by external id", &|s| {
        format!("{:?}", s.delivery_by_external_id(&sample.external_id).unwrap())
    });
    assert!(by_external.starts_with("Some("), "{by_external}");
    ask("the deliveries", &|s| {
        format!("{:?}", s.deliveries(&sample.reference).unwrap())
    });
    ask("the audit trail", &|s| {
        format!("{:?}", s.audit(&sample.reference).unwrap())
    });
    ask("the last state change", &|s| {
        format!("{:?}", s.last_state_change(&sample.reference).unwrap())
    });
    let draft = ask("the draft by code", &|s| {
        format!("{:?}", s.draft_by_code(&sample.resume_code.to_lowercase()).unwrap())
    });
    assert!(draft.contains("Max Mustermann"), "{draft}");
    ask("the draft", &|s| format!("{:?}", s.draft(&sample.draft).unwrap()));
    for store in stores {
        let (attachment, bytes) = store.attachment(&sample.upload).unwrap().unwrap();
        assert_eq!(bytes, sample.upload_bytes);
        assert_eq!(attachment.size, sample.upload_bytes.len() as u64);
    }
    ask("the upload bytes", &|s| format!("{:?}", s.upload_bytes().unwrap()));
    ask("the definition", &|s| {
        format!("{:?}", s.definition(&sample.definition).unwrap())
    });
    ask("the catalog", &|s| format!("{:?}", s.catalog(&sample.catalog).unwrap()));
    ask("the accounts", &|s| format!("{:?}", s.accounts(tenant).unwrap()));
    let session = ask("the session", &|s| {
        format!(
            "{:?}",
            s.clerk_session(&sample.session, sample.now, Duration::hours(8))
                .unwrap()
        )
    });
    assert!(session.starts_with("Some("), "{session}");
    for store in stores {
        assert!(!store.is_empty().unwrap());
    }
}
