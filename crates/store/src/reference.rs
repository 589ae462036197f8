//! Short random identifiers that people read aloud and type: reference numbers such as
//! `BPA-2026-7K3Q9`, resume codes such as `K7Q3-M9XA`, and the long hexadecimal ids of drafts
//! and attachments.
//!
//! The characters come from [`ALPHABET`], which leaves out everything that is easily mistaken
//! for something else when read from a letter or spoken on the phone (`0`/`O`, `1`/`I`/`L`)
//! and `U`, so that no accidental words appear. Randomness comes from the operating system
//! (`getrandom`). This module only makes candidates; uniqueness is the store's job, which
//! checks every candidate inside the write transaction that stores it.

use crate::{ErrorKind, StoreError};

/// The characters of reference numbers and resume codes: digits 2–9 and the capital letters
/// without `I`, `L`, `O` and `U` (30 characters, about 4.9 bits each).
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";

/// How many random characters a reference number has at first. 30^5 is about 24 million
/// numbers per prefix and year; the store widens the random part when a year gets crowded.
pub const REFERENCE_CHARS: usize = 5;

/// How many characters a resume code has (without its dash).
pub(crate) const RESUME_CODE_CHARS: usize = 8;

/// A new reference number candidate, e.g. `BPA-2026-7K3Q9`.
///
/// The prefix is upper-cased and stripped of anything but ASCII letters and digits, so that a
/// reference is always safe in a URL and a file name; an empty prefix becomes `BK`. The store
/// checks uniqueness; this function only draws the random part.
pub fn new_reference(prefix: &str, year: i32) -> String {
    // The operating system's generator does not fail on the platforms we run on; if it ever
    // did, a clock-derived fallback still gives a usable candidate, because references are
    // identifiers, not secrets, and the store rejects duplicates anyway.
    let random = random_chars(REFERENCE_CHARS).unwrap_or_else(|_| fallback_chars(REFERENCE_CHARS));
    format_reference(prefix, year, &random)
}

/// Like [`new_reference`] with `chars` random characters, failing instead of falling back
/// when the operating system's generator fails.
pub fn try_new_reference(prefix: &str, year: i32, chars: usize) -> Result<String, StoreError> {
    Ok(format_reference(prefix, year, &random_chars(chars)?))
}

fn format_reference(prefix: &str, year: i32, random: &str) -> String {
    let mut clean: String = prefix
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect();
    if clean.is_empty() {
        clean.push_str("BK");
    }
    format!("{clean}-{year}-{random}")
}

/// A new resume code such as `K7Q3-M9XA`: eight characters from [`ALPHABET`] (about 39
/// bits) with a dash in the middle for reading.
pub fn new_resume_code() -> Result<String, StoreError> {
    let chars = random_chars(RESUME_CODE_CHARS)?;
    let (left, right) = chars.split_at(RESUME_CODE_CHARS / 2);
    Ok(format!("{left}-{right}"))
}

/// The form under which a resume code is looked up: upper case, without spaces and dashes.
/// `None` when what is left cannot be a resume code, so a typo never reaches the database.
pub fn normalize_resume_code(code: &str) -> Option<String> {
    let normalized: String = code
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = normalized.len() == RESUME_CODE_CHARS && normalized.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(normalized)
}

/// A new id of 128 random bits as 32 lower-case hexadecimal digits. Ids of drafts travel in
/// cookies and ids of attachments in URLs, so they must be unguessable: there is no fallback
/// if the operating system's generator fails.
pub fn new_id() -> Result<String, StoreError> {
    let mut bytes = [0u8; 16];
    fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// `n` characters drawn uniformly from [`ALPHABET`].
fn random_chars(n: usize) -> Result<String, StoreError> {
    // Rejection sampling: a byte below 240 (= 8 × 30) maps evenly onto the 30 characters;
    // the larger ones are thrown away, so that no character is more likely than another.
    const LIMIT: u8 = (256 / ALPHABET.len() * ALPHABET.len()) as u8;
    let mut out = String::with_capacity(n);
    let mut bytes = [0u8; 16];
    while out.len() < n {
        fill(&mut bytes)?;
        for &b in bytes.iter().filter(|&&b| b < LIMIT) {
            if out.len() == n {
                break;
            }
            out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
        }
    }
    Ok(out)
}

fn fallback_chars(n: usize) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    // A 64-bit mix (splitmix64's finaliser) spreads the clock and the counter over all digits.
    let mut x = nanos ^ COUNTER.fetch_add(1, Ordering::Relaxed).rotate_left(32);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (0..n)
        .map(|_| {
            let c = ALPHABET[(x % ALPHABET.len() as u64) as usize] as char;
            x /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

fn fill(bytes: &mut [u8]) -> Result<(), StoreError> {
    getrandom::fill(bytes).map_err(|e| StoreError {
        kind: ErrorKind::Io,
        detail: format!("the operating system's random number generator failed: {e}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_have_the_documented_shape() {
        for _ in 0..200 {
            let r = new_reference("BPA", 2026);
            let (head, random) = r.rsplit_once('-').unwrap();
            assert_eq!(head, "BPA-2026");
            assert_eq!(random.len(), REFERENCE_CHARS);
            assert!(random.bytes().all(|b| ALPHABET.contains(&b)), "{r}");
        }
    }

    #[test]
    fn prefixes_are_made_safe() {
        assert!(new_reference("bp/a ", 2026).starts_with("BPA-2026-"));
        assert!(new_reference("", 2026).starts_with("BK-2026-"));
    }

    #[test]
    fn the_alphabet_has_no_ambiguous_characters() {
        for c in b"01ILOU" {
            assert!(!ALPHABET.contains(c), "{}", *c as char);
        }
        let mut sorted = ALPHABET.to_vec();
        sorted.dedup();
        assert_eq!(sorted.len(), ALPHABET.len());
    }

    #[test]
    fn every_character_is_drawn() {
        let drawn = random_chars(2000).unwrap();
        for c in ALPHABET {
            assert!(drawn.as_bytes().contains(c), "{} never drawn", *c as char);
        }
        assert_eq!(fallback_chars(5).len(), 5);
    }

    #[test]
    fn resume_codes_are_normalized_for_lookup() {
        let code = new_resume_code().unwrap();
        assert_eq!(code.len(), RESUME_CODE_CHARS + 1);
        assert_eq!(&code[4..5], "-");
        assert_eq!(normalize_resume_code(" k7q3 - m9xa "), Some("K7Q3M9XA".to_owned()));
        assert_eq!(normalize_resume_code("K7Q3-M9X"), None);
        assert_eq!(normalize_resume_code("K7Q3-M9X0"), None);
    }

    #[test]
    fn ids_are_128_bits_of_hex() {
        let id = new_id().unwrap();
        assert_eq!(id.len(), 32);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert_ne!(id, new_id().unwrap());
    }
}
