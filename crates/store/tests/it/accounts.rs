//! The back office's accounts and clerk sessions, and what a clerk's move leaves in the audit
//! trail.

use baukasten_store::{Account, MAX_COMMENT_CHARS, RedbStore, StateChanged, Store, Submitted};
use chrono::Duration;

use crate::{at, parking_permit, store_path, temp_store};

fn account(tenant: &str, name: &str, hash: &str) -> Account {
    Account {
        tenant: tenant.to_owned(),
        name: name.to_owned(),
        password_hash: hash.to_owned(),
        created_at: at(1, 0),
    }
}

fn names(store: &RedbStore, tenant: &str) -> Vec<String> {
    store.accounts(tenant).unwrap().into_iter().map(|a| a.name).collect()
}

#[test]
fn accounts_are_kept_per_municipality_by_name() {
    let (dir, store) = temp_store();
    for (tenant, name) in [
        ("musterstadt", "mueller"),
        ("musterstadt", "abel"),
        ("musterstadt", "zoe"),
        ("musterstadtteil", "abel"),
        ("beispieldorf", "mueller"),
    ] {
        store.put_account(account(tenant, name, "$argon2id$one")).unwrap();
    }
    assert_eq!(names(&store, "musterstadt"), ["abel", "mueller", "zoe"]);
    assert_eq!(names(&store, "musterstadtteil"), ["abel"]);
    assert_eq!(names(&store, "nirgendwo"), Vec::<String>::new());

    // Putting it again replaces it: a new password.
    store
        .put_account(account("musterstadt", "mueller", "$argon2id$two"))
        .unwrap();
    assert_eq!(names(&store, "musterstadt"), ["abel", "mueller", "zoe"]);
    drop(store);
    let store = RedbStore::open(&store_path(&dir)).unwrap();
    let found = store.account("musterstadt", "mueller").unwrap().unwrap();
    assert_eq!(found.password_hash, "$argon2id$two");
    assert_eq!(
        store.account("beispieldorf", "mueller").unwrap().unwrap().password_hash,
        "$argon2id$one"
    );
    assert_eq!(store.account("beispieldorf", "abel").unwrap(), None);
    assert_eq!(store.verify().unwrap().damaged.len(), 0);
}

#[test]
fn removing_an_account_ends_its_sessions_and_only_its() {
    let (_dir, store) = temp_store();
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

#[test]
fn a_session_is_seen_at_most_once_a_minute_and_ends_when_idle() {
    let (dir, store) = temp_store();
    store.put_account(account("musterstadt", "mueller", "h")).unwrap();
    let idle = Duration::minutes(30);
    let session = store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    assert_eq!(session.id.len(), 32);
    assert!(session.id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!((session.created_at, session.last_seen), (at(1, 0), at(1, 0)));

    // Within the minute: a read, nothing written.
    let commits = store.writer_stats().commits;
    let seen = store.clerk_session(&session.id, at(1, 59), idle).unwrap().unwrap();
    assert_eq!(seen.last_seen, at(1, 0));
    assert_eq!(store.writer_stats().commits, commits);
    // A minute on: written once, and the answer says so.
    let seen = store.clerk_session(&session.id, at(1, 60), idle).unwrap().unwrap();
    assert_eq!(seen.last_seen, at(1, 60));
    assert_eq!(store.writer_stats().commits, commits + 1);
    // Kept alive by requests further apart than a minute but closer than the timeout.
    let mut now = at(1, 60);
    for _ in 0..4 {
        now += Duration::minutes(29);
        let seen = store.clerk_session(&session.id, now, idle).unwrap().unwrap();
        assert_eq!(seen.last_seen, now);
    }
    drop(store);
    let store = RedbStore::open(&store_path(&dir)).unwrap();
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

#[test]
fn signing_out_ends_the_session() {
    let (_dir, store) = temp_store();
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

#[test]
fn a_move_names_the_state_it_left_and_keeps_the_clerks_comment() {
    let (_dir, store) = temp_store();
    let Submitted::Created(s) = store
        .submit(
            parking_permit(Some("musterstadt"), "Erika"),
            None,
            "eingegangen",
            at(2, 0),
        )
        .unwrap()
    else {
        panic!()
    };
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
