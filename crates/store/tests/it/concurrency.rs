//! Many citizens at once: the group commit shares commits, and closing the store during a
//! burst loses nothing acknowledged.

use baukasten_store::{RedbStore, Store, Submitted};

use crate::{at, parking_permit, store_path, temp_store};

/// Sixty-four citizens at once share commits instead of paying one each (the conformance
/// suite checks that each of them got their own submission).
#[test]
fn sixty_four_threads_share_their_commits() {
    let (_dir, store) = temp_store();
    std::thread::scope(|s| {
        for thread in 0..64 {
            let store = &store;
            s.spawn(move || {
                for i in 0..50 {
                    let new = parking_permit(Some("musterstadt"), &format!("{thread}/{i}"));
                    assert!(matches!(
                        store.submit(new, None, "eingegangen", at(2, i)).unwrap(),
                        Submitted::Created(_)
                    ));
                }
            });
        }
    });
    let stats = store.writer_stats();
    assert_eq!(stats.writes, 3200);
    assert!(stats.commits * 2 <= stats.writes, "{stats:?}");
}

#[test]
fn closing_during_a_burst_keeps_every_acknowledged_submission() {
    let (dir, store) = temp_store();
    let store = std::sync::Arc::new(store);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let store = std::sync::Arc::clone(&store);
            std::thread::spawn(move || {
                (0..200)
                    .map(|i| {
                        let new = parking_permit(None, &format!("{t}/{i}"));
                        store.submit(new, None, "eingegangen", at(2, i))
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(30));
    store.close().unwrap();
    let results: Vec<_> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();

    // Every call either was stored (and is readable after reopening) or was refused as
    // closed; none hangs, and none is lost after having been acknowledged.
    let mut acknowledged = Vec::new();
    for result in results {
        match result {
            Ok(Submitted::Created(s)) => acknowledged.push(s.reference),
            Ok(other) => panic!("{other:?}"),
            Err(e) => assert_eq!(e.kind, baukasten_store::ErrorKind::Closed, "{e}"),
        }
    }
    drop(store);
    let store = RedbStore::open(&store_path(&dir)).unwrap();
    for reference in &acknowledged {
        assert!(store.submission(reference).unwrap().is_some(), "{reference} lost");
    }
    assert_eq!(store.submissions(None, 10_000).unwrap().len(), acknowledged.len());
}

#[test]
fn the_writes_waiting_for_their_commit_are_counted_while_they_wait() {
    let (_dir, store) = temp_store();
    assert_eq!(store.writes_waiting(), 0);
    let stop = std::sync::atomic::AtomicBool::new(false);
    let most = std::thread::scope(|s| {
        let watcher = s.spawn(|| {
            let mut most = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                most = most.max(store.writes_waiting());
            }
            most
        });
        let writers: Vec<_> = (0..16)
            .map(|thread| {
                let store = &store;
                s.spawn(move || {
                    for i in 0..20 {
                        let new = parking_permit(Some("musterstadt"), &format!("{thread}/{i}"));
                        store.submit(new, None, "eingegangen", at(2, i)).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        watcher.join().unwrap()
    });
    // Sixteen callers waited at once at some moment (at least two did), and none is left.
    assert!((2..=16).contains(&most), "{most}");
    assert_eq!(store.writes_waiting(), 0);
}
