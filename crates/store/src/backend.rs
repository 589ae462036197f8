//! What every backend of [`Store`](crate::Store) shares, so that the redb and the PostgreSQL
//! store behave alike by construction rather than by care: how a record is encoded and sealed
//! with its checksum, how new outbox entries are made and how an attempt or a resend changes
//! one, the inbox's cursor and text filter, and the random identifiers.
//!
//! A backend stores records as [`encode`] makes them (JSON with a CRC-32 at the end) and reads
//! them with [`decode`], which reports a damaged record as [`ErrorKind::Corrupt`]; so a record
//! copied between backends keeps its bytes and its checksum.

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub use crate::reference::{REFERENCE_CHARS, new_id, new_resume_code, normalize_resume_code, try_new_reference};
use crate::{
    AfterAttempt, AuditEntry, Delivery, DeliveryAttempt, DeliveryEvent, DeliveryStatus, ErrorKind, InboxQuery,
    MAX_COMMENT_CHARS, NewDelivery, NewSubmission, StoreError, Submission, reference,
};

/// A new submission's record: `new` under `reference`, in `initial_state`, received at `now`,
/// naming its outbox entries `deliveries` (see [`new_deliveries`]).
pub fn new_submission(
    new: NewSubmission,
    reference: String,
    initial_state: &str,
    now: DateTime<Utc>,
    deliveries: &[Delivery],
) -> Submission {
    Submission {
        reference,
        tenant: new.tenant,
        service: new.service,
        version: new.version,
        definition_hash: new.definition_hash,
        data: new.data,
        fee_total: new.fee_total,
        attachments: new.attachments,
        state: initial_state.to_owned(),
        created_at: now,
        deliveries: deliveries.iter().map(|d| d.id.clone()).collect(),
        redacted_at: None,
    }
}

/// An audit entry without a state change or a comment: `submitted` by `citizen`, `redacted`
/// by `system`.
pub fn audit_entry(at: DateTime<Utc>, actor: &str, action: &str) -> AuditEntry {
    AuditEntry {
        at,
        actor: actor.to_owned(),
        action: action.to_owned(),
        from: None,
        comment: None,
    }
}

/// Empties a submission's record at the end of its retention period (see
/// [`crate::Store::redact`]): its answers, its outbox entries' ids; returns the attachments it
/// named, for the caller to delete.
pub fn redact_record(submission: &mut Submission, now: DateTime<Utc>) -> Vec<String> {
    submission.data = Json::Object(serde_json::Map::new());
    submission.deliveries.clear();
    submission.redacted_at = Some(now);
    std::mem::take(&mut submission.attachments)
}

/// Records an attempt on a delivery and what follows it (see [`crate::Store::record_attempt`]).
pub fn apply_attempt(delivery: &mut Delivery, attempt: DeliveryAttempt, after: AfterAttempt) {
    delivery.attempts.push(attempt);
    (delivery.status, delivery.next_attempt) = match after {
        AfterAttempt::Delivered => (DeliveryStatus::Delivered, None),
        AfterAttempt::RetryAt(at) => (DeliveryStatus::Pending, Some(at)),
        AfterAttempt::Failed => (DeliveryStatus::Failed, None),
        AfterAttempt::Stopped => (DeliveryStatus::Stopped, None),
    };
}

/// Starts a fresh series of attempts, due at `now` (see [`crate::Store::resend`]).
pub fn apply_resend(delivery: &mut Delivery, now: DateTime<Utc>) {
    // A resend of what was delivered sends it afresh (for FIT-Connect: a new submission at the
    // destination); a resend of what failed goes on from where it got.
    if delivery.status == DeliveryStatus::Delivered {
        delivery.progress = None;
    }
    delivery.status = DeliveryStatus::Pending;
    delivery.series_start = delivery.attempts.len();
    delivery.next_attempt = Some(now);
}

/// Adds the reports not yet recorded, in the order given; whether any was new.
pub fn add_events(delivery: &mut Delivery, events: Vec<DeliveryEvent>) -> bool {
    let before = delivery.events.len();
    for event in events {
        if !delivery.events.iter().any(|known| known.id == event.id) {
            delivery.events.push(event);
        }
    }
    delivery.events.len() != before
}

/// When a pending delivery is due, in microseconds, as the due indexes keep it; `None` for
/// one that is not pending.
pub fn due_micros(delivery: &Delivery) -> Option<i64> {
    delivery
        .next_attempt
        .filter(|_| delivery.status == DeliveryStatus::Pending)
        .map(|at| at.timestamp_micros())
}

/// One idempotency record: which request first used the key, and what it created.
#[derive(Serialize, Deserialize)]
pub struct IdempotencyRecord {
    pub fingerprint: String,
    pub reference: String,
    /// When the key was first used. Records written before keys expired have none; their
    /// submission's time stands in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<DateTime<Utc>>,
}

/// Outbox entries for what a submission (or a move of its state) asks for, due at `now`, each
/// with a fresh `msg_…` id: the time in microseconds (13 hex digits), then 76 random bits.
/// Random enough not to be looked up for uniqueness (the writer thread's time is the durable
/// throughput), and ordered by time, so new entries go to the end of the `outbox` table
/// instead of all over it (fewer pages to write per commit).
pub fn new_deliveries(
    reference: &str,
    tenant: Option<&str>,
    asked: &[NewDelivery],
    now: DateTime<Utc>,
) -> Result<Vec<Delivery>, StoreError> {
    let mut out = Vec::with_capacity(asked.len());
    for asked in asked {
        let id = format!(
            "msg_{:013x}{}",
            now.timestamp_micros().max(0),
            &reference::new_id()?[..19]
        );
        out.push(Delivery {
            id,
            reference: reference.to_owned(),
            tenant: tenant.map(str::to_owned),
            channel: asked.channel.clone(),
            target: asked.target.clone(),
            event: asked.event.clone(),
            status: DeliveryStatus::Pending,
            attempts: Vec::new(),
            series_start: 0,
            next_attempt: Some(now),
            created_at: now,
            progress: None,
            external_id: None,
            events: Vec::new(),
        });
    }
    Ok(out)
}

/// A clerk's comment as the audit trail keeps it: at most [`MAX_COMMENT_CHARS`] characters.
pub fn cut_comment(comment: &str) -> String {
    match comment.char_indices().nth(MAX_COMMENT_CHARS) {
        Some((end, _)) => comment[..end].to_owned(),
        None => comment.to_owned(),
    }
}

/// The upload ids a draft's answers name: file answers are objects with an `id` (the store
/// knows nothing of services, so it looks at every object).
pub fn collect_file_ids(value: &Json, out: &mut std::collections::HashSet<String>) {
    match value {
        Json::Object(map) => {
            if let Some(Json::String(id)) = map.get("id") {
                out.insert(id.clone());
            }
            map.values().for_each(|v| collect_file_ids(v, out));
        }
        Json::Array(items) => items.iter().for_each(|v| collect_file_ids(v, out)),
        _ => {}
    }
}

/// The page size when the query names none, and the largest one.
pub const INBOX_DEFAULT_LIMIT: usize = 50;
pub const INBOX_MAX_LIMIT: usize = 500;

/// An inbox cursor: the place of the last submission of a page in `submissions_by_tenant`,
/// written `{created µs}.{reference}` (a reference holds no dot).
pub fn inbox_cursor(s: &Submission) -> String {
    format!("{}.{}", s.created_at.timestamp_micros(), s.reference)
}

/// The place an inbox cursor names; `None` for anything [`inbox_cursor`] did not make.
pub fn parse_inbox_cursor(cursor: &str) -> Option<(i64, &str)> {
    let (micros, reference) = cursor.split_once('.')?;
    let micros = micros.parse().ok()?;
    (!reference.is_empty()).then_some((micros, reference))
}

/// The inbox's text filter: lower-case words that must each occur in the reference or in one
/// of the answers at the given paths.
pub struct TextFilter<'q> {
    words: Vec<String>,
    fields: &'q [String],
}

impl<'q> TextFilter<'q> {
    pub fn new(query: &'q InboxQuery) -> Option<Self> {
        let words: Vec<String> = query
            .text
            .as_deref()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_lowercase)
            .collect();
        (!words.is_empty()).then_some(TextFilter {
            words,
            fields: &query.text_fields,
        })
    }

    pub fn matches(&self, s: &Submission) -> bool {
        let answers = s.data.get("answers");
        let mut haystacks = vec![s.reference.to_lowercase()];
        haystacks.extend(
            self.fields
                .iter()
                .filter_map(|path| answer_at(answers?, path))
                .map(str::to_lowercase),
        );
        self.words
            .iter()
            .all(|word| haystacks.iter().any(|h| h.contains(word.as_str())))
    }
}

/// The string answer at a dotted path (`antragsteller.familienname`; a number indexes a
/// list), if there is one. Numbers, booleans and anything else are not text.
pub fn answer_at<'a>(answers: &'a Json, path: &str) -> Option<&'a str> {
    let mut value = answers;
    for part in path.split('.') {
        value = match value {
            Json::Object(map) => map.get(part)?,
            Json::Array(items) => items.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    value.as_str()
}

/// The end of every record written since format version 3: `\0crc` and the CRC-32 of the
/// record's bytes (little endian). JSON never holds a NUL byte, so a record without it
/// (written before version 3) is told apart and read as it is.
pub const CHECKSUM_TAG: &[u8; 4] = b"\0crc";

/// A record's bytes with their checksum appended.
pub fn seal(mut bytes: Vec<u8>) -> Vec<u8> {
    let sum = crc32fast::hash(&bytes);
    bytes.extend_from_slice(CHECKSUM_TAG);
    bytes.extend_from_slice(&sum.to_le_bytes());
    bytes
}

/// A JSON record's bytes without their checksum, once it is checked.
pub fn unseal<'b>(table: &str, key: &str, bytes: &'b [u8]) -> Result<&'b [u8], StoreError> {
    match split_seal(bytes) {
        Some((payload, sum)) if crc32fast::hash(payload) == sum => Ok(payload),
        Some(_) => Err(damaged(table, key)),
        None => Ok(bytes),
    }
}

/// A file's bytes without their checksum: sealed ones are `size + 8` long, those written
/// before version 3 exactly `size` (a file's own bytes may hold anything, so the stored
/// length tells them apart, not the tag).
pub fn unseal_file<'b>(key: &str, bytes: &'b [u8], size: u64) -> Result<&'b [u8], StoreError> {
    let len = bytes.len() as u64;
    if len == size {
        return Ok(bytes);
    }
    match split_seal(bytes) {
        Some((payload, sum)) if len == size + 8 && crc32fast::hash(payload) == sum => Ok(payload),
        _ => Err(damaged("attachment_bytes", key)),
    }
}

pub fn split_seal(bytes: &[u8]) -> Option<(&[u8], u32)> {
    let n = bytes.len();
    if n < 8 || &bytes[n - 8..n - 4] != CHECKSUM_TAG {
        return None;
    }
    let sum = u32::from_le_bytes([bytes[n - 4], bytes[n - 3], bytes[n - 2], bytes[n - 1]]);
    Some((&bytes[..n - 8], sum))
}

pub fn damaged(table: &str, key: &str) -> StoreError {
    error(
        ErrorKind::Corrupt,
        format!("table {table}, key {key}: the checksum does not match, the record is damaged"),
    )
}

pub fn decode<T: DeserializeOwned>(table: &str, key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(unseal(table, key, bytes)?).map_err(|e| {
        error(
            ErrorKind::Corrupt,
            format!("table {table}, key {key}: cannot decode the record: {e}"),
        )
    })
}

pub fn encode<T: Serialize + ?Sized>(value: &T) -> Result<Vec<u8>, StoreError> {
    // Serialising our own types and serde_json values cannot fail in practice; the error is
    // still reported rather than unwrapped.
    serde_json::to_vec(value)
        .map(seal)
        .map_err(|e| error(ErrorKind::Io, format!("cannot encode a record: {e}")))
}

pub fn error(kind: ErrorKind, detail: impl Into<String>) -> StoreError {
    StoreError {
        kind,
        detail: detail.into(),
    }
}
