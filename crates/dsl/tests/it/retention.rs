//! `retention:`: how long submissions are kept after their final state, in a service, an
//! overlay and a municipality's `tenant.yaml`; what counts as a final state; and the fix the
//! checker proposes for a period not written in days.

use baukasten_dsl::model::Process;
use baukasten_dsl::{Lang, load_catalog, load_service};

use crate::{repo_root, split_input};

fn days(s: Option<&baukasten_dsl::model::Retention>) -> Option<u32> {
    s.map(|r| r.after_final_state_days)
}

#[test]
fn a_service_an_overlay_and_a_municipality_each_declare_their_period() {
    let path = repo_root().join("crates/dsl/tests/inputs/ok_retention_service_tenant_overlay.yaml");
    let loaded = load_catalog(split_input(
        "ok_retention_service_tenant_overlay",
        &std::fs::read_to_string(path).unwrap(),
    ));
    assert!(loaded.diagnostics.is_empty(), "{:?}", loaded.diagnostics);
    let catalog = &loaded.catalog;
    let shared = catalog.service(None, "sperrmuell").unwrap();
    assert_eq!(days(shared.retention.as_ref()), Some(180));
    let own = catalog.service(Some("musterstadt"), "sperrmuell").unwrap();
    assert_eq!(
        days(own.retention.as_ref()),
        Some(90),
        "the overlay replaces the period"
    );
    let span = own.retention.unwrap().span;
    let file = loaded.sources.get(span.file).unwrap();
    assert_eq!(&*file.path, "forms/musterstadt/sperrmuell.yaml");
    assert_eq!(
        file.line(span.line)
            .unwrap()
            .get(span.col as usize - 1..)
            .unwrap()
            .split(':')
            .next(),
        Some("after_final_state")
    );
    assert_eq!(days(catalog.tenants[0].retention.as_ref()), Some(365));
}

#[test]
fn the_forms_catalog_declares_retention() {
    let loaded = load_catalog(crate::forms_catalog());
    let maengel = loaded.catalog.service(None, "maengelmelder").unwrap();
    assert!(maengel.retention.is_some());
    assert!(maengel.process.has_final_state());
    let musterstadt = loaded.catalog.tenants.iter().find(|t| t.id == "musterstadt").unwrap();
    assert!(musterstadt.retention.is_some());
}

/// A service's process as written after `process:`.
fn process(yaml: &str) -> Process {
    let text = format!(
        "service: s\nversion: 1.0.0\ntitle: S\nsteps:\n  - id: a\n    title: A\n    fields:\n      - {{ id: b, type: text, label: B }}\n{yaml}"
    );
    let (service, loaded) = load_service("forms/s.yaml", &text);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    service.unwrap().process
}

#[test]
fn a_final_state_is_one_the_process_allows_no_move_from() {
    let p = process(
        "process:\n  states: [neu, pruefung, erledigt, abgelehnt]\n  transitions:\n    - { from: neu, to: pruefung }\n    - { from: pruefung, to: erledigt }\n    - { from: pruefung, to: abgelehnt }\n    - { from: abgelehnt, to: abgelehnt }\n",
    );
    let finals: Vec<&str> = ["neu", "pruefung", "erledigt", "abgelehnt", "verloren"]
        .into_iter()
        .filter(|s| p.is_final(s))
        .collect();
    assert_eq!(
        finals,
        ["erledigt", "abgelehnt"],
        "a move back to the same state moves nothing"
    );

    // Without transitions any declared state may follow any other: none is final ...
    let open = process("process:\n  states: [neu, erledigt]\n");
    assert!(!open.is_final("neu") && !open.is_final("erledigt"));
    assert!(!open.has_final_state());
    // ... unless there is only one: nothing can follow it.
    let single = process("process:\n  states: [eingegangen]\n");
    assert!(single.is_final("eingegangen"));
    // Without states a submission stays in `eingegangen` for good.
    let none = process("");
    assert!(none.is_final("eingegangen") && !none.is_final("erledigt"));
    assert!(none.has_final_state());
}

/// The `help:` the checker gives for `after_final_state: <value>` (English), or the errors.
fn help_for(value: &str) -> Option<String> {
    let text = format!(
        "service: s\nversion: 1.0.0\ntitle: S\nretention:\n  after_final_state: {value}\nsteps:\n  - id: a\n    title: A\n    fields:\n      - {{ id: b, type: text, label: B }}\n"
    );
    let (service, loaded) = load_service("forms/s.yaml", &text);
    let errors: Vec<_> = loaded.diagnostics.iter().filter(|d| d.is_error()).collect();
    if errors.is_empty() {
        assert!(service.unwrap().retention.is_some());
        return None;
    }
    assert_eq!(errors.len(), 1, "{errors:?}");
    let rendered = errors[0].render(&loaded.sources, Lang::En);
    assert!(rendered.contains("--> forms/s.yaml:5:22"), "{rendered}");
    Some(errors[0].help.as_ref().unwrap().en.clone())
}

#[test]
fn a_period_not_written_in_days_gets_the_days_it_likely_means() {
    assert_eq!(help_for("180d"), None);
    assert_eq!(help_for("1d"), None);
    assert_eq!(help_for("3650d"), None);
    for (written, meant) in [
        ("26w", "182d"),
        ("6m", "180d"),
        ("1y", "365d"),
        ("180", "180d"),
        ("180 Tage", "180d"),
        ("90 days", "90d"),
        ("180D", "180d"),
        ("0d", "1d"),
        ("4000d", "3650d"),
        ("20y", "3650d"),
    ] {
        assert_eq!(
            help_for(written).as_deref(),
            Some(format!("did you mean `{meant}`?").as_str()),
            "{written}"
        );
    }
    let help = help_for("bald").unwrap();
    assert!(help.contains("`180d`"), "{help}");
}
