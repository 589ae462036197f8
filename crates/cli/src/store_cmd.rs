//! `baukasten store verify --data DIR`: reads every record of a data folder's store and checks
//! it, while the server is stopped. Prints each damaged record with its table and key; exit 1
//! if there is one, 2 if the store cannot be opened.

use std::path::Path;
use std::process::ExitCode;

use baukasten_dsl::Lang;
use baukasten_store::RedbStore;

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
