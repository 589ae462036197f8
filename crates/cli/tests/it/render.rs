//! `baukasten render --out DIR`: the static site of the real catalog, written to disk.

use std::path::Path;

use crate::{baukasten, repo_root, scratch, stdout};

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{} is missing: {e}", path.display()))
}

#[test]
fn render_writes_every_page_of_every_service() {
    let out = scratch("render").join("site");
    let run = baukasten(
        &["render", "--out", out.to_str().unwrap(), "forms"],
        &repo_root(),
        "de_DE.UTF-8",
    );
    assert_eq!(run.status.code(), Some(0), "{}", stdout(&run));
    assert!(stdout(&run).contains("Seiten"), "{}", stdout(&run));

    for service in ["bewohnerparkausweis", "sperrmuell", "hundesteuer", "maengelmelder"] {
        let dir = out.join("_shared").join(service);
        for page in ["start.html", "summary.html", "confirmation.html", "resume.html"] {
            let html = read(&dir.join(page));
            assert!(html.starts_with("<!DOCTYPE html>"), "{service}/{page}");
            assert!(html.contains("<html lang=\"de\">"), "{service}/{page}");
            // The stylesheet is linked relatively, so the page opens from disk.
            assert!(html.contains("href=\"../../assets/main.css\""), "{service}/{page}");
        }
        let english = read(&out.join("en/_shared").join(service).join("start.html"));
        assert!(english.contains("<html lang=\"en\">"), "{service}");
    }
    assert!(out.join("assets/main.css").is_file());
    assert!(out.join("assets/theme-musterstadt.css").is_file());
    assert!(read(&out.join("musterstadt/index.html")).contains("Stadt Musterstadt"));
    assert!(read(&out.join("404.html")).contains("Seite nicht gefunden"));

    let errors = read(&out.join("_shared/bewohnerparkausweis/step-antragsteller-errors.html"));
    let title = errors.split("<title>").nth(1).unwrap_or_default();
    assert!(title.starts_with("Fehler: "), "{title}");
    assert!(errors.contains("aria-invalid=\"true\""));
    assert!(errors.contains("Es gibt ein Problem"));
}

#[test]
fn render_refuses_a_catalog_with_errors_and_writes_nothing() {
    let dir = scratch("render-broken");
    std::fs::write(dir.join("forms/hallo.yaml"), crate::BROKEN).unwrap();
    let out = dir.join("site");
    let run = baukasten(&["render", "--out", "site"], &dir, "de_DE.UTF-8");
    assert_eq!(run.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&run.stderr).contains("requird"));
    assert!(!out.exists());
}
