//! The commented starter spec `liftoff init` writes.

use crate::spec::profiles;

/// How to get the wildcard certificate a real install needs, as spec
/// comments.
const CERTIFICATE_HOWTO: &str = "\
  # A wildcard certificate for *.<baseDomain> and <baseDomain> (PEM: leaf, intermediates,
  # root) and its unencrypted RSA key. Get one from your organisation's CA, or from
  # Let's Encrypt with a DNS challenge, for example:
  #   certbot certonly --manual --preferred-challenges dns \\
  #     -d '*.astro.example.com' -d astro.example.com
  # then copy /etc/letsencrypt/live/astro.example.com/{fullchain,privkey}.pem to ./tls/.
  # Only trying liftoff out? `liftoff init --trial` writes a throwaway spec with a
  # self-signed certificate instead.
";

/// A starter spec on `profile`, or `None` for an unknown built-in profile.
/// A `trial` spec uses a self-signed certificate and says loudly that it is
/// for a throwaway install only.
pub fn starter(profile: &str, name: &str, trial: bool) -> Option<String> {
    profiles::BUILTIN.iter().find(|(n, _)| *n == profile)?;
    let mut s = format!(
        "# liftoff installation spec. Everything not set here comes from the\n\
         # `{profile}` profile (`liftoff render --resolved` shows the merged result).\n\
         # Maps merge key by key, lists replace the profile's, and this file wins.\n\
         apiVersion: liftoff.dev/v1\n\
         kind: Installation\n\
         profile: {profile}\n\
         metadata:\n\
         \x20 # Prefixes cloud resource names and ownership tags. Lowercase, digits, '-'.\n\
         \x20 name: {name}\n"
    );
    if trial {
        s.push_str(
            "  # TRIAL: a throwaway install. Only a trial (or the sandbox profile) may use a\n\
             \x20 # self-signed certificate; remove this line once you give a real certificate.\n\
             \x20 trial: true\n",
        );
    }
    let cloud = match profile {
        "aws-standard" | "sandbox" => "cloud:\n  provider: aws\n  region: us-east-1\n",
        "aws-existing-network" => {
            "cloud:\n  provider: aws\n  region: us-east-1\n\
             network:\n  mode: existing\n  vpcId: vpc-0123456789abcdef0\n\
             \x20 # Private subnets in at least two zones, each routing 0.0.0.0/0 to a NAT or transit gateway.\n\
             \x20 privateSubnetIds: [subnet-0aaaaaaaaaaaaaaaa, subnet-0bbbbbbbbbbbbbbbb]\n\
             \x20 publicSubnetIds: [subnet-0cccccccccccccccc, subnet-0dddddddddddddddd]\n"
        }
        "gcp-standard" => "cloud:\n  provider: gcp\n  region: us-central1\n  project: my-project\n",
        _ => {
            "cluster:\n  mode: existing\n  # The kubeconfig context of the cluster (default: the current one).\n  # context: my-cluster\n\
             database:\n  mode: external\n  # A postgres:// URL of a superuser; never written in this file.\n  connection:\n    fromEnv: LIFTOFF_DATABASE_URL\n"
        }
    };
    s.push_str(cloud);
    s.push_str(
        "platform:\n\
         \x20 # The platform answers on app.<baseDomain>, houston.<baseDomain>, ...\n\
         \x20 baseDomain: astro.example.com\n",
    );
    if profile == "sandbox" {
        s.push_str("  # The sandbox profile uses a generated self-signed wildcard certificate.\n");
    } else if trial {
        s.push_str(
            "  # TRIAL ONLY: a generated self-signed wildcard certificate. Browsers, the Astro CLI\n\
             \x20 # and Airflow clients will not trust it. For real use, replace it with\n\
             \x20 # certFile: ./tls/fullchain.pem and keyFile: ./tls/privkey.pem.\n\
             \x20 tls:\n    selfSigned: true\n",
        );
    } else {
        s.push_str(CERTIFICATE_HOWTO);
        s.push_str("  tls:\n    certFile: ./tls/fullchain.pem\n    keyFile: ./tls/privkey.pem\n");
    }
    if profile == "airgapped" {
        s.push_str(
            "airgap:\n  enabled: true\n  bundle: ./liftoff-bundle\n  registry:\n    repository: registry.internal.example.com/astronomer\n",
        );
    }
    if profile.starts_with("aws") || profile == "gcp-standard" {
        s.push_str("# Create *.<baseDomain> in this DNS zone once the load balancer is up (optional).\n# dns:\n#   zone: example.com\n");
    }
    Some(s)
}
