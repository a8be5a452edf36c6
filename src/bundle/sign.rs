//! The manifest's ed25519 signature: keys are PKCS#8 / SPKI PEM files (what
//! `openssl genpkey -algorithm ed25519` writes, or `liftoff bundle keygen`);
//! the signature file holds the 64-byte signature in base64.

use std::path::Path;

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};

use super::BundleError;
use crate::secret::Redacted;

/// The key that checks a bundle's signature.
pub type PublicKey = VerifyingKey;

fn key_error(path: &Path, reason: impl std::fmt::Display) -> BundleError {
    BundleError::Key {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// Reads an ed25519 private key (PKCS#8 PEM).
pub fn read_private(path: &Path) -> Result<Redacted<SigningKey>, BundleError> {
    let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
    SigningKey::from_pkcs8_pem(&text)
        .map(Redacted::new)
        .map_err(|e| {
            key_error(
                path,
                format!("not an ed25519 private key in PKCS#8 PEM: {e}"),
            )
        })
}

/// Reads an ed25519 public key (SPKI PEM, `-----BEGIN PUBLIC KEY-----`).
pub fn read_public(path: &Path) -> Result<PublicKey, BundleError> {
    let text = std::fs::read_to_string(path).map_err(|e| key_error(path, e))?;
    VerifyingKey::from_public_key_pem(&text)
        .map_err(|e| key_error(path, format!("not an ed25519 public key in PEM: {e}")))
}

/// The signature of `message`, in base64.
pub fn sign(key: &Redacted<SigningKey>, message: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(key.expose().sign(message).to_bytes())
}

/// Checks `signature` (base64) over `message`.
pub fn verify(key: &PublicKey, message: &[u8], signature: &str) -> Result<(), String> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(signature.trim())
        .map_err(|_| "the signature file is not base64".to_string())?;
    let sig = Signature::from_slice(&bytes)
        .map_err(|_| "the signature file does not hold an ed25519 signature".to_string())?;
    key.verify_strict(message, &sig)
        .map_err(|_| "the signature does not match the manifest and this public key".to_string())
}

/// A new key pair as (private PKCS#8 PEM, public SPKI PEM).
pub fn generate() -> (Redacted<String>, String) {
    use ring::rand::SecureRandom as _;
    let mut seed = [0u8; 32];
    ring::rand::SystemRandom::new()
        .fill(&mut seed)
        .expect("the system's random source works");
    let key = SigningKey::from_bytes(&seed);
    let private = key
        .to_pkcs8_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .expect("an ed25519 key encodes");
    let public = key
        .verifying_key()
        .to_public_key_pem(ed25519_dalek::pkcs8::spki::der::pem::LineEnding::LF)
        .expect("an ed25519 key encodes");
    (Redacted::new(private.to_string()), public)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify() {
        let (private, public) = generate();
        let key = Redacted::new(SigningKey::from_pkcs8_pem(private.expose()).unwrap());
        let public = VerifyingKey::from_public_key_pem(&public).unwrap();
        let sig = sign(&key, b"manifest");
        assert!(verify(&public, b"manifest", &sig).is_ok());
        assert!(verify(&public, b"manifest2", &sig).is_err());
        assert!(verify(&public, b"manifest", "@@").is_err());
    }
}
