//! The describe calls the reads of one plan share. Every read of an EC2
//! kind asks the same question (everything carrying the installation's
//! tag) and picks its own address from the answer, so the first read of a
//! kind makes the call and the others use its answer: one describe per
//! kind instead of one per resource.
//!
//! An answer is used only while the driver has changed nothing since it
//! was asked for: every create, update and delete moves the generation on
//! ([`Reads::changed`]), and an answer from an older generation is asked
//! for again. Errors are never kept.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use aws_sdk_ec2::types::{
    Address, Filter, InternetGateway, NatGateway, RouteTable, SecurityGroup, Subnet, Vpc,
};
use tokio::sync::OnceCell;

use super::network::tag_filters;
use super::{Aws, error};
use crate::plan::driver::DriverError;

/// An answer, asked for once.
type Answer<T> = Arc<OnceCell<Arc<Vec<T>>>>;

/// One kind's shared answer and the generation it was asked for in.
struct Shared<T> {
    slot: std::sync::Mutex<(u64, Answer<T>)>,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            slot: std::sync::Mutex::new((0, Arc::new(OnceCell::new()))),
        }
    }
}

impl<T> Shared<T> {
    async fn get<F, Fut>(&self, generation: u64, fetch: F) -> Result<Arc<Vec<T>>, DriverError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Vec<T>, DriverError>>,
    {
        let cell = {
            let mut slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
            if slot.0 != generation {
                *slot = (generation, Arc::new(OnceCell::new()));
            }
            slot.1.clone()
        };
        cell.get_or_try_init(|| async { fetch().await.map(Arc::new) })
            .await
            .cloned()
    }
}

/// The shared answers of one run.
#[derive(Default)]
pub struct Reads {
    generation: AtomicU64,
    vpcs: Shared<Vpc>,
    internet_gateways: Shared<InternetGateway>,
    subnets: Shared<Subnet>,
    route_tables: Shared<RouteTable>,
    security_groups: Shared<SecurityGroup>,
    addresses: Shared<Address>,
    nat_gateways: Shared<NatGateway>,
}

impl Reads {
    /// Something may have changed: answers asked for before are stale.
    pub fn changed(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn now(&self) -> u64 {
        self.generation.load(Ordering::SeqCst)
    }

    fn filters(a: &Aws) -> Option<Vec<Filter>> {
        Some(tag_filters(a, ""))
    }

    pub async fn vpcs(&self, a: &Aws) -> Result<Arc<Vec<Vpc>>, DriverError> {
        self.vpcs
            .get(self.now(), || async {
                let out = a.c.ec2.describe_vpcs().set_filters(Self::filters(a)).send();
                let out = out.await.map_err(|e| error::map("DescribeVpcs", e))?;
                Ok(out.vpcs().to_vec())
            })
            .await
    }

    pub async fn internet_gateways(
        &self,
        a: &Aws,
    ) -> Result<Arc<Vec<InternetGateway>>, DriverError> {
        self.internet_gateways
            .get(self.now(), || async {
                let out = a.c.ec2.describe_internet_gateways();
                let out = out.set_filters(Self::filters(a)).send().await;
                let out = out.map_err(|e| error::map("DescribeInternetGateways", e))?;
                Ok(out.internet_gateways().to_vec())
            })
            .await
    }

    pub async fn subnets(&self, a: &Aws) -> Result<Arc<Vec<Subnet>>, DriverError> {
        self.subnets
            .get(self.now(), || async {
                let out = a.c.ec2.describe_subnets().set_filters(Self::filters(a));
                let out = out.send().await;
                let out = out.map_err(|e| error::map("DescribeSubnets", e))?;
                Ok(out.subnets().to_vec())
            })
            .await
    }

    pub async fn route_tables(&self, a: &Aws) -> Result<Arc<Vec<RouteTable>>, DriverError> {
        self.route_tables
            .get(self.now(), || async {
                let out =
                    a.c.ec2
                        .describe_route_tables()
                        .set_filters(Self::filters(a));
                let out = out.send().await;
                let out = out.map_err(|e| error::map("DescribeRouteTables", e))?;
                Ok(out.route_tables().to_vec())
            })
            .await
    }

    pub async fn security_groups(&self, a: &Aws) -> Result<Arc<Vec<SecurityGroup>>, DriverError> {
        self.security_groups
            .get(self.now(), || async {
                let out = a.c.ec2.describe_security_groups();
                let out = out.set_filters(Self::filters(a)).send().await;
                let out = out.map_err(|e| error::map("DescribeSecurityGroups", e))?;
                Ok(out.security_groups().to_vec())
            })
            .await
    }

    pub async fn addresses(&self, a: &Aws) -> Result<Arc<Vec<Address>>, DriverError> {
        self.addresses
            .get(self.now(), || async {
                let out = a.c.ec2.describe_addresses().set_filters(Self::filters(a));
                let out = out.send().await;
                let out = out.map_err(|e| error::map("DescribeAddresses", e))?;
                Ok(out.addresses().to_vec())
            })
            .await
    }

    /// The installation's NAT gateways that are pending or available.
    /// (AWS narrows by the tag filter; moto ignores it: each read checks
    /// the tags again, as everywhere.)
    pub async fn nat_gateways(&self, a: &Aws) -> Result<Arc<Vec<NatGateway>>, DriverError> {
        self.nat_gateways
            .get(self.now(), || async {
                let live = Filter::builder()
                    .name("state")
                    .values("pending")
                    .values("available")
                    .build();
                let mut call = a.c.ec2.describe_nat_gateways().filter(live);
                for f in tag_filters(a, "") {
                    call = call.filter(f);
                }
                let out = call.send().await;
                let out = out.map_err(|e| error::map("DescribeNatGateways", e))?;
                Ok(out.nat_gateways().to_vec())
            })
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    async fn ask(shared: &Shared<u32>, generation: u64, calls: &AtomicUsize) -> Vec<u32> {
        let v = shared
            .get(generation, || async {
                let n = calls.fetch_add(1, Ordering::SeqCst) as u32;
                Ok(vec![n])
            })
            .await
            .unwrap();
        v.to_vec()
    }

    #[tokio::test]
    async fn one_call_per_generation_and_a_new_one_after_a_change() {
        let shared = Shared::default();
        let calls = AtomicUsize::new(0);
        let (a, b) = tokio::join!(ask(&shared, 0, &calls), ask(&shared, 0, &calls));
        assert_eq!((a, b), (vec![0], vec![0]));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        assert_eq!(ask(&shared, 1, &calls).await, vec![1]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn an_error_is_not_kept() {
        let shared: Shared<u32> = Shared::default();
        let failed = shared
            .get(0, || async { Err(DriverError::permanent("throttled")) })
            .await;
        assert!(failed.is_err());
        let calls = AtomicUsize::new(0);
        assert_eq!(ask(&shared, 0, &calls).await, vec![0]);
    }
}
