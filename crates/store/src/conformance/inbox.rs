//! The clerks' inbox: pages of a municipality's submissions, newest first, filtered, and the
//! counts per state. Every query is checked against the same list filtered and sorted here.

use std::collections::BTreeMap;

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Backend, at, created, parking_permit};
use crate::{InboxPage, InboxQuery, StateChanged, Store, Submission};

const SERVICES: [&str; 3] = ["bewohnerparkausweis", "hundesteuer", "sperrmuell"];
const STATES: [&str; 3] = ["eingegangen", "in_bearbeitung", "erledigt"];
const FAMILY_NAMES: [&str; 5] = ["Müller", "Schmidt", "Öztürk", "Weiß", "Schneider"];

/// 300 submissions of `musterstadt` over three services, three states and ten days, several
/// in the same microsecond; some moved after they came in. Also a few of another municipality
/// and one without any, which the inbox of `musterstadt` must never show.
fn filled_store(backend: &dyn Backend) -> (Arc<dyn Store>, Vec<Submission>) {
    let store = backend.store();
    let mut ours = Vec::new();
    for i in 0..300usize {
        let mut new = parking_permit(Some("musterstadt"), "x");
        new.service = SERVICES[i % 3].to_owned();
        new.reference_prefix = ["BPA", "HST", "SPM"][i % 3].to_owned();
        new.data = json!({ "answers": {
            "name": format!("Person {i}"),
            "antragsteller": { "familienname": FAMILY_NAMES[(i / 7) % 5], "alter": 1010 },
        }});
        // Ten days, and within a day groups of four sent in the same second.
        let now = at(1 + (i % 10) as u32, (i / 40) as i64);
        let initial = STATES[(i / 3) % 2];
        let mut stored = created(store.submit(new, None, initial, now).unwrap());
        if i % 7 == 0 {
            let to = STATES[2];
            match store
                .set_state(&stored.reference, &stored.state, to, "clerk:x", now)
                .unwrap()
            {
                StateChanged::Moved(moved) => stored = moved,
                other => panic!("{other:?}"),
            }
        }
        ours.push(stored);
    }
    for i in 0..5 {
        let new = parking_permit(Some("beispieldorf"), "Müller");
        store.submit(new, None, "eingegangen", at(5, i)).unwrap();
    }
    store
        .submit(parking_permit(None, "Müller"), None, "eingegangen", at(5, 0))
        .unwrap();
    (store, ours)
}

fn query() -> InboxQuery {
    InboxQuery {
        tenant: "musterstadt".to_owned(),
        text_fields: vec!["name".to_owned(), "antragsteller.familienname".to_owned()],
        ..InboxQuery::default()
    }
}

/// `all` in the inbox's order: newest first, then by reference, backwards.
fn newest_first(mut all: Vec<Submission>) -> Vec<Submission> {
    all.sort_by(|a, b| (b.created_at, &b.reference).cmp(&(a.created_at, &a.reference)));
    all
}

/// Every page of a query, followed by its cursors; checks that each page but the last is full
/// and has a cursor, and the last has none.
fn every_page(store: &dyn Store, query: &InboxQuery) -> Vec<Submission> {
    let mut query = query.clone();
    let mut out = Vec::new();
    for _ in 0..1000 {
        let page = store.inbox(&query).unwrap();
        match page.next {
            Some(next) => {
                assert_eq!(page.submissions.len(), query.limit, "a page with a next one is full");
                out.extend(page.submissions);
                query.after = Some(next);
            }
            None => {
                assert!(page.submissions.len() <= query.limit);
                out.extend(page.submissions);
                return out;
            }
        }
    }
    panic!("the pages do not end");
}

fn references(list: &[Submission]) -> Vec<&str> {
    list.iter().map(|s| s.reference.as_str()).collect()
}

pub fn the_pages_cover_every_submission_once_newest_first(backend: &dyn Backend) {
    let (store, ours) = filled_store(backend);
    let expected = newest_first(ours);
    for limit in [7, 50, 299, 300, 301] {
        let listed = every_page(&*store, &InboxQuery { limit, ..query() });
        assert_eq!(references(&listed), references(&expected), "pages of {limit}");
    }
    assert_eq!(every_page(&*store, &InboxQuery { limit: 7, ..query() }), expected);
}

pub fn a_page_holds_50_unless_told_otherwise_and_at_most_500(backend: &dyn Backend) {
    let (store, ours) = filled_store(backend);
    let first = store.inbox(&query()).unwrap();
    assert_eq!(first.submissions.len(), 50);
    assert_eq!(references(&first.submissions), references(&newest_first(ours)[..50]));
    assert!(first.next.is_some());

    let store = backend.empty();
    for i in 0..501 {
        let new = parking_permit(Some("musterstadt"), "Erika");
        store.submit(new, None, "eingegangen", at(1, i)).unwrap();
    }
    let page = store
        .inbox(&InboxQuery {
            limit: 10_000,
            ..query()
        })
        .unwrap();
    assert_eq!(page.submissions.len(), 500);
    assert!(page.next.is_some());
    let rest = store
        .inbox(&InboxQuery {
            limit: 10_000,
            after: page.next,
            ..query()
        })
        .unwrap();
    assert_eq!(rest.submissions.len(), 1);
    assert_eq!(rest.submissions[0].created_at, at(1, 0));
    assert_eq!(rest.next, None);
}

pub fn a_submission_received_between_pages_does_not_shift_the_later_ones(backend: &dyn Backend) {
    let (store, _) = filled_store(backend);
    let q = InboxQuery { limit: 10, ..query() };
    let before = every_page(&*store, &q);

    let first = store.inbox(&q).unwrap();
    // Received now, after every other one; and one more in the same microsecond as the last
    // of the first page, which sorts before or after it by its reference.
    let last = first.submissions.last().unwrap().clone();
    for now in [at(20, 0), last.created_at] {
        store
            .submit(parking_permit(Some("musterstadt"), "Neu"), None, "eingegangen", now)
            .unwrap();
    }
    let mut rest = every_page(
        &*store,
        &InboxQuery {
            after: first.next.clone(),
            ..q.clone()
        },
    );
    let mut again = first.submissions.clone();
    again.append(&mut rest);
    let later: Vec<_> = again.iter().filter(|s| s.data["vorname"] == "Neu").collect();
    assert!(
        later
            .iter()
            .all(|s| s.created_at == last.created_at && s.reference < last.reference),
        "only the one that sorts after the cursor's place can come later: {later:?}"
    );
    again.retain(|s| s.data["vorname"] != "Neu");
    assert_eq!(references(&again), references(&before));
}

pub fn a_cursor_that_does_not_parse_starts_from_the_beginning(backend: &dyn Backend) {
    let (store, _) = filled_store(backend);
    let first = store.inbox(&InboxQuery { limit: 10, ..query() }).unwrap();
    for bad in ["", "garbage", "123.", "abc.BPA-2026-22222", ".BPA-2026-22222", "1e9.X"] {
        let page = store
            .inbox(&InboxQuery {
                limit: 10,
                after: Some(bad.to_owned()),
                ..query()
            })
            .unwrap();
        assert_eq!(page, first, "cursor {bad:?}");
    }
    // A well-formed cursor past the oldest submission is an empty last page.
    let page = store
        .inbox(&InboxQuery {
            limit: 10,
            after: Some("-5.A".to_owned()),
            ..query()
        })
        .unwrap();
    assert_eq!(
        page,
        InboxPage {
            submissions: vec![],
            next: None
        }
    );
}

/// Checks a query against the submissions filtered by `keep` here, over pages of 13.
fn check(store: &dyn Store, ours: &[Submission], q: InboxQuery, keep: impl Fn(&Submission) -> bool) -> usize {
    let expected: Vec<_> = newest_first(ours.iter().filter(|s| keep(s)).cloned().collect());
    let listed = every_page(store, &InboxQuery { limit: 13, ..q.clone() });
    assert_eq!(references(&listed), references(&expected), "{q:?}");
    expected.len()
}

fn family_name(s: &Submission) -> &str {
    s.data["answers"]["antragsteller"]["familienname"].as_str().unwrap()
}

pub fn each_filter_and_their_combination(backend: &dyn Backend) {
    let (store, ours) = filled_store(backend);
    let day = |d: u32| -> DateTime<Utc> { at(d, 0) - chrono::Duration::hours(12) };
    let service = Some("hundesteuer".to_owned());

    let n = check(
        &*store,
        &ours,
        InboxQuery {
            service: service.clone(),
            ..query()
        },
        |s| s.service == "hundesteuer",
    );
    assert_eq!(n, 100);
    let n = check(
        &*store,
        &ours,
        InboxQuery {
            state: Some("erledigt".to_owned()),
            ..query()
        },
        |s| s.state == "erledigt",
    );
    assert!(n > 0 && n < 300, "{n}");
    // From midnight of the 3rd to midnight of the 6th: three days.
    let (from, until) = (Some(day(3)), Some(day(6)));
    let n = check(&*store, &ours, InboxQuery { from, until, ..query() }, |s| {
        s.created_at >= day(3) && s.created_at < day(6)
    });
    assert_eq!(n, 90);
    // `from` is inclusive and `until` exclusive, to the microsecond.
    let noon = at(4, 0);
    check(
        &*store,
        &ours,
        InboxQuery {
            from: Some(noon),
            ..query()
        },
        |s| s.created_at >= noon,
    );
    check(
        &*store,
        &ours,
        InboxQuery {
            until: Some(noon),
            ..query()
        },
        |s| s.created_at < noon,
    );
    let n = check(
        &*store,
        &ours,
        InboxQuery {
            from: Some(noon),
            until: Some(noon),
            ..query()
        },
        |_| false,
    );
    assert_eq!(n, 0);
    let text = Some("müller".to_owned());
    let n = check(
        &*store,
        &ours,
        InboxQuery {
            text: text.clone(),
            ..query()
        },
        |s| family_name(s) == "Müller",
    );
    assert!(n > 0 && n < 100, "{n}; the other municipality's Müllers are not ours");

    let n = check(
        &*store,
        &ours,
        InboxQuery {
            service,
            state: Some("in_bearbeitung".to_owned()),
            from,
            until,
            text,
            ..query()
        },
        |s| {
            s.service == "hundesteuer"
                && s.state == "in_bearbeitung"
                && s.created_at >= day(3)
                && s.created_at < day(6)
                && family_name(s) == "Müller"
        },
    );
    assert!(n > 0, "the combination still finds some");
    // Another municipality's inbox shows only its own.
    let theirs = store
        .inbox(&InboxQuery {
            tenant: "beispieldorf".to_owned(),
            ..query()
        })
        .unwrap();
    assert_eq!(theirs.submissions.len(), 5);
}

pub fn the_text_is_searched_in_the_reference_and_the_named_answers(backend: &dyn Backend) {
    let (store, ours) = filled_store(backend);
    let text = |t: &str| InboxQuery {
        text: Some(t.to_owned()),
        ..query()
    };

    // A reference, typed in lower case and in part.
    let wanted = &ours[42];
    let typed = wanted.reference[4..].to_lowercase();
    let n = check(&*store, &ours, text(&typed), |s| {
        s.reference.to_lowercase().contains(&typed)
    });
    assert!(n >= 1);
    // Words in a nested answer and a top-level one: every word must occur, each anywhere.
    check(&*store, &ours, text("ÖZTÜRK person"), |s| family_name(s) == "Öztürk");
    let n = check(&*store, &ours, text("  weiß   Person 16 "), |s| {
        family_name(s) == "Weiß" && s.data["answers"]["name"].as_str().unwrap().contains("16")
    });
    assert!(n >= 1);
    // Case-insensitive beyond ASCII.
    check(&*store, &ours, text("WEIß"), |s| family_name(s) == "Weiß");
    // Numbers are not text, and answers at paths not named are not searched.
    check(&*store, &ours, text("1010"), |_| false);
    let only_names = InboxQuery {
        text_fields: vec!["name".to_owned()],
        ..text("schmidt")
    };
    check(&*store, &ours, only_names, |_| false);
    // A text of only spaces filters nothing.
    check(&*store, &ours, text("   "), |_| true);
}

pub fn a_damaged_submission_is_left_out_of_the_inbox(backend: &dyn Backend) {
    let (store, ours) = filled_store(backend);
    let damaged = newest_first(ours.clone())[3].reference.clone();
    drop(store);
    backend.damage("submissions", &damaged);
    let store = backend.reopen();
    let rest: Vec<_> = ours.into_iter().filter(|s| s.reference != damaged).collect();
    check(&*store, &rest, query(), |_| true);
    assert!(store.stats().damaged_records >= 1);
}

pub fn the_counts_per_state_follow_every_submission_and_move(backend: &dyn Backend) {
    let (store, mut ours) = filled_store(backend);
    let counted = |list: &[Submission]| {
        let mut counts = BTreeMap::new();
        for s in list {
            *counts.entry(s.state.clone()).or_insert(0u64) += 1;
        }
        counts
    };
    assert_eq!(store.state_counts("musterstadt").unwrap(), counted(&ours));
    assert_eq!(
        store.state_counts("beispieldorf").unwrap(),
        BTreeMap::from([("eingegangen".to_owned(), 5)])
    );
    assert_eq!(
        store.state_counts("").unwrap(),
        BTreeMap::from([("eingegangen".to_owned(), 1)]),
        "submissions without a municipality count under the empty name"
    );

    // A refused move changes nothing; a made one moves one count.
    let s = ours.iter_mut().find(|s| s.state == "in_bearbeitung").unwrap();
    let refused = store.set_state(&s.reference, "eingegangen", "abgelehnt", "clerk:x", at(20, 0));
    assert!(matches!(refused, Ok(StateChanged::Conflict(_))));
    store
        .set_state(&s.reference, "in_bearbeitung", "abgelehnt", "clerk:x", at(20, 0))
        .unwrap();
    s.state = "abgelehnt".to_owned();
    // Every submission of one state moved away: that state is no longer listed.
    for s in ours.iter_mut().filter(|s| s.state == "eingegangen") {
        store
            .set_state(&s.reference, "eingegangen", "in_bearbeitung", "clerk:x", at(20, 0))
            .unwrap();
        s.state = "in_bearbeitung".to_owned();
    }
    let counts = store.state_counts("musterstadt").unwrap();
    assert_eq!(counts, counted(&ours));
    assert!(!counts.contains_key("eingegangen"));
    assert_eq!(counts["abgelehnt"], 1);
    drop(store);
    let store = backend.reopen();
    assert_eq!(store.state_counts("musterstadt").unwrap(), counted(&ours));
}
