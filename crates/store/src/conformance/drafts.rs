//! The life of a draft: created, saved on every step, found by its resume code, finished by
//! a submission or expired.

use serde_json::json;

use super::{Backend, at, created, new_draft, parking_permit};
use crate::{ALPHABET, Submitted};

pub fn a_draft_is_created_updated_and_found_by_id_and_code(backend: &dyn Backend) {
    let store = backend.store();
    let draft = store.create_draft(new_draft(Some("musterstadt")), at(2, 0)).unwrap();
    assert_eq!(draft.id.len(), 32);
    assert_eq!(draft.step, None);
    assert_eq!(draft.created_at, at(2, 0));
    let code = draft.resume_code.clone();
    assert_eq!(code.len(), 9);
    assert_eq!(&code[4..5], "-");
    assert!(
        code.bytes().filter(|&b| b != b'-').all(|b| ALPHABET.contains(&b)),
        "{code}"
    );

    let answers = json!({ "vorname": "Erika", "halter": "selbst" });
    let updated = store
        .update_draft(&draft.id, &answers, Some("fahrzeug"), at(2, 90))
        .unwrap();
    let updated = updated.unwrap();
    assert_eq!(updated.answers, answers);
    assert_eq!(updated.step.as_deref(), Some("fahrzeug"));
    assert_eq!(updated.updated_at, at(2, 90));
    assert_eq!(updated.created_at, at(2, 0));
    assert_eq!(updated.resume_code, code);
    drop(store);

    let store = backend.reopen();
    assert_eq!(store.draft(&draft.id).unwrap(), Some(updated.clone()));
    // As a citizen might type it from a letter: lower case, spaces, no dash.
    let typed = format!("  {} {} ", code[..4].to_lowercase(), &code[5..]);
    assert_eq!(store.draft_by_code(&typed).unwrap(), Some(updated.clone()));
    assert_eq!(store.draft_by_code(&code.replace('-', "")).unwrap(), Some(updated));
    assert_eq!(store.draft_by_code("2222-2222").unwrap(), None);
    assert_eq!(store.draft_by_code("").unwrap(), None);
    assert_eq!(store.draft_by_code("not a code at all").unwrap(), None);
}

pub fn updating_a_missing_draft_says_so(backend: &dyn Backend) {
    let store = backend.store();
    assert_eq!(store.update_draft("ffff", &json!({}), None, at(2, 0)).unwrap(), None);
    assert_eq!(store.draft("ffff").unwrap(), None);
}

pub fn resume_codes_are_distinct(backend: &dyn Backend) {
    let store = backend.store();
    let mut codes = std::collections::HashSet::new();
    for i in 0..300 {
        let d = store.create_draft(new_draft(None), at(2, i)).unwrap();
        assert!(codes.insert(d.resume_code.clone()), "{} twice", d.resume_code);
    }
}

pub fn submitting_a_draft_deletes_it_with_its_code(backend: &dyn Backend) {
    let store = backend.store();
    let draft = store.create_draft(new_draft(Some("musterstadt")), at(2, 0)).unwrap();
    let mut new = parking_permit(Some("musterstadt"), "Erika");
    new.draft = Some(draft.id.clone());
    let s = created(store.submit(new, None, "eingegangen", at(2, 30)).unwrap());
    assert_eq!(store.draft(&draft.id).unwrap(), None);
    assert_eq!(store.draft_by_code(&draft.resume_code).unwrap(), None);
    // The expiry index forgot it too: nothing is left to expire.
    assert_eq!(store.expire_drafts(at(9, 0)).unwrap(), 0);
    drop(store);

    let store = backend.reopen();
    assert_eq!(store.draft(&draft.id).unwrap(), None);
    assert!(store.submission(&s.reference).unwrap().is_some());

    // A submission naming a draft that is already gone is stored all the same.
    let mut again = parking_permit(Some("musterstadt"), "Erika");
    again.draft = Some(draft.id);
    assert!(matches!(
        store.submit(again, None, "eingegangen", at(2, 40)).unwrap(),
        Submitted::Created(_)
    ));
}

pub fn drafts_not_updated_since_the_cutoff_expire(backend: &dyn Backend) {
    let store = backend.store();
    let old = store.create_draft(new_draft(None), at(1, 0)).unwrap();
    let touched = store.create_draft(new_draft(None), at(1, 0)).unwrap();
    store
        .update_draft(&touched.id, &json!({ "a": 1 }), None, at(5, 0))
        .unwrap();
    let fresh = store.create_draft(new_draft(None), at(6, 0)).unwrap();

    assert_eq!(store.expire_drafts(at(4, 0)).unwrap(), 1);
    assert_eq!(store.draft(&old.id).unwrap(), None);
    assert_eq!(store.draft_by_code(&old.resume_code).unwrap(), None);
    assert!(store.draft(&touched.id).unwrap().is_some());
    assert!(store.draft(&fresh.id).unwrap().is_some());

    // The cutoff is exclusive: a draft updated exactly at it stays.
    assert_eq!(store.expire_drafts(at(5, 0)).unwrap(), 0);
    assert_eq!(store.expire_drafts(at(7, 0)).unwrap(), 2);
    assert_eq!(store.draft_by_code(&fresh.resume_code).unwrap(), None);
    assert_eq!(store.expire_drafts(at(7, 0)).unwrap(), 0);
}
