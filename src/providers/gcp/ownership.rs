//! How GCP resources are marked as an installation's: labels, whose keys
//! and values allow only lower-case letters, digits, `_` and `-` (at most 63
//! characters), so the installation and address are escaped (and decoded
//! back for messages). Compute resources without labels (network,
//! subnetwork, router, firewall rule) carry the same pairs in their
//! description; what has neither (Cloud NAT inside its router, the Service
//! Networking peering, node pools) is owned through its parent and its
//! deterministic name.

use sha2::Digest;

use crate::providers::Ownership;

/// Label naming the installation that owns a resource.
pub const LABEL_INSTALLATION: &str = "liftoff-installation";
/// Label naming the resource's address, escaped by [`label_value`].
pub const LABEL_ADDRESS: &str = "liftoff-address";

/// A label value for `text`: allowed characters stay, `_` and every other
/// character become `_` and two hex digits per byte; a result longer than 63
/// characters is cut and ends in a digest of the whole text, so values stay
/// distinct.
pub fn label_value(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        match b {
            b'a'..=b'z' | b'0'..=b'9' | b'-' => out.push(b as char),
            _ => out.push_str(&format!("_{b:02x}")),
        }
    }
    if out.len() > 63 {
        let digest = hex::encode(&sha2::Sha256::digest(text.as_bytes())[..8]);
        out.truncate(63 - 17);
        out.push('-');
        out.push_str(&digest);
    }
    out
}

/// The text a [`label_value`] was made from, when it was not cut to fit.
pub fn decode_label_value(value: &str) -> Option<String> {
    let mut out = Vec::new();
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'_' {
            let hex = value.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The description of a label-less compute resource: its ownership marks
/// as `key=value` pairs after a fixed lead.
pub fn description(installation: &str, address: &str) -> String {
    let marks = Labels.marks(installation, address);
    let pairs: Vec<String> = marks.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("Managed by liftoff: {}", pairs.join(" "))
}

/// The ownership marks in a description made by [`description`].
pub fn marks_in(description: &str) -> Vec<(&str, &str)> {
    description
        .strip_prefix("Managed by liftoff: ")
        .into_iter()
        .flat_map(|rest| rest.split(' '))
        .filter_map(|pair| pair.split_once('='))
        .collect()
}

/// Whether a description says the resource is `installation`'s at `address`.
pub fn owns_description(installation: &str, address: &str, description: &str) -> bool {
    let marks = marks_in(description);
    Labels.owns(installation, address, &mut marks.into_iter())
}

/// Whether labels say the resource is `installation`'s at `address`.
pub fn owns_labels<'a>(
    installation: &str,
    address: &str,
    labels: impl IntoIterator<Item = (&'a String, &'a String)>,
) -> bool {
    let mut pairs = labels.into_iter().map(|(k, v)| (k.as_str(), v.as_str()));
    Labels.owns(installation, address, &mut pairs)
}

/// The GCP label encoding of ownership.
pub struct Labels;

impl Ownership for Labels {
    fn marks(&self, installation: &str, address: &str) -> Vec<(String, String)> {
        vec![
            (LABEL_INSTALLATION.into(), label_value(installation)),
            (LABEL_ADDRESS.into(), label_value(address)),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid(v: &str) -> bool {
        v.len() <= 63
            && v.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    }

    #[test]
    fn addresses_become_valid_distinct_label_values() {
        let a = label_value("gcp.node_pool[platform]");
        assert_eq!(a, "gcp_2enode_5fpool_5bplatform_5d");
        assert_ne!(label_value("gcp.a_b"), label_value("gcp.a.b"));
        let long = "gcp.node_pool[".to_string() + &"x".repeat(80) + "]";
        let (l1, l2) = (label_value(&long), label_value(&(long.clone() + "y")));
        assert!(valid(&l1) && valid(&l2) && valid(&a), "{l1}");
        assert_ne!(l1, l2);
        let marks = Labels.marks("acme-prod", "gcp.network");
        assert!(marks.iter().all(|(k, v)| valid(k) && valid(v)));
        let mut found = marks.iter().map(|(k, v)| (k.as_str(), v.as_str()));
        assert!(Labels.owns("acme-prod", "gcp.network", &mut found));
        assert_eq!(
            decode_label_value(&a).as_deref(),
            Some("gcp.node_pool[platform]")
        );
        assert_eq!(decode_label_value("Acme"), Some("Acme".into()));
        let d = description("acme_prod", "gcp.router");
        assert!(owns_description("acme_prod", "gcp.router", &d), "{d}");
        assert!(!owns_description("acme_prod", "gcp.network", &d));
        assert!(!owns_description("acme-prod", "gcp.router", &d));
        assert!(!owns_description("acme_prod", "gcp.router", "made by hand"));
    }
}
