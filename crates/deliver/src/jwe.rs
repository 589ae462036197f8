//! Compact JWE (RFC 7516) as FIT-Connect wants it: the content key wrapped with RSA-OAEP-256
//! (RFC 7518 §4.3: OAEP with SHA-256 and MGF1 with SHA-256) for the destination's public key,
//! the content encrypted with A256GCM (§5.3), the protected header as additional data.
//!
//! Only encryption: the destination's back office decrypts. The tests decrypt with the
//! private key they made, and CI's check decrypts with `jwcrypto`, an implementation that is
//! not ours.

use aes_gcm::aead::{AeadInOut, KeyInit};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use rsa::traits::PublicKeyParts;
use rsa::{BoxedUint, PublicKey};
use serde::Deserialize;
use serde_json::json;

/// The smallest RSA modulus FIT-Connect allows for a destination's encryption key.
pub const MIN_KEY_BITS: u32 = 4096;

/// A destination's public encryption key, checked.
#[derive(Debug, Clone)]
pub struct EncryptionKey {
    pub kid: String,
    key: PublicKey,
}

/// The members of a JWK (RFC 7517) this sender looks at.
#[derive(Debug, Deserialize)]
struct Jwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    alg: Option<String>,
    #[serde(default)]
    key_ops: Option<Vec<String>>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
}

impl EncryptionKey {
    /// Reads a destination's key from its JWK, refusing anything FIT-Connect does not allow
    /// for encryption: another key type or algorithm, a key not meant for wrapping keys, a
    /// modulus under [`MIN_KEY_BITS`] bits, or a `kid` other than the destination named.
    pub fn from_jwk(jwk: &serde_json::Value, expected_kid: &str) -> Result<EncryptionKey, String> {
        let jwk: Jwk =
            serde_json::from_value(jwk.clone()).map_err(|e| format!("the destination's key is not a JWK: {e}"))?;
        if jwk.kty != "RSA" {
            return Err(format!("the destination's key is of type `{}`, not RSA", jwk.kty));
        }
        if let Some(kid) = &jwk.kid
            && kid != expected_kid
        {
            return Err(format!(
                "the destination names the key `{expected_kid}`, but the key served is `{kid}`"
            ));
        }
        if let Some(alg) = jwk.alg.as_deref()
            && alg != "RSA-OAEP-256"
        {
            return Err(format!("the destination's key is for `{alg}`, not RSA-OAEP-256"));
        }
        let ops = jwk.key_ops.unwrap_or_default();
        if !ops.iter().any(|op| op == "wrapKey") {
            return Err(format!(
                "the destination's key is not for wrapping keys (key_ops {ops:?}, expected [\"wrapKey\"])"
            ));
        }
        let number = |name: &str, value: Option<String>| -> Result<Vec<u8>, String> {
            let value = value.ok_or_else(|| format!("the destination's key has no `{name}`"))?;
            B64.decode(value.trim_end_matches('='))
                .map_err(|e| format!("the destination's key has a malformed `{name}`: {e}"))
        };
        let n = number("n", jwk.n)?;
        let e = number("e", jwk.e)?;
        let bits = modulus_bits(&n);
        if bits < MIN_KEY_BITS {
            return Err(format!(
                "the destination's key has {bits} bits; FIT-Connect requires RSA keys of at least {MIN_KEY_BITS}"
            ));
        }
        let key = PublicKey::new(
            BoxedUint::from_be_slice_vartime(&n),
            BoxedUint::from_be_slice_vartime(&e),
        )
        .map_err(|e| format!("the destination's key is not a valid RSA key: {e}"))?;
        Ok(EncryptionKey {
            kid: expected_kid.to_string(),
            key,
        })
    }

    /// For tests that make their own key.
    pub fn new(kid: impl Into<String>, key: PublicKey) -> Self {
        EncryptionKey { kid: kid.into(), key }
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> u32 {
        self.key.n().bit_width()
    }

    /// `plaintext` as a compact JWE for this key, with `cty` naming its media type.
    pub fn encrypt(&self, cty: &str, plaintext: &[u8]) -> Result<String, String> {
        let header = json!({
            "alg": "RSA-OAEP-256",
            "enc": "A256GCM",
            "kid": self.kid,
            "cty": cty,
        });
        let header = B64.encode(serde_json::to_vec(&header).map_err(|e| e.to_string())?);
        let mut cek = [0u8; 32];
        let mut iv = [0u8; 12];
        getrandom::fill(&mut cek).map_err(|e| format!("no random numbers: {e}"))?;
        getrandom::fill(&mut iv).map_err(|e| format!("no random numbers: {e}"))?;
        let wrapped = self
            .key
            .oaep_encrypt::<sha2::Sha256>(&cek)
            .map_err(|e| format!("the content key cannot be wrapped: {e}"))?;
        let cipher = Aes256Gcm::new_from_slice(&cek).map_err(|e| e.to_string())?;
        let mut ciphertext = plaintext.to_vec();
        let tag = cipher
            .encrypt_inout_detached(&Nonce::from(iv), header.as_bytes(), ciphertext.as_mut_slice().into())
            .map_err(|_| "the content cannot be encrypted".to_string())?;
        Ok(format!(
            "{header}.{}.{}.{}.{}",
            B64.encode(wrapped),
            B64.encode(iv),
            B64.encode(&ciphertext),
            B64.encode(tag)
        ))
    }
}

/// A key that verifies signatures (the event log's PS512 tokens), from its JWK: RSA, at least
/// [`MIN_KEY_BITS`] bits, and, where it says what it is for, for `verify`.
pub fn verifying_key(jwk: &serde_json::Value) -> Result<PublicKey, String> {
    let jwk: Jwk = serde_json::from_value(jwk.clone()).map_err(|e| format!("the signing key is not a JWK: {e}"))?;
    if jwk.kty != "RSA" {
        return Err(format!("the signing key is of type `{}`, not RSA", jwk.kty));
    }
    if let Some(ops) = &jwk.key_ops
        && !ops.iter().any(|op| op == "verify")
    {
        return Err(format!("the signing key is not for verifying (key_ops {ops:?})"));
    }
    let number = |name: &str, value: Option<String>| -> Result<Vec<u8>, String> {
        let value = value.ok_or_else(|| format!("the signing key has no `{name}`"))?;
        B64.decode(value.trim_end_matches('='))
            .map_err(|e| format!("the signing key has a malformed `{name}`: {e}"))
    };
    let (n, e) = (number("n", jwk.n)?, number("e", jwk.e)?);
    let bits = modulus_bits(&n);
    if bits < MIN_KEY_BITS {
        return Err(format!(
            "the signing key has {bits} bits; at least {MIN_KEY_BITS} are required"
        ));
    }
    PublicKey::new(
        BoxedUint::from_be_slice_vartime(&n),
        BoxedUint::from_be_slice_vartime(&e),
    )
    .map_err(|e| format!("the signing key is not a valid RSA key: {e}"))
}

/// The number of significant bits of a big-endian unsigned number.
fn modulus_bits(n: &[u8]) -> u32 {
    let mut bytes = n.iter().skip_while(|b| **b == 0);
    match bytes.next() {
        Some(first) => (8 - first.leading_zeros()) + 8 * bytes.count() as u32,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::aead::AeadInOut;
    use rsa::PrivateKey;

    /// Undoes [`EncryptionKey::encrypt`] with the private key: what a destination does.
    fn decrypt(private: &PrivateKey, jwe: &str) -> (serde_json::Value, Vec<u8>) {
        let parts: Vec<&str> = jwe.split('.').collect();
        assert_eq!(parts.len(), 5, "compact serialisation has five parts");
        let header: serde_json::Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
        let cek = private
            .oaep_decrypt::<sha2::Sha256>(&B64.decode(parts[1]).unwrap())
            .unwrap();
        let iv: [u8; 12] = B64.decode(parts[2]).unwrap().try_into().unwrap();
        let mut content = B64.decode(parts[3]).unwrap();
        let tag = B64.decode(parts[4]).unwrap();
        let cipher = Aes256Gcm::new_from_slice(&cek).unwrap();
        cipher
            .decrypt_inout_detached(
                &Nonce::from(iv),
                parts[0].as_bytes(),
                content.as_mut_slice().into(),
                tag.as_slice().try_into().unwrap(),
            )
            .expect("the tag verifies");
        (header, content)
    }

    fn private_key(bits: usize) -> PrivateKey {
        PrivateKey::new(&mut rsa::rand_core::UnwrapErr(getrandom::SysRng), bits).unwrap()
    }

    fn jwk(key: &PublicKey, kid: &str, ops: &[&str]) -> serde_json::Value {
        json!({
            "kty": "RSA", "kid": kid, "alg": "RSA-OAEP-256", "key_ops": ops,
            "n": B64.encode(key.n().to_be_bytes_trimmed_vartime()),
            "e": B64.encode(key.e().to_be_bytes_trimmed_vartime()),
        })
    }

    #[test]
    fn the_destination_decrypts_what_was_encrypted_for_it_and_reads_the_header() {
        let private = private_key(2048);
        let key = EncryptionKey::new("kid-1", private.to_public_key());
        let jwe = key.encrypt("application/json", br#"{"name":"Erika"}"#).unwrap();
        let (header, plain) = decrypt(&private, &jwe);
        assert_eq!(
            header,
            json!({"alg": "RSA-OAEP-256", "enc": "A256GCM", "kid": "kid-1", "cty": "application/json"})
        );
        assert_eq!(plain, br#"{"name":"Erika"}"#);
        // A fresh content key and IV each time: the same content never looks the same.
        let again = key.encrypt("application/json", br#"{"name":"Erika"}"#).unwrap();
        assert_ne!(jwe.split('.').nth(3), again.split('.').nth(3));
    }

    #[test]
    fn a_changed_header_fails_the_tag() {
        let private = private_key(2048);
        let key = EncryptionKey::new("kid-1", private.to_public_key());
        let jwe = key.encrypt("application/pdf", b"%PDF").unwrap();
        let forged_header = B64.encode(br#"{"alg":"RSA-OAEP-256","enc":"A256GCM","kid":"kid-1","cty":"text/plain"}"#);
        let mut parts: Vec<String> = jwe.split('.').map(str::to_string).collect();
        parts[0] = forged_header;
        let cek = private
            .oaep_decrypt::<sha2::Sha256>(&B64.decode(&parts[1]).unwrap())
            .unwrap();
        let cipher = Aes256Gcm::new_from_slice(&cek).unwrap();
        let iv: [u8; 12] = B64.decode(&parts[2]).unwrap().try_into().unwrap();
        let mut content = B64.decode(&parts[3]).unwrap();
        let tag = B64.decode(&parts[4]).unwrap();
        assert!(
            cipher
                .decrypt_inout_detached(
                    &Nonce::from(iv),
                    parts[0].as_bytes(),
                    content.as_mut_slice().into(),
                    tag.as_slice().try_into().unwrap()
                )
                .is_err()
        );
    }

    #[test]
    fn keys_fit_connect_does_not_allow_are_refused_with_the_reason() {
        let weak = private_key(2048).to_public_key();
        let err = EncryptionKey::from_jwk(&jwk(&weak, "k", &["wrapKey"]), "k").unwrap_err();
        assert!(err.contains("2048 bits") && err.contains("4096"), "{err}");

        let mut signing = jwk(&weak, "k", &["verify"]);
        let err = EncryptionKey::from_jwk(&signing, "k").unwrap_err();
        assert!(err.contains("wrapKey"), "{err}");
        signing["kty"] = json!("EC");
        let err = EncryptionKey::from_jwk(&signing, "k").unwrap_err();
        assert!(err.contains("`EC`"), "{err}");

        let err = EncryptionKey::from_jwk(&jwk(&weak, "other", &["wrapKey"]), "k").unwrap_err();
        assert!(err.contains("`other`"), "{err}");
        let err = EncryptionKey::from_jwk(&json!({"kty": "RSA", "key_ops": ["wrapKey"]}), "k").unwrap_err();
        assert!(err.contains("no `n`"), "{err}");
        let err = EncryptionKey::from_jwk(&json!("not a key"), "k").unwrap_err();
        assert!(err.contains("not a JWK"), "{err}");
    }

    #[test]
    fn a_signing_key_must_be_rsa_for_verifying_and_large_enough() {
        let weak = private_key(2048).to_public_key();
        let err = verifying_key(&jwk(&weak, "sig", &["verify"])).unwrap_err();
        assert!(err.contains("2048 bits"), "{err}");
        let err = verifying_key(&jwk(&weak, "sig", &["wrapKey"])).unwrap_err();
        assert!(err.contains("not for verifying"), "{err}");
    }

    #[test]
    fn the_modulus_size_is_counted_from_its_first_set_bit() {
        assert_eq!(modulus_bits(&[0, 0, 1]), 1);
        assert_eq!(modulus_bits(&[0x80, 0, 0]), 24);
        assert_eq!(modulus_bits(&[]), 0);
        let mut n = vec![0u8];
        n.extend([0xC5; 512]);
        assert_eq!(modulus_bits(&n), 4096);
    }
}
