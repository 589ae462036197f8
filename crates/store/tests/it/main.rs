//! Integration tests of the redb store: every method against a real file in a temporary
//! folder, reopened where durability matters.

mod accounts;
mod concurrency;
mod copy;
mod drafts;
mod faults;
mod format;
mod inbox;
mod outbox;
mod retention;
mod submissions;

use baukasten_store::{NewDraft, NewSubmission, RedbStore};
use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;
use tempfile::TempDir;

/// A store in a fresh temporary folder; the folder lives as long as the returned guard.
pub fn temp_store() -> (TempDir, RedbStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = RedbStore::open(&dir.path().join("data").join("baukasten.redb")).unwrap();
    (dir, store)
}

pub fn store_path(dir: &TempDir) -> std::path::PathBuf {
    dir.path().join("data").join("baukasten.redb")
}

/// Noon on the given day of March 2026, plus `seconds`.
pub fn at(day: u32, seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

pub fn parking_permit(tenant: Option<&str>, name: &str) -> NewSubmission {
    NewSubmission {
        tenant: tenant.map(str::to_owned),
        service: "bewohnerparkausweis".to_owned(),
        version: "1.0.0".to_owned(),
        definition_hash: "sha256:abc".to_owned(),
        reference_prefix: "BPA".to_owned(),
        data: json!({ "vorname": name, "kennzeichen": "M-AB 123" }),
        fee_total: "30.70".to_owned(),
        attachments: vec![],
        draft: None,
        deliveries: Vec::new(),
    }
}

pub fn new_draft(tenant: Option<&str>) -> NewDraft {
    NewDraft {
        tenant: tenant.map(str::to_owned),
        service: "bewohnerparkausweis".to_owned(),
        version: "1.0.0".to_owned(),
        definition_hash: "sha256:abc".to_owned(),
        answers: json!({}),
    }
}
