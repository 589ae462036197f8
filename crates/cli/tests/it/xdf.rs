//! `baukasten import xdf3` and `baukasten export xdf3` as a clerk uses them: a service file
//! from a FIM schema that `check` passes, errors with file:line:col, no file overwritten, and
//! a catalog service exported and imported again.

use crate::{baukasten, repo_root, scratch, stdout};

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_imported_schema_becomes_a_service_file_that_passes_check_with_notes_to_finish() {
    let dir = scratch("xdf-import");
    let input = repo_root().join("crates/fim/tests/inputs/ok_antrag.xml");
    let out = baukasten(
        &[
            "import",
            "xdf3",
            input.to_str().unwrap(),
            "--out",
            "forms/sondernutzung.yaml",
        ],
        &dir,
        "de_DE.UTF-8",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("forms/sondernutzung.yaml geschrieben"), "{err}");
    assert!(err.contains("R60000020"), "the prose rule is named: {err}");
    assert!(
        err.contains("urn:de:example:codeliste:staat"),
        "the code list is named: {err}"
    );
    let yaml = std::fs::read_to_string(dir.join("forms/sondernutzung.yaml")).unwrap();
    assert!(yaml.contains("fim: { id: F60000001, version: \"1.0\" }"), "{yaml}");
    let check = baukasten(&["check"], &dir, "de_DE.UTF-8");
    assert!(check.status.success(), "{}{}", stdout(&check), stderr(&check));

    // Not overwritten.
    let again = baukasten(
        &[
            "import",
            "xdf3",
            input.to_str().unwrap(),
            "--out",
            "forms/sondernutzung.yaml",
        ],
        &dir,
        "en_US.UTF-8",
    );
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("exists; it is not overwritten"),
        "{}",
        stderr(&again)
    );
}

#[test]
fn a_foreign_file_is_refused_with_its_place() {
    let dir = scratch("xdf-refused");
    let input = repo_root().join("crates/fim/tests/inputs/err_xdatenfelder_2.xml");
    let out = baukasten(&["import", "xdf3", input.to_str().unwrap()], &dir, "en_US.UTF-8");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("err_xdatenfelder_2.xml:2:1: error: not XDatenfelder 3"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "nothing written");
}

#[test]
fn a_catalog_service_is_exported_and_imported_again() {
    let dir = scratch("xdf-export");
    let forms = repo_root().join("forms");
    let out = baukasten(
        &[
            "export",
            "xdf3",
            "hundesteuer",
            "--forms",
            forms.to_str().unwrap(),
            "--out",
            "hundesteuer.xml",
        ],
        &dir,
        "en_US.UTF-8",
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let xml = std::fs::read_to_string(dir.join("hundesteuer.xml")).unwrap();
    assert!(xml.contains("<xdf:name>hundesteuer</xdf:name>"), "{xml}");
    assert!(xml.contains("urn:xoev-de:fim:standard:xdatenfelder_3.0.0"));
    let back = baukasten(
        &["import", "xdf3", "hundesteuer.xml", "--out", "forms/hund.yaml"],
        &dir,
        "en_US.UTF-8",
    );
    assert!(back.status.success(), "{}", stderr(&back));
    let check = baukasten(&["check"], &dir, "en_US.UTF-8");
    assert!(check.status.success(), "{}{}", stdout(&check), stderr(&check));

    let unknown = baukasten(
        &["export", "xdf3", "hundesteur", "--forms", forms.to_str().unwrap()],
        &dir,
        "en_US.UTF-8",
    );
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        stderr(&unknown).contains("there is no service `hundesteur`"),
        "{}",
        stderr(&unknown)
    );
}

#[test]
fn with_groups_the_groups_become_catalog_files_that_a_second_import_uses() {
    let dir = scratch("xdf-groups");
    let input = repo_root().join("crates/fim/tests/inputs/ok_antrag.xml");
    let input = input.to_str().unwrap();
    let first = baukasten(
        &[
            "import",
            "xdf3",
            input,
            "--out",
            "forms/sondernutzung.yaml",
            "--groups",
            "forms/gruppen",
        ],
        &dir,
        "en_US.UTF-8",
    );
    assert!(first.status.success(), "{}", stderr(&first));
    let person = std::fs::read_to_string(dir.join("forms/gruppen/natuerliche_person.yaml")).unwrap();
    assert!(person.contains("group: natuerliche_person\n"), "{person}");
    assert!(person.contains("fim: { id: G60000001, version: \"1.2\" }"), "{person}");
    let service = std::fs::read_to_string(dir.join("forms/sondernutzung.yaml")).unwrap();
    assert!(
        !service.contains("\ngroups:"),
        "the groups are not in the service: {service}"
    );
    assert!(service.contains("use: natuerliche_person\n"), "{service}");
    let check = baukasten(&["check"], &dir, "en_US.UTF-8");
    assert!(check.status.success(), "{}{}", stdout(&check), stderr(&check));

    // A second service from the same schema uses the catalog's groups instead of copying them.
    let before = std::fs::read_dir(dir.join("forms/gruppen")).unwrap().count();
    let second = baukasten(
        &[
            "import",
            "xdf3",
            input,
            "--out",
            "other.yaml",
            "--groups",
            "forms/gruppen",
        ],
        &dir,
        "en_US.UTF-8",
    );
    assert!(second.status.success(), "{}", stderr(&second));
    assert!(
        stderr(&second).contains("3 groups of the catalog used"),
        "{}",
        stderr(&second)
    );
    assert_eq!(
        std::fs::read_dir(dir.join("forms/gruppen")).unwrap().count(),
        before,
        "no new group files"
    );
}
