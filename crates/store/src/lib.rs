//! Storage for Baukasten: submissions, drafts, attachments, idempotency keys and the audit
//! trail.
//!
//! At the end of its retention period a submission is redacted ([`Store::redact`]): its
//! answers, attachments and outbox entries are deleted and a minimal record stays. Deciding
//! when is the caller's (the server's daily job, with the engine's rules).
//!
//! [`Store`] is the one interface the server talks to; [`RedbStore`] is the embedded default
//! (one file, ACID, fsync on every commit). A submission the store has acknowledged is on disk:
//! [`Store::submit`] returns only after its transaction is committed durably. Concurrent
//! submissions share one commit (group commit) instead of paying one fsync each.
//!
//! The store knows nothing of HTTP, HTML or services: it keeps JSON values and bytes with
//! the metadata the server hands over. It is synchronous; callers on an async runtime run it
//! on a blocking thread.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

pub mod backend;
#[cfg(feature = "conformance")]
pub mod conformance;
pub mod copy;
pub mod faults;
mod redb_store;
mod reference;
mod tally;

pub use redb_store::{BATCH_SIZES, COMMIT_SECONDS, FORMAT_VERSION, MAX_BATCH, RedbStore, Verified, WriterStats};
pub use reference::{ALPHABET, new_reference};
pub use tally::{KindTally, Tally};

/// The one error type of the crate.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind}: {detail}")]
pub struct StoreError {
    pub kind: ErrorKind,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The database file could not be opened, read or written.
    #[error("storage failure")]
    Io,
    /// The file was written by a newer Baukasten, or is not a Baukasten store.
    #[error("incompatible store file")]
    Incompatible,
    /// A stored record could not be decoded.
    #[error("corrupt record")]
    Corrupt,
    /// The store is shutting down and takes no more writes.
    #[error("store closed")]
    Closed,
}

/// What the server hands over when a citizen sends a service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NewSubmission {
    /// The municipality (tenant) id; `None` for a shared service used without a municipality.
    pub tenant: Option<String>,
    pub service: String,
    /// The service version the citizen filled in (pinned).
    pub version: String,
    /// The hash of the compiled definition (pinned).
    pub definition_hash: String,
    /// The reference's prefix, e.g. `BPA` (upper-case letters and digits).
    pub reference_prefix: String,
    /// The clean submission: visible answers and computed values.
    pub data: Json,
    /// The fee total as an exact decimal string, e.g. `"30.70"`.
    pub fee_total: String,
    /// Attachments stored before with [`Store::put_attachment`].
    pub attachments: Vec<String>,
    /// The draft this submission finishes; deleted in the same transaction.
    pub draft: Option<String>,
    /// Where the submission is to be delivered: one outbox entry each, written in the same
    /// transaction as the submission, so none is lost and none is promised without it.
    #[serde(default)]
    pub deliveries: Vec<NewDelivery>,
}

/// A delivery the server asks for with a submission: a channel and a target named in the
/// service's `deliver:` list, such as `webhook` / `fachverfahren`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct NewDelivery {
    pub channel: String,
    pub target: String,
    /// What the delivery is about beyond the submission itself, e.g. `state:genehmigt` for a
    /// message about a new state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
}

/// One entry of the outbox: a submission on its way to one target, with every attempt.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Delivery {
    /// Unique and the same for every attempt (`msg_…`): receivers drop duplicates by it.
    pub id: String,
    pub reference: String,
    pub tenant: Option<String>,
    pub channel: String,
    pub target: String,
    /// See [`NewDelivery::event`]; `None` for the submission's own deliveries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<String>,
    pub status: DeliveryStatus,
    /// Every attempt, oldest first, over every series (a resend starts a new series).
    pub attempts: Vec<DeliveryAttempt>,
    /// How many of `attempts` came before the current series.
    pub series_start: usize,
    /// When the next attempt is due, while the delivery is pending.
    pub next_attempt: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    /// How far a delivery in several steps has come (FIT-Connect: the submission it opened at
    /// the destination, the attachments sent), so that the attempt after a failure or a
    /// restart goes on from there instead of starting again. Written and read by its channel;
    /// see [`Store::record_progress`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub progress: Option<serde_json::Value>,
    /// The target's name for it (FIT-Connect's `submissionId`), once it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub external_id: Option<String>,
    /// What the target reported about it afterwards (FIT-Connect's event log: received,
    /// accepted, rejected), oldest first; see [`Store::record_delivery_events`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub events: Vec<DeliveryEvent>,
}

/// Something a target reported about a delivery after it took it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryEvent {
    /// The target's id of the report (FIT-Connect: the event's `jti`); a report already
    /// recorded is not recorded twice.
    pub id: String,
    /// When the target says it happened.
    pub at: DateTime<Utc>,
    /// What happened, as the target names it, e.g. `accept-submission`.
    pub kind: String,
    /// Further words from the target, e.g. the reasons of a rejection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Delivery {
    /// The attempts of the current series (since the last resend).
    pub fn series_attempts(&self) -> usize {
        self.attempts.len().saturating_sub(self.series_start)
    }
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Waiting for its next attempt.
    Pending,
    /// The target took it.
    Delivered,
    /// Every attempt of the series failed.
    Failed,
    /// The target said it wants no more (a webhook's 410 Gone).
    Stopped,
}

/// One attempt to deliver.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeliveryAttempt {
    pub at: DateTime<Utc>,
    /// The target's answer, e.g. an HTTP status, if it answered.
    pub status: Option<u16>,
    /// What went wrong, if anything.
    pub error: Option<String>,
}

/// The outbox at a glance.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeliveryBacklog {
    /// Waiting for their next attempt.
    pub pending: u64,
    /// Every attempt of their series failed; a resend starts them again.
    pub failed: u64,
}

/// What follows an attempt, as the dispatcher decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterAttempt {
    Delivered,
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    Failed,
    Stopped,
}

/// A stored submission.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Submission {
    /// Unique, short, free of ambiguous characters: `BPA-2026-7K3Q9`.
    pub reference: String,
    pub tenant: Option<String>,
    pub service: String,
    pub version: String,
    pub definition_hash: String,
    pub data: Json,
    pub fee_total: String,
    pub attachments: Vec<String>,
    /// The process state; starts as the state the server names, e.g. `eingegangen`.
    pub state: String,
    pub created_at: DateTime<Utc>,
    /// The ids of its outbox entries, in the order they were written. Records written before
    /// the field existed name none; their entries are found through an index.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deliveries: Vec<String>,
    /// When its personal data was deleted at the end of its retention period (see
    /// [`Store::redact`]); `None` while it is kept. Records written before the field existed
    /// read as `None`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redacted_at: Option<DateTime<Utc>>,
}

/// The answer to [`Store::submit`].
#[derive(Debug, Clone, PartialEq)]
pub enum Submitted {
    /// Stored now, durably.
    Created(Submission),
    /// The idempotency key was seen before with the same request: the first submission.
    Replayed(Submission),
    /// The idempotency key was seen before with a different request.
    KeyReused,
}

/// The answer to [`Store::set_state`].
#[derive(Debug, Clone, PartialEq)]
pub enum StateChanged {
    /// Moved, and the move is in the audit trail.
    Moved(Submission),
    /// The submission was no longer in the state the move was checked against (someone else
    /// moved it first); nothing was written. Holds the submission as it is now.
    Conflict(Submission),
    /// No submission has this reference.
    NotFound,
}

/// An idempotency key as the server scopes it, and a fingerprint of the request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Idempotency {
    /// Scoped by the caller, e.g. `musterstadt/bewohnerparkausweis/<key>`.
    pub key: String,
    /// A hash of the request, to tell a retry from a reuse of the key.
    pub fingerprint: String,
}

/// A citizen's unfinished application, saved on every step.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Draft {
    /// Unguessable (128 random bits, hex); the session cookie carries it.
    pub id: String,
    /// Short code to continue later, e.g. `K7Q3-M9XA`; unique among live drafts.
    pub resume_code: String,
    pub tenant: Option<String>,
    pub service: String,
    /// Pinned: a draft started on version 1 finishes on version 1.
    pub version: String,
    pub definition_hash: String,
    /// The answers so far, as the engine takes them.
    pub answers: Json,
    /// The step the citizen is on.
    pub step: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Metadata of a stored attachment. The bytes are stored beside it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Attachment {
    /// Unguessable id (128 random bits, hex).
    pub id: String,
    /// The municipality it was uploaded for; only its back office may read it. Records written
    /// before this field existed read as `None`.
    #[serde(default)]
    pub tenant: Option<String>,
    /// Sanitised by the server before it gets here.
    pub file_name: String,
    /// The type found from the content's magic bytes, e.g. `application/pdf`.
    pub media_type: String,
    pub size: u64,
    pub created_at: DateTime<Utc>,
}

/// The longest comment an audit entry keeps, in characters (Unicode scalar values); see
/// [`Store::set_state_with`].
pub const MAX_COMMENT_CHARS: usize = 2_000;

/// One line of the audit trail of a submission.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AuditEntry {
    pub at: DateTime<Utc>,
    /// Who acted: `citizen`, `clerk:<name>`, `system`.
    pub actor: String,
    /// What happened: `submitted`, `state:in_bearbeitung`, `exported`, …
    pub action: String,
    /// For a state change: the state it left (entries written before this field name none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// For a state change: what the clerk wrote about it, if anything.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

/// A clerk's account in the back office: one municipality, a name, a password hash (PHC
/// string, argon2id; the server hashes and verifies, the store only keeps it).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Account {
    pub tenant: String,
    pub name: String,
    pub password_hash: String,
    pub created_at: DateTime<Utc>,
}

/// A clerk signed in to the back office. The id is the cookie's value: 128 random bits, hex.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ClerkSession {
    pub id: String,
    pub tenant: String,
    pub name: String,
    pub created_at: DateTime<Utc>,
    /// The last request seen, to the minute: a session idle longer than the server's timeout
    /// is over.
    pub last_seen: DateTime<Utc>,
}

/// Which of a municipality's submissions the inbox lists.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxQuery {
    pub tenant: String,
    /// Only this service's.
    pub service: Option<String>,
    /// Only those in this state.
    pub state: Option<String>,
    /// Received at or after.
    pub from: Option<DateTime<Utc>>,
    /// Received before.
    pub until: Option<DateTime<Utc>>,
    /// Words that must all occur (case-insensitive) in the reference or in one of
    /// `text_fields`.
    pub text: Option<String>,
    /// Paths into the answers whose values the text is searched in, e.g. `name` or
    /// `antragsteller.familienname` (the server names a service's name fields).
    pub text_fields: Vec<String>,
    /// The cursor of the page before ([`InboxPage::next`]); none for the first page.
    pub after: Option<String>,
    pub limit: usize,
}

/// One page of the inbox, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxPage {
    pub submissions: Vec<Submission>,
    /// The cursor of the next page, if there are more. Stable: submissions received meanwhile
    /// do not shift later pages.
    pub next: Option<String>,
}

/// Storage of everything the server keeps.
///
/// Every method is blocking and safe to call from many threads at once.
pub trait Store: Send + Sync {
    /// Stores a submission durably and returns it with its new reference. With an idempotency
    /// key, a retry returns the first submission and stores nothing twice. The draft named in
    /// `new.draft`, if any, is deleted in the same transaction. Writes an audit entry
    /// `submitted`.
    fn submit(
        &self,
        new: NewSubmission,
        idempotency: Option<Idempotency>,
        initial_state: &str,
        now: DateTime<Utc>,
    ) -> Result<Submitted, StoreError>;

    fn submission(&self, reference: &str) -> Result<Option<Submission>, StoreError>;

    /// A municipality's submissions, newest first, at most `limit`.
    fn submissions(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<Submission>, StoreError>;

    /// Moves a submission from state `from` to state `to` and writes an audit entry, as one
    /// compare-and-set: the state is read inside the writing transaction, and if it is not
    /// `from` any more (another clerk moved it since the caller checked the move) nothing is
    /// written and the answer is [`StateChanged::Conflict`].
    ///
    /// The audit entry is `state:<to>` with [`AuditEntry::from`] the state it left.
    fn set_state(
        &self,
        reference: &str,
        from: &str,
        to: &str,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<StateChanged, StoreError> {
        self.set_state_with(reference, from, to, actor, None, now, Vec::new())
    }

    /// [`Store::set_state`] with the clerk's `comment` in the audit entry, writing
    /// `deliveries` (a message to the citizen about the new state) to the outbox in the same
    /// transaction, due at `now`, only if the move is made.
    ///
    /// The comment is kept as given, but at most [`MAX_COMMENT_CHARS`] characters: a longer
    /// one is cut there (at a character boundary) rather than refused, so a move is never lost
    /// over its comment. The server may refuse long comments before they get here.
    // The arguments are the move itself; a struct would only rename them at every call.
    #[allow(clippy::too_many_arguments)]
    fn set_state_with(
        &self,
        reference: &str,
        from: &str,
        to: &str,
        actor: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
        deliveries: Vec<NewDelivery>,
    ) -> Result<StateChanged, StoreError>;

    fn audit(&self, reference: &str) -> Result<Vec<AuditEntry>, StoreError>;

    /// When the submission last changed its state: the time of its latest audit entry whose
    /// action starts with `state:`; `None` if it never moved (it is still in the state it was
    /// submitted in, since [`Submission::created_at`]) or does not exist. The retention job
    /// counts a final state's period from here.
    fn last_state_change(&self, reference: &str) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Deletes a submission's personal data at the end of its retention period, in one write,
    /// and keeps a minimal record:
    ///
    /// - its `data` becomes `{}`, its attachments (metadata and bytes) are deleted and its
    ///   `attachments` emptied;
    /// - every outbox entry of it is deleted, delivered or not (they hold e-mail addresses),
    ///   with its place in the due and failed indexes, and its `deliveries` emptied;
    /// - the clerks' comments in its audit trail are removed (free text, which may name
    ///   people); the entries themselves stay, and an entry `redacted` by `system` is added;
    /// - [`Submission::redacted_at`] is set to `now`.
    ///
    /// The reference, municipality, service, version, definition hash, state, fee total and
    /// receipt time stay, and so do the state counts. Idempotency records naming the
    /// submission are left: they hold a fingerprint of the request, not its answers, and are
    /// forgotten after their lifetime anyway ([`Store::expire_idempotency_keys`]); finding
    /// them would mean a scan of all of them.
    ///
    /// Returns the record as it is now; `None` if there is no such submission. Redacting a
    /// redacted submission writes nothing and returns it. A damaged record among those to
    /// change fails the call with [`ErrorKind::Corrupt`] and nothing is written.
    fn redact(&self, reference: &str, now: DateTime<Utc>) -> Result<Option<Submission>, StoreError>;

    /// Creates a draft with a fresh id and resume code.
    fn create_draft(&self, draft: NewDraft, now: DateTime<Utc>) -> Result<Draft, StoreError>;
    /// Saves answers and the current step of an existing draft. `None` if it is gone.
    fn update_draft(
        &self,
        id: &str,
        answers: &Json,
        step: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Draft>, StoreError>;
    fn draft(&self, id: &str) -> Result<Option<Draft>, StoreError>;
    /// Finds a draft by its resume code (case-insensitive, dashes and spaces ignored).
    fn draft_by_code(&self, code: &str) -> Result<Option<Draft>, StoreError>;
    /// Deletes drafts not updated since `before`; returns how many.
    fn expire_drafts(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;
    /// Whether the store can write now (for a readiness check). After a storage failure it
    /// tries again; `Err` says what still fails.
    fn ready(&self) -> Result<(), StoreError>;

    /// Forgets idempotency keys first used before `before`; returns how many. A retry with
    /// such a key afterwards is a new request.
    fn expire_idempotency_keys(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;

    fn put_attachment(
        &self,
        tenant: Option<&str>,
        file_name: &str,
        media_type: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Attachment, StoreError>;
    fn attachment(&self, id: &str) -> Result<Option<(Attachment, Vec<u8>)>, StoreError>;
    /// Deletes uploads made before `before` that no submission and no draft names; returns
    /// how many. An upload for an abandoned draft goes once the draft has expired.
    fn expire_uploads(&self, before: DateTime<Utc>) -> Result<usize, StoreError>;
    /// The bytes of the uploads kept per municipality, for quotas and metrics.
    fn upload_bytes(&self) -> Result<BTreeMap<String, u64>, StoreError>;
    /// What the store has done since it was opened and whether it can write now, for metrics.
    fn stats(&self) -> StoreStats;

    /// Keeps a published definition under the hash it was published with, so that drafts and
    /// submissions pinned to it can be evaluated after a restart, after a newer version was
    /// published, and by a later release. Storing the same hash twice is a no-op.
    fn put_definition(&self, hash: &str, record: &DefinitionRecord) -> Result<(), StoreError>;
    fn definition(&self, hash: &str) -> Result<Option<DefinitionRecord>, StoreError>;

    /// Keeps the source files of a published catalog under a key (`catalog:<hash of the
    /// files>`), once for all its definitions. Storing the same key twice is a no-op.
    fn put_catalog(&self, key: &str, sources: &CatalogSources) -> Result<(), StoreError>;

    /// Pending deliveries whose next attempt is due at `now`, soonest first, at most `limit`.
    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    /// Like [`Store::due_deliveries`], and claims what it returns for `lease`: until the lease
    /// ends, or until an attempt on it is recorded, no other call returns it, on this instance
    /// or another sharing the database. So several dispatchers never attempt one delivery at
    /// the same time; one that dies holding a claim leaves its deliveries to the others once
    /// the lease ends.
    fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<Delivery>, StoreError>;

    /// When the next pending delivery is due, if any: the dispatcher sleeps until then.
    fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError>;

    /// Records an attempt and what follows it. Durable when it returns, so an attempt that
    /// succeeded is never repeated after a restart, and one that did not is retried.
    fn record_attempt(
        &self,
        id: &str,
        attempt: DeliveryAttempt,
        after: AfterAttempt,
    ) -> Result<Option<Delivery>, StoreError>;

    /// Records the attempts of one round of the dispatcher in one write: cheaper for the writer
    /// than one each, and durable together when it returns.
    fn record_attempts(&self, attempts: Vec<(String, DeliveryAttempt, AfterAttempt)>) -> Result<(), StoreError> {
        for (id, attempt, after) in attempts {
            self.record_attempt(&id, attempt, after)?;
        }
        Ok(())
    }

    /// The deliveries of a submission, in the order they were asked for.
    fn deliveries(&self, reference: &str) -> Result<Vec<Delivery>, StoreError>;

    /// Starts a fresh series of attempts for a delivery, due at `now`, whatever its status.
    /// The progress of a delivered one is dropped (it is sent afresh); that of a failed one is
    /// kept (it goes on).
    fn resend(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Delivery>, StoreError>;

    /// Keeps how far a delivery in several steps has come ([`Delivery::progress`]); durable
    /// when it returns. `external_id` is the target's name for it (FIT-Connect's
    /// `submissionId`), under which [`Store::delivery_by_external_id`] finds it again when the
    /// target calls back. `Ok(false)` when there is no such delivery.
    fn record_progress(
        &self,
        id: &str,
        progress: serde_json::Value,
        external_id: Option<&str>,
    ) -> Result<bool, StoreError>;

    /// The delivery a target knows under `external_id` (see [`Store::record_progress`]).
    fn delivery_by_external_id(&self, external_id: &str) -> Result<Option<Delivery>, StoreError>;

    /// Adds what a target reported about a delivery, skipping reports already recorded (by
    /// [`DeliveryEvent::id`]), in the order given. Returns the delivery as it is now.
    fn record_delivery_events(&self, id: &str, events: Vec<DeliveryEvent>) -> Result<Option<Delivery>, StoreError>;

    /// How many deliveries wait for an attempt and how many have failed (for `/metrics`).
    fn delivery_backlog(&self) -> Result<DeliveryBacklog, StoreError>;

    /// Deliveries whose every attempt failed, of one municipality (the inbox's overview), at
    /// most `limit`.
    fn failed_deliveries(&self, tenant: &str, limit: usize) -> Result<Vec<Delivery>, StoreError>;

    /// How many writes wait for their commit just now. The dispatcher holds back its own
    /// writes while others wait (a burst of submissions), so intake keeps its pace. A store
    /// that cannot tell says 0.
    fn writes_waiting(&self) -> usize {
        0
    }
    fn catalog(&self, key: &str) -> Result<Option<CatalogSources>, StoreError>;

    // The back office's accounts and sessions.

    /// Adds an account, or replaces the one of that municipality and name (a new password).
    fn put_account(&self, account: Account) -> Result<(), StoreError>;
    fn account(&self, tenant: &str, name: &str) -> Result<Option<Account>, StoreError>;
    /// A municipality's accounts, by name.
    fn accounts(&self, tenant: &str) -> Result<Vec<Account>, StoreError>;
    /// Removes an account and ends its sessions (in one transaction); false if there was none.
    fn remove_account(&self, tenant: &str, name: &str) -> Result<bool, StoreError>;
    /// Starts a session for an account (which the caller has checked).
    fn create_clerk_session(&self, tenant: &str, name: &str, now: DateTime<Utc>) -> Result<ClerkSession, StoreError>;
    /// The session with this id, if it exists, its account still does, and it was last seen
    /// less than `idle` ago; it is then seen now (written at most once a minute). An expired
    /// session is removed.
    ///
    /// The server calls this on every back-office request, so it is a read unless something
    /// must be written: `last_seen` is moved to `now` only once it is a minute or more behind
    /// (the answer then carries the new value), and an expired session, one whose account is
    /// gone or one whose record is damaged is removed.
    fn clerk_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<ClerkSession>, StoreError>;
    /// Ends a session (sign-out); nothing happens for an unknown id.
    fn end_clerk_session(&self, id: &str) -> Result<(), StoreError>;

    // The inbox.

    /// A page of a municipality's submissions, newest first, filtered by `query`.
    ///
    /// `limit` 0 means 50; more than 500 means 500. The page's `next` is set only when more
    /// matching submissions follow. A cursor is opaque to the caller; one that this store did
    /// not make (it does not parse) is taken as no cursor: the first page is returned. Damaged
    /// records are left out, as in every list.
    ///
    /// Without filters a page reads its own submissions and one more (to know whether another
    /// page follows), however many there are. `from` and `until` narrow the range read; a
    /// `state` (else a `service`) filter reads that state's (service's) index, so it costs no
    /// more than no filter; `text` (and a service filter beside a state filter) is checked on
    /// each submission read, so a rare match may read many of them.
    fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError>;
    /// How many of a municipality's submissions are in each state (all services). States
    /// without submissions are left out. Kept up to date on every write rather than counted,
    /// so it is cheap to ask on every page of the inbox.
    fn state_counts(&self, tenant: &str) -> Result<BTreeMap<String, u64>, StoreError>;

    // Copying a store (`baukasten store copy`).

    /// Whether the store holds nothing at all: no submission, draft, upload, definition,
    /// delivery, account or session.
    fn is_empty(&self) -> Result<bool, StoreError>;

    /// Hands every record the store holds to `each`, kind by kind (definitions, submissions
    /// with their audit trails, idempotency keys, drafts, uploads, the outbox, accounts,
    /// sessions). A damaged record fails the export with [`ErrorKind::Corrupt`]: a copy never
    /// silently leaves something behind.
    fn export(&self, each: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError>;

    /// Writes records as [`Store::export`] made them, keys and all, in one transaction, with
    /// every index and count they belong to. For copying into an empty store: a record whose
    /// key exists already is replaced.
    fn import(&self, records: Vec<Record>) -> Result<(), StoreError>;
}

/// One record of a store, as [`Store::export`] hands it out and [`Store::import`] takes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Record {
    /// A published definition (under its hash) or catalog (under `catalog:…`), as JSON.
    Definition {
        key: String,
        value: Json,
    },
    Submission(Submission),
    /// One line of a submission's audit trail, at its place.
    Audit {
        reference: String,
        seq: u64,
        entry: AuditEntry,
    },
    Idempotency {
        key: String,
        fingerprint: String,
        reference: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        created_at: Option<DateTime<Utc>>,
    },
    Draft(Draft),
    Upload {
        attachment: Attachment,
        bytes: Vec<u8>,
    },
    Delivery(Delivery),
    Account(Account),
    ClerkSession(ClerkSession),
}

impl Record {
    /// The kind's name, as counts are reported per kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Record::Definition { .. } => "definitions",
            Record::Submission(_) => "submissions",
            Record::Audit { .. } => "audit",
            Record::Idempotency { .. } => "idempotency",
            Record::Draft(_) => "drafts",
            Record::Upload { .. } => "uploads",
            Record::Delivery(_) => "deliveries",
            Record::Account(_) => "accounts",
            Record::ClerkSession(_) => "clerk_sessions",
        }
    }
}

/// The store's counters for `/metrics`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct StoreStats {
    /// No storage failure since the last successful commit.
    pub writable: bool,
    pub commits: u64,
    /// Writes carried by the commits (`writes / commits` is the average batch).
    pub writes: u64,
    pub failed_commits: u64,
    /// Damaged records left out of lists since the store was opened.
    pub damaged_records: u64,
    /// Per bound of [`COMMIT_SECONDS`], the commits that took at most that long (cumulative).
    pub commit_seconds: Vec<u64>,
    pub commit_seconds_sum: f64,
    /// Per bound of [`BATCH_SIZES`], the commits that carried at most that many writes.
    pub batch_sizes: Vec<u64>,
}

/// A published definition: which municipality's service it is, and the catalog sources it was
/// compiled from. It is found by the hash it was published with, which is a name: a later
/// release compiles the sources again and never re-derives the hash to find it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DefinitionRecord {
    /// The key of the catalog's sources, see [`Store::put_catalog`].
    pub catalog: String,
    pub tenant: String,
    pub service: String,
    /// The service's version; records written before 0.1.0's store fixture have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

/// The source files of a published catalog, as the clerks wrote them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CatalogSources {
    pub files: Vec<SourceText>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceText {
    pub path: String,
    pub text: String,
}

/// What the server knows when a citizen starts a service.
#[derive(Debug, Clone, PartialEq)]
pub struct NewDraft {
    pub tenant: Option<String>,
    pub service: String,
    pub version: String,
    pub definition_hash: String,
    pub answers: Json,
}
