//! Who may sign in to the back office. Today accounts with a password (argon2id) kept in the
//! store; an OpenID Connect login can take the place of [`Passwords`] behind [`SignIn`]
//! without the inbox noticing.

use std::sync::LazyLock;

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use baukasten_store::{Account, Store, StoreError};
use chrono::{DateTime, Utc};

/// A clerk as a login provider vouches for them: the municipality and the account's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub tenant: String,
    pub name: String,
}

/// A way to sign in. `check` answers `None` for anything that is not a valid sign-in, never
/// saying whether the name or the password was wrong.
pub trait SignIn: Send + Sync {
    fn check(&self, tenant: &str, name: &str, password: &str) -> Result<Option<Identity>, StoreError>;
}

/// Accounts in the store, each with an argon2id hash of its password.
pub struct Passwords<'a> {
    pub store: &'a dyn Store,
}

/// A hash checked against when the account does not exist, so that an unknown name takes as
/// long as a wrong password (no probing for names by timing): of a random password, made once.
static DECOY: LazyLock<String> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    let _ = getrandom::fill(&mut secret);
    Argon2::default()
        .hash_password(&secret)
        .map(|h| h.to_string())
        .unwrap_or_default()
});

impl SignIn for Passwords<'_> {
    fn check(&self, tenant: &str, name: &str, password: &str) -> Result<Option<Identity>, StoreError> {
        let account = self.store.account(tenant, name)?;
        let hash = account.as_ref().map_or(DECOY.as_str(), |a| a.password_hash.as_str());
        let matches = verify(password, hash);
        Ok(account.filter(|_| matches).map(|a| Identity {
            tenant: a.tenant,
            name: a.name,
        }))
    }
}

/// Whether `password` matches a PHC string of argon2; a malformed hash matches nothing.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
}

/// Why a password is not taken for an account.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordProblem {
    #[error("the password must have at least {0} characters")]
    TooShort(usize),
    #[error("the password cannot be hashed: {0}")]
    Hash(String),
}

/// The shortest password an account may have (BSI's basic protection asks for length over
/// composition rules).
pub const MIN_PASSWORD: usize = 12;

/// A new account with the argon2id hash of `password` (a random salt, the crate's default
/// parameters: 19 MiB, 2 passes).
pub fn account(tenant: &str, name: &str, password: &str, now: DateTime<Utc>) -> Result<Account, PasswordProblem> {
    if password.chars().count() < MIN_PASSWORD {
        return Err(PasswordProblem::TooShort(MIN_PASSWORD));
    }
    let hash = Argon2::default()
        .hash_password(password.as_bytes())
        .map_err(|e| PasswordProblem::Hash(e.to_string()))?
        .to_string();
    Ok(Account {
        tenant: tenant.to_string(),
        name: name.to_string(),
        password_hash: hash,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_nothing_else_does() {
        let account = account("musterstadt", "erika", "richtig-langes-passwort", Utc::now()).unwrap();
        assert!(account.password_hash.starts_with("$argon2id$"));
        assert!(verify("richtig-langes-passwort", &account.password_hash));
        assert!(!verify("falsch-langes-passwort", &account.password_hash));
        assert!(!verify("richtig-langes-passwort", "not a hash"));
        // The decoy is a well-formed hash that no password of ours matches.
        assert!(DECOY.starts_with("$argon2id$"));
        assert!(!verify("", &DECOY));
    }

    #[test]
    fn short_passwords_are_refused() {
        assert_eq!(
            account("m", "n", "zu-kurz", Utc::now()).unwrap_err(),
            PasswordProblem::TooShort(MIN_PASSWORD)
        );
    }
}
