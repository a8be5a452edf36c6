//! The database snapshot a platform upgrade takes first: an RDS manual
//! snapshot of the instance this installation created, tagged as its own,
//! waited for until `available` (deadline `timeouts.database`).

use std::time::Duration;

use aws_sdk_rds::types::Tag;

use super::driver::{Options, sdk_config};
use super::{error, kind};
use crate::plan::driver::{DriverError, Recorder};
use crate::providers::{Setup, Snapshot};
use crate::spec::Spec;
use crate::wait::{self, Poll};

/// A snapshot identifier: the instance's and the label (the purpose and
/// the operation's start, so an interrupted upgrade taken up again finds
/// the snapshot it began). RDS allows letters, digits and single hyphens,
/// 255 at most.
pub fn snapshot_id(instance: &str, label: &str) -> String {
    let mut id = format!("{instance}-{label}")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect::<String>();
    while id.contains("--") {
        id = id.replace("--", "-");
    }
    id.truncate(255);
    id.trim_end_matches('-').to_string()
}

/// Snapshots the installation's RDS instance; `None` when the state records none.
pub async fn take(
    spec: &Spec,
    setup: &Setup,
    label: &str,
    recorder: &dyn Recorder,
) -> Result<Option<Snapshot>, DriverError> {
    let Some(outputs) = setup.recorded_outputs(kind::DATABASE) else {
        return Ok(None);
    };
    let Some(instance) = outputs.get("id").and_then(|v| v.as_str()) else {
        return Ok(None);
    };
    let opts = Options::from_spec(spec, setup.secrets.clone(), false);
    let sdk = sdk_config(&opts.region, opts.backoff).await;
    let rds = aws_sdk_rds::Client::new(&sdk);
    let id = snapshot_id(instance, label);
    let tags: Vec<Tag> = opts
        .tags("aws.database.snapshot", &id)
        .into_iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect();
    recorder.progress(&format!("RDS snapshot {id} of {instance}"));
    let made = rds
        .create_db_snapshot()
        .db_instance_identifier(instance)
        .db_snapshot_identifier(&id)
        .set_tags(Some(tags))
        .send()
        .await;
    match made {
        Ok(_) => {}
        // The same operation, cut off after this call: its snapshot is
        // waited for, not taken twice.
        Err(e) if error::code_of(&e).as_deref() == Some("DBSnapshotAlreadyExists") => {
            recorder.progress(&format!(
                "RDS snapshot {id} was begun by the interrupted run: waiting for it"
            ));
        }
        Err(e) => return Err(error::map("CreateDBSnapshot", e)),
    }
    let limit = wait::deadline(&opts.timeouts.database, Duration::from_secs(2400));
    let arn = wait::until(
        &format!("database snapshot {id}"),
        "database",
        limit,
        opts.backoff,
        recorder,
        || async {
            let out = rds
                .describe_db_snapshots()
                .db_snapshot_identifier(&id)
                .send()
                .await
                .map_err(|e| error::map("DescribeDBSnapshots", e))?;
            let Some(s) = out.db_snapshots().first() else {
                return Ok(Poll::Pending("not visible yet".into()));
            };
            match s.status() {
                Some("available") => Ok(Poll::Ready(
                    s.db_snapshot_arn().unwrap_or_default().to_string(),
                )),
                Some(st @ ("failed" | "error")) => Err(DriverError::permanent(format!(
                    "database snapshot {id} is {st}"
                ))
                .with_hint("see the snapshot's events in the RDS console; nothing was upgraded")),
                st => Ok(Poll::Pending(st.unwrap_or("unknown").to_string())),
            }
        },
    )
    .await?;
    Ok(Some(Snapshot {
        location: format!(
            "RDS snapshot {id} of database {instance} in {} ({arn})",
            opts.region
        ),
        id,
    }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn snapshot_ids_are_valid_rds_identifiers() {
        assert_eq!(
            super::snapshot_id("acme-db", "before-0.37.8-20261201221500"),
            "acme-db-before-0-37-8-20261201221500"
        );
        assert_eq!(super::snapshot_id("a--b", "x_y."), "a-b-x-y");
    }
}
