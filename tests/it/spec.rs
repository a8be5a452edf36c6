//! Spec loading: profile merge rules, and each validation check with the
//! position and hint it reports.

use liftoff::spec::{self, SpecError};

const BASE: &str = "\
apiVersion: liftoff.dev/v1
kind: Installation
profile: aws-standard
metadata:
  name: acme
platform:
  baseDomain: astro.example.com
  tls: {certFile: ./cert.pem, keyFile: ./key.pem}
";

/// BASE plus `extra`; a top-level block of `extra` replaces BASE's block
/// of the same name (YAML refuses duplicate keys).
fn load(extra: &str) -> Result<spec::Loaded, SpecError> {
    let redefined: Vec<&str> = extra
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(|l| l.split(':').next())
        .collect();
    let mut base = String::new();
    let mut skipping = false;
    for line in BASE.lines() {
        if !line.starts_with(' ') {
            skipping = redefined.contains(&line.split(':').next().unwrap_or(""));
        }
        if !skipping {
            base.push_str(line);
            base.push('\n');
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "").unwrap();
    std::fs::write(dir.path().join("key.pem"), "").unwrap();
    liftoff::compose::load_str("s.yaml", &format!("{base}{extra}"), dir.path())
}

/// The errors a spec produces, as `file:line: message`, joined by ` | `.
fn errors(extra: &str) -> String {
    match load(extra) {
        Ok(_) => panic!("expected an error for:\n{extra}"),
        Err(SpecError::Invalid(d)) => d
            .errors()
            .map(|e| format!("{}:{}: {}", e.pos.file, e.pos.line, e.message))
            .collect::<Vec<_>>()
            .join(" | "),
        Err(e) => panic!("unexpected {e}"),
    }
}

#[test]
fn maps_deep_merge_lists_replace_and_the_spec_wins() {
    let l = load("cluster:\n  nodeGroups:\n    - {name: small, instanceTypes: [t3.large], min: 1, max: 1, desired: 1}\n").unwrap();
    let s = &l.spec;
    // The list replaced the profile's list...
    assert_eq!(s.cluster.node_groups.len(), 1);
    assert_eq!(s.cluster.node_groups[0].name, "small");
    // ...while the cluster map kept the profile's other keys.
    assert_eq!(s.cluster.kubernetes_version.as_deref(), Some("1.33"));
    assert_eq!(s.platform.chart.repository, "https://helm.astronomer.io");
    assert_eq!(s.network.as_ref().unwrap().zone_count, 3);
}

#[test]
fn the_spec_overrides_nested_profile_values_and_null_clears_them() {
    let text = BASE.replace(
        "  baseDomain: astro.example.com\n",
        "  baseDomain: astro.example.com\n  chart: {version: 0.37.8}\n",
    );
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "").unwrap();
    std::fs::write(dir.path().join("key.pem"), "").unwrap();
    let l = spec::load_str(
        "s.yaml",
        &format!("{text}database:\n  multiZone: false\n"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(l.spec.platform.chart.version, "0.37.8");
    assert_eq!(l.spec.platform.chart.name, "astronomer");
    let db = l.spec.database.unwrap();
    assert!(!db.multi_zone);
    assert_eq!(db.instance_class.as_deref(), Some("db.r6g.large"));
}

#[test]
fn a_profile_file_next_to_the_spec_can_be_used() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cert.pem"), "").unwrap();
    std::fs::write(dir.path().join("key.pem"), "").unwrap();
    let profile = liftoff::spec::profiles::BUILTIN[0]
        .1
        .replace("us-east-1", "eu-west-1");
    std::fs::write(dir.path().join("team.yaml"), profile).unwrap();
    let l = spec::load_str(
        "s.yaml",
        &BASE.replace("profile: aws-standard", "profile: ./team.yaml"),
        dir.path(),
    )
    .unwrap();
    assert_eq!(l.spec.cloud.region.as_deref(), Some("eu-west-1"));
}

#[test]
fn each_check_points_at_its_line() {
    let cases: &[(&str, &str)] = &[
        (
            "network:\n  cidr: 10.0.0.1/16\n",
            "s.yaml:10: `10.0.0.1/16` has host bits set",
        ),
        (
            "network:\n  cidr: 10.0.0.0/12\n",
            "s.yaml:10: prefix /12 is out of range",
        ),
        (
            "network:\n  cidr: 172.20.0.0/16\n",
            "s.yaml:10: 172.20.0.0/16 overlaps the Kubernetes service range 172.20.0.0/16",
        ),
        (
            "network:\n  zoneCount: 1\n",
            "s.yaml:10: zoneCount 1 is out of range",
        ),
        (
            "cloud:\n  zones: [us-east-1a, eu-west-1b, us-east-1c]\n",
            "s.yaml:10: zone `eu-west-1b` is not in region `us-east-1`",
        ),
        (
            "cloud:\n  zones: [us-east-1a, us-east-1b]\n",
            "s.yaml:10: 2 zones listed but network.zoneCount is 3",
        ),
        (
            "network:\n  vpcId: vpc-123\n",
            "s.yaml:10: `vpcId` contradicts `network.mode: create`",
        ),
        (
            "metadata:\n  name: a-very-long-installation-name-that-goes-on-and-on-and-on-x\n",
            "s.yaml:8: name too long: the IAM role name `a-very-long-installation-name-that-goes-on-and-on-and-on-x-eks-nodes` would be 68 characters (limit 64)",
        ),
        (
            "cluster:\n  kubernetesVersion: \"1.x\"\n",
            "s.yaml:10: `1.x` is not a Kubernetes minor version",
        ),
        (
            "cluster:\n  endpointAccess: private\n  publicAccessCidrs: [1.2.3.0/24]\n",
            "s.yaml:11: `publicAccessCidrs` contradicts `endpointAccess: private`",
        ),
        (
            "cluster:\n  endpointAccess: privat\n",
            "s.yaml:10: unknown value `privat`",
        ),
        (
            "database:\n  connection: {fromEnv: DB}\n",
            "s.yaml:10: `connection` contradicts `database.mode: create`",
        ),
        (
            "database:\n  storageGb: 5\n",
            "s.yaml:10: 5 GB is out of range",
        ),
        (
            "database:\n  storageGb: lots\n",
            "s.yaml:10: expected a positive whole number, found `lots`",
        ),
        (
            "dns:\n  zone: other.org\n",
            "s.yaml:10: base domain `astro.example.com` is not inside zone `other.org`",
        ),
        (
            "airgap:\n  enabled: true\n",
            "built-in profile `aws-standard`:36: an air-gapped install cannot fetch the chart from a repository | s.yaml:9: air-gapped installs need a private registry",
        ),
        (
            "timeouts:\n  cluster: forever\n",
            "s.yaml:10: `forever` is not a duration",
        ),
        (
            "timeouts:\n  loadBalancer: soon\n",
            "s.yaml:10: `soon` is not a duration",
        ),
        (
            "platform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem}\n  loadBalancerIp: 10.0.0.5\n",
            "s.yaml:9: a static load balancer IP is not supported on AWS",
        ),
        (
            "platform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem}\n  leastPrivilege: true\n",
            "s.yaml:9: leastPrivilege needs the namespaces Airflow deployments may use",
        ),
        (
            "platform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem}\n  deploymentNamespaces: [Airflow, astronomer, kube-system, team-a, team-a]\n",
            "s.yaml:9: `Airflow` is not a valid namespace | s.yaml:9: `astronomer` is the platform's own namespace | s.yaml:9: `kube-system` is a namespace Kubernetes keeps for itself | s.yaml:9: `team-a` is listed twice",
        ),
        (
            "platform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem, caFile: ./}\n",
            "s.yaml:8: ./ is a directory, not a file",
        ),
    ];
    for (extra, expected) in cases {
        assert_eq!(errors(extra), *expected, "case:\n{extra}");
    }
}

#[test]
fn type_errors_do_not_hide_other_errors() {
    let err = load("network:\n  zoneCount: three\n  nat: sometimes\n  cidr: nope\n").unwrap_err();
    let SpecError::Invalid(d) = err else { panic!() };
    let lines: Vec<_> = d.errors().map(|e| e.pos.line).collect();
    assert_eq!(lines, vec![10, 11, 12], "{d}");
}

#[test]
fn secrets_are_never_inline() {
    let err = load("database:\n  mode: external\n  connection: {}\n").unwrap_err();
    assert!(err.to_string().contains("error"), "{err}");
    let SpecError::Invalid(d) = err else { panic!() };
    let messages: Vec<_> = d.errors().map(|e| e.message.as_str()).collect();
    assert!(messages.contains(&"no source given"), "{messages:?}");
}
