//! Pushing a bundle's images into a private registry, under the names the
//! platform expects with `global.privateRegistry`: `<registry>/<basename>:<tag>`.
//! Blobs go in parallel (bounded); a blob the registry has already is
//! skipped (HEAD), which is also how an interrupted push resumes; transient
//! failures are retried; manifests go last, so a tag never names an image
//! whose blobs are not all there. For a differential bundle, the blobs it
//! leaves out must be in the registry already: each absent one is named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use oci_client::RegistryOperation;
use oci_client::{Client, Reference};
use serde_json::Value;

use super::manifest::Manifest;
use super::pull::manifest_blobs;
use super::registry::{self, Access};
use super::{BundleError, Progress};

/// What a push did.
#[derive(Debug, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Pushed {
    pub images: Vec<String>,
    pub blobs_pushed: usize,
    pub blobs_skipped: usize,
    /// Blobs another repository of the registry had, mounted instead of sent.
    pub blobs_mounted: usize,
    pub bytes_pushed: u64,
}

/// One image's place in the target registry and what it needs.
struct Target {
    reference: Reference,
    /// (digest, media type, bytes) of each manifest under the top one, then the top one.
    manifests: Vec<(String, String, Vec<u8>)>,
    blobs: Vec<(String, u64)>,
}

/// Where a blob is in the extracted bundle; a digest that is not
/// `sha256:<64 hex>` is refused (it would name another path).
fn blob_path(root: &Path, digest: &str) -> Result<PathBuf, BundleError> {
    Manifest::blob_path(digest)
        .map(|p| root.join(p))
        .ok_or_else(|| {
            BundleError::Input(
                format!("the bundle names an unsupported digest `{digest}`"),
                Some("liftoff bundles use sha256 digests only".into()),
            )
        })
}

fn read_json(path: &Path) -> Result<(Vec<u8>, Value), BundleError> {
    let bytes = std::fs::read(path).map_err(|source| BundleError::Io {
        what: format!("cannot read {}", path.display()),
        source,
    })?;
    let doc = serde_json::from_slice(&bytes).map_err(|e| {
        BundleError::Input(format!("{} is not a manifest: {e}", path.display()), None)
    })?;
    Ok((bytes, doc))
}

/// The target references and what each needs, from an extracted bundle.
fn targets(root: &Path, manifest: &Manifest, registry: &str) -> Result<Vec<Target>, BundleError> {
    let mut out = Vec::new();
    for image in &manifest.images {
        let source = registry::reference(&image.reference)?;
        let repository = registry::target_repository(registry, source.repository());
        let host = registry::registry_host(registry).to_string();
        let path = repository
            .strip_prefix(&format!("{host}/"))
            .unwrap_or(&repository)
            .to_string();
        let reference = match source.tag() {
            Some(tag) => Reference::with_tag(host, path, tag.to_string()),
            None => Reference::with_digest(host, path, image.digest.clone()),
        };
        let (top_bytes, top) = read_json(&blob_path(root, &image.digest)?)?;
        let mut manifests = Vec::new();
        let mut docs = Vec::new();
        if registry::is_index(&image.media_type) {
            for m in top["manifests"].as_array().into_iter().flatten() {
                let d = m["digest"].as_str().unwrap_or_default().to_string();
                let (bytes, doc) = read_json(&blob_path(root, &d)?)?;
                manifests.push((d, super::pull::media_type_of(&doc), bytes));
                docs.push(doc);
            }
        } else {
            docs.push(top.clone());
        }
        manifests.push((image.digest.clone(), image.media_type.clone(), top_bytes));
        let blobs = docs
            .iter()
            .flat_map(manifest_blobs)
            .map(|(d, size, _)| (d, size))
            .collect();
        out.push(Target {
            reference,
            manifests,
            blobs,
        });
    }
    Ok(out)
}

use registry::error as push_error;

enum BlobResult {
    Skipped,
    Pushed(u64),
    Mounted,
    Missing(String, String),
}

async fn exists(client: &Client, reference: &Reference, digest: &str) -> Result<bool, BundleError> {
    registry::retry(|| client.blob_exists(reference, digest))
        .await
        .map_err(|e| {
            push_error(
                format!("cannot check blob {digest} of {}", reference.whole()),
                &e,
            )
        })
}

async fn mount(
    client: &Client,
    reference: &Reference,
    from: &Reference,
    digest: &str,
) -> Result<(), BundleError> {
    registry::retry(|| client.mount_blob(reference, from, digest))
        .await
        .map_err(|e| {
            push_error(
                format!(
                    "cannot mount blob {digest} into {} from {}",
                    reference.whole(),
                    from.repository()
                ),
                &e,
            )
        })
}

/// Makes sure `reference`'s repository has the blob: already there, sent
/// from the bundle, or (a blob a differential bundle leaves out) mounted
/// from another repository of this push that has it.
async fn ensure_blob(
    client: &Client,
    reference: &Reference,
    others: &[&Reference],
    root: &Path,
    digest: &str,
    size: u64,
) -> Result<BlobResult, BundleError> {
    if exists(client, reference, digest).await? {
        return Ok(BlobResult::Skipped);
    }
    let path = blob_path(root, digest)?;
    if !path.exists() {
        for other in others {
            if other.repository() != reference.repository() && exists(client, other, digest).await?
            {
                mount(client, reference, other, digest).await?;
                return Ok(BlobResult::Mounted);
            }
        }
        return Ok(BlobResult::Missing(
            digest.to_string(),
            reference.repository().to_string(),
        ));
    }
    registry::retry(|| async {
        let file = tokio::fs::File::open(&path).await?;
        let stream = futures::stream::unfold(Some(file), |file| async move {
            use tokio::io::AsyncReadExt as _;
            let mut file = file?;
            let mut buf = vec![0u8; 1 << 20];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(bytes::Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e.into()), None)),
            }
        });
        client
            .push_blob_stream(reference, stream, digest, Some(size))
            .await
    })
    .await
    .map_err(|e| {
        push_error(
            format!("cannot push blob {digest} of {}", reference.whole()),
            &e,
        )
    })?;
    Ok(BlobResult::Pushed(size))
}

/// Pushes every image of the bundle extracted at `root` into `registry`.
pub async fn push(
    root: &Path,
    manifest: &Manifest,
    registry: &str,
    access: &Access,
    parallel: usize,
    progress: &dyn Progress,
) -> Result<Pushed, BundleError> {
    let client = access.client()?;
    let host = registry::registry_host(registry);
    let auth = access.auth(host);
    let targets = targets(root, manifest, registry)?;
    for t in &targets {
        registry::retry(|| client.auth(&t.reference, &auth, RegistryOperation::Push))
            .await
            .map_err(|e| push_error(format!("cannot sign in to {host}"), &e))?;
    }
    // Each blob with the repositories that need it: sent once (to the
    // first), then mounted into the others.
    let mut by_digest: BTreeMap<String, (u64, Vec<&Reference>)> = BTreeMap::new();
    for t in &targets {
        for (d, size) in &t.blobs {
            let entry = by_digest.entry(d.clone()).or_insert((*size, Vec::new()));
            if !entry
                .1
                .iter()
                .any(|r| r.repository() == t.reference.repository())
            {
                entry.1.push(&t.reference);
            }
        }
    }
    let all: Vec<&Reference> = targets.iter().map(|t| &t.reference).collect();
    progress.total(by_digest.values().map(|(s, _)| *s).sum());
    let mut pushed = Pushed::default();
    let mut missing = Vec::new();
    let tally = |r: BlobResult, pushed: &mut Pushed, missing: &mut Vec<String>| match r {
        BlobResult::Skipped => pushed.blobs_skipped += 1,
        BlobResult::Pushed(size) => {
            pushed.blobs_pushed += 1;
            pushed.bytes_pushed += size;
        }
        BlobResult::Mounted => pushed.blobs_mounted += 1,
        BlobResult::Missing(d, repo) => missing.push(format!("{host}/{repo}@{d}")),
    };
    let first = futures::stream::iter(by_digest.iter().map(|(d, (size, repos))| {
        let (client, all) = (&client, &all);
        async move {
            let r = ensure_blob(client, repos[0], all, root, d, *size).await;
            progress.bytes(*size);
            r
        }
    }))
    .buffer_unordered(parallel.max(1));
    futures::pin_mut!(first);
    while let Some(r) = first.next().await {
        tally(r?, &mut pushed, &mut missing);
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(BundleError::MissingBlobs {
            registry: registry.to_string(),
            blobs: missing,
        });
    }
    let mounts = by_digest
        .iter()
        .flat_map(|(d, (_, repos))| repos[1..].iter().map(move |r| (d, repos[0], *r)));
    let rest = futures::stream::iter(mounts.map(|(d, from, to)| {
        let client = &client;
        async move {
            if exists(client, to, d).await? {
                Ok(BlobResult::Skipped)
            } else {
                mount(client, to, from, d)
                    .await
                    .map(|()| BlobResult::Mounted)
            }
        }
    }))
    .buffer_unordered(parallel.max(1));
    futures::pin_mut!(rest);
    while let Some(r) = rest.next().await {
        tally(r?, &mut pushed, &mut missing);
    }
    for t in &targets {
        let n = t.manifests.len();
        for (i, (digest, media_type, bytes)) in t.manifests.iter().enumerate() {
            let reference = if i + 1 == n {
                t.reference.clone()
            } else {
                t.reference.clone_with_digest(digest.clone())
            };
            let content_type: http::HeaderValue = media_type.parse().map_err(|_| {
                BundleError::Input(
                    format!("manifest {digest} has an invalid media type `{media_type}`"),
                    None,
                )
            })?;
            registry::retry(|| {
                client.push_manifest_raw(&reference, bytes.clone(), content_type.clone())
            })
            .await
            .map_err(|e| {
                push_error(
                    format!("cannot push the manifest {}", reference.whole()),
                    &e,
                )
            })?;
        }
        progress.note(&format!("pushed {}", t.reference.whole()));
        pushed.images.push(t.reference.whole());
    }
    Ok(pushed)
}

/// The images of `manifest` the registry lacks (checked by digest, HEAD).
pub async fn absent_images(
    manifest: &Manifest,
    registry: &str,
    access: &Access,
) -> Result<Vec<String>, BundleError> {
    let client = access.client()?;
    let host = registry::registry_host(registry);
    let auth = access.auth(host);
    let mut absent = Vec::new();
    for image in &manifest.images {
        let source = registry::reference(&image.reference)?;
        let repository = registry::target_repository(registry, source.repository());
        let path = repository
            .strip_prefix(&format!("{host}/"))
            .unwrap_or(&repository)
            .to_string();
        let reference = Reference::with_digest(host.to_string(), path, image.digest.clone());
        match registry::retry(|| client.fetch_manifest_digest(&reference, &auth)).await {
            Ok(_) => {}
            Err(e) if registry::not_found(&e) => absent.push(reference.whole()),
            Err(e) => {
                return Err(push_error(
                    format!("cannot check {}", reference.whole()),
                    &e,
                ));
            }
        }
    }
    Ok(absent)
}

/// The image references (`host[:port]/repository:tag` or `@digest`) the
/// registry does not serve (HEAD of each manifest, with `access`'s
/// credentials and TLS settings).
pub async fn absent_references(
    references: &[String],
    access: &Access,
) -> Result<Vec<String>, BundleError> {
    let client = access.client()?;
    let mut absent = Vec::new();
    for text in references {
        let reference = registry::reference(text)?;
        let auth = access.auth(reference.registry());
        match registry::retry(|| client.fetch_manifest_digest(&reference, &auth)).await {
            Ok(_) => {}
            Err(e) if registry::not_found(&e) => absent.push(text.clone()),
            Err(e) => return Err(push_error(format!("cannot check {text}"), &e)),
        }
    }
    Ok(absent)
}
