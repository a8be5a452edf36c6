//! Certificate checks against certificates generated here with rcgen: a good
//! chain, then a table of bad ones, each with its exact message.

use std::path::Path;
use std::sync::OnceLock;

use liftoff::tls::{self, TlsError};
use rcgen::{
    BasicConstraints, Certificate, CertificateParams, DistinguishedName, DnType, IsCa, Issuer,
    KeyPair,
};
use time::{Duration, OffsetDateTime};

const DOMAIN: &str = "astro.example.com";

/// Two RSA keys, generated once (RSA generation is the slow part).
fn rsa_pem(n: usize) -> KeyPair {
    static KEYS: OnceLock<Vec<String>> = OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        (0..2)
            .map(|_| tls::rsa_key().unwrap().serialize_pem())
            .collect()
    });
    KeyPair::from_pem(&keys[n]).unwrap()
}

fn dn(cn: &str) -> DistinguishedName {
    let mut d = DistinguishedName::new();
    d.push(DnType::CommonName, cn);
    d
}

struct Ca {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
}

fn ca(cn: &str, parent: Option<&Ca>) -> Ca {
    let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
    p.distinguished_name = dn(cn);
    p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap(); // ECDSA P-256: CAs need not be RSA
    let cert = match parent {
        Some(parent) => p.signed_by(&key, &parent.issuer).unwrap(),
        None => p.self_signed(&key).unwrap(),
    };
    Ca {
        cert,
        issuer: Issuer::new(p, key),
    }
}

struct Leaf<'a> {
    names: Vec<String>,
    key: &'a KeyPair,
    not_before: OffsetDateTime,
    not_after: OffsetDateTime,
}

impl<'a> Leaf<'a> {
    fn new(key: &'a KeyPair) -> Self {
        let now = OffsetDateTime::now_utc();
        Leaf {
            names: vec![format!("*.{DOMAIN}"), DOMAIN.into()],
            key,
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(300),
        }
    }
    fn sign(&self, by: &Ca) -> Certificate {
        let mut p = CertificateParams::new(self.names.clone()).unwrap();
        p.distinguished_name = dn(&self.names[0]);
        p.not_before = self.not_before;
        p.not_after = self.not_after;
        p.signed_by(self.key, &by.issuer).unwrap()
    }
}

struct Pki {
    root: Ca,
    intermediate: Ca,
}

fn pki() -> Pki {
    let root = ca("Test Root CA", None);
    let intermediate = ca("Test Intermediate CA", Some(&root));
    Pki { root, intermediate }
}

/// A spec on the existing-cluster profile using `cert` and `key` in `dir`.
fn spec_with(dir: &Path, cert: &str, key: &str, extra_tls: &str) -> liftoff::spec::Loaded {
    let cert_name = "cert.pem";
    std::fs::write(dir.join(cert_name), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
    let text = format!(
        "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata:\n  name: tls-test\nplatform:\n  baseDomain: {DOMAIN}\n  tls:\n    certFile: {cert_name}\n    keyFile: key.pem\n{extra_tls}"
    );
    std::fs::write(dir.join("liftoff.yaml"), &text).unwrap();
    liftoff::spec::load(&dir.join("liftoff.yaml")).unwrap()
}

fn load(cert: &str, key: &str) -> Result<tls::Material, TlsError> {
    let dir = tempfile::tempdir().unwrap();
    let loaded = spec_with(dir.path(), cert, key, "");
    tls::load(&loaded.spec, &loaded.base_dir)
}

fn leak_free(e: &TlsError, key: &str) {
    let body: String = key.lines().nth(2).unwrap_or_default().into();
    let all = format!("{e} {e:?} {:?}", e.hint());
    assert!(
        !body.is_empty() && !all.contains(&body),
        "key material in {all}"
    );
}

#[test]
fn a_good_chain_with_a_private_root_loads_and_never_shows_its_key() {
    let p = pki();
    let key = rsa_pem(0);
    let leaf = Leaf::new(&key).sign(&p.intermediate);
    let chain = format!(
        "{}{}{}",
        leaf.pem(),
        p.intermediate.cert.pem(),
        p.root.cert.pem()
    );
    let m = load(&chain, &key.serialize_pem()).unwrap();
    assert_eq!(
        m.chain_pem.replace("\r\n", "\n"),
        chain.replace("\r\n", "\n")
    );
    assert_eq!(m.key_pem.expose().trim(), key.serialize_pem().trim());
    assert_eq!(
        m.private_ca_pem.as_deref().map(str::trim),
        Some(p.root.cert.pem().trim())
    );
    assert!(!m.self_signed);
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    assert_eq!(format!("{:?}", m.key_pem), "(redacted)");
    assert!(!format!("{m:?}").contains(key.serialize_pem().lines().nth(1).unwrap()));
}

#[test]
fn a_chain_stopping_short_of_a_private_root_is_refused_unless_ca_file_gives_it() {
    let p = pki();
    let key = rsa_pem(0);
    let leaf = Leaf::new(&key).sign(&p.intermediate);
    let want = |last: usize, subject: &str, issuer: &str| {
        format!(
            "the chain in cert.pem ends at #{last} `{subject}`, issued by `{issuer}`, which is neither in the file nor a publicly trusted root"
        )
    };
    let e = load(
        &format!("{}{}", leaf.pem(), p.intermediate.cert.pem()),
        &key.serialize_pem(),
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        want(2, "CN=Test Intermediate CA", "CN=Test Root CA")
    );
    assert!(e.hint().unwrap().contains("platform.tls.caFile"));
    assert_eq!(e.field(), "platform.tls.certFile");
    let e = load(&leaf.pem(), &key.serialize_pem()).unwrap_err();
    assert_eq!(
        e.to_string(),
        want(1, &format!("CN=*.{DOMAIN}"), "CN=Test Intermediate CA")
    );

    // The private root given apart: the chain is complete, the root is what
    // the platform is told to trust, and it is not served.
    let with_ca = |chain: &str, ca: &str| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
        let loaded = spec_with(
            dir.path(),
            chain,
            &key.serialize_pem(),
            "    caFile: ca.pem\n",
        );
        tls::load(&loaded.spec, &loaded.base_dir)
    };
    let chain = format!("{}{}", leaf.pem(), p.intermediate.cert.pem());
    let m = with_ca(&chain, &p.root.cert.pem()).unwrap();
    assert_eq!(
        m.chain_pem.replace("\r\n", "\n"),
        chain.replace("\r\n", "\n")
    );
    assert_eq!(
        m.private_ca_pem.as_deref().map(str::trim),
        Some(p.root.cert.pem().trim())
    );
    assert!(m.warnings.is_empty(), "{:?}", m.warnings);
    // An intermediate only the CA file has is served after the leaf.
    let m = with_ca(
        &leaf.pem(),
        &format!("{}{}", p.root.cert.pem(), p.intermediate.cert.pem()),
    )
    .unwrap();
    assert_eq!(
        m.chain_pem.replace("\r\n", "\n"),
        chain.replace("\r\n", "\n")
    );
    assert_eq!(
        m.private_ca_pem.as_deref().map(str::trim),
        Some(p.root.cert.pem().trim())
    );
    // A CA file of another CA.
    let other = ca("Other Root CA", None);
    let e = with_ca(&chain, &other.cert.pem()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "ca.pem does not hold `CN=Test Root CA`, the issuer the chain in cert.pem ends at"
    );
    assert_eq!(e.field(), "platform.tls.caFile");
}

#[test]
fn a_directory_is_said_to_be_one() {
    let p = pki();
    let key = rsa_pem(0);
    let dir = tempfile::tempdir().unwrap();
    let leaf = Leaf::new(&key).sign(&p.intermediate);
    let loaded = spec_with(
        dir.path(),
        &format!(
            "{}{}{}",
            leaf.pem(),
            p.intermediate.cert.pem(),
            p.root.cert.pem()
        ),
        &key.serialize_pem(),
        "",
    );
    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    std::fs::create_dir(dir.path().join("key.pem")).unwrap();
    let e = tls::load(&loaded.spec, &loaded.base_dir).unwrap_err();
    assert_eq!(e.to_string(), "key.pem is a directory, not a file");
    assert_eq!(e.field(), "platform.tls.keyFile");
}

#[test]
fn a_certificate_ending_soon_draws_a_warning() {
    let p = pki();
    let key = rsa_pem(0);
    let mut leaf = Leaf::new(&key);
    leaf.not_after = OffsetDateTime::now_utc() + Duration::days(10) - Duration::hours(1);
    let chain = format!(
        "{}{}{}",
        leaf.sign(&p.intermediate).pem(),
        p.intermediate.cert.pem(),
        p.root.cert.pem()
    );
    let m = load(&chain, &key.serialize_pem()).unwrap();
    assert_eq!(m.warnings.len(), 1, "{:?}", m.warnings);
    let w = &m.warnings[0];
    assert!(
        w.starts_with(&format!("certificate #1 `CN=*.{DOMAIN}` expires on ")),
        "{w}"
    );
    assert!(w.ends_with("(in 9 days): renew it soon"), "{w}");
}

#[test]
fn ecdsa_is_accepted_only_when_allowed() {
    let p = pki();
    let key = KeyPair::generate().unwrap();
    let chain = format!(
        "{}{}{}",
        Leaf::new(&key).sign(&p.intermediate).pem(),
        p.intermediate.cert.pem(),
        p.root.cert.pem()
    );
    let dir = tempfile::tempdir().unwrap();
    let loaded = spec_with(
        dir.path(),
        &chain,
        &key.serialize_pem(),
        "    allowEcdsa: true\n",
    );
    let m = tls::load(&loaded.spec, &loaded.base_dir).unwrap();
    assert_eq!(
        m.warnings,
        vec![
            "the key is ECDSA (allowed by platform.tls.allowEcdsa): the platform's registry may reject it"
        ]
    );
}

#[test]
fn an_out_of_order_chain_is_written_reordered() {
    let p = pki();
    let key = rsa_pem(0);
    let leaf = Leaf::new(&key).sign(&p.intermediate);
    let reversed = format!(
        "{}{}{}",
        p.root.cert.pem(),
        p.intermediate.cert.pem(),
        leaf.pem()
    );
    let dir = tempfile::tempdir().unwrap();
    let loaded = spec_with(dir.path(), &reversed, &key.serialize_pem(), "");
    let e = tls::load(&loaded.spec, &loaded.base_dir).unwrap_err();
    assert_eq!(
        e.hint().unwrap(),
        "a copy in the right order was written to cert.reordered.pem; point certFile at it"
    );
    let fixed = std::fs::read_to_string(dir.path().join("cert.reordered.pem")).unwrap();
    let m = load(&fixed, &key.serialize_pem()).unwrap();
    assert!(m.chain_pem.starts_with(&leaf.pem().replace("\r\n", "\n")));
}

#[test]
fn tls_problems_point_at_the_spec_lines() {
    let p = pki();
    let key = rsa_pem(0);
    let other = rsa_pem(1);
    let chain = format!(
        "{}{}",
        Leaf::new(&key).sign(&p.intermediate).pem(),
        p.intermediate.cert.pem()
    );
    let dir = tempfile::tempdir().unwrap();
    let loaded = spec_with(dir.path(), &chain, &other.serialize_pem(), "");
    let d = tls::diagnose(&loaded.spec, &loaded.tree, &loaded.base_dir);
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].path, "platform.tls.certFile");
    // certFile is on line 9 of the spec written by spec_with.
    assert_eq!(d[0].pos.line, 9);
    assert!(d[0].message.contains("does not match"));

    std::fs::write(dir.path().join("key.pem"), "junk").unwrap();
    let d = tls::diagnose(&loaded.spec, &loaded.tree, &loaded.base_dir);
    assert_eq!(d[0].path, "platform.tls.keyFile");
    assert_eq!(d[0].pos.line, 10);
}

/// How to make each bad certificate (chain PEM, key PEM), and its message.
type Case = (&'static str, fn(&Pki) -> (String, String), String);

fn cases() -> Vec<Case> {
    vec![
        (
            "expired",
            |p| {
                let key = rsa_pem(0);
                let mut l = Leaf::new(&key);
                l.not_before = rcgen::date_time_ymd(2019, 1, 1);
                l.not_after = rcgen::date_time_ymd(2020, 1, 1);
                (format!("{}{}", l.sign(&p.intermediate).pem(), p.intermediate.cert.pem()), key.serialize_pem())
            },
            format!("certificate #1 `CN=*.{DOMAIN}` expired on 2020-01-01 00:00:00 UTC"),
        ),
        (
            "not yet valid",
            |p| {
                let key = rsa_pem(0);
                let mut l = Leaf::new(&key);
                l.not_before = rcgen::date_time_ymd(2099, 1, 1);
                l.not_after = rcgen::date_time_ymd(2100, 1, 1);
                (format!("{}{}", l.sign(&p.intermediate).pem(), p.intermediate.cert.pem()), key.serialize_pem())
            },
            format!("certificate #1 `CN=*.{DOMAIN}` is not valid before 2099-01-01 00:00:00 UTC"),
        ),
        (
            "wrong host",
            |p| {
                let key = rsa_pem(0);
                let mut l = Leaf::new(&key);
                l.names = vec!["*.example.org".into(), "example.org".into()];
                (format!("{}{}", l.sign(&p.intermediate).pem(), p.intermediate.cert.pem()), key.serialize_pem())
            },
            format!("the certificate `CN=*.example.org` does not cover `*.{DOMAIN}`, `{DOMAIN}`; it names `*.example.org`, `example.org`"),
        ),
        (
            "wildcard without the base domain",
            |p| {
                let key = rsa_pem(0);
                let mut l = Leaf::new(&key);
                l.names = vec![format!("*.{DOMAIN}")];
                (format!("{}{}", l.sign(&p.intermediate).pem(), p.intermediate.cert.pem()), key.serialize_pem())
            },
            format!("the certificate `CN=*.{DOMAIN}` does not cover `{DOMAIN}`; it names `*.{DOMAIN}`"),
        ),
        (
            "key not matching",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                (format!("{}{}", l.pem(), p.intermediate.cert.pem()), rsa_pem(1).serialize_pem())
            },
            format!("the private key in key.pem does not match the certificate `CN=*.{DOMAIN}` in cert.pem"),
        ),
        (
            "ECDSA",
            |p| {
                let key = KeyPair::generate().unwrap();
                let l = Leaf::new(&key).sign(&p.intermediate);
                (format!("{}{}", l.pem(), p.intermediate.cert.pem()), key.serialize_pem())
            },
            "the private key in key.pem is ECDSA; the platform needs an RSA key".into(),
        ),
        (
            "reversed chain",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                (format!("{}{}{}", p.root.cert.pem(), p.intermediate.cert.pem(), l.pem()), key.serialize_pem())
            },
            format!("the certificates in cert.pem are out of order; the chain is #3 `CN=*.{DOMAIN}` → #2 `CN=Test Intermediate CA` → #1 `CN=Test Root CA`"),
        ),
        (
            "missing intermediate",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                (format!("{}{}", l.pem(), p.root.cert.pem()), key.serialize_pem())
            },
            format!("the chain in cert.pem is broken: certificate #1 `CN=*.{DOMAIN}` is issued by `CN=Test Intermediate CA`, which is not in the file (left over: `#2 CN=Test Root CA`)"),
        ),
        (
            "impostor issuer",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                let impostor = ca("Test Intermediate CA", Some(&p.root));
                (format!("{}{}{}", l.pem(), impostor.cert.pem(), p.root.cert.pem()), key.serialize_pem())
            },
            format!("certificate #1 `CN=*.{DOMAIN}` is not signed by certificate #2 `CN=Test Intermediate CA`, although it names it as issuer"),
        ),
        (
            "RSA key below 2048 bits",
            |p| {
                use rsa::pkcs8::EncodePrivateKey as _;
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                let weak = rsa::RsaPrivateKey::new(&mut rsa::rand_core::OsRng, 1024).unwrap();
                let pem = weak.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap().to_string();
                (format!("{}{}{}", l.pem(), p.intermediate.cert.pem(), p.root.cert.pem()), pem)
            },
            "the RSA key in key.pem has 1024 bits; at least 2048 are needed".into(),
        ),
        (
            "no subjectAltName",
            |p| {
                let key = rsa_pem(0);
                let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
                params.distinguished_name = dn(&format!("*.{DOMAIN}"));
                let l = params.signed_by(&key, &p.intermediate.issuer).unwrap();
                (format!("{}{}{}", l.pem(), p.intermediate.cert.pem(), p.root.cert.pem()), key.serialize_pem())
            },
            format!("the certificate `CN=*.{DOMAIN}` has no subjectAltName: the SAN is missing (browsers and Go clients ignore the common name)"),
        ),
        (
            "truncated PEM",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate).pem();
                (l[..l.len() / 2].to_string(), key.serialize_pem())
            },
            "cert.pem is truncated: the `-----BEGIN CERTIFICATE-----` block has no `-----END CERTIFICATE-----` line".into(),
        ),
        (
            "two keys in the key file",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                (
                    format!("{}{}{}", l.pem(), p.intermediate.cert.pem(), p.root.cert.pem()),
                    format!("{}{}", key.serialize_pem(), rsa_pem(1).serialize_pem()),
                )
            },
            "key.pem holds 2 private keys; liftoff needs exactly the certificate's one".into(),
        ),
        (
            "garbage PEM",
            |_| ("this is not a certificate\n".into(), rsa_pem(0).serialize_pem()),
            "cert.pem is not PEM: no `-----BEGIN ...-----` block found".into(),
        ),
        (
            "garbage inside a certificate block",
            |_| (
                "-----BEGIN CERTIFICATE-----\naGVsbG8gd29ybGQ=\n-----END CERTIFICATE-----\n".into(),
                rsa_pem(0).serialize_pem(),
            ),
            "certificate #1 in cert.pem cannot be parsed: it is not a DER-encoded X.509 certificate".into(),
        ),
        (
            "a key file without a key",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                (l.pem(), l.pem())
            },
            "key.pem holds no private key".into(),
        ),
        (
            "passphrase-encrypted key (PKCS#8)",
            |p| {
                use pkcs8::EncodePrivateKey as _;
                use rsa::pkcs8::DecodePrivateKey as _;
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                let private = rsa::RsaPrivateKey::from_pkcs8_der(key.serialized_der()).unwrap();
                // PBKDF2 rather than the default scrypt, which is slow unoptimized.
                let params = pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(
                    2048, b"saltsalt", b"0123456789abcdef",
                )
                .unwrap();
                let plain = private.to_pkcs8_der().unwrap();
                let encrypted = pkcs8::PrivateKeyInfo::try_from(plain.as_bytes())
                    .unwrap()
                    .encrypt_with_params(params, "s3cret")
                    .unwrap();
                let pem = encrypted
                    .to_pem("ENCRYPTED PRIVATE KEY", pkcs8::LineEnding::LF)
                    .unwrap();
                (format!("{}{}", l.pem(), p.intermediate.cert.pem()), pem.to_string())
            },
            "the private key in key.pem is encrypted with a passphrase".into(),
        ),
        (
            "passphrase-encrypted key (OpenSSL legacy)",
            |p| {
                let key = rsa_pem(0);
                let l = Leaf::new(&key).sign(&p.intermediate);
                let legacy = "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,3F17F5316E2BAC89BD5A4A6F2C4A4F3A\n\nbm90IHJlYWxseSBhIGtleSwgZW5jcnlwdGVkIGJ5dGVz\n-----END RSA PRIVATE KEY-----\n";
                (format!("{}{}", l.pem(), p.intermediate.cert.pem()), legacy.into())
            },
            "the private key in key.pem is encrypted with a passphrase".into(),
        ),
    ]
}

#[test]
fn bad_certificates_are_refused_with_their_exact_message() {
    let p = pki();
    let mut failures = Vec::new();
    for (name, make, want) in cases() {
        let (chain, key) = make(&p);
        let got = match load(&chain, &key) {
            Ok(_) => {
                failures.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => {
                if key.contains("PRIVATE KEY") && !key.contains("ENCRYPTED") {
                    leak_free(&e, &key);
                }
                assert!(e.hint().is_some(), "{name}: no hint");
                e.to_string()
            }
        };
        if got != want {
            failures.push(format!("{name}:\n  want: {want}\n   got: {got}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn hints_say_what_to_do() {
    let p = pki();
    let hint = |case: &str| {
        let (_, make, _) = cases().into_iter().find(|c| c.0 == case).unwrap();
        let (chain, key) = make(&p);
        load(&chain, &key).unwrap_err().hint().unwrap()
    };
    assert!(hint("ECDSA").contains("allowEcdsa: true"));
    assert!(
        hint("passphrase-encrypted key (PKCS#8)")
            .contains("openssl pkey -in key.pem -out key.decrypted.pem")
    );
    assert!(hint("missing intermediate").contains("`CN=Test Intermediate CA`"));
}

#[test]
fn the_sandbox_certificate_passes_the_same_checks() {
    let m = tls::self_signed_wildcard(DOMAIN).unwrap();
    assert!(m.self_signed);
    assert!(m.warnings[0].starts_with(&format!(
        "generated a self-signed wildcard certificate for *.{DOMAIN}"
    )));
    // Written out and read back as files, it is a good chain with a private root.
    let back = load(&m.chain_pem, m.key_pem.expose()).unwrap();
    assert_eq!(back.private_ca_pem, m.private_ca_pem);
    assert!(back.warnings.is_empty(), "{:?}", back.warnings);
    assert!(m.key_pem.expose().contains("BEGIN PRIVATE KEY"));
    assert!(!m.chain_pem.contains("PRIVATE KEY"));
}
