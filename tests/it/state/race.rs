//! Two machines on one bucket: exactly one runs while the other is told who
//! holds the lock; a holder killed with SIGKILL is taken over once its lease
//! ran out; `state unlock`; and a state write that lost a race stops the
//! run without overwriting anything.

use std::time::Duration;

use super::{Bucket, Machine, World, finish, show, state_section};

/// Two machines race; the winner is killed; the other takes over after the
/// lease and converges with no duplicate.
async fn race_kill_and_take_over(bucket: Bucket) {
    let world = World::start().await;
    let state = state_section(&bucket, "6s");
    let a = Machine::new(&world, Some(&bucket), &state);
    let b = Machine::new(&world, Some(&bucket), &state);

    let first = a.spawn(&["install", "--yes"]);
    let second = b.spawn(&["install", "--yes"]);
    let (first_pid, second_pid) = (first.id().unwrap(), second.id().unwrap());
    let holder = world.upgrade_started(Duration::from_secs(120)).await;
    let (winner, loser, loser_pid) = if holder == first_pid {
        (first, second, second_pid)
    } else {
        assert_eq!(holder, second_pid, "the upgrade is one of the racers'");
        (second, first, first_pid)
    };
    let lost = finish(loser).await;
    assert_eq!(lost.code, 6, "pid {loser_pid}: {lost}");
    let url = bucket.url();
    assert!(
        lost.stderr.contains(&format!(
            "another liftoff run holds the lock on {url}/acme.lock"
        )),
        "{lost}"
    );
    assert!(
        lost.stderr
            .contains(&format!("(pid {holder}, `liftoff install --yes")),
        "{lost}"
    );
    assert!(lost.stderr.contains("lease left"), "{lost}");
    assert!(!lost.stderr.contains("versioning is off"), "{lost}");

    // The holder dies without a chance to let go.
    let mut winner = winner;
    winner.kill().await.unwrap();
    let shown = show(&b).await;
    assert_eq!(shown["lock"]["expired"], false, "{shown}");
    assert!(
        shown["lock"]["holder"]
            .as_str()
            .unwrap()
            .contains(&format!("pid {holder}")),
        "{shown}"
    );
    // Not removable by hand while its lease runs (without --force).
    let refused = b.run(&["state", "unlock"]).await;
    assert_eq!(refused.code, 6, "{refused}");
    assert!(refused.stderr.contains("lease left"), "{refused}");

    // Once the lease ran out (nobody renews it), the next run takes over.
    let start = std::time::Instant::now();
    loop {
        if show(&b).await["lock"]["expired"] == true {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the lease never ran out"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    world.open_gate();
    let run = b.run(&["install", "--yes"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(
        run.stderr.contains("warning: took over the lock on"),
        "{run}"
    );
    assert!(run.stderr.contains(&format!("pid {holder}")), "{run}");

    // Converged: every resource recorded once, ready; the lock let go; no
    // state on either machine's disk.
    let doc = bucket.state().await.expect("the state is in the bucket");
    let resources = doc["resources"].as_object().unwrap();
    assert!(resources.len() >= 3, "{doc}");
    for (address, entry) in resources {
        assert_eq!(entry["status"], "ready", "{address}: {doc}");
    }
    assert!(
        bucket.get("acme.lock").await.is_none(),
        "the lock was released"
    );
    for m in [&a, &b] {
        assert!(!m.path(".liftoff/acme.state.json").exists());
    }
    assert_eq!(
        world
            .kube
            .names("/api/v1/namespaces/astronomer/secrets")
            .iter()
            .filter(|n| n.as_str() == "astronomer-tls")
            .count(),
        1
    );
    // A re-run from the first machine changes nothing.
    let again = a.run(&["install", "--yes"]).await;
    assert_eq!(again.code, 0, "{again}");
    assert!(again.stdout.contains("No changes"), "{again}");
}

/// A run holds the lock; someone edits the stored state by hand meanwhile:
/// the run's next write is refused, and the edit is kept.
async fn a_lost_write_race_stops_the_run(bucket: Bucket) {
    let world = World::start().await;
    let a = Machine::new(&world, Some(&bucket), &state_section(&bucket, "30s"));
    let running = a.spawn(&["install", "--yes"]);
    world.upgrade_started(Duration::from_secs(120)).await;
    let mut edited = bucket
        .state()
        .await
        .expect("intents are written before the creates");
    edited["serial"] = 1000.into();
    let edited = serde_json::to_vec_pretty(&edited).unwrap();
    bucket.put("acme.state.json", &edited).await;
    world.open_gate();
    let run = finish(running).await;
    assert_eq!(run.code, 1, "{run}");
    assert!(
        run.stderr.contains(&format!(
            "the state {}/acme.state.json was changed by someone else after this run read it; it was not overwritten",
            bucket.url()
        )),
        "{run}"
    );
    assert!(
        run.stderr.contains("hint: another run wrote the state"),
        "{run}"
    );
    assert_eq!(bucket.get("acme.state.json").await.unwrap(), edited);
    assert!(
        bucket.get("acme.lock").await.is_none(),
        "the lock was released"
    );
}

/// `state unlock --force` removes a dead run's lock at once.
async fn force_unlock(bucket: Bucket) {
    let world = World::start().await;
    let a = Machine::new(&world, Some(&bucket), &state_section(&bucket, "10m"));
    let mut running = a.spawn(&["install", "--yes"]);
    world.upgrade_started(Duration::from_secs(120)).await;
    running.kill().await.unwrap();
    let refused = a.run(&["install", "--yes"]).await;
    assert_eq!(refused.code, 6, "{refused}");
    assert!(
        refused.stderr.contains("lease left 10m") || refused.stderr.contains("lease left 9m"),
        "{refused}"
    );
    assert!(refused.stderr.contains("state unlock --force"), "{refused}");
    let unlocked = a.run(&["state", "unlock", "--force"]).await;
    assert_eq!(unlocked.code, 0, "{unlocked}");
    assert!(
        unlocked.stderr.contains("Removed the lock of"),
        "{unlocked}"
    );
    assert!(bucket.get("acme.lock").await.is_none());
    let none = a.run(&["state", "unlock"]).await;
    assert_eq!(none.code, 1, "{none}");
    assert!(none.stderr.contains("is not locked"), "{none}");
    world.open_gate();
    world.forget_started();
    let run = a.run(&["install", "--yes"]).await;
    assert_eq!(run.code, 0, "{run}");
    assert!(!run.stderr.contains("took over"), "{run}");
    assert_eq!(world.upgrades(), 2, "the killed run's and this one's");
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn s3_two_machines_race_the_killed_holder_is_taken_over() {
    let bucket = Bucket::s3(true).await;
    race_kill_and_take_over(bucket).await;
}

#[cfg(feature = "gcp")]
#[tokio::test(flavor = "multi_thread")]
async fn gcs_two_machines_race_the_killed_holder_is_taken_over() {
    let bucket = Bucket::gcs(true).await;
    race_kill_and_take_over(bucket).await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn s3_a_lost_write_race_stops_the_run() {
    let bucket = Bucket::s3(true).await;
    a_lost_write_race_stops_the_run(bucket).await;
}

#[cfg(feature = "gcp")]
#[tokio::test(flavor = "multi_thread")]
async fn gcs_a_lost_write_race_stops_the_run() {
    let bucket = Bucket::gcs(true).await;
    a_lost_write_race_stops_the_run(bucket).await;
}

#[cfg(feature = "aws")]
#[tokio::test(flavor = "multi_thread")]
async fn s3_force_unlock_removes_a_dead_runs_lock() {
    let bucket = Bucket::s3(true).await;
    force_unlock(bucket).await;
}

#[cfg(feature = "gcp")]
#[tokio::test(flavor = "multi_thread")]
async fn gcs_force_unlock_removes_a_dead_runs_lock() {
    let bucket = Bucket::gcs(true).await;
    force_unlock(bucket).await;
}
