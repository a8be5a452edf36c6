//! AWS: VPC networking, RDS PostgreSQL, IAM roles, EKS (with the node
//! groups' EC2 launch templates) and Route53. Every
//! resource is created with ownership tags so a rerun finds what an
//! interrupted run made, and deleted only when it carries them.
//!
//! Always compiled (pure): the resource graph ([`graph`]), names and limits
//! ([`names`]), ownership tags ([`ownership`]), outputs ([`outputs`]) and
//! the load balancer annotations. With the `aws` feature: the driver
//! ([`driver`]) and one module per resource family; SDK error types are
//! known only to [`error`].

pub mod graph;
pub mod kind;
pub mod names;
pub mod outputs;
pub mod ownership;
pub mod props;

#[cfg(feature = "aws")]
pub mod access;
#[cfg(feature = "aws")]
pub mod blocked;
#[cfg(feature = "aws")]
pub mod changes;
#[cfg(feature = "aws")]
pub mod database;
#[cfg(feature = "aws")]
pub mod dns;
#[cfg(feature = "aws")]
pub mod driver;
#[cfg(feature = "aws")]
pub mod eks;
#[cfg(feature = "aws")]
pub mod error;
#[cfg(feature = "aws")]
pub mod existing;
#[cfg(feature = "aws")]
pub mod gateways;
#[cfg(feature = "aws")]
pub mod handoff;
#[cfg(feature = "aws")]
pub mod iam;
#[cfg(feature = "aws")]
pub mod identity;
#[cfg(feature = "aws")]
pub mod launch_template;
#[cfg(feature = "aws")]
pub mod leftovers;
#[cfg(feature = "aws")]
pub mod network;
#[cfg(feature = "aws")]
pub mod network_delete;
#[cfg(feature = "aws")]
pub mod nodegroup;
#[cfg(feature = "aws")]
pub mod password;
#[cfg(feature = "aws")]
pub mod reads;
#[cfg(feature = "aws")]
pub mod routing;
#[cfg(feature = "aws")]
mod setup;
#[cfg(feature = "aws")]
pub mod snapshot;
#[cfg(feature = "aws")]
pub mod support;
#[cfg(feature = "aws")]
pub mod token;

#[cfg(feature = "aws")]
pub use crate::wait::Backoff;
#[cfg(feature = "aws")]
pub use driver::{
    Aws, AwsDriver, Clients, NOT_READY, Options, config_loader, expected, https_client, sdk_config,
};
pub use ownership::{TAG_ADDRESS, TAG_ATTEMPT, TAG_INSTALLATION};
#[cfg(feature = "aws")]
pub use support::*;

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{Cloud, CloudError, LoadBalancer, Ownership, Preflight, Setup};
use crate::cluster::Handoff;
use crate::cluster::preflight::ZoneLookup;
use crate::plan::Resource;
use crate::plan::driver::{DriverError, Drivers};
use crate::plan::state::State;
use crate::spec::{CloudRules, DerivedName, Spec};

/// Amazon Web Services.
pub struct AwsCloud;

impl CloudRules for AwsCloud {
    fn derived_names(&self, spec: &Spec) -> Vec<DerivedName> {
        names::derived(&spec.metadata.name)
    }

    fn subnet_prefix(&self, _: &Spec, vpc_prefix: u8, zones: u8) -> Option<u8> {
        Some(names::subnet_prefix(vpc_prefix, zones))
    }
}

#[async_trait]
impl Cloud for AwsCloud {
    fn key(&self) -> &'static str {
        "aws"
    }

    fn desired(&self, spec: &Spec) -> Vec<Resource> {
        graph::desired(spec)
    }

    fn cluster_prerequisite_kinds(&self) -> &'static [&'static str] {
        &[kind::EKS_CLUSTER, kind::EKS_NODEGROUP, kind::DATABASE]
    }

    #[cfg(feature = "aws")]
    fn register(
        &self,
        spec: &Spec,
        setup: &Setup,
        drivers: &mut Drivers,
    ) -> Result<Handoff, CloudError> {
        Ok(setup::register(spec, setup, drivers))
    }

    #[cfg(not(feature = "aws"))]
    fn register(&self, _: &Spec, _: &Setup, _: &mut Drivers) -> Result<Handoff, CloudError> {
        Err(CloudError {
            message: "this build of liftoff has no AWS driver".into(),
            hint: Some("build it with the `aws` cargo feature (on by default)".into()),
        })
    }

    #[cfg(feature = "aws")]
    fn zone_lookup(&self, spec: &Spec) -> Option<Arc<dyn ZoneLookup>> {
        setup::route53(spec).map(|r| r as Arc<dyn ZoneLookup>)
    }

    #[cfg(not(feature = "aws"))]
    fn zone_lookup(&self, _: &Spec) -> Option<Arc<dyn ZoneLookup>> {
        None
    }

    #[cfg(feature = "aws")]
    async fn preflight(&self, spec: &Spec, tag_subnets: bool) -> Result<Preflight, DriverError> {
        setup::preflight(spec, tag_subnets).await
    }

    #[cfg(not(feature = "aws"))]
    async fn preflight(&self, _: &Spec, _: bool) -> Result<Preflight, DriverError> {
        Ok(Preflight::default())
    }

    #[cfg(feature = "aws")]
    async fn snapshot_database(
        &self,
        spec: &Spec,
        setup: &Setup,
        label: &str,
        recorder: &dyn crate::plan::driver::Recorder,
    ) -> Result<Option<crate::providers::Snapshot>, DriverError> {
        snapshot::take(spec, setup, label, recorder).await
    }

    #[cfg(feature = "aws")]
    async fn leftovers(&self, spec: &Spec) -> Result<Vec<String>, DriverError> {
        leftovers::list(spec).await
    }

    fn outputs(&self, state: &State) -> Option<Value> {
        outputs::summary(state)
    }

    fn outputs_text(&self, outputs: &Value) -> String {
        outputs::text(outputs)
    }

    /// The nginx Service's annotations for a network load balancer,
    /// internal or internet-facing. Two sets, because two controllers may
    /// reconcile the Service: the in-tree cloud provider (on every EKS
    /// cluster) makes an NLB from `aws-load-balancer-type: nlb` (internal
    /// with `aws-load-balancer-internal: "true"`, which the chart adds for
    /// `nginx.privateLoadBalancer`) and ignores `external`; the AWS Load
    /// Balancer Controller, when the preflight finds it, takes Services
    /// with `type: external` and reads `scheme` (its default is internal,
    /// so a public platform must say `internet-facing`) and IP targets.
    fn load_balancer(&self, private: bool) -> LoadBalancer {
        let scheme = if private {
            "internal"
        } else {
            "internet-facing"
        };
        LoadBalancer {
            annotations: object(&[("service.beta.kubernetes.io/aws-load-balancer-type", "nlb")]),
            controller_annotations: Some(object(&[
                (
                    "service.beta.kubernetes.io/aws-load-balancer-scheme",
                    scheme,
                ),
                (
                    "service.beta.kubernetes.io/aws-load-balancer-type",
                    "external",
                ),
                (
                    "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type",
                    "ip",
                ),
            ])),
            static_ip: false,
        }
    }

    fn dns_records(&self) -> bool {
        true
    }

    fn load_balancer_controller(&self) -> Option<crate::cluster::loadbalancer::Controller> {
        Some(crate::cluster::loadbalancer::Controller {
            name: "AWS Load Balancer Controller",
            api_group: "elbv2.k8s.aws",
            with: "the nginx Service gets its annotations (type external, IP targets, the scheme)",
            without: "the in-tree AWS provider makes the network load balancer (aws-load-balancer-type: nlb)",
        })
    }

    fn ownership(&self) -> &dyn Ownership {
        &ownership::Tags
    }
}

/// Annotations as a JSON object, in the order given.
fn object(pairs: &[(&str, &str)]) -> serde_json::Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), Value::from(*v)))
        .collect()
}
