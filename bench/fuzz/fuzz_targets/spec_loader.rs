//! The spec loader under libFuzzer: any bytes, read as a spec by the
//! function `liftoff validate` runs, must give a spec or errors that each
//! have a position and a hint, and never a panic. The stable, bounded
//! version of this check is tests/it/spec_fuzz.rs.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use liftoff::spec::SpecError;

/// A folder holding the certificate and key the seed specs name.
fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("liftoff-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let m = liftoff::tls::self_signed_wildcard("astro.example.com").unwrap();
        std::fs::write(dir.join("cert.pem"), &m.chain_pem).unwrap();
        std::fs::write(dir.join("key.pem"), m.key_pem.expose()).unwrap();
        dir
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Err(err) = liftoff::compose::validate_str("fuzz.yaml", &text, folder()) else {
        return;
    };
    assert!(err.hint().is_some(), "no hint for {err}");
    match &err {
        SpecError::Syntax(e) => assert!(e.pos.line >= 1 && e.pos.col >= 1, "{e}"),
        SpecError::Invalid(d) => {
            assert!(d.errors().count() >= 1, "invalid without errors");
            for d in &d.0 {
                assert!(d.pos.line >= 1 && d.pos.col >= 1 && !d.message.is_empty(), "{d}");
            }
        }
        SpecError::Read { .. } => panic!("text needs no read: {err}"),
    }
});
