//! [`PgStore`]: Baukasten's [`Store`] on PostgreSQL, for several instances sharing one
//! database.
//!
//! Everything the embedded redb store keeps is kept here in tables of the same shape (see
//! [`schema`]), each record as the same sealed JSON, so both backends read and write the same
//! records and pass the same conformance suite (`baukasten_store::conformance`). What differs
//! is how concurrency is handled, since other instances write at the same time:
//!
//! - every write is one transaction, committed with PostgreSQL's default
//!   `synchronous_commit = on`: acknowledged means in the write-ahead log on disk;
//! - a reference, a draft id, a resume code or an upload id is inserted with `ON CONFLICT DO
//!   NOTHING` and drawn again on a conflict, so uniqueness holds across instances;
//! - an idempotency key is inserted in the submission's transaction: a second instance with
//!   the same key waits for the first one's commit, then finds its key and replays it;
//! - a state change and every change of a delivery read the row `FOR UPDATE` first
//!   (compare-and-set);
//! - the dispatchers claim due deliveries with `FOR UPDATE SKIP LOCKED` and a lease (see
//!   [`Store::claim_due_deliveries`]), kept beside the delivery's due time until an attempt is
//!   recorded or the lease ends, so two instances never attempt one at the same time;
//! - the counts per state are counted from an index instead of kept in a row, which every
//!   submission of a municipality would otherwise have to lock.
//!
//! The store is synchronous like the trait: each call waits for its queries on a small runtime
//! of its own, so it may be called from any thread, also one of another async runtime.
//!
//! Uploads are kept in the database (`bytea`) rather than in a directory the instances share:
//! they are small (the server's `max_file` limit, 10 MiB by default), a submission and its
//! files then commit and back up together, and no shared file system is needed.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::future::Future;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use baukasten_store::backend::{
    INBOX_DEFAULT_LIMIT, INBOX_MAX_LIMIT, IdempotencyRecord, REFERENCE_CHARS, TextFilter, add_events, apply_attempt,
    apply_resend, audit_entry, collect_file_ids, cut_comment, decode, due_micros, encode, error, inbox_cursor,
    new_deliveries, new_id, new_resume_code, new_submission, normalize_resume_code, parse_inbox_cursor, redact_record,
    seal, try_new_reference, unseal_file,
};
use baukasten_store::{
    Account, AfterAttempt, Attachment, AuditEntry, BATCH_SIZES, COMMIT_SECONDS, CatalogSources, ClerkSession,
    DefinitionRecord, Delivery, DeliveryAttempt, DeliveryBacklog, DeliveryEvent, DeliveryStatus, Draft, ErrorKind,
    Idempotency, InboxPage, InboxQuery, NewDelivery, NewDraft, NewSubmission, Record, StateChanged, Store, StoreError,
    StoreStats, Submission, Submitted,
};
use chrono::{DateTime, Datelike, Utc};
use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Object, Pool, RecyclingMethod};
use serde_json::Value as Json;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

pub mod schema;

/// How many connections one instance keeps at most, unless told otherwise
/// ([`PgStore::open_with`]). Three instances take 48 of PostgreSQL's default 100.
pub const POOL_SIZE: usize = 16;

/// How long a call waits for a free connection, or for a new one, before it fails.
const WAIT: Duration = Duration::from_secs(10);

type Params<'a> = &'a [&'a (dyn ToSql + Sync)];

/// The PostgreSQL store. Open it with [`PgStore::open`]; it migrates the schema first.
pub struct PgStore {
    pool: Pool,
    /// Where it connects, without the password, for messages.
    place: String,
    /// Runs the connections; taken out and shut down in the background on drop, so that a
    /// store dropped on an async runtime's thread does not block it.
    runtime: Option<tokio::runtime::Runtime>,
    stats: Counters,
}

#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    failed: AtomicU64,
    damaged: AtomicU64,
    /// Whether the last write failed for want of the database.
    failing: AtomicBool,
    /// Writes of this instance under way just now ([`Store::writes_waiting`]).
    writing: AtomicUsize,
    commit_seconds: Mutex<(Vec<u64>, f64)>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("place", &self.place).finish()
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        self.pool.close();
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user@host:port/database`, as libpq
    /// takes it), brings its schema up to date and returns the store. Fails with
    /// [`ErrorKind::Incompatible`] when the schema is newer than this build knows, and with
    /// [`ErrorKind::Io`] when the database cannot be reached.
    pub fn open(url: &str) -> Result<PgStore, StoreError> {
        PgStore::open_with(url, POOL_SIZE)
    }

    /// Like [`PgStore::open`], with at most `connections` connections (at least 1) instead of
    /// [`POOL_SIZE`].
    pub fn open_with(url: &str, connections: usize) -> Result<PgStore, StoreError> {
        let config = tokio_postgres::Config::from_str(url).map_err(|e| {
            error(
                ErrorKind::Io,
                format!("the PostgreSQL address cannot be read: {e} (expected postgres://user@host:port/database)"),
            )
        })?;
        let place = describe(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("baukasten-pg")
            .enable_all()
            .build()
            .map_err(|e| error(ErrorKind::Io, format!("cannot start the PostgreSQL runtime: {e}")))?;
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = {
            let _entered = runtime.enter();
            Pool::builder(manager)
                .max_size(connections.max(1))
                .runtime(deadpool_postgres::Runtime::Tokio1)
                .wait_timeout(Some(WAIT))
                .create_timeout(Some(WAIT))
                .build()
                .map_err(|e| error(ErrorKind::Io, format!("cannot set up the connection pool: {e}")))?
        };
        let store = PgStore {
            pool,
            place,
            runtime: Some(runtime),
            stats: Counters::default(),
        };
        store.block(store.migrate())?;
        Ok(store)
    }

    /// The schema version of the database (after [`PgStore::open`], the newest this build
    /// knows).
    pub fn schema_version(&self) -> Result<i32, StoreError> {
        self.block(async {
            let c = self.client().await?;
            let row = one(&c, "SELECT COALESCE(MAX(version), 0) FROM baukasten_schema", &[]).await?;
            Ok(row.get::<_, i32>(0))
        })
    }

    /// Where the store connects, without the password: `user@host:port/database`.
    pub fn place(&self) -> &str {
        &self.place
    }

    /// Runs `work` to its end on this thread, with the store's runtime at hand for the
    /// connections. Safe on any thread, also one of another runtime (it blocks it, as any
    /// synchronous store call does).
    fn block<F: Future>(&self, work: F) -> F::Output {
        let _entered = self.runtime.as_ref().map(tokio::runtime::Runtime::enter);
        futures_executor::block_on(work)
    }

    async fn client(&self) -> Result<Object, StoreError> {
        self.pool.get().await.map_err(|e| {
            self.stats.failing.store(true, Ordering::Relaxed);
            let detail = match e {
                deadpool_postgres::PoolError::Backend(e) => pg_detail(&e),
                deadpool_postgres::PoolError::Closed => return error(ErrorKind::Closed, "the store has been closed"),
                other => other.to_string(),
            };
            error(
                ErrorKind::Io,
                format!("cannot connect to PostgreSQL at {}: {detail}", self.place),
            )
        })
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await.map_err(pg)?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&schema::MIGRATION_LOCK])
            .await
            .map_err(pg)?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS baukasten_schema (
                 version integer PRIMARY KEY,
                 description text NOT NULL,
                 applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await
        .map_err(pg)?;
        let current: i32 = tx
            .query_one("SELECT COALESCE(MAX(version), 0) FROM baukasten_schema", &[])
            .await
            .map_err(pg)?
            .get(0);
        let latest = schema::latest();
        if current > latest {
            return Err(error(
                ErrorKind::Incompatible,
                format!(
                    "the database {} has schema version {current}, newer than this Baukasten knows ({latest}): \
                     it was set up by a newer release. Run that release, or restore a backup made with this one.",
                    self.place
                ),
            ));
        }
        for step in schema::MIGRATIONS.iter().filter(|m| m.version > current) {
            tx.batch_execute(step.sql).await.map_err(|e| {
                error(
                    ErrorKind::Io,
                    format!(
                        "schema migration {} ({}) failed on {}: {}",
                        step.version,
                        step.description,
                        self.place,
                        pg_detail(&e)
                    ),
                )
            })?;
            tx.execute(
                "INSERT INTO baukasten_schema (version, description) VALUES ($1, $2)",
                &[&step.version, &step.description],
            )
            .await
            .map_err(pg)?;
            log::info!("PostgreSQL {}: schema migrated to version {}", self.place, step.version);
        }
        tx.commit().await.map_err(pg)
    }

    /// Runs `work` in one transaction and commits it; counts the commit (or the failure) for
    /// [`Store::stats`].
    fn write<T>(
        &self,
        work: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let _writing = Writing::new(&self.stats.writing);
        self.block(async {
            let mut c = self.client().await?;
            let tx = c.transaction().await.map_err(pg)?;
            let out = work(&tx).await?;
            self.commit(tx).await?;
            Ok(out)
        })
    }

    /// Runs one statement on its own (it commits by itself), counted as a commit. The outer
    /// error is the pool's (no connection); the inner one the database's answer, for the
    /// caller to tell a conflict from a failure.
    fn statement(&self, sql: &str, params: Params<'_>) -> Result<Result<Vec<Row>, tokio_postgres::Error>, StoreError> {
        let _writing = Writing::new(&self.stats.writing);
        self.block(async {
            let c = self.client().await?;
            let started = Instant::now();
            let rows = match c.prepare_cached(sql).await {
                Ok(statement) => c.query(&statement, params).await,
                Err(e) => Err(e),
            };
            match &rows {
                Ok(_) => self.committed(started.elapsed()),
                Err(_) => {
                    self.stats.failed.fetch_add(1, Ordering::Relaxed);
                }
            }
            Ok(rows)
        })
    }

    async fn commit(&self, tx: deadpool_postgres::Transaction<'_>) -> Result<(), StoreError> {
        let started = Instant::now();
        match tx.commit().await {
            Ok(()) => {
                self.committed(started.elapsed());
                Ok(())
            }
            Err(e) => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
                self.stats.failing.store(true, Ordering::Relaxed);
                Err(pg(e))
            }
        }
    }

    /// Runs a read on a pooled connection.
    fn read<T>(&self, work: impl AsyncFnOnce(&Object) -> Result<T, StoreError>) -> Result<T, StoreError> {
        self.block(async {
            let c = self.client().await?;
            work(&c).await
        })
    }

    fn committed(&self, took: Duration) {
        self.stats.commits.fetch_add(1, Ordering::Relaxed);
        self.stats.failing.store(false, Ordering::Relaxed);
        let mut histogram = self.stats.commit_seconds.lock().unwrap_or_else(PoisonError::into_inner);
        if histogram.0.is_empty() {
            histogram.0 = vec![0; COMMIT_SECONDS.len()];
        }
        let seconds = took.as_secs_f64();
        for (count, bound) in histogram.0.iter_mut().zip(COMMIT_SECONDS) {
            if seconds <= *bound {
                *count += 1;
            }
        }
        histogram.1 += seconds;
    }

    /// A record from a list, or `None` (logged and counted) if it is damaged: a damaged record
    /// never fails a whole list.
    fn listed<T: serde::de::DeserializeOwned>(&self, table: &str, key: &str, bytes: &[u8]) -> Option<T> {
        match decode(table, key, bytes) {
            Ok(value) => Some(value),
            Err(e) => {
                log::error!("a damaged record was left out of a list: {e}");
                self.stats.damaged.fetch_add(1, Ordering::Relaxed);
                None
            }
        }
    }
}

/// Counts a write while it is under way.
struct Writing<'a>(&'a AtomicUsize);

impl<'a> Writing<'a> {
    fn new(count: &'a AtomicUsize) -> Self {
        count.fetch_add(1, Ordering::Relaxed);
        Writing(count)
    }
}

impl Drop for Writing<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// `user@host:port/database` of a connection configuration.
fn describe(config: &tokio_postgres::Config) -> String {
    let host = config
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(name) => name.clone(),
            tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{}@{host}:{port}/{}",
        config.get_user().unwrap_or(""),
        config.get_dbname().unwrap_or("")
    )
}

/// The database's own words for an error, where it gave any.
fn pg_detail(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{} ({})", db.message(), db.code().code()),
        None => {
            let mut text = e.to_string();
            let mut source = std::error::Error::source(e);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            text
        }
    }
}

fn pg(e: tokio_postgres::Error) -> StoreError {
    error(ErrorKind::Io, format!("PostgreSQL: {}", pg_detail(&e)))
}

async fn rows(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Vec<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.query(&statement, params).await.map_err(pg)
}

async fn opt(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Option<Row>, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.query_opt(&statement, params).await.map_err(pg)
}

async fn one(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<Row, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.query_one(&statement, params).await.map_err(pg)
}

async fn exec(c: &impl GenericClient, sql: &str, params: Params<'_>) -> Result<u64, StoreError> {
    let statement = c.prepare_cached(sql).await.map_err(pg)?;
    c.execute(&statement, params).await.map_err(pg)
}

/// A submission in one statement, so in one round trip and one commit: the idempotency key
/// (if any) is claimed first; only when that succeeds (or there is no key) are the submission,
/// its first audit entry, its outbox entries and its links to uploads written, and its draft
/// deleted. A key another request holds makes the statement wait for that one's commit, then
/// write nothing (0). A reference that exists makes it fail as a whole (`submissions_pkey`).
const SUBMIT: &str = "
WITH claimed AS (
    INSERT INTO idempotency (key, reference, created_us, record)
    SELECT $1, $2, $3, $4 WHERE $1::text IS NOT NULL
    ON CONFLICT (key) DO NOTHING RETURNING key),
stored AS (
    INSERT INTO submissions (reference, tenant, owner, service, state, created_us, record)
    SELECT $2, $5, $6, $7, $8, $3, $9 WHERE $1::text IS NULL OR EXISTS (SELECT 1 FROM claimed)
    RETURNING reference),
audited AS (
    INSERT INTO audit (reference, seq, record) SELECT reference, 0, $10 FROM stored),
queued AS (
    INSERT INTO outbox (id, reference, tenant, status, due_us, record)
    SELECT d.id, s.reference, $5, 'pending', $3, d.record
    FROM stored s, unnest($11::text[], $12::bytea[]) AS d(id, record)),
linked AS (
    INSERT INTO submission_uploads (upload, reference)
    SELECT u, s.reference FROM stored s, unnest($13::text[]) AS u ON CONFLICT (upload) DO NOTHING),
finished AS (
    DELETE FROM drafts WHERE id = $14 AND EXISTS (SELECT 1 FROM stored))
SELECT COUNT(*) FROM stored";

/// Whether `e` is a unique violation of `constraint`.
fn unique_violation(e: &tokio_postgres::Error, constraint: &str) -> bool {
    e.as_db_error().is_some_and(|db| {
        db.code() == &tokio_postgres::error::SqlState::UNIQUE_VIOLATION && db.constraint() == Some(constraint)
    })
}

/// The record in column 0 of the row `sql` finds, decoded.
async fn record<T: serde::de::DeserializeOwned>(
    c: &impl GenericClient,
    table: &str,
    key: &str,
    sql: &str,
) -> Result<Option<T>, StoreError> {
    match opt(c, sql, &[&key]).await? {
        Some(row) => decode(table, key, row.get::<_, &[u8]>(0)).map(Some),
        None => Ok(None),
    }
}

fn owner(tenant: Option<&str>) -> &str {
    tenant.unwrap_or("")
}

fn status_name(status: DeliveryStatus) -> &'static str {
    match status {
        DeliveryStatus::Pending => "pending",
        DeliveryStatus::Delivered => "delivered",
        DeliveryStatus::Failed => "failed",
        DeliveryStatus::Stopped => "stopped",
    }
}

fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

/// Writes a delivery, new or changed, with its due time and status beside it.
async fn put_delivery(c: &impl GenericClient, delivery: &Delivery) -> Result<(), StoreError> {
    let encoded = encode(delivery)?;
    exec(
        c,
        "INSERT INTO outbox (id, reference, tenant, status, due_us, external_id, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7)
         ON CONFLICT (id) DO UPDATE SET status = EXCLUDED.status, due_us = EXCLUDED.due_us,
             external_id = EXCLUDED.external_id, record = EXCLUDED.record",
        &[
            &delivery.id,
            &delivery.reference,
            &delivery.tenant,
            &status_name(delivery.status),
            &due_micros(delivery),
            &delivery.external_id,
            &encoded,
        ],
    )
    .await?;
    Ok(())
}

/// Writes a submission's row (new or replaced) and the links to its uploads.
async fn put_submission(c: &impl GenericClient, submission: &Submission) -> Result<bool, StoreError> {
    let encoded = encode(submission)?;
    let written = exec(
        c,
        "INSERT INTO submissions (reference, tenant, owner, service, state, created_us, record)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (reference) DO NOTHING",
        &[
            &submission.reference,
            &submission.tenant,
            &owner(submission.tenant.as_deref()),
            &submission.service,
            &submission.state,
            &micros(submission.created_at),
            &encoded,
        ],
    )
    .await?;
    if written == 1 && !submission.attachments.is_empty() {
        exec(
            c,
            "INSERT INTO submission_uploads (upload, reference) SELECT unnest($1::text[]), $2
             ON CONFLICT (upload) DO NOTHING",
            &[&submission.attachments, &submission.reference],
        )
        .await?;
    }
    Ok(written == 1)
}

async fn update_submission(c: &impl GenericClient, submission: &Submission) -> Result<(), StoreError> {
    let encoded = encode(submission)?;
    exec(
        c,
        "UPDATE submissions SET state = $2, record = $3 WHERE reference = $1",
        &[&submission.reference, &submission.state, &encoded],
    )
    .await?;
    Ok(())
}

async fn put_audit(c: &impl GenericClient, reference: &str, seq: i64, entry: &AuditEntry) -> Result<(), StoreError> {
    let encoded = encode(entry)?;
    exec(
        c,
        "INSERT INTO audit (reference, seq, record) VALUES ($1, $2, $3)
         ON CONFLICT (reference, seq) DO UPDATE SET record = EXCLUDED.record",
        &[&reference, &seq, &encoded],
    )
    .await?;
    Ok(())
}

async fn next_audit_seq(c: &impl GenericClient, reference: &str) -> Result<i64, StoreError> {
    let row = one(
        c,
        "SELECT COALESCE(MAX(seq) + 1, 0) FROM audit WHERE reference = $1",
        &[&reference],
    )
    .await?;
    Ok(row.get(0))
}

async fn submission_in(c: &impl GenericClient, reference: &str) -> Result<Option<Submission>, StoreError> {
    record(
        c,
        "submissions",
        reference,
        "SELECT record FROM submissions WHERE reference = $1",
    )
    .await
}

/// The submission, its row locked until the transaction ends (compare-and-set).
async fn submission_for_update(c: &impl GenericClient, reference: &str) -> Result<Option<Submission>, StoreError> {
    record(
        c,
        "submissions",
        reference,
        "SELECT record FROM submissions WHERE reference = $1 FOR UPDATE",
    )
    .await
}

/// A submission's audit trail, oldest first, with each entry's place.
async fn audit_in(c: &impl GenericClient, reference: &str) -> Result<Vec<(i64, AuditEntry)>, StoreError> {
    rows(
        c,
        "SELECT seq, record FROM audit WHERE reference = $1 ORDER BY seq",
        &[&reference],
    )
    .await?
    .iter()
    .map(|row| {
        let seq: i64 = row.get(0);
        Ok((seq, decode("audit", &format!("{reference}#{seq}"), row.get(1))?))
    })
    .collect()
}

async fn delivery_for_update(c: &impl GenericClient, id: &str) -> Result<Option<Delivery>, StoreError> {
    record(c, "outbox", id, "SELECT record FROM outbox WHERE id = $1 FOR UPDATE").await
}

async fn record_attempt_in(
    c: &impl GenericClient,
    id: &str,
    attempt: DeliveryAttempt,
    after: AfterAttempt,
) -> Result<Option<Delivery>, StoreError> {
    let Some(mut delivery) = delivery_for_update(c, id).await? else {
        return Ok(None);
    };
    apply_attempt(&mut delivery, attempt, after);
    put_delivery(c, &delivery).await?;
    // The attempt is over: the claim on it ends.
    exec(c, "UPDATE outbox SET claimed_until = NULL WHERE id = $1", &[&id]).await?;
    Ok(Some(delivery))
}

/// What a clerk session is worth at `now`; see the redb store's judge of the same name.
enum Seen {
    Valid(ClerkSession),
    Stale(ClerkSession),
    Over,
    Unknown,
}

/// How far `last_seen` may lag behind before a request writes it.
const SEEN_PRECISION: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

async fn judge_session(
    c: &impl GenericClient,
    id: &str,
    now: DateTime<Utc>,
    idle: chrono::TimeDelta,
) -> Result<Seen, StoreError> {
    let session = match record::<ClerkSession>(
        c,
        "clerk_sessions",
        id,
        "SELECT record FROM clerk_sessions WHERE id = $1",
    )
    .await
    {
        Ok(Some(session)) => session,
        Ok(None) => return Ok(Seen::Unknown),
        Err(e) if e.kind == ErrorKind::Corrupt => {
            log::error!("a damaged clerk session is ended: {e}");
            return Ok(Seen::Over);
        }
        Err(e) => return Err(e),
    };
    let account = opt(
        c,
        "SELECT 1 FROM accounts WHERE tenant = $1 AND name = $2",
        &[&session.tenant, &session.name],
    )
    .await?;
    let since = now - session.last_seen;
    Ok(if account.is_none() || since >= idle {
        Seen::Over
    } else if since >= SEEN_PRECISION {
        Seen::Stale(session)
    } else {
        Seen::Valid(session)
    })
}

/// Draws ids until an insert of one succeeds: `insert` returns whether it wrote.
async fn insert_fresh<F>(mut insert: F) -> Result<String, StoreError>
where
    F: AsyncFnMut(&str) -> Result<bool, StoreError>,
{
    for _ in 0..16 {
        let id = new_id()?;
        if insert(&id).await? {
            return Ok(id);
        }
    }
    Err(error(
        ErrorKind::Io,
        "no free id found; the random number generator seems broken",
    ))
}

impl Store for PgStore {
    fn submit(
        &self,
        new: NewSubmission,
        idempotency: Option<Idempotency>,
        initial_state: &str,
        now: DateTime<Utc>,
    ) -> Result<Submitted, StoreError> {
        let mut deliveries = new_deliveries("", new.tenant.as_deref(), &new.deliveries, now)?;
        let draft = new.draft.clone();
        let prefix = new.reference_prefix.clone();
        let mut submission = new_submission(new, String::new(), initial_state, now, &deliveries);
        let audit = encode(&audit_entry(now, "citizen", "submitted"))?;
        let ids = submission.deliveries.clone();
        let key = idempotency.as_ref().map(|i| i.key.as_str());
        // A reference no instance has given: drawn again while the insert collides, with a
        // longer random part after every eight collisions.
        for attempt in 0..64 {
            submission.reference = try_new_reference(&prefix, now.year(), REFERENCE_CHARS + attempt / 8)?;
            for delivery in &mut deliveries {
                delivery.reference.clone_from(&submission.reference);
            }
            let records = deliveries.iter().map(encode).collect::<Result<Vec<_>, _>>()?;
            let key_record = idempotency
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
            let params: [&(dyn ToSql + Sync); 14] = [
                &key,
                &submission.reference,
                &micros(now),
                &key_record,
                &submission.tenant,
                &owner(submission.tenant.as_deref()),
                &submission.service,
                &submission.state,
                &encoded,
                &audit,
                &ids,
                &records,
                &submission.attachments,
                &draft,
            ];
            match self.statement(SUBMIT, &params)? {
                Ok(rows) if rows.first().is_some_and(|r| r.get::<_, i64>(0) == 1) => {
                    return Ok(Submitted::Created(submission));
                }
                // The key was taken; nothing was written.
                Ok(_) => match &idempotency {
                    Some(idem) => return self.replay(idem),
                    None => return Err(error(ErrorKind::Io, "a submission was not stored, for no known reason")),
                },
                Err(e) if unique_violation(&e, "submissions_pkey") => continue,
                Err(e) => return Err(pg(e)),
            }
        }
        Err(error(
            ErrorKind::Io,
            "no free reference number found; the random number generator seems broken",
        ))
    }

    fn submission(&self, reference: &str) -> Result<Option<Submission>, StoreError> {
        self.read(async |c| submission_in(c, reference).await)
    }

    fn submissions(&self, tenant: Option<&str>, limit: usize) -> Result<Vec<Submission>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = self.read(async |c| {
            rows(
                c,
                "SELECT reference, record FROM submissions WHERE owner = $1 AND (tenant IS NULL) = $2
                 ORDER BY created_us DESC, reference DESC LIMIT $3",
                &[&owner(tenant), &tenant.is_none(), &limit],
            )
            .await
        })?;
        Ok(found
            .iter()
            .filter_map(|row| self.listed("submissions", row.get(0), row.get(1)))
            .collect())
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
        self.write(async |tx| {
            let Some(mut submission) = submission_for_update(tx, reference).await? else {
                return Ok(StateChanged::NotFound);
            };
            // Read under the row's lock: no other move comes between this check and the write.
            if submission.state != from {
                return Ok(StateChanged::Conflict(submission));
            }
            let seq = next_audit_seq(tx, reference).await?;
            submission.state = to.to_owned();
            let new = new_deliveries(reference, submission.tenant.as_deref(), &deliveries, now)?;
            submission.deliveries.extend(new.iter().map(|d| d.id.clone()));
            update_submission(tx, &submission).await?;
            let entry = AuditEntry {
                at: now,
                actor: actor.to_owned(),
                action: format!("state:{to}"),
                from: Some(from.to_owned()),
                comment: comment.map(cut_comment),
            };
            put_audit(tx, reference, seq, &entry).await?;
            for delivery in &new {
                put_delivery(tx, delivery).await?;
            }
            Ok(StateChanged::Moved(submission))
        })
    }

    fn audit(&self, reference: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let trail = self.read(async |c| audit_in(c, reference).await)?;
        Ok(trail.into_iter().map(|(_, entry)| entry).collect())
    }

    fn last_state_change(&self, reference: &str) -> Result<Option<DateTime<Utc>>, StoreError> {
        for entry in self.audit(reference)?.into_iter().rev() {
            if entry.action.starts_with("state:") {
                return Ok(Some(entry.at));
            }
        }
        Ok(None)
    }

    fn redact(&self, reference: &str, now: DateTime<Utc>) -> Result<Option<Submission>, StoreError> {
        self.write(async |tx| {
            let Some(mut submission) = submission_for_update(tx, reference).await? else {
                return Ok(None);
            };
            if submission.redacted_at.is_some() {
                return Ok(Some(submission));
            }
            // Read and check everything first: a damaged record fails the call before any
            // write (and the transaction is rolled back anyway).
            let trail = audit_in(tx, reference).await?;
            let next = trail.last().map_or(0, |(seq, _)| seq + 1);
            let commented: Vec<(i64, AuditEntry)> = trail
                .into_iter()
                .filter_map(|(seq, mut entry)| entry.comment.take().map(|_| (seq, entry)))
                .collect();
            let attachments = redact_record(&mut submission, now);

            exec(tx, "DELETE FROM uploads WHERE id = ANY($1)", &[&attachments]).await?;
            exec(tx, "DELETE FROM submission_uploads WHERE reference = $1", &[&reference]).await?;
            exec(tx, "DELETE FROM outbox WHERE reference = $1", &[&reference]).await?;
            for (seq, entry) in &commented {
                put_audit(tx, reference, *seq, entry).await?;
            }
            put_audit(tx, reference, next, &audit_entry(now, "system", "redacted")).await?;
            update_submission(tx, &submission).await?;
            Ok(Some(submission))
        })
    }

    fn create_draft(&self, new: NewDraft, now: DateTime<Utc>) -> Result<Draft, StoreError> {
        let mut draft = Draft {
            id: String::new(),
            resume_code: String::new(),
            tenant: new.tenant,
            service: new.service,
            version: new.version,
            definition_hash: new.definition_hash,
            answers: new.answers,
            step: None,
            created_at: now,
            updated_at: now,
        };
        self.write(async |tx| {
            // The id and the code are both unique; on a collision of either, both are drawn
            // again.
            for _ in 0..64 {
                draft.id = new_id()?;
                draft.resume_code = new_resume_code()?;
                let encoded = encode(&draft)?;
                let written = exec(
                    tx,
                    "INSERT INTO drafts (id, resume_code, updated_us, record) VALUES ($1, $2, $3, $4)
                     ON CONFLICT DO NOTHING",
                    &[&draft.id, &draft.resume_code.replace('-', ""), &micros(now), &encoded],
                )
                .await?;
                if written == 1 {
                    return Ok(());
                }
            }
            Err(error(ErrorKind::Io, "no free resume code found"))
        })?;
        Ok(draft)
    }

    fn update_draft(
        &self,
        id: &str,
        answers: &Json,
        step: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<Draft>, StoreError> {
        self.write(async |tx| {
            let Some(mut draft) =
                record::<Draft>(tx, "drafts", id, "SELECT record FROM drafts WHERE id = $1 FOR UPDATE").await?
            else {
                return Ok(None);
            };
            draft.answers = answers.clone();
            draft.step = step.map(str::to_owned);
            draft.updated_at = now;
            let encoded = encode(&draft)?;
            exec(
                tx,
                "UPDATE drafts SET updated_us = $2, record = $3 WHERE id = $1",
                &[&id, &micros(now), &encoded],
            )
            .await?;
            Ok(Some(draft))
        })
    }

    fn draft(&self, id: &str) -> Result<Option<Draft>, StoreError> {
        self.read(async |c| record(c, "drafts", id, "SELECT record FROM drafts WHERE id = $1").await)
    }

    fn draft_by_code(&self, code: &str) -> Result<Option<Draft>, StoreError> {
        let Some(code) = normalize_resume_code(code) else {
            return Ok(None);
        };
        self.read(
            async |c| match opt(c, "SELECT id, record FROM drafts WHERE resume_code = $1", &[&code]).await? {
                Some(row) => decode("drafts", row.get(0), row.get(1)).map(Some),
                None => Ok(None),
            },
        )
    }

    fn expire_drafts(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write(async |tx| {
            let deleted = exec(tx, "DELETE FROM drafts WHERE updated_us < $1", &[&micros(before)]).await?;
            Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
        })
    }

    /// Ready while the database answers, takes writes (it is not a read-only standby) and
    /// holds the schema this instance migrated to (not one emptied or replaced under it).
    fn ready(&self) -> Result<(), StoreError> {
        self.read(async |c| {
            let row = one(
                c,
                "SELECT pg_is_in_recovery(), (SELECT MAX(version) FROM baukasten_schema)",
                &[],
            )
            .await?;
            if row.get::<_, bool>(0) {
                return Err(error(
                    ErrorKind::Io,
                    format!("PostgreSQL at {} is a read-only standby", self.place),
                ));
            }
            match row.get::<_, Option<i32>>(1) {
                Some(version) if version == schema::latest() => Ok(()),
                other => Err(error(
                    ErrorKind::Incompatible,
                    format!(
                        "the database at {} holds schema version {other:?}, not {} as at start",
                        self.place,
                        schema::latest()
                    ),
                )),
            }
        })
    }

    fn expire_idempotency_keys(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write(async |tx| {
            // A key whose submission is gone protects nothing any more.
            let deleted = exec(
                tx,
                "DELETE FROM idempotency i WHERE created_us < $1
                    OR NOT EXISTS (SELECT 1 FROM submissions s WHERE s.reference = i.reference)",
                &[&micros(before)],
            )
            .await?;
            Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
        })
    }

    fn put_attachment(
        &self,
        tenant: Option<&str>,
        file_name: &str,
        media_type: &str,
        bytes: &[u8],
        now: DateTime<Utc>,
    ) -> Result<Attachment, StoreError> {
        let sealed = seal(bytes.to_vec());
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        let mut attachment = Attachment {
            id: String::new(),
            tenant: tenant.map(str::to_owned),
            file_name: file_name.to_owned(),
            media_type: media_type.to_owned(),
            size: bytes.len() as u64,
            created_at: now,
        };
        let id = self.write(async |tx| {
            insert_fresh(async |id: &str| {
                attachment.id = id.to_owned();
                let encoded = encode(&attachment)?;
                let written = exec(
                    tx,
                    "INSERT INTO uploads (id, tenant, size, created_us, record, bytes) VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (id) DO NOTHING",
                    &[&id, &tenant, &size, &micros(now), &encoded, &sealed],
                )
                .await?;
                Ok(written == 1)
            })
            .await
        })?;
        attachment.id = id;
        Ok(attachment)
    }

    fn attachment(&self, id: &str) -> Result<Option<(Attachment, Vec<u8>)>, StoreError> {
        self.read(async |c| {
            let Some(row) = opt(c, "SELECT record, bytes FROM uploads WHERE id = $1", &[&id]).await? else {
                return Ok(None);
            };
            let attachment: Attachment = decode("attachments", id, row.get(0))?;
            let bytes = unseal_file(id, row.get(1), attachment.size)?.to_vec();
            Ok(Some((attachment, bytes)))
        })
    }

    fn expire_uploads(&self, before: DateTime<Utc>) -> Result<usize, StoreError> {
        self.write(async |tx| {
            let old: Vec<String> = rows(
                tx,
                "SELECT id FROM uploads u WHERE created_us < $1
                   AND NOT EXISTS (SELECT 1 FROM submission_uploads s WHERE s.upload = u.id)",
                &[&micros(before)],
            )
            .await?
            .iter()
            .map(|row| row.get(0))
            .collect();
            if old.is_empty() {
                return Ok(0);
            }
            // What a draft still names (file answers are objects with an `id`).
            let mut named = HashSet::new();
            for row in rows(tx, "SELECT id, record FROM drafts", &[]).await? {
                let draft: Draft = decode("drafts", row.get(0), row.get(1))?;
                collect_file_ids(&draft.answers, &mut named);
            }
            let gone: Vec<&String> = old.iter().filter(|id| !named.contains(*id)).collect();
            let deleted = exec(
                tx,
                "DELETE FROM uploads u WHERE id = ANY($1)
                   AND NOT EXISTS (SELECT 1 FROM submission_uploads s WHERE s.upload = u.id)",
                &[&gone],
            )
            .await?;
            Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
        })
    }

    fn upload_bytes(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let found = self.read(async |c| {
            rows(
                c,
                "SELECT tenant, SUM(size)::bigint FROM uploads WHERE tenant IS NOT NULL GROUP BY tenant",
                &[],
            )
            .await
        })?;
        Ok(found
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    fn stats(&self) -> StoreStats {
        let (mut commit_seconds, commit_seconds_sum) = self
            .stats
            .commit_seconds
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        if commit_seconds.is_empty() {
            commit_seconds = vec![0; COMMIT_SECONDS.len()];
        }
        let commits = self.stats.commits.load(Ordering::Relaxed);
        // Every transaction carries one write: the database groups the commits itself.
        let mut batch_sizes = vec![0; BATCH_SIZES.len()];
        for (count, bound) in batch_sizes.iter_mut().zip(BATCH_SIZES) {
            if *bound >= 1 {
                *count = commits;
            }
        }
        StoreStats {
            writable: !self.stats.failing.load(Ordering::Relaxed),
            commits,
            writes: commits,
            failed_commits: self.stats.failed.load(Ordering::Relaxed),
            damaged_records: self.stats.damaged.load(Ordering::Relaxed),
            commit_seconds,
            commit_seconds_sum,
            batch_sizes,
        }
    }

    fn put_definition(&self, hash: &str, record: &DefinitionRecord) -> Result<(), StoreError> {
        self.put_once(hash, encode(record)?)
    }

    fn definition(&self, hash: &str) -> Result<Option<DefinitionRecord>, StoreError> {
        self.read(async |c| record(c, "definitions", hash, "SELECT record FROM definitions WHERE key = $1").await)
    }

    fn put_catalog(&self, key: &str, sources: &CatalogSources) -> Result<(), StoreError> {
        self.put_once(key, encode(sources)?)
    }

    fn catalog(&self, key: &str) -> Result<Option<CatalogSources>, StoreError> {
        self.read(async |c| record(c, "definitions", key, "SELECT record FROM definitions WHERE key = $1").await)
    }

    fn due_deliveries(&self, now: DateTime<Utc>, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = self.read(async |c| {
            rows(
                c,
                "SELECT id, record FROM outbox WHERE due_us <= $1 ORDER BY due_us, id LIMIT $2",
                &[&micros(now), &limit],
            )
            .await
        })?;
        Ok(found
            .iter()
            .filter_map(|row| self.listed("outbox", row.get(0), row.get(1)))
            .collect())
    }

    fn claim_due_deliveries(
        &self,
        now: DateTime<Utc>,
        limit: usize,
        lease: chrono::Duration,
    ) -> Result<Vec<Delivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let until = micros(now.checked_add_signed(lease).unwrap_or(DateTime::<Utc>::MAX_UTC));
        // Rows another dispatcher is claiming just now are skipped, not waited for; rows under
        // a claim that has not ended are left to its holder.
        let found = self
            .statement(
                "UPDATE outbox SET claimed_until = $3 WHERE id IN (
                     SELECT id FROM outbox
                     WHERE due_us <= $1 AND (claimed_until IS NULL OR claimed_until <= $1)
                     ORDER BY due_us, id LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 RETURNING id, record",
                &[&micros(now), &limit, &until],
            )?
            .map_err(pg)?;
        let mut due: Vec<Delivery> = found
            .iter()
            .filter_map(|row| self.listed("outbox", row.get(0), row.get(1)))
            .collect();
        due.sort_by(|a, b| (a.next_attempt, &a.id).cmp(&(b.next_attempt, &b.id)));
        Ok(due)
    }

    fn next_delivery_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        // A delivery another instance holds a claim on is due for this one when the claim
        // ends: its dispatcher sleeps until then rather than wake to find nothing to claim.
        let first = self.read(async |c| {
            let row = one(
                c,
                "SELECT MIN(GREATEST(due_us, claimed_until)) FROM outbox WHERE due_us IS NOT NULL",
                &[],
            )
            .await?;
            Ok(row.get::<_, Option<i64>>(0))
        })?;
        Ok(first.and_then(DateTime::from_timestamp_micros))
    }

    fn record_attempt(
        &self,
        id: &str,
        attempt: DeliveryAttempt,
        after: AfterAttempt,
    ) -> Result<Option<Delivery>, StoreError> {
        self.write(async |tx| record_attempt_in(tx, id, attempt, after).await)
    }

    fn record_attempts(&self, attempts: Vec<(String, DeliveryAttempt, AfterAttempt)>) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        self.write(async |tx| {
            for (id, attempt, after) in attempts {
                record_attempt_in(tx, &id, attempt, after).await?;
            }
            Ok(())
        })
    }

    fn deliveries(&self, reference: &str) -> Result<Vec<Delivery>, StoreError> {
        self.read(async |c| {
            let Some(submission) = submission_in(c, reference).await? else {
                return Ok(Vec::new());
            };
            let mut found = HashMap::new();
            for row in rows(c, "SELECT id, record FROM outbox WHERE reference = $1", &[&reference]).await? {
                let id: String = row.get(0);
                let delivery: Delivery = decode("outbox", &id, row.get(1))?;
                found.insert(id, delivery);
            }
            // In the order the submission's record names them.
            Ok(submission.deliveries.iter().filter_map(|id| found.remove(id)).collect())
        })
    }

    fn resend(&self, id: &str, now: DateTime<Utc>) -> Result<Option<Delivery>, StoreError> {
        self.write(async |tx| {
            let Some(mut delivery) = delivery_for_update(tx, id).await? else {
                return Ok(None);
            };
            apply_resend(&mut delivery, now);
            put_delivery(tx, &delivery).await?;
            Ok(Some(delivery))
        })
    }

    fn record_progress(&self, id: &str, progress: Json, external_id: Option<&str>) -> Result<bool, StoreError> {
        self.write(async |tx| {
            let Some(mut delivery) = delivery_for_update(tx, id).await? else {
                return Ok(false);
            };
            if let Some(external_id) = external_id {
                // The target's name belongs to one delivery: the latest that was given it.
                exec(
                    tx,
                    "UPDATE outbox SET external_id = NULL WHERE external_id = $1 AND id <> $2",
                    &[&external_id, &id],
                )
                .await?;
                delivery.external_id = Some(external_id.to_owned());
            }
            delivery.progress = Some(progress);
            put_delivery(tx, &delivery).await?;
            Ok(true)
        })
    }

    fn delivery_by_external_id(&self, external_id: &str) -> Result<Option<Delivery>, StoreError> {
        self.read(async |c| {
            match opt(
                c,
                "SELECT id, record FROM outbox WHERE external_id = $1",
                &[&external_id],
            )
            .await?
            {
                Some(row) => decode("outbox", row.get(0), row.get(1)).map(Some),
                None => Ok(None),
            }
        })
    }

    fn record_delivery_events(&self, id: &str, events: Vec<DeliveryEvent>) -> Result<Option<Delivery>, StoreError> {
        self.write(async |tx| {
            let Some(mut delivery) = delivery_for_update(tx, id).await? else {
                return Ok(None);
            };
            if add_events(&mut delivery, events) {
                put_delivery(tx, &delivery).await?;
            }
            Ok(Some(delivery))
        })
    }

    fn delivery_backlog(&self) -> Result<DeliveryBacklog, StoreError> {
        self.read(async |c| {
            let row = one(
                c,
                "SELECT COUNT(*) FILTER (WHERE status = 'pending'), COUNT(*) FILTER (WHERE status = 'failed')
                 FROM outbox",
                &[],
            )
            .await?;
            Ok(DeliveryBacklog {
                pending: row.get::<_, i64>(0).max(0) as u64,
                failed: row.get::<_, i64>(1).max(0) as u64,
            })
        })
    }

    fn failed_deliveries(&self, tenant: &str, limit: usize) -> Result<Vec<Delivery>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let found = self.read(async |c| {
            rows(
                c,
                "SELECT id, record FROM outbox WHERE status = 'failed' AND tenant = $1 ORDER BY id LIMIT $2",
                &[&tenant, &limit],
            )
            .await
        })?;
        Ok(found
            .iter()
            .filter_map(|row| self.listed("outbox", row.get(0), row.get(1)))
            .collect())
    }

    /// The writes of this instance under way: the dispatcher gives way to a burst of intake
    /// here as on redb (other instances' writes are theirs to count).
    fn writes_waiting(&self) -> usize {
        self.stats.writing.load(Ordering::Relaxed)
    }

    fn put_account(&self, account: Account) -> Result<(), StoreError> {
        let encoded = encode(&account)?;
        self.write(async |tx| {
            exec(
                tx,
                "INSERT INTO accounts (tenant, name, record) VALUES ($1, $2, $3)
                 ON CONFLICT (tenant, name) DO UPDATE SET record = EXCLUDED.record",
                &[&account.tenant, &account.name, &encoded],
            )
            .await?;
            Ok(())
        })
    }

    fn account(&self, tenant: &str, name: &str) -> Result<Option<Account>, StoreError> {
        self.read(async |c| {
            match opt(
                c,
                "SELECT record FROM accounts WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?
            {
                Some(row) => decode("accounts", &format!("{tenant}/{name}"), row.get(0)).map(Some),
                None => Ok(None),
            }
        })
    }

    fn accounts(&self, tenant: &str) -> Result<Vec<Account>, StoreError> {
        let found = self.read(async |c| {
            rows(
                c,
                "SELECT name, record FROM accounts WHERE tenant = $1 ORDER BY name",
                &[&tenant],
            )
            .await
        })?;
        Ok(found
            .iter()
            .filter_map(|row| self.listed("accounts", &format!("{tenant}/{}", row.get::<_, &str>(0)), row.get(1)))
            .collect())
    }

    fn remove_account(&self, tenant: &str, name: &str) -> Result<bool, StoreError> {
        self.write(async |tx| {
            exec(
                tx,
                "DELETE FROM clerk_sessions WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?;
            let removed = exec(
                tx,
                "DELETE FROM accounts WHERE tenant = $1 AND name = $2",
                &[&tenant, &name],
            )
            .await?;
            Ok(removed == 1)
        })
    }

    fn create_clerk_session(&self, tenant: &str, name: &str, now: DateTime<Utc>) -> Result<ClerkSession, StoreError> {
        let mut session = ClerkSession {
            id: String::new(),
            tenant: tenant.to_owned(),
            name: name.to_owned(),
            created_at: now,
            last_seen: now,
        };
        let id = self.write(async |tx| {
            insert_fresh(async |id: &str| {
                session.id = id.to_owned();
                let encoded = encode(&session)?;
                let written = exec(
                    tx,
                    "INSERT INTO clerk_sessions (id, tenant, name, record) VALUES ($1, $2, $3, $4)
                     ON CONFLICT (id) DO NOTHING",
                    &[&id, &tenant, &name, &encoded],
                )
                .await?;
                Ok(written == 1)
            })
            .await
        })?;
        session.id = id;
        Ok(session)
    }

    fn clerk_session(
        &self,
        id: &str,
        now: DateTime<Utc>,
        idle: chrono::Duration,
    ) -> Result<Option<ClerkSession>, StoreError> {
        match self.read(async |c| judge_session(c, id, now, idle).await)? {
            Seen::Valid(session) => Ok(Some(session)),
            Seen::Unknown => Ok(None),
            Seen::Stale(_) | Seen::Over => self.write(async |tx| {
                // Judged again under the row's lock, so that a session ended or removed with
                // its account meanwhile is not written back.
                exec(tx, "SELECT 1 FROM clerk_sessions WHERE id = $1 FOR UPDATE", &[&id]).await?;
                match judge_session(tx, id, now, idle).await? {
                    Seen::Valid(session) => Ok(Some(session)),
                    Seen::Stale(mut session) => {
                        session.last_seen = now;
                        let encoded = encode(&session)?;
                        exec(
                            tx,
                            "UPDATE clerk_sessions SET record = $2 WHERE id = $1",
                            &[&id, &encoded],
                        )
                        .await?;
                        Ok(Some(session))
                    }
                    Seen::Over => {
                        exec(tx, "DELETE FROM clerk_sessions WHERE id = $1", &[&id]).await?;
                        Ok(None)
                    }
                    Seen::Unknown => Ok(None),
                }
            }),
        }
    }

    fn end_clerk_session(&self, id: &str) -> Result<(), StoreError> {
        self.write(async |tx| {
            exec(tx, "DELETE FROM clerk_sessions WHERE id = $1", &[&id]).await?;
            Ok(())
        })
    }

    fn inbox(&self, query: &InboxQuery) -> Result<InboxPage, StoreError> {
        let limit = match query.limit {
            0 => INBOX_DEFAULT_LIMIT,
            n => n.min(INBOX_MAX_LIMIT),
        };
        let from = query.from.map_or(i64::MIN, micros);
        // The page ends (exclusive) at `until` or at the cursor's place, whichever is earlier,
        // as (created µs, reference); the empty reference sorts before every other.
        let mut end = (query.until.map_or(i64::MAX, micros), String::new());
        if let Some((at, reference)) = query.after.as_deref().and_then(parse_inbox_cursor) {
            end = end.min((at, reference.to_owned()));
        }
        let text = TextFilter::new(query);
        // Without a text filter every row read belongs on the page; with one, rows are read
        // in larger chunks until the page is full.
        let chunk = if text.is_some() { 200 } else { limit + 1 };
        let chunk = i64::try_from(chunk).unwrap_or(i64::MAX);
        let mut page = Vec::new();
        loop {
            let found = self.read(async |c| {
                rows(
                    c,
                    "SELECT reference, record, created_us FROM submissions
                     WHERE owner = $1 AND created_us >= $2 AND (created_us, reference) < ($3, $4)
                       AND ($5::text IS NULL OR state = $5) AND ($6::text IS NULL OR service = $6)
                     ORDER BY created_us DESC, reference DESC LIMIT $7",
                    &[
                        &query.tenant,
                        &from,
                        &end.0,
                        &end.1,
                        &query.state,
                        &query.service,
                        &chunk,
                    ],
                )
                .await
            })?;
            let exhausted = (found.len() as i64) < chunk;
            for row in &found {
                end = (row.get(2), row.get::<_, String>(0));
                let Some(submission) = self.listed::<Submission>("submissions", row.get(0), row.get(1)) else {
                    continue;
                };
                if !text.as_ref().is_none_or(|t| t.matches(&submission)) {
                    continue;
                }
                if page.len() == limit {
                    let next = page.last().map(inbox_cursor);
                    return Ok(InboxPage {
                        submissions: page,
                        next,
                    });
                }
                page.push(submission);
            }
            if exhausted {
                return Ok(InboxPage {
                    submissions: page,
                    next: None,
                });
            }
        }
    }

    fn state_counts(&self, tenant: &str) -> Result<BTreeMap<String, u64>, StoreError> {
        let found = self.read(async |c| {
            rows(
                c,
                "SELECT state, COUNT(*) FROM submissions WHERE owner = $1 GROUP BY state",
                &[&tenant],
            )
            .await
        })?;
        Ok(found
            .iter()
            .map(|row| (row.get::<_, String>(0), row.get::<_, i64>(1).max(0) as u64))
            .collect())
    }

    fn is_empty(&self) -> Result<bool, StoreError> {
        self.read(async |c| {
            let row = one(
                c,
                "SELECT NOT EXISTS (SELECT 1 FROM submissions) AND NOT EXISTS (SELECT 1 FROM drafts)
                    AND NOT EXISTS (SELECT 1 FROM uploads) AND NOT EXISTS (SELECT 1 FROM definitions)
                    AND NOT EXISTS (SELECT 1 FROM outbox) AND NOT EXISTS (SELECT 1 FROM accounts)
                    AND NOT EXISTS (SELECT 1 FROM clerk_sessions) AND NOT EXISTS (SELECT 1 FROM idempotency)",
                &[],
            )
            .await?;
            Ok(row.get(0))
        })
    }

    fn export(&self, each: &mut dyn FnMut(Record) -> Result<(), StoreError>) -> Result<(), StoreError> {
        export::run(self, each)
    }

    fn import(&self, records: Vec<Record>) -> Result<(), StoreError> {
        self.write(async |tx| {
            for record in &records {
                export::import_one(tx, record).await?;
            }
            Ok(())
        })
    }
}

impl PgStore {
    fn put_once(&self, key: &str, encoded: Vec<u8>) -> Result<(), StoreError> {
        self.write(async |tx| {
            exec(
                tx,
                "INSERT INTO definitions (key, record) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
                &[&key, &encoded],
            )
            .await?;
            Ok(())
        })
    }

    /// The answer to a submission whose idempotency key another request used first.
    fn replay(&self, idem: &Idempotency) -> Result<Submitted, StoreError> {
        self.read(async |c| {
            let Some(seen) = record::<IdempotencyRecord>(
                c,
                "idempotency",
                &idem.key,
                "SELECT record FROM idempotency WHERE key = $1",
            )
            .await?
            else {
                return Err(error(
                    ErrorKind::Io,
                    format!("idempotency key {} was taken, then vanished; try again", idem.key),
                ));
            };
            if seen.fingerprint != idem.fingerprint {
                return Ok(Submitted::KeyReused);
            }
            let first = submission_in(c, &seen.reference).await?.ok_or_else(|| {
                error(
                    ErrorKind::Corrupt,
                    format!(
                        "table idempotency, key {}: names submission {}, which does not exist",
                        idem.key, seen.reference
                    ),
                )
            })?;
            Ok(Submitted::Replayed(first))
        })
    }
}

mod export;
