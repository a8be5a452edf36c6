//! The GCS backend: objects under `gs://bucket/prefix/` through the JSON
//! API, conditional writes with `ifGenerationMatch` (0: only when absent)
//! on multipart uploads, secret objects encrypted with the given Cloud KMS
//! key (`kmsKeyName`; GCS encrypts every object at rest anyway).
//! Credentials are Application Default Credentials; an endpoint given with
//! `state.endpoint` or `STORAGE_EMULATOR_HOST` (the variable Google's own
//! client libraries honour) is called without credentials, as they do.

use async_trait::async_trait;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::Value;

use super::backend::{Backend, BackendError, Condition, Health, Object, Sensitivity, Version};

pub struct Gcs {
    http: reqwest::Client,
    base: String,
    credentials: google_cloud_auth::credentials::Credentials,
    bucket: String,
    prefix: String,
    kms_key: Option<String>,
}

const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_write";

impl Gcs {
    pub fn connect(
        bucket: String,
        prefix: String,
        endpoint: Option<String>,
        kms_key: Option<String>,
    ) -> Result<Gcs, BackendError> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let endpoint = endpoint.or_else(|| {
            std::env::var("STORAGE_EMULATOR_HOST")
                .ok()
                .filter(|v| !v.is_empty())
        });
        let credentials = match &endpoint {
            Some(_) => google_cloud_auth::credentials::anonymous::Builder::new().build(),
            None => google_cloud_auth::credentials::Builder::default()
                .with_scopes([SCOPE])
                .build()
                .map_err(BackendError::other)?,
        };
        let base = match endpoint {
            Some(e) if e.contains("://") => e.trim_end_matches('/').to_string(),
            Some(e) => format!("http://{}", e.trim_end_matches('/')),
            None => "https://storage.googleapis.com".into(),
        };
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(60))
            .build()
            .map_err(BackendError::other)?;
        Ok(Gcs {
            http,
            base,
            credentials,
            bucket,
            prefix,
            kms_key,
        })
    }

    fn object_url(&self, name: &str) -> String {
        format!(
            "{}/storage/v1/b/{}/o/{}",
            self.base,
            utf8_percent_encode(&self.bucket, NON_ALPHANUMERIC),
            utf8_percent_encode(&super::join(&self.prefix, name), NON_ALPHANUMERIC)
        )
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, BackendError> {
        use google_cloud_auth::credentials::CacheableResource;
        let headers = match self
            .credentials
            .headers(http::Extensions::new())
            .await
            .map_err(BackendError::other)?
        {
            CacheableResource::New { data, .. } => data,
            CacheableResource::NotModified => Default::default(),
        };
        request
            .headers(headers)
            .send()
            .await
            .map_err(BackendError::other)
    }

    /// The generation of `name`, if it exists.
    async fn generation(&self, name: &str) -> Result<Option<String>, BackendError> {
        let answer = self.send(self.http.get(self.object_url(name))).await?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body: Value = ok(answer)
            .await?
            .json()
            .await
            .map_err(BackendError::other)?;
        Ok(generation_of(&body))
    }
}

fn generation_of(body: &Value) -> Option<String> {
    match &body["generation"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The answer when it succeeded; else what failed, in liftoff's terms.
async fn ok(answer: reqwest::Response) -> Result<reqwest::Response, BackendError> {
    let status = answer.status().as_u16();
    if answer.status().is_success() {
        return Ok(answer);
    }
    let text = answer.text().await.unwrap_or_default();
    let message = serde_json::from_str::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| text.trim().chars().take(300).collect());
    Err(match status {
        412 => BackendError::PreconditionFailed,
        401 | 403 => BackendError::Denied(message),
        _ => BackendError::other(format!("HTTP {status}: {message}")),
    })
}

#[async_trait]
impl Backend for Gcs {
    fn url(&self, name: &str) -> String {
        format!("gs://{}/{}", self.bucket, super::join(&self.prefix, name))
    }

    async fn read(&self, name: &str) -> Result<Option<Object>, BackendError> {
        // Metadata first, then exactly that generation's bytes: a write in
        // between makes the download miss, and the pair is read again.
        for _ in 0..5 {
            let Some(generation) = self.generation(name).await? else {
                return Ok(None);
            };
            let answer = self
                .send(
                    self.http
                        .get(self.object_url(name))
                        .query(&[("alt", "media"), ("generation", &generation)]),
                )
                .await?;
            if answer.status() == reqwest::StatusCode::NOT_FOUND {
                continue;
            }
            let bytes = ok(answer)
                .await?
                .bytes()
                .await
                .map_err(BackendError::other)?;
            return Ok(Some(Object {
                bytes: bytes.to_vec(),
                version: Version(generation),
            }));
        }
        Err(BackendError::other(format!(
            "{} kept changing while it was read",
            self.url(name)
        )))
    }

    async fn write(
        &self,
        name: &str,
        bytes: Vec<u8>,
        condition: Condition,
        sensitivity: Sensitivity,
    ) -> Result<Version, BackendError> {
        let mut metadata = serde_json::json!({
            "name": super::join(&self.prefix, name),
            "contentType": "application/json",
        });
        if sensitivity == Sensitivity::Secret
            && let Some(key) = &self.kms_key
        {
            metadata["kmsKeyName"] = key.clone().into();
        }
        // A multipart upload: the one kind that honours ifGenerationMatch
        // everywhere GCS is spoken.
        let boundary = format!("liftoff-{}", crate::random::alphanumeric(24));
        let mut body = Vec::with_capacity(bytes.len() + 512);
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{metadata}\r\n--{boundary}\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(&bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let mut query = vec![("uploadType", "multipart".to_string())];
        match condition {
            Condition::Always => {}
            Condition::Absent => query.push(("ifGenerationMatch", "0".into())),
            Condition::Matches(v) => query.push(("ifGenerationMatch", v.0)),
        }
        let url = format!(
            "{}/upload/storage/v1/b/{}/o",
            self.base,
            utf8_percent_encode(&self.bucket, NON_ALPHANUMERIC)
        );
        let answer = self
            .send(
                self.http
                    .post(url)
                    .query(&query)
                    .header(
                        "Content-Type",
                        format!("multipart/related; boundary={boundary}"),
                    )
                    .body(body),
            )
            .await?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(BackendError::NoBucket);
        }
        let body: Value = ok(answer)
            .await?
            .json()
            .await
            .map_err(BackendError::other)?;
        generation_of(&body)
            .map(Version)
            .ok_or_else(|| BackendError::other("the upload's answer has no generation"))
    }

    async fn delete(&self, name: &str, condition: Condition) -> Result<(), BackendError> {
        let current = self.generation(name).await?;
        let mut request = self.http.delete(self.object_url(name));
        match (&condition, &current) {
            (_, None) => {
                return match condition {
                    Condition::Matches(_) => Err(BackendError::PreconditionFailed),
                    _ => Ok(()),
                };
            }
            (Condition::Absent, Some(_)) => return Err(BackendError::PreconditionFailed),
            (Condition::Matches(v), Some(g)) if &v.0 != g => {
                return Err(BackendError::PreconditionFailed);
            }
            (Condition::Matches(v), Some(_)) => {
                request = request.query(&[("ifGenerationMatch", &v.0)]);
            }
            (Condition::Always, Some(_)) => {}
        }
        let answer = self.send(request).await?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(());
        }
        ok(answer).await.map(|_| ())
    }

    async fn check(&self) -> Result<Health, BackendError> {
        let url = format!(
            "{}/storage/v1/b/{}",
            self.base,
            utf8_percent_encode(&self.bucket, NON_ALPHANUMERIC)
        );
        let answer = self.send(self.http.get(url)).await?;
        if answer.status() == reqwest::StatusCode::NOT_FOUND {
            return Err(BackendError::NoBucket);
        }
        let body: Value = ok(answer)
            .await?
            .json()
            .await
            .map_err(BackendError::other)?;
        Ok(Health {
            versioning: Some(body["versioning"]["enabled"].as_bool() == Some(true)),
            versioning_unknown: None,
        })
    }
}
