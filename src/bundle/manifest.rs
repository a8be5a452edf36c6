//! The bundle's manifest (`manifest.json`): what the bundle holds — the
//! chart, the images with every blob they need, the binaries — and every
//! file with its size and sha256. It is written last into the archive (the
//! checksums are computed while the files stream in) and is what the
//! ed25519 signature (`manifest.json.sig`) covers.

use serde::{Deserialize, Serialize};

/// The manifest format this liftoff writes and reads.
pub const FORMAT: u32 = 1;

/// Paths inside the bundle.
pub const HEADER_PATH: &str = "bundle.json";
pub const MANIFEST_PATH: &str = "manifest.json";
pub const SIGNATURE_PATH: &str = "manifest.json.sig";
/// The OCI image layout (oci-layout, index.json, blobs/sha256/…).
pub const IMAGES_DIR: &str = "images";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Manifest {
    pub format: u32,
    /// The liftoff that wrote it (`liftoff 0.1.0`).
    pub created_by: String,
    pub chart: ChartEntry,
    /// Every image, as the platform names it at its source.
    pub images: Vec<ImageEntry>,
    /// Every blob the images need (manifests, configs, layers), once each.
    pub blobs: Vec<BlobEntry>,
    /// A differential bundle: made with `--since`, it leaves out the blobs
    /// that bundle had already.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Since>,
    /// Every file in the archive but the manifest and its signature.
    pub files: Vec<FileEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChartEntry {
    pub name: String,
    pub version: String,
    /// The chart archive's path in the bundle.
    pub path: String,
    /// liftoff's values for the spec the bundle was made from, when any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub values: Option<String>,
    /// The `helm` binary, when `--helm` gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub helm: Option<String>,
    /// The liftoff binary that made the bundle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub liftoff: Option<String>,
    /// The runtime versions file, when `--runtime-versions` gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime_versions: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ImageEntry {
    /// The reference the image was pulled by (`quay.io/astronomer/ap-redis:7.4.3`).
    pub reference: String,
    /// The digest of what the reference named: an index or a manifest.
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    /// `os/arch[/variant]` of each manifest (one for a single-platform image).
    pub platforms: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BlobEntry {
    pub digest: String,
    pub size: u64,
    pub media_type: String,
    /// False in a differential bundle for a blob the older bundle had: the
    /// registry must hold it already.
    pub in_bundle: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Since {
    /// sha256 of the older bundle's manifest.json.
    pub manifest_sha256: String,
    /// Bytes of blobs left out because the older bundle had them.
    pub bytes_saved: u64,
    pub blobs_left_out: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FileEntry {
    pub path: String,
    pub size: u64,
    pub sha256: String,
}

/// The first entry of the archive: written before the data, so extraction
/// can check free disk space before it writes anything.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub format: u32,
    /// Bytes of every file that follows (the manifest aside).
    pub total_bytes: u64,
    pub files: usize,
}

impl Manifest {
    /// Whether a blob (by digest) is part of this bundle's image set.
    pub fn knows_blob(&self, digest: &str) -> bool {
        self.blobs.iter().any(|b| b.digest == digest)
    }

    /// The path of a blob in the bundle.
    pub fn blob_path(digest: &str) -> Option<String> {
        let hex = digest.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| format!("{IMAGES_DIR}/blobs/sha256/{hex}"))
    }
}
