//! `baukasten store verify --data DIR`: reads every record of a data folder's store and checks
//! it, while the server is stopped. Prints each damaged record with its table and key; exit 1
//! if there is one, 2 if the store cannot be opened.
//!
//! `baukasten store copy --from SRC --to DST`: copies every record between two stores, each a
//! data folder or a PostgreSQL database ([`baukasten_store::copy`] does the work), and prints
//! per kind of record what the target holds afterwards; exit 1 if the target was not empty or
//! the copy differs, 2 if a store cannot be opened, read or written.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use baukasten_dsl::Lang;
use baukasten_store::copy::{Copied, CopyError};
use baukasten_store::{RedbStore, Store};
use baukasten_store_pg::PgStore;

pub fn verify(data: &Path, lang: Lang) -> ExitCode {
    let de = lang == Lang::De;
    let path = data.join("baukasten.redb");
    if !path.exists() {
        if de {
            eprintln!("Fehler: {} gibt es nicht.", path.display());
        } else {
            eprintln!("error: {} does not exist", path.display());
        }
        return ExitCode::from(2);
    }
    let store = match RedbStore::open(&path) {
        Ok(store) => store,
        Err(e) => {
            if de {
                eprintln!("Fehler: der Speicher lässt sich nicht öffnen (läuft der Server noch?): {e}");
            } else {
                eprintln!("error: cannot open the store (is the server still running?): {e}");
            }
            return ExitCode::from(2);
        }
    };
    let verified = match store.verify() {
        Ok(verified) => verified,
        Err(e) => {
            eprintln!("{}: {e}", if de { "Fehler" } else { "error" });
            return ExitCode::from(2);
        }
    };
    for damage in &verified.damaged {
        println!("{}: {damage}", if de { "beschädigt" } else { "damaged" });
    }
    let (checked, damaged) = (verified.checked, verified.damaged.len());
    if de {
        println!("{checked} Datensätze geprüft, {damaged} beschädigt.");
    } else {
        println!("{checked} records checked, {damaged} damaged");
    }
    if damaged > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Where a store is, as `--from` and `--to` name it.
#[derive(Debug, Clone)]
pub enum Location {
    /// A data folder; the store is its `baukasten.redb`.
    Folder(PathBuf),
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

impl Location {
    /// A `postgres://` or `postgresql://` URL names a database; anything else a data folder.
    pub fn parse(text: &str) -> Result<Location, String> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            Ok(Location::Postgres(text.to_owned()))
        } else if text.is_empty() {
            Err("a data folder or a postgres:// URL".to_owned())
        } else {
            Ok(Location::Folder(PathBuf::from(text)))
        }
    }
}

/// Which end of a copy a store is, for messages.
#[derive(Clone, Copy)]
enum End {
    Source,
    Target,
}

impl End {
    fn name(self, de: bool) -> &'static str {
        match (self, de) {
            (End::Source, true) => "die Quelle",
            (End::Source, false) => "the source",
            (End::Target, true) => "das Ziel",
            (End::Target, false) => "the target",
        }
    }
}

/// An open store, and how messages name it.
struct Opened {
    store: Box<dyn Store>,
    name: String,
}

pub fn copy(from: &Location, to: &Location, lang: Lang) -> ExitCode {
    let de = lang == Lang::De;
    let fail = |code: u8, message: String| {
        eprintln!("{}: {message}", if de { "Fehler" } else { "error" });
        ExitCode::from(code)
    };
    let source = match open(from, End::Source, de) {
        Ok(opened) => opened,
        Err(message) => return fail(2, message),
    };
    let target = match open(to, End::Target, de) {
        Ok(opened) => opened,
        Err(message) => return fail(2, message),
    };
    let (s, t) = (&source.name, &target.name);
    if de {
        println!("Kopiere {s} nach {t} …");
    } else {
        println!("copying {s} to {t} …");
    }
    let started = Instant::now();
    let copied = match baukasten_store::copy::run(&*source.store, &*target.store) {
        Ok(copied) => copied,
        Err(e) => {
            let (code, message) = copy_failed(&e, s, t, de);
            return fail(code, message);
        }
    };
    let seconds = started.elapsed().as_secs_f64();
    print_table(&copied, de);
    let records = copied.source.records();
    let differences = copied.differences();
    if !differences.is_empty() {
        let kinds = differences.join(", ");
        return fail(
            1,
            if de {
                format!(
                    "die Kopie weicht von der Quelle ab bei: {kinds}. Das Ziel {t} bleibt, wie es ist; \
                     leeren Sie es, bevor Sie erneut kopieren."
                )
            } else {
                format!(
                    "the copy differs from the source in: {kinds}. The target {t} is left as it is; \
                     empty it before copying again."
                )
            },
        );
    }
    if de {
        println!(
            "{records} Datensätze in {} {} in {} s kopiert; das Ziel hält dieselben Datensätze wie die Quelle.",
            copied.batches,
            if copied.batches == 1 { "Schub" } else { "Schüben" },
            format!("{seconds:.1}").replace('.', ",")
        );
    } else {
        println!(
            "copied {records} records in {} {} in {seconds:.1} s; the target holds the same records as the source",
            copied.batches,
            if copied.batches == 1 { "batch" } else { "batches" },
        );
    }
    ExitCode::SUCCESS
}

/// Opens one end of a copy. A source that does not exist is refused rather than created
/// empty; a target folder is created if needed.
fn open(location: &Location, end: End, de: bool) -> Result<Opened, String> {
    let what = end.name(de);
    match location {
        Location::Folder(folder) => {
            let path = folder.join("baukasten.redb");
            if matches!(end, End::Source) && !path.is_file() {
                return Err(if de {
                    format!("{what} {} gibt es nicht; nichts wurde kopiert.", path.display())
                } else {
                    format!("{what} {} does not exist; nothing was copied", path.display())
                });
            }
            let store = RedbStore::open(&path).map_err(|e| {
                if de {
                    format!(
                        "{what} {} lässt sich nicht öffnen (läuft der Server noch?): {e}",
                        path.display()
                    )
                } else {
                    format!(
                        "cannot open {what} {} (is the server still running?): {e}",
                        path.display()
                    )
                }
            })?;
            Ok(Opened {
                store: Box::new(store),
                name: path.display().to_string(),
            })
        }
        Location::Postgres(url) => {
            let store = PgStore::open(url).map_err(|e| {
                if de {
                    format!("{what} (PostgreSQL) lässt sich nicht öffnen: {e}")
                } else {
                    format!("cannot open {what} (PostgreSQL): {e}")
                }
            })?;
            Ok(Opened {
                store: Box::new(store),
                name: without_password(url),
            })
        }
    }
}

/// A PostgreSQL URL as messages show it: all of it (the schema in its options too), but a
/// password.
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    match rest[..authority_end].rsplit_once('@') {
        Some((user_info, host)) if user_info.contains(':') => {
            let user = user_info.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}{}", &rest[authority_end..])
        }
        _ => url.to_owned(),
    }
}

/// The exit status and message for a copy that did not happen or did not finish.
fn copy_failed(e: &CopyError, s: &str, t: &str, de: bool) -> (u8, String) {
    let partly = |written: &u64| {
        if de {
            format!(
                "Das Ziel {t} hält die {written} bis dahin kopierten Datensätze; leeren Sie es, bevor Sie erneut kopieren."
            )
        } else {
            format!("The target {t} holds the {written} records copied until then; empty it before copying again.")
        }
    };
    match (e, de) {
        (CopyError::TargetNotEmpty, true) => (
            1,
            format!(
                "das Ziel {t} ist nicht leer; es wurde nichts hineingeschrieben. `store copy` kopiert nur in einen leeren Speicher."
            ),
        ),
        (CopyError::TargetNotEmpty, false) => (
            1,
            format!(
                "the target {t} is not empty; nothing was written to it. `store copy` copies only into an empty store."
            ),
        ),
        (CopyError::SourceEmpty, true) => (1, format!("die Quelle {s} enthält nichts; nichts wurde kopiert.")),
        (CopyError::SourceEmpty, false) => (1, format!("the source {s} holds nothing; nothing was copied")),
        (CopyError::Reading { error, written }, true) => (
            2,
            format!("Lesen der Quelle {s} fehlgeschlagen: {error}\n{}", partly(written)),
        ),
        (CopyError::Reading { error, written }, false) => (
            2,
            format!("reading the source {s} failed: {error}\n{}", partly(written)),
        ),
        (CopyError::Writing { error, written }, true) => (
            2,
            format!("Schreiben in das Ziel {t} fehlgeschlagen: {error}\n{}", partly(written)),
        ),
        (CopyError::Writing { error, written }, false) => (
            2,
            format!("writing the target {t} failed: {error}\n{}", partly(written)),
        ),
        (CopyError::Checking { error }, true) => (2, format!("das Ziel {t} lässt sich nicht (zurück)lesen: {error}")),
        (CopyError::Checking { error }, false) => (2, format!("cannot read the target {t} (back): {error}")),
        (_, true) => (2, format!("die Kopie ist fehlgeschlagen: {e}")),
        (_, false) => (2, format!("the copy failed: {e}")),
    }
}

/// One line per kind of record: what the source held, and whether the target holds the same.
fn print_table(copied: &Copied, de: bool) {
    let (kind, records, checksum) = if de {
        ("Art", "Datensätze", "Prüfsumme")
    } else {
        ("kind", "records", "checksum")
    };
    println!("{kind:<16}{records:>12}  {checksum}");
    let differences = copied.differences();
    for (kind, source) in copied.source.kinds() {
        let status = if differences.contains(&kind) {
            let target = copied.target.get(kind);
            if de {
                format!(
                    "ABWEICHEND: das Ziel hat {} mit {:016x}",
                    target.records, target.checksum
                )
            } else {
                format!(
                    "DIFFERS: the target has {} with {:016x}",
                    target.records, target.checksum
                )
            }
        } else {
            "ok".to_owned()
        };
        println!("{kind:<16}{:>12}  {:016x}  {status}", source.records, source.checksum);
    }
    // A kind the target holds that the source did not.
    for (kind, target) in copied.target.kinds() {
        if copied.source.get(kind).records == 0 {
            let status = if de {
                "ABWEICHEND: nicht in der Quelle"
            } else {
                "DIFFERS: not in the source"
            };
            println!("{kind:<16}{:>12}  {:016x}  {status}", target.records, target.checksum);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::without_password;

    #[test]
    fn a_password_is_not_shown() {
        assert_eq!(
            without_password("postgres://baukasten:geheim@db.example:5432/bk?options=-csearch_path%3Dmuster"),
            "postgres://baukasten:***@db.example:5432/bk?options=-csearch_path%3Dmuster"
        );
        let plain = "postgresql://postgres@127.0.0.1/postgres";
        assert_eq!(without_password(plain), plain);
        assert_eq!(
            without_password("postgres://host/db?x=a:b@c"),
            "postgres://host/db?x=a:b@c"
        );
    }
}
