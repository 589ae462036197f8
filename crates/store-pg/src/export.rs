//! [`Store::export`](baukasten_store::Store::export) and
//! [`Store::import`](baukasten_store::Store::import): every table read in pages by its key,
//! every record written back with the columns beside it.

use baukasten_store::backend::{IdempotencyRecord, decode, encode, error, seal, unseal_file};
use baukasten_store::{Attachment, ErrorKind, Record, StoreError};
use deadpool_postgres::GenericClient;
use serde_json::Value as Json;

use crate::{PgStore, exec, micros, owner, put_audit, put_delivery, put_submission, rows};

/// Rows read per query.
const PAGE: i64 = 500;

pub(crate) fn run(store: &PgStore, each: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError> {
    // Tables with a text key, read in pages of that key; `make` turns (key, record, extra)
    // into a record.
    type Make = fn(&str, &[u8], Option<&[u8]>) -> Result<Record, StoreError>;
    let tables: [(&str, &str, Make); 8] = [
        (
            "definitions",
            "SELECT key, record, NULL::bytea FROM definitions WHERE key > $1 ORDER BY key LIMIT $2",
            |key, record, _| {
                Ok(Record::Definition {
                    key: key.to_owned(),
                    value: decode::<Json>("definitions", key, record)?,
                })
            },
        ),
        (
            "submissions",
            "SELECT reference, record, NULL::bytea FROM submissions WHERE reference > $1 ORDER BY reference LIMIT $2",
            |key, record, _| Ok(Record::Submission(decode("submissions", key, record)?)),
        ),
        (
            "idempotency",
            "SELECT key, record, NULL::bytea FROM idempotency WHERE key > $1 ORDER BY key LIMIT $2",
            |key, record, _| {
                let seen: IdempotencyRecord = decode("idempotency", key, record)?;
                Ok(Record::Idempotency {
                    key: key.to_owned(),
                    fingerprint: seen.fingerprint,
                    reference: seen.reference,
                    created_at: seen.created_at,
                })
            },
        ),
        (
            "drafts",
            "SELECT id, record, NULL::bytea FROM drafts WHERE id > $1 ORDER BY id LIMIT $2",
            |key, record, _| Ok(Record::Draft(decode("drafts", key, record)?)),
        ),
        (
            "uploads",
            "SELECT id, record, bytes FROM uploads WHERE id > $1 ORDER BY id LIMIT $2",
            |key, record, bytes| {
                let attachment: Attachment = decode("attachments", key, record)?;
                let bytes = unseal_file(key, bytes.unwrap_or_default(), attachment.size)?.to_vec();
                Ok(Record::Upload { attachment, bytes })
            },
        ),
        (
            "outbox",
            "SELECT id, record, NULL::bytea FROM outbox WHERE id > $1 ORDER BY id LIMIT $2",
            |key, record, _| Ok(Record::Delivery(decode("outbox", key, record)?)),
        ),
        (
            "accounts",
            "SELECT tenant || '/' || name, record, NULL::bytea FROM accounts WHERE tenant || '/' || name > $1 ORDER BY tenant || '/' || name LIMIT $2",
            |key, record, _| Ok(Record::Account(decode("accounts", key, record)?)),
        ),
        (
            "clerk_sessions",
            "SELECT id, record, NULL::bytea FROM clerk_sessions WHERE id > $1 ORDER BY id LIMIT $2",
            |key, record, _| Ok(Record::ClerkSession(decode("clerk_sessions", key, record)?)),
        ),
    ];
    for (_, sql, make) in tables {
        let mut after = String::new();
        loop {
            let page = store.read(async |c| rows(c, sql, &[&after, &PAGE]).await)?;
            for row in &page {
                let key: String = row.get(0);
                each(make(&key, row.get(1), row.get(2))?)?;
                after = key;
            }
            if (page.len() as i64) < PAGE {
                break;
            }
        }
        // The audit trail comes right after the submissions it belongs to.
        if sql.contains("FROM submissions") {
            export_audit(store, each)?;
        }
    }
    Ok(())
}

fn export_audit(store: &PgStore, each: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError> {
    let (mut reference, mut seq) = (String::new(), -1i64);
    loop {
        let page = store.read(async |c| {
            rows(
                c,
                "SELECT reference, seq, record FROM audit WHERE (reference, seq) > ($1, $2)
                 ORDER BY reference, seq LIMIT $3",
                &[&reference, &seq, &PAGE],
            )
            .await
        })?;
        for row in &page {
            reference = row.get(0);
            seq = row.get(1);
            let entry = decode("audit", &format!("{reference}#{seq}"), row.get(2))?;
            each(Record::Audit {
                reference: reference.clone(),
                seq: u64::try_from(seq).unwrap_or_default(),
                entry,
            })?;
        }
        if (page.len() as i64) < PAGE {
            return Ok(());
        }
    }
}

pub(crate) async fn import_one(tx: &impl GenericClient, record: &Record) -> Result<(), StoreError> {
    match record {
        Record::Definition { key, value } => {
            exec(
                tx,
                "INSERT INTO definitions (key, record) VALUES ($1, $2)
                 ON CONFLICT (key) DO UPDATE SET record = EXCLUDED.record",
                &[key, &encode(value)?],
            )
            .await?;
        }
        Record::Submission(submission) => {
            exec(
                tx,
                "DELETE FROM submissions WHERE reference = $1",
                &[&submission.reference],
            )
            .await?;
            put_submission(tx, submission).await?;
        }
        Record::Audit { reference, seq, entry } => {
            let seq =
                i64::try_from(*seq).map_err(|_| error(ErrorKind::Corrupt, "an audit sequence number is too large"))?;
            put_audit(tx, reference, seq, entry).await?;
        }
        Record::Idempotency {
            key,
            fingerprint,
            reference,
            created_at,
        } => {
            let encoded = encode(&IdempotencyRecord {
                fingerprint: fingerprint.clone(),
                reference: reference.clone(),
                created_at: *created_at,
            })?;
            // A key from before keys had a time counts from its submission's.
            exec(
                tx,
                "INSERT INTO idempotency (key, reference, created_us, record)
                 VALUES ($1, $2, COALESCE($3, (SELECT created_us FROM submissions WHERE reference = $2), 0), $4)
                 ON CONFLICT (key) DO UPDATE SET reference = EXCLUDED.reference,
                     created_us = EXCLUDED.created_us, record = EXCLUDED.record",
                &[key, reference, &created_at.map(micros), &encoded],
            )
            .await?;
        }
        Record::Draft(draft) => {
            exec(
                tx,
                "INSERT INTO drafts (id, resume_code, updated_us, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET resume_code = EXCLUDED.resume_code,
                     updated_us = EXCLUDED.updated_us, record = EXCLUDED.record",
                &[
                    &draft.id,
                    &draft.resume_code.replace('-', ""),
                    &micros(draft.updated_at),
                    &encode(draft)?,
                ],
            )
            .await?;
        }
        Record::Upload { attachment, bytes } => {
            let size = i64::try_from(attachment.size).unwrap_or(i64::MAX);
            exec(
                tx,
                "INSERT INTO uploads (id, tenant, size, created_us, record, bytes) VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, size = EXCLUDED.size,
                     created_us = EXCLUDED.created_us, record = EXCLUDED.record, bytes = EXCLUDED.bytes",
                &[
                    &attachment.id,
                    &attachment.tenant,
                    &size,
                    &micros(attachment.created_at),
                    &encode(attachment)?,
                    &seal(bytes.clone()),
                ],
            )
            .await?;
        }
        Record::Delivery(delivery) => put_delivery(tx, delivery).await?,
        Record::Account(account) => {
            exec(
                tx,
                "INSERT INTO accounts (tenant, name, record) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, name) DO UPDATE SET record = EXCLUDED.record",
                &[&account.tenant, &account.name, &encode(account)?],
            )
            .await?;
        }
        Record::ClerkSession(session) => {
            exec(
                tx,
                "INSERT INTO clerk_sessions (id, tenant, name, record) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (id) DO UPDATE SET tenant = EXCLUDED.tenant, name = EXCLUDED.name,
                     record = EXCLUDED.record",
                &[&session.id, &session.tenant, &session.name, &encode(session)?],
            )
            .await?;
        }
    }
    let _ = owner;
    Ok(())
}
