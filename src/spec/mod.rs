//! The installation spec: reading it, layering it on its profile, and
//! validating it with every problem reported at once.

pub mod chart;
pub mod de;
pub mod merge;
pub mod model;
pub mod profiles;
pub mod validate;
pub mod yaml;
mod yaml_syntax;

use std::fmt;
use std::path::{Path, PathBuf};

pub use model::*;
use yaml::{Node, Pos};

/// A spec that parsed and validated, with the tree it came from.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub spec: Spec,
    /// The merged tree (profile + spec), for `render --resolved`.
    pub tree: Node,
    /// The folder relative paths in the spec are resolved against.
    pub base_dir: PathBuf,
    /// sha256 of the resolved spec: a saved plan is only valid for it.
    pub digest: String,
    /// Problems that do not stop an install.
    pub warnings: Vec<Diagnostic>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// One finding about the spec, pointing at a file, line and column.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    #[serde(serialize_with = "pos_string")]
    pub pos: Pos,
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

fn pos_string<S: serde::Serializer>(p: &Pos, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(p)
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{}: {sev}: {}", self.pos, self.message)?;
        if !self.path.is_empty() {
            write!(f, " (at `{}`)", self.path)?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\n    hint: {h}")?;
        }
        if self.pos.is_builtin() && !self.path.is_empty() && !self.message.starts_with("missing") {
            write!(
                f,
                "\n    hint: the value comes from the profile; set `{}` in your spec to override it",
                self.path
            )?;
        }
        Ok(())
    }
}

/// Every problem found in a spec.
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }
}

impl fmt::Display for Diagnostics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for d in &self.0 {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

/// Drops the errors that only follow from another one, so the user reads
/// the cause: a field "missing" because the profile was not found (an
/// unknown profile) or because it was written under a misspelt key (an
/// unknown key whose did-you-mean names it).
fn root_causes_only(diags: &mut Vec<Diagnostic>) {
    let unknown_profile = diags
        .iter()
        .any(|d| d.path == "profile" && d.message.starts_with("unknown profile"));
    // `platfrom` (did you mean `platform`?) at `x.platfrom`: `x.platform`.
    let misspelt: Vec<String> = diags
        .iter()
        .filter(|d| d.message.starts_with("unknown key"))
        .filter_map(|d| {
            let meant = d.hint.as_deref()?.strip_prefix("did you mean `")?;
            let meant = &meant[..meant.find('`')?];
            Some(match d.path.rfind('.') {
                Some(i) => format!("{}.{meant}", &d.path[..i]),
                None => meant.to_string(),
            })
        })
        .collect();
    diags.retain(|d| {
        let follows = d.message.starts_with("missing field")
            && (unknown_profile
                || misspelt
                    .iter()
                    .any(|m| d.path == *m || d.path.starts_with(&format!("{m}."))));
        !follows
    });
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("cannot read {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Syntax(#[from] yaml::SyntaxError),
    #[error("the spec has {} error(s)", .0.errors().count())]
    Invalid(Diagnostics),
}

impl SpecError {
    pub fn hint(&self) -> Option<String> {
        match self {
            SpecError::Read { .. } => Some(
                "pass the spec with -f FILE, or create one with `liftoff init --profile NAME`"
                    .into(),
            ),
            SpecError::Syntax(_) => {
                Some("check the indentation and quoting around that line".into())
            }
            SpecError::Invalid(_) => {
                Some("fix the errors above; `liftoff validate` lists them again".into())
            }
        }
    }
}

/// A name derived from the installation name (an IAM role, a database
/// identifier) and the longest the cloud allows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DerivedName {
    pub name: String,
    /// What it names, e.g. "RDS instance identifier".
    pub what: &'static str,
    pub limit: usize,
}

/// What the spec's cloud adds to validation. The spec knows no cloud: the
/// caller (the composition root) hands in the rules of every cloud it has.
pub trait CloudRules {
    /// The longest names derived from `metadata.name`, with their limits.
    fn derived_names(&self, spec: &Spec) -> Vec<DerivedName>;
    /// The prefix length of the subnets a created network of `vpc_prefix`
    /// is cut into for `zones` zones, when the cloud cuts it.
    fn subnet_prefix(&self, spec: &Spec, vpc_prefix: u8, zones: u8) -> Option<u8>;
}

/// No cloud-specific checks (a spec read for its own sake).
pub struct NoCloudRules;

impl CloudRules for NoCloudRules {
    fn derived_names(&self, _: &Spec) -> Vec<DerivedName> {
        Vec::new()
    }
    fn subnet_prefix(&self, _: &Spec, _: u8, _: u8) -> Option<u8> {
        None
    }
}

/// Reads, merges and validates the spec at `path` (without any cloud's
/// rules: see [`load_with`]).
pub fn load(path: &Path) -> Result<Loaded, SpecError> {
    load_with(path, &NoCloudRules)
}

/// Reads, merges and validates the spec at `path`, with the cloud's rules.
pub fn load_with(path: &Path, rules: &dyn CloudRules) -> Result<Loaded, SpecError> {
    let text = std::fs::read_to_string(path).map_err(|source| SpecError::Read {
        path: path.into(),
        source,
    })?;
    let base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let base_dir = if base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        base_dir
    };
    load_str_with(&path.display().to_string(), &text, &base_dir, rules)
}

/// Like [`load`], from text (`file` names it in messages).
pub fn load_str(file: &str, text: &str, base_dir: &Path) -> Result<Loaded, SpecError> {
    load_str_with(file, text, base_dir, &NoCloudRules)
}

/// Like [`load_with`], from text.
pub fn load_str_with(
    file: &str,
    text: &str,
    base_dir: &Path,
    rules: &dyn CloudRules,
) -> Result<Loaded, SpecError> {
    let user = yaml::parse(file, text)?;
    let mut diags = Vec::new();
    let tree = match user.get("profile").map(|n| (n, n.resolve())) {
        Some((node, Some(yaml::Resolved::Str(name)))) => match profiles::find(name, base_dir) {
            Some(profiles::Source::Builtin(n, t)) => {
                let label = format!("{} `{n}`", yaml::BUILTIN_PROFILE);
                merge::merge(&yaml::parse(&label, t)?, &user)
            }
            Some(profiles::Source::File(p)) => match std::fs::read_to_string(&p) {
                Ok(t) => merge::merge(&yaml::parse(&p.display().to_string(), &t)?, &user),
                Err(e) => {
                    diags.push(error_at(
                        node.pos.clone(),
                        "profile",
                        format!("cannot read profile {}: {e}", p.display()),
                        None,
                    ));
                    user
                }
            },
            None => {
                let names = profiles::names();
                let hint = match de::did_you_mean(name, &names) {
                    Some(s) => format!(
                        "did you mean `{s}`? Built-in profiles: {}",
                        names.join(", ")
                    ),
                    None => format!(
                        "built-in profiles: {}; or give a path to a profile file",
                        names.join(", ")
                    ),
                };
                diags.push(error_at(
                    node.pos.clone(),
                    "profile",
                    format!("unknown profile `{name}`"),
                    Some(hint),
                ));
                user
            }
        },
        _ => user,
    };

    let (spec, problems) = de::from_node::<Spec>(&tree);
    diags.extend(problems.into_iter().map(|p| Diagnostic {
        severity: Severity::Error,
        pos: p.pos,
        path: p.path,
        message: p.message,
        hint: p.hint,
    }));
    if let Some(spec) = &spec {
        diags.extend(validate::validate(spec, &tree, base_dir, rules));
    }
    root_causes_only(&mut diags);
    diags.sort_by(|a, b| {
        (&*a.pos.file, a.pos.line, a.pos.col).cmp(&(&*b.pos.file, b.pos.line, b.pos.col))
    });
    let (errors, warnings): (Vec<_>, Vec<_>) = diags
        .into_iter()
        .partition(|d| d.severity == Severity::Error);
    match spec {
        Some(spec) if errors.is_empty() => {
            let digest = digest(&spec);
            Ok(Loaded {
                spec,
                tree,
                base_dir: base_dir.to_path_buf(),
                digest,
                warnings,
            })
        }
        _ => Err(SpecError::Invalid(Diagnostics(
            errors.into_iter().chain(warnings).collect(),
        ))),
    }
}

fn error_at(pos: Pos, path: &str, message: String, hint: Option<String>) -> Diagnostic {
    Diagnostic {
        severity: Severity::Error,
        pos,
        path: path.into(),
        message,
        hint,
    }
}

/// sha256 over the canonical JSON of the resolved spec.
pub fn digest(spec: &Spec) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(spec).expect("spec serializes");
    hex::encode(sha2::Sha256::digest(json))
}

/// Writes a JSON value as block-style YAML (for `render --resolved`).
pub fn to_yaml(v: &serde_json::Value) -> String {
    let mut out = String::new();
    emit(v, 0, &mut out);
    out
}

fn emit(v: &serde_json::Value, indent: usize, out: &mut String) {
    use serde_json::Value as J;
    let pad = " ".repeat(indent);
    match v {
        J::Object(m) if m.is_empty() => out.push_str(&format!("{pad}{{}}\n")),
        J::Object(m) => {
            for (k, v) in m {
                match v {
                    J::Object(c) if !c.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        emit(v, indent + 2, out);
                    }
                    J::Array(a) if !a.is_empty() => {
                        out.push_str(&format!("{pad}{k}:\n"));
                        emit(v, indent, out);
                    }
                    _ => out.push_str(&format!("{pad}{k}: {}\n", scalar(v))),
                }
            }
        }
        J::Array(a) => {
            for item in a {
                match item {
                    J::Object(m) if !m.is_empty() => {
                        let mut inner = String::new();
                        emit(item, indent + 2, &mut inner);
                        out.push_str(&format!("{pad}- {}", &inner[indent + 2..]));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar(item))),
                }
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", scalar(v))),
    }
}

fn scalar(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./@".contains(c))
                && yaml::parse("", s)
                    .map(|n| n.resolve() == Some(yaml::Resolved::Str(s)))
                    .unwrap_or(false);
            if plain {
                s.clone()
            } else {
                serde_json::to_string(s).expect("string")
            }
        }
        J::Object(_) => "{}".into(),
        J::Array(_) => "[]".into(),
        other => other.to_string(),
    }
}
