//! `baukasten import xdf3 FILE [--out forms/NAME.yaml]`: a service file started from a FIM
//! Stammdatenschema or Datenfeldgruppe (XDatenfelder 3), checked before it is written; what the
//! clerk still has to do by hand (code lists, rules in prose, what was lost) is printed as
//! warnings, and is in the file as comments.
//!
//! `baukasten export xdf3 SERVICE [--municipality ID] [--forms DIR] [--out FILE]`: a checked
//! service of the catalog as a Stammdatenschema.

use std::path::Path;
use std::process::ExitCode;

use baukasten_dsl::{Lang, Loaded, SourceFile, load_catalog};

fn say(lang: Lang, de: String, en: String) -> String {
    if lang == Lang::De { de } else { en }
}

pub fn import(file: &Path, out: Option<&Path>, groups: Option<&Path>, lang: Lang) -> ExitCode {
    let label = file.display().to_string();
    let text = match std::fs::read(file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                eprintln!(
                    "{}",
                    say(
                        lang,
                        format!("Fehler: {label} ist kein UTF-8-Text."),
                        format!("error: {label} is not UTF-8 text")
                    )
                );
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            eprintln!(
                "{}",
                say(
                    lang,
                    format!("Fehler: {label} kann nicht gelesen werden: {e}"),
                    format!("error: cannot read {label}: {e}")
                )
            );
            return ExitCode::from(2);
        }
    };
    let schema = match baukasten_fim::read(&text) {
        Ok(schema) => schema,
        Err(e) => {
            // The place first, as compilers write it, so editors can jump there.
            let word = if lang == Lang::De { "Fehler" } else { "error" };
            eprintln!("{label}:{}:{}: {word}: {}: {}", e.line, e.col, e.kind, e.message);
            return ExitCode::from(2);
        }
    };
    if let (Some(dir), Some(out)) = (groups, out) {
        return import_with_group_files(&label, &schema, out, dir, lang);
    }
    let import = baukasten_fim::to_service_yaml(&schema);
    let target = out
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| "import.yaml".into());
    // The file must pass the checker as it is written: a failure here is a defect of the import.
    let loaded = load_catalog(vec![SourceFile::new(target.clone(), import.yaml.clone())]);
    for d in &loaded.diagnostics {
        eprint!("{}", d.render(&loaded.sources, lang));
    }
    if loaded.has_errors() {
        eprintln!(
            "{}",
            say(
                lang,
                "Fehler: die erzeugte Dienstdatei besteht die Prüfung nicht; bitte melden Sie das mit der XML-Datei."
                    .into(),
                "error: the service file made from it does not pass the check; please report this with the XML file"
                    .into()
            )
        );
        return ExitCode::from(1);
    }
    for w in &import.warnings {
        let word = if lang == Lang::De { "Warnung" } else { "warning" };
        let message = if lang == Lang::De { &w.message_de } else { &w.message };
        eprintln!("{label}: {word}: {}: {message}", w.element);
    }
    match out {
        None => print!("{}", import.yaml),
        Some(path) => {
            if path.exists() {
                eprintln!(
                    "{}",
                    say(
                        lang,
                        format!("Fehler: {target} gibt es schon; es wird nicht überschrieben."),
                        format!("error: {target} exists; it is not overwritten")
                    )
                );
                return ExitCode::from(2);
            }
            if let Err(e) = std::fs::write(path, &import.yaml) {
                eprintln!(
                    "{}",
                    say(
                        lang,
                        format!("Fehler: {target} kann nicht geschrieben werden: {e}"),
                        format!("error: cannot write {target}: {e}")
                    )
                );
                return ExitCode::from(2);
            }
            eprintln!(
                "{}",
                say(
                    lang,
                    format!(
                        "{target} geschrieben ({} Hinweise zum Nacharbeiten). Prüfen Sie ihn mit `baukasten check`.",
                        import.warnings.len()
                    ),
                    format!(
                        "wrote {target} ({} things to finish by hand). Check it with `baukasten check`.",
                        import.warnings.len()
                    )
                )
            );
        }
    }
    ExitCode::SUCCESS
}

pub fn export(loaded: &Loaded, service: &str, municipality: Option<&str>, out: Option<&Path>, lang: Lang) -> ExitCode {
    if loaded.has_errors() {
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            eprint!("{}", d.render(&loaded.sources, lang));
        }
        eprintln!(
            "{}",
            say(
                lang,
                "Fehler: der Katalog hat Fehler; exportiert wird nur ein geprüfter Dienst.".into(),
                "error: the catalog has errors; only a checked service is exported".into()
            )
        );
        return ExitCode::from(1);
    }
    let Some(found) = loaded.catalog.service(municipality, service) else {
        let known: Vec<&str> = loaded
            .catalog
            .services
            .iter()
            .filter(|s| s.tenant.is_none())
            .map(|s| s.id.as_str())
            .collect();
        let whose = municipality.map(|m| format!(" ({m})")).unwrap_or_default();
        eprintln!(
            "{}",
            say(
                lang,
                format!(
                    "Fehler: den Dienst `{service}`{whose} gibt es nicht; es gibt: {}.",
                    known.join(", ")
                ),
                format!(
                    "error: there is no service `{service}`{whose}; there are: {}",
                    known.join(", ")
                )
            )
        );
        return ExitCode::from(2);
    };
    let now = chrono::Utc::now();
    let header = baukasten_fim::Header {
        message_id: format!("baukasten-{}-{}", found.id, now.timestamp_micros()),
        created: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    };
    let xml = baukasten_fim::write(&baukasten_fim::from_service(found), &header);
    match out {
        None => print!("{xml}"),
        Some(path) => {
            let target = path.display().to_string();
            if path.exists() {
                eprintln!(
                    "{}",
                    say(
                        lang,
                        format!("Fehler: {target} gibt es schon; es wird nicht überschrieben."),
                        format!("error: {target} exists; it is not overwritten")
                    )
                );
                return ExitCode::from(2);
            }
            if let Err(e) = std::fs::write(path, xml) {
                eprintln!(
                    "{}",
                    say(
                        lang,
                        format!("Fehler: {target} kann nicht geschrieben werden: {e}"),
                        format!("error: cannot write {target}: {e}")
                    )
                );
                return ExitCode::from(2);
            }
        }
    }
    ExitCode::SUCCESS
}

/// The import with its groups as files of the catalog in `dir`: the catalog's groups with the
/// same FIM id and version are used, new ones written beside them. Everything is checked
/// together before anything is written.
fn import_with_group_files(
    label: &str,
    schema: &baukasten_fim::model::Schema,
    out: &Path,
    dir: &Path,
    lang: Lang,
) -> ExitCode {
    // The group files there now.
    let mut existing = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for path in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "yaml")) {
            if let Ok(text) = std::fs::read_to_string(&path) {
                existing.push(SourceFile::new(path.display().to_string(), text));
            }
        }
    }
    let known: Vec<baukasten_fim::KnownGroup> = load_catalog(existing.clone())
        .catalog
        .groups
        .iter()
        .map(|g| baukasten_fim::KnownGroup {
            name: g.name.clone(),
            fim_id: g.fim.as_ref().map(|f| f.id.clone()),
            fim_version: g.fim.as_ref().and_then(|f| f.version.clone()),
        })
        .collect();
    let import = baukasten_fim::to_catalog_files(schema, &known);
    let mut files = existing;
    files.push(SourceFile::new(out.display().to_string(), import.service.clone()));
    let mut writes = vec![(out.to_path_buf(), import.service.clone())];
    for (name, text) in &import.groups {
        let path = dir.join(format!("{name}.yaml"));
        files.push(SourceFile::new(path.display().to_string(), text.clone()));
        writes.push((path, text.clone()));
    }
    let loaded = load_catalog(files);
    for d in &loaded.diagnostics {
        eprint!("{}", d.render(&loaded.sources, lang));
    }
    if loaded.has_errors() {
        eprintln!(
            "{}",
            say(
                lang,
                "Fehler: die erzeugten Dateien bestehen die Prüfung nicht; bitte melden Sie das mit der XML-Datei."
                    .into(),
                "error: the files made from it do not pass the check; please report this with the XML file".into()
            )
        );
        return ExitCode::from(1);
    }
    for w in &import.warnings {
        let word = if lang == Lang::De { "Warnung" } else { "warning" };
        let message = if lang == Lang::De { &w.message_de } else { &w.message };
        eprintln!("{label}: {word}: {}: {message}", w.element);
    }
    if let Some((path, _)) = writes.iter().find(|(p, _)| p.exists()) {
        eprintln!(
            "{}",
            say(
                lang,
                format!("Fehler: {} gibt es schon; es wird nicht überschrieben.", path.display()),
                format!("error: {} exists; it is not overwritten", path.display())
            )
        );
        return ExitCode::from(2);
    }
    if let Err(e) = std::fs::create_dir_all(dir) {
        eprintln!("{}: {e}", dir.display());
        return ExitCode::from(2);
    }
    for (path, text) in &writes {
        if let Err(e) = std::fs::write(path, text) {
            eprintln!(
                "{}",
                say(
                    lang,
                    format!("Fehler: {} kann nicht geschrieben werden: {e}", path.display()),
                    format!("error: cannot write {}: {e}", path.display())
                )
            );
            return ExitCode::from(2);
        }
    }
    let names: Vec<String> = writes.iter().map(|(p, _)| p.display().to_string()).collect();
    let reused = known
        .iter()
        .filter(|k| import.service.contains(&format!("use: {}\n", k.name)))
        .count();
    eprintln!(
        "{}",
        say(
            lang,
            format!(
                "geschrieben: {} ({} Hinweise zum Nacharbeiten; {reused} Gruppen des Katalogs übernommen).",
                names.join(", "),
                import.warnings.len(),
            ),
            format!(
                "wrote {} ({} things to finish by hand; {reused} groups of the catalog used).",
                names.join(", "),
                import.warnings.len(),
            )
        )
    );
    ExitCode::SUCCESS
}
