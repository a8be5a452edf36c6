//! Kill anywhere (issue 10): install, a platform upgrade and destroy
//! against moto behind the proxy, with AWS's waits (scaled down) and
//! refusals, SIGKILLed at random points and run again until done. After
//! each install exactly one of each tagged resource exists and the next
//! plan changes nothing; after each upgrade exactly one database snapshot
//! was taken and the release is on the new chart; after each destroy
//! nothing tagged is left; install → upgrade → destroy repeats under the
//! same name. The kill points come from a seed, printed (`LIFTOFF_KILL_SEED`
//! replays it); `LIFTOFF_KILLS` sets how many kills at least (default 6;
//! `bench/kill-anywhere` asks for more).

use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Env, one_of_each, other_resources, sandbox_spec, tagged_ec2};
use crate::support::aws_like::Durations;

/// xorshift64*: enough to spread kill points, replayable from its seed.
struct Rng(u64);

impl Rng {
    fn unit(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.parse().ok()
}

/// Runs one command until it completes, killing it (SIGKILL) up to
/// `max_kills` times at a random point within `window` (the length of the
/// last complete run of this command). Every run that is not killed must
/// succeed.
struct Killer {
    rng: Rng,
    seed: u64,
    kills: usize,
    log: Vec<String>,
}

impl Killer {
    async fn run(&mut self, env: &Env, args: &[&str], window: &mut Duration, max_kills: usize) {
        let mut killed_here = 0;
        loop {
            let log = env.dir.path().join(format!("run-{}.log", self.log.len()));
            let file = std::fs::File::create(&log).unwrap();
            let mut cmd = env.command(args, &[]);
            cmd.stdout(file.try_clone().unwrap()).stderr(file);
            let started = Instant::now();
            let mut child = cmd.kill_on_drop(true).spawn().unwrap();
            let deadline = if killed_here < max_kills {
                window.mul_f64(self.rng.unit())
            } else {
                Duration::from_secs(600)
            };
            match tokio::time::timeout(deadline, child.wait()).await {
                Err(_) => {
                    child.start_kill().unwrap();
                    child.wait().await.unwrap();
                    killed_here += 1;
                    self.kills += 1;
                    self.log
                        .push(format!("{args:?} killed after {:?}", started.elapsed()));
                }
                Ok(status) => {
                    let status = status.unwrap();
                    self.log
                        .push(format!("{args:?} done in {:?}", started.elapsed()));
                    assert!(
                        status.success(),
                        "{args:?} failed after {} kills (LIFTOFF_KILL_SEED={}):\n{}\n{}",
                        killed_here,
                        self.seed,
                        self.log.join("\n"),
                        std::fs::read_to_string(&log).unwrap_or_default()
                    );
                    *window = started.elapsed();
                    return;
                }
            }
        }
    }
}

/// The changes of the next plan that are not no-ops.
async fn busy(env: &Env) -> Vec<String> {
    let out = env.liftoff(&["plan", "--output", "json"], &[]).await;
    assert!(out.status.success(), "{}", super::text(&out));
    let plan: Value = super::last_json(&out.stdout);
    plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] != "no-op")
        .map(|c| format!("{} {} {}", c["address"], c["action"], c["reason"]))
        .collect()
}

/// The snapshots upgrades to 0.37.8 took of the database.
async fn upgrade_snapshots(sdk: &aws_config::SdkConfig) -> Vec<String> {
    let out = aws_sdk_rds::Client::new(sdk)
        .describe_db_snapshots()
        .db_instance_identifier("killed-db")
        .send()
        .await
        .unwrap();
    out.db_snapshots()
        .iter()
        .filter_map(|s| s.db_snapshot_identifier())
        .filter(|id| id.starts_with("killed-db-before-0-37-8-"))
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn install_upgrade_and_destroy_killed_anywhere_converge_again_and_again() {
    let seed = env_number("LIFTOFF_KILL_SEED").unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64
            | 1
    });
    let wanted = env_number("LIFTOFF_KILLS").unwrap_or(6) as usize;
    eprintln!("kill anywhere: LIFTOFF_KILL_SEED={seed} LIFTOFF_KILLS={wanted}");
    let env = Env::start(vec![]).await;
    env.proxy.hold_for(Durations::issue(0.1));
    env.write_spec(&sandbox_spec("killed", "single"));
    let sdk = env.sdk().await;
    let mut killer = Killer {
        rng: Rng(seed),
        seed,
        kills: 0,
        log: Vec::new(),
    };
    let (mut install_window, mut destroy_window) = (Duration::from_secs(4), Duration::from_secs(2));
    let mut upgrade_window = Duration::from_secs(1);
    let mut rounds = 0;
    while rounds < 2 || killer.kills < wanted {
        assert!(rounds < 2 + wanted, "too many rounds: {:#?}", killer.log);
        killer
            .run(&env, &["install", "--yes"], &mut install_window, 2)
            .await;
        let counts = tagged_ec2(&sdk, "killed").await;
        assert_eq!(counts, one_of_each(), "seed {seed}: {:#?}", killer.log);
        assert_eq!(other_resources(&sdk, "killed").await, (1, 1, 1, 2));
        let busy = busy(&env).await;
        assert!(busy.is_empty(), "seed {seed}: {busy:#?}\n{:#?}", killer.log);

        // The platform upgrade, killed anywhere too: one snapshot, however
        // many runs it took, and the release on the new chart.
        killer
            .run(
                &env,
                &["upgrade", "--to", "0.37.8", "--yes"],
                &mut upgrade_window,
                2,
            )
            .await;
        let snapshots = upgrade_snapshots(&sdk).await;
        assert_eq!(
            snapshots.len(),
            1,
            "seed {seed}: {snapshots:?}\n{:#?}",
            killer.log
        );
        let last = env.helm.upgrades().pop().unwrap_or_default();
        assert!(
            last.contains("--version 0.37.8") && !last.contains("--install"),
            "seed {seed}: {last}"
        );

        killer
            .run(
                &env,
                &["destroy", "--yes", "--skip-final-snapshot"],
                &mut destroy_window,
                2,
            )
            .await;
        let counts = tagged_ec2(&sdk, "killed").await;
        assert!(
            counts.values().all(|n| *n == 0),
            "seed {seed}: left {counts:?}\n{:#?}",
            killer.log
        );
        assert_eq!(other_resources(&sdk, "killed").await, (0, 0, 0, 0));
        super::faults::forget_kept_backups(&sdk, "killed-db").await;
        rounds += 1;
    }
    eprintln!(
        "kill anywhere: {} kills in {rounds} install/destroy rounds (seed {seed})\n{}",
        killer.kills,
        killer.log.join("\n")
    );
}
