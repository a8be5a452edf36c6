//! The S3 backend: objects under `s3://bucket/prefix/`, conditional writes
//! with `If-None-Match: *` and `If-Match: <etag>`, secret objects with
//! server-side encryption (SSE-KMS with the given key, else SSE-S3).
//! Credentials, region and endpoint come from the usual AWS chain (the same
//! loader as the cloud phase); an S3-compatible endpoint given there
//! (`AWS_ENDPOINT_URL`) is addressed path-style.

use async_trait::async_trait;
use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, ServerSideEncryption};

use super::backend::{Backend, BackendError, Condition, Health, Object, Sensitivity, Version};

pub struct S3 {
    client: Client,
    bucket: String,
    prefix: String,
    kms_key: Option<String>,
}

impl S3 {
    /// A client for `bucket` in `region` (default: the AWS chain's region,
    /// else us-east-1).
    pub async fn connect(
        bucket: String,
        prefix: String,
        region: Option<String>,
        kms_key: Option<String>,
    ) -> S3 {
        let mut loader = crate::providers::aws::driver::config_loader();
        if let Some(r) = region {
            loader = loader.region(aws_config::Region::new(r));
        }
        let sdk = loader.load().await;
        let mut config = aws_sdk_s3::config::Builder::from(&sdk);
        if sdk.region().is_none() {
            config = config.region(aws_config::Region::new("us-east-1"));
        }
        if sdk.endpoint_url().is_some() {
            config = config.force_path_style(true);
        }
        S3 {
            client: Client::from_conf(config.build()),
            bucket,
            prefix,
            kms_key,
        }
    }

    fn key(&self, name: &str) -> String {
        super::join(&self.prefix, name)
    }

    /// The current ETag of `name`, if it exists.
    async fn etag(&self, name: &str) -> Result<Option<String>, BackendError> {
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .send()
            .await
        {
            Ok(o) => Ok(o.e_tag().map(str::to_string)),
            Err(e) if status(&e) == Some(404) && e.code() != Some("NoSuchBucket") => Ok(None),
            Err(e) => Err(classify(e)),
        }
    }
}

fn status<E, R>(e: &SdkError<E, R>) -> Option<u16>
where
    R: HasStatus,
{
    e.raw_response().map(HasStatus::status)
}

trait HasStatus {
    fn status(&self) -> u16;
}

impl HasStatus for aws_smithy_runtime_api::client::orchestrator::HttpResponse {
    fn status(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The storage's answer in liftoff's terms: 412 (and 409, a concurrent
/// conditional write) is a failed condition; 403 no permission; a missing
/// bucket; anything else as it came.
fn classify<E>(
    e: SdkError<E, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> BackendError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    let code = e.code().map(str::to_string);
    match (status(&e), code.as_deref()) {
        (Some(412), _) | (Some(409), Some("ConditionalRequestConflict")) => {
            BackendError::PreconditionFailed
        }
        (_, Some("NoSuchBucket")) => BackendError::NoBucket,
        (Some(403), _) => BackendError::Denied(
            e.message()
                .map(str::to_string)
                .or(code)
                .unwrap_or_else(|| "AccessDenied".into()),
        ),
        _ => {
            // The message and its causes on one line, never the SDK's
            // Debug dump of the response.
            let mut line = crate::chain::one_line(&e);
            if line.chars().count() > 300 {
                line = line.chars().take(300).collect::<String>() + "…";
            }
            BackendError::other(line)
        }
    }
}

#[async_trait]
impl Backend for S3 {
    fn url(&self, name: &str) -> String {
        format!("s3://{}/{}", self.bucket, self.key(name))
    }

    async fn read(&self, name: &str) -> Result<Option<Object>, BackendError> {
        let answer = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .send()
            .await;
        let output = match answer {
            Ok(o) => o,
            Err(e) if e.code() == Some("NoSuchKey") => return Ok(None),
            Err(e) => return Err(classify(e)),
        };
        let version = Version(output.e_tag().unwrap_or_default().to_string());
        let bytes = output
            .body
            .collect()
            .await
            .map_err(BackendError::other)?
            .into_bytes()
            .to_vec();
        Ok(Some(Object { bytes, version }))
    }

    async fn write(
        &self,
        name: &str,
        bytes: Vec<u8>,
        condition: Condition,
        sensitivity: Sensitivity,
    ) -> Result<Version, BackendError> {
        let mut put = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .content_type("application/json")
            .body(ByteStream::from(bytes));
        put = match condition {
            Condition::Always => put,
            Condition::Absent => put.if_none_match("*"),
            Condition::Matches(v) => put.if_match(v.0),
        };
        if sensitivity == Sensitivity::Secret {
            put = match &self.kms_key {
                Some(key) => put
                    .server_side_encryption(ServerSideEncryption::AwsKms)
                    .ssekms_key_id(key),
                None => put.server_side_encryption(ServerSideEncryption::Aes256),
            };
        }
        let output = put.send().await.map_err(classify)?;
        Ok(Version(output.e_tag().unwrap_or_default().to_string()))
    }

    async fn delete(&self, name: &str, condition: Condition) -> Result<(), BackendError> {
        // Checked by reading first: conditional deletes are not everywhere
        // S3 is spoken.
        match (&condition, self.etag(name).await?) {
            (Condition::Always, _) => {}
            (Condition::Absent, None) => return Ok(()),
            (Condition::Absent, Some(_)) => return Err(BackendError::PreconditionFailed),
            (Condition::Matches(v), Some(tag)) if tag == v.0 => {}
            (Condition::Matches(_), _) => return Err(BackendError::PreconditionFailed),
        }
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(self.key(name))
            .send()
            .await
            .map_err(classify)?;
        Ok(())
    }

    async fn check(&self) -> Result<Health, BackendError> {
        match self.client.head_bucket().bucket(&self.bucket).send().await {
            Ok(_) => {}
            Err(e) if status(&e) == Some(404) => return Err(BackendError::NoBucket),
            Err(e) => return Err(classify(e)),
        }
        let versioning = self
            .client
            .get_bucket_versioning()
            .bucket(&self.bucket)
            .send()
            .await;
        Ok(match versioning {
            Ok(v) => Health {
                versioning: Some(v.status() == Some(&BucketVersioningStatus::Enabled)),
                versioning_unknown: None,
            },
            Err(e) => Health {
                versioning: None,
                versioning_unknown: Some(classify(e).to_string()),
            },
        })
    }
}
