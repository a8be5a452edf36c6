//! Built-in profiles (the files under `profiles/`, embedded in the binary)
//! and lookup of a profile by name or path.

use std::path::{Path, PathBuf};

/// Name and YAML text of every built-in profile.
pub const BUILTIN: &[(&str, &str)] = &[
    (
        "aws-standard",
        include_str!("../../profiles/aws-standard.yaml"),
    ),
    (
        "aws-existing-network",
        include_str!("../../profiles/aws-existing-network.yaml"),
    ),
    (
        "gcp-standard",
        include_str!("../../profiles/gcp-standard.yaml"),
    ),
    (
        "existing-cluster",
        include_str!("../../profiles/existing-cluster.yaml"),
    ),
    ("airgapped", include_str!("../../profiles/airgapped.yaml")),
    ("sandbox", include_str!("../../profiles/sandbox.yaml")),
];

/// Where a profile comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Builtin(&'static str, &'static str),
    File(PathBuf),
}

/// Resolves a profile reference: a path (contains `/` or ends in `.yaml`/
/// `.yml`, relative to the spec's folder) or a built-in name.
pub fn find(reference: &str, spec_dir: &Path) -> Option<Source> {
    if reference.contains('/') || reference.ends_with(".yaml") || reference.ends_with(".yml") {
        return Some(Source::File(spec_dir.join(reference)));
    }
    BUILTIN
        .iter()
        .find(|(n, _)| *n == reference)
        .map(|(n, t)| Source::Builtin(n, t))
}

pub fn names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(n, _)| *n).collect()
}

/// What a built-in profile is for: its opening comment's first sentence.
pub fn summary(name: &str) -> Option<String> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    let comment: Vec<&str> = text
        .lines()
        .map_while(|l| l.strip_prefix('#'))
        .map(str::trim)
        .collect();
    let joined = comment.join(" ");
    let body = joined
        .strip_prefix(&format!("{name}:"))
        .unwrap_or(&joined)
        .trim();
    let first = body.split(". ").next().unwrap_or(body);
    Some(first.trim_end_matches('.').to_string())
}
