//! The server's settings: defaults, overridden by a config file, then by environment
//! variables, then by command-line flags (the binary applies the last two).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// Everything `baukasten serve` can be told. Sizes are bytes, times seconds.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// The catalog folder.
    pub forms: PathBuf,
    /// Where the store keeps its file (`baukasten.redb`) and the cookie secret.
    pub data: PathBuf,
    /// The store, when it is not the embedded one in `data`: a PostgreSQL address
    /// (`postgres://user@host:port/database`) that several instances share. Needs
    /// `secret_env`, so that every instance signs cookies with the same secret.
    pub store: Option<String>,
    /// The most connections to PostgreSQL this instance keeps (with `store`). All instances
    /// together should stay well below the database's `max_connections`, and near a few per
    /// core of the database server: more only queue inside it.
    pub store_connections: usize,
    /// How long a dispatcher's claim on the deliveries of one round lasts, in seconds: an
    /// instance that dies in a round leaves them to the others after this time.
    pub delivery_claim_seconds: u64,
    pub addr: SocketAddr,
    /// Reload changed service files while running (the clerk's live preview).
    pub watch: bool,
    /// Largest JSON or form body.
    pub max_body: usize,
    /// Largest single uploaded file.
    pub max_file: usize,
    /// Largest total of the files of one submission (one multipart request).
    pub max_upload: usize,
    /// A citizen's session ends after this long without a request (WCAG 2.2.1: warned, extendable).
    pub session_timeout: u64,
    /// Drafts not touched for this many days are deleted (their resume codes stop working).
    pub draft_retention_days: u32,
    /// An `Idempotency-Key` is remembered this many days; a retry after that is a new request.
    pub idempotency_key_days: u32,
    /// Uploads that no submission and no draft names are deleted after this many hours.
    pub upload_retention_hours: u32,
    /// The bytes of uploads each municipality may keep; more get 507.
    pub upload_quota: u64,
    /// Quotas of single municipalities, instead of `upload_quota`: `{musterstadt: 53687091200}`.
    pub upload_quotas: std::collections::BTreeMap<String, u64>,
    /// Requests that write or compute (evaluation, submissions, uploads, step posts, resume
    /// codes) per client address and minute.
    pub rate_limit_per_minute: u32,
    /// A request, its body included, that takes longer than this is cut off with 408, so a
    /// body that trickles in cannot hold a connection for ever.
    pub request_timeout: u64,
    /// Requests one client address may have in flight at once; more get 429.
    pub max_requests_per_address: usize,
    /// Reverse proxies in front of the server, by address: only their `X-Forwarded-For`
    /// names the client. Empty by default: the peer is the client.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// `host:port` of a ClamAV daemon (clamd) that scans every upload; none by default.
    pub clamav: Option<String>,
    /// Bearer tokens of the back office, one per municipality: `{musterstadt: "…"}`.
    pub tokens: std::collections::BTreeMap<String, String>,
    /// Number of HTTP worker threads; 0 means one per core.
    pub workers: usize,
    /// A fixed date for `today()`, for previews of date rules and for tests. Leave it unset in
    /// production: today's date in `time_zone` is used.
    pub today: Option<chrono::NaiveDate>,
    /// The time zone whose date is `today` (an IANA name); `Europe/Berlin` by default, whatever
    /// zone the machine runs in.
    pub time_zone: chrono_tz::Tz,
    /// Webhook receivers per municipality: `webhooks: { musterstadt: { fachverfahren: { url,
    /// secret_env } } }`. The secret is read from the environment variable named.
    pub webhooks:
        std::collections::BTreeMap<String, std::collections::BTreeMap<String, baukasten_deliver::WebhookTarget>>,
    /// The waits before each attempt of a delivery, in seconds (default: 0, 5, 300, 1800,
    /// 7200, 18000, 36000, 50400, 72000, 86400).
    pub delivery_schedule: Option<baukasten_deliver::Schedule>,
    /// The mail server for e-mail deliveries: `smtp: {host, port, from, starttls, user,
    /// password_env}`. Without it, e-mail deliveries wait in the outbox.
    pub smtp: Option<baukasten_deliver::SmtpConfig>,
    /// FIT-Connect API clients per municipality: `fit_connect: { musterstadt: { token_url,
    /// submission_api, client_id, client_secret_env, callback_secret_env } }`. The secrets are
    /// read from the environment variables named.
    pub fit_connect: std::collections::BTreeMap<String, baukasten_deliver::FitConnectConfig>,
    /// The environment variable that holds the secret that signs cookies and forms (32 bytes,
    /// as 64 hex digits), for several instances that must accept each other's sessions. Unset:
    /// each data folder keeps its own, made at first start (`data/secret.key`).
    pub secret_env: Option<String>,
    /// The address under which receivers reach this server, for links to attachments
    /// (default: `http://` and the listening address).
    pub public_url: Option<String>,
    /// Whether a service may not start delivering to a webhook its municipality has not
    /// configured. `baukasten serve` sets it when it runs with a config file; without one (a
    /// first look at the catalog) such deliveries wait in the outbox, with a warning.
    #[serde(skip)]
    pub require_delivery_targets: bool,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            forms: PathBuf::from("forms"),
            data: PathBuf::from("data"),
            store: None,
            store_connections: baukasten_store_pg::POOL_SIZE,
            delivery_claim_seconds: 300,
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            watch: false,
            max_body: 1024 * 1024,
            max_file: 10 * 1024 * 1024,
            max_upload: 25 * 1024 * 1024,
            session_timeout: 30 * 60,
            draft_retention_days: 30,
            idempotency_key_days: 7,
            upload_retention_hours: 24,
            upload_quota: 10 * 1024 * 1024 * 1024,
            upload_quotas: Default::default(),
            rate_limit_per_minute: 600,
            trusted_proxies: Vec::new(),
            request_timeout: 60,
            max_requests_per_address: 128,
            clamav: None,
            tokens: Default::default(),
            workers: 0,
            today: None,
            time_zone: baukasten_engine::DEFAULT_TIME_ZONE,
            webhooks: Default::default(),
            delivery_schedule: None,
            public_url: None,
            smtp: None,
            fit_connect: Default::default(),
            secret_env: None,
            require_delivery_targets: false,
        }
    }
}

/// A config file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {detail}")]
    Invalid { path: String, detail: String },
}

impl Config {
    /// Reads a YAML config file; keys not given keep their defaults.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        serde_saphyr::from_str(&text).map_err(|e| ConfigError::Invalid {
            path: path.display().to_string(),
            detail: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<Config, String> {
        serde_saphyr::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn the_time_zone_is_berlin_unless_another_real_zone_is_named() {
        assert_eq!(Config::default().time_zone, chrono_tz::Europe::Berlin);
        assert_eq!(
            parse("time_zone: Europe/Vienna\n").unwrap().time_zone,
            chrono_tz::Europe::Vienna
        );
        assert!(
            parse("time_zone: Mars/Olympus_Mons\n").is_err(),
            "an unknown zone is refused"
        );
    }
}
