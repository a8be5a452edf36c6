//! `bundle create`: the chart, the images pulled into an OCI layout, the
//! binaries and the manifest, written into one archive in one streaming
//! pass (read, hash, compress), optionally signed.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::archive::{self, Writer};
use super::manifest::{ChartEntry, FORMAT, Header, IMAGES_DIR, Manifest, Since};
use super::pull::{self, Layout};
use super::registry::{self, Access};
use super::{BundleError, Progress, sign};

/// What `bundle create` is given.
pub struct Request {
    pub out: PathBuf,
    /// The chart archive (already fetched).
    pub chart: PathBuf,
    pub chart_name: String,
    pub chart_version: String,
    pub images: BTreeSet<String>,
    /// `os/arch[/variant]` to keep of each index (empty: every platform).
    pub platforms: Vec<String>,
    /// liftoff's values for the spec.
    pub values_yaml: Option<String>,
    pub helm: Option<PathBuf>,
    pub liftoff: Option<PathBuf>,
    pub runtime_versions: Option<PathBuf>,
    pub sign_key: Option<PathBuf>,
    /// zstd level, when compressing.
    pub zstd: Option<i32>,
    pub since: Option<PathBuf>,
    pub access: Access,
}

/// What it made.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub bundle: PathBuf,
    pub images: usize,
    pub blobs: usize,
    /// Bytes of image data in the bundle.
    pub image_bytes: u64,
    /// Bytes storing each shared blob once saved.
    pub dedup_saved_bytes: u64,
    /// Bytes left out because the older bundle (`--since`) had them.
    pub since_saved_bytes: u64,
    pub archive_bytes: u64,
    pub signed: bool,
}

pub async fn create(req: &Request, progress: &dyn Progress) -> Result<Summary, BundleError> {
    let sign_key = req
        .sign_key
        .as_deref()
        .map(sign::read_private)
        .transpose()?;
    let (omit, since_sha) = match &req.since {
        Some(old) => {
            let checked = archive::read(old, archive::Mode::ManifestOnly, None, &super::Silent)?;
            let omit: BTreeSet<String> = checked
                .manifest
                .blobs
                .iter()
                .filter(|b| !registry::is_manifest(&b.media_type))
                .map(|b| b.digest.clone())
                .collect();
            (omit, Some(checked.manifest_sha256))
        }
        None => (BTreeSet::new(), None),
    };
    let parent = req
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let staging = tempfile::Builder::new()
        .prefix(".liftoff-bundle-")
        .tempdir_in(parent)
        .map_err(|source| BundleError::Io {
            what: format!("cannot create a staging folder in {}", parent.display()),
            source,
        })?;
    let layout = Layout::create(&staging.path().join(IMAGES_DIR))?;
    let references: Vec<String> = req.images.iter().cloned().collect();
    progress.note(&format!("pulling {} image(s)", references.len()));
    let pulled = pull::pull_all(
        &req.access,
        &references,
        &req.platforms,
        &layout,
        &omit,
        progress,
    )
    .await?;
    layout.finish(&pulled.images)?;

    // What goes in, in order: the chart, binaries, values, then the layout.
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let chart_name = format!(
        "chart/{}",
        req.chart
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| "chart.tgz".into())
    );
    files.push((chart_name.clone(), req.chart.clone()));
    let mut entry = ChartEntry {
        name: req.chart_name.clone(),
        version: req.chart_version.clone(),
        path: chart_name,
        values: None,
        helm: None,
        liftoff: None,
        runtime_versions: None,
    };
    if let Some(h) = &req.helm {
        entry.helm = Some("bin/helm".into());
        files.push(("bin/helm".into(), h.clone()));
    }
    if let Some(l) = &req.liftoff {
        entry.liftoff = Some("bin/liftoff".into());
        files.push(("bin/liftoff".into(), l.clone()));
    }
    if let Some(r) = &req.runtime_versions {
        entry.runtime_versions = Some("runtime-versions.json".into());
        files.push(("runtime-versions.json".into(), r.clone()));
    }
    for name in ["oci-layout", "index.json"] {
        files.push((format!("{IMAGES_DIR}/{name}"), layout.root.join(name)));
    }
    let mut image_bytes = 0;
    for b in pulled.blobs.values().filter(|b| b.in_bundle) {
        let rel = Manifest::blob_path(&b.digest).ok_or_else(|| {
            BundleError::Input(
                format!("unsupported digest {}", b.digest),
                Some("liftoff bundles sha256 digests only".into()),
            )
        })?;
        image_bytes += b.size;
        files.push((rel, layout.blob(&b.digest)));
    }
    let mut total: u64 = 0;
    for (_, path) in &files {
        total += std::fs::metadata(path)
            .map_err(|source| BundleError::Io {
                what: format!("cannot read {}", path.display()),
                source,
            })?
            .len();
    }
    let values_bytes = req.values_yaml.as_deref().map(str::as_bytes);
    total += values_bytes.map_or(0, |v| v.len() as u64);
    let header = Header {
        format: FORMAT,
        total_bytes: total,
        files: files.len() + usize::from(values_bytes.is_some()),
    };
    progress.note(&format!("writing {}", req.out.display()));
    progress.total(total);
    let partial = req.out.with_extension("partial");
    let mut writer = Writer::create(&partial, req.zstd, &header)?;
    if let Some(v) = values_bytes {
        writer.add_bytes("values.yaml", v)?;
        entry.values = Some("values.yaml".into());
    }
    for (name, path) in &files {
        writer.add_file(name, path, progress)?;
    }
    let since_saved: u64 = pulled
        .blobs
        .values()
        .filter(|b| !b.in_bundle)
        .map(|b| b.size)
        .sum();
    let left_out = pulled.blobs.values().filter(|b| !b.in_bundle).count();
    let manifest = Manifest {
        format: FORMAT,
        created_by: format!("liftoff {}", env!("CARGO_PKG_VERSION")),
        chart: entry,
        images: pulled.images.clone(),
        blobs: pulled.blobs.values().cloned().collect(),
        since: since_sha.map(|sha| Since {
            manifest_sha256: sha,
            bytes_saved: since_saved,
            blobs_left_out: left_out,
        }),
        files: writer.files().to_vec(),
    };
    let bytes = serde_json::to_vec_pretty(&manifest).expect("manifest serializes");
    let signature = sign_key.as_ref().map(|k| sign::sign(k, &bytes));
    let archive_bytes = writer.finish(&bytes, signature.as_deref())?;
    std::fs::rename(&partial, &req.out).map_err(|source| BundleError::Io {
        what: format!("cannot write {}", req.out.display()),
        source,
    })?;
    Ok(Summary {
        bundle: req.out.clone(),
        images: pulled.images.len(),
        blobs: pulled.blobs.values().filter(|b| b.in_bundle).count(),
        image_bytes,
        dedup_saved_bytes: pulled.dedup_saved,
        since_saved_bytes: since_saved,
        archive_bytes,
        signed: signature.is_some(),
    })
}
