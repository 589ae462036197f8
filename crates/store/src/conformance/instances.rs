//! Two instances of the server on the same data, each with its own handle
//! ([`Backend::reopen`]), racing: what one does the other sees, and nothing that must happen
//! once happens twice.
//!
//! On a backend that opens its data only once (redb) both handles are the same store, and the
//! races are between threads on it.

use std::collections::HashSet;
use std::sync::{Arc, Barrier};

use chrono::Duration;

use super::{Backend, at, created, key, parking_permit};
use crate::{AfterAttempt, DeliveryAttempt, NewDelivery, StateChanged, Store, Submitted};

/// Threads per instance.
const THREADS: usize = 8;

/// The two handles, each named by its index, for threads to take turns on.
fn two_instances(backend: &dyn Backend) -> [Arc<dyn Store>; 2] {
    [backend.store(), backend.reopen()]
}

/// The same request with the same key, sent to both instances at once, many times: exactly
/// one is stored, and every other answer replays it. The same key with another request is a
/// reuse, on either instance.
pub fn one_key_sent_to_two_instances_stores_one_submission(backend: &dyn Backend) {
    let instances = two_instances(backend);
    for round in 0..4i64 {
        let key_name = format!("musterstadt/bewohnerparkausweis/{round}");
        let start = Barrier::new(2 * THREADS);
        let answers: Vec<Submitted> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2 * THREADS)
                .map(|thread| {
                    let (store, start, key_name) = (&instances[thread % 2], &start, &key_name);
                    s.spawn(move || {
                        start.wait();
                        let new = parking_permit(Some("musterstadt"), "Erika");
                        store
                            .submit(new, key(key_name, "f"), "eingegangen", at(2, round))
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let first: Vec<_> = answers
            .iter()
            .filter_map(|a| match a {
                Submitted::Created(s) => Some(s),
                _ => None,
            })
            .collect();
        assert_eq!(first.len(), 1, "round {round}: {answers:?}");
        for answer in &answers {
            match answer {
                Submitted::Created(s) | Submitted::Replayed(s) => assert_eq!(s, first[0]),
                Submitted::KeyReused => panic!("same fingerprint reported as reuse: {answers:?}"),
            }
        }
        for store in &instances {
            let new = parking_permit(Some("musterstadt"), "Max");
            assert_eq!(
                store
                    .submit(new, key(&key_name, "other"), "eingegangen", at(3, 0))
                    .unwrap(),
                Submitted::KeyReused
            );
            let new = parking_permit(Some("musterstadt"), "Erika");
            assert_eq!(
                store.submit(new, key(&key_name, "f"), "eingegangen", at(3, 0)).unwrap(),
                Submitted::Replayed(first[0].clone())
            );
        }
    }
    for store in &instances {
        assert_eq!(store.submissions(Some("musterstadt"), 100).unwrap().len(), 4);
    }
}

/// Both instances take submissions at once: every reference is given once, and each leads,
/// on either instance, to the submission it was given to.
pub fn references_are_unique_across_instances(backend: &dyn Backend) {
    let instances = two_instances(backend);
    let start = Barrier::new(2 * THREADS);
    let given: Vec<(String, String)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * THREADS)
            .map(|thread| {
                let (store, start) = (&instances[thread % 2], &start);
                s.spawn(move || {
                    start.wait();
                    (0..50)
                        .map(|i| {
                            let name = format!("{thread}/{i}");
                            let new = parking_permit(Some("musterstadt"), &name);
                            let s = created(store.submit(new, None, "eingegangen", at(2, i)).unwrap());
                            (s.reference, name)
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let distinct: HashSet<_> = given.iter().map(|(reference, _)| reference).collect();
    assert_eq!(distinct.len(), given.len(), "a reference was given twice");
    for store in &instances {
        for (reference, name) in &given {
            let s = store.submission(reference).unwrap().unwrap();
            assert_eq!(s.data["vorname"], name.as_str());
        }
        assert_eq!(
            store.submissions(Some("musterstadt"), 10_000).unwrap().len(),
            given.len()
        );
    }
}

/// The dispatchers of both instances claim at once until nothing is left: every delivery is
/// claimed, and none by two of them.
pub fn two_instances_claiming_at_once_never_get_the_same_delivery(backend: &dyn Backend) {
    let instances = two_instances(backend);
    let mut all = HashSet::new();
    for i in 0..30 {
        let mut new = parking_permit(Some("musterstadt"), &format!("{i}"));
        new.deliveries = ["fachverfahren", "archiv"]
            .map(|target| NewDelivery {
                channel: "webhook".into(),
                target: target.into(),
                event: None,
            })
            .to_vec();
        let s = created(instances[i % 2].submit(new, None, "eingegangen", at(1, 0)).unwrap());
        all.extend(s.deliveries);
    }
    let lease = Duration::minutes(5);
    let start = Barrier::new(2 * THREADS);
    let claimed: Vec<String> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2 * THREADS)
            .map(|thread| {
                let (store, start) = (&instances[thread % 2], &start);
                s.spawn(move || {
                    start.wait();
                    let mut mine = Vec::new();
                    loop {
                        let batch = store.claim_due_deliveries(at(1, 10), 3, lease).unwrap();
                        if batch.is_empty() {
                            return mine;
                        }
                        assert!(batch.len() <= 3);
                        mine.extend(batch.into_iter().map(|d| d.id));
                    }
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    let distinct: HashSet<_> = claimed.iter().cloned().collect();
    assert_eq!(distinct.len(), claimed.len(), "a delivery was claimed twice");
    assert_eq!(distinct, all, "every due delivery was claimed");
    for store in &instances {
        assert!(store.claim_due_deliveries(at(1, 20), 100, lease).unwrap().is_empty());
    }

    // Attempts recorded on one instance end the claims for the other.
    let retry = DeliveryAttempt {
        at: at(1, 30),
        status: Some(503),
        error: Some("503".into()),
    };
    let some: Vec<String> = claimed.iter().take(5).cloned().collect();
    instances[0]
        .record_attempts(
            some.iter()
                .map(|id| (id.clone(), retry.clone(), AfterAttempt::RetryAt(at(1, 40))))
                .collect(),
        )
        .unwrap();
    let mut again: Vec<String> = instances[1]
        .claim_due_deliveries(at(1, 40), 100, lease)
        .unwrap()
        .into_iter()
        .map(|d| d.id)
        .collect();
    again.sort();
    let mut some = some;
    some.sort();
    assert_eq!(again, some);
}

/// Two clerks on two instances move the same submission from the same state at once: one
/// move is made, the other is refused with the state the first one made.
pub fn a_move_raced_from_two_instances_is_made_once(backend: &dyn Backend) {
    let instances = two_instances(backend);
    for round in 0..20i64 {
        let s = created(
            instances[0]
                .submit(
                    parking_permit(Some("musterstadt"), "Erika"),
                    None,
                    "eingegangen",
                    at(2, round),
                )
                .unwrap(),
        );
        let start = Barrier::new(2);
        let answers: Vec<StateChanged> = std::thread::scope(|scope| {
            let handles: Vec<_> = ["genehmigt", "abgelehnt"]
                .iter()
                .enumerate()
                .map(|(i, to)| {
                    let (store, start, reference) = (&instances[i], &start, &s.reference);
                    scope.spawn(move || {
                        start.wait();
                        store
                            .set_state(reference, "eingegangen", to, &format!("clerk:{i}"), at(3, round))
                            .unwrap()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let moved: Vec<_> = answers
            .iter()
            .filter_map(|a| match a {
                StateChanged::Moved(s) => Some(s.state.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(moved.len(), 1, "round {round}: {answers:?}");
        let conflicts: Vec<_> = answers
            .iter()
            .filter_map(|a| match a {
                StateChanged::Conflict(s) => Some(s.state.clone()),
                _ => None,
            })
            .collect();
        assert_eq!(conflicts, moved, "the refused clerk sees the state the other made");
        for store in &instances {
            assert_eq!(store.submission(&s.reference).unwrap().unwrap().state, moved[0]);
            let audit = store.audit(&s.reference).unwrap();
            assert_eq!(audit.len(), 2, "one move in the trail: {audit:?}");
            assert_eq!(audit[1].action, format!("state:{}", moved[0]));
        }
    }
    for store in &instances {
        let counts = store.state_counts("musterstadt").unwrap();
        assert_eq!(counts.values().sum::<u64>(), 20);
        assert!(!counts.contains_key("eingegangen"), "{counts:?}");
    }
}
