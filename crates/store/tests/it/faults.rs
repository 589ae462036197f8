//! A storage fault stops only the write that hit it: with a disk that is full for a while
//! (a storage backend that fails writes while a switch is on), the failing submissions get an
//! error, the store says it is not ready, and once space is back it reopens the file by
//! itself and takes writes again. Nothing acknowledged is lost.

use std::sync::atomic::Ordering;

use baukasten_store::faults::store_on_full_disk;
use baukasten_store::{ErrorKind, RedbStore, Store, Submitted};

use crate::{at, parking_permit, store_path, temp_store};

#[test]
fn a_full_disk_fails_only_the_writes_while_it_is_full() {
    let (dir, _unused) = temp_store();
    drop(_unused);
    let path = store_path(&dir);
    std::fs::remove_file(&path).ok();
    let (store, full) = store_on_full_disk(&path).expect("opens");
    let mut acknowledged = Vec::new();
    let first = store
        .submit(
            parking_permit(Some("musterstadt"), "Vor"),
            None,
            "eingegangen",
            at(2, 0),
        )
        .unwrap();
    let Submitted::Created(first) = first else { panic!() };
    acknowledged.push(first.reference);
    assert!(store.ready().is_ok());

    full.store(true, Ordering::SeqCst);
    for n in 0..3 {
        let failed = store.submit(
            parking_permit(Some("musterstadt"), "Voll"),
            None,
            "eingegangen",
            at(2, n),
        );
        let err = failed.expect_err("a write on a full disk fails");
        assert_eq!(err.kind, ErrorKind::Io, "{err}");
        assert!(store.ready().is_err(), "not ready while the disk is full");
    }
    // Reading what was acknowledged goes on, or says the store is reopening; it never lies.
    match store.submission(&acknowledged[0]) {
        Ok(found) => assert!(found.is_some()),
        Err(e) => assert_eq!(e.kind, ErrorKind::Io),
    }

    full.store(false, Ordering::SeqCst);
    store
        .ready()
        .expect("ready again once there is space, without a restart");
    for n in 0..3 {
        let again = store
            .submit(
                parking_permit(Some("musterstadt"), "Nach"),
                None,
                "eingegangen",
                at(3, n),
            )
            .expect("writes work again");
        let Submitted::Created(s) = again else { panic!() };
        acknowledged.push(s.reference);
    }
    drop(store);

    let store = RedbStore::open(&path).unwrap();
    let stored = store.submissions(Some("musterstadt"), 100).unwrap();
    for reference in &acknowledged {
        assert!(
            stored.iter().any(|s| &s.reference == reference),
            "{reference} was acknowledged"
        );
    }
    assert_eq!(stored.len(), acknowledged.len(), "nothing that failed was stored");
}
