//! Why the platform is not running, read from the API after a failed
//! install: unschedulable pods, image pull and crash loops; workloads that
//! have no pods at all (no ReplicaSet made, a quota or an admission
//! refusal); and the namespace's Warning events, which say why.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::Api;
use kube::api::ListParams;

use super::api_error::describe;

/// One line per problem, e.g. `pod x: Pending: 0/3 nodes are available…`.
pub fn failure_reasons(pods: &[Pod]) -> Vec<String> {
    let mut out = Vec::new();
    for pod in pods {
        let name = pod.metadata.name.as_deref().unwrap_or("?");
        let Some(status) = &pod.status else { continue };
        if status.phase.as_deref() == Some("Pending") {
            let unscheduled = status
                .conditions
                .iter()
                .flatten()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False");
            if let Some(c) = unscheduled {
                out.push(format!(
                    "pod {name}: Pending: {}",
                    c.message
                        .as_deref()
                        .or(c.reason.as_deref())
                        .unwrap_or("not scheduled")
                ));
                continue;
            }
        }
        let containers = status
            .init_container_statuses
            .iter()
            .flatten()
            .chain(status.container_statuses.iter().flatten());
        for c in containers {
            let Some(waiting) = c.state.as_ref().and_then(|s| s.waiting.as_ref()) else {
                continue;
            };
            let reason = waiting.reason.as_deref().unwrap_or_default();
            if matches!(
                reason,
                "ImagePullBackOff"
                    | "ErrImagePull"
                    | "CrashLoopBackOff"
                    | "CreateContainerConfigError"
                    | "InvalidImageName"
            ) {
                let mut line = format!("pod {name} container {}: {reason}", c.name);
                if let Some(m) = waiting.message.as_deref().filter(|m| !m.is_empty()) {
                    line.push_str(&format!(": {m}"));
                }
                out.push(line);
            }
        }
    }
    out
}

/// Whether `owner` (by uid) owns `meta`.
fn owned_by(meta: &kube::api::ObjectMeta, uid: Option<&str>) -> bool {
    uid.is_some_and(|uid| meta.owner_references.iter().flatten().any(|o| o.uid == uid))
}

/// Workloads that should have pods and have none: a Deployment without a
/// ReplicaSet, a ReplicaSet or StatefulSet without pods.
pub fn missing_pods(
    deployments: &[Deployment],
    replica_sets: &[ReplicaSet],
    stateful_sets: &[StatefulSet],
    pods: &[Pod],
) -> Vec<String> {
    let mut out = Vec::new();
    let wants = |replicas: Option<i32>, ready: Option<i32>| {
        replicas.unwrap_or(1) > 0 && ready.unwrap_or(0) < replicas.unwrap_or(1)
    };
    let has_pods = |uid: Option<&str>| pods.iter().any(|p| owned_by(&p.metadata, uid));
    for d in deployments {
        let name = d.metadata.name.as_deref().unwrap_or("?");
        let spec_replicas = d.spec.as_ref().and_then(|s| s.replicas);
        if !wants(
            spec_replicas,
            d.status.as_ref().and_then(|s| s.ready_replicas),
        ) {
            continue;
        }
        let sets: Vec<&ReplicaSet> = replica_sets
            .iter()
            .filter(|r| owned_by(&r.metadata, d.metadata.uid.as_deref()))
            .collect();
        if sets.is_empty() {
            out.push(format!(
                "deployment {name} has no ReplicaSet and so no pods: the cluster's controllers have not acted on it (see the events below)"
            ));
        } else if !sets.iter().any(|r| has_pods(r.metadata.uid.as_deref())) {
            out.push(format!(
                "deployment {name} has no pods: its ReplicaSet could not create them (see the events below: quota, pod security, admission)"
            ));
        }
    }
    for s in stateful_sets {
        let name = s.metadata.name.as_deref().unwrap_or("?");
        let spec_replicas = s.spec.as_ref().and_then(|s| s.replicas);
        if wants(
            spec_replicas,
            s.status.as_ref().and_then(|s| s.ready_replicas),
        ) && !has_pods(s.metadata.uid.as_deref())
        {
            out.push(format!(
                "statefulset {name} has no pods (see the events below: quota, pod security, admission, volumes)"
            ));
        }
    }
    out
}

/// The namespace's Warning events, newest last, at most `max`.
pub fn warnings(events: &[Event], max: usize) -> Vec<String> {
    let mut w: Vec<&Event> = events
        .iter()
        .filter(|e| e.type_.as_deref() == Some("Warning"))
        .collect();
    w.sort_by_key(|e| {
        e.last_timestamp
            .as_ref()
            .map(|t| t.0)
            .or(e.event_time.as_ref().map(|t| t.0))
    });
    let skip = w.len().saturating_sub(max);
    w.into_iter()
        .skip(skip)
        .map(|e| {
            let o = &e.involved_object;
            format!(
                "event: {} {}: {}: {}",
                o.kind.as_deref().unwrap_or("?").to_lowercase(),
                o.name.as_deref().unwrap_or("?"),
                e.reason.as_deref().unwrap_or("?"),
                e.message.as_deref().unwrap_or("").trim()
            )
        })
        .collect()
}

/// Explains why the namespace's platform is not running. A failure to
/// read is itself reported as a line.
pub async fn explain(client: &kube::Client, namespace: &str) -> Vec<String> {
    let lp = ListParams::default();
    let pods = Api::<Pod>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await;
    let deployments = Api::<Deployment>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await;
    let replica_sets = Api::<ReplicaSet>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await;
    let stateful_sets = Api::<StatefulSet>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await;
    let events = Api::<Event>::namespaced(client.clone(), namespace)
        .list(&lp)
        .await;
    let mut out = Vec::new();
    let pods = match pods {
        Ok(p) => p.items,
        Err(e) => {
            out.push(format!("cannot list pods in {namespace}: {}", describe(&e)));
            Vec::new()
        }
    };
    out.extend(failure_reasons(&pods));
    if let (Ok(d), Ok(r), Ok(s)) = (deployments, replica_sets, stateful_sets) {
        out.extend(missing_pods(&d.items, &r.items, &s.items, &pods));
    }
    match events {
        Ok(e) => out.extend(warnings(&e.items, 10)),
        Err(e) => out.push(format!(
            "cannot list events in {namespace}: {}",
            describe(&e)
        )),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn explains_pending_pull_and_crash() {
        let pods: Vec<Pod> = serde_json::from_value(json!([
            {"metadata": {"name": "a"}, "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient memory."}]}},
            {"metadata": {"name": "b"}, "status": {"phase": "Pending", "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 0, "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image x"}}}]}},
            {"metadata": {"name": "c"}, "status": {"phase": "Running", "containerStatuses": [{"name": "app", "image": "x", "imageID": "", "ready": false, "restartCount": 5, "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}},
            {"metadata": {"name": "d"}, "status": {"phase": "Running"}},
        ]))
        .unwrap();
        assert_eq!(
            failure_reasons(&pods),
            vec![
                "pod a: Pending: 0/3 nodes are available: 3 Insufficient memory.",
                "pod b container app: ImagePullBackOff: Back-off pulling image x",
                "pod c container app: CrashLoopBackOff",
            ]
        );
    }
}
