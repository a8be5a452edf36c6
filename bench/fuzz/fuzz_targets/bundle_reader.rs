//! The bundle reader under libFuzzer: any bytes, read as a bundle (plain or
//! zstd tar), must give a checked manifest or a `BundleError`, never a
//! panic; and extraction must write nothing outside its folder. The
//! stable, bounded version of this check is tests/it/bundle_fuzz.rs.

#![no_main]

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use libfuzzer_sys::fuzz_target;
use liftoff::bundle::Silent;
use liftoff::bundle::archive::{Mode, read_from};

static RUN: AtomicU64 = AtomicU64::new(0);

fuzz_target!(|data: &[u8]| {
    let name = Path::new("fuzz.tar");
    if let Err(e) = read_from(Box::new(data), name, data.len() as u64, Mode::Verify, None, &Silent) {
        assert!(!e.to_string().is_empty());
    }
    let n = RUN.fetch_add(1, Ordering::Relaxed);
    let outer = std::env::temp_dir().join(format!("liftoff-fuzz-bundle-{}-{n}", std::process::id()));
    let inner = outer.join("inner");
    std::fs::create_dir_all(&inner).unwrap();
    let _ = read_from(Box::new(data), name, data.len() as u64, Mode::Extract(&inner), None, &Silent);
    let beside: Vec<_> = std::fs::read_dir(&outer)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p != &inner)
        .collect();
    assert!(beside.is_empty(), "written outside the folder: {beside:?}");
    std::fs::remove_dir_all(&outer).unwrap();
});
