//! Deliveries: the outbox dispatcher and its channels.
//!
//! A submission is stored together with one outbox entry per target of its service's
//! `deliver:` list (see `baukasten-store`). The [`Dispatcher`] runs on a thread of its own,
//! takes the entries that are due, delivers each through its channel, and records every
//! attempt and what follows it in the store before it moves on. Delivery is at least once: an
//! entry whose attempt was not recorded (the process was killed mid-request) is attempted
//! again after a restart, with the same id, and receivers drop duplicates by that id.
//!
//! Channels: `webhook` ([`webhook`], the Standard Webhooks format, version 1). E-mail and
//! FIT-Connect follow; their entries wait in the outbox (attempted hourly, with the reason)
//! until a release that delivers them.
//!
//! The crate knows HTTP clients, not actix; it takes the time from its caller.

mod dispatcher;
mod schedule;
pub mod webhook;

pub use dispatcher::{Dispatcher, DispatcherHandle, Outcome, payload};
pub use schedule::Schedule;
pub use webhook::{Secret, WebhookTarget, Webhooks};
