//! What every handler shares: the configuration, the published catalog, the store, the
//! renderer, the cookie secret, the metrics and the rate limiter. The clock is read here and
//! handed to the libraries, which never read it themselves.

use std::sync::Arc;

use baukasten_engine::Context;
use baukasten_store::Store;

use crate::catalog::Registry;
use crate::config::Config;
use crate::metrics::Metrics;
use crate::security::{InFlight, RateLimiter, Secret, SignInAttempts};

/// What every handler shares.
pub struct AppState {
    pub config: Config,
    pub registry: Registry,
    pub store: Arc<dyn Store>,
    pub renderer: baukasten_render::Renderer,
    pub secret: Secret,
    pub metrics: Metrics,
    pub limiter: RateLimiter,
    pub in_flight: InFlight,
    /// Failed sign-ins to the back office, per client address and per account.
    pub sign_in_attempts: SignInAttempts,
    /// The municipalities' FIT-Connect clients: the dispatcher sends with them, the callback
    /// route checks and follows up with them.
    pub fit_connect: Arc<baukasten_deliver::FitConnect>,
}

impl AppState {
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }

    /// The engine's context: the configured fixed date, else today's date in the configured
    /// time zone (`Europe/Berlin`), not in the machine's.
    pub fn context(&self) -> Context {
        match self.config.today {
            Some(today) => Context { today },
            None => Context::at(self.now(), self.config.time_zone),
        }
    }
}
