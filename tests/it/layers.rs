//! The shape of the source tree: no import loop between the top-level
//! modules of `src/`, and an engine (`src/plan`) that knows no cloud, no
//! phase and no command line.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its comments (line comments only: liftoff
/// uses no block comments).
fn code(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The top-level module a file belongs to (`src/plan/apply.rs` -> `plan`).
fn module_of(path: &Path) -> String {
    let rel = path.strip_prefix(src()).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn no_import_loop_between_top_level_modules() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let modules: BTreeSet<String> = files.iter().map(|f| module_of(f)).collect();
    let mut deps: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let from = module_of(f);
        let text = code(f);
        for (i, _) in text.match_indices("crate::") {
            let name: String = text[i + 7..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if name != from && modules.contains(&name) {
                deps.entry(from.clone()).or_default().insert(name);
            }
        }
    }
    // Depth-first search for a path back to where it started.
    fn reaches(
        deps: &BTreeMap<String, BTreeSet<String>>,
        from: &str,
        target: &str,
        seen: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> bool {
        for next in deps.get(from).into_iter().flatten() {
            path.push(next.clone());
            if next == target
                || (seen.insert(next.clone()) && reaches(deps, next, target, seen, path))
            {
                return true;
            }
            path.pop();
        }
        false
    }
    for m in &modules {
        let mut path = vec![m.clone()];
        assert!(
            !reaches(&deps, m, m, &mut BTreeSet::new(), &mut path),
            "import loop: {}",
            path.join(" -> ")
        );
    }
}

#[test]
fn the_engine_knows_no_cloud_phase_or_command_line() {
    let mut files = Vec::new();
    rust_files(&src().join("plan"), &mut files);
    for f in files {
        let text = code(&f);
        for word in [
            "\"aws.",
            "\"gcp.",
            "\"cluster.",
            "\"dns.",
            "crate::cluster",
            "crate::providers",
            "crate::compose",
            "crate::cli",
            "crate::state",
            "aws_sdk_s3",
            "reqwest",
            "clap",
        ] {
            assert!(!text.contains(word), "{} mentions {word}", f.display());
        }
    }
}

#[test]
fn only_the_state_module_talks_to_state_storage() {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    for f in files {
        if module_of(&f) == "state" {
            continue;
        }
        let text = code(&f);
        for word in [
            "aws_sdk_s3",
            "storage/v1",
            "If-None-Match",
            "ifGenerationMatch",
        ] {
            assert!(!text.contains(word), "{} mentions {word}", f.display());
        }
    }
}
