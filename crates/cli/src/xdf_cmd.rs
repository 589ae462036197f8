//! `baukasten import xdf3 FILE [--out forms/NAME.yaml]`: a service file started from a FIM
//! Stammdatenschema or Datenfeldgruppe (XDatenfelder 3), checked before it is written; what the
//! clerk still has to do by hand (code lists, rules in prose, what was lost) is printed as
//! warnings, and is in the file as comments.
//!
//! `baukasten export xdf3 SERVICE [--municipality ID] [--forms DIR] [--out FILE]`: a checked
//! service of the catalog as a Stammdatenschema.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use baukasten_dsl::{Lang, Loaded, SourceFile, load_catalog};

fn say(lang: Lang, de: String, en: String) -> String {
    if lang == Lang::De { de } else { en }
}

/// Says what is wrong (`Fehler: …` / `error: …`) and gives the exit status of bad input.
fn fail(lang: Lang, de: String, en: String) -> ExitCode {
    eprintln!("{}", say(lang, format!("Fehler: {de}"), format!("error: {en}")));
    ExitCode::from(2)
}

/// Prints what the clerk has to finish by hand.
fn print_warnings(label: &str, warnings: &[baukasten_fim::Warning], lang: Lang) {
    let word = if lang == Lang::De { "Warnung" } else { "warning" };
    for w in warnings {
        let message = if lang == Lang::De { &w.message_de } else { &w.message };
        eprintln!("{label}: {word}: {}: {message}", w.element);
    }
}

/// Prints the checker's diagnostics of files an import made; `false` when they have errors
/// (a defect of the import, not of the input).
fn passes_check(loaded: &Loaded, what_de: &str, what_en: &str, lang: Lang) -> bool {
    for d in &loaded.diagnostics {
        eprint!("{}", d.render(&loaded.sources, lang));
    }
    if loaded.has_errors() {
        eprintln!(
            "{}",
            say(
                lang,
                format!("Fehler: {what_de} bestehen die Prüfung nicht; bitte melden Sie das mit der XML-Datei."),
                format!("error: {what_en} do not pass the check; please report this with the XML file")
            )
        );
        return false;
    }
    true
}

/// Writes every file, or none when one of them exists already (nothing is overwritten).
fn write_new(writes: &[(PathBuf, String)], lang: Lang) -> Result<(), ExitCode> {
    if let Some((path, _)) = writes.iter().find(|(p, _)| p.exists()) {
        let target = path.display();
        return Err(fail(
            lang,
            format!("{target} gibt es schon; es wird nicht überschrieben."),
            format!("{target} exists; it is not overwritten"),
        ));
    }
    for (path, text) in writes {
        if let Err(e) = std::fs::write(path, text) {
            let target = path.display();
            return Err(fail(
                lang,
                format!("{target} kann nicht geschrieben werden: {e}"),
                format!("cannot write {target}: {e}"),
            ));
        }
    }
    Ok(())
}

pub fn import(file: &Path, out: Option<&Path>, groups: Option<&Path>, lang: Lang) -> ExitCode {
    let label = file.display().to_string();
    let text = match std::fs::read(file) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(text) => text,
            Err(_) => {
                return fail(
                    lang,
                    format!("{label} ist kein UTF-8-Text."),
                    format!("{label} is not UTF-8 text"),
                );
            }
        },
        Err(e) => {
            return fail(
                lang,
                format!("{label} kann nicht gelesen werden: {e}"),
                format!("cannot read {label}: {e}"),
            );
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
    // The file must pass the checker as it is written.
    let loaded = load_catalog(vec![SourceFile::new(target.clone(), import.yaml.clone())]);
    if !passes_check(
        &loaded,
        "die erzeugte Dienstdatei",
        "the service file made from it",
        lang,
    ) {
        return ExitCode::from(1);
    }
    print_warnings(&label, &import.warnings, lang);
    let Some(path) = out else {
        print!("{}", import.yaml);
        return ExitCode::SUCCESS;
    };
    if let Err(code) = write_new(&[(path.to_path_buf(), import.yaml)], lang) {
        return code;
    }
    let n = import.warnings.len();
    eprintln!(
        "{}",
        say(
            lang,
            format!("{target} geschrieben ({n} Hinweise zum Nacharbeiten). Prüfen Sie ihn mit `baukasten check`."),
            format!("wrote {target} ({n} things to finish by hand). Check it with `baukasten check`.")
        )
    );
    ExitCode::SUCCESS
}

pub fn export(loaded: &Loaded, service: &str, municipality: Option<&str>, out: Option<&Path>, lang: Lang) -> ExitCode {
    if loaded.has_errors() {
        for d in loaded.diagnostics.iter().filter(|d| d.is_error()) {
            eprint!("{}", d.render(&loaded.sources, lang));
        }
        fail(
            lang,
            "der Katalog hat Fehler; exportiert wird nur ein geprüfter Dienst.".into(),
            "the catalog has errors; only a checked service is exported".into(),
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
        let (whose, known) = (
            municipality.map(|m| format!(" ({m})")).unwrap_or_default(),
            known.join(", "),
        );
        return fail(
            lang,
            format!("den Dienst `{service}`{whose} gibt es nicht; es gibt: {known}."),
            format!("there is no service `{service}`{whose}; there are: {known}"),
        );
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
            if let Err(code) = write_new(&[(path.to_path_buf(), xml)], lang) {
                return code;
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
    let mut writes = vec![(out.to_path_buf(), import.service.clone())];
    for (name, text) in &import.groups {
        writes.push((dir.join(format!("{name}.yaml")), text.clone()));
    }
    let mut files = existing;
    files.extend(
        writes
            .iter()
            .map(|(p, t)| SourceFile::new(p.display().to_string(), t.clone())),
    );
    if !passes_check(
        &load_catalog(files),
        "die erzeugten Dateien",
        "the files made from it",
        lang,
    ) {
        return ExitCode::from(1);
    }
    print_warnings(label, &import.warnings, lang);
    if let Err(e) = std::fs::create_dir_all(dir) {
        let target = dir.display();
        return fail(
            lang,
            format!("{target} lässt sich nicht anlegen: {e}"),
            format!("cannot create {target}: {e}"),
        );
    }
    if let Err(code) = write_new(&writes, lang) {
        return code;
    }
    let names: Vec<String> = writes.iter().map(|(p, _)| p.display().to_string()).collect();
    let (names, n) = (names.join(", "), import.warnings.len());
    let reused = known
        .iter()
        .filter(|k| import.service.contains(&format!("use: {}\n", k.name)))
        .count();
    eprintln!(
        "{}",
        say(
            lang,
            format!("geschrieben: {names} ({n} Hinweise zum Nacharbeiten; {reused} Gruppen des Katalogs übernommen)."),
            format!("wrote {names} ({n} things to finish by hand; {reused} groups of the catalog used).")
        )
    );
    ExitCode::SUCCESS
}
