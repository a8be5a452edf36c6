//! Bad input, as a table: each spec below is wrong in one way, and
//! `liftoff validate` must refuse it with exit code 3 and the expected
//! message at its file:line:column, never a panic. The checks already
//! pinned in spec.rs and cli.rs are not repeated here.

use std::path::Path;
use std::process::Command;

/// A valid AWS spec: every case below breaks it in one place.
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

/// A valid GCP spec.
const GCP: &str = "\
apiVersion: liftoff.dev/v1
kind: Installation
profile: gcp-standard
metadata:
  name: acme
cloud:
  project: my-project
platform:
  baseDomain: astro.example.com
  tls: {certFile: ./cert.pem, keyFile: ./key.pem}
";

/// BASE with `extra` appended (a new top-level block from line 9).
fn with(extra: &str) -> String {
    format!("{BASE}{extra}")
}

/// `spec` with `from` replaced by `to` (which must be there).
fn swap(spec: &str, from: &str, to: &str) -> String {
    assert!(spec.contains(from), "`{from}` is not in the spec");
    spec.replacen(from, to, 1)
}

/// BASE with a platform key added before `tls` (on line 8).
fn platform(line: &str) -> String {
    swap(BASE, "  tls: {", &format!("  {line}\n  tls: {{"))
}

/// A node group list holding `group` (on line 11).
fn node_group(group: &str) -> String {
    with(&format!("cluster:\n  nodeGroups:\n    - {group}\n"))
}

/// Every case: what is wrong, the spec, and what stderr must contain.
fn cases() -> Vec<(&'static str, String, &'static str)> {
    let long = "a".repeat(64);
    let laughs: String = (0..10)
        .map(|level| match level {
            0 => "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n".to_string(),
            _ => format!(
                "a{level}: &a{level} [{}]\n",
                vec![format!("*a{}", level - 1); 10].join(", ")
            ),
        })
        .collect();
    vec![
        // YAML syntax: printed once, with the position, as `error: FILE:LINE:COL: ...`.
        (
            "a tab indents a block",
            swap(BASE, "  name: acme", "\tname: acme"),
            "error: s.yaml:5:1: a tab character indents this line; YAML indentation must be spaces",
        ),
        (
            "an unclosed flow mapping",
            swap(BASE, "key.pem}", "key.pem"),
            "error: s.yaml:9:1: while parsing a flow mapping, did not find expected ',' or '}'",
        ),
        (
            "a key given twice",
            with("metadata:\n  name: other\n"),
            "error: s.yaml:9:1: duplicate key `metadata`",
        ),
        (
            "an alias to no anchor",
            with("timeouts:\n  cluster: *nope\n"),
            "error: s.yaml:10:12: while parsing node, found unknown anchor",
        ),
        (
            "an unterminated quote",
            swap(BASE, "name: acme", "name: \"acme"),
            "error: s.yaml:5:9: the quoted value starting here is never closed: add the closing \" at its end",
        ),
        (
            "a key indented under a scalar",
            swap(BASE, "example.com\n", "example.com\n    oops: 1\n"),
            "error: s.yaml:8:9: mapping values are not allowed in this context",
        ),
        (
            "an empty file",
            String::new(),
            "s.yaml:1:1: error: missing field `apiVersion`",
        ),
        (
            "a list at the top",
            "- a\n- b\n".into(),
            "s.yaml:1:1: error: expected a mapping, found a list",
        ),
        (
            "a scalar at the top",
            "just a string\n".into(),
            "s.yaml:1:1: error: expected a mapping, found a string",
        ),
        (
            "a second document after `---`",
            with("---\nkind: Installation\n"),
            "error: s.yaml:9:1: a second YAML document: a spec is one document",
        ),
        (
            "aliases of aliases (billion laughs)",
            with(&laughs),
            "error: s.yaml:13:45: the aliases expand the document past 100000 values",
        ),
        // Unknown keys and values.
        (
            "a misspelt top-level key",
            with("netwrk:\n  cidr: 10.0.0.0/16\n"),
            "s.yaml:9:1: error: unknown key `netwrk` (at `netwrk`)\n    hint: did you mean `network`?",
        ),
        (
            "a misspelt nested key",
            with("database:\n  instanceClas: db.t3.large\n"),
            "s.yaml:10:3: error: unknown key `instanceClas` (at `database.instanceClas`)\n    hint: did you mean `instanceClass`?",
        ),
        (
            "an alias bringing unknown keys",
            swap(
                BASE,
                "metadata:\n  name: acme\n",
                "metadata: &m {name: acme}\ntimeouts: *m\n",
            ),
            "s.yaml:4:15: error: unknown key `name` (at `timeouts.name`)\n    hint: did you mean `namespace`?",
        ),
        (
            "another apiVersion",
            swap(BASE, "liftoff.dev/v1", "liftoff.dev/v2"),
            "s.yaml:1:13: error: unsupported apiVersion `liftoff.dev/v2` (at `apiVersion`)\n    hint: use `liftoff.dev/v1`",
        ),
        (
            "another kind",
            swap(BASE, "kind: Installation", "kind: Deployment"),
            "s.yaml:2:7: error: unsupported kind `Deployment` (at `kind`)\n    hint: use `Installation`",
        ),
        (
            "an unknown cloud",
            with("cloud:\n  provider: azure\n"),
            "s.yaml:10:13: error: unknown value `azure` (at `cloud.provider`)\n    hint: expected one of: aws, gcp, existing",
        ),
        // Wrong types.
        (
            "no installation name",
            swap(BASE, "metadata:\n  name: acme\n", "metadata: {}\n"),
            "s.yaml:4:11: error: missing field `name` (at `metadata`)",
        ),
        (
            "a list for a name",
            swap(BASE, "name: acme", "name: [acme]"),
            "s.yaml:5:9: error: expected a string, found a list (at `metadata.name`)",
        ),
        (
            "a string for metadata",
            swap(BASE, "metadata:\n  name: acme\n", "metadata: acme\n"),
            "s.yaml:4:11: error: expected a mapping, found a string (at `metadata`)",
        ),
        (
            "a list for tags",
            swap(BASE, "  name: acme\n", "  name: acme\n  tags: [a, b]\n"),
            "s.yaml:6:9: error: expected a mapping, found a list (at `metadata.tags`)",
        ),
        (
            "`maybe` for a boolean",
            with("database:\n  multiZone: maybe\n"),
            "s.yaml:10:14: error: expected true or false, found a string (at `database.multiZone`)",
        ),
        (
            "a negative size",
            with("database:\n  storageGb: -5\n"),
            "s.yaml:10:14: error: expected a positive whole number, found `-5` (at `database.storageGb`)",
        ),
        (
            "a number past 64 bits",
            with("database:\n  storageGb: 99999999999999999999999\n"),
            "s.yaml:10:14: error: expected a positive whole number, found `99999999999999999999999` (at `database.storageGb`)",
        ),
        (
            "a fraction for a count",
            with("network:\n  zoneCount: 2.5\n"),
            "s.yaml:10:14: error: expected a whole number from 0 to 255, found `2.5` (at `network.zoneCount`)",
        ),
        (
            "a number past its type",
            platform("logRetentionDays: 100000"),
            "s.yaml:8:21: error: expected a whole number from 0 to 65535, found `100000` (at `platform.logRetentionDays`)",
        ),
        (
            "a mapping for the node group list",
            with("cluster:\n  nodeGroups: {name: a}\n"),
            "s.yaml:10:15: error: expected a list, found a mapping (at `cluster.nodeGroups`)",
        ),
        (
            "a list for chart values",
            platform("values: [1, 2]"),
            "s.yaml:8:3: error: values overrides must be a mapping (at `platform.values`)",
        ),
        // CIDRs and overlaps.
        (
            "an address without a prefix",
            with("network:\n  cidr: 10.0.0.0\n"),
            "s.yaml:10:9: error: `10.0.0.0` is not an IPv4 CIDR (at `network.cidr`)\n    hint: write it as address/prefix, e.g. 10.0.0.0/16",
        ),
        (
            "an IPv6 network",
            with("network:\n  cidr: \"fd00::/56\"\n"),
            "s.yaml:10:9: error: `fd00::/56` is not an IPv4 CIDR (at `network.cidr`)",
        ),
        (
            "a network too small for three zones",
            with("network:\n  cidr: 10.0.0.0/28\n"),
            "s.yaml:10:9: error: prefix /28 is out of range (at `network.cidr`)",
        ),
        (
            "a prefix past 32",
            with("cluster:\n  publicAccessCidrs: [1.2.3.4/33]\n"),
            "s.yaml:10:23: error: `1.2.3.4/33` is not an IPv4 CIDR (at `cluster.publicAccessCidrs[0]`)",
        ),
        (
            "a service range inside the profile's network",
            with("cluster:\n  serviceCidr: 10.0.128.0/20\n"),
            "built-in profile `aws-standard`, line 11: error: 10.0.0.0/16 overlaps the Kubernetes service range 10.0.128.0/20 (at `network.cidr`)\n    hint: pick a network outside it, or set cluster.serviceCidr",
        ),
        // Zones.
        (
            "a zone listed twice",
            with("cloud:\n  zones: [us-east-1a, us-east-1a, us-east-1b]\n"),
            "s.yaml:10:23: error: zone `us-east-1a` is listed twice (at `cloud.zones[1]`)",
        ),
        (
            "a zone that is no zone",
            with("cloud:\n  zones: [nowhere, us-east-1b, us-east-1c]\n"),
            "s.yaml:10:11: error: zone `nowhere` is not in region `us-east-1` (at `cloud.zones[0]`)",
        ),
        (
            "too many zones",
            with("network:\n  zoneCount: 9\n"),
            "s.yaml:10:14: error: zoneCount 9 is out of range (at `network.zoneCount`)\n    hint: use 2 to 6 zones",
        ),
        // Names.
        (
            "an empty name",
            swap(BASE, "name: acme", "name: \"\""),
            "s.yaml:5:9: error: `` is not a valid installation name (at `metadata.name`)",
        ),
        (
            "a name starting with a digit",
            swap(BASE, "name: acme", "name: 1acme"),
            "s.yaml:5:9: error: `1acme` is not a valid installation name (at `metadata.name`)",
        ),
        (
            "a name ending in a dash",
            swap(BASE, "name: acme", "name: acme-"),
            "s.yaml:5:9: error: `acme-` is not a valid installation name (at `metadata.name`)",
        ),
        (
            "a name too long for the GKE cluster",
            swap(GCP, "name: acme", &format!("name: {}", "a".repeat(41))),
            "s.yaml:5:9: error: name too long: the GKE cluster name `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa` would be 41 characters (limit 40) (at `metadata.name`)\n    hint: shorten metadata.name by 1 characters",
        ),
        (
            "a node group name that is no DNS label",
            node_group("{name: A_B, instanceTypes: [m6i.large], min: 1, max: 2, desired: 1}"),
            "s.yaml:11:14: error: `A_B` is not a valid node group name (at `cluster.nodeGroups[0].name`)",
        ),
        (
            "a namespace that is no DNS label",
            platform("namespace: Bad_NS"),
            "s.yaml:8:14: error: `Bad_NS` is not a valid namespace (at `platform.namespace`)",
        ),
        (
            "a bad release name",
            platform("releaseName: Bad_Rel"),
            "s.yaml:8:16: error: `Bad_Rel` is not a valid Helm release name (at `platform.releaseName`)",
        ),
        // Domains.
        (
            "an underscore in the domain",
            swap(BASE, "astro.example.com", "astro_x.example.com"),
            "s.yaml:7:15: error: `astro_x.example.com` is not a valid base domain (at `platform.baseDomain`)",
        ),
        (
            "a one-label domain",
            swap(BASE, "astro.example.com", "localhost"),
            "s.yaml:7:15: error: `localhost` is not a valid base domain (at `platform.baseDomain`)",
        ),
        (
            "a label of 64 characters",
            swap(BASE, "astro.example.com", &format!("{long}.example.com")),
            "s.yaml:7:15: error: `aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.example.com` is not a valid base domain",
        ),
        (
            "a URL for a domain",
            swap(BASE, "astro.example.com", "https://astro.example.com"),
            "s.yaml:7:15: error: `https://astro.example.com` is not a valid base domain",
        ),
        (
            "a DNS zone with a space",
            with("dns:\n  zone: \"bad zone\"\n"),
            "s.yaml:10:9: error: base domain `astro.example.com` is not inside zone `bad zone` (at `dns.zone`)",
        ),
        (
            "an address that is no e-mail",
            platform("alertEmails: [not-an-email]"),
            "s.yaml:8:17: error: `not-an-email` is not an e-mail address (at `platform.alertEmails[0]`)",
        ),
        // Missing files.
        (
            "a missing certificate",
            swap(BASE, "./cert.pem", "./nope.pem"),
            "s.yaml:8:19: error: file not found: ./nope.pem (at `platform.tls.certFile`)\n    hint: paths are relative to the spec's folder",
        ),
        (
            "a missing key",
            swap(BASE, "./key.pem", "./nokey.pem"),
            "s.yaml:8:40: error: file not found: ./nokey.pem (at `platform.tls.keyFile`)",
        ),
        (
            "a missing connection file",
            with("database:\n  mode: external\n  connection: {fromFile: ./db-url}\n"),
            "s.yaml:11:26: error: file not found: ./db-url (at `database.connection.fromFile`)",
        ),
        (
            "a missing profile file",
            swap(BASE, "profile: aws-standard", "profile: ./team/nope.yaml"),
            "s.yaml:3:10: error: cannot read profile ././team/nope.yaml: ",
        ),
        // Contradictions.
        (
            "an existing network without a VPC",
            with("network:\n  mode: existing\n"),
            "s.yaml:9:1: error: network.vpcId is required with `mode: existing` (at `network`)",
        ),
        (
            "the profile's CIDR with an existing network",
            with("network:\n  mode: existing\n"),
            "built-in profile `aws-standard`, line 11: error: `cidr` contradicts `network.mode: existing` (at `network.cidr`)",
        ),
        (
            "an existing cluster with the profile's node groups",
            with("cluster:\n  mode: existing\n"),
            "built-in profile `aws-standard`, line 26: error: `nodeGroups` contradicts `cluster.mode: existing` (at `cluster.nodeGroups`)",
        ),
        (
            "selfSigned with certificate files",
            swap(BASE, "key.pem}", "key.pem, selfSigned: true}"),
            "s.yaml:8:63: error: `selfSigned` contradicts certFile/keyFile (at `platform.tls.selfSigned`)",
        ),
        (
            "a certificate without its key",
            swap(BASE, ", keyFile: ./key.pem}", "}"),
            "s.yaml:8:3: error: platform.tls.keyFile is required (at `platform.tls`)",
        ),
        (
            "no certificate at all",
            swap(BASE, "{certFile: ./cert.pem, keyFile: ./key.pem}", "{}"),
            "s.yaml:8:3: error: platform.tls.certFile is required (at `platform.tls`)",
        ),
        (
            "GCP without a project",
            swap(GCP, "cloud:\n  project: my-project\n", ""),
            "built-in profile `gcp-standard`, line 5: error: cloud.project is required on GCP (at `cloud`)",
        ),
        (
            "GKE Autopilot",
            format!("{GCP}gcp:\n  autopilot: true\n"),
            "s.yaml:12:14: error: GKE Autopilot cannot run the platform: its fluentd DaemonSet needs host paths, which Autopilot refuses (at `gcp.autopilot`)",
        ),
        (
            "GCP pods range overlapping the network",
            format!("{GCP}gcp:\n  podsCidr: 10.10.0.0/16\n"),
            "s.yaml:12:13: error: 10.10.0.0/16 overlaps network.cidr (10.10.0.0/16) (at `gcp.podsCidr`)",
        ),
        (
            "GCP settings on AWS",
            with("gcp:\n  zonal: true\n"),
            "s.yaml:9:1: error: `gcp` settings need `cloud.provider: gcp` (at `gcp`)",
        ),
        // Secret sources.
        (
            "a secret from a file and a variable",
            with("database:\n  mode: external\n  connection: {fromEnv: DB, fromFile: ./db}\n"),
            "s.yaml:11:3: error: give either fromFile or fromEnv, not both (at `database.connection`)",
        ),
        (
            "a connection string inline",
            with("database:\n  mode: external\n  connection: postgres://u:p@h/db\n"),
            "s.yaml:11:15: error: expected a mapping, found a string (at `database.connection`)",
        ),
        (
            "an external database without a connection",
            with("database:\n  mode: external\n  connection: postgres://u:p@h/db\n"),
            "s.yaml:9:1: error: an external database needs `connection` (at `database`)",
        ),
        (
            "a secret under a key of its own",
            with("database:\n  mode: external\n  connection: {value: postgres://u:p@h/db}\n"),
            "s.yaml:11:16: error: unknown key `value` (at `database.connection.value`)\n    hint: known keys here: fromFile, fromEnv",
        ),
        (
            "an SMTP URL with no source",
            platform("smtp: {url: {}}"),
            "s.yaml:8:10: error: no source given (at `platform.smtp.url`)\n    hint: set `fromFile: PATH` or `fromEnv: VARIABLE`; secrets are never written inline",
        ),
        // Timeouts.
        (
            "a zero timeout",
            with("timeouts:\n  cluster: 0s\n"),
            "s.yaml:10:12: error: `0s` is not a duration (at `timeouts.cluster`)\n    hint: write it as 90s, 20m or 1h30m",
        ),
        (
            "a negative timeout",
            with("timeouts:\n  database: -5m\n"),
            "s.yaml:10:13: error: `-5m` is not a duration (at `timeouts.database`)",
        ),
        (
            "a timeout without a unit",
            with("timeouts:\n  helm: 30\n"),
            "s.yaml:10:9: error: `30` is not a duration (at `timeouts.helm`)",
        ),
        // Node group sizes.
        (
            "desired above max",
            node_group("{name: a, instanceTypes: [m6i.large], min: 1, max: 2, desired: 5}"),
            "s.yaml:11:7: error: sizes must satisfy min <= desired <= max and max >= 1 (got 1/5/2) (at `cluster.nodeGroups[0]`)",
        ),
        (
            "a group of at most zero nodes",
            node_group("{name: a, instanceTypes: [m6i.large], min: 0, max: 0, desired: 0}"),
            "s.yaml:11:7: error: sizes must satisfy min <= desired <= max and max >= 1 (got 0/0/0)",
        ),
        (
            "no instance types",
            node_group("{name: a, instanceTypes: [], min: 1, max: 2, desired: 1}"),
            "s.yaml:11:17: error: no instance types (at `cluster.nodeGroups[0].instanceTypes`)\n    hint: list at least one",
        ),
        (
            "two groups of one name",
            with(
                "cluster:\n  nodeGroups:\n    - {name: a, instanceTypes: [m6i.large], min: 1, max: 2, desired: 1}\n    - {name: a, instanceTypes: [m6i.large], min: 1, max: 2, desired: 1}\n",
            ),
            "s.yaml:12:14: error: node group `a` is defined twice (at `cluster.nodeGroups[1].name`)",
        ),
        (
            "a group without sizes",
            node_group("{name: a}"),
            "s.yaml:11:7: error: missing field `instanceTypes` (at `cluster.nodeGroups[0]`)",
        ),
        (
            "no node groups",
            with("cluster:\n  nodeGroups: []\n"),
            "s.yaml:9:1: error: at least one node group is required (at `cluster`)",
        ),
        (
            "an unknown taint effect",
            node_group(
                "{name: a, instanceTypes: [m6i.large], min: 1, max: 2, desired: 1, taints: [{key: k, effect: Never}]}",
            ),
            "s.yaml:11:99: error: unknown value `Never` (at `cluster.nodeGroups[0].taints[0].effect`)\n    hint: expected one of: NoSchedule, PreferNoSchedule, NoExecute",
        ),
        (
            "backups kept too long",
            with("database:\n  backupRetentionDays: 99\n"),
            "s.yaml:10:24: error: backups are kept 35 days at most (at `database.backupRetentionDays`)",
        ),
        // TLS files.
        (
            "a certificate that is not PEM",
            swap(BASE, "./cert.pem", "./garbage.pem"),
            "s.yaml:8:19: error: ./garbage.pem is not PEM: ",
        ),
        (
            "an empty certificate file",
            swap(BASE, "./cert.pem", "./empty.pem"),
            "s.yaml:8:19: error: ./empty.pem is not PEM: no `-----BEGIN ...-----` block found (at `platform.tls.certFile`)",
        ),
        (
            "the certificate as the key",
            swap(BASE, "./key.pem", "./cert.pem"),
            "s.yaml:8:40: error: ./cert.pem holds no private key (at `platform.tls.keyFile`)",
        ),
        (
            "a certificate for another domain",
            swap(BASE, "astro.example.com", "other.example.com"),
            "does not cover `*.other.example.com`, `other.example.com`",
        ),
        (
            "an ECDSA key",
            swap(
                BASE,
                "./cert.pem, keyFile: ./key.pem",
                "./ec-cert.pem, keyFile: ./ec-key.pem",
            ),
            "s.yaml:8:43: error: the private key in ./ec-key.pem is ECDSA; the platform needs an RSA key (at `platform.tls.keyFile`)",
        ),
        // Profiles and the chart.
        (
            "a list for a profile",
            swap(BASE, "profile: aws-standard", "profile: [aws-standard]"),
            "s.yaml:3:10: error: expected a string, found a list (at `profile`)",
        ),
        (
            "a profile file that is not YAML",
            swap(
                BASE,
                "profile: aws-standard",
                "profile: ./broken-profile.yaml",
            ),
            "error: ././broken-profile.yaml:2:1: while parsing a node, did not find expected node content",
        ),
        (
            "no profile, so no chart",
            swap(BASE, "profile: aws-standard\n", ""),
            "s.yaml:6:3: error: missing field `chart` (at `platform`)",
        ),
        (
            "an unpinned chart",
            platform("chart: {version: latest}"),
            "s.yaml:8:20: error: `latest` is not a pinned chart version (at `platform.chart.version`)\n    hint: pin an exact version, e.g. 0.37.7",
        ),
        (
            "a chart repository that is no URL",
            platform("chart: {repository: not a url}"),
            "s.yaml:8:23: error: `not a url` is not a chart repository (at `platform.chart.repository`)",
        ),
        (
            "an OIDC provider without its settings",
            platform("auth: {providers: [{type: oidc}]}"),
            "s.yaml:8:22: error: clientId is required (at `platform.auth.providers[0]`)",
        ),
    ]
}

/// The folder every case runs in: a good certificate and key, and the bad
/// files some cases name.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = &crate::cli_render::materials()[0];
    let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
    write("cert.pem", &m.chain_pem);
    write("key.pem", m.key_pem.expose());
    write(
        "garbage.pem",
        "-----BEGIN CERTIFICATE-----\nnot base64!!\n-----END CERTIFICATE-----\n",
    );
    write("empty.pem", "");
    write("broken-profile.yaml", "cloud: [\n");
    let ec = rcgen::generate_simple_self_signed(vec![
        "*.astro.example.com".to_string(),
        "astro.example.com".to_string(),
    ])
    .unwrap();
    write("ec-cert.pem", &ec.cert.pem());
    write("ec-key.pem", &ec.signing_key.serialize_pem());
    dir
}

fn validate(dir: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_liftoff"))
        .args(["validate", "-f", "s.yaml"])
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .output()
        .unwrap()
}

#[test]
fn every_bad_spec_is_refused_with_its_message_and_exit_code_3() {
    let cases = cases();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    let dir = folder();
    let mut failures = Vec::new();
    for (what, spec, expected) in &cases {
        std::fs::write(dir.path().join("s.yaml"), spec).unwrap();
        let out = validate(dir.path());
        let stderr = String::from_utf8_lossy(&out.stderr);
        if out.status.code() != Some(3) || !stderr.contains(expected) || stderr.contains("panicked")
        {
            failures.push(format!(
                "{what}: exit {:?}, expected to find\n  {expected}\nin\n{stderr}",
                out.status.code()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn the_good_spec_every_case_breaks_is_valid() {
    let dir = folder();
    for spec in [BASE, GCP] {
        std::fs::write(dir.path().join("s.yaml"), spec).unwrap();
        let out = validate(dir.path());
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
