//! Reading PEM files: the certificates of `certFile` and the private key of
//! `keyFile`, with clear errors for garbage, encrypted keys and key types
//! the platform cannot use.

use std::path::Path;

use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, PrivateKeyInfo};
use x509_parser::certificate::X509Certificate;
use x509_parser::prelude::FromDer;

use super::TlsError;
use crate::secret::Redacted;

const OID_RSA: &str = "1.2.840.113549.1.1.1";
const OID_EC: &str = "1.2.840.10045.2.1";
const OID_ED25519: &str = "1.3.101.112";
const OID_ED448: &str = "1.3.101.113";

/// The public half of the private key, to match against a certificate.
pub(super) enum KeyKind {
    Rsa(rsa::RsaPublicKey),
    /// ECDSA: the public point, when the key file carries it in a form we read.
    Ec(Option<Vec<u8>>),
}

pub(super) struct Key {
    pub kind: KeyKind,
    /// The key block, PEM.
    pub pem: Redacted<String>,
}

fn pem_blocks(field: &'static str, path: &Path, bytes: &[u8]) -> Result<Vec<pem::Pem>, TlsError> {
    let not_pem = |detail: String| TlsError::NotPem {
        field,
        path: path.into(),
        detail,
    };
    if let Some(tag) = truncated_block(bytes) {
        return Err(TlsError::Truncated {
            field,
            path: path.into(),
            tag,
        });
    }
    let blocks = pem::parse_many(bytes).map_err(|e| not_pem(e.to_string()))?;
    if blocks.is_empty() {
        return Err(not_pem("no `-----BEGIN ...-----` block found".into()));
    }
    Ok(blocks)
}

/// The label of a `-----BEGIN X-----` line with no `-----END X-----` after
/// it: the file was cut short (a partial copy, a paste that lost its end).
fn truncated_block(bytes: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(bytes);
    let mut open: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(tag) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|r| r.strip_suffix("-----"))
        {
            if open.is_some() {
                return open;
            }
            open = Some(tag.to_string());
        } else if let Some(tag) = line
            .strip_prefix("-----END ")
            .and_then(|r| r.strip_suffix("-----"))
            && open.as_deref() == Some(tag)
        {
            open = None;
        }
    }
    open
}

/// The `CERTIFICATE` blocks of `bytes`, in file order, each checked to parse.
/// `field` names the spec field the file comes from (`certFile`, `caFile`).
pub(super) fn certificates(
    field: &'static str,
    path: &Path,
    bytes: &[u8],
) -> Result<Vec<pem::Pem>, TlsError> {
    let certs: Vec<_> = pem_blocks(field, path, bytes)?
        .into_iter()
        .filter(|b| b.tag() == "CERTIFICATE")
        .collect();
    if certs.is_empty() {
        return Err(TlsError::NoCertificate {
            field,
            path: path.into(),
        });
    }
    for (i, c) in certs.iter().enumerate() {
        parse(path, i, c)?;
    }
    Ok(certs)
}

/// Parses the `i`-th (0-based) certificate block.
pub(super) fn parse<'a>(
    path: &Path,
    i: usize,
    block: &'a pem::Pem,
) -> Result<X509Certificate<'a>, TlsError> {
    let bad = |detail: String| TlsError::BadCertificate {
        path: path.into(),
        index: i + 1,
        detail,
    };
    match X509Certificate::from_der(block.contents()) {
        Ok((rest, _)) if !rest.is_empty() => Err(bad(format!(
            "{} stray bytes after the certificate",
            rest.len()
        ))),
        Ok((_, cert)) => Ok(cert),
        Err(_) => Err(bad("it is not a DER-encoded X.509 certificate".into())),
    }
}

/// The private key block of `bytes`: exactly one.
pub(super) fn private_key(path: &Path, bytes: &[u8]) -> Result<Key, TlsError> {
    let blocks = pem_blocks("keyFile", path, bytes)?;
    let keys: Vec<&pem::Pem> = blocks
        .iter()
        .filter(|b| b.tag().ends_with("PRIVATE KEY"))
        .collect();
    let block = match keys.as_slice() {
        [] => return Err(TlsError::NoKey { path: path.into() }),
        [one] => *one,
        more => {
            return Err(TlsError::SeveralKeys {
                path: path.into(),
                count: more.len(),
            });
        }
    };
    let bad = |detail: String| TlsError::BadKey {
        path: path.into(),
        detail,
    };
    let encrypted = block.tag() == "ENCRYPTED PRIVATE KEY"
        || block
            .headers()
            .get("Proc-Type")
            .is_some_and(|v| v.contains("ENCRYPTED"));
    if encrypted {
        return Err(TlsError::EncryptedKey { path: path.into() });
    }
    let der = block.contents();
    let kind = match block.tag() {
        "RSA PRIVATE KEY" => rsa::RsaPrivateKey::from_pkcs1_der(der)
            .map(|k| KeyKind::Rsa(k.to_public_key()))
            .map_err(|e| bad(e.to_string()))?,
        "EC PRIVATE KEY" => KeyKind::Ec(None),
        "PRIVATE KEY" => {
            let info = PrivateKeyInfo::try_from(der).map_err(|e| bad(e.to_string()))?;
            match info.algorithm.oid.to_string().as_str() {
                OID_RSA => rsa::RsaPrivateKey::from_pkcs8_der(der)
                    .map(|k| KeyKind::Rsa(k.to_public_key()))
                    .map_err(|e| bad(e.to_string()))?,
                OID_EC => KeyKind::Ec(ec_public_point(der)),
                OID_ED25519 => return Err(unsupported(path, "Ed25519")),
                OID_ED448 => return Err(unsupported(path, "Ed448")),
                other => return Err(unsupported(path, &format!("of algorithm {other}"))),
            }
        }
        other => return Err(bad(format!("unsupported key format `{other}`"))),
    };
    Ok(Key {
        kind,
        pem: Redacted::new(encode(block)),
    })
}

fn unsupported(path: &Path, algorithm: &str) -> TlsError {
    TlsError::UnsupportedKey {
        path: path.into(),
        algorithm: algorithm.into(),
    }
}

/// The public point of a PKCS#8 ECDSA key (P-256 or P-384).
fn ec_public_point(der: &[u8]) -> Option<Vec<u8>> {
    use ring::signature::{
        ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING, EcdsaKeyPair, KeyPair,
    };
    let rng = ring::rand::SystemRandom::new();
    [
        &ECDSA_P256_SHA256_ASN1_SIGNING,
        &ECDSA_P384_SHA384_ASN1_SIGNING,
    ]
    .into_iter()
    .find_map(|alg| EcdsaKeyPair::from_pkcs8(alg, der, &rng).ok())
    .map(|k| k.public_key().as_ref().to_vec())
}

/// One PEM block with LF line endings.
pub(super) fn encode(block: &pem::Pem) -> String {
    pem::encode_config(
        block,
        pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF),
    )
}
