//! [`RedbStore`]: the embedded store, one redb file on the local disk.
//!
//! # Writes: one writer thread, group commit
//!
//! Every write (submissions, drafts, attachments, definitions, state changes, accounts and
//! sessions) is a job sent over a channel to one writer thread. The writer takes the first
//! waiting job and everything queued behind it (at most [`MAX_BATCH`]), runs them one after
//! another in ONE write transaction, commits it with immediate durability (fsync) and only
//! then answers each caller. Sixty-four citizens sending at once therefore pay for one or two
//! fsyncs together instead of sixty-four in a row, and still nothing is acknowledged before it
//! is on disk.
//!
//! Because the jobs of a batch run in order inside the same transaction, each one sees what
//! the ones before it wrote: a second request with the same idempotency key in the same batch
//! finds the first one's key and becomes its replay, and two references drawn in one batch are
//! checked against each other.
//!
//! A job reads and checks everything it needs before it writes anything, so a job that fails
//! on its own (a corrupt record) leaves no half-written trace and the rest of the batch commits.
//! A storage failure (disk full, I/O error) aborts the whole batch and every caller in it gets
//! the error; nothing of the batch is stored, and nothing was acknowledged.
//!
//! Reads do not go through the writer: redb gives each read transaction a consistent snapshot
//! of the last commit, concurrently with the writer.
//!
//! # The file
//!
//! Values are JSON (serde_json) bytes, except attachment contents, which are raw bytes in a
//! table of their own so that reading metadata never loads them. The tables and their keys:
//!
//! | table | key | value |
//! | --- | --- | --- |
//! | `meta` | `"format_version"` | JSON number, see [`FORMAT_VERSION`] |
//! | `submissions` | reference | [`Submission`] |
//! | `submissions_by_tenant` (since version 2) | (tenant or none, created µs, reference) | `()` |
//! | `audit` | (reference, sequence number) | [`AuditEntry`] |
//! | `idempotency` | scoped key | `{"fingerprint", "reference", "created_at"}` (forgotten after their lifetime) |
//! | `drafts` | draft id | [`Draft`] |
//! | `drafts_by_update` | (updated µs, draft id) | `()` |
//! | `resume_codes` | code without dash, upper case | draft id |
//! | `attachments` | attachment id | [`Attachment`] |
//! | `attachment_bytes` | attachment id | the bytes |
//! | `definitions` | definition hash | the definition's JSON |
//! | `outbox` | delivery id (`msg_…`) | [`Delivery`] |
//! | `outbox_due` | (next attempt µs, delivery id), pending deliveries only | `()` |
//! | `outbox_by_reference` | (reference, position) | delivery id; only in files of the first release with an outbox (since then a submission's record names its entries) |
//! | `outbox_failed` | delivery id, failed deliveries only | `()` |
//! | `outbox_by_external_id` (only once a delivery named one) | the target's id of a delivery (FIT-Connect's `submissionId`) | delivery id |
//! | `state_counts` (since version 4) | (tenant or `""`, state) | how many of the tenant's submissions are in the state (u64; no row for none) |
//! | `accounts` (since version 4) | (tenant, name) | [`Account`] |
//! | `clerk_sessions` (since version 4) | session id | [`ClerkSession`] |
//! | `submissions_by_state` (since version 4) | (tenant or `""`, state, created µs, reference) | `()` |
//! | `submissions_by_service` (since version 4) | (tenant or `""`, service, created µs, reference) | `()` |
//!
//! `state_counts` and `submissions_by_state` are kept in the same transaction as every write
//! that adds a submission or moves one, so they always agree with `submissions`; the inbox
//! asks the counts instead of counting, and reads a state's or a service's submissions as a
//! range of its index instead of reading everyone's.
//!
//! # Redaction
//!
//! At the end of its retention period [`Store::redact`] empties a submission in one
//! transaction: its record keeps `{}` as `data` and gets `redacted_at`; its rows in
//! `attachments` and `attachment_bytes`, in `outbox`, `outbox_due`, `outbox_failed`,
//! `outbox_by_external_id` and (in old files) `outbox_by_reference` are deleted; its `audit` entries lose their `comment` and
//! gain one `redacted`. Its rows in `submissions_by_tenant` and `state_counts` stay, and so
//! do `idempotency` records naming it (they hold no answers and expire).
//!
//! # Copying
//!
//! [`Store::export`] reads every record of every table in one read transaction, a consistent
//! snapshot, and hands them out one at a time; [`Store::import`] is one write job that writes
//! records and rebuilds every index and count above from them, through the same helpers as
//! the store's own writes (`copy.rs`). The indexes are never copied as they are.
//!
//! # Format versions
//!
//! | version | what changed | migration |
//! | --- | --- | --- |
//! | 1 | the first | — |
//! | 2 | `submissions_by_tenant` | built from the submissions |
//! | 3 | records end in a checksum (see [`seal`]) | none: older records are read without one |
//! | 4 | `state_counts`, `accounts`, `clerk_sessions`, `submissions_by_state`, `submissions_by_service`; audit entries with `from` and `comment` | counts and indexes built from the submissions |
//!
//! A redacted submission's `redacted_at` needed no new version: a record without it reads as
//! kept, and an older release ignores the key and shows the emptied record.
//!
//! A file without `meta.format_version` gets the current version if it holds no tables yet
//! and is refused as "not a Baukasten store" otherwise. An older version is migrated on open,
//! all steps in one transaction; a newer one is refused with [`ErrorKind::Incompatible`].

use std::collections::BTreeMap;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::thread::JoinHandle;

use chrono::{DateTime, Datelike, Utc};
use redb::{
    Database, DatabaseError, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table,
    TableDefinition, TableHandle, WriteTransaction,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use crate::backend::{
    INBOX_DEFAULT_LIMIT, INBOX_MAX_LIMIT, IdempotencyRecord, TextFilter, add_events, apply_attempt, apply_resend,
    audit_entry, collect_file_ids, cut_comment, decode, encode, error, inbox_cursor, new_deliveries, new_submission,
    parse_inbox_cursor, redact_record, seal, unseal_file,
};
use crate::reference::{self, REFERENCE_CHARS};
use crate::{
    Account, AfterAttempt, Attachment, AuditEntry, CatalogSources, ClerkSession, DefinitionRecord, Delivery,
    DeliveryAttempt, DeliveryBacklog, DeliveryEvent, DeliveryStatus, Draft, ErrorKind, Idempotency, InboxPage,
    InboxQuery, NewDelivery, NewDraft, NewSubmission, Record, StateChanged, Store, StoreError, StoreStats, Submission,
    Submitted,
};

mod copy;

/// The file format this build writes; the module documentation lists the versions and
/// [`MIGRATIONS`] the steps between them.
pub const FORMAT_VERSION: u64 = 4;

/// The most jobs one write transaction takes. Large enough that a burst of concurrent
/// submissions shares a commit, small enough that one transaction stays short and a caller at
/// the end of a batch does not wait long for the ones before it.
pub const MAX_BATCH: usize = 256;

const FORMAT_VERSION_KEY: &str = "format_version";

type Bytes = &'static [u8];
type Str = &'static str;

const META: TableDefinition<Str, Bytes> = TableDefinition::new("meta");
const SUBMISSIONS: TableDefinition<Str, Bytes> = TableDefinition::new("submissions");
const BY_TENANT: TableDefinition<(Option<Str>, i64, Str), ()> = TableDefinition::new("submissions_by_tenant");
const AUDIT: TableDefinition<(Str, u64), Bytes> = TableDefinition::new("audit");
const IDEMPOTENCY: TableDefinition<Str, Bytes> = TableDefinition::new("idempotency");
const DRAFTS: TableDefinition<Str, Bytes> = TableDefinition::new("drafts");
const DRAFTS_BY_UPDATE: TableDefinition<(i64, Str), ()> = TableDefinition::new("drafts_by_update");
const RESUME_CODES: TableDefinition<Str, Str> = TableDefinition::new("resume_codes");
const ATTACHMENTS: TableDefinition<Str, Bytes> = TableDefinition::new("attachments");
const ATTACHMENT_BYTES: TableDefinition<Str, Bytes> = TableDefinition::new("attachment_bytes");
const DEFINITIONS: TableDefinition<Str, Bytes> = TableDefinition::new("definitions");
const OUTBOX: TableDefinition<Str, Bytes> = TableDefinition::new("outbox");
const OUTBOX_DUE: TableDefinition<(i64, Str), ()> = TableDefinition::new("outbox_due");
const OUTBOX_BY_REFERENCE: TableDefinition<(Str, u64), Str> = TableDefinition::new("outbox_by_reference");
const OUTBOX_FAILED: TableDefinition<Str, ()> = TableDefinition::new("outbox_failed");
/// A delivery by the target's name for it (FIT-Connect's `submissionId`); created by the first
/// [`Store::record_progress`] that names one.
const OUTBOX_BY_EXTERNAL_ID: TableDefinition<Str, Str> = TableDefinition::new("outbox_by_external_id");
const STATE_COUNTS: TableDefinition<(Str, Str), u64> = TableDefinition::new("state_counts");
/// (tenant or "", state, created µs, reference): the inbox filtered by state is a range read.
const BY_STATE: TableDefinition<(Str, Str, i64, Str), ()> = TableDefinition::new("submissions_by_state");
/// (tenant or "", service, created µs, reference): the inbox filtered by service likewise.
const BY_SERVICE: TableDefinition<(Str, Str, i64, Str), ()> = TableDefinition::new("submissions_by_service");
const ACCOUNTS: TableDefinition<(Str, Str), Bytes> = TableDefinition::new("accounts");
const CLERK_SESSIONS: TableDefinition<Str, Bytes> = TableDefinition::new("clerk_sessions");

/// The embedded store: one redb file, one writer thread with group commit.
///
/// Dropping it (or calling [`RedbStore::close`]) finishes the writes already queued and
/// releases the file; every call after that fails with [`ErrorKind::Closed`].
pub struct RedbStore {
    path: PathBuf,
    /// Taken out on close, so that the file is released once the last reader is done; also
    /// taken out by the writer while it reopens the file after a storage failure.
    db: Arc<RwLock<Option<Arc<Database>>>>,
    /// Why writes fail now, from the last failed commit until one succeeds again.
    failing: Arc<Mutex<Option<StoreError>>>,
    /// The writer's queue; dropping the sender tells the writer to finish and stop.
    queue: RwLock<Option<mpsc::Sender<Job>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    stats: Arc<Counters>,
    /// The deliveries a dispatcher claimed ([`Store::claim_due_deliveries`]), until when. Only
    /// this process opens the file, so the claims live in memory.
    claims: Mutex<std::collections::HashMap<String, DateTime<Utc>>>,
}

/// What the writer has done since the store was opened; see [`RedbStore::writer_stats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriterStats {
    /// Write transactions committed.
    pub commits: u64,
    /// Writes (submissions, drafts, …) committed in them. `writes / commits` is the average
    /// batch of the group commit.
    pub writes: u64,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    writes: AtomicU64,
    failed: AtomicU64,
    /// Damaged records met while reading lists.
    damaged: AtomicU64,
    /// Per bucket of [`COMMIT_SECONDS`], the commits that took at most that long; then the sum.
    commit_seconds: Mutex<(Vec<u64>, f64)>,
    /// Per bucket of [`BATCH_SIZES`], the commits that carried at most that many writes.
    batch_sizes: Mutex<Vec<u64>>,
    /// Writes handed to the writer whose callers wait for their commit.
    waiting: AtomicUsize,
}

impl Counters {
    fn committed(&self, writes: usize, took: std::time::Duration) {
        self.commits.fetch_add(1, Ordering::Relaxed);
        self.writes.fetch_add(writes as u64, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        {
            let mut hist = self.commit_seconds.lock().unwrap_or_else(PoisonError::into_inner);
            if hist.0.is_empty() {
                hist.0 = vec![0; COMMIT_SECONDS.len()];
            }
            for (bound, count) in COMMIT_SECONDS.iter().zip(hist.0.iter_mut()) {
                if secs <= *bound {
                    *count += 1;
                }
            }
            hist.1 += secs;
        }
        let mut sizes = self.batch_sizes.lock().unwrap_or_else(PoisonError::into_inner);
        if sizes.is_empty() {
            *sizes = vec![0; BATCH_SIZES.len()];
        }
        for (bound, count) in BATCH_SIZES.iter().zip(sizes.iter_mut()) {
            if writes as u64 <= *bound {
                *count += 1;
            }
        }
    }
}

/// What [`RedbStore::verify`] found.
#[derive(Debug, Default)]
pub struct Verified {
    /// Records read.
    pub checked: usize,
    /// One error per damaged record, naming its table and key.
    pub damaged: Vec<StoreError>,
}

/// Upper bounds (seconds) of the commit-latency histogram of [`StoreStats`].
pub const COMMIT_SECONDS: &[f64] = &[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0];
/// Upper bounds of the batch-size histogram of [`StoreStats`].
pub const BATCH_SIZES: &[u64] = &[1, 2, 4, 8, 16, 32, 64, 128, 256];

impl std::fmt::Debug for RedbStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedbStore")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl RedbStore {
    /// Writes a record of the `definitions` table unless its key is there already: a
    /// published definition never changes.
    fn put_once(&self, key: &str, record: &impl Serialize) -> Result<(), StoreError> {
        let key = key.to_owned();
        // Encoded here, on the caller's thread, to keep the writer's time short.
        let encoded = encode(record)?;
        self.write(move |t| {
            if t.definitions.get(key.as_str()).map_err(storage)?.is_none() {
                t.definitions
                    .insert(key.as_str(), encoded.as_slice())
                    .map_err(storage)?;
            }
            Ok(())
        })
    }

    /// Opens the store at `path`, creating the file (and its folder) if needed, and migrating
    /// an older format version in one transaction.
    ///
    /// Fails with [`ErrorKind::Incompatible`] for a file that is not a redb database, a redb
    /// database that is not a Baukasten store, or one written by a newer Baukasten; with
    /// [`ErrorKind::Io`] when the file cannot be opened or is in use by another process.
    pub fn open(path: &Path) -> Result<RedbStore, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                error(
                    ErrorKind::Io,
                    format!("cannot create the folder {}: {e}", parent.display()),
                )
            })?;
        }
        let owned = path.to_owned();
        Self::open_with(
            path,
            Arc::new(move || Database::create(&owned).map_err(|e| open_error(&owned, e))),
        )
    }

    /// Opens the store on a storage backend other than a plain file: `backend` is called for
    /// the first open and again for every reopen after a storage failure. `path` names the
    /// store in messages. Tests use it to inject faults (a disk that is full for a while).
    pub fn open_with_backend<B, F>(path: &Path, backend: F) -> Result<RedbStore, StoreError>
    where
        B: redb::StorageBackend,
        F: Fn() -> std::io::Result<B> + Send + Sync + 'static,
    {
        let owned = path.to_owned();
        Self::open_with(
            path,
            Arc::new(move || {
                let backend = backend().map_err(|e| error(ErrorKind::Io, format!("{}: {e}", owned.display())))?;
                Database::builder()
                    .create_with_backend(backend)
                    .map_err(|e| open_error(&owned, e))
            }),
        )
    }

    fn open_with(
        path: &Path,
        create: Arc<dyn Fn() -> Result<Database, StoreError> + Send + Sync>,
    ) -> Result<RedbStore, StoreError> {
        let owned = path.to_owned();
        let opener: Opener = Arc::new(move || {
            // redb trusts a file it shut down cleanly and may panic on one damaged by something
            // else; such a file must give an error, not take the server down.
            let opened = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let db = create()?;
                prepare(&db, &owned)?;
                Ok(db)
            }));
            opened.unwrap_or_else(|_| {
                Err(error(
                    ErrorKind::Corrupt,
                    format!("{} is damaged: the database could not be read", owned.display()),
                ))
            })
        });
        let db = Arc::new(RwLock::new(Some(Arc::new(opener()?))));
        let failing = Arc::new(Mutex::new(None));

        let (sender, receiver) = mpsc::channel::<Job>();
        let stats = Arc::new(Counters::default());
        let shared = WriterShared {
            db: Arc::clone(&db),
            opener,
            failing: Arc::clone(&failing),
            stats: Arc::clone(&stats),
        };
        let writer = std::thread::Builder::new()
            .name("baukasten-store-writer".to_owned())
            .spawn(move || run_writer(&shared, &receiver))
            .map_err(|e| error(ErrorKind::Io, format!("cannot start the writer thread: {e}")))?;

        Ok(RedbStore {
            path: path.to_owned(),
            db,
            failing,
            queue: RwLock::new(Some(sender)),
            writer: Mutex::new(Some(writer)),
            stats,
            claims: Mutex::default(),
        })
    }

    /// Reads every record of every table and checks it: its checksum, that it decodes, and
    /// that a file's bytes are there for its metadata. For `baukasten store verify`; the
    /// server must not have the file open.
    pub fn verify(&self) -> Result<Verified, StoreError> {
        let txn = self.read()?;
        let mut verified = Verified::default();
        let mut check = |result: Result<(), StoreError>| {
            verified.checked += 1;
            if let Err(e) = result {
                verified.damaged.push(e);
            }
        };
        for (name, table) in [
            ("submissions", SUBMISSIONS),
            ("idempotency", IDEMPOTENCY),
            ("drafts", DRAFTS),
            ("definitions", DEFINITIONS),
            ("clerk_sessions", CLERK_SESSIONS),
        ] {
            let table = txn.open_table(table).map_err(storage)?;
            for entry in table.iter().map_err(storage)? {
                let (key, value) = entry.map_err(storage)?;
                check(decode::<Json>(name, key.value(), value.value()).map(drop));
            }
        }
        let audit = txn.open_table(AUDIT).map_err(storage)?;
        for entry in audit.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (reference, seq) = key.value();
            check(decode::<AuditEntry>("audit", &format!("{reference}#{seq}"), value.value()).map(drop));
        }
        let accounts = txn.open_table(ACCOUNTS).map_err(storage)?;
        for entry in accounts.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (tenant, name) = key.value();
            check(decode::<Account>("accounts", &format!("{tenant}/{name}"), value.value()).map(drop));
        }
        let attachments = txn.open_table(ATTACHMENTS).map_err(storage)?;
        let bytes = txn.open_table(ATTACHMENT_BYTES).map_err(storage)?;
        for entry in attachments.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let id = key.value();
            check(
                decode::<Attachment>("attachments", id, value.value()).and_then(|attachment| {
                    let content = bytes.get(id).map_err(storage)?.ok_or_else(|| {
                        error(ErrorKind::Corrupt, format!("table attachment_bytes, key {id}: missing"))
                    })?;
                    unseal_file(id, content.value(), attachment.size).map(drop)
                }),
            );
        }
        Ok(verified)
    }

    /// How many commits the writer made and how many writes they carried, for metrics and to
    /// see the group commit at work.
    pub fn writer_stats(&self) -> WriterStats {
        WriterStats {
            commits: self.stats.commits.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
        }
    }

    /// The file this store keeps its data in.
    /// Ends the claims on deliveries whose attempt is being recorded.
    fn release<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        for id in ids {
            claims.remove(id);
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Finishes the writes already queued, then releases the file. Calls made afterwards fail
    /// with [`ErrorKind::Closed`]. Closing twice is harmless.
    pub fn close(&self) -> Result<(), StoreError> {
        // Dropping the only sender lets the writer drain the queue and then stop.
        drop(self.queue.write().unwrap_or_else(PoisonError::into_inner).take());
        let writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(writer) = writer
            && writer.join().is_err()
        {
            return Err(error(ErrorKind::Io, "the writer thread stopped abnormally"));
        }
        let db = self.db.write().unwrap_or_else(PoisonError::into_inner).take();
        // A reader still holding the database keeps it open until it is done; then the last
        // Arc is dropped and redb closes the file as on drop.
        if let Some(db) = db
            && let Ok(db) = Arc::try_unwrap(db)
        {
            db.close()
                .map_err(|e| error(ErrorKind::Io, format!("closing the database: {e}")))?;
        }
        Ok(())
    }

    /// The submission an index entry names, for a list: a damaged record, or one the index
    /// names but that is not there, is left out (logged and counted in
    /// [`StoreStats::damaged_records`]) instead of failing the list.
    fn listed(
        &self,
        table: &impl ReadableTable<Str, Bytes>,
        reference: &str,
    ) -> Result<Option<Submission>, StoreError> {
        match get_json(table, "submissions", reference) {
            Ok(Some(submission)) => Ok(Some(submission)),
            Ok(None) => {
                log::error!("table submissions_by_tenant names {reference}, which does not exist; left out of a list");
                self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) if e.kind == ErrorKind::Corrupt => {
                log::error!("a damaged submission was left out of a list: {e}");
                self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    fn db(&self) -> Result<Arc<Database>, StoreError> {
        let db = self.db.read().unwrap_or_else(PoisonError::into_inner).clone();
        db.ok_or_else(|| {
            if self.queue.read().unwrap_or_else(PoisonError::into_inner).is_some() {
                error(ErrorKind::Io, "the store is being reopened after a storage failure")
            } else {
                closed()
            }
        })
    }

    fn read(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.db()?.begin_read().map_err(storage)
    }

    /// Runs `op` on the writer thread inside the next batch's transaction and waits until
    /// that transaction is committed durably (or has failed).
    fn write<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'t> FnOnce(&mut Tables<'t>) -> Result<T, StoreError> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel::<Result<T, StoreError>>(1);
        let fallback = reply.clone();
        let run = Box::new(move |tables: &mut Tables<'_>| {
            let result = op(tables);
            // Only storage failures can strike between a job's first and last write; they
            // leave the transaction in an unknown state, so the whole batch is given up.
            let fatal = matches!(&result, Err(e) if aborts_batch(e));
            Done {
                fatal,
                reply: Box::new(move |commit: &Commit| {
                    let outcome = match commit {
                        Ok(()) => result,
                        Err(e) => Err(e.clone()),
                    };
                    // The caller may have gone away (a dropped request); nothing to do then.
                    let _ = reply.send(outcome);
                }),
            }
        });
        let abandon = Box::new(move |e: StoreError| {
            let _ = fallback.send(Err(e));
        });
        let job = Job { run, abandon };
        self.stats.waiting.fetch_add(1, Ordering::Relaxed);
        let _waited = Waiting(&self.stats.waiting);
        {
            let queue = self.queue.read().unwrap_or_else(PoisonError::into_inner);
            let sender = queue.as_ref().ok_or_else(closed)?;
            sender.send(job).map_err(|_| closed())?;
        }
        answer
            .recv()
            .map_err(|_| error(ErrorKind::Closed, "the writer stopped before the write was committed"))?
    }
}

/// One write counted in [`Counters::waiting`] until its caller has the answer (or gives up).
struct Waiting<'a>(&'a AtomicUsize);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Drop for RedbStore {
    fn drop(&mut self) {
        // Errors cannot be reported from drop; `close` is there for callers who want them.
        let _ = self.close();
    }
}

// ---------------------------------------------------------------------------------------------
// The writer thread.

/// A write job: runs inside the batch's transaction and returns how to answer its caller once
/// the commit's outcome is known.
struct Job {
    run: Box<dyn for<'t> FnOnce(&mut Tables<'t>) -> Done + Send>,
    /// Answers the caller instead when `run` cannot run or panics.
    abandon: Box<dyn FnOnce(StoreError) + Send>,
}

struct Done {
    /// The job failed in a way that may have left partial writes: abort the batch.
    fatal: bool,
    reply: Reply,
}

/// The outcome of a batch's commit, shared by every job in it.
type Commit = Result<(), StoreError>;

/// Answers one caller once the commit's outcome is known.
type Reply = Box<dyn FnOnce(&Commit) + Send>;

/// Opens (or reopens) the database, migrations included.
type Opener = Arc<dyn Fn() -> Result<Database, StoreError> + Send + Sync>;

/// What the writer thread shares with the store.
struct WriterShared {
    db: Arc<RwLock<Option<Arc<Database>>>>,
    opener: Opener,
    failing: Arc<Mutex<Option<StoreError>>>,
    stats: Arc<Counters>,
}

impl WriterShared {
    fn set_failing(&self, failure: Option<StoreError>) {
        *self.failing.lock().unwrap_or_else(PoisonError::into_inner) = failure;
    }

    /// Records what a commit says about the storage: a storage failure until the next
    /// successful commit.
    fn note(&self, commit: &Result<(), StoreError>) {
        match commit {
            Ok(()) => self.set_failing(None),
            Err(e) if e.kind == ErrorKind::Io => self.set_failing(Some(e.clone())),
            Err(_) => {}
        }
    }

    /// After a storage failure redb refuses every later write (`PreviousIo`) until the
    /// database is closed and opened again; opening again also recovers the file to its last
    /// commit. Readers holding the old handle are given a moment to finish.
    fn reopen(&self) -> Result<Arc<Database>, StoreError> {
        let old = self.db.write().unwrap_or_else(PoisonError::into_inner).take();
        if let Some(mut old) = old {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            loop {
                match Arc::try_unwrap(old) {
                    Ok(db) => {
                        // Closing may fail on the same fault; the reopen below decides.
                        let _ = db.close();
                        break;
                    }
                    Err(shared) if std::time::Instant::now() < deadline => {
                        old = shared;
                        std::thread::sleep(std::time::Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
        }
        let db = Arc::new((self.opener)()?);
        *self.db.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&db));
        Ok(db)
    }
}

fn run_writer(shared: &WriterShared, queue: &mpsc::Receiver<Job>) {
    // `recv` keeps returning queued jobs after the sender is dropped, so close() drains the
    // queue before the loop ends.
    while let Ok(first) = queue.recv() {
        let mut batch = Vec::with_capacity(16);
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let current = shared.db.read().unwrap_or_else(PoisonError::into_inner).clone();
        let db = match current {
            Some(db) => db,
            // The last reopen failed: try again for this batch.
            None => match shared.reopen() {
                Ok(db) => db,
                Err(e) => {
                    shared.set_failing(Some(e.clone()));
                    abandon_all(batch, &e);
                    continue;
                }
            },
        };
        match run_batch(&db, batch, shared) {
            Ok(()) => {}
            Err(e) if e.kind == ErrorKind::Io => {
                // Only this batch failed; the next one gets a freshly opened file.
                log::error!("a write to the store failed, reopening it: {e}");
                drop(db);
                if let Err(e) = shared.reopen() {
                    shared.set_failing(Some(e));
                }
            }
            Err(_) => {}
        }
    }
}

/// Runs one batch; `Err` says why its commit failed (every job was answered with it).
fn run_batch(db: &Database, batch: Vec<Job>, shared: &WriterShared) -> Result<(), StoreError> {
    let stats = &*shared.stats;
    let started = std::time::Instant::now();
    let mut txn = match db.begin_write().map_err(storage) {
        Ok(txn) => txn,
        Err(e) => {
            shared.note(&Err(e.clone()));
            abandon_all(batch, &e);
            return Err(e);
        }
    };
    // Immediate is redb's default; it is set here so that nobody changes it by accident: the
    // store's promise "acknowledged means on disk" rests on it.
    if let Err(e) = txn.set_durability(Durability::Immediate).map_err(storage) {
        shared.note(&Err(e.clone()));
        abandon_all(batch, &e);
        return Err(e);
    }
    let mut replies = Vec::with_capacity(batch.len());
    let mut fatal = false;
    {
        let mut tables = match Tables::open(&txn) {
            Ok(tables) => tables,
            Err(e) => {
                shared.note(&Err(e.clone()));
                abandon_all(batch, &e);
                return Err(e);
            }
        };
        for Job { run, abandon } in batch {
            // A panicking job is a bug, but it must not take the writer (and with it every
            // later write) down: its batch is given up like one with a storage failure.
            match std::panic::catch_unwind(AssertUnwindSafe(|| run(&mut tables))) {
                Ok(done) => {
                    fatal |= done.fatal;
                    replies.push(done.reply);
                }
                Err(_) => {
                    fatal = true;
                    abandon(error(ErrorKind::Io, "an internal error aborted this write"));
                }
            }
        }
    }
    let commit = if fatal {
        // Dropping the transaction would abort it too; abort explicitly to be clear.
        let _ = txn.abort();
        Err(error(
            ErrorKind::Io,
            "a storage failure aborted this write together with the others batched with it",
        ))
    } else {
        txn.commit().map_err(storage)
    };
    if commit.is_ok() {
        stats.committed(replies.len(), started.elapsed());
    } else {
        stats.failed.fetch_add(1, Ordering::Relaxed);
    }
    // Whether writes work is known before any caller hears of this commit, so a caller who
    // asks `ready()` right after an error gets the truth.
    shared.note(&commit);
    for reply in replies {
        reply(&commit);
    }
    commit
}

fn abandon_all(batch: Vec<Job>, e: &StoreError) {
    for job in batch {
        (job.abandon)(e.clone());
    }
}

/// Every table, opened once per batch.
struct Tables<'t> {
    submissions: Table<'t, Str, Bytes>,
    by_tenant: Table<'t, (Option<Str>, i64, Str), ()>,
    audit: Table<'t, (Str, u64), Bytes>,
    idempotency: Table<'t, Str, Bytes>,
    drafts: Table<'t, Str, Bytes>,
    drafts_by_update: Table<'t, (i64, Str), ()>,
    resume_codes: Table<'t, Str, Str>,
    attachments: Table<'t, Str, Bytes>,
    attachment_bytes: Table<'t, Str, Bytes>,
    definitions: Table<'t, Str, Bytes>,
    outbox: Table<'t, Str, Bytes>,
    outbox_due: Table<'t, (i64, Str), ()>,
    outbox_failed: Table<'t, Str, ()>,
    state_counts: Table<'t, (Str, Str), u64>,
    by_state: Table<'t, (Str, Str, i64, Str), ()>,
    by_service: Table<'t, (Str, Str, i64, Str), ()>,
    accounts: Table<'t, (Str, Str), Bytes>,
    clerk_sessions: Table<'t, Str, Bytes>,
    /// For tables only some files have (`outbox_by_reference`), opened where needed: opening
    /// one creates it.
    txn: &'t WriteTransaction,
}

impl<'t> Tables<'t> {
    fn open(txn: &'t WriteTransaction) -> Result<Self, StoreError> {
        Ok(Tables {
            txn,
            submissions: txn.open_table(SUBMISSIONS).map_err(storage)?,
            by_tenant: txn.open_table(BY_TENANT).map_err(storage)?,
            audit: txn.open_table(AUDIT).map_err(storage)?,
            idempotency: txn.open_table(IDEMPOTENCY).map_err(storage)?,
            drafts: txn.open_table(DRAFTS).map_err(storage)?,
            drafts_by_update: txn.open_table(DRAFTS_BY_UPDATE).map_err(storage)?,
            resume_codes: txn.open_table(RESUME_CODES).map_err(storage)?,
            attachments: txn.open_table(ATTACHMENTS).map_err(storage)?,
            attachment_bytes: txn.open_table(ATTACHMENT_BYTES).map_err(storage)?,
            definitions: txn.open_table(DEFINITIONS).map_err(storage)?,
            outbox: txn.open_table(OUTBOX).map_err(storage)?,
            outbox_due: txn.open_table(OUTBOX_DUE).map_err(storage)?,
            outbox_failed: txn.open_table(OUTBOX_FAILED).map_err(storage)?,
            state_counts: txn.open_table(STATE_COUNTS).map_err(storage)?,
            by_state: txn.open_table(BY_STATE).map_err(storage)?,
            by_service: txn.open_table(BY_SERVICE).map_err(storage)?,
            accounts: txn.open_table(ACCOUNTS).map_err(storage)?,
            clerk_sessions: txn.open_table(CLERK_SESSIONS).map_err(storage)?,
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Opening, format versions and migrations.

/// One migration step: brings a file from version `n` to `n + 1` inside the open transaction.
type Migration = fn(&WriteTransaction) -> Result<(), StoreError>;

/// `MIGRATIONS[i]` migrates from version `i + 1` to `i + 2`. A new format version adds its
/// step here and raises [`FORMAT_VERSION`]; old steps are never changed, because files of
/// every older version may still be out there.
const MIGRATIONS: [Migration; (FORMAT_VERSION - 1) as usize] = [migrate_1_to_2, migrate_2_to_3, migrate_3_to_4];

/// Version 4 added the back office's accounts and sessions (new, empty tables, created with
/// every other table on open), `state_counts` and the inbox's indexes by state and by
/// service, built here from the submissions. A damaged
/// submission is left out of the counts as it is left out of lists (and logged), so that one
/// flipped bit does not keep the whole store from opening; `verify` finds it.
fn migrate_3_to_4(txn: &WriteTransaction) -> Result<(), StoreError> {
    let submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
    let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
    for entry in submissions.range::<Str>(..).map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        match decode::<Submission>("submissions", key.value(), value.value()) {
            Ok(s) => {
                *counts
                    .entry((count_tenant(s.tenant.as_deref()).to_owned(), s.state))
                    .or_default() += 1
            }
            Err(e) if e.kind == ErrorKind::Corrupt => {
                log::error!("a damaged submission was left out of the state counts: {e}");
            }
            Err(e) => return Err(e),
        }
    }
    let mut table = txn.open_table(STATE_COUNTS).map_err(storage)?;
    // A file of an older version has no such table; should one be there anyway, it is
    // rebuilt rather than added to.
    table.retain(|_, _| false).map_err(storage)?;
    for ((tenant, state), n) in &counts {
        table.insert((tenant.as_str(), state.as_str()), n).map_err(storage)?;
    }
    // The inbox's indexes by state and by service.
    let mut by_state = txn.open_table(BY_STATE).map_err(storage)?;
    let mut by_service = txn.open_table(BY_SERVICE).map_err(storage)?;
    by_state.retain(|_, _| false).map_err(storage)?;
    by_service.retain(|_, _| false).map_err(storage)?;
    for entry in submissions.range::<Str>(..).map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let Ok(s) = decode::<Submission>("submissions", key.value(), value.value()) else {
            continue;
        };
        let (owner, micros) = (count_tenant(s.tenant.as_deref()), s.created_at.timestamp_micros());
        by_state
            .insert((owner, s.state.as_str(), micros, s.reference.as_str()), ())
            .map_err(storage)?;
        by_service
            .insert((owner, s.service.as_str(), micros, s.reference.as_str()), ())
            .map_err(storage)?;
    }
    Ok(())
}

/// Version 2 added `submissions_by_tenant`, so that a municipality's newest submissions are a
/// range read instead of a scan over everybody's. Builds it from the submissions.
/// Version 3 seals every record written from now on with a checksum (see [`seal`]). Records
/// of older versions stay as they are and are read without one; an older Baukasten refuses a
/// version 3 file instead of misreading a sealed record.
fn migrate_2_to_3(_: &WriteTransaction) -> Result<(), StoreError> {
    Ok(())
}

fn migrate_1_to_2(txn: &WriteTransaction) -> Result<(), StoreError> {
    let submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
    let mut by_tenant = txn.open_table(BY_TENANT).map_err(storage)?;
    for entry in submissions.range::<Str>(..).map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let submission: Submission = decode("submissions", key.value(), value.value())?;
        by_tenant.insert(tenant_key(&submission), ()).map_err(storage)?;
    }
    Ok(())
}

/// Checks the format version of a freshly opened database, and writes or migrates it.
fn prepare(db: &Database, path: &Path) -> Result<(), StoreError> {
    let mut txn = db.begin_write().map_err(storage)?;
    txn.set_durability(Durability::Immediate).map_err(storage)?;
    let fresh = txn.list_tables().map_err(storage)?.next().is_none();
    let stored = {
        let meta = txn.open_table(META).map_err(storage)?;
        let value = meta.get(FORMAT_VERSION_KEY).map_err(storage)?;
        match value {
            Some(v) => Some(decode::<u64>("meta", FORMAT_VERSION_KEY, v.value())?),
            None => None,
        }
    };
    let version = match stored {
        Some(v) => v,
        None if fresh => FORMAT_VERSION,
        None => {
            let _ = txn.abort();
            return Err(error(
                ErrorKind::Incompatible,
                format!(
                    "{} is a redb database but not a Baukasten store (it has no format version)",
                    path.display()
                ),
            ));
        }
    };
    if version > FORMAT_VERSION || version == 0 {
        let _ = txn.abort();
        return Err(error(
            ErrorKind::Incompatible,
            format!(
                "{} has format version {version}, but this Baukasten reads versions 1 to \
                 {FORMAT_VERSION}; it was written by a newer Baukasten, which is needed to open it",
                path.display()
            ),
        ));
    }
    for step in &MIGRATIONS[(version - 1) as usize..] {
        step(&txn)?;
    }
    {
        let mut meta = txn.open_table(META).map_err(storage)?;
        meta.insert(FORMAT_VERSION_KEY, FORMAT_VERSION.to_string().as_bytes())
            .map_err(storage)?;
    }
    // Creating every table now means readers never meet a missing table.
    drop(Tables::open(&txn)?);
    txn.commit().map_err(storage)
}

fn open_error(path: &Path, e: DatabaseError) -> StoreError {
    let shown = path.display();
    match e {
        DatabaseError::Storage(redb::StorageError::Io(io)) if io.kind() == std::io::ErrorKind::InvalidData => error(
            ErrorKind::Incompatible,
            format!("{shown} is not a Baukasten store (not a redb database: {io})"),
        ),
        DatabaseError::UpgradeRequired(v) => error(
            ErrorKind::Incompatible,
            format!("{shown} uses redb file format {v}, which this build cannot read"),
        ),
        DatabaseError::DatabaseAlreadyOpen => error(
            ErrorKind::Io,
            format!("{shown} is already open, in this process or another one"),
        ),
        DatabaseError::Storage(redb::StorageError::Corrupted(detail)) => {
            error(ErrorKind::Corrupt, format!("{shown} is damaged: {detail}"))
        }
        other => error(ErrorKind::Io, format!("cannot open {shown}: {other}")),
    }
}

// ---------------------------------------------------------------------------------------------
// The operations, as run inside a write transaction. Each reads and checks first and writes
// last (see the module documentation).

fn submit_in(
    t: &mut Tables<'_>,
    new: NewSubmission,
    idempotency: Option<Idempotency>,
    initial_state: &str,
    now: DateTime<Utc>,
) -> Result<Submitted, StoreError> {
    if let Some(idem) = &idempotency {
        let seen = t.idempotency.get(idem.key.as_str()).map_err(storage)?;
        if let Some(seen) = seen {
            let record: IdempotencyRecord = decode("idempotency", &idem.key, seen.value())?;
            if record.fingerprint != idem.fingerprint {
                return Ok(Submitted::KeyReused);
            }
            let first = get_json::<Submission>(&t.submissions, "submissions", &record.reference)?.ok_or_else(|| {
                error(
                    ErrorKind::Corrupt,
                    format!(
                        "table idempotency, key {}: names submission {}, which does not exist",
                        idem.key, record.reference
                    ),
                )
            })?;
            return Ok(Submitted::Replayed(first));
        }
    }
    let draft = match &new.draft {
        Some(id) => get_json::<Draft>(&t.drafts, "drafts", id)?,
        None => None,
    };
    let reference = unique_reference(t, &new.reference_prefix, now.year())?;
    let deliveries = new_deliveries(&reference, new.tenant.as_deref(), &new.deliveries, now)?;
    let submission = new_submission(new, reference, initial_state, now, &deliveries);
    let entry = audit_entry(now, "citizen", "submitted");
    let record = idempotency
        .as_ref()
        .map(|i| {
            encode(&IdempotencyRecord {
                fingerprint: i.fingerprint.clone(),
                reference: submission.reference.clone(),
                created_at: Some(now),
            })
        })
        .transpose()?;
    let encoded = encode(&submission)?;
    let entry = encode(&entry)?;

    let reference = submission.reference.as_str();
    t.submissions.insert(reference, encoded.as_slice()).map_err(storage)?;
    t.audit.insert((reference, 0), entry.as_slice()).map_err(storage)?;
    index_submission(t, &submission)?;
    if let (Some(idem), Some(record)) = (&idempotency, &record) {
        t.idempotency
            .insert(idem.key.as_str(), record.as_slice())
            .map_err(storage)?;
    }
    add_deliveries(t, &deliveries)?;
    if let Some(draft) = draft {
        delete_draft(t, &draft)?;
    }
    Ok(Submitted::Created(submission))
}

/// Puts a submission into the inbox's indexes (by tenant, state and service) and its state's
/// count: what every write that adds a submission does beside writing its record.
fn index_submission(t: &mut Tables<'_>, s: &Submission) -> Result<(), StoreError> {
    let (owner, micros, reference) = (
        count_tenant(s.tenant.as_deref()),
        s.created_at.timestamp_micros(),
        s.reference.as_str(),
    );
    t.by_tenant.insert(tenant_key(s), ()).map_err(storage)?;
    t.by_state
        .insert((owner, s.state.as_str(), micros, reference), ())
        .map_err(storage)?;
    t.by_service
        .insert((owner, s.service.as_str(), micros, reference), ())
        .map_err(storage)?;
    count_state(t, s.tenant.as_deref(), &s.state, 1)
}

/// Takes a submission out of the indexes and the count that [`index_submission`] put it in,
/// before its record is replaced.
fn unindex_submission(t: &mut Tables<'_>, s: &Submission) -> Result<(), StoreError> {
    let (owner, micros, reference) = (
        count_tenant(s.tenant.as_deref()),
        s.created_at.timestamp_micros(),
        s.reference.as_str(),
    );
    t.by_tenant.remove(tenant_key(s)).map_err(storage)?;
    t.by_state
        .remove((owner, s.state.as_str(), micros, reference))
        .map_err(storage)?;
    t.by_service
        .remove((owner, s.service.as_str(), micros, reference))
        .map_err(storage)?;
    count_state(t, s.tenant.as_deref(), &s.state, -1)
}

/// Writes new outbox entries; their submission's record names them.
fn add_deliveries(t: &mut Tables<'_>, deliveries: &[Delivery]) -> Result<(), StoreError> {
    for delivery in deliveries {
        put_delivery(t, delivery, Was::default())?;
    }
    Ok(())
}

/// What the stored record of a delivery was, for the indexes: where it was in the due index
/// (if anywhere), and whether it was in the failed one. A new delivery was in neither.
#[derive(Default)]
struct Was {
    due: Option<DateTime<Utc>>,
    failed: bool,
}

impl Was {
    fn of(delivery: &Delivery) -> Was {
        Was {
            due: delivery
                .next_attempt
                .filter(|_| delivery.status == DeliveryStatus::Pending),
            failed: delivery.status == DeliveryStatus::Failed,
        }
    }
}

/// Writes a delivery and keeps its place in the indexes: in the due one while it is pending,
/// under its next attempt; in the failed one while it has failed.
fn put_delivery(t: &mut Tables<'_>, delivery: &Delivery, was: Was) -> Result<(), StoreError> {
    let encoded = encode(delivery)?;
    let id = delivery.id.as_str();
    if let Some(at) = was.due {
        t.outbox_due.remove((at.timestamp_micros(), id)).map_err(storage)?;
    }
    if let (DeliveryStatus::Pending, Some(at)) = (delivery.status, delivery.next_attempt) {
        t.outbox_due.insert((at.timestamp_micros(), id), ()).map_err(storage)?;
    }
    match (was.failed, delivery.status == DeliveryStatus::Failed) {
        (false, true) => {
            t.outbox_failed.insert(id, ()).map_err(storage)?;
        }
        (true, false) => {
            t.outbox_failed.remove(id).map_err(storage)?;
        }
        _ => {}
    }
    t.outbox.insert(id, encoded.as_slice()).map_err(storage)?;
    Ok(())
}

/// Keeps `outbox_by_external_id` in step when a delivery's external id goes from `old` to
/// `new`. The table is opened (and so created) only when there is an id to keep.
fn index_external_id(t: &mut Tables<'_>, id: &str, old: Option<&str>, new: Option<&str>) -> Result<(), StoreError> {
    if old.is_none() && new.is_none() {
        return Ok(());
    }
    let mut index = t.txn.open_table(OUTBOX_BY_EXTERNAL_ID).map_err(storage)?;
    if let Some(old) = old.filter(|old| Some(*old) != new) {
        index.remove(old).map_err(storage)?;
    }
    if let Some(new) = new {
        index.insert(new, id).map_err(storage)?;
    }
    Ok(())
}

fn record_attempt_in(
    t: &mut Tables<'_>,
    id: &str,
    attempt: DeliveryAttempt,
    after: AfterAttempt,
) -> Result<Option<Delivery>, StoreError> {
    let Some(mut delivery) = get_json::<Delivery>(&t.outbox, "outbox", id)? else {
        return Ok(None);
    };
    let was = Was::of(&delivery);
    apply_attempt(&mut delivery, attempt, after);
    put_delivery(t, &delivery, was)?;
    Ok(Some(delivery))
}

fn resend_in(t: &mut Tables<'_>, id: &str, now: DateTime<Utc>) -> Result<Option<Delivery>, StoreError> {
    let Some(mut delivery) = get_json::<Delivery>(&t.outbox, "outbox", id)? else {
        return Ok(None);
    };
    let was = Was::of(&delivery);
    apply_resend(&mut delivery, now);
    put_delivery(t, &delivery, was)?;
    Ok(Some(delivery))
}

/// Draws reference numbers until one is free. After eight collisions in a row the random part
/// grows by one character (and again after eight more), so a crowded year slows down by a few
/// lookups instead of failing; with five characters that starts to matter only after millions
/// of submissions of one prefix in one year.
fn unique_reference(t: &Tables<'_>, prefix: &str, year: i32) -> Result<String, StoreError> {
    for attempt in 0..64 {
        let candidate = reference::try_new_reference(prefix, year, REFERENCE_CHARS + attempt / 8)?;
        if t.submissions.get(candidate.as_str()).map_err(storage)?.is_none() {
            return Ok(candidate);
        }
    }
    Err(error(
        ErrorKind::Io,
        "no free reference number found; the random number generator seems broken",
    ))
}

/// What [`set_state_in`] is asked to do: move `reference` from `from` to `to`.
struct Move {
    reference: String,
    from: String,
    to: String,
    actor: String,
    /// Already cut to [`MAX_COMMENT_CHARS`].
    comment: Option<String>,
    now: DateTime<Utc>,
    deliveries: Vec<NewDelivery>,
}

fn set_state_in(t: &mut Tables<'_>, asked: Move) -> Result<StateChanged, StoreError> {
    let Move {
        reference,
        from,
        to,
        actor,
        comment,
        now,
        deliveries: asked,
    } = asked;
    let reference = reference.as_str();
    let Some(mut submission) = get_json::<Submission>(&t.submissions, "submissions", reference)? else {
        return Ok(StateChanged::NotFound);
    };
    // Read here, in the writer's transaction: no other move can come between this check and
    // the write below.
    if submission.state != from {
        return Ok(StateChanged::Conflict(submission));
    }
    let next = next_audit_seq(&t.audit, reference)?;
    submission.state.clone_from(&to);
    let entry = AuditEntry {
        at: now,
        actor,
        action: format!("state:{to}"),
        from: Some(from.clone()),
        comment,
    };
    let deliveries = new_deliveries(reference, submission.tenant.as_deref(), &asked, now)?;
    submission.deliveries.extend(deliveries.iter().map(|d| d.id.clone()));
    let (encoded, entry) = (encode(&submission)?, encode(&entry)?);
    t.submissions.insert(reference, encoded.as_slice()).map_err(storage)?;
    t.audit.insert((reference, next), entry.as_slice()).map_err(storage)?;
    let tenant = submission.tenant.as_deref();
    count_state(t, tenant, &from, -1)?;
    count_state(t, tenant, &to, 1)?;
    let (owner, micros) = (count_tenant(tenant), submission.created_at.timestamp_micros());
    t.by_state
        .remove((owner, from.as_str(), micros, reference))
        .map_err(storage)?;
    t.by_state
        .insert((owner, to.as_str(), micros, reference), ())
        .map_err(storage)?;
    add_deliveries(t, &deliveries)?;
    Ok(StateChanged::Moved(submission))
}

/// The tenant part of a `state_counts` key: submissions without a municipality count under
/// `""`.
fn count_tenant(tenant: Option<&str>) -> &str {
    tenant.unwrap_or("")
}

/// Adds `delta` (+1 or -1) to the count of a tenant's submissions in `state`. A count that
/// reaches zero is removed, so the table holds only states that have submissions.
fn count_state(t: &mut Tables<'_>, tenant: Option<&str>, state: &str, delta: i64) -> Result<(), StoreError> {
    let key = (count_tenant(tenant), state);
    let before = t.state_counts.get(key).map_err(storage)?.map_or(0, |v| v.value());
    let after = before.checked_add_signed(delta).unwrap_or_else(|| {
        // Cannot happen while every write keeps the counts; a count is never made negative.
        log::error!("table state_counts: the count of {state} for {tenant:?} would go below zero");
        0
    });
    if after == 0 {
        t.state_counts.remove(key).map_err(storage)?;
    } else {
        t.state_counts.insert(key, after).map_err(storage)?;
    }
    Ok(())
}

fn next_audit_seq(audit: &impl ReadableTable<(Str, u64), Bytes>, reference: &str) -> Result<u64, StoreError> {
    let mut range = audit.range((reference, 0)..=(reference, u64::MAX)).map_err(storage)?;
    Ok(match range.next_back() {
        Some(last) => last.map_err(storage)?.0.value().1 + 1,
        None => 0,
    })
}

/// See [`Store::redact`]. Reads and checks everything first, then writes.
fn redact_in(t: &mut Tables<'_>, reference: &str, now: DateTime<Utc>) -> Result<Option<Submission>, StoreError> {
    let Some(mut submission) = get_json::<Submission>(&t.submissions, "submissions", reference)? else {
        return Ok(None);
    };
    if submission.redacted_at.is_some() {
        return Ok(Some(submission));
    }
    // The outbox entries: those the record names, and in files of the first release with an
    // outbox those its index names.
    let old_index = t
        .txn
        .list_tables()
        .map_err(storage)?
        .any(|table| table.name() == OUTBOX_BY_REFERENCE.name());
    let mut indexed = Vec::new();
    if old_index {
        let index = t.txn.open_table(OUTBOX_BY_REFERENCE).map_err(storage)?;
        for entry in index.range((reference, 0)..=(reference, u64::MAX)).map_err(storage)? {
            let (key, id) = entry.map_err(storage)?;
            indexed.push((key.value().1, id.value().to_owned()));
        }
    }
    let mut deliveries = Vec::new();
    for id in indexed.iter().map(|(_, id)| id).chain(&submission.deliveries) {
        if let Some(delivery) = get_json::<Delivery>(&t.outbox, "outbox", id)? {
            deliveries.push(delivery);
        }
    }
    // The audit entries whose comment goes.
    let mut commented = Vec::new();
    for entry in t.audit.range((reference, 0)..=(reference, u64::MAX)).map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let seq = key.value().1;
        let mut audit: AuditEntry = decode("audit", &format!("{reference}#{seq}"), value.value())?;
        if audit.comment.take().is_some() {
            commented.push((seq, encode(&audit)?));
        }
    }
    let next = next_audit_seq(&t.audit, reference)?;
    let redacted = encode(&audit_entry(now, "system", "redacted"))?;
    let attachments = redact_record(&mut submission, now);
    let encoded = encode(&submission)?;

    for id in &attachments {
        t.attachments.remove(id.as_str()).map_err(storage)?;
        t.attachment_bytes.remove(id.as_str()).map_err(storage)?;
    }
    for delivery in &deliveries {
        let id = delivery.id.as_str();
        if let Some(at) = Was::of(delivery).due {
            t.outbox_due.remove((at.timestamp_micros(), id)).map_err(storage)?;
        }
        t.outbox_failed.remove(id).map_err(storage)?;
        t.outbox.remove(id).map_err(storage)?;
        if let Some(external_id) = &delivery.external_id {
            let mut index = t.txn.open_table(OUTBOX_BY_EXTERNAL_ID).map_err(storage)?;
            index.remove(external_id.as_str()).map_err(storage)?;
        }
    }
    if !indexed.is_empty() {
        let mut index = t.txn.open_table(OUTBOX_BY_REFERENCE).map_err(storage)?;
        for (position, _) in &indexed {
            index.remove((reference, *position)).map_err(storage)?;
        }
    }
    for (seq, entry) in &commented {
        t.audit.insert((reference, *seq), entry.as_slice()).map_err(storage)?;
    }
    t.audit
        .insert((reference, next), redacted.as_slice())
        .map_err(storage)?;
    t.submissions.insert(reference, encoded.as_slice()).map_err(storage)?;
    Ok(Some(submission))
}

fn create_draft_in(t: &mut Tables<'_>, new: NewDraft, now: DateTime<Utc>) -> Result<Draft, StoreError> {
    let id = loop {
        let id = reference::new_id()?;
        if t.drafts.get(id.as_str()).map_err(storage)?.is_none() {
            break id;
        }
    };
    let resume_code = loop {
        let code = reference::new_resume_code()?;
        let key = code.replace('-', "");
        if t.resume_codes.get(key.as_str()).map_err(storage)?.is_none() {
            break code;
        }
    };
    let draft = Draft {
        id,
        resume_code,
        tenant: new.tenant,
        service: new.service,
        version: new.version,
        definition_hash: new.definition_hash,
        answers: new.answers,
        step: None,
        created_at: now,
        updated_at: now,
    };
    put_draft(t, &draft)?;
    Ok(draft)
}

/// Writes a new draft with its places in `drafts_by_update` and `resume_codes`; the
/// counterpart of [`delete_draft`].
fn put_draft(t: &mut Tables<'_>, draft: &Draft) -> Result<(), StoreError> {
    let encoded = encode(draft)?;
    let id = draft.id.as_str();
    t.drafts.insert(id, encoded.as_slice()).map_err(storage)?;
    t.drafts_by_update
        .insert((draft.updated_at.timestamp_micros(), id), ())
        .map_err(storage)?;
    t.resume_codes
        .insert(draft.resume_code.replace('-', "").as_str(), id)
        .map_err(storage)?;
    Ok(())
}

fn update_draft_in(
    t: &mut Tables<'_>,
    id: &str,
    answers: Json,
    step: Option<String>,
    now: DateTime<Utc>,
) -> Result<Option<Draft>, StoreError> {
    let Some(mut draft) = get_json::<Draft>(&t.drafts, "drafts", id)? else {
        return Ok(None);
    };
    let before = draft.updated_at.timestamp_micros();
    draft.answers = answers;
    draft.step = step;
    draft.updated_at = now;
    let encoded = encode(&draft)?;
    t.drafts.insert(id, encoded.as_slice()).map_err(storage)?;
    t.drafts_by_update.remove((before, id)).map_err(storage)?;
    t.drafts_by_update
        .insert((now.timestamp_micros(), id), ())
        .map_err(storage)?;
    Ok(Some(draft))
}

fn expire_drafts_in(t: &mut Tables<'_>, before: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut stale = Vec::new();
    for entry in t
        .drafts_by_update
        .range(..(before.timestamp_micros(), ""))
        .map_err(storage)?
    {
        let (key, _) = entry.map_err(storage)?;
        let id = key.value().1;
        // An index entry without its draft is dropped with the rest; a draft that cannot be
        // decoded stops the expiry with an error naming it rather than leaving its code behind.
        stale.push((
            key.value().0,
            id.to_owned(),
            get_json::<Draft>(&t.drafts, "drafts", id)?,
        ));
    }
    for (micros, id, draft) in &stale {
        match draft {
            Some(draft) => delete_draft(t, draft)?,
            None => {
                t.drafts_by_update.remove((*micros, id.as_str())).map_err(storage)?;
            }
        }
    }
    Ok(stale.iter().filter(|(_, _, d)| d.is_some()).count())
}

fn expire_idempotency_in(t: &mut Tables<'_>, before: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut stale = Vec::new();
    for entry in t.idempotency.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let key = key.value().to_owned();
        let record: IdempotencyRecord = decode("idempotency", &key, value.value())?;
        let created = match record.created_at {
            Some(at) => Some(at),
            None => get_json::<Submission>(&t.submissions, "submissions", &record.reference)?.map(|s| s.created_at),
        };
        // A key whose submission is gone protects nothing any more.
        if created.is_none_or(|at| at < before) {
            stale.push(key);
        }
    }
    for key in &stale {
        t.idempotency.remove(key.as_str()).map_err(storage)?;
    }
    Ok(stale.len())
}

fn delete_draft(t: &mut Tables<'_>, draft: &Draft) -> Result<(), StoreError> {
    let id = draft.id.as_str();
    t.drafts.remove(id).map_err(storage)?;
    t.drafts_by_update
        .remove((draft.updated_at.timestamp_micros(), id))
        .map_err(storage)?;
    t.resume_codes
        .remove(draft.resume_code.replace('-', "").as_str())
        .map_err(storage)?;
    Ok(())
}

fn put_attachment_in(
    t: &mut Tables<'_>,
    tenant: Option<String>,
    file_name: String,
    media_type: String,
    bytes: Vec<u8>,
    now: DateTime<Utc>,
) -> Result<Attachment, StoreError> {
    let id = loop {
        let id = reference::new_id()?;
        if t.attachments.get(id.as_str()).map_err(storage)?.is_none() {
            break id;
        }
    };
    let attachment = Attachment {
        id,
        tenant,
        file_name,
        media_type,
        size: bytes.len() as u64,
        created_at: now,
    };
    put_upload(t, &attachment, bytes)?;
    Ok(attachment)
}

/// Writes an upload's metadata and its bytes, sealed with their checksum.
fn put_upload(t: &mut Tables<'_>, attachment: &Attachment, bytes: Vec<u8>) -> Result<(), StoreError> {
    let encoded = encode(attachment)?;
    let id = attachment.id.as_str();
    t.attachments.insert(id, encoded.as_slice()).map_err(storage)?;
    t.attachment_bytes.insert(id, seal(bytes).as_slice()).map_err(storage)?;
    Ok(())
}

fn expire_uploads_in(t: &mut Tables<'_>, before: DateTime<Utc>) -> Result<usize, StoreError> {
    let mut old = Vec::new();
    for entry in t.attachments.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let attachment: Attachment = decode("attachments", key.value(), value.value())?;
        if attachment.created_at < before {
            old.push(attachment.id);
        }
    }
    if old.is_empty() {
        return Ok(0);
    }
    // What is still named: every submission's attachments, and every file answer in a draft.
    let mut named = std::collections::HashSet::new();
    for entry in t.submissions.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let submission: Submission = decode("submissions", key.value(), value.value())?;
        named.extend(submission.attachments);
    }
    for entry in t.drafts.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        let draft: Draft = decode("drafts", key.value(), value.value())?;
        collect_file_ids(&draft.answers, &mut named);
    }
    let mut deleted = 0;
    for id in old.iter().filter(|id| !named.contains(*id)) {
        t.attachments.remove(id.as_str()).map_err(storage)?;
        t.attachment_bytes.remove(id.as_str()).map_err(storage)?;
        deleted += 1;
    }
    Ok(deleted)
}

// ---------------------------------------------------------------------------------------------
// Accounts and clerk sessions.

/// How far `last_seen` may lag behind before a request writes it: sessions expire after
/// minutes or hours, so a minute's precision is plenty, and most requests stay reads.
const SEEN_PRECISION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

/// Writes an account under its municipality and name, `encoded` as [`encode`] made it.
fn put_account_in(t: &mut Tables<'_>, account: &Account, encoded: &[u8]) -> Result<(), StoreError> {
    t.accounts
        .insert((account.tenant.as_str(), account.name.as_str()), encoded)
        .map_err(storage)?;
    Ok(())
}

fn remove_account_in(t: &mut Tables<'_>, tenant: &str, name: &str) -> Result<bool, StoreError> {
    // Sessions are few (one per signed-in clerk), so they are found by a scan rather than
    // kept in a second index. A damaged session names no account that can be read; it is
    // left, and removed when it is next presented (see `see_session_in`).
    let mut ended = Vec::new();
    for entry in t.clerk_sessions.iter().map_err(storage)? {
        let (key, value) = entry.map_err(storage)?;
        if let Ok(session) = decode::<ClerkSession>("clerk_sessions", key.value(), value.value())
            && session.tenant == tenant
            && session.name == name
        {
            ended.push(session.id);
        }
    }
    for id in &ended {
        t.clerk_sessions.remove(id.as_str()).map_err(storage)?;
    }
    Ok(t.accounts.remove((tenant, name)).map_err(storage)?.is_some())
}

fn create_clerk_session_in(
    t: &mut Tables<'_>,
    tenant: String,
    name: String,
    now: DateTime<Utc>,
) -> Result<ClerkSession, StoreError> {
    let id = loop {
        let id = reference::new_id()?;
        if t.clerk_sessions.get(id.as_str()).map_err(storage)?.is_none() {
            break id;
        }
    };
    let session = ClerkSession {
        id,
        tenant,
        name,
        created_at: now,
        last_seen: now,
    };
    put_session(t, &session)?;
    Ok(session)
}

fn put_session(t: &mut Tables<'_>, session: &ClerkSession) -> Result<(), StoreError> {
    let encoded = encode(session)?;
    t.clerk_sessions
        .insert(session.id.as_str(), encoded.as_slice())
        .map_err(storage)?;
    Ok(())
}

/// What a session is worth at `now`, from what is stored.
enum Seen {
    /// Valid, and `last_seen` is recent enough.
    Valid(ClerkSession),
    /// Valid, but `last_seen` is to be moved to now.
    Stale(ClerkSession),
    /// Expired, its account is gone, or its record is damaged: to be removed.
    Over,
    Unknown,
}

/// Judges a session from the tables of a read or a write transaction alike, so that the read
/// that decides whether to write and the write itself decide the same way.
fn judge_session(
    sessions: &impl ReadableTable<Str, Bytes>,
    accounts: &impl ReadableTable<(Str, Str), Bytes>,
    id: &str,
    now: DateTime<Utc>,
    idle: chrono::TimeDelta,
) -> Result<Seen, StoreError> {
    let session = match get_json::<ClerkSession>(sessions, "clerk_sessions", id) {
        Ok(Some(session)) => session,
        Ok(None) => return Ok(Seen::Unknown),
        Err(e) if e.kind == ErrorKind::Corrupt => {
            // The clerk signs in again instead of meeting an error on every request.
            log::error!("a damaged clerk session is ended: {e}");
            return Ok(Seen::Over);
        }
        Err(e) => return Err(e),
    };
    let since = now - session.last_seen;
    let account = accounts
        .get((session.tenant.as_str(), session.name.as_str()))
        .map_err(storage)?;
    Ok(if account.is_none() || since >= idle {
        Seen::Over
    } else if since >= SEEN_PRECISION {
        Seen::Stale(session)
    } else {
        Seen::Valid(session)
    })
}

/// The write half of [`Store::clerk_session`]: judged again inside the writer's transaction,
/// so that a session ended or removed with its account meanwhile is not written back.
fn see_session_in(
    t: &mut Tables<'_>,
    id: &str,
    now: DateTime<Utc>,
    idle: chrono::TimeDelta,
) -> Result<Option<ClerkSession>, StoreError> {
    match judge_session(&t.clerk_sessions, &t.accounts, id, now, idle)? {
        Seen::Valid(session) => Ok(Some(session)),
        Seen::Stale(mut session) => {
            session.last_seen = now;
            put_session(t, &session)?;
            Ok(Some(session))
        }
        Seen::Over => {
            t.clerk_sessions.remove(id).map_err(storage)?;
            Ok(None)
        }
        Seen::Unknown => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// The inbox.

// ---------------------------------------------------------------------------------------------
// The trait.

impl Store for RedbStore {
    fn submit(
        &self,
        new: NewSubmission,
        idempotency: Option<Idempotency>,
        initial_state: &str,
        now: DateTime<Utc>,
    ) -> Result<Submitted, StoreError> {
        let state = initial_state.to_owned();
        self.write(move |t| submit_in(t, new, idempotency, &state, now))
    }

    fn submission(&self, reference: &str) -> Result<Option<Submission>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(SUBMISSIONS).map_err(storage)?;
        get_json(&table, "submissions", reference)
    }

    fn submissions(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<Submission>, StoreError> {
        let txn = self.read()?;
        let index = txn.open_table(BY_TENANT).map_err(storage)?;
        let submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
        // No timestamp reaches i64::MAX microseconds (chrono stops at year 262143), so the
        // half-open range covers all of the tenant's entries.
        let range = index
            .range((tenant, i64::MIN, "")..(tenant, i64::MAX, ""))
            .map_err(storage)?;
        let mut out = Vec::with_capacity(limit.min(1024));
        for entry in range.rev().take(limit) {
            let (key, _) = entry.map_err(storage)?;
            let reference = key.value().2;
            let submission = match get_json(&submissions, "submissions", reference) {
                // A damaged record never fails the whole list: it is left out, logged and
                // counted (`StoreStats::damaged_records`), and `verify` finds it.
                Err(e) if e.kind == ErrorKind::Corrupt => {
                    log::error!("a damaged submission was left out of a list: {e}");
                    self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                found => found?,
            };
            let submission = submission.ok_or_else(|| {
                error(
                    ErrorKind::Corrupt,
                    format!("table submissions_by_tenant: names {reference}, which does not exist"),
                )
            })?;
            out.push(submission);
        }
        Ok(out)
    }

    fn set_state_with(
        &self,
        reference: &str,
        from: &str,
        to: &str,
        actor: &str,
        comment: Option<&str>,
        now: DateTime<Utc>,
        deliveries: Vec<NewDelivery>,
    ) -> Result<StateChanged, StoreError> {
        let asked = Move {
            reference: reference.to_owned(),
            from: from.to_owned(),
            to: to.to_owned(),
            actor: actor.to_owned(),
            // Cut here, on the caller's thread, to keep the writer's time short.
            comment: comment.map(cut_comment),
            now,
            deliveries,
        };
        self.write(move |t| set_state_in(t, asked))
    }

    fn audit(&self, reference: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(AUDIT).map_err(storage)?;
        let mut out = Vec::new();
        for entry in table.range((reference, 0)..=(reference, u64::MAX)).map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (reference, seq) = key.value();
            out.push(decode("audit", &format!("{reference}#{seq}"), value.value())?);
        }
        Ok(out)
    }

    fn last_state_change(&self, reference: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(AUDIT).map_err(storage)?;
        // Newest first: the latest move is usually among the last few entries.
        for entry in table
            .range((reference, 0)..=(reference, u64::MAX))
            .map_err(storage)?
            .rev()
        {
            let (key, value) = entry.map_err(storage)?;
            let (reference, seq) = key.value();
            let audit: AuditEntry = decode("audit", &format!("{reference}#{seq}"), value.value())?;
            if audit.action.starts_with("state:") {
                return Ok(Some(audit.at));
            }
        }
        Ok(None)
    }

    fn redact(&self, reference: &str, now: DateTime<Utc>) -> Result<Option<Submission>, StoreError> {
        let reference = reference.to_owned();
        self.write(move |t| redact_in(t, &reference, now))
    }

    fn create_draft(&self, draft: NewDraft, now: DateTime<Utc>) -> Result<Draft, StoreError> {
        self.write(move |t| create_draft_in(t, draft, now))
    }

    fn update_draft(
        &self,
        id: &str,
        answers: &Json,
        step: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Draft>, StoreError> {
        let (id, answers, step) = (id.to_owned(), answers.clone(), step.map(str::to_owned));
        self.write(move |t| update_draft_in(t, &id, answers, step, now))
    }

    fn draft(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DRAFTS).map_err(storage)?;
        get_json(&table, "drafts", id)
    }

    fn draft_by_code(&self, code: &str) -> Result<Option<Draft>, StoreError> {
        let Some(code) = reference::normalize_resume_code(code) else {
            return Ok(None);
        };
        let txn = self.read()?;
        let codes = txn.open_table(RESUME_CODES).map_err(storage)?;
        let Some(id) = codes.get(code.as_str()).map_err(storage)? else {
            return Ok(None);
        };
        let drafts = txn.open_table(DRAFTS).map_err(storage)?;
        get_json(&drafts, "drafts", id.value())
    }

    fn expire_drafts(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write(move |t| expire_drafts_in(t, before))
    }

    fn expire_idempotency_keys(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write(move |t| expire_idempotency_in(t, before))
    }

    fn expire_uploads(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write(move |t| expire_uploads_in(t, before))
    }

    fn upload_bytes(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ATTACHMENTS).map_err(storage)?;
        let mut totals = BTreeMap::new();
        for entry in table.iter().map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let attachment: Attachment = decode("attachments", key.value(), value.value())?;
            if let Some(tenant) = attachment.tenant {
                *totals.entry(tenant).or_default() += attachment.size;
            }
        }
        Ok(totals)
    }

    fn stats(&self) -> StoreStats {
        let (commit_seconds, commit_seconds_sum) = self
            .stats
            .commit_seconds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        StoreStats {
            writable: self.failing.lock().unwrap_or_else(PoisonError::into_inner).is_none(),
            commits: self.stats.commits.load(Ordering::Relaxed),
            writes: self.stats.writes.load(Ordering::Relaxed),
            failed_commits: self.stats.failed.load(Ordering::Relaxed),
            damaged_records: self.stats.damaged.load(Ordering::Relaxed),
            commit_seconds,
            commit_seconds_sum,
            batch_sizes: self
                .stats
                .batch_sizes
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
        }
    }

    /// Whether the store can write now. After a storage failure (a full disk, say) it tries
    /// once more, reopening the file first; `Err` names what still fails.
    fn ready(&self) -> Result<(), StoreError> {
        let failing = self.failing.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if failing.is_none() && self.db.read().unwrap_or_else(PoisonError::into_inner).is_some() {
            return Ok(());
        }
        // An empty transaction, committed with fsync like every other, proves a write works.
        self.write(|_| Ok(()))
    }

    fn put_attachment(
        &self,
        tenant: Option<&str>,
        file_name: &str,
        media_type: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Attachment, StoreError> {
        let (tenant, file_name, media_type, bytes) = (
            tenant.map(str::to_owned),
            file_name.to_owned(),
            media_type.to_owned(),
            bytes.to_vec(),
        );
        self.write(move |t| put_attachment_in(t, tenant, file_name, media_type, bytes, now))
    }

    fn attachment(&self, id: &str) -> Result<Option<(Attachment, Vec<u8>)>, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(ATTACHMENTS).map_err(storage)?;
        let Some(attachment) = get_json::<Attachment>(&meta, "attachments", id)? else {
            return Ok(None);
        };
        let bytes = txn.open_table(ATTACHMENT_BYTES).map_err(storage)?;
        let content = bytes.get(id).map_err(storage)?.ok_or_else(|| {
            error(
                ErrorKind::Corrupt,
                format!("table attachment_bytes, key {id}: missing, though its metadata exists"),
            )
        })?;
        let content = unseal_file(id, content.value(), attachment.size)?.to_vec();
        Ok(Some((attachment, content)))
    }

    fn put_definition(&self, hash: &str, record: &DefinitionRecord) -> Result<(), StoreError> {
        self.put_once(hash, record)
    }

    fn definition(&self, hash: &str) -> Result<Option<DefinitionRecord>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DEFINITIONS).map_err(storage)?;
        get_json(&table, "definitions", hash)
    }

    fn put_catalog(&self, key: &str, sources: &CatalogSources) -> Result<(), StoreError> {
        self.put_once(key, sources)
    }

    fn catalog(&self, key: &str) -> Result<Option<CatalogSources>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(DEFINITIONS).map_err(storage)?;
        get_json(&table, "definitions", key)
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let txn = self.read()?;
        let due = txn.open_table(OUTBOX_DUE).map_err(storage)?;
        let outbox = txn.open_table(OUTBOX).map_err(storage)?;
        let mut out = Vec::new();
        for entry in due
            .range((i64::MIN, "")..(now.timestamp_micros().saturating_add(1), ""))
            .map_err(storage)?
            .take(limit)
        {
            let (key, _) = entry.map_err(storage)?;
            let id = key.value().1;
            match get_json::<Delivery>(&outbox, "outbox", id) {
                Ok(Some(delivery)) => out.push(delivery),
                Ok(None) => log::error!("table outbox_due names delivery {id}, which does not exist"),
                Err(e) if e.kind == ErrorKind::Corrupt => {
                    log::error!("a damaged delivery was left out: {e}");
                    self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let mut claims = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        claims.retain(|_, until| *until > now);
        let mut due = self.due_deliveries(now, limit.saturating_add(claims.len()))?;
        due.retain(|d| !claims.contains_key(&d.id));
        due.truncate(limit);
        for delivery in &due {
            claims.insert(
                delivery.id.clone(),
                now.checked_add_signed(lease).unwrap_or(DateTime::<Utc>::MAX_UTC),
            );
        }
        Ok(due)
    }

    fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let txn = self.read()?;
        let due = txn.open_table(OUTBOX_DUE).map_err(storage)?;
        let first = due.first().map_err(storage)?;
        Ok(first.and_then(|(key, _)| DateTime::from_timestamp_micros(key.value().0)))
    }

    fn record_attempt(
        &self,
        id: &str,
        attempt: DeliveryAttempt,
        after: AfterAttempt,
    ) -> Result<Option<Delivery>, StoreError> {
        self.release([id]);
        let id = id.to_owned();
        self.write(move |t| record_attempt_in(t, &id, attempt, after))
    }

    fn record_attempts(&self, attempts: Vec<(String, DeliveryAttempt, AfterAttempt)>) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        self.release(attempts.iter().map(|(id, ..)| id.as_str()));
        self.write(move |t| {
            for (id, attempt, after) in attempts {
                record_attempt_in(t, &id, attempt, after)?;
            }
            Ok(())
        })
    }

    fn deliveries(&self, reference: &str) -> Result<Vec<Delivery>, StoreError> {
        let txn = self.read()?;
        let submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
        let outbox = txn.open_table(OUTBOX).map_err(storage)?;
        // Entries written before the submission's record named them are in the index, in
        // files from the first release with an outbox.
        let mut ids = Vec::new();
        match txn.open_table(OUTBOX_BY_REFERENCE) {
            Ok(index) => {
                for entry in index.range((reference, 0)..=(reference, u64::MAX)).map_err(storage)? {
                    ids.push(entry.map_err(storage)?.1.value().to_owned());
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(storage(e)),
        }
        if let Some(submission) = get_json::<Submission>(&submissions, "submissions", reference)? {
            ids.extend(submission.deliveries);
        }
        let mut out = Vec::new();
        for id in ids {
            if let Some(delivery) = get_json(&outbox, "outbox", &id)? {
                out.push(delivery);
            }
        }
        Ok(out)
    }

    fn resend(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Delivery>, StoreError> {
        let id = id.to_owned();
        self.write(move |t| resend_in(t, &id, now))
    }

    fn record_progress(
        &self,
        id: &str,
        progress: serde_json::Value,
        external_id: Option<&str>,
    ) -> Result<bool, StoreError> {
        let (id, external_id) = (id.to_owned(), external_id.map(str::to_owned));
        self.write(move |t| {
            let Some(mut delivery) = get_json::<Delivery>(&t.outbox, "outbox", &id)? else {
                return Ok(false);
            };
            if let Some(external_id) = external_id {
                index_external_id(t, &id, delivery.external_id.as_deref(), Some(&external_id))?;
                delivery.external_id = Some(external_id);
            }
            let was = Was::of(&delivery);
            delivery.progress = Some(progress);
            put_delivery(t, &delivery, was)?;
            Ok(true)
        })
    }

    fn delivery_by_external_id(&self, external_id: &str) -> Result<Option<Delivery>, StoreError> {
        let txn = self.read()?;
        let index = match txn.open_table(OUTBOX_BY_EXTERNAL_ID) {
            Ok(index) => index,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let Some(id) = index.get(external_id).map_err(storage)? else {
            return Ok(None);
        };
        let outbox = txn.open_table(OUTBOX).map_err(storage)?;
        get_json(&outbox, "outbox", id.value())
    }

    fn record_delivery_events(&self, id: &str, events: Vec<DeliveryEvent>) -> Result<Option<Delivery>, StoreError> {
        let id = id.to_owned();
        self.write(move |t| {
            let Some(mut delivery) = get_json::<Delivery>(&t.outbox, "outbox", &id)? else {
                return Ok(None);
            };
            if add_events(&mut delivery, events) {
                let was = Was::of(&delivery);
                put_delivery(t, &delivery, was)?;
            }
            Ok(Some(delivery))
        })
    }

    fn writes_waiting(&self) -> usize {
        self.stats.waiting.load(Ordering::Relaxed)
    }

    fn failed_deliveries(&self, tenant: &str, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let txn = self.read()?;
        let failed = txn.open_table(OUTBOX_FAILED).map_err(storage)?;
        let outbox = txn.open_table(OUTBOX).map_err(storage)?;
        let mut out = Vec::new();
        for entry in failed.iter().map_err(storage)? {
            let (id, _) = entry.map_err(storage)?;
            match get_json::<Delivery>(&outbox, "outbox", id.value()) {
                Ok(Some(d)) if d.tenant.as_deref() == Some(tenant) => out.push(d),
                Ok(_) => {}
                Err(e) if e.kind == ErrorKind::Corrupt => {
                    log::error!("a damaged delivery was left out: {e}");
                    self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
            if out.len() == limit {
                break;
            }
        }
        Ok(out)
    }

    fn delivery_backlog(&self) -> Result<DeliveryBacklog, StoreError> {
        let txn = self.read()?;
        let due = txn.open_table(OUTBOX_DUE).map_err(storage)?;
        let failed = txn.open_table(OUTBOX_FAILED).map_err(storage)?;
        Ok(DeliveryBacklog {
            pending: due.len().map_err(storage)?,
            failed: failed.len().map_err(storage)?,
        })
    }

    fn put_account(&self, account: Account) -> Result<(), StoreError> {
        let encoded = encode(&account)?;
        self.write(move |t| put_account_in(t, &account, &encoded))
    }

    fn account(&self, tenant: &str, name: &str) -> Result<Option<Account>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ACCOUNTS).map_err(storage)?;
        match table.get((tenant, name)).map_err(storage)? {
            Some(value) => decode("accounts", &format!("{tenant}/{name}"), value.value()).map(Some),
            None => Ok(None),
        }
    }

    fn accounts(&self, tenant: &str) -> Result<Vec<Account>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(ACCOUNTS).map_err(storage)?;
        let mut out = Vec::new();
        // Keys sort by tenant, then name: the tenant's accounts are one run, by name.
        for entry in table.range((tenant, "")..).map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (owner, name) = key.value();
            if owner != tenant {
                break;
            }
            match decode("accounts", &format!("{owner}/{name}"), value.value()) {
                Ok(account) => out.push(account),
                Err(e) if e.kind == ErrorKind::Corrupt => {
                    log::error!("a damaged account was left out of a list: {e}");
                    self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(out)
    }

    fn remove_account(&self, tenant: &str, name: &str) -> Result<bool, StoreError> {
        let (tenant, name) = (tenant.to_owned(), name.to_owned());
        self.write(move |t| remove_account_in(t, &tenant, &name))
    }

    fn create_clerk_session(&self, tenant: &str, name: &str, now: DateTime<Utc>) -> Result<ClerkSession, StoreError> {
        let (tenant, name) = (tenant.to_owned(), name.to_owned());
        self.write(move |t| create_clerk_session_in(t, tenant, name, now))
    }

    fn clerk_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<ClerkSession>, StoreError> {
        let seen = {
            let txn = self.read()?;
            let sessions = txn.open_table(CLERK_SESSIONS).map_err(storage)?;
            let accounts = txn.open_table(ACCOUNTS).map_err(storage)?;
            judge_session(&sessions, &accounts, id, now, idle)?
        };
        match seen {
            Seen::Valid(session) => Ok(Some(session)),
            Seen::Unknown => Ok(None),
            Seen::Stale(_) | Seen::Over => {
                let id = id.to_owned();
                self.write(move |t| see_session_in(t, &id, now, idle))
            }
        }
    }

    fn end_clerk_session(&self, id: &str) -> Result<(), StoreError> {
        let id = id.to_owned();
        self.write(move |t| {
            t.clerk_sessions.remove(id.as_str()).map_err(storage)?;
            Ok(())
        })
    }

    fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let limit = match query.limit {
            0 => INBOX_DEFAULT_LIMIT,
            n => n.min(INBOX_MAX_LIMIT),
        };
        let tenant = Some(query.tenant.as_str());
        // Newest first is the tenant's run of the index read backwards. The range starts at
        // `from` and ends (exclusive) at `until` or at the cursor's place, whichever is
        // earlier, so neither the time filter nor a later page reads what it skips. An empty
        // reference sorts before every other, so `(t, µs, "")` is the first key of that µs.
        let start = (tenant, query.from.map_or(i64::MIN, |t| t.timestamp_micros()), "");
        let mut end = (tenant, query.until.map_or(i64::MAX, |t| t.timestamp_micros()), "");
        if let Some((micros, reference)) = query.after.as_deref().and_then(parse_inbox_cursor) {
            end = end.min((tenant, micros, reference));
        }
        let mut page = Vec::new();
        if start >= end {
            return Ok(InboxPage {
                submissions: page,
                next: None,
            });
        }
        let text = TextFilter::new(query);
        let txn = self.read()?;
        let submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
        // The narrowest index the filters allow: by state, else by service, else by tenant;
        // each orders a tenant's run by (created µs, reference), so the cursor is the same.
        let owner = count_tenant(tenant);
        let by_state = txn.open_table(BY_STATE).map_err(storage)?;
        let by_service = txn.open_table(BY_SERVICE).map_err(storage)?;
        let by_tenant = txn.open_table(BY_TENANT).map_err(storage)?;
        let refs: Box<dyn Iterator<Item = Result<String, StoreError>> + '_> = match (&query.state, &query.service) {
            (Some(value), _) => newest_in(&by_state, owner, value, start.1, (end.1, end.2))?,
            (None, Some(value)) => newest_in(&by_service, owner, value, start.1, (end.1, end.2))?,
            (None, None) => Box::new(by_tenant.range(start..end).map_err(storage)?.rev().map(|entry| {
                let (key, _) = entry.map_err(storage)?;
                Ok(key.value().2.to_owned())
            })),
        };
        for reference in refs {
            let reference = reference?;
            let Some(submission) = self.listed(&submissions, &reference)? else {
                continue;
            };
            let wanted = query.service.as_ref().is_none_or(|s| *s == submission.service)
                && query.state.as_ref().is_none_or(|s| *s == submission.state)
                && text.as_ref().is_none_or(|t| t.matches(&submission));
            if !wanted {
                continue;
            }
            if page.len() == limit {
                // One more matches than the page holds: there is a next page.
                let next = page.last().map(inbox_cursor);
                return Ok(InboxPage {
                    submissions: page,
                    next,
                });
            }
            page.push(submission);
        }
        Ok(InboxPage {
            submissions: page,
            next: None,
        })
    }

    fn state_counts(&self, tenant: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let txn = self.read()?;
        let table = txn.open_table(STATE_COUNTS).map_err(storage)?;
        let mut out = BTreeMap::new();
        for entry in table.range((tenant, "")..).map_err(storage)? {
            let (key, value) = entry.map_err(storage)?;
            let (owner, state) = key.value();
            if owner != tenant {
                break;
            }
            out.insert(state.to_owned(), value.value());
        }
        Ok(out)
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        copy::is_empty(&self.read()?)
    }

    fn export(&self, each: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError> {
        // One read transaction: the export is one consistent snapshot, read record by record.
        copy::export(&self.read()?, each)
    }

    fn import(&self, records: Vec<Record>) -> Result<(), StoreError> {
        self.write(move |t| copy::import_in(t, records))
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers.

/// The references in an inbox index `(tenant, value, created µs, reference)` for one tenant
/// and value, from `from` µs up to `until` (exclusive), newest first.
fn newest_in<'t>(
    index: &'t redb::ReadOnlyTable<(Str, Str, i64, Str), ()>,
    owner: &str,
    value: &str,
    from: i64,
    until: (i64, &str),
) -> Result<Box<dyn Iterator<Item = Result<String, StoreError>> + 't>, StoreError> {
    let range = index
        .range((owner, value, from, "")..(owner, value, until.0, until.1))
        .map_err(storage)?;
    Ok(Box::new(range.rev().map(|entry| {
        let (key, _) = entry.map_err(storage)?;
        Ok(key.value().3.to_owned())
    })))
}

fn tenant_key(s: &Submission) -> (Option<&str>, i64, &str) {
    (
        s.tenant.as_deref(),
        s.created_at.timestamp_micros(),
        s.reference.as_str(),
    )
}

fn get_json<T: DeserializeOwned>(
    table: &impl ReadableTable<Str, Bytes>,
    name: &str,
    key: &str,
) -> Result<Option<T>, StoreError> {
    match table.get(key).map_err(storage)? {
        Some(value) => decode(name, key, value.value()).map(Some),
        None => Ok(None),
    }
}

/// Whether a job's error may have struck between its writes. Jobs read and check before they
/// write, so their own findings (a record that does not decode, a dangling reference) leave
/// nothing behind; anything redb reports, and any I/O failure, may.
fn aborts_batch(e: &StoreError) -> bool {
    e.kind == ErrorKind::Io || e.detail.starts_with(REDB_PREFIX)
}

const REDB_PREFIX: &str = "redb: ";

fn closed() -> StoreError {
    error(ErrorKind::Closed, "the store has been closed")
}

/// Maps any redb error: damage found by redb is [`ErrorKind::Corrupt`], a closed database is
/// [`ErrorKind::Closed`], everything else [`ErrorKind::Io`].
fn storage(e: impl Into<redb::Error>) -> StoreError {
    match e.into() {
        redb::Error::Corrupted(detail) => error(ErrorKind::Corrupt, format!("{REDB_PREFIX}{detail}")),
        redb::Error::DatabaseClosed => closed(),
        other => error(ErrorKind::Io, format!("{REDB_PREFIX}{other}")),
    }
}
