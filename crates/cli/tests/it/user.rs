//! `baukasten user add|list|remove`: the inbox's accounts, with the password from standard
//! input.

use std::io::Write;
use std::process::{Command, Stdio};

use baukasten_store::{RedbStore, Store};

use crate::{baukasten, scratch, stdout};

fn add(dir: &std::path::Path, name: &str, password: &str) -> std::process::Output {
    add_to(dir, &["--data", "data"], name, password)
}

/// `user add` with `place` naming the store (`--data …` or `--store …`).
fn add_to(dir: &std::path::Path, place: &[&str], name: &str, password: &str) -> std::process::Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_baukasten"))
        .args(["user", "add"])
        .args(place)
        .args(["--municipality", "musterstadt", name])
        .current_dir(dir)
        .env("LANG", "de_DE.UTF-8")
        .env_remove("LC_ALL")
        .env_remove("LC_MESSAGES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{password}\n").as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

#[test]
fn accounts_are_added_listed_and_removed_with_the_password_from_standard_input() {
    let dir = scratch("user");
    let out = add(&dir, "erika", "ein-langes-passwort-2026");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout(&out), "Konto musterstadt/erika angelegt.\n");
    let again = add(&dir, "erika", "ein-anderes-passwort-2026");
    assert_eq!(stdout(&again), "Neues Passwort für musterstadt/erika gesetzt.\n");
    let short = add(&dir, "max", "kurz");
    assert_eq!(short.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&short.stderr).contains("mindestens 12 Zeichen"),
        "{}",
        String::from_utf8_lossy(&short.stderr)
    );

    let list = baukasten(
        &["user", "list", "--data", "data", "--municipality", "musterstadt"],
        &dir,
        "de_DE.UTF-8",
    );
    assert!(stdout(&list).starts_with("erika\t"), "{}", stdout(&list));
    assert_eq!(stdout(&list).lines().count(), 1, "max was refused");

    // The stored hash is argon2id and the new password's; the password is nowhere in the file.
    {
        let store = RedbStore::open(&dir.join("data/baukasten.redb")).unwrap();
        let account = store.account("musterstadt", "erika").unwrap().unwrap();
        assert!(account.password_hash.starts_with("$argon2id$"));
        assert!(baukasten_server::backoffice::verify(
            "ein-anderes-passwort-2026",
            &account.password_hash
        ));
    }
    let file = std::fs::read(dir.join("data/baukasten.redb")).unwrap();
    assert!(!file.windows(8).any(|w| w == b"passwort"), "no password in the store");

    let removed = baukasten(
        &[
            "user",
            "remove",
            "--data",
            "data",
            "--municipality",
            "musterstadt",
            "erika",
        ],
        &dir,
        "en_GB.UTF-8",
    );
    assert_eq!(
        stdout(&removed),
        "account musterstadt/erika removed; its sessions are over\n"
    );
    let missing = baukasten(
        &[
            "user",
            "remove",
            "--data",
            "data",
            "--municipality",
            "musterstadt",
            "erika",
        ],
        &dir,
        "en_GB.UTF-8",
    );
    assert_eq!(missing.status.code(), Some(1));
}

/// With `--store`, the accounts are in the database the instances share (also while they run).
#[test]
fn accounts_go_into_the_shared_database_with_store() {
    let schema = crate::store::Schema::new("user_store");
    let url = schema.url();
    let dir = scratch("user-store");
    let out = add_to(&dir, &["--store", &url], "erika", "ein-langes-passwort-2026");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!dir.join("data").exists(), "nothing in a data folder");
    let list = baukasten(
        &["user", "list", "--store", &url, "--municipality", "musterstadt"],
        &dir,
        "de_DE.UTF-8",
    );
    assert!(stdout(&list).starts_with("erika\t"), "{}", stdout(&list));
    let store = baukasten_store_pg::PgStore::open(&url).unwrap();
    let account = store.account("musterstadt", "erika").unwrap().unwrap();
    assert!(account.password_hash.starts_with("$argon2id$"));
}
