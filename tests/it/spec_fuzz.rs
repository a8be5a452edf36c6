//! Fuzzing the spec loader on stable Rust: proptest feeds YAML-ish input to
//! the function `liftoff validate` runs ([`liftoff::compose::validate_str`])
//! and asserts it never panics and that every error it returns has a
//! position and a hint. A bounded number of cases keeps it to seconds; the
//! cargo-fuzz target in bench/fuzz runs the same check for as long as asked.

use std::path::Path;

use liftoff::spec::{SpecError, yaml};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// Valid specs for mutation; `./cert.pem` and `./key.pem` exist.
const SEEDS: &[&str] = &[
    "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: aws-standard\nmetadata:\n  name: acme\n  tags: {team: data}\nnetwork:\n  cidr: 10.0.0.0/16\n  zoneCount: 3\ncluster:\n  nodeGroups:\n    - {name: small, instanceTypes: [t3.large], min: 1, max: 2, desired: 1, taints: [{key: k, effect: NoSchedule}]}\ndatabase:\n  storageGb: 100\ntimeouts:\n  cluster: 30m\nplatform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem}\n  values: {global: {x: 1}}\n",
    "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: gcp-standard\nmetadata:\n  name: acme\ncloud:\n  project: my-project\n  zones: [us-central1-a, us-central1-b, us-central1-c]\nplatform:\n  baseDomain: astro.example.com\n  tls:\n    certFile: ./cert.pem\n    keyFile: ./key.pem\n",
    "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: existing-cluster\nmetadata: {name: onprem}\ndatabase:\n  connection: {fromEnv: DATABASE_URL}\nplatform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem}\n  smtp: {url: {fromFile: ./cert.pem}}\n  auth: {providers: [{type: oidc, clientId: x, discoveryUrl: \"https://idp.example.com/.well-known/openid-configuration\"}]}\n",
    "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: sandbox\nmetadata:\n  name: demo\ncloud:\n  provider: aws\n  region: us-east-1\nplatform:\n  baseDomain: astro.example.com\n",
    "apiVersion: liftoff.dev/v1\nkind: Installation\nprofile: aws-existing-network\nmetadata:\n  name: acme\nnetwork:\n  vpcId: vpc-0123\n  privateSubnetIds: [subnet-a, subnet-b]\n  publicSubnetIds: [subnet-c, subnet-d]\ndns: {zone: example.com}\nplatform:\n  baseDomain: astro.example.com\n  tls: {certFile: ./cert.pem, keyFile: ./key.pem}\n",
];

/// Pieces of YAML and of the spec's vocabulary, for token soups.
const TOKENS: &[&str] = &[
    ": ",
    ":",
    "\n",
    "  ",
    "    ",
    "\t",
    "- ",
    "-",
    "[",
    "]",
    "{",
    "}",
    ", ",
    "&a ",
    "&b ",
    "*a",
    "*b",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!custom ",
    "'",
    "\"",
    "# c",
    "? ",
    "| ",
    ">- ",
    "---\n",
    "...\n",
    "%YAML 1.2\n",
    "~",
    "null",
    "Null",
    ".inf",
    "-.inf",
    ".nan",
    "0x1F",
    "0o17",
    "1e400",
    "-0",
    "+1",
    "99999999999999999999999999",
    "18446744073709551616",
    "-1",
    "3.0",
    "yes",
    "no",
    "on",
    "true",
    "False",
    "",
    "é",
    "\u{feff}",
    "\u{0}",
    "\\",
    "<<: *a",
    "apiVersion",
    "liftoff.dev/v1",
    "kind",
    "Installation",
    "profile",
    "aws-standard",
    "sandbox",
    "gcp-standard",
    "./cert.pem",
    "metadata",
    "name",
    "acme",
    "cloud",
    "provider",
    "aws",
    "network",
    "cidr",
    "10.0.0.0/16",
    "zones",
    "zoneCount",
    "cluster",
    "nodeGroups",
    "min",
    "max",
    "desired",
    "instanceTypes",
    "database",
    "mode",
    "external",
    "connection",
    "fromEnv",
    "fromFile",
    "platform",
    "baseDomain",
    "astro.example.com",
    "tls",
    "certFile",
    "keyFile",
    "selfSigned",
    "timeouts",
    "30m",
    "values",
    "dns",
    "zone",
    "airgap",
    "enabled",
];

/// Odd scalars to put where a spec expects a value.
const ODD: &[&str] = &[
    "~",
    "null",
    "\"\"",
    "''",
    ".inf",
    "-.nan",
    "0x7fffffff",
    "1e400",
    "-0",
    "+1",
    "99999999999999999999999999999999",
    "-99999999999999999999",
    "4294967296",
    "65536",
    "256",
    "yes",
    "No",
    "!!binary aGVsbG8=",
    "!!float 3",
    "!!null",
    "[]",
    "{}",
    "[[[]]]",
    "{a: {b: {}}}",
    "\"\\u0000\"",
    "\"\\ud800\"",
    "é✓",
    "|\n  block\n",
    ">\n  folded\n",
    "&x 1",
    "*x",
    "'it''s'",
    "\"a\\tb\"",
    "0.0.0.0/0",
    "255.255.255.255/32",
    "10.0.0.0/-1",
    "1h99999999999m",
    "999999999999999h",
    "0s",
    "-1m",
    "a b: c",
];

/// The loader must return, and every error must have a position and a hint.
fn check(dir: &Path, text: &str) -> Result<(), TestCaseError> {
    let result = liftoff::compose::validate_str("fuzz.yaml", text, dir);
    let Err(err) = result else { return Ok(()) };
    prop_assert!(err.hint().is_some(), "no hint for {err}");
    match &err {
        SpecError::Syntax(e) => {
            prop_assert!(e.pos.line >= 1 && e.pos.col >= 1, "no position: {e}");
            prop_assert!(!e.message.is_empty(), "an empty message at {}", e.pos);
        }
        SpecError::Invalid(diagnostics) => {
            prop_assert!(diagnostics.errors().count() >= 1, "invalid without errors");
            for d in &diagnostics.0 {
                prop_assert!(d.pos.line >= 1 && d.pos.col >= 1, "no position: {d}");
                prop_assert!(!d.message.is_empty(), "an empty message at {}", d.pos);
                prop_assert!(!d.message.contains("Some("), "a Debug dump: {d}");
            }
        }
        SpecError::Read { .. } => prop_assert!(false, "text needs no read: {err}"),
    }
    Ok(())
}

/// A folder with the certificate and key the seeds name.
fn folder() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let m = &crate::cli_render::materials()[0];
    std::fs::write(dir.path().join("cert.pem"), &m.chain_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), m.key_pem.expose()).unwrap();
    dir
}

/// Runs `check` on `cases` inputs from `strategy`.
fn fuzz(cases: u32, strategy: impl Strategy<Value = String>) {
    let dir = folder();
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    if let Err(e) = runner.run(&strategy, |text| check(dir.path(), &text)) {
        panic!("{e}");
    }
}

#[derive(Debug, Clone)]
enum Edit {
    Delete(usize, usize),
    Insert(usize, &'static str),
    Replace(usize, &'static str),
    DuplicateLine(usize),
    SwapLines(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let token = proptest::sample::select(TOKENS);
    prop_oneof![
        (any::<usize>(), 1usize..20).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), token.clone()).prop_map(|(at, t)| Edit::Insert(at, t)),
        (any::<usize>(), token).prop_map(|(at, t)| Edit::Replace(at, t)),
        any::<usize>().prop_map(Edit::DuplicateLine),
        (any::<usize>(), any::<usize>()).prop_map(|(a, b)| Edit::SwapLines(a, b)),
    ]
}

fn apply(seed: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    for e in edits {
        let len = chars.len().max(1);
        match *e {
            Edit::Delete(at, n) => {
                let at = at % len;
                let end = (at + n).min(chars.len());
                chars.drain(at.min(end)..end);
            }
            Edit::Insert(at, t) => {
                let at = at % (chars.len() + 1);
                chars.splice(at..at, t.chars());
            }
            Edit::Replace(at, t) => {
                if !chars.is_empty() {
                    let at = at % chars.len();
                    chars.splice(at..at + 1, t.chars());
                }
            }
            Edit::DuplicateLine(i) | Edit::SwapLines(i, _) => {
                let text: String = chars.iter().collect();
                let mut lines: Vec<&str> = text.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let i = i % lines.len();
                match *e {
                    Edit::SwapLines(_, j) => {
                        let j = j % lines.len();
                        lines.swap(i, j);
                    }
                    _ => lines.insert(i, lines[i]),
                }
                chars = (lines.join("\n") + "\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn random_bytes_never_panic_the_loader() {
    fuzz(
        300,
        proptest::collection::vec(any::<u8>(), 0..400)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
    );
}

#[test]
fn token_soups_never_panic_the_loader() {
    fuzz(
        400,
        proptest::collection::vec(proptest::sample::select(TOKENS), 0..80).prop_map(|t| t.concat()),
    );
}

#[test]
fn mutated_valid_specs_never_panic_the_loader() {
    fuzz(
        600,
        (
            proptest::sample::select(SEEDS),
            proptest::collection::vec(edit(), 1..6),
        )
            .prop_map(|(seed, edits)| apply(seed, &edits)),
    );
}

#[test]
fn odd_scalars_in_every_field_never_panic_the_loader() {
    // Replace the value after the n-th `: ` of a seed with an odd scalar.
    fuzz(
        600,
        (
            proptest::sample::select(SEEDS),
            any::<usize>(),
            proptest::sample::select(ODD),
        )
            .prop_map(|(seed, n, odd)| {
                let spots: Vec<usize> = seed.match_indices(": ").map(|(i, _)| i + 2).collect();
                let at = spots[n % spots.len()];
                let end = seed[at..]
                    .find(['\n', ',', '}'])
                    .map_or(seed.len(), |e| at + e);
                format!("{}{odd}{}", &seed[..at], &seed[end..])
            }),
    );
}

#[test]
fn deep_nesting_never_panics_the_loader() {
    fuzz(
        40,
        (0usize..4, 1usize..3000).prop_map(|(kind, depth)| {
            let body = match kind {
                0 => format!("{}{}", "[".repeat(depth), "]".repeat(depth)),
                1 => format!("{}{}", "{a: ".repeat(depth), "}".repeat(depth)),
                2 => (0..depth.min(400))
                    .map(|i| format!("{}- \n", " ".repeat(i * 2)))
                    .collect(),
                _ => (0..depth.min(400))
                    .map(|i| format!("{}k{i}:\n", " ".repeat(i)))
                    .collect(),
            };
            format!("{}\n  values:\n    x: {body}", SEEDS[3])
        }),
    );
}

#[test]
fn aliases_of_aliases_are_refused_not_expanded() {
    fuzz(
        40,
        (1usize..12, 1usize..12).prop_map(|(levels, width)| {
            let mut text = String::from("values:\n  l0: &l0 [x, y]\n");
            for level in 1..levels {
                let items = vec![format!("*l{}", level - 1); width].join(", ");
                text.push_str(&format!("  l{level}: &l{level} [{items}]\n"));
            }
            format!(
                "{}\n{}",
                SEEDS[3],
                text.replace("values:", "  values:")
                    .replace("\n  l", "\n    l")
            )
        }),
    );
    // Ten levels of ten: ten billion values. Each level holds ten times the
    // values of the one before (11, 111, ...): the eighth alias on line 5
    // passes the limit.
    let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..10 {
        let items = vec![format!("*a{}", level - 1); 10].join(", ");
        text.push_str(&format!("a{level}: &a{level} [{items}]\n"));
    }
    match yaml::parse("laughs.yaml", &text) {
        Err(e) => assert_eq!(
            e.to_string(),
            "laughs.yaml:5:45: the aliases expand the document past 100000 values"
        ),
        Ok(_) => panic!("ten billion values were expanded"),
    }
}

#[test]
fn a_second_document_is_refused_not_ignored() {
    let e = yaml::parse("two.yaml", "a: 1\n---\nb: 2\n").unwrap_err();
    assert_eq!(
        e.to_string(),
        "two.yaml:2:1: a second YAML document: a spec is one document"
    );
}
