//! What every handler shares: the configuration, the published catalog, the store, the
//! renderer, the cookie secret, the metrics and the rate limiter. The clock is read here and
//! handed to the libraries, which never read it themselves.

use std::sync::Arc;

use baukasten_engine::Context;
use baukasten_store::Store;

use crate::catalog::Registry;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::security::{RateLimiter, Secret};

/// What every handler shares.
pub struct AppState {
    pub config: Config,
    pub registry: Registry,
    pub store: Arc<dyn Store>,
    pub renderer: baukasten_render::Renderer,
    pub secret: Secret,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    /// The engine's context: today's date in Germany's time zone is close enough to the
    /// server's local date; the server is expected to run on German time.
    pub fn context(&self) -> Context {
        Context {
            today: self.config.today.unwrap_or_else(|| chrono::Local::now().date_naive()),
        }
    }
}
