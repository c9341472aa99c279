//! `ae-train data fetch` through the binary against a local HTTP server on 127.0.0.1: a good
//! download lands verified, a second run downloads nothing, a corrupted mirror is refused with
//! exit 1 and leaves nothing behind.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};

use common::*;

/// Serves files under `dir` by URL path until the test ends; returns the base URL.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut line = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            // Drain the headers.
            let mut h = String::new();
            while reader.read_line(&mut h).is_ok_and(|n| n > 2) {
                h.clear();
            }
            let path = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_string();
            match std::fs::read(dir.join(&path)) {
                Ok(body) => {
                    let _ = write!(
                        stream,
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = stream.write_all(&body);
                }
                Err(_) => {
                    let _ = write!(stream, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                }
            }
        }
    });
    format!("http://{addr}")
}

fn fetch(root: &Path, base: &str) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_ae-train"))
        .args(["data", "fetch", "satellite", "--root", root.to_str().unwrap()])
        .env("AE_FETCH_BASE_URL", base)
        .output()
        .unwrap()
}

#[test]
fn fetch_verifies_downloads_and_refuses_a_corrupt_mirror() {
    let real = data_dir().join("satimage");
    let tmp = tempfile::tempdir().unwrap();

    // A faithful mirror of the real files.
    let mirror = tmp.path().join("mirror");
    std::fs::create_dir_all(mirror.join("satimage")).unwrap();
    for f in ["sat.trn", "sat.tst"] {
        std::fs::copy(real.join(f), mirror.join("satimage").join(f)).unwrap();
    }
    let base = serve(mirror.clone());
    let root = tmp.path().join("data");
    let o = fetch(&root, &base);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    for f in ["sat.trn", "sat.tst"] {
        assert_eq!(std::fs::read(root.join("satimage").join(f)).unwrap(), std::fs::read(real.join(f)).unwrap());
    }
    // The fetched data loads.
    let info = ae_train(tmp.path(), &["data", "info", "satellite", "--root", root.to_str().unwrap()]);
    assert_eq!(info.status.code(), Some(0), "{}", stderr(&info));
    let v: serde_json::Value = serde_json::from_slice(&info.stdout).unwrap();
    assert_eq!(v["splits"]["train"]["items"], 4435);
    // A second run finds the files in place and downloads nothing.
    let o = fetch(&root, &base);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("already there"), "{}", stderr(&o));

    // A mirror serving a corrupted sat.tst: refused, nothing half-written left behind.
    let bad = tmp.path().join("bad");
    std::fs::create_dir_all(bad.join("satimage")).unwrap();
    std::fs::copy(real.join("sat.trn"), bad.join("satimage/sat.trn")).unwrap();
    let mut tst = std::fs::read(real.join("sat.tst")).unwrap();
    tst[100] ^= 1;
    std::fs::write(bad.join("satimage/sat.tst"), tst).unwrap();
    let root2 = tmp.path().join("data2");
    let o = fetch(&root2, &serve(bad));
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("sat.tst") && e.contains("0045be0391420a35a69e8d2b0a4ff4b032a4aa03feebba0d89b9aa3e2d42c212"),
        "{e}"
    );
    assert!(!e.contains("panicked"), "{e}");
    let left: Vec<_> = std::fs::read_dir(root2.join("satimage")).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(left, vec![std::ffi::OsString::from("sat.trn")], "only the verified file may remain");

    // Unknown names are usage errors.
    let o = ae_train(tmp.path(), &["data", "fetch", "imagenet", "--root", root.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot be downloaded"), "{}", stderr(&o));
}
