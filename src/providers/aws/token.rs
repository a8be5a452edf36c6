//! A Kubernetes bearer token for EKS, made the way `aws eks get-token` does
//! it but without the aws CLI: `k8s-aws-v1.` followed by the base64url (no
//! padding) of a SigV4-presigned `sts:GetCallerIdentity` URL that signs the
//! header `x-k8s-aws-id: <cluster>`, valid for 60 seconds.

use std::time::{Duration, SystemTime};

use aws_credential_types::Credentials;
use aws_credential_types::provider::ProvideCredentials;
use aws_sigv4::http_request::{
    SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use aws_smithy_runtime_api::client::identity::Identity;
use base64::Engine;

use crate::plan::driver::DriverError;
use crate::secret::Redacted;

pub const PREFIX: &str = "k8s-aws-v1.";

/// A token for `cluster`, with credentials and region from the SDK config.
pub async fn token(
    sdk: &aws_config::SdkConfig,
    cluster: &str,
) -> Result<Redacted<String>, DriverError> {
    let provider = sdk
        .credentials_provider()
        .ok_or_else(|| DriverError::permanent("no AWS credentials are configured"))?;
    let creds = provider
        .provide_credentials()
        .await
        .map_err(|e| DriverError::permanent("cannot load AWS credentials").with_source(e))?;
    let region = sdk
        .region()
        .map_or("us-east-1".to_string(), |r| r.to_string());
    presign(&creds, &region, cluster, SystemTime::now())
}

/// The token for fixed credentials and time (tests use it directly).
pub fn presign(
    creds: &Credentials,
    region: &str,
    cluster: &str,
    now: SystemTime,
) -> Result<Redacted<String>, DriverError> {
    let url =
        format!("https://sts.{region}.amazonaws.com/?Action=GetCallerIdentity&Version=2011-06-15");
    let identity: Identity = creds.clone().into();
    let mut settings = SigningSettings::default();
    settings.signature_location = SignatureLocation::QueryParams;
    settings.expires_in = Some(Duration::from_secs(60));
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name("sts")
        .time(now)
        .settings(settings)
        .build()
        .map_err(|e| DriverError::permanent("cannot sign the EKS token").with_source(e))?
        .into();
    let headers = [("x-k8s-aws-id", cluster)];
    let request = SignableRequest::new("GET", &url, headers.into_iter(), SignableBody::Bytes(&[]))
        .map_err(|e| DriverError::permanent("cannot sign the EKS token").with_source(e))?;
    let (instructions, _) = sign(request, &params)
        .map_err(|e| DriverError::permanent("cannot sign the EKS token").with_source(e))?
        .into_parts();
    let mut signed = url;
    for (k, v) in instructions.params() {
        signed.push('&');
        signed.push_str(k);
        signed.push('=');
        signed.push_str(&encode(v));
    }
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(signed.as_bytes());
    Ok(Redacted::new(format!("{PREFIX}{b64}")))
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn encode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(url: &str) -> Vec<(String, String)> {
        let q = url.split_once('?').unwrap().1;
        q.split('&')
            .map(|kv| {
                let (k, v) = kv.split_once('=').unwrap();
                let mut out = Vec::new();
                let b = v.as_bytes();
                let mut i = 0;
                while i < b.len() {
                    if b[i] == b'%' {
                        out.push(u8::from_str_radix(&v[i + 1..i + 3], 16).unwrap());
                        i += 3;
                    } else {
                        out.push(b[i]);
                        i += 1;
                    }
                }
                (k.to_string(), String::from_utf8(out).unwrap())
            })
            .collect()
    }

    #[test]
    fn token_is_a_presigned_get_caller_identity_url() {
        let creds = Credentials::new("AKIDEXAMPLE", "secret", None, None, "test");
        let t = presign(
            &creds,
            "eu-west-1",
            "demo",
            SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
        )
        .unwrap();
        let t = t.expose();
        let body = t.strip_prefix(PREFIX).expect("prefix");
        assert!(
            !body.contains('=') && !body.contains('+') && !body.contains('/'),
            "base64url without padding"
        );
        let url = String::from_utf8(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(body)
                .unwrap(),
        )
        .unwrap();
        assert!(
            url.starts_with("https://sts.eu-west-1.amazonaws.com/?"),
            "{url}"
        );
        let q = query(&url);
        let get = |k: &str| q.iter().find(|(n, _)| n == k).map(|(_, v)| v.as_str());
        assert_eq!(get("Action"), Some("GetCallerIdentity"));
        assert_eq!(get("Version"), Some("2011-06-15"));
        assert_eq!(get("X-Amz-Expires"), Some("60"));
        assert_eq!(get("X-Amz-Algorithm"), Some("AWS4-HMAC-SHA256"));
        assert!(
            get("X-Amz-Credential")
                .unwrap()
                .starts_with("AKIDEXAMPLE/20231114/eu-west-1/sts/aws4_request")
        );
        let signed = get("X-Amz-SignedHeaders").unwrap();
        assert!(signed.split(';').any(|h| h == "x-k8s-aws-id"), "{signed}");
        assert!(signed.split(';').any(|h| h == "host"), "{signed}");
        assert_eq!(get("X-Amz-Signature").unwrap().len(), 64);
    }

    #[test]
    fn the_signature_depends_on_the_cluster() {
        let creds = Credentials::new("AKID", "secret", None, None, "test");
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let a = presign(&creds, "us-east-1", "one", now).unwrap();
        let b = presign(&creds, "us-east-1", "two", now).unwrap();
        assert_ne!(a.expose(), b.expose());
    }
}
