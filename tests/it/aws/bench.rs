//! The performance benchmark of issue 10 (not a timed test: it measures and
//! prints; `bench/perf` runs it). moto behind the proxy plays AWS's durations
//! scaled by 1/60 (NAT 1.2 s, RDS 6 s, EKS 10 s, node group 4 s; deletes
//! 1 / 2 / 3 / 2 s) and liftoff runs with `LIFTOFF_TIME_SCALE=1/60`, so its
//! polls are fitted to the same durations. Measured in one run: install and
//! destroy of the cloud phase against the critical path of the plan's graph
//! computed from those durations; API calls and describe polls per waited
//! resource; `plan` on the installed installation (time, calls, describes
//! per resource); start-up time.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Env, sandbox_spec, text};
use crate::support::aws_like::Durations;

const SCALE: f64 = 1.0 / 60.0;

/// Seconds each kind takes to create and to delete, as the proxy plays it.
fn kind_seconds(d: &Durations, kind: &str) -> (f64, f64) {
    let s = |x: Duration| x.as_secs_f64();
    match kind {
        "aws.nat" => (s(d.nat), s(d.nat_delete)),
        "aws.database" => (s(d.database), s(d.database_delete)),
        "aws.eks_cluster" => (s(d.cluster), s(d.cluster_delete)),
        "aws.eks_nodegroup" => (s(d.node_group), s(d.node_group_delete)),
        _ => (0.0, 0.0),
    }
}

/// The longest path through the plan's graph: creates after their deps;
/// deletes after everything that depends on them (and their
/// `delete_after`).
fn critical_paths(plan: &Value, d: &Durations) -> (f64, f64) {
    let changes = plan["changes"].as_array().unwrap();
    let deps: HashMap<&str, Vec<&str>> = changes
        .iter()
        .map(|c| {
            let ds = c["deps"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect();
            (c["address"].as_str().unwrap(), ds)
        })
        .collect();
    let kind: HashMap<&str, &str> = changes
        .iter()
        .map(|c| (c["address"].as_str().unwrap(), c["kind"].as_str().unwrap()))
        .collect();
    fn finish<'a>(
        a: &'a str,
        next: &dyn Fn(&'a str) -> Vec<&'a str>,
        cost: &dyn Fn(&str) -> f64,
        memo: &mut HashMap<&'a str, f64>,
    ) -> f64 {
        if let Some(v) = memo.get(a) {
            return *v;
        }
        let before = next(a)
            .into_iter()
            .map(|b| finish(b, next, cost, memo))
            .fold(0.0, f64::max);
        let v = before + cost(a);
        memo.insert(a, v);
        v
    }
    let create_cost = |a: &str| kind_seconds(d, kind[a]).0;
    let delete_cost = |a: &str| kind_seconds(d, kind[a]).1;
    let upstream = |a: &str| -> Vec<&str> {
        deps.get(a)
            .map(|v| v.iter().copied().filter(|x| kind.contains_key(x)).collect())
            .unwrap_or_default()
    };
    let downstream = |a: &str| -> Vec<&str> {
        let mut v: Vec<&str> = deps
            .iter()
            .filter(|(_, ds)| ds.contains(&a))
            .map(|(b, _)| *b)
            .collect();
        v.extend(
            changes
                .iter()
                .find(|c| c["address"] == a)
                .and_then(|c| c["delete_after"].as_array())
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .filter(|x| kind.contains_key(x)),
        );
        v
    };
    let mut memo = HashMap::new();
    let install = kind
        .keys()
        .map(|a| finish(a, &upstream, &create_cost, &mut memo))
        .fold(0.0, f64::max);
    let mut memo = HashMap::new();
    let destroy = kind
        .keys()
        .map(|a| finish(a, &downstream, &delete_cost, &mut memo))
        .fold(0.0, f64::max);
    (install, destroy)
}

/// Calls by name between two instants.
fn calls_between(
    timed: &[(Instant, String)],
    from: Instant,
    to: Instant,
) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for (t, name) in timed.iter().filter(|(t, _)| *t >= from && *t <= to) {
        let _ = t;
        *m.entry(name.clone()).or_default() += 1;
    }
    m
}

fn is_mutating(name: &str) -> bool {
    [
        "Create", "Allocate", "Delete", "Release", "POST ", "DELETE ",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The waited-for resources' describe polls, by resource, during a span.
fn polls(calls: &BTreeMap<String, usize>) -> Vec<(String, usize)> {
    let mut out = vec![
        (
            "NAT gateway (DescribeNatGateways)".to_string(),
            calls.get("DescribeNatGateways").copied().unwrap_or(0),
        ),
        (
            "database (DescribeDBInstances)".to_string(),
            calls.get("DescribeDBInstances").copied().unwrap_or(0),
        ),
    ];
    for (name, n) in calls {
        if name.starts_with("GET /clusters/") {
            out.push((name.clone(), *n));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run by bench/perf"]
async fn performance() {
    let env = Env::start(vec![]).await;
    let durations = Durations::issue(1.0);
    env.proxy.hold_for(durations);
    env.write_spec(&sandbox_spec("bench", "single"));
    let scale = format!("{SCALE}");
    let run_env = [
        ("LIFTOFF_TIME_SCALE", scale.as_str()),
        ("LIFTOFF_AWS_POLL_MS", ""),
    ];
    let mut report = String::new();
    let mut line = |s: String| {
        println!("{s}");
        report.push_str(&s);
        report.push('\n');
    };

    // Start-up: `liftoff --version`, median of 9.
    let mut startup: Vec<Duration> = Vec::new();
    for _ in 0..9 {
        let t = Instant::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_liftoff"))
            .arg("--version")
            .output()
            .await
            .unwrap();
        assert!(out.status.success());
        startup.push(t.elapsed());
    }
    startup.sort();

    let plan = env
        .liftoff(&["plan", "--phase", "cloud", "--output", "json"], &run_env)
        .await;
    assert!(plan.status.success(), "{}", text(&plan));
    let plan = super::last_json(&plan.stdout);
    let resources = plan["changes"].as_array().unwrap().len();
    let (install_bound, destroy_bound) = critical_paths(&plan, &durations);

    env.proxy.clear_calls();
    let t = Instant::now();
    let out = env
        .liftoff(&["install", "--phase", "cloud", "--yes"], &run_env)
        .await;
    let install_wall = t.elapsed();
    let end = Instant::now();
    assert!(out.status.success(), "{}", text(&out));
    let timed = env.proxy.timed_calls();
    let first_change = timed
        .iter()
        .find(|(_, n)| is_mutating(n))
        .map(|(t, _)| *t)
        .unwrap();
    let last_call = timed.last().unwrap().0;
    let install_span = last_call - first_change;
    let install_calls = calls_between(&timed, t, end);
    let trace = std::env::var_os("LIFTOFF_BENCH_TRACE").is_some();
    if trace {
        for (at, name) in &timed {
            if *at >= first_change {
                println!(
                    "install +{:.3} s {name}",
                    (*at - first_change).as_secs_f64()
                );
            }
        }
    }

    env.proxy.clear_calls();
    let t = Instant::now();
    let out = env.liftoff(&["plan", "--phase", "cloud"], &run_env).await;
    let plan_wall = t.elapsed();
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("No changes"),
        "{}",
        text(&out)
    );
    let plan_calls = calls_between(&env.proxy.timed_calls(), t, Instant::now());
    let plan_total: usize = plan_calls.values().sum();
    let plan_describes: usize = plan_calls
        .iter()
        .filter(|(n, _)| {
            n.starts_with("Describe") || n.starts_with("GET ") || n.starts_with("List")
        })
        .map(|(_, n)| n)
        .sum();

    env.proxy.clear_calls();
    let t = Instant::now();
    let out = env
        .liftoff(
            &[
                "destroy",
                "--phase",
                "cloud",
                "--yes",
                "--skip-final-snapshot",
            ],
            &run_env,
        )
        .await;
    let destroy_wall = t.elapsed();
    let end = Instant::now();
    assert!(out.status.success(), "{}", text(&out));
    let timed = env.proxy.timed_calls();
    let first_change = timed
        .iter()
        .find(|(_, n)| is_mutating(n))
        .map(|(t, _)| *t)
        .unwrap();
    // To the last delete: the check for leftovers that follows is not
    // waiting on AWS.
    let last_change = timed
        .iter()
        .rev()
        .find(|(_, n)| is_mutating(n))
        .map(|(t, _)| *t)
        .unwrap();
    let destroy_span = last_change - first_change;
    if trace {
        for (at, name) in &timed {
            if *at >= first_change {
                println!(
                    "destroy +{:.3} s {name}",
                    (*at - first_change).as_secs_f64()
                );
            }
        }
        println!("plan calls: {plan_calls:?}");
    }
    let destroy_calls = calls_between(&timed, t, end);

    let s = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    line(format!(
        "liftoff performance benchmark (proxy durations x{}, LIFTOFF_TIME_SCALE={SCALE:.5}; {resources} cloud resources)",
        1.0
    ));
    line(String::new());
    line("| measure | value | bound | ratio |".into());
    line("| --- | --- | --- | --- |".into());
    line(format!(
        "| install, first change to last call | {} | {install_bound:.2} s | {:.3} |",
        s(install_span),
        install_span.as_secs_f64() / install_bound
    ));
    line(format!(
        "| install, whole command | {} | | |",
        s(install_wall)
    ));
    line(format!(
        "| destroy, first change to last change | {} | {destroy_bound:.2} s | {:.3} |",
        s(destroy_span),
        destroy_span.as_secs_f64() / destroy_bound
    ));
    line(format!(
        "| destroy, whole command | {} | | |",
        s(destroy_wall)
    ));
    line(format!(
        "| plan on the installed installation | {} | | |",
        s(plan_wall)
    ));
    line(format!(
        "| start-up (`liftoff --version`, median of 9) | {:.1} ms | | |",
        startup[4].as_secs_f64() * 1000.0
    ));
    line(String::new());
    line(format!(
        "plan on the installed installation: {plan_total} API calls, {plan_describes} describe/list/get calls for {resources} resources ({:.2} per resource)",
        plan_describes as f64 / resources as f64
    ));
    let fixed = |secs: f64| (secs / (2.0 * SCALE)).ceil() as usize;
    line(String::new());
    line("| install: waited resource | describe polls | a fixed 2 s poller (scaled) |".into());
    line("| --- | --- | --- |".into());
    for (what, n) in polls(&install_calls) {
        let secs = if what.starts_with("NAT") {
            durations.nat.as_secs_f64()
        } else if what.starts_with("database") {
            durations.database.as_secs_f64()
        } else if what.contains("/node-groups/") {
            durations.node_group.as_secs_f64()
        } else {
            durations.cluster.as_secs_f64()
        };
        line(format!("| {what} | {n} | {} |", fixed(secs)));
    }
    line(String::new());
    line("| destroy: waited resource | describe polls | a fixed 2 s poller (scaled) |".into());
    line("| --- | --- | --- |".into());
    for (what, n) in polls(&destroy_calls) {
        let secs = if what.starts_with("NAT") {
            durations.nat_delete.as_secs_f64()
        } else if what.starts_with("database") {
            durations.database_delete.as_secs_f64()
        } else if what.contains("/node-groups/") {
            durations.node_group_delete.as_secs_f64()
        } else {
            durations.cluster_delete.as_secs_f64()
        };
        line(format!("| {what} | {n} | {} |", fixed(secs)));
    }
    line(String::new());
    let total: usize = install_calls.values().sum();
    line(format!("install: {total} API calls: {install_calls:?}"));
    let total: usize = destroy_calls.values().sum();
    line(format!("destroy: {total} API calls: {destroy_calls:?}"));
    if let Ok(path) = std::env::var("LIFTOFF_BENCH_OUT") {
        std::fs::write(path, report).unwrap();
    }
}
