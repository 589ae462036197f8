//! `baukasten store verify`: an operator's check of a data folder, with the server stopped.

use baukasten_store::{NewSubmission, RedbStore, Store, Submitted};
use redb::{Database, ReadableTable, TableDefinition};

use crate::{baukasten, scratch, stdout};

fn submit(store: &RedbStore, name: &str) -> String {
    let new = NewSubmission {
        tenant: Some("musterstadt".into()),
        service: "maengelmelder".into(),
        version: "1.0.0".into(),
        definition_hash: "0000000000000000".into(),
        reference_prefix: "MM".into(),
        data: serde_json::json!({ "answers": { "name": name }, "computed": {} }),
        fee_total: "0.00".into(),
        attachments: vec![],
        draft: None,
        deliveries: Vec::new(),
    };
    match store.submit(new, None, "eingegangen", chrono::Utc::now()).unwrap() {
        Submitted::Created(s) => s.reference,
        other => panic!("{other:?}"),
    }
}

#[test]
fn verify_reports_damaged_records_with_status_1() {
    let dir = scratch("store-verify");
    let path = dir.join("data").join("baukasten.redb");
    let store = RedbStore::open(&path).unwrap();
    let (good, bad) = (submit(&store, "Erika"), submit(&store, "Max"));
    drop(store);

    let clean = baukasten(&["store", "verify", "--data", "data"], &dir, "en_US.UTF-8");
    assert_eq!(clean.status.code(), Some(0), "{}", stdout(&clean));
    assert!(stdout(&clean).contains(", 0 damaged"), "{}", stdout(&clean));

    {
        // A bit flips in one stored submission, as on a failing disk.
        let db = Database::create(&path).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn
                .open_table(TableDefinition::<&str, &[u8]>::new("submissions"))
                .unwrap();
            let mut value = table.get(bad.as_str()).unwrap().unwrap().value().to_vec();
            value[5] ^= 0x20;
            table.insert(bad.as_str(), value.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let found = baukasten(&["store", "verify", "--data", "data"], &dir, "de_DE.UTF-8");
    assert_eq!(found.status.code(), Some(1), "{}", stdout(&found));
    let out = stdout(&found);
    assert!(out.contains("beschädigt:") && out.contains(&bad), "{out}");
    assert!(!out.contains(&good), "only the damaged record is named: {out}");

    let missing = baukasten(&["store", "verify", "--data", "nirgends"], &dir, "en_US.UTF-8");
    assert_eq!(missing.status.code(), Some(2));
}
