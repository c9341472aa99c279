//! `ae_data::fetch` against a local HTTP server on 127.0.0.1 (a thread of this test): good files,
//! wrong checksums, HTTP errors, connections dropped half-way, unsafe archives, and the canonical
//! table served from the real files in `$AE_DATA_DIR`.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ae_data::fetch::{self, Checksum, FetchOptions, Progress, Remote, RemoteFile};
use sha2::{Digest, Sha256};

/// What the server answers for one path.
#[derive(Clone)]
struct Route {
    status: u16,
    body: Arc<Vec<u8>>,
    /// Announced Content-Length (default: the body's length).
    content_length: Option<usize>,
    /// Bytes of the body actually sent before closing (default: all).
    send: Option<usize>,
}

fn ok(body: Vec<u8>) -> Route {
    Route { status: 200, body: Arc::new(body), content_length: None, send: None }
}

/// A one-thread HTTP/1.1 server answering GET requests from a fixed table, one connection at a
/// time. It stops when dropped, or by itself after 60 s.
struct Server {
    base: String,
    hits: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Server {
    fn start(routes: HashMap<String, Route>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            while !s.load(Ordering::Relaxed) && Instant::now() < deadline {
                match listener.accept() {
                    Ok((stream, _)) => answer(stream, &routes, &h),
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(2))
                    }
                    Err(_) => break,
                }
            }
        });
        Server { base, hits, stop, thread: Some(thread) }
    }

    fn hits(&self) -> Vec<String> {
        self.hits.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn answer(mut stream: TcpStream, routes: &HashMap<String, Route>, hits: &Mutex<Vec<String>>) {
    stream.set_nonblocking(false).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 16384 {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    let text = String::from_utf8_lossy(&request);
    let path = text.split_whitespace().nth(1).unwrap_or("/").to_string();
    hits.lock().unwrap().push(path.clone());
    let not_found = Route { status: 404, body: Arc::new(b"no such file".to_vec()), content_length: None, send: None };
    let route = routes.get(&path).unwrap_or(&not_found);
    let reason = match route.status {
        200 => "OK",
        404 => "Not Found",
        500 => "Internal Server Error",
        _ => "Other",
    };
    let len = route.content_length.unwrap_or(route.body.len());
    let head = format!("HTTP/1.1 {} {reason}\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n", route.status);
    let send = route.send.unwrap_or(route.body.len()).min(route.body.len());
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(&route.body[..send]);
    let _ = stream.flush();
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn one_file(dir: &str, file: &str, checksum: Checksum, unpacks_to: Option<&str>) -> Remote {
    Remote {
        name: dir.into(),
        dir: dir.into(),
        files: vec![RemoteFile {
            url: format!("https://example.invalid/{file}"),
            file: file.into(),
            checksum,
            unpacks_to: unpacks_to.map(String::from),
        }],
    }
}

/// Every file and folder under `dir`, relative, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                stack.push(p);
            }
        }
    }
    out.sort();
    out
}

fn opts(server: &Server) -> FetchOptions {
    FetchOptions { base_url: Some(format!("{}/", server.base)) }
}

#[test]
fn good_file_is_downloaded_verified_and_then_skipped() {
    let body: Vec<u8> = (0..200_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let server = Server::start(HashMap::from([("/d/data.bin".to_string(), ok(body.clone()))]));
    let dir = tempfile::tempdir().unwrap();
    let remote = one_file("d", "data.bin", Checksum::Sha256(sha256(&body)), None);
    let mut events = Vec::new();
    let files = fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |p| {
        events.push(match p {
            Progress::Start { total, .. } => format!("start {total:?}"),
            Progress::Bytes { done, total, .. } => format!("bytes {done} {total:?}"),
            Progress::Done { .. } => "done".into(),
            other => format!("{other:?}"),
        })
    })
    .unwrap();
    assert_eq!(files, vec![dir.path().join("d/data.bin")]);
    assert_eq!(std::fs::read(&files[0]).unwrap(), body);
    assert_eq!(tree(dir.path()), vec!["d", "d/data.bin"]);
    assert_eq!(events.first().unwrap(), "start Some(200000)");
    assert_eq!(&events[events.len() - 2..], &["bytes 200000 Some(200000)", "done"]);
    assert_eq!(server.hits(), vec!["/d/data.bin"]);
    // Present with the right digest: no request.
    let mut events = Vec::new();
    fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |p| events.push(format!("{p:?}"))).unwrap();
    assert!(events.len() == 1 && events[0].starts_with("Present"), "{events:?}");
    assert_eq!(server.hits().len(), 1);
    // Present but damaged: downloaded again.
    std::fs::write(&files[0], b"damaged").unwrap();
    fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(&files[0]).unwrap(), body);
    assert_eq!(server.hits().len(), 2);
}

#[test]
fn md5_checksums_are_checked_too() {
    let server = Server::start(HashMap::from([("/m/abc".to_string(), ok(b"abc".to_vec()))]));
    let dir = tempfile::tempdir().unwrap();
    let good = one_file("m", "abc", Checksum::Md5("900150983cd24fb0d6963f7d28e17f72".into()), None);
    fetch::fetch_remote(&good, dir.path(), &opts(&server), &mut |_| {}).unwrap();
    assert_eq!(std::fs::read(dir.path().join("m/abc")).unwrap(), b"abc");
    let dir = tempfile::tempdir().unwrap();
    let bad = one_file("m", "abc", Checksum::Md5("00000000000000000000000000000000".into()), None);
    let e = fetch::fetch_remote(&bad, dir.path(), &opts(&server), &mut |_| {}).unwrap_err().to_string();
    assert!(
        e.contains("MD5 mismatch: expected 00000000000000000000000000000000, got 900150983cd24fb0d6963f7d28e17f72")
    );
}

#[test]
fn wrong_checksum_names_url_and_digests_and_leaves_nothing() {
    let body = b"these are not the bytes you are looking for".to_vec();
    let server = Server::start(HashMap::from([("/d/x.gz".to_string(), ok(body.clone()))]));
    let dir = tempfile::tempdir().unwrap();
    let expected = sha256(b"the real bytes");
    let remote = one_file("d", "x.gz", Checksum::Sha256(expected.clone()), None);
    let e = fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |_| {}).unwrap_err().to_string();
    let url = format!("{}/d/x.gz", server.base);
    assert_eq!(
        e,
        format!("{url}: SHA-256 mismatch: expected {expected}, got {}; the download was deleted", sha256(&body))
    );
    assert_eq!(tree(dir.path()), vec!["d"]);
}

#[test]
fn http_errors_and_dropped_connections_leave_nothing() {
    let body = vec![42u8; 100_000];
    let routes = HashMap::from([
        ("/d/cut.bin".to_string(), Route { send: Some(50_000), ..ok(body.clone()) }),
        ("/d/short.bin".to_string(), Route { content_length: Some(200_000), ..ok(body.clone()) }),
        ("/d/broken.bin".to_string(), Route { status: 500, ..ok(b"oops".to_vec()) }),
    ]);
    let server = Server::start(routes);
    let dir = tempfile::tempdir().unwrap();
    let sum = Checksum::Sha256(sha256(&body));
    for (file, want) in [
        ("cut.bin", "connection dropped after 50000 of 100000 bytes"),
        ("short.bin", "connection dropped after 100000 of 200000 bytes"),
        ("missing.bin", "HTTP 404 Not Found"),
        ("broken.bin", "HTTP 500 Internal Server Error"),
    ] {
        let remote = one_file("d", file, sum.clone(), None);
        let e = fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |_| {}).unwrap_err().to_string();
        assert!(e.starts_with(&format!("{}/d/{file}: ", server.base)) && e.contains(want), "{file}: {e}");
        assert_eq!(tree(dir.path()), vec!["d"], "{file}");
    }
    // Nobody listening.
    let dead = FetchOptions { base_url: Some("http://127.0.0.1:9".into()) };
    let e = fetch::fetch_remote(&one_file("d", "x", sum, None), dir.path(), &dead, &mut |_| {}).unwrap_err();
    assert!(e.to_string().contains("request failed"), "{e}");
    assert_eq!(tree(dir.path()), vec!["d"]);
}

/// A tar.gz whose entries are written with raw names (the `tar` crate refuses unsafe ones).
fn raw_tar_gz(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> Vec<u8> {
    let mut tar = Vec::new();
    for (name, kind, data, link) in entries {
        let mut h = tar::Header::new_old();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.as_old_mut().linkname[..link.len()].copy_from_slice(link.as_bytes());
        h.set_entry_type(*kind);
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.extend_from_slice(h.as_bytes());
        tar.extend_from_slice(data);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }
    tar.resize(tar.len() + 1024, 0);
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn archives_unpack_into_place_and_once() {
    use tar::EntryType::{Directory, Regular};
    let archive = raw_tar_gz(&[
        ("pkg/", Directory, b"", ""),
        ("pkg/a.txt", Regular, b"alpha", ""),
        ("./pkg/sub/b.txt", Regular, b"beta", ""),
    ]);
    let server = Server::start(HashMap::from([("/g/good.tar.gz".to_string(), ok(archive.clone()))]));
    let dir = tempfile::tempdir().unwrap();
    let remote = one_file("g", "good.tar.gz", Checksum::Sha256(sha256(&archive)), Some("pkg"));
    let mut unpacked = None;
    let files = fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |p| {
        if let Progress::Unpacked { entries, .. } = p {
            unpacked = Some(entries)
        }
    })
    .unwrap();
    assert_eq!(unpacked, Some(3));
    assert_eq!(files, vec![dir.path().join("g/good.tar.gz"), dir.path().join("g/pkg")]);
    assert_eq!(tree(dir.path()), vec!["g", "g/good.tar.gz", "g/pkg", "g/pkg/a.txt", "g/pkg/sub", "g/pkg/sub/b.txt"]);
    assert_eq!(std::fs::read(dir.path().join("g/pkg/sub/b.txt")).unwrap(), b"beta");
    let mut events = Vec::new();
    fetch::fetch_remote(&remote, dir.path(), &opts(&server), &mut |p| events.push(format!("{p:?}"))).unwrap();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(server.hits().len(), 1);
}

#[test]
fn unsafe_archive_entries_are_refused_by_name_and_leave_nothing() {
    use tar::EntryType::{Link, Regular, Symlink};
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("root");
    std::fs::create_dir_all(&root).unwrap();
    let outside = dir.path().join("outside_abs");
    let abs_name = outside.display().to_string();
    let cases: Vec<(&str, Vec<u8>, String)> = vec![
        (
            "dotdot",
            raw_tar_gz(&[("pkg/ok.txt", Regular, b"fine", ""), ("../evil", Regular, b"evil", "")]),
            "entry `../evil`: `..` component would write outside the folder; nothing was extracted".into(),
        ),
        (
            "deep",
            raw_tar_gz(&[("pkg/../../../evil", Regular, b"evil", "")]),
            "entry `pkg/../../../evil`: `..` component".into(),
        ),
        (
            "absolute",
            raw_tar_gz(&[("pkg/ok.txt", Regular, b"fine", ""), (&abs_name, Regular, b"evil", "")]),
            format!("entry `{abs_name}`: absolute path would write outside the folder"),
        ),
        (
            "symlink",
            raw_tar_gz(&[("pkg/link", Symlink, b"", "../../../etc"), ("pkg/link/passwd", Regular, b"x", "")]),
            "entry `pkg/link`: symbolic link to `../../../etc` points outside the folder".into(),
        ),
        (
            "hardlink",
            raw_tar_gz(&[("pkg/h", Link, b"", "/etc/passwd")]),
            "entry `pkg/h`: hard link to `/etc/passwd` points outside the folder".into(),
        ),
    ];
    let routes = cases.iter().map(|(n, b, _)| (format!("/{n}/{n}.tar.gz"), ok(b.clone()))).collect();
    let server = Server::start(routes);
    for (name, bytes, want) in &cases {
        let remote = one_file(name, &format!("{name}.tar.gz"), Checksum::Sha256(sha256(bytes)), Some("pkg"));
        let e = fetch::fetch_remote(&remote, &root, &opts(&server), &mut |_| {}).unwrap_err().to_string();
        assert!(e.contains(want), "{name}: {e}");
        assert!(e.contains(&format!("{name}.tar.gz")), "{name}: {e}");
        // Not the archive, not its part file, not the temporary folder, nothing it names.
        assert_eq!(tree(&root.join(name)), Vec::<String>::new(), "{name}");
    }
    assert_eq!(tree(dir.path()), {
        let mut t: Vec<String> = cases.iter().map(|(n, _, _)| format!("root/{n}")).collect();
        t.push("root".into());
        t.sort();
        t
    });
}

/// The canonical table's names, folders, file names and SHA-256 digests, served from the real
/// files: what `fetch` writes is what the loaders read.
#[test]
fn canonical_datasets_from_a_mirror_of_the_real_files() {
    let data = std::env::var_os("AE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets"));
    let mut routes = HashMap::new();
    for name in ["mnist", "fashion-mnist", "satellite"] {
        let remote = fetch::remote(name).unwrap();
        for f in &remote.files {
            let bytes = std::fs::read(data.join(&remote.dir).join(&f.file)).unwrap();
            routes.insert(format!("/{}/{}", remote.dir, f.file), ok(bytes));
        }
    }
    let server = Server::start(routes);
    let dir = tempfile::tempdir().unwrap();
    for name in ["mnist", "fashion-mnist", "satellite"] {
        let files = fetch::fetch_with(name, dir.path(), &opts(&server), &mut |_| {}).unwrap();
        assert!(files.iter().all(|f| f.is_file()), "{name}");
    }
    let s =
        ae_data::load("satellite", &ae_data::LoadOptions { root: dir.path().into(), limit: None, seed: 0 }).unwrap();
    assert_eq!(s.train.len(), 4435);
    let s = ae_data::load("mnist", &ae_data::LoadOptions { root: dir.path().into(), limit: None, seed: 0 }).unwrap();
    assert_eq!(s.test.unwrap().len(), 10000);
    assert_eq!(server.hits().len(), 10);
}
