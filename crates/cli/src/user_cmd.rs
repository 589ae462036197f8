//! `baukasten user add|list|remove --data DIR --municipality ID [NAME]`: the accounts of the
//! clerks' inbox, kept in the store of a data folder while the server is stopped (the store
//! file belongs to one process at a time), or with `--store postgres://…` in the database the
//! instances share, also while they run. The password of `add` is read from standard input
//! (one line), never from the command line, where other users of the machine could see it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::ExitCode;

use baukasten_dsl::Lang;
use baukasten_server::backoffice::{MIN_PASSWORD, account};
use baukasten_store::{RedbStore, Store};
use baukasten_store_pg::PgStore;

/// Where the accounts are: the data folder's store, or the shared database.
pub struct Place {
    pub data: PathBuf,
    pub store: Option<String>,
}

fn say(lang: Lang, de: &str, en: &str) -> String {
    if lang == Lang::De {
        de.to_string()
    } else {
        en.to_string()
    }
}

fn fail(lang: Lang, de: &str, en: &str) -> ExitCode {
    eprintln!("{}: {}", say(lang, "Fehler", "error"), say(lang, de, en));
    ExitCode::from(2)
}

/// A name or municipality id: letters, digits, `.`, `_`, `-`, 1 to 64 characters.
fn well_formed(text: &str) -> bool {
    (1..=64).contains(&text.chars().count())
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn open(place: &Place, lang: Lang) -> Result<Box<dyn Store>, ExitCode> {
    if let Some(address) = &place.store {
        return match PgStore::open(address) {
            Ok(store) => Ok(Box::new(store)),
            Err(e) => Err(fail(
                lang,
                &format!("die Datenbank lässt sich nicht öffnen: {e}"),
                &format!("cannot open the database: {e}"),
            )),
        };
    }
    let data = &place.data;
    std::fs::create_dir_all(data).map_err(|e| {
        fail(
            lang,
            &format!("der Ordner {} lässt sich nicht anlegen: {e}", data.display()),
            &format!("cannot create the folder {}: {e}", data.display()),
        )
    })?;
    match RedbStore::open(&data.join("baukasten.redb")) {
        Ok(store) => Ok(Box::new(store)),
        Err(e) => Err(fail(
            lang,
            &format!("der Speicher lässt sich nicht öffnen (läuft der Server noch?): {e}"),
            &format!("cannot open the store (is the server still running?): {e}"),
        )),
    }
}

pub fn add(place: &Place, municipality: &str, name: &str, lang: Lang) -> ExitCode {
    if !well_formed(municipality) || !well_formed(name) {
        return fail(
            lang,
            "Kommune und Name bestehen aus Buchstaben, Ziffern, `.`, `_` und `-` (höchstens 64 Zeichen).",
            "the municipality and the name consist of letters, digits, `.`, `_` and `-` (at most 64 characters)",
        );
    }
    let mut password = String::new();
    if std::io::stdin().lock().read_line(&mut password).is_err() {
        return fail(lang, "das Passwort lässt sich nicht lesen.", "cannot read the password");
    }
    let password = password.trim_end_matches(['\r', '\n']);
    let account = match account(municipality, name, password, chrono::Utc::now()) {
        Ok(account) => account,
        Err(e) => {
            return fail(
                lang,
                &format!(
                    "das Passwort muss mindestens {MIN_PASSWORD} Zeichen lang sein (aus der Standardeingabe gelesen)."
                ),
                &format!("{e} (read from standard input)"),
            );
        }
    };
    let store = match open(place, lang) {
        Ok(store) => store,
        Err(code) => return code,
    };
    let existed = matches!(store.account(municipality, name), Ok(Some(_)));
    if let Err(e) = store.put_account(account) {
        return fail(lang, &e.to_string(), &e.to_string());
    }
    println!(
        "{}",
        match (existed, lang) {
            (false, Lang::De) => format!("Konto {municipality}/{name} angelegt."),
            (true, Lang::De) => format!("Neues Passwort für {municipality}/{name} gesetzt."),
            (false, _) => format!("account {municipality}/{name} added"),
            (true, _) => format!("new password set for {municipality}/{name}"),
        }
    );
    ExitCode::SUCCESS
}

pub fn list(place: &Place, municipality: &str, lang: Lang) -> ExitCode {
    let store = match open(place, lang) {
        Ok(store) => store,
        Err(code) => return code,
    };
    match store.accounts(municipality) {
        Ok(accounts) => {
            for a in &accounts {
                println!("{}\t{}", a.name, a.created_at.format("%Y-%m-%d %H:%M UTC"));
            }
            if accounts.is_empty() {
                eprintln!("{}", say(lang, "Keine Konten.", "no accounts"));
            }
            ExitCode::SUCCESS
        }
        Err(e) => fail(lang, &e.to_string(), &e.to_string()),
    }
}

pub fn remove(place: &Place, municipality: &str, name: &str, lang: Lang) -> ExitCode {
    let store = match open(place, lang) {
        Ok(store) => store,
        Err(code) => return code,
    };
    match store.remove_account(municipality, name) {
        Ok(true) => {
            println!(
                "{}",
                say(
                    lang,
                    &format!("Konto {municipality}/{name} entfernt; seine Sitzungen sind beendet."),
                    &format!("account {municipality}/{name} removed; its sessions are over"),
                )
            );
            ExitCode::SUCCESS
        }
        Ok(false) => {
            eprintln!(
                "{}",
                say(
                    lang,
                    &format!("Ein Konto {municipality}/{name} gibt es nicht."),
                    &format!("there is no account {municipality}/{name}"),
                )
            );
            ExitCode::from(1)
        }
        Err(e) => fail(lang, &e.to_string(), &e.to_string()),
    }
}
