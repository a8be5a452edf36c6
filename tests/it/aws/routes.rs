//! Changing the NAT mode of an installed network: the private route tables'
//! default routes follow (in place, ReplaceRoute), and a NAT gateway that
//! goes away is deleted only after no route uses it.

use std::collections::BTreeMap;

use super::{Env, sandbox_spec, text};

/// For each private route table (by zone letter), the address of the NAT
/// gateway its default route points at, `None` without a default route.
async fn private_routes(sdk: &aws_config::SdkConfig) -> BTreeMap<String, Option<String>> {
    let ec2 = aws_sdk_ec2::Client::new(sdk);
    let address = |tags: &[aws_sdk_ec2::types::Tag]| {
        tags.iter()
            .find(|t| t.key() == Some("liftoff.dev/address"))
            .and_then(|t| t.value())
            .unwrap_or_default()
            .to_string()
    };
    let nats: BTreeMap<String, String> = ec2
        .describe_nat_gateways()
        .send()
        .await
        .unwrap()
        .nat_gateways()
        .iter()
        .map(|n| (n.nat_gateway_id().unwrap().to_string(), address(n.tags())))
        .collect();
    let tables = ec2.describe_route_tables().send().await.unwrap();
    tables
        .route_tables()
        .iter()
        .filter_map(|t| {
            let addr = address(t.tags());
            let letter = addr.strip_prefix("aws.route_table.private[")?;
            let route = t
                .routes()
                .iter()
                .find(|r| r.destination_cidr_block() == Some("0.0.0.0/0"))
                .map(|r| {
                    let id = r.nat_gateway_id().unwrap_or("not a NAT gateway");
                    nats.get(id).cloned().unwrap_or_else(|| id.to_string())
                });
            Some((letter.trim_end_matches(']').to_string(), route))
        })
        .collect()
}

fn expected(mode: &str) -> BTreeMap<String, Option<String>> {
    ["a", "b"]
        .iter()
        .map(|zone| {
            let nat = match mode {
                "none" => None,
                "single" => Some("aws.nat[a]".to_string()),
                _ => Some(format!("aws.nat[{zone}]")),
            };
            (zone.to_string(), nat)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_nat_mode_change_moves_the_private_routes_before_a_nat_goes() {
    let env = Env::start(vec![]).await;
    let sdk = env.sdk().await;
    // Every ordered pair of the three modes, once each.
    let modes = [
        "none", "single", "per-zone", "none", "per-zone", "single", "none",
    ];
    for (step, mode) in modes.iter().enumerate() {
        env.write_spec(&sandbox_spec("routes", mode));
        env.proxy.clear_calls();
        let out = env
            .liftoff(&["install", "--phase", "cloud", "--yes"], &[])
            .await;
        assert!(out.status.success(), "step {step} ({mode}): {}", text(&out));
        assert_eq!(
            private_routes(&sdk).await,
            expected(mode),
            "step {step} ({mode}): {}",
            text(&out)
        );
        // A NAT gateway is deleted only after the routes moved off it.
        let calls = env.proxy.calls();
        let first_nat_delete = calls.iter().position(|c| c == "DeleteNatGateway");
        let last_route_change = calls
            .iter()
            .rposition(|c| c == "ReplaceRoute" || c == "DeleteRoute");
        if let (Some(delete), Some(route)) = (first_nat_delete, last_route_change) {
            assert!(route < delete, "step {step} ({mode}): {calls:?}");
        }
        if step > 0 {
            let changed = calls
                .iter()
                .any(|c| ["ReplaceRoute", "DeleteRoute", "CreateRoute"].contains(&c.as_str()));
            assert!(changed, "step {step} ({mode}): {calls:?}");
        }
        // And the next plan has nothing left to do.
        let plan = env.liftoff(&["plan", "--phase", "cloud"], &[]).await;
        let plan_text = String::from_utf8_lossy(&plan.stdout);
        assert!(
            plan_text.contains("No changes"),
            "step {step} ({mode}): {}",
            text(&plan)
        );
    }
}
