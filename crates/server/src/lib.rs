//! The Baukasten server: the citizen's pages, the JSON API, health and metrics, on a durable
//! store.
//!
//! This crate is the only one that knows HTTP. It asks `engine` for every decision (one
//! evaluator), `render` for every page, and `store` for everything kept; a submission is
//! acknowledged only after the store has committed it to disk.
//!
//! [`prepare`] opens the store and publishes the catalog; [`Prepared::bind`] binds the
//! address and returns a [`Running`] server to await or to run in a thread (tests).

pub mod api;
pub mod auth;
pub mod backoffice;
pub mod body;
pub mod catalog;
pub mod citizen;
pub mod config;
pub mod deliveries;
pub mod error;
pub mod guard;
pub mod lang;
pub mod metrics;
pub mod receipts;
pub mod retention;
pub mod security;
pub mod state;
pub mod submissions;
pub mod uploads;

use std::io;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServerHandle, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Compress, Next, from_fn};
use actix_web::{App, HttpResponse, HttpServer, web};
use baukasten_dsl::SourceFile;
use baukasten_store::{RedbStore, Store};

pub use catalog::{Published, Refused, Registry};
pub use config::Config;
use error::ApiError;
pub use lang::Lang;
use metrics::Metrics;
use security::{RateLimiter, Secret};
pub use state::AppState;

/// Reads the catalog's source files; called at start and, with `--watch`, again and again.
pub type Loader = Arc<dyn Fn() -> io::Result<Vec<SourceFile>> + Send + Sync>;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("the catalog cannot be published: {}", .0.message)]
    Catalog(Refused),
    #[error("cannot read the catalog: {0}")]
    Read(io::Error),
    #[error("cannot open the store: {0}")]
    Store(#[from] baukasten_store::StoreError),
    #[error("refusing to start: {0}")]
    StoreLost(String),
    #[error("the configuration cannot be used: {0}")]
    Config(String),
    #[error("{0}")]
    Io(#[from] io::Error),
}

/// A server whose store is open and whose catalog is published, not yet listening.
pub struct Prepared {
    state: web::Data<AppState>,
    loader: Loader,
    webhooks: baukasten_deliver::Webhooks,
    mailer: Option<baukasten_deliver::Mailer>,
}

/// Opens the store (the embedded one in `config.data`, or the PostgreSQL database
/// `config.store` names) and publishes the catalog the loader reads.
pub fn prepare(config: Config, loader: Loader) -> Result<Prepared, StartError> {
    if let Some(address) = &config.store {
        let store: Arc<dyn Store> = Arc::new(open_postgres(address, &config)?);
        return prepare_with_store(config, loader, store);
    }
    std::fs::create_dir_all(&config.data)?;
    // What shows the folder was used: the secret, or, where the secret comes from the
    // environment, a marker file.
    let used = match config.secret_env {
        Some(_) => config.data.join("store.used"),
        None => config.data.join("secret.key"),
    };
    let store_path = config.data.join("baukasten.redb");
    refuse_lost_store(&store_path, &used)?;
    // The store first: a secret without a store means the store was lost (see above).
    let store: Arc<dyn Store> = Arc::new(RedbStore::open(&store_path)?);
    if config.secret_env.is_some() && !used.exists() {
        write_private(&used, b"")?;
    }
    prepare_with_store(config, loader, store)
}

/// The PostgreSQL store at `address`, for instances that share it: they must share the
/// cookie secret too, so `secret_env` is required.
fn open_postgres(address: &str, config: &Config) -> Result<baukasten_store_pg::PgStore, StartError> {
    if !(address.starts_with("postgres://") || address.starts_with("postgresql://")) {
        return Err(StartError::Config(
            "store: a PostgreSQL address, postgres://user@host:port/database (without it, the embedded \
             store in the data folder is used)"
                .into(),
        ));
    }
    if config.secret_env.is_none() {
        return Err(StartError::Config(
            "store: PostgreSQL is shared by several instances, which must sign cookies with the same \
             secret: set secret_env to an environment variable holding 64 hex digits (openssl rand -hex 32)"
                .into(),
        ));
    }
    let store = baukasten_store_pg::PgStore::open_with(address, config.store_connections)?;
    log::info!("store: PostgreSQL {}", store.place());
    Ok(store)
}

/// Like [`prepare`], on a store the caller opened (another backend, or one for fault tests);
/// without `secret_env`, the cookie secret lives in `config.data`.
pub fn prepare_with_store(config: Config, loader: Loader, store: Arc<dyn Store>) -> Result<Prepared, StartError> {
    let secret = match &config.secret_env {
        Some(name) => secret_from_env(name, |n| std::env::var(n).ok()).map_err(StartError::Config)?,
        None => {
            std::fs::create_dir_all(&config.data)?;
            load_or_create_secret(&config.data.join("secret.key"))?
        }
    };
    let files = loader().map_err(StartError::Read)?;
    let registry = Registry::new(&files, store.clone()).map_err(StartError::Catalog)?;
    let webhooks = deliveries::webhooks(&config).map_err(StartError::Config)?;
    let mailer = deliveries::mailer(&config).map_err(StartError::Config)?;
    let fit_connect = deliveries::fit_connect(&config).map_err(StartError::Config)?;
    if config.delivery_schedule.as_ref().is_some_and(|s| !s.is_valid()) {
        return Err(StartError::Config(
            "delivery_schedule: at least one attempt, and the first one at once (0)".into(),
        ));
    }
    let mut loaded = baukasten_dsl::load_catalog(files.clone());
    let missing = deliveries::unconfigured_targets(&loaded, &config);
    if !missing.is_empty() {
        if config.require_delivery_targets {
            loaded.diagnostics = missing;
            return Err(StartError::Catalog(catalog::Refused {
                message: "deliveries to targets the configuration does not name (webhooks, FIT-Connect)".into(),
                loaded: Some(Box::new(loaded)),
            }));
        }
        // One line each: a first look at the catalog should not drown in them.
        for d in &missing {
            let file = loaded
                .sources
                .get(d.span.file)
                .map(|f| f.path.to_string())
                .unwrap_or_default();
            log::warn!(
                "{file}:{}:{}: {}; its deliveries wait in the outbox until the configuration names it",
                d.span.line,
                d.span.col,
                d.message.get(baukasten_dsl::Lang::En)
            );
        }
    }
    let state = AppState {
        limiter: RateLimiter::new(config.rate_limit_per_minute, config.trusted_proxies.clone()),
        in_flight: Default::default(),
        sign_in_attempts: Default::default(),
        config,
        registry,
        store,
        renderer: baukasten_render::Renderer::new(),
        secret,
        metrics: Metrics::default(),
        fit_connect: Arc::new(fit_connect),
    };
    Ok(Prepared {
        state: web::Data::new(state),
        loader,
        webhooks,
        mailer,
    })
}

/// A data folder that was used before (it has the cookie secret) whose store file is missing or
/// empty has lost its data: a restore went wrong, a disk was swapped, a file was truncated.
/// Starting on a new, empty store would hide that, so the server refuses to start.
fn refuse_lost_store(store: &Path, secret: &Path) -> Result<(), StartError> {
    if !secret.exists() {
        return Ok(());
    }
    let problem = match std::fs::metadata(store) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => "is missing",
        Ok(meta) if meta.len() == 0 => "is empty (0 bytes)",
        _ => return Ok(()),
    };
    Err(StartError::StoreLost(format!(
        "{} {problem}, but this data folder was used before ({} exists). Restore the store from a \
         backup; to start a new, empty store on purpose, remove {} as well.",
        store.display(),
        secret.display(),
        secret.display()
    )))
}

/// The secret from the environment variable `name`: 64 hex digits (32 bytes), as
/// `openssl rand -hex 32` writes them.
fn secret_from_env(name: &str, env: impl Fn(&str) -> Option<String>) -> Result<Secret, String> {
    let value = env(name).ok_or_else(|| format!("secret_env: the environment variable {name} is not set"))?;
    let value = value.trim();
    let bytes: Option<Vec<u8>> = (value.len() == 64)
        .then(|| {
            (0..64)
                .step_by(2)
                .map(|i| u8::from_str_radix(&value[i..i + 2], 16).ok())
                .collect()
        })
        .flatten();
    match bytes.and_then(|b| <[u8; 32]>::try_from(b).ok()) {
        Some(key) => Ok(Secret::new(key)),
        None => Err(format!(
            "secret_env: {name} must hold 32 bytes as 64 hex digits (e.g. from `openssl rand -hex 32`)"
        )),
    }
}

/// The cookie and CSRF secret lives in the data folder, so sessions survive a restart.
fn load_or_create_secret(path: &Path) -> io::Result<Secret> {
    if let Ok(bytes) = std::fs::read(path)
        && let Ok(key) = <[u8; 32]>::try_from(bytes.as_slice())
    {
        return Ok(Secret::new(key));
    }
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).map_err(|e| io::Error::other(e.to_string()))?;
    write_private(path, &key)?;
    Ok(Secret::new(key))
}

#[cfg(unix)]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(not(unix))]
fn write_private(path: &Path, bytes: &[u8]) -> io::Result<()> {
    std::fs::write(path, bytes)
}

/// A listening server.
pub struct Running {
    pub addr: SocketAddr,
    server: actix_web::dev::Server,
    state: web::Data<AppState>,
    /// Delivers the outbox while the server runs; stopped when the server stops.
    dispatcher: baukasten_deliver::DispatcherHandle,
}

impl Prepared {
    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Binds the configured address (port 0 picks a free one) and builds the server.
    pub fn bind(self) -> io::Result<Running> {
        let state = self.state.clone();
        let config = &state.config;
        let max_body = config.max_body;
        let app_state = state.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(app_state.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(max_body)
                        .error_handler(move |err, _| error::json_error(err, max_body).into()),
                )
                .app_data(web::PayloadConfig::new(max_body))
                .app_data(web::FormConfig::default().limit(max_body))
                .app_data(
                    web::PathConfig::default().error_handler(|_, _| ApiError::NotFound("not found".into()).into()),
                )
                .app_data(
                    web::QueryConfig::default()
                        .error_handler(|err, _| ApiError::Malformed(format!("bad query: {err}")).into()),
                )
                .wrap(from_fn(guard::guard))
                .wrap(from_fn(observe))
                .wrap(security::headers())
                .wrap(Compress::default())
                .route("/healthz", web::get().to(healthz))
                .route("/readyz", web::get().to(readyz))
                .route("/metrics", web::get().to(metrics))
                .configure(api::routes)
                .configure(backoffice::routes)
                .configure(citizen::routes)
                .default_service(web::to(citizen::not_found))
        })
        .shutdown_timeout(30);
        if config.workers > 0 {
            server = server.workers(config.workers);
        }
        let server = server.bind(config.addr)?;
        let addr = server.addrs()[0];
        if config.watch {
            watch(state.clone(), self.loader.clone());
        }
        expire_drafts(state.clone());
        let public_url = config.public_url.clone().unwrap_or_else(|| format!("http://{addr}"));
        let dispatcher = deliveries::start(state.clone(), self.webhooks, self.mailer, public_url);
        Ok(Running {
            addr,
            server: server.run(),
            state,
            dispatcher,
        })
    }
}

impl Running {
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn state(&self) -> &web::Data<AppState> {
        &self.state
    }

    /// Serves until a signal (SIGINT, SIGTERM) or [`ServerHandle::stop`]; in-flight requests
    /// finish first. Needs an actix or tokio runtime.
    pub async fn run(self) -> io::Result<()> {
        let Running { server, dispatcher, .. } = self;
        let result = server.await;
        dispatcher.stop();
        result
    }

    /// Serves on a thread of its own with its own runtime; for tests and embedding.
    pub fn spawn(self) -> (SocketAddr, ServerHandle, std::thread::JoinHandle<io::Result<()>>) {
        let addr = self.addr;
        let handle = self.server.handle();
        let (server, dispatcher) = (self.server, self.dispatcher);
        let thread = std::thread::spawn(move || {
            let result = actix_web::rt::System::new().block_on(server);
            dispatcher.stop();
            result
        });
        (addr, handle, thread)
    }
}

/// Reloads the catalog when its files change, for the clerk's live preview. Drafts are kept:
/// they are pinned to their definitions, which stay available.
fn watch(state: web::Data<AppState>, loader: Loader) {
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_secs(1));
            match loader() {
                Ok(files) => match state.registry.reload(&files) {
                    Ok(true) => log::info!("catalog reloaded"),
                    Ok(false) => {}
                    Err(refused) => {
                        let count = refused
                            .loaded
                            .as_ref()
                            .map(|l| l.diagnostics.iter().filter(|d| d.is_error()).count())
                            .unwrap_or(1);
                        log::warn!("catalog not reloaded, {count} error(s); run `baukasten check` to see them");
                    }
                },
                Err(e) => log::warn!("cannot read the catalog: {e}"),
            }
        }
    });
}

/// Once at start and then hourly: deletes drafts nobody touched within the retention time, so
/// personal data of abandoned applications does not stay forever, then the uploads nothing
/// names any more (theirs among them), forgets idempotency keys older than their lifetime, so
/// nothing grows without bound, and deletes the answers and files of submissions that have
/// rested in a final state for their service's retention period (`retention.rs`).
fn expire_drafts(state: web::Data<AppState>) {
    let retention = chrono::Duration::days(i64::from(state.config.draft_retention_days));
    let key_lifetime = chrono::Duration::days(i64::from(state.config.idempotency_key_days));
    let upload_retention = chrono::Duration::hours(i64::from(state.config.upload_retention_hours));
    std::thread::spawn(move || {
        loop {
            match state.store.expire_drafts(state.now() - retention) {
                Ok(0) => {}
                Ok(n) => log::info!("{n} abandoned draft(s) deleted"),
                Err(e) => log::warn!("could not expire drafts: {e}"),
            }
            match state.store.expire_idempotency_keys(state.now() - key_lifetime) {
                Ok(0) => {}
                Ok(n) => log::info!("{n} idempotency key(s) forgotten"),
                Err(e) => log::warn!("could not expire idempotency keys: {e}"),
            }
            match state.store.expire_uploads(state.now() - upload_retention) {
                Ok(0) => {}
                Ok(n) => log::info!("{n} upload(s) that nothing names deleted"),
                Err(e) => log::warn!("could not expire uploads: {e}"),
            }
            match retention::sweep(&state, state.now()) {
                Ok(0) => {}
                Ok(n) => log::info!("{n} submission(s) past their retention period: answers and files deleted"),
                Err(e) => log::warn!("could not apply the retention periods: {e}"),
            }
            std::thread::sleep(Duration::from_secs(3600));
        }
    });
}

/// Counts every request and its latency by route pattern, and logs it without personal data
/// (no query strings, no bodies, no concrete paths).
async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let start = Instant::now();
    let method = req.method().to_string();
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let response = next.call(req).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "(unmatched)".to_string());
    let status = response.status().as_u16();
    let took = start.elapsed();
    if let Some(state) = state {
        state.metrics.request(&method, &route, status, took);
    }
    log::debug!("{method} {route} {status} {:.1}ms", took.as_secs_f64() * 1000.0);
    Ok(response)
}

async fn healthz(state: web::Data<AppState>) -> HttpResponse {
    let published = state.registry.current();
    HttpResponse::Ok().json(serde_json::json!({
        "status": "ok",
        "services": published.offers.len(),
        "tenants": published.tenants.len(),
    }))
}

/// Readiness: 200 while the store can write, 503 (with `Retry-After`) while it cannot, for a
/// load balancer to send citizens elsewhere. `/healthz` stays the liveness check: the process
/// runs and will recover by itself.
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    // Which store it is; with PostgreSQL, ready means its database answers and takes writes.
    let backend = if state.config.store.is_some() {
        "postgresql"
    } else {
        "redb"
    };
    match web::block(move || store.ready()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(serde_json::json!({ "status": "ready", "store": backend })),
        Ok(Err(e)) => {
            log::warn!("not ready: {e}");
            let reason = match backend {
                "postgresql" => "the database cannot be reached or takes no writes",
                _ => "the store cannot write",
            };
            HttpResponse::ServiceUnavailable()
                .insert_header((actix_web::http::header::RETRY_AFTER, "30"))
                .json(serde_json::json!({ "status": "unavailable", "store": backend, "reason": reason }))
        }
        Err(_) => HttpResponse::ServiceUnavailable().json(serde_json::json!({ "status": "unavailable" })),
    }
}

async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let store = state.store.clone();
    let counted = web::block(move || (store.stats(), store.upload_bytes(), store.delivery_backlog())).await;
    let mut body = state.metrics.render();
    if let Ok((stats, uploads, backlog)) = counted {
        body.push_str(&metrics::render_store(&stats, uploads.ok().as_ref()));
        if let Ok(backlog) = backlog {
            body.push_str(&metrics::render_deliveries(&backlog));
        }
    }
    HttpResponse::Ok().content_type("text/plain; version=0.0.4").body(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_from_the_environment_is_64_hex_digits_or_refused_with_the_variable() {
        let hex = "00112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let env = |value: &'static str| move |n: &str| (n == "S").then(|| value.to_string());
        assert!(secret_from_env("S", env(hex)).is_ok());
        let err = secret_from_env("S", env("too short")).err().unwrap();
        assert!(err.contains("S must hold 32 bytes as 64 hex digits"), "{err}");
        let not_hex = "zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let err = secret_from_env("S", env(not_hex)).err().unwrap();
        assert!(err.contains("64 hex digits"), "{err}");
        let err = secret_from_env("OTHER", env(hex)).err().unwrap();
        assert_eq!(err, "secret_env: the environment variable OTHER is not set");
        // Two instances with the same variable accept each other's sessions.
        let (a, b) = (
            secret_from_env("S", env(hex)).unwrap(),
            secret_from_env("S", env(hex)).unwrap(),
        );
        assert_eq!(b.open_session(&a.sign_session("draft-1")).as_deref(), Some("draft-1"));
        let other = "ff112233445566778899aabbccddeeff00112233445566778899AABBCCDDEEFF";
        let c = secret_from_env("S", env(other)).unwrap();
        assert_eq!(
            c.open_session(&a.sign_session("draft-1")),
            None,
            "another secret refuses it"
        );
    }
}
