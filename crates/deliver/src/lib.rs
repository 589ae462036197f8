//! Deliveries: the outbox dispatcher and its channels.
//!
//! A submission is stored together with one outbox entry per target of its service's
//! `deliver:` list (see `baukasten-store`). The [`Dispatcher`] runs on a thread of its own,
//! takes the entries that are due, delivers each through its channel, and records every
//! attempt and what follows it in the store before it moves on. Delivery is at least once: an
//! entry whose attempt was not recorded (the process was killed mid-request) is attempted
//! again after a restart, with the same id, and receivers drop duplicates by that id.
//!
//! Channels: `webhook` ([`webhook`], the Standard Webhooks format, version 1), `email` (to the
//! office) and `email_confirmation` (the citizen's confirmation of receipt) through SMTP
//! ([`mail`]), and `fit_connect` ([`fit_connect`]: FITKO's Submission API, end-to-end
//! encrypted as JWE, [`jwe`]). Entries of a channel not configured (no mail server, no
//! FIT-Connect client) wait in the outbox, looked at hourly with the reason, instead of being
//! lost.
//!
//! The crate knows HTTP clients, not actix; it takes the time from its caller.

mod dispatcher;
pub mod fit_connect;
pub mod jwe;
pub mod mail;
mod schedule;
pub mod webhook;

pub use dispatcher::{Dispatcher, DispatcherHandle, MailTexts, Outcome, Parcels, payload};
pub use fit_connect::{FitConnect, FitConnectConfig};
pub use mail::{Mail, MailAttachment, Mailer, SmtpConfig};
pub use schedule::Schedule;
pub use webhook::{Secret, WebhookTarget, Webhooks};
