//! [`Store::is_empty`], [`Store::export`] and [`Store::import`] of the redb store: every
//! record of every table read in one read transaction and handed out one by one, and records
//! written back with every index and count they belong to, through the same helpers as the
//! store's own writes.
//!
//! The indexes themselves are not exported: they are rebuilt from the records on import, so
//! that a copy cannot carry over an index that disagrees with its table.
//!
//! [`Store::is_empty`]: crate::Store::is_empty
//! [`Store::export`]: crate::Store::export
//! [`Store::import`]: crate::Store::import

use redb::{ReadOnlyTable, ReadTransaction, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::{
    ACCOUNTS, ATTACHMENT_BYTES, ATTACHMENTS, AUDIT, Bytes, CLERK_SESSIONS, DEFINITIONS, DRAFTS, IDEMPOTENCY, OUTBOX,
    OUTBOX_BY_REFERENCE, SUBMISSIONS, Str, Tables, Was, delete_draft, get_json, index_external_id, index_submission,
    put_account_in, put_delivery, put_draft, put_session, put_upload, storage, unindex_submission,
};
use crate::backend::{IdempotencyRecord, decode, encode, error, unseal_file};
use crate::{Attachment, Delivery, Draft, ErrorKind, Record, StoreError, Submission};

type Each<'a> = &'a mut dyn FnMut(Record) -> Result<(), StoreError>;

/// Whether every table that holds records is empty (the indexes follow their tables).
pub(super) fn is_empty(txn: &ReadTransaction) -> Result<bool, StoreError> {
    let mut empty = true;
    for table in [
        SUBMISSIONS,
        IDEMPOTENCY,
        DRAFTS,
        ATTACHMENTS,
        ATTACHMENT_BYTES,
        DEFINITIONS,
        OUTBOX,
        CLERK_SESSIONS,
    ] {
        empty &= txn.open_table(table).map_err(storage)?.is_empty().map_err(storage)?;
    }
    empty &= txn.open_table(AUDIT).map_err(storage)?.is_empty().map_err(storage)?;
    empty &= txn.open_table(ACCOUNTS).map_err(storage)?.is_empty().map_err(storage)?;
    Ok(empty)
}

/// Hands every record to `each` in the order of [`crate::Store::export`], each kind in the
/// order of its table's keys. Nothing is collected: an upload's bytes are read when it is its
/// turn and dropped once `each` returns.
pub(super) fn export(txn: &ReadTransaction, each: Each<'_>) -> Result<(), StoreError> {
    for entry in txn.open_table(DEFINITIONS).map_err(storage)?.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let key = key.value();
        each(Record::Definition {
            key: key.to_owned(),
            value: decode("definitions", key, value.value())?,
        })?;
    }
    export_submissions(txn, each)?;
    for entry in txn.open_table(AUDIT).map_err(storage)?.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let (reference, seq) = key.value();
        each(Record::Audit {
            reference: reference.to_owned(),
            seq,
            entry: decode("audit", &format!("{reference}#{seq}"), value.value())?,
        })?;
    }
    for entry in txn.open_table(IDEMPOTENCY).map_err(storage)?.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let key = key.value();
        let seen: IdempotencyRecord = decode("idempotency", key, value.value())?;
        each(Record::Idempotency {
            key: key.to_owned(),
            fingerprint: seen.fingerprint,
            reference: seen.reference,
            created_at: seen.created_at,
        })?;
    }
    each_json(txn, DRAFTS, "drafts", Record::Draft, each)?;
    let bytes = txn.open_table(ATTACHMENT_BYTES).map_err(storage)?;
    for entry in txn.open_table(ATTACHMENTS).map_err(storage)?.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let id = key.value();
        let attachment: Attachment = decode("attachments", id, value.value())?;
        let content = bytes.get(id).map_err(storage)?.ok_or_else(|| {
            error(
                ErrorKind::Corrupt,
                format!("table attachment_bytes, key {id}: missing, though its metadata exists"),
            )
        })?;
        let bytes = unseal_file(id, content.value(), attachment.size)?.to_vec();
        each(Record::Upload { attachment, bytes })?;
    }
    each_json(txn, OUTBOX, "outbox", Record::Delivery, each)?;
    for entry in txn.open_table(ACCOUNTS).map_err(storage)?.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let (tenant, name) = key.value();
        each(Record::Account(decode(
            "accounts",
            &format!("{tenant}/{name}"),
            value.value(),
        )?))?;
    }
    each_json(txn, CLERK_SESSIONS, "clerk_sessions", Record::ClerkSession, each)
}

/// The submissions. In files of the first release with an outbox, a submission's entries are
/// named by `outbox_by_reference` rather than by its record; the exported record names them
/// (before the ones it names itself, as [`crate::Store::deliveries`] lists them), so that the
/// copy, which has no such index, still finds them.
fn export_submissions(txn: &ReadTransaction, each: Each<'_>) -> Result<(), StoreError> {
    let old_index = match txn.open_table(OUTBOX_BY_REFERENCE) {
        Ok(index) => Some(index),
        Err(redb::TableError::TableDoesNotExist(_)) => None,
        Err(e) => return Err(storage(e)),
    };
    for entry in txn.open_table(SUBMISSIONS).map_err(storage)?.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let reference = key.value();
        let mut submission: Submission = decode("submissions", reference, value.value())?;
        if let Some(index) = &old_index {
            let mut named = Vec::new();
            for entry in index.range((reference, 0)..=(reference, u64::MAX)).map_err(storage)? {
                named.push(entry.map_err(storage)?.1.value().to_owned());
            }
            if !named.is_empty() {
                named.append(&mut submission.deliveries);
                submission.deliveries = named;
            }
        }
        each(Record::Submission(submission))?;
    }
    Ok(())
}

/// Every record of a table keyed by a string, decoded and wrapped by `make`.
fn each_json<T: serde::de::DeserializeOwned>(
    txn: &ReadTransaction,
    table: TableDefinition<Str, Bytes>,
    name: &str,
    make: fn(T) -> Record,
    each: Each<'_>,
) -> Result<(), StoreError> {
    let table: ReadOnlyTable<Str, Bytes> = txn.open_table(table).map_err(storage)?;
    for entry in table.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        each(make(decode(name, key.value(), value.value())?))?;
    }
    Ok(())
}

/// Writes `records` inside the writer's transaction.
///
/// Like every job, it checks before it writes (see the module documentation of the store): the
/// records it replaces must decode, since their places in the indexes are taken from them, and
/// an upload's bytes must be as many as its record says. A record that fails those checks
/// fails the import with nothing written; what fails afterwards is a storage failure, which
/// gives up the whole transaction.
pub(super) fn import_in(t: &mut Tables<'_>, records: Vec<Record>) -> Result<(), StoreError> {
    for record in &records {
        check(t, record)?;
    }
    for record in records {
        put(t, record)?;
    }
    Ok(())
}

fn check(t: &Tables<'_>, record: &Record) -> Result<(), StoreError> {
    match record {
        Record::Submission(s) => drop(get_json::<Submission>(&t.submissions, "submissions", &s.reference)?),
        Record::Draft(d) => drop(get_json::<Draft>(&t.drafts, "drafts", &d.id)?),
        Record::Delivery(d) => drop(get_json::<Delivery>(&t.outbox, "outbox", &d.id)?),
        Record::Upload { attachment, bytes } if bytes.len() as u64 != attachment.size => {
            return Err(error(
                ErrorKind::Corrupt,
                format!(
                    "upload {}: {} bytes, but its record says {}",
                    attachment.id,
                    bytes.len(),
                    attachment.size
                ),
            ));
        }
        _ => {}
    }
    Ok(())
}

fn put(t: &mut Tables<'_>, record: Record) -> Result<(), StoreError> {
    match record {
        Record::Definition { key, value } => {
            t.definitions
                .insert(key.as_str(), encode(&value)?.as_slice())
                .map_err(storage)?;
        }
        Record::Submission(submission) => {
            let reference = submission.reference.as_str();
            if let Some(old) = get_json::<Submission>(&t.submissions, "submissions", reference)? {
                unindex_submission(t, &old)?;
            }
            t.submissions
                .insert(reference, encode(&submission)?.as_slice())
                .map_err(storage)?;
            index_submission(t, &submission)?;
        }
        Record::Audit { reference, seq, entry } => {
            t.audit
                .insert((reference.as_str(), seq), encode(&entry)?.as_slice())
                .map_err(storage)?;
        }
        Record::Idempotency {
            key,
            fingerprint,
            reference,
            created_at,
        } => {
            let encoded = encode(&IdempotencyRecord {
                fingerprint,
                reference,
                created_at,
            })?;
            t.idempotency
                .insert(key.as_str(), encoded.as_slice())
                .map_err(storage)?;
        }
        Record::Draft(draft) => {
            if let Some(old) = get_json::<Draft>(&t.drafts, "drafts", &draft.id)? {
                delete_draft(t, &old)?;
            }
            put_draft(t, &draft)?;
        }
        Record::Upload { attachment, bytes } => put_upload(t, &attachment, bytes)?,
        Record::Delivery(delivery) => {
            let old = get_json::<Delivery>(&t.outbox, "outbox", &delivery.id)?;
            index_external_id(
                t,
                &delivery.id,
                old.as_ref().and_then(|d| d.external_id.as_deref()),
                delivery.external_id.as_deref(),
            )?;
            put_delivery(t, &delivery, old.as_ref().map(Was::of).unwrap_or_default())?;
        }
        Record::Account(account) => put_account_in(t, &account, &encode(&account)?)?,
        Record::ClerkSession(session) => put_session(t, &session)?,
    }
    Ok(())
}
