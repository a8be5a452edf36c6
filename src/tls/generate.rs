//! The sandbox's certificate: a throwaway private CA and an RSA wildcard
//! leaf for `*.<baseDomain>` and `<baseDomain>` signed by it. Nothing here
//! is for production: the spec validation allows it on the sandbox profile only.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use rsa::pkcs8::EncodePrivateKey;

use super::{Material, TlsError};
use crate::secret::Redacted;

/// Days the generated certificate is valid.
pub const SANDBOX_DAYS: i64 = 90;

/// A new 2048-bit RSA key pair.
pub fn rsa_key() -> Result<KeyPair, TlsError> {
    let key = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 2048)
        .map_err(|e| TlsError::Generate(Box::new(e)))?;
    let der = key
        .to_pkcs8_der()
        .map_err(|e| TlsError::Generate(Box::new(e)))?;
    KeyPair::try_from(der.as_bytes()).map_err(|e| TlsError::Generate(Box::new(e)))
}

fn name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "liftoff sandbox");
    dn.push(DnType::CommonName, cn);
    dn
}

/// Generates the sandbox's wildcard certificate and its private CA.
pub fn self_signed_wildcard(base_domain: &str) -> Result<Material, TlsError> {
    let err = |e: rcgen::Error| TlsError::Generate(Box::new(e));
    let now = time::OffsetDateTime::now_utc();
    let not_before = now - time::Duration::hours(1);
    let not_after = now + time::Duration::days(SANDBOX_DAYS);

    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(err)?;
    ca.distinguished_name = name(&format!("liftoff sandbox CA for {base_domain}"));
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca_key = rsa_key()?;
    let ca_cert = ca.self_signed(&ca_key).map_err(err)?;
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = CertificateParams::new(vec![format!("*.{base_domain}"), base_domain.into()])
        .map_err(err)?;
    leaf.distinguished_name = name(&format!("*.{base_domain}"));
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.not_before = not_before;
    leaf.not_after = not_after;
    let leaf_key = rsa_key()?;
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer).map_err(err)?;

    Ok(Material {
        chain_pem: format!("{}{}", leaf_cert.pem(), ca_cert.pem()),
        key_pem: Redacted::new(leaf_key.serialize_pem()),
        private_ca_pem: Some(ca_cert.pem()),
        self_signed: true,
        warnings: vec![format!(
            "generated a self-signed wildcard certificate for *.{base_domain} (RSA 2048, valid {SANDBOX_DAYS} days, signed by a throwaway private CA): browsers will warn; for the sandbox only"
        )],
    })
}
