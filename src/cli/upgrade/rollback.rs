//! `liftoff rollback` and the release's part of `liftoff status`.

use super::*;

pub(in crate::cli) async fn rollback(
    cli: &Cli,
    revision: Option<u64>,
    yes: bool,
) -> Result<(), Error> {
    let u = open(cli, None)?;
    let spec = &u.loaded.spec;
    let release = u.driver.release_view().await?.ok_or_else(|| {
        refused(
            format!(
                "release {} is not installed in namespace {}: there is nothing to roll back",
                spec.platform.release_name, spec.platform.namespace
            ),
            "install the platform first: `liftoff install`",
        )
    })?;
    let to = match revision {
        Some(r) => {
            if !release.revisions.iter().any(|x| x.revision == r) {
                return Err(refused(
                    format!(
                        "release {} has no revision {r} (it has {})",
                        spec.platform.release_name,
                        release
                            .revisions
                            .iter()
                            .map(|x| x.revision.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    "`liftoff status` lists the revisions Helm keeps",
                ));
            }
            r
        }
        None => release.previous().ok_or_else(|| {
            refused(
                format!(
                    "release {} has no earlier deployed revision to roll back to",
                    spec.platform.release_name
                ),
                "`liftoff status` lists the revisions Helm keeps",
            )
        })?,
    };
    let chart = release
        .revisions
        .iter()
        .find(|r| r.revision == to)
        .map(|r| r.chart_version().to_string())
        .unwrap_or_default();
    if cli.output == Output::Text {
        outln!(
            "Release {} is at revision {} (chart {}, {}); rolling back to revision {to} (chart {chart}).",
            spec.platform.release_name,
            release.revision,
            release.chart_version,
            release.status
        );
    }
    if !yes {
        confirm(&format!(
            "Roll `{}` back to revision {to}?",
            spec.metadata.name
        ))
        .await?;
    }
    crate::cli::interrupt::applying();
    let recorder = Lines::new(cli);
    let mut op = Operation {
        command: "rollback".into(),
        started: now_utc(),
        finished: None,
        outcome: "running".into(),
        detail: json!({"from": release.revision, "to": to, "chart": chart}),
    };
    u.store.put_operation(op.clone())?;
    match u.driver.rollback_release(to, &recorder).await {
        Ok(done) => {
            // The spec's digest no longer describes what runs: the next
            // install plans the spec's chart and values again.
            let mut rolled = spec.clone();
            rolled.platform.chart.version = done.chart_version.clone();
            record_release(&u, &rolled, &done)?;
            if let Some(mut entry) = u.store.get(&Address::new(graph::HELM_RELEASE)) {
                entry.props["valuesDigest"] = format!("rolled back to revision {to}").into();
                u.store
                    .put(&Address::new(graph::HELM_RELEASE), Some(entry))?;
            }
            op.outcome = "succeeded".into();
            op.finished = Some(now_utc());
            op.detail["revision"] = done.revision.into();
            u.store.put_operation(op)?;
            match cli.output {
                Output::Json => print_json(&json!({
                    "event": "result",
                    "status": "rolled-back",
                    "revision": done.revision,
                    "chart": done.chart_version,
                    "rolledBackTo": to,
                })),
                Output::Text => {
                    outln!(
                        "Rolled back: release {} is deployed on chart {} (revision {}, a copy of revision {to}).",
                        spec.platform.release_name,
                        done.chart_version,
                        done.revision
                    );
                    outln!(
                        "The database was not restored: if an upgrade changed its schema, restore the snapshot taken before it (`liftoff status` shows the last operation)."
                    );
                }
            }
            Ok(())
        }
        Err(e) => {
            op.outcome = "failed".into();
            op.finished = Some(now_utc());
            op.detail["error"] = crate::chain::one_line(&e).into();
            let _ = u.store.put_operation(op);
            Err(Error::UpgradeFailed {
                message: format!("the rollback to revision {to} failed"),
                hint: e.hint.clone().unwrap_or_else(|| {
                    "fix the cause above, then run `liftoff rollback` again".into()
                }),
                cause: Some(e),
            })
        }
    }
}

/// The release's part of `status`: installed version and revisions, read
/// from the cluster when it can be reached within a few seconds.
pub(in crate::cli) async fn release_status(cli: &Cli, loaded: &Loaded) -> Value {
    let secrets: Arc<dyn crate::secret::Vault> = match settings(cli, loaded)
        .map_err(|e| e.to_string())
        .and_then(|s| crate::state::secrets(&s.location).map_err(|e| e.to_string()))
    {
        Ok(s) => s,
        Err(e) => return json!({"error": e}),
    };
    let setup = Setup {
        secrets: secrets.clone(),
        skip_final_snapshot: false,
        kubernetes_upgrade: false,
        // Read only: no lock taken (status works during another run).
        records: None,
    };
    let mut unused = crate::plan::driver::Drivers::new();
    let handoff =
        match compose::cloud(&loaded.spec).map(|c| c.register(&loaded.spec, &setup, &mut unused)) {
            Some(Ok(h)) => h,
            Some(Err(e)) => return json!({"error": e.message}),
            None => Default::default(),
        };
    let driver = crate::cluster::build(
        &loaded.spec,
        &loaded.base_dir,
        handoff,
        Default::default(),
        Vec::new(),
    );
    let read =
        tokio::time::timeout(std::time::Duration::from_secs(20), driver.release_view()).await;
    match read {
        Err(_) => json!({"error": "the cluster did not answer within 20 seconds"}),
        Ok(Err(e)) => json!({"error": crate::chain::one_line(&e)}),
        Ok(Ok(None)) => json!({"installed": false}),
        Ok(Ok(Some(r))) => json!({
            "installed": true,
            "status": r.status,
            "revision": r.revision,
            "chartVersion": r.chart_version,
            "revisions": r.revisions,
        }),
    }
}
