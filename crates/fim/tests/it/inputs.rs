//! `tests/inputs/*.xml` through one helper. `ok_*` files must be read; their model, their
//! service text and its warnings are snapshotted, the text must pass the checker of the
//! language, and writing the model and reading it back must give the same model. `err_*`
//! files must be refused; the error is snapshotted.

use baukasten_fim::{Header, read, to_service_yaml, write};

use crate::{check, inputs};

#[test]
fn inputs_through_read_write_and_import() {
    let cases = inputs();
    assert!(cases.len() >= 10, "expected the input corpus");
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    let _guard = settings.bind_to_scope();
    for (stem, text) in cases {
        if stem.starts_with("ok_") {
            let schema = read(&text).unwrap_or_else(|e| panic!("{stem}: {e}"));
            insta::assert_yaml_snapshot!(format!("{stem}.model"), schema);

            let header = Header {
                message_id: "m-1".into(),
                created: "2026-01-15T09:30:00Z".into(),
            };
            let again = read(&write(&schema, &header)).unwrap_or_else(|e| panic!("{stem}: {e}"));
            assert_eq!(again, schema, "{stem}: read(write(schema)) differs");

            let import = to_service_yaml(&schema);
            let errors = check(&import.yaml);
            assert!(
                errors.is_empty(),
                "{stem}: the service text has errors:\n{}\n{}",
                errors.join("\n"),
                import.yaml
            );
            insta::assert_snapshot!(format!("{stem}.yaml"), import.yaml);
            insta::assert_yaml_snapshot!(format!("{stem}.warnings"), import.warnings);
        } else {
            assert!(stem.starts_with("err_"), "{stem}: name inputs ok_* or err_*");
            let err = read(&text).expect_err(&stem);
            insta::assert_snapshot!(stem.clone(), err.to_string());
        }
    }
}
