//! The bundle file: one tar archive, optionally zstd-compressed (detected
//! by its magic bytes when read). Writing hashes every file as it streams
//! into the archive (one pass: read, hash, compress). Reading checks as it
//! goes — every path relative and inside the bundle, no link pointing out,
//! no special files, every checksum against the manifest, the signature —
//! and extraction checks free disk space first (the [`Header`] entry comes
//! before the data) and never writes through a link.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use super::manifest::{FileEntry, HEADER_PATH, Header, MANIFEST_PATH, Manifest, SIGNATURE_PATH};
use super::sign;
use super::{BundleError, Progress};

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// Largest manifest or signature a reader accepts (a bundle of thousands of
/// images has a manifest of a few MiB).
const MAX_METADATA: u64 = 64 << 20;

/// Copies `reader` to `out`, returning the sha256 (hex) and size.
fn hash_copy(
    reader: &mut dyn Read,
    out: &mut dyn Write,
    progress: &dyn Progress,
) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])?;
        size += n as u64;
        progress.bytes(n as u64);
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A reader that hashes what passes through it (for tar's `append_data`).
struct Hashing<'a, R> {
    inner: R,
    hasher: Sha256,
    size: u64,
    progress: &'a dyn Progress,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        self.progress.bytes(n as u64);
        Ok(n)
    }
}

enum Sink {
    Plain(BufWriter<File>),
    Zstd(zstd::Encoder<'static, BufWriter<File>>),
}

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Sink::Plain(w) => w.write(buf),
            Sink::Zstd(w) => w.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Sink::Plain(w) => w.flush(),
            Sink::Zstd(w) => w.flush(),
        }
    }
}

/// Writes a bundle: the header first, then files (each hashed as it
/// streams), then the manifest and its signature.
pub struct Writer {
    tar: tar::Builder<Sink>,
    path: PathBuf,
    files: Vec<FileEntry>,
}

fn header_for(size: u64) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_size(size);
    h.set_mode(0o644);
    h.set_mtime(0);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

impl Writer {
    /// Creates `path` (replacing it), zstd-compressed when `level` is given.
    pub fn create(path: &Path, level: Option<i32>, header: &Header) -> Result<Writer, BundleError> {
        let io_err = |source| BundleError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        };
        let file = BufWriter::with_capacity(1 << 20, File::create(path).map_err(io_err)?);
        let sink = match level {
            Some(l) => {
                let mut encoder = zstd::Encoder::new(file, l).map_err(io_err)?;
                // Compression runs on every core in zstd's own workers, as
                // `zstd -T0` does; this thread hashes and feeds it.
                let workers = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
                encoder.multithread(workers).map_err(io_err)?;
                Sink::Zstd(encoder)
            }
            None => Sink::Plain(file),
        };
        let mut w = Writer {
            tar: tar::Builder::new(sink),
            path: path.to_path_buf(),
            files: Vec::new(),
        };
        let bytes = serde_json::to_vec_pretty(header).expect("header serializes");
        w.append_raw(HEADER_PATH, &bytes)?;
        Ok(w)
    }

    fn io_err(&self, source: io::Error) -> BundleError {
        BundleError::Io {
            what: format!("cannot write {}", self.path.display()),
            source,
        }
    }

    fn append_raw(&mut self, name: &str, bytes: &[u8]) -> Result<(), BundleError> {
        let mut h = header_for(bytes.len() as u64);
        self.tar
            .append_data(&mut h, name, bytes)
            .map_err(|e| self.io_err(e))
    }

    /// Adds a file from disk under `name`, hashing it on the way.
    pub fn add_file(
        &mut self,
        name: &str,
        source: &Path,
        progress: &dyn Progress,
    ) -> Result<FileEntry, BundleError> {
        let read_err = |e| BundleError::Io {
            what: format!("cannot read {}", source.display()),
            source: e,
        };
        let file = File::open(source).map_err(read_err)?;
        let size = file.metadata().map_err(read_err)?.len();
        let mut reader = Hashing {
            inner: BufReader::with_capacity(1 << 20, file).take(size),
            hasher: Sha256::new(),
            size: 0,
            progress,
        };
        let mut h = header_for(size);
        if name.starts_with("bin/") {
            h.set_mode(0o755);
        }
        self.tar
            .append_data(&mut h, name, &mut reader)
            .map_err(|e| self.io_err(e))?;
        if reader.size != size {
            return Err(BundleError::Io {
                what: format!("{} changed while it was added", source.display()),
                source: io::Error::from(io::ErrorKind::UnexpectedEof),
            });
        }
        let entry = FileEntry {
            path: name.into(),
            size,
            sha256: hex::encode(reader.hasher.finalize()),
        };
        self.files.push(entry.clone());
        Ok(entry)
    }

    /// Adds bytes under `name`.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> Result<FileEntry, BundleError> {
        self.append_raw(name, bytes)?;
        let entry = FileEntry {
            path: name.into(),
            size: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
        };
        self.files.push(entry.clone());
        Ok(entry)
    }

    /// The files added so far, for the manifest.
    pub fn files(&self) -> &[FileEntry] {
        &self.files
    }

    /// Writes the manifest (and its signature), ends the archive and syncs it.
    pub fn finish(mut self, manifest: &[u8], signature: Option<&str>) -> Result<u64, BundleError> {
        self.append_raw(MANIFEST_PATH, manifest)?;
        if let Some(s) = signature {
            self.append_raw(SIGNATURE_PATH, s.as_bytes())?;
        }
        let path = self.path.clone();
        let io_err = |source| BundleError::Io {
            what: format!("cannot write {}", path.display()),
            source,
        };
        let sink = self.tar.into_inner().map_err(io_err)?;
        let file = match sink {
            Sink::Plain(w) => w,
            Sink::Zstd(w) => w.finish().map_err(io_err)?,
        };
        let file = file.into_inner().map_err(|e| io_err(e.into_error()))?;
        file.sync_all().map_err(io_err)?;
        Ok(file.metadata().map_err(io_err)?.len())
    }
}

/// Why a path inside a bundle is refused.
pub fn check_path(raw: &Path) -> Result<PathBuf, String> {
    let mut clean = PathBuf::new();
    for c in raw.components() {
        match c {
            Component::Normal(p) => clean.push(p),
            Component::CurDir => {}
            Component::ParentDir => return Err("it climbs out with `..`".into()),
            Component::RootDir | Component::Prefix(_) => {
                return Err("it is an absolute path".into());
            }
        }
    }
    if clean.as_os_str().is_empty() {
        return Err("it is empty".into());
    }
    Ok(clean)
}

/// Whether a link may be extracted: its target relative, without `..`
/// (so no chain of links can climb out, whatever the links around it), and
/// for a hard link, a path inside the bundle.
fn link_inside(target: &Path) -> Result<(), String> {
    if target.is_absolute() {
        return Err(format!(
            "it links to the absolute path {}",
            target.display()
        ));
    }
    if target.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "it links to {}, which climbs with `..` and may point outside the bundle",
            target.display()
        ));
    }
    if target.as_os_str().is_empty() {
        return Err("it links to nothing".into());
    }
    Ok(())
}

/// What reading a bundle found, every check passed.
#[derive(Debug)]
pub struct Checked {
    pub manifest: Manifest,
    pub manifest_sha256: String,
    pub header: Option<Header>,
    /// The manifest carries a signature, and it was checked.
    pub signed: bool,
    /// Size of the bundle file.
    pub archive_bytes: u64,
}

/// How much to read.
pub enum Mode<'a> {
    /// Read everything, check every checksum and the signature.
    Verify,
    /// As [`Mode::Verify`], and write the files under this (empty) folder.
    Extract(&'a Path),
    /// As [`Mode::Extract`], but the image layout (`images/`) is only
    /// checked, not written: what `install --bundle` and `upgrade --bundle`
    /// use (the chart and helm; the images are in the registry already).
    ExtractButImages(&'a Path),
    /// Only the manifest (no checksums): for `inspect` and `--since`.
    ManifestOnly,
}

/// `reader`, decompressed when it starts with zstd's magic bytes.
fn decompressed<'a>(mut reader: Box<dyn Read + 'a>) -> io::Result<Box<dyn Read + 'a>> {
    let mut magic = [0u8; 4];
    let mut n = 0;
    while n < 4 {
        match reader.read(&mut magic[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = io::Cursor::new(magic[..n].to_vec());
    let reader = BufReader::with_capacity(1 << 20, head.chain(reader));
    if n == 4 && magic == ZSTD_MAGIC {
        Ok(Box::new(zstd::Decoder::new(reader)?))
    } else {
        Ok(Box::new(reader))
    }
}

/// Free bytes for an unprivileged user on the file system holding `dir`.
pub fn free_bytes(dir: &Path) -> io::Result<u64> {
    let s = nix::sys::statvfs::statvfs(dir).map_err(io::Error::from)?;
    #[allow(clippy::unnecessary_cast)]
    Ok(s.blocks_available() as u64 * s.fragment_size() as u64)
}

/// Whether any folder between `root` and `path` is a link.
fn through_link(root: &Path, rel: &Path) -> bool {
    let mut at = root.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for c in &parts[..parts.len().saturating_sub(1)] {
        at.push(c);
        if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
            return true;
        }
    }
    false
}

/// Reads the bundle at `path`, checking everything `mode` asks for.
pub fn read(
    path: &Path,
    mode: Mode<'_>,
    key: Option<&sign::PublicKey>,
    progress: &dyn Progress,
) -> Result<Checked, BundleError> {
    let io_err = |source| BundleError::Io {
        what: format!("cannot read {}", path.display()),
        source,
    };
    let file = File::open(path).map_err(io_err)?;
    let archive_bytes = file.metadata().map_err(io_err)?.len();
    read_from(Box::new(file), path, archive_bytes, mode, key, progress)
}

/// [`read`] of a bundle's bytes from any reader (`name` shown in errors).
pub fn read_from<'a>(
    reader: Box<dyn Read + 'a>,
    name: &Path,
    archive_bytes: u64,
    mode: Mode<'_>,
    key: Option<&sign::PublicKey>,
    progress: &dyn Progress,
) -> Result<Checked, BundleError> {
    let bundle = name.to_path_buf();
    let reader = decompressed(reader).map_err(|source| BundleError::Corrupt {
        bundle: bundle.clone(),
        at: None,
        source,
    })?;
    let mut archive = tar::Archive::new(reader);
    let corrupt = |at: Option<&str>, source: io::Error| BundleError::Corrupt {
        bundle: bundle.clone(),
        at: at.map(str::to_string),
        source,
    };
    let bad = |file: &str, reason: String| BundleError::BadFile {
        bundle: bundle.clone(),
        file: file.to_string(),
        reason,
    };
    let mut seen: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut manifest_bytes: Option<Vec<u8>> = None;
    let mut signature: Option<String> = None;
    let mut header: Option<Header> = None;
    let mut last: Option<String> = None;
    let only_manifest = matches!(mode, Mode::ManifestOnly);
    let entries = archive.entries().map_err(|e| corrupt(None, e))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| corrupt(last.as_deref(), e))?;
        let raw = entry
            .path()
            .map_err(|e| corrupt(last.as_deref(), e))?
            .into_owned();
        let name_shown = raw.display().to_string();
        let rel = check_path(&raw).map_err(|why| BundleError::UnsafePath {
            bundle: bundle.clone(),
            path: name_shown.clone(),
            reason: why,
        })?;
        let name = rel.to_string_lossy().into_owned();
        last = Some(name.clone());
        let kind = entry.header().entry_type();
        // Where this entry is written, when it is.
        let write_to = match mode {
            Mode::Extract(root) => Some(root),
            Mode::ExtractButImages(root)
                if name != super::manifest::IMAGES_DIR
                    && !name.starts_with(&format!("{}/", super::manifest::IMAGES_DIR)) =>
            {
                Some(root)
            }
            _ => None,
        };
        match kind {
            tar::EntryType::Directory => {
                if let Some(root) = write_to {
                    if through_link(root, &rel) {
                        return Err(BundleError::UnsafePath {
                            bundle: bundle.clone(),
                            path: name,
                            reason: "it would be written through a link".into(),
                        });
                    }
                    std::fs::create_dir_all(root.join(&rel)).map_err(|e| extract_err(root, e))?;
                }
                continue;
            }
            tar::EntryType::Symlink | tar::EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| corrupt(Some(&name), e))?
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                link_inside(&target).map_err(|why| BundleError::UnsafePath {
                    bundle: bundle.clone(),
                    path: name.clone(),
                    reason: why,
                })?;
                if let Some(root) = write_to {
                    if through_link(root, &rel) {
                        return Err(BundleError::UnsafePath {
                            bundle: bundle.clone(),
                            path: name,
                            reason: "it would be written through a link".into(),
                        });
                    }
                    let dest = root.join(&rel);
                    if let Some(parent) = dest.parent() {
                        std::fs::create_dir_all(parent).map_err(|e| extract_err(root, e))?;
                    }
                    if kind == tar::EntryType::Symlink {
                        std::os::unix::fs::symlink(&target, &dest)
                    } else {
                        std::fs::hard_link(root.join(&target), &dest)
                    }
                    .map_err(|e| extract_err(root, e))?;
                }
                continue;
            }
            tar::EntryType::Regular | tar::EntryType::Continuous => {}
            other => {
                return Err(BundleError::UnsafePath {
                    bundle: bundle.clone(),
                    path: name,
                    reason: format!("it is a special file ({other:?})"),
                });
            }
        }
        if name == MANIFEST_PATH || name == SIGNATURE_PATH || name == HEADER_PATH {
            if entry.size() > MAX_METADATA {
                return Err(bad(
                    &name,
                    format!("it is {} bytes, too large", entry.size()),
                ));
            }
            let mut bytes = Vec::new();
            entry
                .read_to_end(&mut bytes)
                .map_err(|e| corrupt(Some(&name), e))?;
            match name.as_str() {
                MANIFEST_PATH => manifest_bytes = Some(bytes),
                SIGNATURE_PATH => {
                    signature = Some(String::from_utf8_lossy(&bytes).trim().to_string())
                }
                _ => {
                    let h: Header = serde_json::from_slice(&bytes)
                        .map_err(|e| bad(&name, format!("it is not a bundle header: {e}")))?;
                    if let Mode::Extract(root) = mode {
                        let free = free_bytes(root).map_err(|e| extract_err(root, e))?;
                        if free < h.total_bytes {
                            return Err(BundleError::NoSpace {
                                dir: root.to_path_buf(),
                                needed: h.total_bytes,
                                free,
                            });
                        }
                    }
                    header = Some(h);
                }
            }
            continue;
        }
        if only_manifest {
            continue;
        }
        if seen.contains_key(&name) {
            return Err(bad(&name, "it appears twice in the archive".into()));
        }
        let expected = entry.size();
        let (sha, size) = match write_to {
            Some(root) => {
                if through_link(root, &rel) {
                    return Err(BundleError::UnsafePath {
                        bundle: bundle.clone(),
                        path: name,
                        reason: "it would be written through a link".into(),
                    });
                }
                let dest = root.join(&rel);
                if let Some(parent) = dest.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| extract_err(root, e))?;
                }
                let mut out = BufWriter::new(
                    std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&dest)
                        .map_err(|e| extract_err(root, e))?,
                );
                let r = hash_copy(&mut entry, &mut out, progress)
                    .map_err(|e| corrupt(Some(&name), e))?;
                out.flush().map_err(|e| extract_err(root, e))?;
                if entry.header().mode().is_ok_and(|m| m & 0o100 != 0) {
                    use std::os::unix::fs::PermissionsExt;
                    std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(0o755))
                        .map_err(|e| extract_err(root, e))?;
                }
                r
            }
            _ => hash_copy(&mut entry, &mut io::sink(), progress)
                .map_err(|e| corrupt(Some(&name), e))?,
        };
        if size != expected {
            return Err(corrupt(
                Some(&name),
                io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("the archive ends after {size} of its {expected} bytes"),
                ),
            ));
        }
        if let Some(hex) =
            name.strip_prefix(&format!("{}/blobs/sha256/", super::manifest::IMAGES_DIR))
            && hex != sha
        {
            return Err(bad(
                &name,
                format!("its content has digest sha256:{sha}, not the one its name says"),
            ));
        }
        seen.insert(name, (size, sha));
    }
    let Some(bytes) = manifest_bytes else {
        return Err(bad(
            MANIFEST_PATH,
            "it is missing: the bundle is truncated or not a liftoff bundle".into(),
        ));
    };
    let manifest: Manifest = serde_json::from_slice(&bytes)
        .map_err(|e| bad(MANIFEST_PATH, format!("it is not a bundle manifest: {e}")))?;
    if manifest.format != super::manifest::FORMAT {
        return Err(bad(
            MANIFEST_PATH,
            format!(
                "it has format {}, this liftoff reads format {}",
                manifest.format,
                super::manifest::FORMAT
            ),
        ));
    }
    let signed = match (&signature, key) {
        (Some(sig), Some(key)) => {
            sign::verify(key, &bytes, sig).map_err(|reason| BundleError::BadSignature {
                bundle: bundle.clone(),
                reason,
            })?;
            true
        }
        (Some(_), None) if !only_manifest => {
            return Err(BundleError::SignedNoKey {
                bundle: bundle.clone(),
            });
        }
        (Some(_), None) => false,
        (None, Some(_)) => {
            return Err(BundleError::BadSignature {
                bundle: bundle.clone(),
                reason: "the bundle is not signed".into(),
            });
        }
        (None, None) => false,
    };
    if !only_manifest {
        for f in &manifest.files {
            match seen.remove(&f.path) {
                None => return Err(bad(&f.path, "it is missing from the archive".into())),
                Some((size, _)) if size != f.size => {
                    return Err(bad(
                        &f.path,
                        format!("it has {size} bytes, the manifest says {}", f.size),
                    ));
                }
                Some((_, sha)) if sha != f.sha256 => {
                    return Err(bad(
                        &f.path,
                        format!("its sha256 is {sha}, the manifest says {}", f.sha256),
                    ));
                }
                Some(_) => {}
            }
        }
        if let Some(extra) = seen.keys().next() {
            return Err(bad(extra, "it is not listed in the manifest".into()));
        }
    }
    Ok(Checked {
        manifest_sha256: hex::encode(Sha256::digest(&bytes)),
        manifest,
        header,
        signed,
        archive_bytes,
    })
}

fn extract_err(root: &Path, source: io::Error) -> BundleError {
    BundleError::Io {
        what: format!("cannot extract the bundle into {}", root.display()),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(check_path(Path::new("./a/b")).unwrap(), Path::new("a/b"));
        assert!(check_path(Path::new("/etc/passwd")).is_err());
        assert!(check_path(Path::new("a/../../b")).is_err());
        assert!(check_path(Path::new(".")).is_err());
    }

    #[test]
    fn links() {
        assert!(link_inside(Path::new("c/d")).is_ok());
        assert!(link_inside(Path::new("../c")).is_err());
        assert!(link_inside(Path::new("c/../../d")).is_err());
        assert!(link_inside(Path::new("/etc")).is_err());
        assert!(link_inside(Path::new("")).is_err());
    }
}
