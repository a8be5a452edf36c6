//! Load balancer to wildcard DNS record, against moto's Route53.

use std::sync::Arc;

use aws_sdk_route53::config::{Credentials, Region};
use liftoff::cluster::preflight::{self, Status};
use liftoff::plan::driver::Driver;
use liftoff::providers::aws::dns::Route53;

use super::harness::*;
use crate::support::moto::Moto;

fn route53(moto: &Moto) -> aws_sdk_route53::Client {
    let config = aws_sdk_route53::Config::builder()
        .behavior_version(aws_sdk_route53::config::BehaviorVersion::latest())
        .http_client(liftoff::providers::aws::https_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(moto.url())
        .credentials_provider(Credentials::new("test", "test", None, None, "test"))
        .build();
    aws_sdk_route53::Client::from_conf(config)
}

#[tokio::test]
async fn wildcard_record_points_at_the_load_balancer() {
    let moto = tokio::task::spawn_blocking(Moto::start).await.unwrap();
    let r53 = route53(&moto);
    let zone = r53
        .create_hosted_zone()
        .name("example.com")
        .caller_reference("liftoff-test")
        .send()
        .await
        .unwrap();
    let zone_id = zone
        .hosted_zone()
        .unwrap()
        .id()
        .trim_start_matches("/hostedzone/")
        .to_string();

    let (kube, helm) = world("31", "v3.16.2").await;
    let spec = spec(|v| {
        v["cloud"] = serde_json::json!({"provider": "aws", "region": "us-east-1"});
        v["dns"] = serde_json::json!({"zone": "example.com"});
    });
    let dns = Arc::new(Route53::new(r53.clone()));
    let mut drivers = drivers(driver(&spec, &kube, &helm, inputs()).with_zone_lookup(dns.clone()));
    drivers.register("dns.record", dns.clone() as Arc<dyn Driver>);
    let state = tempfile::tempdir().unwrap();

    let first = run(&spec, &drivers, state.path()).await;
    assert_eq!(first.summary.failed, 0, "{:?}", failures(&first.events));
    assert!(
        first
            .plan
            .changes
            .iter()
            .any(|c| c.address.as_str() == "dns.record.wildcard")
    );
    let record = dns
        .record(&zone_id, "*.astro.example.com")
        .await
        .unwrap()
        .expect("record");
    assert_eq!(
        (record.kind.as_str(), record.value.as_str(), record.ttl),
        ("CNAME", LB, 300)
    );

    // Re-run: nothing to do, anywhere.
    let second = run(&spec, &drivers, state.path()).await;
    assert!(
        second.plan.is_noop(),
        "{:?}",
        second
            .plan
            .changes
            .iter()
            .map(|c| (&c.address, c.action))
            .collect::<Vec<_>>()
    );

    // The zone check of the preflight.
    assert_eq!(
        preflight::dns_zone(dns.as_ref(), "example.com")
            .await
            .status,
        Status::Pass
    );
    let missing = preflight::dns_zone(dns.as_ref(), "nope.example.org").await;
    assert_eq!(missing.status, Status::Fail, "{}", missing.message);
    assert_eq!(
        preflight::dns_zone(dns.as_ref(), &zone_id).await.status,
        Status::Pass
    );
}
