//! Semantic checks on a spec that parsed: names, CIDRs, zones, domains,
//! files, and options that contradict each other. Every check runs; each
//! finding points at the value it concerns.

mod cloud;
mod platform;

use std::path::Path;

use super::model::*;
use super::yaml::Node;
use super::{CloudRules, Diagnostic, Severity};

pub(super) struct Checker<'a> {
    tree: &'a Node,
    out: Vec<Diagnostic>,
}

impl Checker<'_> {
    pub(super) fn report(
        &mut self,
        severity: Severity,
        path: &str,
        message: impl Into<String>,
        hint: Option<&str>,
    ) {
        // A scalar is pointed at directly; a block at the key that names it.
        let node = self.tree.locate(path);
        let pos = match node.value {
            super::yaml::Value::Scalar { .. } => node.pos.clone(),
            _ => self.tree.key_pos(path).unwrap_or_else(|| node.pos.clone()),
        };
        self.out.push(Diagnostic {
            severity,
            pos,
            path: path.into(),
            message: message.into(),
            hint: hint.map(Into::into),
        });
    }
    pub(super) fn error(&mut self, path: &str, message: impl Into<String>, hint: &str) {
        self.report(
            Severity::Error,
            path,
            message,
            (!hint.is_empty()).then_some(hint),
        );
    }
    pub(super) fn warn(&mut self, path: &str, message: impl Into<String>, hint: &str) {
        self.report(
            Severity::Warning,
            path,
            message,
            (!hint.is_empty()).then_some(hint),
        );
    }
}

/// Runs every check; returns errors and warnings.
pub fn validate(
    spec: &Spec,
    tree: &Node,
    base_dir: &Path,
    rules: &dyn CloudRules,
) -> Vec<Diagnostic> {
    let mut c = Checker {
        tree,
        out: Vec::new(),
    };
    header(&mut c, spec);
    name(&mut c, spec, rules);
    cloud::cloud(&mut c, spec);
    cloud::network(&mut c, spec, rules);
    cloud::gcp(&mut c, spec);
    platform::database(&mut c, spec, base_dir);
    cloud::cluster(&mut c, spec);
    platform::platform(&mut c, spec, base_dir);
    platform::dns(&mut c, spec);
    platform::airgap(&mut c, spec, base_dir);
    platform::timeouts(&mut c, spec);
    platform::state(&mut c, spec);
    c.out
}

fn header(c: &mut Checker, spec: &Spec) {
    if spec.api_version != API_VERSION {
        c.error(
            "apiVersion",
            format!("unsupported apiVersion `{}`", spec.api_version),
            &format!("use `{API_VERSION}`"),
        );
    }
    if spec.kind != KIND {
        c.error(
            "kind",
            format!("unsupported kind `{}`", spec.kind),
            &format!("use `{KIND}`"),
        );
    }
}

fn name(c: &mut Checker, spec: &Spec, rules: &dyn CloudRules) {
    let n = &spec.metadata.name;
    if !is_dns_label(n) {
        c.error(
            "metadata.name",
            format!("`{n}` is not a valid installation name"),
            "use lowercase letters, digits and '-', starting with a letter (e.g. `acme-prod`)",
        );
        return;
    }
    for d in rules.derived_names(spec) {
        let (derived, what, limit) = (d.name, d.what, d.limit);
        if derived.len() > limit {
            c.error(
                "metadata.name",
                format!(
                    "name too long: the {what} `{derived}` would be {} characters (limit {limit})",
                    derived.len()
                ),
                &format!(
                    "shorten metadata.name by {} characters",
                    derived.len() - limit
                ),
            );
        }
    }
}

pub(super) fn is_dns_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && !s.ends_with('-')
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A DNS name such as `astro.example.com`: two labels or more, no wildcard.
pub fn is_domain(s: &str) -> bool {
    let labels: Vec<_> = s.split('.').collect();
    s.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}
