//! The round trips of issue 16: import → export → import gives the same service, and
//! export → import → export the same XML (up to formatting), for the test inputs and for the
//! catalog's own services.

use baukasten_dsl::model::Service;
use baukasten_fim::{Header, from_service, read, to_service_yaml, write};

use crate::inputs;

fn header() -> Header {
    Header {
        message_id: "baukasten-test".into(),
        created: "2026-11-29T12:00:00Z".into(),
    }
}

/// Imports XML and loads the service text with the language's checker, which must pass it.
fn import(xml: &str) -> (String, Service) {
    let schema = read(xml).unwrap_or_else(|e| panic!("{e}\n{xml}"));
    let yaml = to_service_yaml(&schema).yaml;
    let loaded = baukasten_dsl::load_catalog(vec![baukasten_dsl::SourceFile::new("forms/import.yaml", yaml.clone())]);
    let errors: Vec<String> = loaded
        .diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.render(&loaded.sources, baukasten_dsl::Lang::En))
        .collect();
    assert!(errors.is_empty(), "{}\n{yaml}", errors.join("\n"));
    let service = loaded.catalog.services.into_iter().next().expect("one service");
    (yaml, service)
}

fn export(service: &Service) -> String {
    write(&from_service(service), &header())
}

/// The model as the definition hash sees it (spans and other positions left out).
fn shape(service: &Service) -> serde_json::Value {
    serde_json::to_value(service).unwrap()
}

#[test]
fn import_export_import_gives_the_same_service() {
    let mut seen = 0;
    for (stem, xml) in inputs().into_iter().filter(|(s, _)| s.starts_with("ok_")) {
        let (_, first) = import(&xml);
        let exported = export(&first);
        let (yaml, second) = import(&exported);
        assert_eq!(
            shape(&first),
            shape(&second),
            "{stem}: the service changed\n{exported}\n{yaml}"
        );
        // The FIM ids came back.
        let ids = exported.matches("<xdf:id>F6").count() + exported.matches(">F6").count();
        assert!(ids > 0, "{stem}: no FIM field id in\n{exported}");
        seen += 1;
    }
    assert!(seen >= 2);
}

#[test]
fn export_import_export_gives_the_same_xml_for_imported_and_catalog_services() {
    let mut services: Vec<(String, Service)> = Vec::new();
    for (stem, xml) in inputs().into_iter().filter(|(s, _)| s.starts_with("ok_")) {
        services.push((stem, import(&xml).1));
    }
    let forms = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../forms");
    let mut files = Vec::new();
    for entry in walk(&forms) {
        let text = std::fs::read_to_string(&entry).unwrap();
        let path = entry.strip_prefix(&forms).unwrap().to_string_lossy().into_owned();
        files.push(baukasten_dsl::SourceFile::new(format!("forms/{path}"), text));
    }
    let catalog = baukasten_dsl::load_catalog(files).catalog;
    for service in catalog.services {
        services.push((format!("{:?}/{}", service.tenant, service.id), service));
    }
    for (name, service) in services {
        // Rules go out as prose and come back as comments for the clerk: the fields and
        // groups are what must survive.
        let first = export(&without_rules(service));
        let (_, imported) = import(&first);
        let second = export(&imported);
        assert_eq!(
            read(&first).unwrap(),
            read(&second).unwrap(),
            "{name}: the XML changed\n{first}\n---\n{second}"
        );
        assert_eq!(first, second, "{name}: same model, other text");
    }
}

/// The YAML files under a folder, sorted.
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else if path.extension().is_some_and(|e| e == "yaml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

#[test]
fn fields_without_fim_ids_get_local_ids_and_groups_are_written_once() {
    let yaml = r#"
service: meldung
version: 1.0.0
title: Meldung
groups:
  anschrift:
    label: Anschrift
    fim: { id: G60000086, version: "1.3" }
    fields:
      - { id: strasse, type: text, label: Straße, required: true, max_length: 55, fim: { id: F60000243, version: "1.1" } }
      - { id: ort, type: text, label: Ort, required: true }
steps:
  - id: s
    title: Angaben
    fields:
      - { id: wohnung, type: group, use: anschrift, label: Wohnung }
      - { id: zustellung, type: group, use: anschrift, label: Zustellanschrift }
      - { id: anzahl, type: integer, label: Anzahl, min: 1, max: 9 }
"#;
    let loaded = baukasten_dsl::load_catalog(vec![baukasten_dsl::SourceFile::new("forms/meldung.yaml", yaml)]);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let schema = from_service(&loaded.catalog.services[0]);
    let xml = write(&schema, &header());
    assert_eq!(
        xml.matches("G60000086").count(),
        2,
        "the group is referred to twice: {xml}"
    );
    assert!(xml.contains("F60000243"), "the field keeps its FIM id");
    assert!(schema.id.starts_with("S9"), "{}", schema.id);
    let read_back = read(&xml).unwrap();
    let debug = format!("{read_back:?}");
    let mut ids: Vec<&str> = debug
        .match_indices("id: \"F9")
        .map(|(i, _)| &debug[i + 5..i + 14])
        .collect();
    ids.sort();
    ids.dedup();
    assert_eq!(
        ids,
        ["F90000002", "F90000003"],
        "`ort` (in both uses of the group) and `anzahl`"
    );
}

fn without_rules(mut service: Service) -> Service {
    service.rules.clear();
    service
}
