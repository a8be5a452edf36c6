//! The checks on a certificate chain and its key: key type and match, host
//! names, validity dates, and the order and links of the chain.

use std::path::Path;

use rsa::pkcs8::DecodePublicKey;
use x509_parser::certificate::X509Certificate;
use x509_parser::error::X509Error;
use x509_parser::extensions::GeneralName;

use super::read::{self, Key, KeyKind};
use super::{EXPIRY_WARNING_DAYS, Material, TlsError};

pub(super) struct Options<'a> {
    pub base_domain: &'a str,
    pub allow_ecdsa: bool,
    /// Unix seconds.
    pub now: i64,
    /// As the spec names them (for messages).
    pub cert_path: &'a Path,
    pub key_path: &'a Path,
    /// `caFile`, when given: a private CA's root (and intermediates).
    pub ca_path: Option<&'a Path>,
    /// Where the certificate file really is: an out-of-order chain is
    /// written reordered next to it.
    pub reorder_to: Option<&'a Path>,
}

pub(super) fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// `2026-01-31 12:00:00 UTC`
pub(super) fn format_time(unix: i64) -> String {
    match time::OffsetDateTime::from_unix_timestamp(unix) {
        Ok(t) => format!(
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
            t.year(),
            t.month() as u8,
            t.day(),
            t.hour(),
            t.minute(),
            t.second()
        ),
        Err(_) => format!("unix time {unix}"),
    }
}

fn key_matches(key: &KeyKind, cert: &X509Certificate) -> bool {
    let spki = cert.public_key();
    match key {
        KeyKind::Rsa(public) => rsa::RsaPublicKey::from_public_key_der(spki.raw)
            .is_ok_and(|cert_key| &cert_key == public),
        KeyKind::Ec(Some(point)) => *spki.subject_public_key.data == point[..],
        KeyKind::Ec(None) => false,
    }
}

/// The DNS names a certificate is for: its subjectAltName entries. A
/// certificate without the extension is refused: browsers and Go clients
/// ignore the common name.
fn dns_names(cert: &X509Certificate) -> Result<Vec<String>, TlsError> {
    match cert.subject_alternative_name() {
        Ok(Some(san)) => Ok(san
            .value
            .general_names
            .iter()
            .filter_map(|n| match n {
                GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect()),
        _ => Err(TlsError::MissingSan {
            subject: subject(cert),
        }),
    }
}

/// Whether the certificate name `pattern` (maybe `*.x`) matches `host`
/// (maybe itself the wildcard `*.x`, which only the same wildcard covers).
pub(crate) fn covers(pattern: &str, host: &str) -> bool {
    let pattern = pattern.trim_end_matches('.').to_ascii_lowercase();
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if pattern == host {
        return true;
    }
    match pattern.strip_prefix("*.") {
        Some(suffix) if !host.starts_with("*.") => host
            .split_once('.')
            .is_some_and(|(label, rest)| !label.is_empty() && rest == suffix),
        _ => false,
    }
}

fn self_signed(cert: &X509Certificate) -> bool {
    cert.subject().as_raw() == cert.issuer().as_raw() && cert.verify_signature(None).is_ok()
}

/// `der` equals `content`, or is `content` with its tag and length in front
/// (trust anchors store names and keys without them).
fn same_der(der: &[u8], content: &[u8]) -> bool {
    der == content || der.ends_with(content) && der.len() - content.len() <= 4
}

/// Whether `cert` is one of the publicly trusted roots browsers ship.
fn publicly_trusted(cert: &X509Certificate) -> bool {
    let spki = cert.public_key().raw;
    webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .any(|anchor| same_der(spki, anchor.subject_public_key_info.as_ref()))
}

/// Whether `cert` names a publicly trusted root as its issuer.
fn issued_by_public_root(cert: &X509Certificate) -> bool {
    let issuer = cert.issuer().as_raw();
    webpki_roots::TLS_SERVER_ROOTS
        .iter()
        .any(|anchor| same_der(issuer, anchor.subject.as_ref()))
}

fn subject(cert: &X509Certificate) -> String {
    cert.subject().to_string()
}

/// Checks the chain of `blocks` (certFile) and `key`; `ca_blocks` (caFile)
/// may complete the chain up to a private root, which the platform is then
/// told to trust.
pub(super) fn check(
    blocks: &[pem::Pem],
    ca_blocks: &[pem::Pem],
    key: &Key,
    o: &Options,
) -> Result<Material, TlsError> {
    // certFile's certificates first (indices 0..n), then caFile's.
    let n = blocks.len();
    let mut certs = blocks
        .iter()
        .enumerate()
        .map(|(i, b)| read::parse(o.cert_path, i, b))
        .collect::<Result<Vec<_>, _>>()?;
    for (i, b) in ca_blocks.iter().enumerate() {
        certs.push(read::parse(o.ca_path.unwrap_or(o.cert_path), i, b)?);
    }
    let block = |i: usize| if i < n { &blocks[i] } else { &ca_blocks[i - n] };
    let mut warnings = Vec::new();

    // An RSA key of 2048 bits at least.
    if let KeyKind::Rsa(public) = &key.kind {
        use rsa::traits::PublicKeyParts;
        let bits = public.n().bits();
        if bits < 2048 {
            return Err(TlsError::WeakKey {
                path: o.key_path.into(),
                bits,
            });
        }
    }

    // The key: RSA unless ECDSA is explicitly allowed.
    if matches!(key.kind, KeyKind::Ec(_)) {
        if !o.allow_ecdsa {
            return Err(TlsError::EcdsaKey {
                path: o.key_path.into(),
            });
        }
        if matches!(key.kind, KeyKind::Ec(None)) {
            return Err(TlsError::BadKey {
                path: o.key_path.into(),
                detail: "a SEC1 `EC PRIVATE KEY` cannot be matched to the certificate; convert it with `openssl pkcs8 -topk8 -nocrypt`".into(),
            });
        }
        warnings.push(
            "the key is ECDSA (allowed by platform.tls.allowEcdsa): the platform's registry may reject it"
                .into(),
        );
    }

    // The leaf is the certificate of the key.
    let Some(leaf) = certs[..n].iter().position(|c| key_matches(&key.kind, c)) else {
        return Err(TlsError::KeyMismatch {
            cert: o.cert_path.into(),
            key: o.key_path.into(),
            subject: subject(&certs[0]),
        });
    };

    // It covers the wildcard and the base domain.
    let names = dns_names(&certs[leaf])?;
    let wanted = [format!("*.{}", o.base_domain), o.base_domain.to_string()];
    let missing: Vec<String> = wanted
        .iter()
        .filter(|host| !names.iter().any(|n| covers(n, host)))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(TlsError::WrongHost {
            subject: subject(&certs[leaf]),
            missing,
            names,
        });
    }

    // The chain: from the leaf, each certificate followed by its issuer.
    let mut chain = vec![leaf];
    loop {
        let cur = *chain.last().expect("chain starts with the leaf");
        let cert = &certs[cur];
        if self_signed(cert) {
            break;
        }
        let candidates: Vec<usize> = (0..certs.len())
            .filter(|i| {
                !chain.contains(i) && certs[*i].subject().as_raw() == cert.issuer().as_raw()
            })
            .collect();
        let Some(&first) = candidates.first() else {
            break;
        };
        let mut next = None;
        for &i in &candidates {
            match cert.verify_signature(Some(certs[i].public_key())) {
                Ok(()) => {
                    next = Some(i);
                    break;
                }
                Err(X509Error::SignatureUnsupportedAlgorithm) => {
                    warnings.push(format!(
                        "the signature of certificate #{} `{}` uses an algorithm liftoff cannot verify; it was linked to its issuer by name only",
                        cur + 1,
                        subject(cert)
                    ));
                    next = Some(i);
                    break;
                }
                Err(_) => {}
            }
        }
        match next {
            Some(i) => chain.push(i),
            None => {
                return Err(TlsError::BadSignature {
                    index: cur + 1,
                    subject: subject(cert),
                    issuer_index: first + 1,
                    issuer: subject(&certs[first]),
                });
            }
        }
    }
    let last = *chain.last().expect("non-empty");
    let unlinked: Vec<usize> = (0..n).filter(|i| !chain.contains(i)).collect();
    if !unlinked.is_empty() {
        return Err(TlsError::MissingLink {
            path: o.cert_path.into(),
            index: last + 1,
            subject: subject(&certs[last]),
            issuer: certs[last].issuer().to_string(),
            unlinked: unlinked
                .iter()
                .map(|&i| format!("#{} {}", i + 1, subject(&certs[i])))
                .collect(),
        });
    }
    // What the platform serves: certFile's chain, then any intermediates
    // only caFile had; a root is never served.
    let ordered = || {
        chain
            .iter()
            .filter(|&&i| i < n || !self_signed(&certs[i]))
            .map(|&i| read::encode(block(i)))
            .collect::<String>()
    };
    let from_file: Vec<usize> = chain.iter().copied().filter(|&i| i < n).collect();
    if from_file.iter().enumerate().any(|(pos, &i)| pos != i) {
        let order = from_file
            .iter()
            .map(|&i| format!("#{} `{}`", i + 1, subject(&certs[i])))
            .collect::<Vec<_>>()
            .join(" → ");
        let reordered = o.reorder_to.and_then(|p| {
            let stem = p.file_stem()?.to_string_lossy().into_owned();
            let out = p.with_file_name(format!("{stem}.reordered.pem"));
            std::fs::write(&out, ordered()).ok()?;
            Some(match o.cert_path.parent() {
                Some(dir) => dir.join(out.file_name()?),
                None => out.file_name()?.into(),
            })
        });
        return Err(TlsError::OutOfOrder {
            path: o.cert_path.into(),
            order,
            reordered,
        });
    }

    // Every certificate is valid now; warn when one ends soon.
    for &i in &chain {
        let v = certs[i].validity();
        let (from, to) = (v.not_before.timestamp(), v.not_after.timestamp());
        if from > o.now {
            return Err(TlsError::NotYetValid {
                index: i + 1,
                subject: subject(&certs[i]),
                not_before: format_time(from),
            });
        }
        if to < o.now {
            return Err(TlsError::Expired {
                index: i + 1,
                subject: subject(&certs[i]),
                not_after: format_time(to),
            });
        }
        let days = (to - o.now) / 86_400;
        if days < EXPIRY_WARNING_DAYS {
            warnings.push(format!(
                "certificate #{} `{}` expires on {} (in {days} days): renew it soon",
                i + 1,
                subject(&certs[i]),
                format_time(to)
            ));
        }
    }

    let root = &certs[last];
    let private_ca_pem = if self_signed(root) && !publicly_trusted(root) {
        if chain.len() == 1 {
            warnings.push(
                "the certificate is self-signed: browsers and clients trust it only if it is installed on their machines"
                    .into(),
            );
        }
        Some(read::encode(block(last)))
    } else if !self_signed(root) && !issued_by_public_root(root) {
        // A private CA whose root is not given: the platform could not
        // trust the chain, nor could clients.
        return Err(match o.ca_path {
            Some(ca) => TlsError::CaFileUnrelated {
                ca: ca.into(),
                cert: o.cert_path.into(),
                issuer: root.issuer().to_string(),
            },
            None => TlsError::UntrustedChain {
                path: o.cert_path.into(),
                index: last + 1,
                subject: subject(root),
                issuer: root.issuer().to_string(),
            },
        });
    } else {
        if chain.len() == 1 {
            warnings.push(format!(
                "{} holds only the leaf certificate: add the intermediate certificates after it, or some clients will not trust it",
                o.cert_path.display()
            ));
        }
        None
    };
    if let Some(ca) = o.ca_path
        && !chain.iter().any(|&i| i >= n)
        && private_ca_pem.is_none()
    {
        warnings.push(format!(
            "{} is not needed: the chain in {} ends at a publicly trusted root",
            ca.display(),
            o.cert_path.display()
        ));
    }

    Ok(Material {
        chain_pem: ordered(),
        key_pem: key.pem.clone(),
        private_ca_pem,
        self_signed: false,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_cover_one_label() {
        assert!(covers("*.astro.example.com", "*.astro.example.com"));
        assert!(covers("*.example.com", "astro.example.com"));
        assert!(covers("Astro.Example.com", "astro.example.com"));
        assert!(!covers("*.example.com", "*.astro.example.com"));
        assert!(!covers("*.example.com", "a.astro.example.com"));
        assert!(!covers("astro.example.com", "*.astro.example.com"));
        assert!(!covers("*.astro.example.com", "astro.example.com"));
    }

    #[test]
    fn times_are_printed_in_utc() {
        assert_eq!(format_time(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_time(1_767_225_600), "2026-01-01 00:00:00 UTC");
    }
}
