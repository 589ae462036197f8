//! The database schema and its migrations.
//!
//! Records are kept as the redb store keeps them (JSON sealed with a CRC-32, see
//! [`baukasten_store::backend::encode`]), so that a copy between the backends keeps every
//! record's bytes and checksum; beside each record, the columns that queries select and sort
//! by. Text that is sorted is compared byte by byte (`COLLATE "C"`), as redb compares its keys,
//! so that lists come out in the same order on both backends.
//!
//! Every migration runs at start-up inside one transaction, under an advisory lock, so that
//! instances starting together do not run it twice; `baukasten_schema` records which ran. A
//! database whose schema is newer than this build knows is refused.

/// One step of the schema.
pub struct Migration {
    pub version: i32,
    pub description: &'static str,
    pub sql: &'static str,
}

/// The key of the advisory lock that migrations hold: "BAUK" in ASCII.
pub const MIGRATION_LOCK: i64 = 0x4241_554b;

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "the first schema: submissions, audit, idempotency, drafts, uploads, definitions, outbox, accounts, sessions",
        sql: r#"
CREATE TABLE submissions (
    reference  text COLLATE "C" PRIMARY KEY,
    tenant     text,
    -- the tenant, or '' for a submission without one (as the counts and the inbox group them)
    owner      text COLLATE "C" NOT NULL,
    service    text COLLATE "C" NOT NULL,
    state      text COLLATE "C" NOT NULL,
    created_us bigint NOT NULL,
    record     bytea NOT NULL
);
CREATE INDEX submissions_by_tenant ON submissions (owner, created_us, reference);
CREATE INDEX submissions_by_state ON submissions (owner, state, created_us, reference);
CREATE INDEX submissions_by_service ON submissions (owner, service, created_us, reference);

CREATE TABLE audit (
    reference text COLLATE "C" NOT NULL,
    seq       bigint NOT NULL,
    record    bytea NOT NULL,
    PRIMARY KEY (reference, seq)
);

CREATE TABLE idempotency (
    key        text COLLATE "C" PRIMARY KEY,
    reference  text NOT NULL,
    created_us bigint NOT NULL,
    record     bytea NOT NULL
);
CREATE INDEX idempotency_by_time ON idempotency (created_us);

CREATE TABLE drafts (
    id          text COLLATE "C" PRIMARY KEY,
    -- upper case, without the dash
    resume_code text NOT NULL UNIQUE,
    updated_us  bigint NOT NULL,
    record      bytea NOT NULL
);
CREATE INDEX drafts_by_update ON drafts (updated_us);

CREATE TABLE uploads (
    id         text COLLATE "C" PRIMARY KEY,
    tenant     text,
    size       bigint NOT NULL,
    created_us bigint NOT NULL,
    record     bytea NOT NULL,
    -- the file's bytes with their checksum
    bytes      bytea NOT NULL
);
CREATE INDEX uploads_by_time ON uploads (created_us);

-- Which submission names an upload, so that expiring uploads need not read every submission.
CREATE TABLE submission_uploads (
    upload    text COLLATE "C" PRIMARY KEY,
    reference text COLLATE "C" NOT NULL
);
CREATE INDEX submission_uploads_by_reference ON submission_uploads (reference);

-- Published definitions (by hash) and catalogs (by `catalog:<hash>`).
CREATE TABLE definitions (
    key    text COLLATE "C" PRIMARY KEY,
    record bytea NOT NULL
);

CREATE TABLE outbox (
    id          text COLLATE "C" PRIMARY KEY,
    reference   text COLLATE "C" NOT NULL,
    tenant      text,
    status      text NOT NULL,
    -- while pending: when it is due, or, while a dispatcher holds a claim on it, when the
    -- claim ends; NULL otherwise
    due_us      bigint,
    external_id text UNIQUE,
    record      bytea NOT NULL
);
CREATE INDEX outbox_due ON outbox (due_us, id) WHERE due_us IS NOT NULL;
CREATE INDEX outbox_by_reference ON outbox (reference);
CREATE INDEX outbox_failed ON outbox (tenant, id) WHERE status = 'failed';

CREATE TABLE accounts (
    tenant text COLLATE "C" NOT NULL,
    name   text COLLATE "C" NOT NULL,
    record bytea NOT NULL,
    PRIMARY KEY (tenant, name)
);

CREATE TABLE clerk_sessions (
    id     text COLLATE "C" PRIMARY KEY,
    tenant text NOT NULL,
    name   text NOT NULL,
    record bytea NOT NULL
);
CREATE INDEX clerk_sessions_by_account ON clerk_sessions (tenant, name);
"#,
    },
    Migration {
        version: 2,
        description: "a dispatcher's claim on a delivery is kept beside its due time",
        sql: r#"
-- Until when a dispatcher holds a claim on a delivery (`Store::claim_due_deliveries`); NULL
-- or past when none does. Version 1 kept the claim in `due_us`, so that writing a delivery
-- during its attempt (its progress, the target's reports, a resend) ended the claim; now only
-- a recorded attempt or the end of the lease does, and `due_us` is always when it is due.
-- A claim made under version 1 just keeps its delivery due at the claim's end.
ALTER TABLE outbox ADD COLUMN claimed_until bigint;
"#,
    },
];

/// The schema version this build writes.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}
