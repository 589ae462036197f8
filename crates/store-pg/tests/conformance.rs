//! The conformance suite on PostgreSQL: every test in a schema of its own, made for it and
//! dropped after it, in the database that `BAUKASTEN_TEST_POSTGRES` names (by default the
//! local server's `postgres` database).
//!
//! Without a server the tests fail, saying how to start one: a suite that skips itself would
//! pass without having tested anything.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use baukasten_store::Store;
use baukasten_store::conformance::Backend;
use baukasten_store_pg::PgStore;
use tokio_postgres::NoTls;

mod conformance {
    use super::Pg;

    baukasten_store::conformance_tests!(Pg::new());
}

/// The database the tests make their schemas in.
fn database() -> String {
    std::env::var("BAUKASTEN_TEST_POSTGRES").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

/// A name no other test, and no other run of the suite at the same time, uses.
fn schema_name() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!(
        "baukasten_conformance_{}_{}_{nanos}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Runs one statement on its own connection; how many rows it changed.
fn execute(url: &str, sql: &str, params: &[&(dyn tokio_postgres::types::ToSql + Sync)]) -> Result<u64, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|e| {
            let mut cause = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(inner) = source {
                cause = format!("{cause}: {inner}");
                source = inner.source();
            }
            format!(
                "cannot reach PostgreSQL at {url}: {cause}\n\
                 The conformance suite needs a PostgreSQL server. Start the local one with\n    \
                 pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start\n\
                 or name another in BAUKASTEN_TEST_POSTGRES (postgres://user@host:port/database)."
            )
        })?;
        let connection = tokio::spawn(connection);
        let changed = client.execute(sql, params).await.map_err(|e| format!("{sql}: {e}"));
        drop(client);
        let _ = connection.await;
        changed
    })
}

/// PostgreSQL under the conformance suite: a schema of the test database for the store, and
/// one more for each empty store asked for, all dropped when the test ends (also when it
/// fails).
struct Pg {
    database: String,
    /// The schemas made, the store's first.
    schemas: Mutex<Vec<String>>,
    /// The store under test; dropped before its schema.
    store: Mutex<Option<Arc<PgStore>>>,
}

impl Pg {
    fn new() -> Pg {
        let pg = Pg {
            database: database(),
            schemas: Mutex::new(Vec::new()),
            store: Mutex::new(None),
        };
        let schema = pg.new_schema();
        *pg.store.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::new(pg.open(&schema)));
        pg
    }

    fn new_schema(&self) -> String {
        let schema = schema_name();
        execute(&self.database, &format!("CREATE SCHEMA {schema}"), &[]).unwrap_or_else(|e| panic!("{e}"));
        self.schemas
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(schema.clone());
        schema
    }

    /// The address of the test database with `schema` as the only one searched, so that the
    /// store makes and finds its tables there.
    fn url(&self, schema: &str) -> String {
        let separator = if self.database.contains('?') { '&' } else { '?' };
        format!("{}{separator}options=-csearch_path%3D{schema}", self.database)
    }

    fn open(&self, schema: &str) -> PgStore {
        PgStore::open(&self.url(schema)).unwrap_or_else(|e| panic!("{e}"))
    }

    fn first_schema(&self) -> String {
        self.schemas.lock().unwrap_or_else(PoisonError::into_inner)[0].clone()
    }
}

impl Backend for Pg {
    fn store(&self) -> Arc<dyn Store> {
        self.store
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .expect("the store is open")
    }

    fn reopen(&self) -> Arc<dyn Store> {
        Arc::new(self.open(&self.first_schema()))
    }

    fn empty(&self) -> Arc<dyn Store> {
        let schema = self.new_schema();
        Arc::new(self.open(&schema))
    }

    fn damage(&self, table: &str, key: &str) {
        let column = match table {
            "submissions" => "reference",
            "clerk_sessions" => "id",
            other => panic!("no damage to table {other} is foreseen"),
        };
        // The sixth byte, as the redb backend flips it; the checksum at the end stays.
        let sql =
            format!("UPDATE {table} SET record = set_byte(record, 5, get_byte(record, 5) # 32) WHERE {column} = $1");
        let changed = execute(&self.url(&self.first_schema()), &sql, &[&key]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(changed, 1, "{table} {key} is there to damage");
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        // Closed first, so that no connection of the store is busy in the schema.
        drop(self.store.lock().unwrap_or_else(PoisonError::into_inner).take());
        for schema in self.schemas.lock().unwrap_or_else(PoisonError::into_inner).drain(..) {
            if let Err(e) = execute(&self.database, &format!("DROP SCHEMA {schema} CASCADE"), &[]) {
                // Not a panic: this may run while a failed test unwinds.
                eprintln!("the test schema {schema} is left behind: {e}");
            }
        }
    }
}

/// The schema's versions: a fresh database gets every migration, recorded; a database a newer
/// release migrated further is refused with both versions named, and left as it is.
#[test]
fn migrations_are_recorded_and_a_newer_schema_is_refused() {
    let pg = Pg::new();
    let schema = pg.first_schema();
    let store = pg.store();
    drop(store);
    let opened = pg.open(&schema);
    let latest = baukasten_store_pg::schema::latest();
    assert_eq!(
        opened.schema_version().unwrap(),
        latest,
        "opening again migrates nothing more"
    );
    drop(opened);

    let url = pg.url(&schema);
    execute(
        &url,
        "INSERT INTO baukasten_schema (version, description) VALUES ($1, 'from a newer release')",
        &[&(latest + 1)],
    )
    .unwrap();
    let refused = PgStore::open(&url).expect_err("a newer schema is refused");
    assert_eq!(refused.kind, baukasten_store::ErrorKind::Incompatible);
    assert!(
        refused.detail.contains(&format!("schema version {}", latest + 1))
            && refused.detail.contains(&latest.to_string()),
        "{refused}"
    );
    // Refused before writing anything: the newer release's version is still the last.
    assert_eq!(
        execute(
            &url,
            "DELETE FROM baukasten_schema WHERE version = $1",
            &[&(latest + 1)]
        )
        .unwrap(),
        1
    );
}

/// A database address that is not one, or a server that does not answer, is an error naming
/// the place, never a panic.
#[test]
fn a_bad_address_or_an_absent_server_is_a_clear_error() {
    let garbled = PgStore::open("postgres://postgres@127.0.0.1:5432/db?sslmode=bogus").expect_err("garbled");
    assert!(garbled.detail.contains("cannot be read"), "{garbled}");
    let absent = PgStore::open("postgres://postgres@127.0.0.1:1/nowhere").expect_err("no server on port 1");
    assert_eq!(absent.kind, baukasten_store::ErrorKind::Io);
    assert!(absent.detail.contains("127.0.0.1:1/nowhere"), "{absent}");
}
