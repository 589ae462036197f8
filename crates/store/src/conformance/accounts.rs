//! The back office's accounts and clerk sessions, and what a clerk's move leaves in the audit
//! trail.

use chrono::Duration;

use super::{Backend, at, created, parking_permit};
use crate::{Account, MAX_COMMENT_CHARS, StateChanged, Store};

fn account(tenant: &str, name: &str, hash: &str) -> Account {
    Account {
        tenant: tenant.to_owned(),
        name: name.to_owned(),
        password_hash: hash.to_owned(),
        created_at: at(1, 0),
    }
}

fn names(store: &dyn Store, tenant: &str) -> Vec<String> {
    store.accounts(tenant).unwrap().into_iter().map(|a| a.name).collect()
}

pub fn accounts_are_kept_per_municipality_by_name(backend: &dyn Backend) {
    let store = backend.store();
    for (tenant, name) in [
        ("musterstadt", "mueller"),
        ("musterstadt", "abel"),
        ("musterstadt", "zoe"),
        ("musterstadtteil", "abel"),
        ("beispieldorf", "mueller"),
    ] {
        store.put_account(account(tenant, name, "$argon2id$one")).unwrap();
    }
    assert_eq!(names(&*store, "musterstadt"), ["abel", "mueller", "zoe"]);
    assert_eq!(names(&*store, "musterstadtteil"), ["abel"]);
    assert_eq!(names(&*store, "nirgendwo"), Vec::<String>::new());

    // Putting it again replaces it: a new password.
    store
        .put_account(account("musterstadt", "mueller", "$argon2id$two"))
        .unwrap();
    assert_eq!(names(&*store, "musterstadt"), ["abel", "mueller", "zoe"]);
    drop(store);
    let store = backend.reopen();
    let found = store.account("musterstadt", "mueller").unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$two");
    assert_eq!(
        store.account("beispieldorf", "mueller").unwrap().unwrap().password_hash,
        "$argon2id$one"
    );
    assert_eq!(store.account("beispieldorf", "abel").unwrap(), None);
}

pub fn removing_an_account_ends_its_sessions_and_only_its(backend: &dyn Backend) {
    let store = backend.store();
    store.put_account(account("musterstadt", "mueller", "h")).unwrap();
    store.put_account(account("musterstadt", "abel", "h")).unwrap();
    let idle = Duration::hours(8);
    let theirs = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    let again = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    let other = store.create_clerk_session("musterstadt", "abel", at(1, 0)).unwrap();
    assert_ne!(theirs.id, again.id);

    assert!(store.remove_account("musterstadt", "mueller").unwrap());
    assert!(!store.remove_account("musterstadt", "mueller").unwrap());
    assert_eq!(store.account("musterstadt", "mueller").unwrap(), None);
    assert_eq!(store.clerk_session(&theirs.id, at(1, 1), idle).unwrap(), None);
    assert_eq!(store.clerk_session(&again.id, at(1, 1), idle).unwrap(), None);
    assert_eq!(store.clerk_session(&other.id, at(1, 1), idle).unwrap(), Some(other));

    // Even an account created again under the same name does not bring them back.
    store.put_account(account("musterstadt", "mueller", "h")).unwrap();
    assert_eq!(store.clerk_session(&theirs.id, at(1, 2), idle).unwrap(), None);
}

pub fn a_session_is_seen_at_most_once_a_minute_and_ends_when_idle(backend: &dyn Backend) {
    let store = backend.store();
    store.put_account(account("musterstadt", "mueller", "h")).unwrap();
    let idle = Duration::minutes(30);
    let session = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    assert_eq!(session.id.len(), 32);
    assert!(session.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!((session.created_at, session.last_seen), (at(1, 0), at(1, 0)));

    // Within the minute: a read, nothing written.
    let commits = store.stats().commits;
    let seen = store.clerk_session(&session.id, at(1, 59), idle).unwrap().unwrap();
    assert_eq!(seen.last_seen, at(1, 0));
    assert_eq!(store.stats().commits, commits);
    // A minute on: written once, and the answer says so.
    let seen = store.clerk_session(&session.id, at(1, 60), idle).unwrap().unwrap();
    assert_eq!(seen.last_seen, at(1, 60));
    assert_eq!(store.stats().commits, commits + 1);
    // Kept alive by requests further apart than a minute but closer than the timeout.
    let mut now = at(1, 60);
    for _ in 0..4 {
        now += Duration::minutes(29);
        let seen = store.clerk_session(&session.id, now, idle).unwrap().unwrap();
        assert_eq!(seen.last_seen, now);
    }
    drop(store);
    let store = backend.reopen();
    let seen = store.clerk_session(&session.id, now, idle).unwrap().unwrap();
    assert_eq!(seen.last_seen, now, "the last write is durable");

    // Idle for exactly the timeout: over, and removed, so an earlier clock does not revive it.
    assert_eq!(store.clerk_session(&session.id, now + idle, idle).unwrap(), None);
    assert_eq!(store.clerk_session(&session.id, now, idle).unwrap(), None);
    assert_eq!(
        store
            .clerk_session("00112233445566778899aabbccddeeff", now, idle)
            .unwrap(),
        None
    );
}

pub fn signing_out_ends_the_session(backend: &dyn Backend) {
    let store = backend.store();
    store.put_account(account("musterstadt", "mueller", "h")).unwrap();
    let idle = Duration::hours(1);
    let first = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    let second = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    store.end_clerk_session(&first.id).unwrap();
    store.end_clerk_session(&first.id).unwrap();
    store.end_clerk_session("unknown").unwrap();
    assert_eq!(store.clerk_session(&first.id, at(1, 1), idle).unwrap(), None);
    assert_eq!(store.clerk_session(&second.id, at(1, 1), idle).unwrap(), Some(second));
}

/// A damaged session is over: the clerk signs in again instead of meeting an error on every
/// request, and the record is removed. Other sessions and the account stay.
pub fn a_damaged_session_is_ended(backend: &dyn Backend) {
    let store = backend.store();
    store.put_account(account("musterstadt", "mueller", "h")).unwrap();
    let idle = Duration::hours(1);
    let damaged = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    let other = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    drop(store);
    backend.damage("clerk_sessions", &damaged.id);

    let store = backend.reopen();
    let commits = store.stats().commits;
    assert_eq!(store.clerk_session(&damaged.id, at(1, 1), idle).unwrap(), None);
    assert_eq!(store.stats().commits, commits + 1, "the damaged record is removed");
    assert_eq!(store.clerk_session(&damaged.id, at(1, 1), idle).unwrap(), None);
    assert_eq!(store.stats().commits, commits + 1, "and then unknown: nothing to write");
    assert_eq!(store.clerk_session(&other.id, at(1, 1), idle).unwrap(), Some(other));
    assert!(store.account("musterstadt", "mueller").unwrap().is_some());
    // The account is untouched, and can still be removed.
    assert!(store.remove_account("musterstadt", "mueller").unwrap());
}

pub fn a_move_names_the_state_it_left_and_keeps_the_clerks_comment(backend: &dyn Backend) {
    let store = backend.store();
    let s = created(
        store
            .submit(
                parking_permit(Some("musterstadt"), "Erika"),
                None,
                "eingegangen",
                at(2, 0),
            )
            .unwrap(),
    );
    let moved = store
        .set_state_with(
            &s.reference,
            "eingegangen",
            "in_bearbeitung",
            "clerk:mueller",
            Some("Rückfrage zum Kennzeichen"),
            at(2, 10),
            Vec::new(),
        )
        .unwrap();
    assert!(matches!(moved, StateChanged::Moved(_)));
    // A comment longer than the limit is cut at a character, not a byte.
    let long = "ä".repeat(MAX_COMMENT_CHARS + 10);
    store
        .set_state_with(
            &s.reference,
            "in_bearbeitung",
            "genehmigt",
            "clerk:mueller",
            Some(&long),
            at(2, 20),
            Vec::new(),
        )
        .unwrap();
    store
        .set_state(&s.reference, "genehmigt", "erledigt", "system", at(2, 30))
        .unwrap();

    let audit = store.audit(&s.reference).unwrap();
    let seen: Vec<_> = audit
        .iter()
        .map(|e| (e.action.as_str(), e.actor.as_str(), e.from.as_deref()))
        .collect();
    assert_eq!(
        seen,
        [
            ("submitted", "citizen", None),
            ("state:in_bearbeitung", "clerk:mueller", Some("eingegangen")),
            ("state:genehmigt", "clerk:mueller", Some("in_bearbeitung")),
            ("state:erledigt", "system", Some("genehmigt")),
        ]
    );
    assert_eq!(audit[0].comment, None);
    assert_eq!(audit[1].comment.as_deref(), Some("Rückfrage zum Kennzeichen"));
    assert_eq!(
        audit[2].comment.as_deref(),
        Some("ä".repeat(MAX_COMMENT_CHARS).as_str())
    );
    assert_eq!(audit[3].comment, None);
}
