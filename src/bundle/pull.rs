//! Pulling images into an OCI image layout (`oci-layout`, `index.json`,
//! `blobs/sha256/<hex>`): content-addressed, so a blob two images share is
//! stored once; every blob streams to disk (never whole in memory) and its
//! digest is checked; an index keeps every platform, or those asked for.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use oci_client::Client;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::manifest::{BlobEntry, ImageEntry};
use super::registry::{self, Access, MANIFEST_TYPES};
use super::{BundleError, Progress};

/// Blobs pulled at once.
const PARALLEL: usize = 4;

/// An OCI image layout on disk.
pub struct Layout {
    pub root: PathBuf,
}

impl Layout {
    pub fn create(root: &Path) -> Result<Layout, BundleError> {
        std::fs::create_dir_all(root.join("blobs/sha256")).map_err(|source| BundleError::Io {
            what: format!("cannot create {}", root.display()),
            source,
        })?;
        Ok(Layout {
            root: root.to_path_buf(),
        })
    }

    pub fn blob(&self, digest: &str) -> PathBuf {
        self.root
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    }

    fn put(&self, bytes: &[u8]) -> Result<String, BundleError> {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(bytes)));
        let path = self.blob(&digest);
        std::fs::write(&path, bytes).map_err(|source| BundleError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        })?;
        Ok(digest)
    }

    /// Writes `oci-layout` and `index.json` naming every image.
    pub fn finish(&self, images: &[ImageEntry]) -> Result<(), BundleError> {
        let index = json!({
            "schemaVersion": 2,
            "mediaType": registry::OCI_INDEX,
            "manifests": images.iter().map(|i| json!({
                "mediaType": i.media_type,
                "digest": i.digest,
                "size": i.size,
                "annotations": {"org.opencontainers.image.ref.name": i.reference},
            })).collect::<Vec<_>>(),
        });
        let write = |name: &str, v: &Value| {
            let path = self.root.join(name);
            std::fs::write(&path, serde_json::to_vec_pretty(v).expect("json")).map_err(|source| {
                BundleError::Io {
                    what: format!("cannot write {}", path.display()),
                    source,
                }
            })
        };
        write("oci-layout", &json!({"imageLayoutVersion": "1.0.0"}))?;
        write("index.json", &index)
    }
}

/// The media type a manifest declares, or the one its shape says.
pub fn media_type_of(doc: &Value) -> String {
    doc["mediaType"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| {
            if doc.get("manifests").is_some() {
                registry::OCI_INDEX.into()
            } else {
                registry::OCI_MANIFEST.into()
            }
        })
}

/// `os/arch[/variant]` of an index entry.
pub fn platform_of(entry: &Value) -> String {
    let p = &entry["platform"];
    let mut s = format!(
        "{}/{}",
        p["os"].as_str().unwrap_or("unknown"),
        p["architecture"].as_str().unwrap_or("unknown")
    );
    if let Some(v) = p["variant"].as_str() {
        s.push('/');
        s.push_str(v);
    }
    s
}

/// The config and layer descriptors of an image manifest: (digest, size, media type).
pub fn manifest_blobs(doc: &Value) -> Vec<(String, u64, String)> {
    let mut out = Vec::new();
    let one = |d: &Value| {
        Some((
            d["digest"].as_str()?.to_string(),
            d["size"].as_u64()?,
            d["mediaType"].as_str().unwrap_or_default().to_string(),
        ))
    };
    out.extend(one(&doc["config"]));
    for l in doc["layers"].as_array().into_iter().flatten() {
        out.extend(one(l));
    }
    out
}

/// What pulling found.
#[derive(Default)]
pub struct Pulled {
    pub images: Vec<ImageEntry>,
    /// Every blob, once, by digest.
    pub blobs: BTreeMap<String, BlobEntry>,
    /// Bytes of blob references beyond the first (what storing each once saved).
    pub dedup_saved: u64,
}

/// A digest the layout can store: `sha256:<64 hex>` (anything else would
/// name another path, or a hash liftoff does not check).
fn checked_digest(text: &str, digest: &str) -> Result<(), BundleError> {
    super::manifest::Manifest::blob_path(digest)
        .map(|_| ())
        .ok_or_else(|| BundleError::Registry {
            what: format!("the manifest of {text}"),
            reason: format!("it names the unsupported digest `{digest}` (sha256 only)"),
        })
}

use registry::error as pull_error;

/// Pulls every image of `references` into `layout`; blobs in `omit` (an
/// older bundle's) are recorded but not pulled.
pub async fn pull_all(
    access: &Access,
    references: &[String],
    platforms: &[String],
    layout: &Layout,
    omit: &BTreeSet<String>,
    progress: &dyn Progress,
) -> Result<Pulled, BundleError> {
    let client = access.client()?;
    let mut pulled = Pulled::default();
    for text in references {
        let reference = registry::reference(text)?;
        let auth = access.auth(reference.resolve_registry());
        progress.note(&format!("pulling {text}"));
        let (bytes, digest) =
            registry::retry(|| client.pull_manifest_raw(&reference, &auth, &MANIFEST_TYPES))
                .await
                .map_err(|e| pull_error(format!("cannot pull the manifest of {text}"), &e))?;
        let mut top: Value = serde_json::from_slice(&bytes).map_err(|e| BundleError::Registry {
            what: format!("the manifest of {text} is not JSON"),
            reason: e.to_string(),
        })?;
        let media_type = media_type_of(&top);
        let mut children: Vec<(String, Value)> = Vec::new();
        let mut image_platforms = Vec::new();
        let (top_bytes, top_digest) = if registry::is_index(&media_type) {
            let all: Vec<Value> = top["manifests"].as_array().cloned().unwrap_or_default();
            let kept: Vec<Value> = all
                .iter()
                .filter(|m| platforms.is_empty() || platforms.contains(&platform_of(m)))
                .cloned()
                .collect();
            if kept.is_empty() {
                return Err(BundleError::Input(
                    format!(
                        "{text} has no manifest for the platforms {}",
                        platforms.join(", ")
                    ),
                    Some(format!(
                        "it has: {}",
                        all.iter().map(platform_of).collect::<Vec<_>>().join(", ")
                    )),
                ));
            }
            for m in &kept {
                let d = m["digest"].as_str().unwrap_or_default().to_string();
                checked_digest(text, &d)?;
                let child_ref = reference.clone_with_digest(d.clone());
                let (child, _) = registry::retry(|| {
                    client.pull_manifest_raw(&child_ref, &auth, &MANIFEST_TYPES)
                })
                .await
                .map_err(|e| pull_error(format!("cannot pull {text}@{d}"), &e))?;
                let got = layout.put(&child)?;
                if got != d {
                    return Err(BundleError::Registry {
                        what: format!("{text}@{d}"),
                        reason: format!("the registry sent content with digest {got}"),
                    });
                }
                add_blob(
                    &mut pulled,
                    &got,
                    child.len() as u64,
                    &media_type_of(m),
                    true,
                );
                image_platforms.push(platform_of(m));
                children.push((d, serde_json::from_slice(&child).unwrap_or(Value::Null)));
            }
            if kept.len() == all.len() {
                (bytes.to_vec(), digest)
            } else {
                // Only the platforms asked for: a new index naming them.
                top["manifests"] = Value::Array(kept);
                let b = serde_json::to_vec(&top).expect("json");
                let d = format!("sha256:{}", hex::encode(Sha256::digest(&b)));
                (b, d)
            }
        } else {
            children.push((digest.clone(), top.clone()));
            (bytes.to_vec(), digest)
        };
        let stored = layout.put(&top_bytes)?;
        if stored != top_digest {
            return Err(BundleError::Registry {
                what: text.clone(),
                reason: format!("the registry sent content with digest {stored}, not {top_digest}"),
            });
        }
        add_blob(
            &mut pulled,
            &stored,
            top_bytes.len() as u64,
            &media_type,
            true,
        );
        // The blobs of every manifest, each once.
        let mut wanted: Vec<(String, u64, String)> = Vec::new();
        for (_, doc) in &children {
            for (d, size, mt) in manifest_blobs(doc) {
                checked_digest(text, &d)?;
                if let Some(b) = pulled.blobs.get(&d) {
                    pulled.dedup_saved += b.size;
                    continue;
                }
                if wanted.iter().any(|(w, ..)| *w == d) {
                    pulled.dedup_saved += size;
                    continue;
                }
                wanted.push((d, size, mt));
            }
        }
        let mut to_pull = Vec::new();
        for (d, size, mt) in wanted {
            let keep = !omit.contains(&d);
            add_blob(&mut pulled, &d, size, &mt, keep);
            if keep {
                to_pull.push((d, size));
            }
        }
        let jobs = futures::stream::iter(to_pull.into_iter().map(|(d, size)| {
            let client = &client;
            let reference = &reference;
            async move {
                pull_blob(client, reference, layout, &d).await?;
                progress.bytes(size);
                Ok::<(), BundleError>(())
            }
        }))
        .buffer_unordered(PARALLEL);
        futures::pin_mut!(jobs);
        while let Some(r) = jobs.next().await {
            r?;
        }
        if image_platforms.is_empty() {
            image_platforms.push(platform_of_single(&children[0].1, layout));
        }
        pulled.images.push(ImageEntry {
            reference: text.clone(),
            digest: stored,
            media_type,
            size: top_bytes.len() as u64,
            platforms: image_platforms,
        });
    }
    Ok(pulled)
}

/// The platform of a single-platform image, from its config blob.
fn platform_of_single(manifest: &Value, layout: &Layout) -> String {
    manifest["config"]["digest"]
        .as_str()
        .and_then(|d| std::fs::read(layout.blob(d)).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .map(|c| platform_of(&json!({"platform": c})))
        .unwrap_or_else(|| "unknown/unknown".into())
}

fn add_blob(pulled: &mut Pulled, digest: &str, size: u64, media_type: &str, in_bundle: bool) {
    pulled
        .blobs
        .entry(digest.to_string())
        .or_insert_with(|| BlobEntry {
            digest: digest.to_string(),
            size,
            media_type: media_type.to_string(),
            in_bundle,
        });
}

/// Streams one blob to a temporary file beside its place, then renames it.
async fn pull_blob(
    client: &Client,
    reference: &oci_client::Reference,
    layout: &Layout,
    digest: &str,
) -> Result<(), BundleError> {
    let dest = layout.blob(digest);
    if dest.exists() {
        return Ok(());
    }
    let partial = dest.with_extension("partial");
    let io_err = |source| BundleError::Io {
        what: format!("cannot write {}", partial.display()),
        source,
    };
    registry::retry(|| async {
        let file = tokio::fs::File::create(&partial).await?;
        let mut out = tokio::io::BufWriter::with_capacity(1 << 20, file);
        client.pull_blob(reference, digest, &mut out).await?;
        use tokio::io::AsyncWriteExt as _;
        out.flush().await?;
        Ok(())
    })
    .await
    .map_err(|e| {
        pull_error(
            format!("cannot pull blob {digest} of {}", reference.whole()),
            &e,
        )
    })?;
    std::fs::rename(&partial, &dest).map_err(io_err)
}
