//! The dispatcher: takes due outbox entries, delivers them, records each attempt.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use baukasten_store::{AfterAttempt, Delivery, DeliveryAttempt, Store, StoreError, Submission};
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::fit_connect::{FitConnect, Parcel, Progress};
use crate::mail::{Mail, Mailer};
use crate::schedule::Schedule;
use crate::webhook::{Answer, Webhooks};

/// Writes the mail of an e-mail delivery (the office's, or the citizen's confirmation) for a
/// submission; the server knows the service's texts. `None` falls back to a plain listing.
pub type MailTexts = Arc<dyn Fn(&Submission, &Delivery) -> Option<Mail> + Send + Sync>;

/// Builds what a FIT-Connect delivery sends for a submission: the server knows the service
/// (its title, LeiKa key, schema address) and makes the receipt.
pub type Parcels = Arc<dyn Fn(&Submission, &Delivery) -> Result<Parcel, String> + Send + Sync>;

/// What one attempt came to, whatever the channel.
enum Tried {
    Done(Option<u16>),
    Gone(u16),
    Failed(Option<u16>, String),
    /// The channel cannot deliver in this setup (not configured, or not in this release).
    NotYet(String),
}

/// How many due entries one round takes.
const BATCH: usize = 32;
/// How long a round's claim on its entries lasts by default ([`Dispatcher::with_claim`]):
/// longer than any channel's attempt takes (FIT-Connect's several requests of at most a minute
/// each included), so that no other dispatcher on the same database starts one while it runs.
pub const CLAIM: Duration = Duration::from_secs(300);
/// The longest the dispatcher sleeps: a new submission's deliveries start within this time
/// even when nobody wakes it.
const IDLE: Duration = Duration::from_secs(1);
/// While other writes wait for the store (a burst of submissions), a round waits for a gap,
/// checking this often, at most [`YIELD_AT_MOST`]: intake keeps its pace, and deliveries, which
/// are asynchronous anyway, catch up after the burst (at least a round per half second meanwhile).
const YIELD_STEP: Duration = Duration::from_millis(2);
const YIELD_AT_MOST: Duration = Duration::from_millis(500);
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
    mailer: Option<Mailer>,
    texts: Option<MailTexts>,
    fit_connect: Option<(Arc<FitConnect>, Parcels)>,
    claim: Duration,
}

impl Dispatcher {
    /// Delivers e-mail through `mailer` (none: e-mail deliveries wait, hourly looked at), with
    /// the texts `texts` writes.
    pub fn with_mail(mut self, mailer: Option<Mailer>, texts: MailTexts) -> Self {
        self.mailer = mailer;
        self.texts = Some(texts);
        self
    }

    /// How long a round claims its entries (default [`CLAIM`]): a dispatcher that dies in a
    /// round leaves them to the others sharing the database after this time.
    pub fn with_claim(mut self, claim: Duration) -> Self {
        self.claim = claim;
        self
    }

    /// Delivers to FIT-Connect through `fit_connect`, sending what `parcels` builds.
    pub fn with_fit_connect(mut self, fit_connect: Arc<FitConnect>, parcels: Parcels) -> Self {
        self.fit_connect = Some((fit_connect, parcels));
        self
    }

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
            mailer: None,
            texts: None,
            fit_connect: None,
            claim: CLAIM,
        }
    }

    /// Attempts every entry due now (at most a batch), once each, and records the attempts in
    /// one write. Returns what became of each, by delivery id. Killed before that write, the
    /// batch is attempted again after the restart: at least once.
    pub fn run_once(&self) -> Result<Vec<(String, Outcome)>, StoreError> {
        let now = (self.now)();
        let mut done = Vec::new();
        let mut records = Vec::new();
        let lease = chrono::Duration::from_std(self.claim).unwrap_or(chrono::Duration::MAX);
        for delivery in self.store.claim_due_deliveries(now, BATCH, lease)? {
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
            records.push((delivery.id.clone(), attempt, after));
            done.push((delivery.id, outcome));
        }
        self.store.record_attempts(records)?;
        Ok(done)
    }

    /// One attempt at `delivery`, and what follows it.
    fn attempt(&self, delivery: &Delivery) -> (DeliveryAttempt, AfterAttempt, Outcome) {
        let at = (self.now)();
        let tenant = delivery.tenant.as_deref().unwrap_or_default();
        let tried = match delivery.channel.as_str() {
            "webhook" => match self.body(delivery) {
                Ok(body) => match self
                    .webhooks
                    .send(tenant, &delivery.target, &delivery.id, at.timestamp(), &body)
                {
                    Some(Answer::Status(s @ 200..=299)) => Tried::Done(Some(s)),
                    Some(Answer::Status(410)) => Tried::Gone(410),
                    Some(Answer::Status(s)) => Tried::Failed(Some(s), format!("the receiver answered {s}")),
                    Some(Answer::Unreachable(e)) => Tried::Failed(None, e),
                    None => Tried::Failed(
                        None,
                        format!(
                            "the server configuration has no webhook `{}` for `{tenant}`",
                            delivery.target
                        ),
                    ),
                },
                Err(e) => Tried::Failed(None, e),
            },
            "email" | "email_confirmation" | "email_state" => match &self.mailer {
                None => Tried::NotYet("no mail server is configured (`smtp:` in the server configuration)".into()),
                Some(mailer) => match self.mail(delivery) {
                    Ok(mail) => match mailer.send(&mail) {
                        Ok(()) => Tried::Done(None),
                        Err(e) => Tried::Failed(None, e),
                    },
                    Err(e) => Tried::Failed(None, e),
                },
            },
            "fit_connect" => match &self.fit_connect {
                Some((fit_connect, parcels)) if fit_connect.has(tenant) => {
                    self.send_fit_connect(fit_connect, parcels, tenant, delivery)
                }
                _ => Tried::NotYet(format!(
                    "no FIT-Connect client is configured for `{tenant}` (`fit_connect:` in the server configuration)"
                )),
            },
            // Kept in the outbox: a release that delivers this channel takes it from here.
            other => Tried::NotYet(format!("this release does not deliver by `{other}` yet")),
        };
        let (status, error, outcome) = match tried {
            Tried::Done(status) => (status, None, Outcome::Delivered),
            Tried::Gone(s) => (
                Some(s),
                Some("the receiver answered 410 Gone: no more attempts".into()),
                Outcome::Stopped,
            ),
            Tried::Failed(status, e) => (status, Some(e), Outcome::Retry),
            Tried::NotYet(e) => {
                let attempt = DeliveryAttempt {
                    at,
                    status: None,
                    error: Some(e),
                };
                return (attempt, AfterAttempt::RetryAt(at + NOT_AVAILABLE_RETRY), Outcome::Retry);
            }
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

    /// One attempt at a FIT-Connect delivery, going on from where the last one got to; each
    /// step's progress is written to the store before the next starts.
    fn send_fit_connect(
        &self,
        fit_connect: &FitConnect,
        parcels: &Parcels,
        tenant: &str,
        delivery: &Delivery,
    ) -> Tried {
        let parcel = match self.submission(delivery).and_then(|s| parcels(&s, delivery)) {
            Ok(parcel) => parcel,
            Err(e) => return Tried::Failed(None, e),
        };
        let progress = delivery
            .progress
            .as_ref()
            .and_then(|p| serde_json::from_value::<Progress>(p.clone()).ok());
        let mut keep = |progress: &Progress| -> Result<(), String> {
            let value = serde_json::to_value(progress).map_err(|e| e.to_string())?;
            self.store
                .record_progress(&delivery.id, value, Some(&progress.submission_id))
                .map(|_| ())
                .map_err(|e| e.to_string())
        };
        match fit_connect.send(tenant, &delivery.target, progress, &parcel, &mut keep) {
            Ok(progress) => {
                log::info!(
                    "delivery {} ({}) is FIT-Connect submission {} (case {})",
                    delivery.id,
                    delivery.reference,
                    progress.submission_id,
                    progress.case_id
                );
                Tried::Done(None)
            }
            Err(failed) => {
                if failed.start_over
                    && let Err(e) = self.store.record_progress(&delivery.id, serde_json::Value::Null, None)
                {
                    log::error!("the progress of delivery {} cannot be reset: {e}", delivery.id);
                }
                Tried::Failed(failed.status, failed.error)
            }
        }
    }

    /// The mail of an e-mail delivery: the server's texts, or a plain listing of the answers.
    fn mail(&self, delivery: &Delivery) -> Result<Mail, String> {
        let submission = self.submission(delivery)?;
        if let Some(mail) = self.texts.as_ref().and_then(|texts| texts(&submission, delivery)) {
            return Ok(mail);
        }
        let mut text = format!(
            "Vorgangsnummer / Reference: {}\nDienst / Service: {} ({})\nEingegangen / Received: {}\n\n",
            submission.reference,
            submission.service,
            submission.version,
            submission.created_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
        if let Some(answers) = submission.data.get("answers").and_then(|a| a.as_object()) {
            for (key, value) in answers {
                text.push_str(&format!("{key}: {value}\n"));
            }
        }
        Ok(Mail {
            to: delivery.target.clone(),
            subject: format!("{} – {}", submission.reference, submission.service),
            text,
            attachments: Vec::new(),
        })
    }

    /// The submission a delivery is of; the error is the attempt's.
    fn submission(&self, delivery: &Delivery) -> Result<Submission, String> {
        self.store
            .submission(&delivery.reference)
            .map_err(|e| format!("the submission cannot be read: {e}"))?
            .ok_or_else(|| format!("the submission {} is not in the store", delivery.reference))
    }

    /// The webhook's body: `{"type": "submission.created", "timestamp", "data"}`.
    fn body(&self, delivery: &Delivery) -> Result<Vec<u8>, String> {
        let submission = self.submission(delivery)?;
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
                    self.give_way(&stop_in);
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

    /// Waits while other writes wait for the store, at most [`YIELD_AT_MOST`].
    fn give_way(&self, stop: &AtomicBool) {
        let started = Instant::now();
        while self.store.writes_waiting() > 0 && started.elapsed() < YIELD_AT_MOST && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(YIELD_STEP);
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
            "receipt_url": format!("{public_url}/api/v1/submissions/{}/receipt.pdf", submission.reference),
            "language": submission.data.get("lang").and_then(|l| l.as_str()).unwrap_or("de"),
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
