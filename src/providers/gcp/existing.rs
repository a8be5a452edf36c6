//! Checks an existing network before anything is planned: the network and
//! subnetwork exist, the subnetwork has the named secondary ranges, a Cloud
//! NAT covers it, and (when liftoff creates Cloud SQL in it) Private
//! Services Access is set up. Each failure is named; nothing is changed.

use super::driver::{Clients, Gcp, Options};
use super::{error, names, services};
use crate::plan::driver::DriverError;
use crate::providers::Preflight;
use crate::spec::{DatabaseMode, Mode, Spec};

/// The problems found with the spec's existing network.
pub async fn preflight(spec: &Spec) -> Result<Preflight, DriverError> {
    let Some(net) = spec.network.as_ref().filter(|n| n.mode == Mode::Existing) else {
        return Ok(Preflight::default());
    };
    let g = Gcp {
        opts: Options::from_spec(
            spec,
            std::sync::Arc::new(crate::secret::FolderVault(std::path::PathBuf::new())),
        ),
        c: Clients::new().await?,
    };
    let p = &g.opts.project;
    let region = &g.opts.region;
    let gcp = spec.gcp.clone().unwrap_or_default();
    let network = net.vpc_id.clone().unwrap_or_default();
    let subnet = names::existing_subnetwork(spec).unwrap_or_default();
    let mut problems = Vec::new();
    match g
        .c
        .networks
        .get()
        .set_project(p)
        .set_network(&network)
        .send()
        .await
    {
        Err(e) if error::is_not_found(&e) => {
            problems.push(format!("network {network} does not exist in project {p}"));
        }
        Err(e) => return Err(error::map("networks.get", e)),
        Ok(_) => {}
    }
    let got =
        g.c.subnetworks
            .get()
            .set_project(p)
            .set_region(region)
            .set_subnetwork(&subnet)
            .send()
            .await;
    match got {
        Err(e) if error::is_not_found(&e) => {
            problems.push(format!("subnetwork {subnet} does not exist in {region}"));
        }
        Err(e) => return Err(error::map("subnetworks.get", e)),
        Ok(s) => {
            if !s
                .network
                .as_deref()
                .unwrap_or_default()
                .ends_with(&format!("/networks/{network}"))
            {
                problems.push(format!("subnetwork {subnet} is not in network {network}"));
            }
            for range in [&gcp.pods_range_name, &gcp.services_range_name] {
                if !s
                    .secondary_ip_ranges
                    .iter()
                    .any(|r| r.range_name.as_deref() == Some(range))
                {
                    problems.push(format!(
                        "subnetwork {subnet} has no secondary range named {range} (for GKE {})",
                        if *range == gcp.pods_range_name {
                            "pods"
                        } else {
                            "services"
                        }
                    ));
                }
            }
            let routers =
                g.c.routers
                    .list()
                    .set_project(p)
                    .set_region(region)
                    .send()
                    .await
                    .map_err(|e| error::map("routers.list", e))?;
            let covered = routers.items.iter().filter(|r| r.network.as_deref().unwrap_or_default().ends_with(&format!("/networks/{network}"))).any(|r| {
                r.nats.iter().any(|n| {
                    use google_cloud_compute_v1::model::router_nat::SourceSubnetworkIpRangesToNat as Ranges;
                    match n.source_subnetwork_ip_ranges_to_nat {
                        Some(Ranges::AllSubnetworksAllIpRanges) | Some(Ranges::AllSubnetworksAllPrimaryIpRanges) => true,
                        _ => n.subnetworks.iter().any(|s| s.name.as_deref().unwrap_or_default().ends_with(&format!("/subnetworks/{subnet}"))),
                    }
                })
            });
            if !covered {
                problems.push(format!("no Cloud NAT in {region} covers subnetwork {subnet}: private nodes could not pull images"));
            }
        }
    }
    let sql = spec
        .database
        .as_ref()
        .is_some_and(|d| d.mode == DatabaseMode::Create);
    if sql && problems.is_empty() && services::connection(&g, &network).await?.is_none() {
        problems.push(format!(
            "network {network} has no Private Services Access connection: Cloud SQL cannot get a private IP in it"
        ));
    }
    Ok(Preflight {
        notes: Vec::new(),
        problems,
        hint: Some("fix these in Google Cloud (or the spec), then rerun; liftoff never changes an existing network".into()),
    })
}
