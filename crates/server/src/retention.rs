//! Deleting personal data when its time is up (DSGVO): a submission that has rested in a final
//! state of its process for the retention period its service (or its municipality) declares
//! loses its answers and files; a minimal record stays (reference, dates, final state, when it
//! was deleted). Runs with the hourly sweep that also deletes abandoned drafts and unused
//! uploads.

use baukasten_engine::Lifecycle;
use baukasten_store::{InboxQuery, StoreError};
use chrono::{DateTime, Utc};

use crate::state::AppState;

/// Redacts every submission whose retention period ended before `now`; returns how many.
pub fn sweep(state: &AppState, now: DateTime<Utc>) -> Result<usize, StoreError> {
    let published = state.registry.current();
    let mut redacted = 0;
    for tenant in &published.tenants {
        for offer in published.offers_of(&tenant.id) {
            let service = offer.service();
            let Some(days) = baukasten_engine::retention_days(service, Some(tenant)) else {
                continue;
            };
            let period = chrono::Duration::days(i64::from(days));
            let life = Lifecycle::of(service);
            for final_state in service.process.states.iter().filter(|s| life.is_final(&s.id)) {
                // Only what was received before the period began can have rested long enough.
                let mut query = InboxQuery {
                    tenant: tenant.id.clone(),
                    service: Some(service.id.clone()),
                    state: Some(final_state.id.clone()),
                    until: Some(now - period),
                    limit: 500,
                    ..InboxQuery::default()
                };
                loop {
                    let page = state.store.inbox(&query)?;
                    for submission in &page.submissions {
                        if submission.redacted_at.is_some() {
                            continue;
                        }
                        // Resting since its last move (into the final state), or since it
                        // was received where the process has nowhere to move.
                        let since = state
                            .store
                            .last_state_change(&submission.reference)?
                            .unwrap_or(submission.created_at);
                        if since + period <= now && state.store.redact(&submission.reference, now)?.is_some() {
                            redacted += 1;
                        }
                    }
                    match page.next {
                        Some(after) => query.after = Some(after),
                        None => break,
                    }
                }
            }
        }
    }
    Ok(redacted)
}
