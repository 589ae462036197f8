//! Field groups: what a field that `use:`s a group keeps of it (name, label, FIM id, whether it
//! is the catalog's), which group a name finds (the service's own before the catalog's; inside
//! a catalog group only the catalog's), and that a problem inside a catalog group is reported
//! once, in its file, however many services use it.

use baukasten_dsl::model::{FieldKind, FimRef};
use baukasten_dsl::{Loaded, load_catalog};

use crate::{repo_root, split_input};

fn input(stem: &str) -> Loaded {
    let path = repo_root().join(format!("crates/dsl/tests/inputs/{stem}.yaml"));
    load_catalog(split_input(stem, &std::fs::read_to_string(path).unwrap()))
}

#[test]
fn a_field_keeps_the_group_it_used_and_the_fim_ids() {
    let loaded = input("ok_catalog_groups");
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let service = loaded.catalog.service(None, "umzug").unwrap();

    let wohnung = service.field("neue_wohnung").unwrap();
    let used = wohnung.uses.as_ref().expect("neue_wohnung uses a group");
    assert_eq!(used.name, "anschrift");
    assert!(used.shared, "anschrift is the catalog's");
    assert_eq!(
        used.fim,
        Some(FimRef {
            id: "G60000086".into(),
            version: "1.3".into()
        })
    );
    assert_eq!(
        wohnung.label.get("de"),
        "Anschrift",
        "the group's label, as the field has none"
    );
    let strasse = service.field("neue_wohnung.strasse").unwrap();
    assert_eq!(strasse.fim.as_ref().map(|f| f.id.as_str()), Some("F60000243"));
    let einzug = service.field("einzug").unwrap();
    assert_eq!(einzug.fim.as_ref().map(|f| f.version.as_str()), Some("2.0.1"));
    assert!(einzug.uses.is_none());

    // The repeat uses the catalog's `person`, and so does the group.
    let mitziehende = service.field("mitziehende").unwrap();
    assert!(matches!(mitziehende.kind, FieldKind::Repeat { .. }));
    assert_eq!(mitziehende.uses.as_ref().map(|g| g.name.as_str()), Some("person"));

    // The service's own `kontakt` shadows the catalog's in the service…
    let kontakt = service.field("kontakt").unwrap();
    assert!(!kontakt.uses.as_ref().unwrap().shared);
    assert!(service.field("kontakt.email").is_some());
    // …but inside the catalog's `person`, `use: kontakt` is the catalog's.
    let inner = service.field("antragsteller.kontakt").unwrap();
    assert!(inner.uses.as_ref().unwrap().shared);
    assert!(service.field("antragsteller.kontakt.telefon").is_some());
    assert!(service.field("antragsteller.kontakt.email").is_none());

    // An overlay that adds a field to the used group has its own copy of the group's fields.
    let own = loaded.catalog.service(Some("musterstadt"), "umzug").unwrap();
    let wohnung = own.field("neue_wohnung").unwrap();
    assert!(wohnung.uses.is_none(), "changed by the overlay: no longer the group");
    let ids: Vec<&str> = wohnung.kind.children().unwrap().iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["strasse", "plz", "ort", "adresszusatz"]);
    assert_eq!(wohnung.label.get("de"), "Anschrift");

    let names: Vec<&str> = loaded.catalog.groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(names, ["anschrift", "kontakt", "person"]);
}

#[test]
fn a_problem_in_a_catalog_group_is_reported_once_in_its_file() {
    let loaded = input("err_unknown_key_in_catalog_group");
    let in_group: Vec<_> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.code.as_str() == "unknown-key")
        .collect();
    assert_eq!(
        in_group.len(),
        1,
        "two services use the group: {:?}",
        loaded.diagnostics
    );
    let file = loaded.sources.get(in_group[0].span.file).unwrap();
    assert_eq!(&*file.path, "forms/gruppen/anschrift.yaml");
    assert_eq!((in_group[0].span.line, in_group[0].span.col), (4, 62));
}

#[test]
fn moving_a_group_into_the_catalog_keeps_the_service_the_same() {
    let own = "service: s\nversion: 1.0.0\ntitle: S\ngroups:\n  anschrift:\n    label: Anschrift\n    fields:\n      - { id: ort, type: text, label: Ort, required: true }\nsteps:\n  - id: a\n    title: A\n    fields:\n      - { id: wohnung, type: group, use: anschrift }\n";
    let shared_service = "service: s\nversion: 1.0.0\ntitle: S\nsteps:\n  - id: a\n    title: A\n    fields:\n      - { id: wohnung, type: group, use: anschrift }\n";
    let group =
        "group: anschrift\nlabel: Anschrift\nfields:\n  - { id: ort, type: text, label: Ort, required: true }\n";
    let before = load_catalog(vec![baukasten_dsl::SourceFile::new("forms/s.yaml", own)]);
    let after = load_catalog(vec![
        baukasten_dsl::SourceFile::new("forms/s.yaml", shared_service),
        baukasten_dsl::SourceFile::new("forms/gruppen/anschrift.yaml", group),
    ]);
    assert!(before.diagnostics.is_empty() && after.diagnostics.is_empty());
    // The serialised service (which the engine hashes) is the same; only the spans differ.
    assert_eq!(
        serde_json::to_value(&before.catalog.services[0]).unwrap(),
        serde_json::to_value(&after.catalog.services[0]).unwrap()
    );
}
