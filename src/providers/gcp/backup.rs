//! The database backup a platform upgrade takes first on GCP: an on-demand
//! Cloud SQL backup run of the instance this installation created
//! (`backupRuns.insert`, its description naming the installation and the
//! upgrade's label, unique to the operation), the operation and then the
//! backup run waited for until SUCCESSFUL (deadline `timeouts.database`).
//! An upgrade cut off while it waited is taken up again with the same
//! label: the run it began is found by its description and waited for,
//! not taken twice.

use google_cloud_sql_v1::model::{self as m, SqlBackupRunStatus};

use super::driver::{GcpDriver, Options};
use super::{error, kind, operations};
use crate::plan::driver::{DriverError, Recorder};
use crate::providers::{Setup, Snapshot};
use crate::spec::Spec;
use crate::wait::{self, Poll};

/// The backup run's description: the installation and the upgrade's label.
pub fn description(installation: &str, label: &str) -> String {
    format!("liftoff {installation}: {label}")
}

/// Backs up the installation's Cloud SQL instance; `None` when the state
/// records none.
pub async fn take(
    spec: &Spec,
    setup: &Setup,
    label: &str,
    recorder: &dyn Recorder,
) -> Result<Option<Snapshot>, DriverError> {
    let Some(outputs) = setup.recorded_outputs(kind::SQL_INSTANCE) else {
        return Ok(None);
    };
    let Some(instance) = outputs
        .get("name")
        .or(outputs.get("id"))
        .and_then(|v| v.as_str())
        .map(str::to_string)
    else {
        return Ok(None);
    };
    let driver = GcpDriver::new(Options::from_spec(spec, setup.secrets.clone()));
    let g = driver.gcp().await?;
    let project = g.opts.project.clone();
    let description = description(&g.opts.installation, label);
    recorder.progress(&format!(
        "Cloud SQL backup of {instance} (\"{description}\")"
    ));
    let id = match begun(g, &instance, &description).await? {
        Some(id) => {
            recorder.progress(&format!(
                "Cloud SQL backup run {id} was begun by the interrupted run: waiting for it"
            ));
            id
        }
        None => {
            let op =
                g.c.sql_backup_runs
                    .insert()
                    .set_project(&project)
                    .set_instance(&instance)
                    .set_body(m::BackupRun::new().set_description(&description))
                    .send()
                    .await
                    .map_err(|e| error::map("backupRuns.insert", e))?;
            let what = format!("Cloud SQL backup of {instance}");
            let done = operations::sql(g, recorder, &what, "database", &op.name).await?;
            match done.backup_context.as_ref().map(|b| b.backup_id) {
                Some(id) if id != 0 => id,
                _ => begun(g, &instance, &description).await?.ok_or_else(|| {
                    DriverError::permanent(format!(
                        "Cloud SQL reported the backup of {instance} done, but lists no backup run \"{description}\""
                    ))
                    .with_hint("see the instance's backups in the Google Cloud console; nothing was upgraded")
                })?,
            }
        }
    };
    let limit = g.limit("database");
    wait::until(
        &format!("Cloud SQL backup run {id} of {instance}"),
        "database",
        limit,
        g.opts.backoff,
        recorder,
        || async {
            let run =
                g.c.sql_backup_runs
                    .get()
                    .set_project(&project)
                    .set_instance(&instance)
                    .set_id(id)
                    .send()
                    .await
                    .map_err(|e| error::map("backupRuns.get", e))?;
            match run.status {
                SqlBackupRunStatus::Successful => Ok(Poll::Ready(())),
                SqlBackupRunStatus::Enqueued
                | SqlBackupRunStatus::Running
                | SqlBackupRunStatus::Overdue
                | SqlBackupRunStatus::Unspecified => Ok(Poll::Pending(
                    run.status.name().unwrap_or("pending").to_lowercase(),
                )),
                other => Err(DriverError::permanent(format!(
                    "Cloud SQL backup run {id} of {instance} is {}{}",
                    other.name().unwrap_or("not successful").to_lowercase(),
                    run.error
                        .as_ref()
                        .map(|e| format!(": {} ({})", e.message, e.code))
                        .unwrap_or_default()
                ))
                .with_hint(
                    "see the instance's backups in the Google Cloud console; nothing was upgraded",
                )),
            }
        },
    )
    .await?;
    Ok(Some(Snapshot {
        id: id.to_string(),
        location: format!(
            "Cloud SQL backup run {id} of instance {instance} in project {project} (\"{description}\")"
        ),
    }))
}

/// The newest backup run of `instance` with `description` that is under
/// way or done: the one a cut-off run of the same operation began, or the
/// one an operation that did not name its run made.
async fn begun(
    g: &super::driver::Gcp,
    instance: &str,
    description: &str,
) -> Result<Option<i64>, DriverError> {
    let listed =
        g.c.sql_backup_runs
            .list()
            .set_project(&g.opts.project)
            .set_instance(instance)
            .send()
            .await
            .map_err(|e| error::map("backupRuns.list", e))?;
    Ok(listed
        .items
        .iter()
        .filter(|r| r.description == description)
        .filter(|r| {
            matches!(
                r.status,
                SqlBackupRunStatus::Enqueued
                    | SqlBackupRunStatus::Running
                    | SqlBackupRunStatus::Overdue
                    | SqlBackupRunStatus::Successful
                    | SqlBackupRunStatus::Unspecified
            )
        })
        .map(|r| r.id)
        .max())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_description_names_the_installation_and_the_upgrade() {
        assert_eq!(
            super::description("acme", "before-0.37.8-20261201221500"),
            "liftoff acme: before-0.37.8-20261201221500"
        );
    }
}
