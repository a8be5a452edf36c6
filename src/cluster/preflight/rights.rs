//! The Kubernetes rights the cluster phase needs, derived from what
//! liftoff and Helm really do, and checked with SelfSubjectAccessReviews
//! before anything changes:
//!
//! - liftoff's own calls ([`LIFTOFF`]): the namespace, its secrets, the
//!   load balancer's Service, and the reads that explain a failed install;
//! - Helm's release records ([`HELM_STORAGE`]): Secrets in the namespace;
//! - every kind the chart renders (`helm template` with this run's values,
//!   each kind resolved by API discovery to its resource and scope):
//!   [`CHART_VERBS`], to apply, wait for (`--wait` watches them) and
//!   delete them. Cluster-scoped kinds (ClusterRoles of nginx, fluentd…)
//!   are needed in least-privilege mode too.
//!
//! When the chart cannot be rendered here, the platform chart's usual
//! kinds ([`USUAL_KINDS`]) stand in, and the check says so.
//! `docs/cluster.md` carries [`markdown`]'s table (a test compares them).

use futures::future::join_all;
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::core::v1::Namespace;
use kube::Api;
use kube::api::PostParams;

use super::{Check, Status};
use crate::spec::Spec;

/// Where a right applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// In the platform's namespace.
    Namespace,
    /// Cluster-wide.
    Cluster,
}

/// One group of verbs on one resource, and why it is needed.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    pub verbs: &'static [&'static str],
    pub group: &'static str,
    pub resource: &'static str,
    pub scope: Scope,
    /// Not needed in least-privilege mode (the namespace exists already),
    /// unless liftoff creates the deployment namespaces there.
    pub not_least_privilege: bool,
    pub why: &'static str,
}

const fn rule(
    verbs: &'static [&'static str],
    group: &'static str,
    resource: &'static str,
    scope: Scope,
    why: &'static str,
) -> Rule {
    Rule {
        verbs,
        group,
        resource,
        scope,
        not_least_privilege: false,
        why,
    }
}

/// liftoff's own calls.
pub const LIFTOFF: &[Rule] = &[
    rule(
        &["get"],
        "",
        "namespaces",
        Scope::Cluster,
        "read the platform's namespace (plan, destroy, wait until deleted)",
    ),
    Rule {
        not_least_privilege: true,
        ..rule(
            &["create", "patch", "delete"],
            "",
            "namespaces",
            Scope::Cluster,
            "create the namespace (server-side apply) and delete it on destroy",
        )
    },
    rule(
        &["get", "create", "patch", "delete"],
        "",
        "secrets",
        Scope::Namespace,
        "the platform's secrets (TLS, database, SMTP, CA, registry) by server-side apply",
    ),
    rule(
        &["get"],
        "",
        "services",
        Scope::Namespace,
        "the load balancer's address on the nginx Service",
    ),
    rule(
        &["list"],
        "",
        "pods",
        Scope::Namespace,
        "why the platform's pods are not running, after a failed install",
    ),
    rule(
        &["list"],
        "",
        "events",
        Scope::Namespace,
        "the namespace's Warning events, after a failed install",
    ),
    rule(
        &["list"],
        "apps",
        "replicasets",
        Scope::Namespace,
        "whether a Deployment made any ReplicaSet, after a failed install",
    ),
];

/// Helm's release records (the default `secret` storage driver).
pub const HELM_STORAGE: &[Rule] = &[rule(
    &["get", "list", "create", "update", "delete"],
    "",
    "secrets",
    Scope::Namespace,
    "Helm's release records: status, history, install, upgrade, rollback, uninstall",
)];

/// What Helm does with every kind the chart renders: create, read and
/// patch (client-side apply), delete (upgrades that drop an object,
/// uninstall), list and watch (`--wait`).
pub const CHART_VERBS: &[&str] = &["get", "list", "watch", "create", "patch", "delete"];

/// The platform chart's kinds, checked when the chart cannot be rendered:
/// `(group, resource, scope)`.
pub const USUAL_KINDS: &[(&str, &str, Scope)] = &[
    ("", "configmaps", Scope::Namespace),
    ("", "services", Scope::Namespace),
    ("", "serviceaccounts", Scope::Namespace),
    ("", "persistentvolumeclaims", Scope::Namespace),
    ("", "secrets", Scope::Namespace),
    ("apps", "deployments", Scope::Namespace),
    ("apps", "statefulsets", Scope::Namespace),
    ("apps", "daemonsets", Scope::Namespace),
    ("batch", "jobs", Scope::Namespace),
    ("batch", "cronjobs", Scope::Namespace),
    ("rbac.authorization.k8s.io", "roles", Scope::Namespace),
    (
        "rbac.authorization.k8s.io",
        "rolebindings",
        Scope::Namespace,
    ),
    ("networking.k8s.io", "ingresses", Scope::Namespace),
    ("networking.k8s.io", "networkpolicies", Scope::Namespace),
    ("policy", "poddisruptionbudgets", Scope::Namespace),
    ("rbac.authorization.k8s.io", "clusterroles", Scope::Cluster),
    (
        "rbac.authorization.k8s.io",
        "clusterrolebindings",
        Scope::Cluster,
    ),
];

/// One right: `verb` on `group/resource`, in `namespace` or cluster-wide.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Right {
    pub verb: String,
    pub group: String,
    pub resource: String,
    /// `None`: cluster-wide.
    pub namespace: Option<String>,
}

impl std::fmt::Display for Right {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let group = if self.group.is_empty() {
            String::new()
        } else {
            format!("{}/", self.group)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{} {group}{} in {ns}", self.verb, self.resource),
            None => write!(f, "{} {group}{} (cluster-wide)", self.verb, self.resource),
        }
    }
}

/// A kind of the rendered chart, resolved to its API resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartKind {
    pub group: String,
    pub resource: String,
    pub scope: Scope,
    /// Namespaces other than the platform's that the chart puts objects
    /// of this kind in (in least-privilege mode, the deployment namespaces
    /// get Roles and RoleBindings).
    pub namespaces: Vec<String>,
}

/// Every right the install needs for a chart rendering to `kinds`.
pub fn required(spec: &Spec, kinds: &[ChartKind]) -> Vec<Right> {
    let ns = &spec.platform.namespace;
    let least = spec.platform.least_privilege;
    let at = |scope: Scope| match scope {
        Scope::Namespace => Some(ns.clone()),
        Scope::Cluster => None,
    };
    // In least-privilege mode liftoff still creates the namespaces for
    // Airflow deployments (`platform.deploymentNamespaces`).
    let creates_namespaces = !least || !spec.platform.deployment_namespaces.is_empty();
    let mut out = std::collections::BTreeSet::new();
    for r in LIFTOFF.iter().chain(HELM_STORAGE) {
        if r.not_least_privilege && !creates_namespaces {
            continue;
        }
        for verb in r.verbs {
            out.insert(Right {
                verb: (*verb).into(),
                group: r.group.into(),
                resource: r.resource.into(),
                namespace: at(r.scope),
            });
        }
    }
    for k in kinds {
        let mut places = vec![at(k.scope)];
        if k.scope == Scope::Namespace {
            places.extend(k.namespaces.iter().filter(|n| *n != ns).cloned().map(Some));
        }
        for namespace in places {
            for verb in CHART_VERBS {
                out.insert(Right {
                    verb: (*verb).into(),
                    group: k.group.clone(),
                    resource: k.resource.clone(),
                    namespace: namespace.clone(),
                });
            }
        }
    }
    out.into_iter().collect()
}

/// The platform chart's usual kinds, as chart kinds.
pub fn usual_kinds() -> Vec<ChartKind> {
    USUAL_KINDS
        .iter()
        .map(|(g, r, s)| ChartKind {
            group: (*g).into(),
            resource: (*r).into(),
            scope: *s,
            namespaces: Vec::new(),
        })
        .collect()
}

/// One `(apiVersion, kind)` of a rendered chart and the namespaces its
/// objects name in `metadata.namespace` (none: the release's namespace).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedKind {
    pub api_version: String,
    pub kind: String,
    pub namespaces: Vec<String>,
}

/// The kinds of every object in a rendered multi-document YAML (block
/// style, as `helm template` writes it).
pub fn rendered_kinds(manifests: &str) -> Vec<RenderedKind> {
    let mut out: Vec<RenderedKind> = Vec::new();
    for doc in manifests.split("\n---") {
        let field = |name: &str| {
            doc.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().trim_matches('"').to_string())
        };
        let (Some(api_version), Some(kind)) = (field("apiVersion:"), field("kind:")) else {
            continue;
        };
        // `metadata.namespace`: a two-space key inside the top-level
        // `metadata:` block.
        let namespace = doc
            .lines()
            .skip_while(|l| !l.starts_with("metadata:"))
            .skip(1)
            .take_while(|l| l.starts_with(' ') || l.is_empty())
            .find_map(|l| l.strip_prefix("  namespace:"))
            .map(|v| v.trim().trim_matches('"').to_string())
            .filter(|v| !v.is_empty());
        let entry = match out
            .iter_mut()
            .find(|k| k.api_version == api_version && k.kind == kind)
        {
            Some(entry) => entry,
            None => {
                out.push(RenderedKind {
                    api_version,
                    kind,
                    namespaces: Vec::new(),
                });
                out.last_mut().expect("just pushed")
            }
        };
        if let Some(namespace) = namespace
            && !entry.namespaces.contains(&namespace)
        {
            entry.namespaces.push(namespace);
        }
    }
    out
}

/// Resolves `(apiVersion, kind)` pairs by API discovery.
pub async fn resolve(
    client: &kube::Client,
    kinds: &[RenderedKind],
) -> Result<Vec<ChartKind>, String> {
    let mut out: Vec<ChartKind> = Vec::new();
    for rendered in kinds {
        let (api, kind) = (&rendered.api_version, &rendered.kind);
        let (group, version) = match api.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api.clone()),
        };
        let gvk = kube::api::GroupVersionKind::gvk(&group, &version, kind);
        let (resource, caps) = kube::discovery::pinned_kind(client, &gvk)
            .await
            .map_err(|e| format!("{api} {kind}: {}", crate::cluster::api_error::describe(&e)))?;
        let scope = match caps.scope {
            kube::discovery::Scope::Namespaced => Scope::Namespace,
            kube::discovery::Scope::Cluster => Scope::Cluster,
        };
        match out
            .iter_mut()
            .find(|k| k.group == group && k.resource == resource.plural)
        {
            Some(k) => k.namespaces.extend(
                rendered
                    .namespaces
                    .iter()
                    .filter(|n| !k.namespaces.contains(n))
                    .cloned()
                    .collect::<Vec<_>>(),
            ),
            None => out.push(ChartKind {
                group,
                resource: resource.plural,
                scope,
                namespaces: rendered.namespaces.clone(),
            }),
        }
    }
    Ok(out)
}

/// Reviews each right as the caller; the denied ones, or why the reviews
/// could not be made.
pub async fn denied(client: &kube::Client, rights: &[Right]) -> Result<Vec<Right>, String> {
    let api: Api<SelfSubjectAccessReview> = Api::all(client.clone());
    let reviews = rights.iter().map(|r| {
        let review = SelfSubjectAccessReview {
            spec: SelfSubjectAccessReviewSpec {
                resource_attributes: Some(ResourceAttributes {
                    verb: Some(r.verb.clone()),
                    group: Some(r.group.clone()),
                    resource: Some(r.resource.clone()),
                    namespace: r.namespace.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let api = api.clone();
        async move { api.create(&PostParams::default(), &review).await }
    });
    let mut out = Vec::new();
    for (result, right) in join_all(reviews).await.into_iter().zip(rights) {
        match result {
            Ok(review) if review.status.as_ref().is_some_and(|s| s.allowed) => {}
            Ok(_) => out.push(right.clone()),
            Err(e) => {
                return Err(format!(
                    "cannot review access: {}",
                    crate::cluster::api_error::describe(&e)
                ));
            }
        }
    }
    Ok(out)
}

/// The `permissions` check (and, in least-privilege mode, `namespace`).
/// `kinds` are the chart's kinds, or `Err` with why the chart could not be
/// rendered (the usual kinds are checked instead).
pub async fn check(
    client: &kube::Client,
    spec: &Spec,
    kinds: Result<Vec<ChartKind>, String>,
) -> Vec<Check> {
    const NAME: &str = "permissions";
    let (kinds, note) = match kinds {
        Ok(k) => (k, String::new()),
        Err(why) => (
            usual_kinds(),
            format!(
                " (the chart could not be rendered here, so the platform's usual kinds were checked: {why})"
            ),
        ),
    };
    let rights = required(spec, &kinds);
    let mut out = vec![match denied(client, &rights).await {
        Err(e) => Check::new(NAME, Status::Fail, e),
        Ok(missing) if missing.is_empty() => Check::new(
            NAME,
            Status::Pass,
            format!(
                "all {} rights the install needs are granted ({} kinds in the chart){note}",
                rights.len(),
                kinds.len()
            ),
        ),
        Ok(missing) => Check::new(
            NAME,
            Status::Fail,
            format!(
                "missing: {}{note}",
                missing.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            ),
        )
        .hint(if spec.platform.least_privilege {
            "grant these rights (a Role and RoleBinding in the namespace; a ClusterRole for the cluster-wide ones); docs/cluster.md lists them"
        } else {
            "use a cluster-admin identity, or grant these rights; docs/cluster.md lists them"
        }),
    }];
    if spec.platform.least_privilege {
        out.push(namespace_exists(client, &spec.platform.namespace).await);
    }
    out
}

async fn namespace_exists(client: &kube::Client, ns: &str) -> Check {
    const NAME: &str = "namespace";
    match Api::<Namespace>::all(client.clone()).get_opt(ns).await {
        Ok(Some(n)) if n.metadata.deletion_timestamp.is_some() => Check::new(
            NAME,
            Status::Fail,
            format!("namespace {ns} is being deleted"),
        )
        .hint("wait until it is gone and an administrator has created it again"),
        Ok(Some(_)) => Check::new(NAME, Status::Pass, format!("namespace {ns} exists")),
        Ok(None) => Check::new(NAME, Status::Fail, format!("namespace {ns} does not exist"))
            .hint("in leastPrivilege mode an administrator creates the namespace first"),
        Err(e) => Check::new(
            NAME,
            Status::Warn,
            format!(
                "cannot read namespace {ns}: {}",
                crate::cluster::api_error::describe(&e)
            ),
        ),
    }
}

/// The rights as a Markdown table, for docs/cluster.md.
pub fn markdown() -> String {
    let mut s =
        String::from("| who | verbs | resource | where | why |\n| --- | --- | --- | --- | --- |\n");
    let row = |s: &mut String, who: &str, r: &Rule| {
        let group = if r.group.is_empty() { "core" } else { r.group };
        let mut at = match r.scope {
            Scope::Namespace => "the platform's namespace".to_string(),
            Scope::Cluster => "cluster-wide".to_string(),
        };
        if r.not_least_privilege {
            at.push_str(" (in least-privilege mode only with `platform.deploymentNamespaces`)");
        }
        s.push_str(&format!(
            "| {who} | {} | {} ({group}) | {at} | {} |\n",
            r.verbs.join(", "),
            r.resource,
            r.why
        ));
    };
    for r in LIFTOFF {
        row(&mut s, "liftoff", r);
    }
    for r in HELM_STORAGE {
        row(&mut s, "Helm", r);
    }
    s.push_str(&format!(
        "| Helm | {} | every kind the chart renders | the kind's scope, in every namespace the chart puts it (least-privilege mode too) | apply, wait for (`--wait`) and delete the chart's objects |\n",
        CHART_VERBS.join(", ")
    ));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docs_list_the_rights_the_preflight_checks() {
        let doc = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/cluster.md"));
        let table = doc
            .split_once("<!-- rights:begin -->\n")
            .and_then(|(_, rest)| rest.split_once("<!-- rights:end -->"))
            .map(|(t, _)| t)
            .expect("docs/cluster.md has the rights markers");
        assert_eq!(
            table,
            markdown(),
            "docs/cluster.md's rights table differs; paste:\n{}",
            markdown()
        );
    }

    #[test]
    fn reads_the_kinds_of_rendered_manifests() {
        let text = "---\n# Source: a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    metadata:\n      labels: {kind: x}\n---\napiVersion: v1\nkind: ConfigMap\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: b\n  namespace: team-a\nsubjects:\n- kind: ServiceAccount\n  name: houston\n  namespace: astronomer\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  namespace: \"team-b\"\n  name: c\n";
        let kinds = rendered_kinds(text);
        let summary: Vec<(&str, &str, Vec<&str>)> = kinds
            .iter()
            .map(|k| {
                (
                    k.api_version.as_str(),
                    k.kind.as_str(),
                    k.namespaces.iter().map(String::as_str).collect(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            [
                ("v1", "ConfigMap", vec![]),
                ("apps/v1", "Deployment", vec![]),
                (
                    "rbac.authorization.k8s.io/v1",
                    "RoleBinding",
                    vec!["team-a", "team-b"]
                ),
            ]
        );
    }

    #[test]
    fn least_privilege_rights_cover_the_deployment_namespaces() {
        let mut spec = crate::spec::load_str(
            "sandbox.yaml",
            include_str!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/examples/sandbox.yaml"
            )),
            std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/examples")),
        )
        .expect("the sandbox example loads")
        .spec;
        spec.platform.least_privilege = true;
        let role_bindings = ChartKind {
            group: "rbac.authorization.k8s.io".into(),
            resource: "rolebindings".into(),
            scope: Scope::Namespace,
            namespaces: vec!["team-a".into()],
        };
        let creates_namespaces = |rights: &[Right]| {
            rights
                .iter()
                .any(|r| r.resource == "namespaces" && r.verb == "create")
        };
        let without = required(&spec, std::slice::from_ref(&role_bindings));
        assert!(!creates_namespaces(&without), "{without:?}");
        assert!(
            without.iter().any(|r| r.resource == "rolebindings"
                && r.verb == "create"
                && r.namespace.as_deref() == Some("team-a")),
            "{without:?}"
        );
        spec.platform.deployment_namespaces = vec!["team-a".into()];
        let with = required(&spec, &[role_bindings]);
        assert!(creates_namespaces(&with), "{with:?}");
    }
}
