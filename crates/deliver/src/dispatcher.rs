//! The dispatcher: takes due outbox entries, delivers them, records each attempt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use baukasten_store::{AfterAttempt, Delivery, DeliveryAttempt, Store, StoreError, Submission};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::schedule::Schedule;
use crate::webhook::{Answer, Webhooks};

/// How many due entries one round takes.
const BATCH: usize = 32;
/// The longest the dispatcher sleeps: a new submission's deliveries start within this time
/// even when nobody wakes it.
const IDLE: Duration = Duration::from_secs(1);
/// How often an entry of a channel this release does not deliver is looked at again.
const NOT_AVAILABLE_RETRY: chrono::Duration = chrono::Duration::hours(1);

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Failed; tried again later.
    Retry,
    /// Failed, and it was the last attempt of the series.
    Failed,
    /// The receiver wants no more (410 Gone).
    Stopped,
}

/// Delivers the outbox. Build one, then [`Dispatcher::spawn`] it, or call
/// [`Dispatcher::run_once`] where the caller drives it (tests).
pub struct Dispatcher {
    store: Arc<dyn Store>,
    webhooks: Webhooks,
    schedule: Schedule,
    /// The server's address as receivers reach it, for links to attachments.
    public_url: String,
    now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
}

impl Dispatcher {
    pub fn new(
        store: Arc<dyn Store>,
        webhooks: Webhooks,
        schedule: Schedule,
        public_url: impl Into<String>,
        now: Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>,
    ) -> Self {
        Dispatcher {
            store,
            webhooks,
            schedule,
            public_url: public_url.into().trim_end_matches('/').to_string(),
            now,
        }
    }

    /// Attempts every entry due now, once each, and records the attempts. Returns what became
    /// of each, by delivery id.
    pub fn run_once(&self) -> Result<Vec<(String, Outcome)>, StoreError> {
        let now = (self.now)();
        let mut done = Vec::new();
        for delivery in self.store.due_deliveries(now, BATCH)? {
            let (attempt, after, outcome) = self.attempt(&delivery);
            match outcome {
                Outcome::Delivered => log::info!(
                    "delivered {} ({}) to {}",
                    delivery.id,
                    delivery.reference,
                    delivery.target
                ),
                _ => log::warn!(
                    "delivery {} ({}) to {}: {}",
                    delivery.id,
                    delivery.reference,
                    delivery.target,
                    attempt.error.as_deref().unwrap_or("failed")
                ),
            }
            self.store.record_attempt(&delivery.id, attempt, after)?;
            done.push((delivery.id, outcome));
        }
        Ok(done)
    }

    /// One attempt at `delivery`, and what follows it.
    fn attempt(&self, delivery: &Delivery) -> (DeliveryAttempt, AfterAttempt, Outcome) {
        let at = (self.now)();
        let tenant = delivery.tenant.as_deref().unwrap_or_default();
        let answer = match delivery.channel.as_str() {
            "webhook" => match self.body(delivery) {
                Ok(body) => self
                    .webhooks
                    .send(tenant, &delivery.target, &delivery.id, at.timestamp(), &body)
                    .unwrap_or_else(|| {
                        Answer::Unreachable(format!(
                            "the server configuration has no webhook `{}` for `{tenant}`",
                            delivery.target
                        ))
                    }),
                Err(e) => Answer::Unreachable(e),
            },
            other => {
                // Kept in the outbox: a release that delivers this channel takes it from here.
                let attempt = DeliveryAttempt {
                    at,
                    status: None,
                    error: Some(format!("this release does not deliver by `{other}` yet")),
                };
                return (attempt, AfterAttempt::RetryAt(at + NOT_AVAILABLE_RETRY), Outcome::Retry);
            }
        };
        let (status, error, outcome) = match answer {
            Answer::Status(s @ 200..=299) => (Some(s), None, Outcome::Delivered),
            Answer::Status(410) => (
                Some(410),
                Some("the receiver answered 410 Gone: no more attempts".into()),
                Outcome::Stopped,
            ),
            Answer::Status(s) => (Some(s), Some(format!("the receiver answered {s}")), Outcome::Retry),
            Answer::Unreachable(e) => (None, Some(e), Outcome::Retry),
        };
        let attempt = DeliveryAttempt { at, status, error };
        let failed_so_far = delivery.series_attempts() + 1;
        let (after, outcome) = match outcome {
            Outcome::Delivered => (AfterAttempt::Delivered, outcome),
            Outcome::Stopped => (AfterAttempt::Stopped, outcome),
            _ => match self.schedule.wait_after(failed_so_far) {
                Some(wait) => (
                    AfterAttempt::RetryAt(at + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::MAX)),
                    Outcome::Retry,
                ),
                None => (AfterAttempt::Failed, Outcome::Failed),
            },
        };
        (attempt, after, outcome)
    }

    /// The webhook's body: `{"type": "submission.created", "timestamp", "data"}`.
    fn body(&self, delivery: &Delivery) -> Result<Vec<u8>, String> {
        let submission = self
            .store
            .submission(&delivery.reference)
            .map_err(|e| format!("the submission cannot be read: {e}"))?
            .ok_or_else(|| format!("the submission {} is not in the store", delivery.reference))?;
        let body = payload(&submission, &delivery.id, &self.public_url);
        serde_json::to_vec(&body).map_err(|e| e.to_string())
    }

    /// Runs the dispatcher on a thread of its own until the handle is stopped or dropped.
    pub fn spawn(self) -> DispatcherHandle {
        let stop = Arc::new(AtomicBool::new(false));
        let wake = Arc::new((Mutex::new(false), Condvar::new()));
        let (stop_in, wake_in) = (stop.clone(), wake.clone());
        let thread = std::thread::Builder::new()
            .name("baukasten-deliver".into())
            .spawn(move || {
                while !stop_in.load(Ordering::Relaxed) {
                    let pause = match self.run_once() {
                        Ok(done) if done.len() == BATCH => Duration::ZERO,
                        Ok(_) => self.until_next_due(),
                        Err(e) => {
                            log::error!("the outbox cannot be read: {e}");
                            IDLE
                        }
                    };
                    if pause.is_zero() {
                        continue;
                    }
                    let (woken, signal) = &*wake_in;
                    let guard = woken.lock().unwrap_or_else(|e| e.into_inner());
                    let (mut guard, _) = signal
                        .wait_timeout_while(guard, pause, |woken| !*woken)
                        .unwrap_or_else(|e| e.into_inner());
                    *guard = false;
                }
            })
            .expect("a thread can be started");
        DispatcherHandle {
            stop,
            wake,
            thread: Some(thread),
        }
    }

    fn until_next_due(&self) -> Duration {
        match self.store.next_delivery_due() {
            Ok(Some(at)) => (at - (self.now)()).to_std().unwrap_or(Duration::ZERO).min(IDLE),
            _ => IDLE,
        }
    }
}

/// The body of `submission.created` for one delivery.
pub fn payload(submission: &Submission, delivery_id: &str, public_url: &str) -> serde_json::Value {
    let attachments: Vec<serde_json::Value> = submission
        .attachments
        .iter()
        .map(|id| json!({ "id": id, "url": format!("{public_url}/api/v1/attachments/{id}") }))
        .collect();
    json!({
        "type": "submission.created",
        "timestamp": submission.created_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "data": {
            "delivery_id": delivery_id,
            "reference": submission.reference,
            "municipality": submission.tenant,
            "service": submission.service,
            "version": submission.version,
            "definition_hash": submission.definition_hash,
            "state": submission.state,
            "answers": submission.data.get("answers"),
            "computed": submission.data.get("computed"),
            "fee_total": submission.fee_total,
            "attachments": attachments,
            "created_at": submission.created_at,
        }
    })
}

/// The running dispatcher. Dropping it stops the thread after its current attempt.
pub struct DispatcherHandle {
    stop: Arc<AtomicBool>,
    wake: Arc<(Mutex<bool>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

impl DispatcherHandle {
    /// Looks at the outbox now instead of at the next tick (after a submission).
    pub fn wake(&self) {
        let (woken, signal) = &*self.wake;
        *woken.lock().unwrap_or_else(|e| e.into_inner()) = true;
        signal.notify_one();
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.wake();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for DispatcherHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}
