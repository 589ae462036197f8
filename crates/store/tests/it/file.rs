//! The redb file: one process at a time, closing it, and `verify` over what the store writes.

use baukasten_store::{Account, ErrorKind, RedbStore, StateChanged, Store, Submitted};

use crate::{at, parking_permit, store_path, temp_store};

#[test]
fn a_closed_store_refuses_every_call() {
    let (dir, store) = temp_store();
    store.close().unwrap();
    store.close().unwrap();
    let err = store
        .submit(parking_permit(None, "Erika"), None, "eingegangen", at(2, 0))
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::Closed);
    assert_eq!(store.submission("BPA-2026-22222").unwrap_err().kind, ErrorKind::Closed);
    assert_eq!(store.draft("x").unwrap_err().kind, ErrorKind::Closed);
    // The file is released: it opens again at once.
    RedbStore::open(&store_path(&dir)).unwrap();
}

#[test]
fn a_second_open_of_the_same_file_is_refused_while_the_first_is_open() {
    let (dir, _store) = temp_store();
    let err = RedbStore::open(&store_path(&dir)).unwrap_err();
    assert_eq!(err.kind, ErrorKind::Io);
    assert!(err.to_string().contains("already open"), "{err}");
}

/// Accounts, sessions and a redacted submission (its comments removed, its files and outbox
/// entries deleted) are records `verify` reads as sound, after a reopen.
#[test]
fn verify_finds_accounts_and_a_redacted_submission_sound() {
    let (dir, store) = temp_store();
    for name in ["mueller", "abel"] {
        let account = Account {
            tenant: "musterstadt".into(),
            name: name.into(),
            password_hash: "$argon2id$one".into(),
            created_at: at(1, 0),
        };
        store.put_account(account).unwrap();
    }
    store.create_clerk_session("musterstadt", "mueller", at(1, 0)).unwrap();
    let photo = store
        .put_attachment(
            Some("musterstadt"),
            "foto.jpg",
            "image/jpeg",
            b"\xff\xd8 a photo",
            at(1, 0),
        )
        .unwrap();
    let mut new = parking_permit(Some("musterstadt"), "Erika");
    new.attachments = vec![photo.id];
    let Submitted::Created(s) = store.submit(new, None, "eingegangen", at(1, 0)).unwrap() else {
        panic!("created")
    };
    let moved = store
        .set_state_with(
            &s.reference,
            "eingegangen",
            "erledigt",
            "clerk:mueller",
            Some("Frau Mustermann hat angerufen"),
            at(2, 0),
            Vec::new(),
        )
        .unwrap();
    assert!(matches!(moved, StateChanged::Moved(_)));
    store.redact(&s.reference, at(20, 0)).unwrap().unwrap();
    let verified = store.verify().unwrap();
    assert!(verified.damaged.is_empty(), "{:?}", verified.damaged);
    drop(store);

    let store = RedbStore::open(&store_path(&dir)).unwrap();
    let verified = store.verify().unwrap();
    assert!(verified.damaged.is_empty(), "{:?}", verified.damaged);
    // Two accounts, one session, one submission and its three audit entries; no file left.
    assert_eq!(verified.checked, 7);
}
