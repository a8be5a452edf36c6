//! Fuzzing the bundle reader on stable Rust (issue #10 item 3): proptest
//! feeds it a real small bundle with bytes flipped, cut, inserted, and tar
//! archives built from hostile entries (`..`, absolute paths, links in and
//! out, duplicates, special files), plain and zstd-compressed. Whatever
//! the input, the reader never panics; extraction never writes outside its
//! folder; and what it accepts matches its manifest. A bounded number of
//! cases keeps it to seconds; bench/fuzz has the cargo-fuzz target.

use std::path::{Path, PathBuf};

use liftoff::bundle::archive::{self, Mode, Writer};
use liftoff::bundle::manifest::{ChartEntry, FORMAT, Header, Manifest};
use liftoff::bundle::{BundleError, Silent};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A small valid bundle's bytes.
fn seed() -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.tar");
    let files: [(&str, &[u8]); 3] = [
        ("chart/astronomer-0.37.7.tgz", b"not really a chart"),
        ("images/oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#),
        (
            "images/blobs/sha256/2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824",
            b"hello",
        ),
    ];
    let header = Header {
        format: FORMAT,
        total_bytes: files.iter().map(|(_, d)| d.len() as u64).sum(),
        files: files.len(),
    };
    let mut w = Writer::create(&path, None, &header).unwrap();
    for (name, data) in files {
        w.add_bytes(name, data).unwrap();
    }
    let manifest = Manifest {
        format: FORMAT,
        created_by: "test".into(),
        chart: ChartEntry {
            name: "astronomer".into(),
            version: "0.37.7".into(),
            path: "chart/astronomer-0.37.7.tgz".into(),
            values: None,
            helm: None,
            liftoff: None,
            runtime_versions: None,
        },
        images: Vec::new(),
        blobs: Vec::new(),
        since: None,
        files: w.files().to_vec(),
    };
    w.finish(&serde_json::to_vec(&manifest).unwrap(), None)
        .unwrap();
    std::fs::read(&path).unwrap()
}

fn zstd(bytes: &[u8]) -> Vec<u8> {
    zstd::encode_all(bytes, 1).unwrap()
}

/// Every path under `dir`.
fn tree(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

/// The reader's promises on `bytes`.
fn check(bytes: &[u8]) -> Result<(), TestCaseError> {
    let name = Path::new("fuzz.tar");
    let verified = archive::read_from(
        Box::new(bytes),
        name,
        bytes.len() as u64,
        Mode::Verify,
        None,
        &Silent,
    );
    if let Err(e) = &verified {
        prop_assert!(!e.to_string().is_empty());
        prop_assert!(!format!("{e}").contains("Os {"), "no Debug dump: {e}");
    }
    // Extract into box/inner (everything, or all but the image layout):
    // nothing may appear beside `inner`.
    for but_images in [false, true] {
        let boxed = tempfile::tempdir().unwrap();
        let inner = boxed.path().join("inner");
        std::fs::create_dir(&inner).unwrap();
        let extracted = archive::read_from(
            Box::new(bytes),
            name,
            bytes.len() as u64,
            if but_images {
                Mode::ExtractButImages(&inner)
            } else {
                Mode::Extract(&inner)
            },
            None,
            &Silent,
        );
        let beside: Vec<_> = std::fs::read_dir(boxed.path())
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p != &inner)
            .collect();
        prop_assert!(beside.is_empty(), "written outside the folder: {beside:?}");
        for p in tree(&inner) {
            if let Ok(target) = std::fs::read_link(&p) {
                let resolved = p.parent().unwrap().join(&target);
                let mut depth: i32 = 0;
                for c in resolved.strip_prefix(&inner).unwrap().components() {
                    match c {
                        std::path::Component::ParentDir => depth -= 1,
                        std::path::Component::Normal(_) => depth += 1,
                        _ => depth = -100,
                    }
                    prop_assert!(
                        depth >= 0,
                        "a link out of the folder: {} -> {}",
                        p.display(),
                        target.display()
                    );
                }
            }
        }
        // Verify and extract agree, and what is accepted matches its manifest.
        prop_assert_eq!(
            verified.is_ok(),
            extracted.is_ok(),
            "{:?} / {:?}",
            verified.as_ref().err().map(|e| e.to_string()),
            extracted.as_ref().err().map(|e| e.to_string())
        );
        if let Ok(checked) = extracted {
            for f in &checked.manifest.files {
                if but_images && f.path.starts_with("images/") {
                    prop_assert!(!inner.join(&f.path).exists(), "{} written", f.path);
                    continue;
                }
                let data = std::fs::read(inner.join(&f.path)).unwrap();
                prop_assert_eq!(data.len() as u64, f.size);
            }
        }
    }
    Ok(())
}

fn fuzz(cases: u32, strategy: impl Strategy<Value = Vec<u8>>) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, |bytes| check(&bytes)) {
        panic!("{e}");
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, Vec<u8>),
}

#[test]
fn the_seed_bundle_is_accepted() {
    let bytes = seed();
    let checked = archive::read_from(
        Box::new(&bytes[..]),
        Path::new("b.tar"),
        0,
        Mode::Verify,
        None,
        &Silent,
    )
    .unwrap();
    assert_eq!(checked.manifest.files.len(), 3);
    archive::read_from(
        Box::new(&zstd(&bytes)[..]),
        Path::new("b.tar.zst"),
        0,
        Mode::Verify,
        None,
        &Silent,
    )
    .unwrap();
}

#[test]
fn mutated_bundles_never_panic_and_never_escape() {
    let bytes = seed();
    let len = bytes.len();
    let edit = prop_oneof![
        (0..len, 1u8..=255).prop_map(|(i, x)| Edit::Flip(i, x)),
        (0..len).prop_map(Edit::Cut),
        (0..len, proptest::collection::vec(any::<u8>(), 1..64))
            .prop_map(|(i, v)| Edit::Insert(i, v)),
    ];
    let strategy = (proptest::collection::vec(edit, 1..4), any::<bool>()).prop_map(
        move |(edits, compress)| {
            let mut b = bytes.clone();
            for e in edits {
                match e {
                    Edit::Flip(i, x) => {
                        let at = i % b.len().max(1);
                        if let Some(byte) = b.get_mut(at) {
                            *byte ^= x;
                        }
                    }
                    Edit::Cut(i) => b.truncate(i.min(b.len())),
                    Edit::Insert(i, v) => {
                        let at = i.min(b.len());
                        b.splice(at..at, v);
                    }
                }
            }
            if compress { zstd(&b) } else { b }
        },
    );
    fuzz(300, strategy);
}

/// Entry names and link targets a hostile archive would use.
const NAMES: &[&str] = &[
    "bundle.json",
    "manifest.json",
    "manifest.json.sig",
    "a",
    "a/b",
    "images/x",
    "..",
    "../x",
    "a/../../x",
    "/etc/x",
    "./a",
    "a/./b",
    "link",
    "link/x",
    "a/link",
    "images/blobs/sha256/00",
    "",
    ".",
    "a//b",
];

fn hostile_entry() -> impl Strategy<Value = (usize, u8, usize, Vec<u8>)> {
    (
        0..NAMES.len(),
        0u8..6,
        0..NAMES.len(),
        proptest::collection::vec(any::<u8>(), 0..16),
    )
}

fn raw_tar(entries: &[(usize, u8, usize, Vec<u8>)]) -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    for (name, kind, link, data) in entries {
        let mut h = tar::Header::new_gnu();
        let n = NAMES[*name].as_bytes();
        h.as_gnu_mut().unwrap().name[..n.len()].copy_from_slice(n);
        let l = NAMES[*link].as_bytes();
        h.as_gnu_mut().unwrap().linkname[..l.len()].copy_from_slice(l);
        h.set_entry_type(match kind {
            0 => tar::EntryType::Regular,
            1 => tar::EntryType::Directory,
            2 => tar::EntryType::Symlink,
            3 => tar::EntryType::Link,
            4 => tar::EntryType::Fifo,
            _ => tar::EntryType::Char,
        });
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append(&h, &data[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

#[test]
fn hostile_archives_never_panic_and_never_escape() {
    let strategy = (
        proptest::collection::vec(hostile_entry(), 1..8),
        any::<bool>(),
    )
        .prop_map(|(entries, compress)| {
            let b = raw_tar(&entries);
            if compress { zstd(&b) } else { b }
        });
    fuzz(300, strategy);
}

#[test]
fn errors_are_bundle_errors_with_a_hint() {
    let e: BundleError = archive::read_from(
        Box::new(&b"not a tar at all"[..]),
        Path::new("x"),
        0,
        Mode::Verify,
        None,
        &Silent,
    )
    .unwrap_err();
    assert!(e.hint().is_some(), "{e}");
}
