//! Deliveries from the server's side: which `deliver:` targets the configuration lacks, and
//! the dispatcher (`baukasten-deliver`) started beside the HTTP server.

use std::collections::BTreeMap;
use std::sync::Arc;

use baukasten_deliver::{Dispatcher, DispatcherHandle, WebhookTarget, Webhooks};
use baukasten_dsl::model::Delivery;
use baukasten_dsl::{Code, Diagnostic, Loaded, Msg};

use crate::config::Config;

/// A diagnostic at every `webhook:` of a service that a municipality offering it has not
/// configured under `webhooks:` in the server configuration.
pub fn unconfigured_webhooks(
    loaded: &Loaded,
    configured: &BTreeMap<String, BTreeMap<String, WebhookTarget>>,
) -> Vec<Diagnostic> {
    let catalog = &loaded.catalog;
    let mut out = Vec::new();
    for tenant in &catalog.tenants {
        for base in catalog.services.iter().filter(|s| s.tenant.is_none()) {
            let service = catalog.service(Some(&tenant.id), &base.id).unwrap_or(base);
            let process = &service.process;
            for (delivery, span) in process.deliver.iter().zip(&process.deliver_spans) {
                let Delivery::Webhook(name) = delivery else { continue };
                if configured.get(&tenant.id).is_some_and(|t| t.contains_key(name)) {
                    continue;
                }
                let t = &tenant.id;
                out.push(
                    Diagnostic::error(
                        Code::UnknownReference,
                        *span,
                        Msg::new(
                            format!(
                                "Der Dienst `{}` stellt an den Webhook `{name}` zu, den die Serverkonfiguration für `{t}` nicht nennt.",
                                service.id
                            ),
                            format!(
                                "the service `{}` delivers to the webhook `{name}`, which the server configuration does not name for `{t}`",
                                service.id
                            ),
                        ),
                    )
                    .with_help(Msg::new(
                        format!("Ergänzen Sie in der Serverkonfiguration `webhooks: {{ {t}: {{ {name}: {{ url: …, secret_env: … }} }} }}`."),
                        format!("add `webhooks: {{ {t}: {{ {name}: {{ url: …, secret_env: … }} }} }}` to the server configuration"),
                    )),
                );
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// The receivers of the configuration, with their secrets read from the environment.
pub fn webhooks(config: &Config) -> Result<Webhooks, String> {
    Webhooks::new(&config.webhooks, |name| std::env::var(name).ok())
}

/// Starts the dispatcher on its own thread.
pub fn start(state: &crate::AppState, webhooks: Webhooks, public_url: String) -> DispatcherHandle {
    let schedule = state.config.delivery_schedule.clone().unwrap_or_default();
    Dispatcher::new(
        state.store.clone(),
        webhooks,
        schedule,
        public_url,
        Arc::new(chrono::Utc::now),
    )
    .spawn()
}
