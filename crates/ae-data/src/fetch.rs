//! Downloading datasets from their canonical URLs, checked against known digests.
//!
//! Each file is streamed into a temporary file beside it (`ae_core::AtomicFile`) while its
//! digest is computed, and renamed to `<dir>/<name>` only once the digest matches; on any failure
//! (HTTP status, connection dropped before `Content-Length` bytes, wrong digest) the temporary
//! file is deleted and nothing is left. A file already present with the right digest is not
//! downloaded again.
//!
//! Archives marked for unpacking are extracted into a temporary folder beside them and moved
//! into place only when every entry was extracted. Only plain files and folders are extracted:
//! an absolute path, a `..` component, a link (symbolic or hard) or a device entry is refused
//! with the entry's name, and nothing of that archive is left behind.
//!
//! Progress is reported through a callback ([`Progress`]) so that the caller draws it as it
//! likes. `AE_FETCH_BASE_URL` (or [`FetchOptions::base_url`]) replaces every canonical URL by
//! `<base>/<dataset dir>/<file name>`, for a local mirror or a test server.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use ae_core::AtomicFile;
use flate2::read::MultiGzDecoder;
use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::DataError;

/// Environment variable that replaces the canonical URLs' host (see [`FetchOptions`]).
pub const BASE_URL_ENV: &str = "AE_FETCH_BASE_URL";

/// Names [`fetch`] knows.
pub const FETCHABLE: [&str; 4] = ["mnist", "fashion-mnist", "satellite", "cifar10"];

/// MD5 of `cifar-10-binary.tar.gz` as published on the CIFAR page; its SHA-256 is not published
/// and could not be computed here (no copy of the file is at hand), so this file is checked by
/// MD5.
pub const CIFAR10_BINARY_MD5: &str = "c32a1d4ab5d03f1284b67883e8d87530";

/// A file's expected digest (lowercase hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checksum {
    /// SHA-256.
    Sha256(String),
    /// MD5, for files whose publisher gives no SHA-256.
    Md5(String),
}

impl Checksum {
    /// The algorithm's name, for messages.
    pub fn algorithm(&self) -> &'static str {
        match self {
            Checksum::Sha256(_) => "SHA-256",
            Checksum::Md5(_) => "MD5",
        }
    }

    /// The expected digest.
    pub fn expected(&self) -> &str {
        match self {
            Checksum::Sha256(d) | Checksum::Md5(d) => d,
        }
    }

    fn hasher(&self) -> Hasher {
        match self {
            Checksum::Sha256(_) => Hasher::Sha256(Sha256::new()),
            Checksum::Md5(_) => Hasher::Md5(Md5::new()),
        }
    }
}

enum Hasher {
    Sha256(Sha256),
    Md5(Md5),
}

impl Hasher {
    fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Md5(h) => h.update(bytes),
        }
    }

    fn hex(self) -> String {
        let bytes = match self {
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Md5(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One file of a dataset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteFile {
    /// The canonical URL.
    pub url: String,
    /// The file name it is saved as.
    pub file: String,
    /// Its expected digest.
    pub checksum: Checksum,
    /// For an archive to extract: the folder it creates (extraction is skipped when it exists).
    pub unpacks_to: Option<String>,
}

/// A dataset's files and the folder they go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    /// Dataset name.
    pub name: String,
    /// Folder under the data root.
    pub dir: String,
    /// Its files.
    pub files: Vec<RemoteFile>,
}

/// The canonical files of a fetchable dataset ([`FETCHABLE`]).
pub fn remote(name: &str) -> Option<Remote> {
    let sha = |url: &str, sum: &str| RemoteFile {
        url: url.to_string(),
        file: url.rsplit('/').next().unwrap_or(url).to_string(),
        checksum: Checksum::Sha256(sum.to_string()),
        unpacks_to: None,
    };
    let mnist = "https://ossci-datasets.s3.amazonaws.com/mnist";
    let fashion = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com";
    let uci = "https://archive.ics.uci.edu/ml/machine-learning-databases/statlog/satimage";
    let (dir, files) = match name {
        "mnist" => (
            "mnist",
            vec![
                sha(
                    &format!("{mnist}/train-images-idx3-ubyte.gz"),
                    "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                ),
                sha(
                    &format!("{mnist}/train-labels-idx1-ubyte.gz"),
                    "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
                ),
                sha(
                    &format!("{mnist}/t10k-images-idx3-ubyte.gz"),
                    "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
                ),
                sha(
                    &format!("{mnist}/t10k-labels-idx1-ubyte.gz"),
                    "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
                ),
            ],
        ),
        "fashion-mnist" => (
            "fashion-mnist",
            vec![
                sha(
                    &format!("{fashion}/train-images-idx3-ubyte.gz"),
                    "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                ),
                sha(
                    &format!("{fashion}/train-labels-idx1-ubyte.gz"),
                    "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                ),
                sha(
                    &format!("{fashion}/t10k-images-idx3-ubyte.gz"),
                    "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                ),
                sha(
                    &format!("{fashion}/t10k-labels-idx1-ubyte.gz"),
                    "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                ),
            ],
        ),
        "satellite" => (
            "satimage",
            vec![
                sha(&format!("{uci}/sat.trn"), "6da888aa398f4dd56a85bb7114f7206896a360b7af1d790450f64dbdb8493fc5"),
                sha(&format!("{uci}/sat.tst"), "0045be0391420a35a69e8d2b0a4ff4b032a4aa03feebba0d89b9aa3e2d42c212"),
            ],
        ),
        "cifar10" => (
            "cifar10",
            vec![RemoteFile {
                url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz".into(),
                file: "cifar-10-binary.tar.gz".into(),
                checksum: Checksum::Md5(CIFAR10_BINARY_MD5.into()),
                unpacks_to: Some(crate::cifar::FOLDER.into()),
            }],
        ),
        _ => return None,
    };
    Some(Remote { name: name.to_string(), dir: dir.to_string(), files })
}

/// Where downloads come from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FetchOptions {
    /// Replaces each canonical URL by `<base_url>/<dataset dir>/<file name>` (e.g.
    /// `http://127.0.0.1:8000/mnist/train-images-idx3-ubyte.gz`).
    pub base_url: Option<String>,
}

impl FetchOptions {
    /// Options from the environment: the base URL from `AE_FETCH_BASE_URL` if set and not empty.
    pub fn from_env() -> Self {
        Self { base_url: std::env::var(BASE_URL_ENV).ok().filter(|s| !s.is_empty()) }
    }
}

/// What a fetch is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress<'a> {
    /// The file is already there with the right digest: not downloaded.
    Present {
        /// The file.
        file: &'a Path,
    },
    /// A download starts; `total` is the announced length, if any.
    Start {
        /// The URL.
        url: &'a str,
        /// Content-Length.
        total: Option<u64>,
    },
    /// Bytes received so far.
    Bytes {
        /// The URL.
        url: &'a str,
        /// Bytes received.
        done: u64,
        /// Content-Length.
        total: Option<u64>,
    },
    /// Downloaded, verified and in place.
    Done {
        /// The file.
        file: &'a Path,
    },
    /// An archive is being extracted.
    Unpacking {
        /// The archive.
        archive: &'a Path,
    },
    /// An archive was extracted.
    Unpacked {
        /// The folder it created.
        folder: &'a Path,
        /// Entries extracted.
        entries: usize,
    },
}

/// Downloads a dataset by name into `root/<dir>`, with the base URL from the environment
/// ([`FetchOptions::from_env`]). Returns the files (and extracted folders) now in place.
pub fn fetch(name: &str, root: &Path, progress: &mut dyn FnMut(Progress<'_>)) -> Result<Vec<PathBuf>, DataError> {
    fetch_with(name, root, &FetchOptions::from_env(), progress)
}

/// [`fetch`] with explicit options.
pub fn fetch_with(
    name: &str,
    root: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<PathBuf>, DataError> {
    let Some(remote) = remote(name) else {
        if crate::catalog::is_known(name) {
            return Err(DataError::Invalid(format!(
                "dataset `{name}` cannot be downloaded (fetchable: {}); {}",
                FETCHABLE.join(", "),
                crate::catalog::fetch_command(name)
            )));
        }
        return Err(DataError::Unknown { name: name.to_string(), known: &crate::catalog::NAMES });
    };
    fetch_remote(&remote, root, opts, progress)
}

/// Downloads (and extracts) the files of `remote` into `root/<remote.dir>`.
pub fn fetch_remote(
    remote: &Remote,
    root: &Path,
    opts: &FetchOptions,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<Vec<PathBuf>, DataError> {
    let dir = root.join(&remote.dir);
    std::fs::create_dir_all(&dir).map_err(|e| DataError::io(&dir, e))?;
    let agent = agent();
    let mut out = Vec::new();
    for f in &remote.files {
        let url = match &opts.base_url {
            Some(base) => format!("{}/{}/{}", base.trim_end_matches('/'), remote.dir, f.file),
            None => f.url.clone(),
        };
        let dest = dir.join(&f.file);
        let downloaded = if dest.is_file() && file_digest(&dest, &f.checksum)? == f.checksum.expected() {
            progress(Progress::Present { file: &dest });
            false
        } else {
            download_with(&agent, &url, &dest, &f.checksum, progress)?;
            progress(Progress::Done { file: &dest });
            true
        };
        out.push(dest.clone());
        if let Some(folder) = &f.unpacks_to {
            let target = dir.join(folder);
            if !target.exists() {
                progress(Progress::Unpacking { archive: &dest });
                match unpack_tar_gz(&dest, &dir) {
                    Ok((_, entries)) => progress(Progress::Unpacked { folder: &target, entries }),
                    Err(e) => {
                        // An archive we just fetched that cannot be extracted is not kept.
                        if downloaded {
                            let _ = std::fs::remove_file(&dest);
                        }
                        return Err(e);
                    }
                }
            }
            out.push(target);
        }
    }
    Ok(out)
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_connect(Some(Duration::from_secs(30)))
        .timeout_recv_response(Some(Duration::from_secs(60)))
        .timeout_per_read(Some(Duration::from_secs(60)))
        .build()
        .into()
}

/// Downloads `url` to `dest` through a temporary file beside it, checking `checksum`.
pub fn download(
    url: &str,
    dest: &Path,
    checksum: &Checksum,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), DataError> {
    download_with(&agent(), url, dest, checksum, progress)
}

/// Deletes a path (file or folder) when dropped, unless disarmed by taking the path out.
#[derive(Debug)]
pub(crate) struct Cleanup(pub(crate) Option<PathBuf>);

impl Drop for Cleanup {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            if p.is_dir() {
                let _ = std::fs::remove_dir_all(&p);
            } else {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

fn download_with(
    agent: &ureq::Agent,
    url: &str,
    dest: &Path,
    checksum: &Checksum,
    progress: &mut dyn FnMut(Progress<'_>),
) -> Result<(), DataError> {
    let response = agent.get(url).call().map_err(|e| DataError::fetch(url, format!("request failed: {e}")))?;
    let status = response.status();
    if !status.is_success() {
        return Err(DataError::fetch(
            url,
            format!("HTTP {} {}", status.as_u16(), status.canonical_reason().unwrap_or("")).trim_end().to_string(),
        ));
    }
    let total = response.body().content_length();
    progress(Progress::Start { url, total });
    let mut file = AtomicFile::create(dest).map_err(|e| DataError::io(dest, e))?;
    let part = file.temp_path().to_path_buf();
    let mut body = response.into_body().into_reader();
    let mut hasher = checksum.hasher();
    let mut buf = vec![0u8; 1 << 16];
    let mut done = 0u64;
    let dropped = |done: u64, why: String| {
        let of = total.map(|t| format!(" of {t}")).unwrap_or_default();
        DataError::fetch(
            url,
            format!("connection dropped after {done}{of} bytes ({why}); the partial download was deleted"),
        )
    };
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(dropped(done, e.to_string())),
        };
        hasher.update(&buf[..n]);
        file.write_all(&buf[..n]).map_err(|e| DataError::io(&part, e))?;
        done += n as u64;
        progress(Progress::Bytes { url, done, total });
    }
    if let Some(t) = total
        && done != t
    {
        return Err(dropped(done, "body shorter than Content-Length".into()));
    }
    let actual = hasher.hex();
    if actual != checksum.expected() {
        return Err(DataError::fetch(
            url,
            format!(
                "{} mismatch: expected {}, got {actual}; the download was deleted",
                checksum.algorithm(),
                checksum.expected()
            ),
        ));
    }
    file.commit().map_err(|e| DataError::io(dest, e))
}

/// The digest of a file, in the algorithm of `checksum`.
pub fn file_digest(path: &Path, checksum: &Checksum) -> Result<String, DataError> {
    let mut file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut hasher = checksum.hasher();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| DataError::io(path, e))?;
        if n == 0 {
            return Ok(hasher.hex());
        }
        hasher.update(&buf[..n]);
    }
}

/// Extracts a `.tar.gz` into `into`: first into `into/.<archive name>.unpack`, then each
/// top-level entry is moved into `into` (an existing one is an error). Returns the top-level
/// paths created and the number of entries. Refuses (naming the entry) absolute paths, `..`
/// components, links and special files; on any error while extracting nothing of the archive is
/// left (a failing rename of one of several top-level entries, after extraction, leaves the ones
/// already moved).
pub fn unpack_tar_gz(archive: &Path, into: &Path) -> Result<(Vec<PathBuf>, usize), DataError> {
    let name = archive.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = into.join(format!(".{name}.unpack"));
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    }
    std::fs::create_dir_all(&tmp).map_err(|e| DataError::io(&tmp, e))?;
    let mut guard = Cleanup(Some(tmp.clone()));
    let entries = extract(archive, &tmp)?;
    let mut tops: Vec<PathBuf> = std::fs::read_dir(&tmp)
        .map_err(|e| DataError::io(&tmp, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| DataError::io(&tmp, e)))
        .collect::<Result<_, _>>()?;
    tops.sort();
    let mut placed = Vec::new();
    for t in &tops {
        let dest = into.join(t.file_name().unwrap_or_default());
        if dest.exists() {
            return Err(DataError::format(
                archive,
                format!("{} exists already: remove it to extract the archive again", dest.display()),
            ));
        }
    }
    for t in tops {
        let dest = into.join(t.file_name().unwrap_or_default());
        std::fs::rename(&t, &dest).map_err(|e| DataError::io(&dest, e))?;
        placed.push(dest);
    }
    guard.0 = None;
    let _ = std::fs::remove_dir(&tmp);
    Ok((placed, entries))
}

/// Extracts every entry into `dest` (a fresh folder), checking each.
fn extract(archive: &Path, dest: &Path) -> Result<usize, DataError> {
    let file = File::open(archive).map_err(|e| DataError::io(archive, e))?;
    let mut tar = tar::Archive::new(MultiGzDecoder::new(std::io::BufReader::new(file)));
    let corrupt = |e: std::io::Error| DataError::format(archive, format!("corrupt or truncated archive: {e}"));
    let mut count = 0;
    for entry in tar.entries().map_err(corrupt)? {
        let mut entry = entry.map_err(corrupt)?;
        let shown = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refuse = |why: String| DataError::format(archive, format!("entry `{shown}`: {why}; nothing was extracted"));
        let path = entry.path().map_err(corrupt)?.into_owned();
        let mut rel = PathBuf::new();
        for c in path.components() {
            match c {
                Component::Normal(p) => rel.push(p),
                Component::CurDir => {}
                Component::ParentDir => return Err(refuse("`..` component would write outside the folder".into())),
                Component::RootDir | Component::Prefix(_) => {
                    return Err(refuse("absolute path would write outside the folder".into()));
                }
            }
        }
        let kind = entry.header().entry_type();
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if kind.is_symlink() || kind.is_hard_link() {
            let target = entry.link_name().ok().flatten().map(|t| t.display().to_string()).unwrap_or_default();
            // A symbolic link is relative to its own folder, a hard link to the archive's root.
            let depth = if kind.is_symlink() { rel.components().count().saturating_sub(1) } else { 0 };
            let escapes = escapes(depth, Path::new(&target));
            let what = if kind.is_symlink() { "symbolic link" } else { "hard link" };
            return Err(refuse(if escapes {
                format!("{what} to `{target}` points outside the folder")
            } else {
                format!("{what} to `{target}`: links are not extracted")
            }));
        }
        if rel.as_os_str().is_empty() {
            continue;
        }
        let out = dest.join(&rel);
        if kind.is_dir() {
            std::fs::create_dir_all(&out).map_err(|e| DataError::io(&out, e))?;
        } else if kind.is_file() || kind == tar::EntryType::Continuous {
            if let Some(parent) = out.parent() {
                std::fs::create_dir_all(parent).map_err(|e| DataError::io(parent, e))?;
            }
            let mut f = File::create_new(&out).map_err(|e| match e.kind() {
                std::io::ErrorKind::AlreadyExists => refuse("a second entry with this path".into()),
                _ => DataError::io(&out, e),
            })?;
            std::io::copy(&mut entry, &mut f).map_err(corrupt)?;
        } else {
            return Err(refuse(format!("entry type {kind:?} is not a file or a folder")));
        }
        count += 1;
    }
    Ok(count)
}

/// Whether `target`, read from a folder `depth` levels below the extraction folder, resolves
/// (lexically) outside it.
fn escapes(depth: usize, target: &Path) -> bool {
    if target.has_root() {
        return true;
    }
    let mut depth = depth as i64;
    for c in target.components() {
        match c {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_table_matches_the_catalog() {
        for name in FETCHABLE {
            let r = remote(name).unwrap();
            assert!(crate::catalog::is_known(name));
            for f in &r.files {
                assert!(f.url.ends_with(&f.file));
                assert!(f.checksum.expected().chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
                let expected = crate::catalog::expected_files(name, Path::new("/r"));
                assert!(expected.iter().any(|p| p.starts_with(Path::new("/r").join(&r.dir))), "{name}");
            }
        }
        assert_eq!(remote("cifar10").unwrap().files[0].checksum, Checksum::Md5(CIFAR10_BINARY_MD5.into()));
        assert!(remote("shapes").is_none());
    }

    #[test]
    fn digests_of_known_strings() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("abc");
        std::fs::write(&p, b"abc").unwrap();
        assert_eq!(
            file_digest(&p, &Checksum::Sha256(String::new())).unwrap(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(file_digest(&p, &Checksum::Md5(String::new())).unwrap(), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn link_escape_is_judged_from_the_link_folder() {
        assert!(escapes(0, Path::new("..")));
        assert!(escapes(1, Path::new("../../x")));
        assert!(!escapes(1, Path::new("../x")));
        assert!(!escapes(0, Path::new("a/../b")));
        assert!(escapes(0, Path::new("a/../../b")));
        assert!(escapes(3, Path::new("/etc/passwd")));
    }

    #[test]
    fn names_that_cannot_be_fetched() {
        let dir = tempfile::tempdir().unwrap();
        let e = fetch_with("icecore", dir.path(), &FetchOptions::default(), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("dataset `icecore` cannot be downloaded"), "{e}");
        let e = fetch_with("mnits", dir.path(), &FetchOptions::default(), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains("unknown dataset `mnits`"), "{e}");
    }
}
