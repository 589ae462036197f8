//! The conformance suite: every test of the store's behaviour as a function over a
//! [`Backend`], so that each backend runs the same tests, and [`conformance_tests!`] to turn
//! them into one `#[test]` each.
//!
//! The redb store runs it in `tests/it` (beside its own tests of the file format, of storage
//! faults and of reopening the file), the PostgreSQL store in `baukasten-store-pg`'s
//! `tests/conformance.rs`. What the tests assert is what a caller of [`Store`] sees; where the
//! backends differ, the redb store and the trait's documentation are the reference.
//!
//! Not here: anything about one backend's storage (redb's file format and its golden files,
//! full disks, a second open of the same file, `RedbStore::verify`).
//!
//! [`conformance_tests!`]: crate::conformance_tests

use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::json;

use crate::{Idempotency, NewDraft, NewSubmission, Store, Submission, Submitted};

mod accounts;
mod copy;
mod drafts;
mod inbox;
mod instances;
mod outbox;
mod retention;
mod sample;
mod submissions;

pub use accounts::*;
pub use copy::*;
pub use drafts::*;
pub use inbox::*;
pub use instances::*;
pub use outbox::*;
pub use retention::*;
pub use sample::*;
pub use submissions::*;

/// A backend under test: where its stores come from, and how to reach behind them.
///
/// A fresh `Backend` is made for every test, and holds nothing when the test starts.
pub trait Backend {
    /// The store under test. Every call hands out the same store.
    fn store(&self) -> Arc<dyn Store>;

    /// Another handle on the same data, as another instance of the server (or the same one
    /// after a restart) has it: what one wrote, the other reads.
    ///
    /// A backend that can open its data more than once opens it again on every call
    /// (PostgreSQL: another `PgStore`). One that can open it only once (redb: one process per
    /// file) opens it again only when the test holds no handle to it any more, which is a
    /// restart; while the test holds one, it hands out that same store, so a test of two
    /// instances racing runs there as threads racing on one store.
    fn reopen(&self) -> Arc<dyn Store>;

    /// Another store, empty and apart from the first: where a copy goes.
    fn empty(&self) -> Arc<dyn Store>;

    /// Flips one bit inside the stored record of `key` in `table` (`submissions` or
    /// `clerk_sessions`), as a failing disk would, keeping its length and checksum as they
    /// were. Called while the test holds no handle to the store; the next [`Backend::reopen`]
    /// reads the damaged record.
    fn damage(&self, table: &str, key: &str);
}

/// Expands to one `#[test]` per function of the conformance suite, each run on a new backend
/// made by the given expression:
///
/// ```text
/// baukasten_store::conformance_tests!(Redb::new());
/// ```
///
/// Tests this backend cannot pass yet are named after `ignore:` with the reason, and are
/// marked `#[ignore]` for it alone (`cargo test -- --ignored` still runs them):
///
/// ```text
/// baukasten_store::conformance_tests!(Redb::new(), ignore: {
///     a_copy_reads_as_the_original: "redb export lands with store copy",
/// });
/// ```
#[macro_export]
macro_rules! conformance_tests {
    ($backend:expr $(, ignore: { $($ignored:ident : $reason:literal),* $(,)? })? $(,)?) => {
        // A name in the ignore list that is no test of the suite does not compile.
        $($(const _: fn(&dyn $crate::conformance::Backend) = $crate::conformance::$ignored;)*)?
        $crate::__conformance_tests!(
            ($) ($backend) [$($($ignored : $reason),*)?]
            // Every function of the suite, once.
            a_submission_round_trips_and_survives_a_reopen
            a_retry_with_the_same_key_returns_the_first_submission
            idempotency_keys_are_forgotten_after_their_lifetime
            concurrent_retries_with_one_key_store_one_submission
            a_tenant_sees_its_own_submissions_newest_first
            state_changes_are_stored_and_audited_in_order
            attachments_round_trip_with_their_bytes
            definitions_are_kept_once_per_hash
            uploads_nothing_names_are_deleted_after_their_time_and_counted_per_municipality
            a_damaged_submission_is_reported_and_left_out_of_lists
            many_threads_store_distinct_submissions
            a_draft_is_created_updated_and_found_by_id_and_code
            updating_a_missing_draft_says_so
            resume_codes_are_distinct
            submitting_a_draft_deletes_it_with_its_code
            drafts_not_updated_since_the_cutoff_expire
            accounts_are_kept_per_municipality_by_name
            removing_an_account_ends_its_sessions_and_only_its
            a_session_is_seen_at_most_once_a_minute_and_ends_when_idle
            signing_out_ends_the_session
            a_damaged_session_is_ended
            a_move_names_the_state_it_left_and_keeps_the_clerks_comment
            the_pages_cover_every_submission_once_newest_first
            a_page_holds_50_unless_told_otherwise_and_at_most_500
            a_submission_received_between_pages_does_not_shift_the_later_ones
            a_cursor_that_does_not_parse_starts_from_the_beginning
            each_filter_and_their_combination
            the_text_is_searched_in_the_reference_and_the_named_answers
            a_damaged_submission_is_left_out_of_the_inbox
            the_counts_per_state_follow_every_submission_and_move
            a_submission_and_its_deliveries_are_written_together_and_are_due_at_once
            attempts_are_recorded_retries_wait_and_a_resend_starts_a_new_series
            a_message_about_a_new_state_is_written_only_with_the_move
            pending_deliveries_survive_a_restart
            new_delivery_ids_are_ordered_by_time
            a_delivery_in_steps_keeps_its_progress_and_the_targets_reports_across_a_restart
            an_unknown_external_id_finds_nothing
            a_claim_keeps_a_delivery_from_other_claimers_until_its_lease_ends
            a_redacted_submission_keeps_a_minimal_record_and_nothing_personal
            the_last_state_change_is_the_latest_move
            one_key_sent_to_two_instances_stores_one_submission
            references_are_unique_across_instances
            two_instances_claiming_at_once_never_get_the_same_delivery
            a_move_raced_from_two_instances_is_made_once
            an_empty_store_is_empty_and_one_with_anything_is_not
            a_copy_reads_as_the_original
        );
    };
}

/// The workings of [`conformance_tests!`]: one test each, made by a small macro of its own
/// that knows whether the ignore list names it (`macro_rules` cannot compare two identifiers
/// otherwise). `$d` is a `$` handed in, so that the inner macro can have variables.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_tests {
    (($d:tt) ($backend:expr) $ignored:tt $($name:ident)*) => {
        $( $crate::__conformance_test!(($d) ($backend) $ignored $name); )*
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_test {
    (($d:tt) ($backend:expr) [$($ignored:ident : $reason:literal),*] $name:ident) => {
        macro_rules! __one_conformance_test {
            $(
                ($ignored) => {
                    #[test]
                    #[ignore = $reason]
                    fn $ignored() {
                        $crate::conformance::$ignored(&$backend);
                    }
                };
            )*
            ($d test:ident) => {
                #[test]
                fn $d test() {
                    $crate::conformance::$d test(&$backend);
                }
            };
        }
        __one_conformance_test!($name);
    };
}

/// Noon on the given day of March 2026, plus `seconds`.
pub fn at(day: u32, seconds: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 12, 0, 0).unwrap() + chrono::Duration::seconds(seconds)
}

/// A citizen's parking permit, with `name` as the first name.
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

/// The submission a `submit` created; any other answer fails the test.
pub fn created(answer: Submitted) -> Submission {
    match answer {
        Submitted::Created(s) => s,
        other => panic!("expected a new submission, got {other:?}"),
    }
}

/// An idempotency key with its fingerprint.
pub fn key(key: &str, fingerprint: &str) -> Option<Idempotency> {
    Some(Idempotency {
        key: key.to_owned(),
        fingerprint: fingerprint.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    /// The source of the suite's modules.
    const SOURCES: [&str; 8] = [
        include_str!("accounts.rs"),
        include_str!("copy.rs"),
        include_str!("drafts.rs"),
        include_str!("inbox.rs"),
        include_str!("instances.rs"),
        include_str!("outbox.rs"),
        include_str!("retention.rs"),
        include_str!("submissions.rs"),
    ];

    /// A test function that [`conformance_tests!`](crate::conformance_tests) does not list is
    /// never run; one listed twice does not compile.
    #[test]
    fn the_macro_lists_every_test_of_the_suite() {
        let mut written: Vec<&str> = SOURCES
            .iter()
            .flat_map(|source| source.split("\npub fn ").skip(1))
            .filter_map(|rest| {
                let (name, after) = rest.split_once('(')?;
                after.trim_start().starts_with("backend: &dyn Backend").then_some(name)
            })
            .collect();
        let own = include_str!("mod.rs");
        let (_, list) = own.split_once("// Every function of the suite, once.").unwrap();
        let (list, _) = list.split_once(");").unwrap();
        let mut listed: Vec<&str> = list.split_whitespace().collect();
        written.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, written);
    }
}
