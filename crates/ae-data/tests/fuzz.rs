//! Property tests: the parsers return `Ok` or `Err` on any input, never panic, for arbitrary bytes
//! and for random edits (replaced, inserted, deleted bytes, truncation) of valid files.
//!
//! 256 cases per property by default; `PROPTEST_CASES=50000 cargo test --release -p ae-data
//! --test fuzz` for a long run.

use std::io::Write;
use std::path::Path;
use std::sync::OnceLock;

use ae_data::csv::{ClassOrder, CsvOptions, LabelColumn};
use ae_data::{arff, cifar, csv, fetch, idx, npy, satellite, ucr};
use proptest::prelude::*;

/// Applies `(position, byte, op)` edits (op 0: replace, 1: insert, 2: delete), then keeps at most
/// `cut` bytes.
fn mutate(base: &[u8], edits: &[(usize, u8, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut v = base.to_vec();
    for &(pos, byte, op) in edits {
        let at = if v.is_empty() { 0 } else { pos % (v.len() + 1) };
        match op % 3 {
            0 if at < v.len() => v[at] = byte,
            1 => v.insert(at, byte),
            2 if at < v.len() => {
                v.remove(at);
            }
            _ => {}
        }
    }
    if let Some(c) = cut {
        v.truncate(c % (v.len() + 1));
    }
    v
}

fn edits() -> impl Strategy<Value = (Vec<(usize, u8, u8)>, Option<usize>)> {
    (prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 0..8), prop::option::of(any::<usize>()))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn idx_file() -> Vec<u8> {
    let mut b = vec![0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 4, 0, 0, 0, 5];
    b.extend((0..60).map(|i| i as u8));
    b
}

fn parse_idx(bytes: &[u8]) {
    let p = Path::new("f.idx");
    let _ = idx::parse(bytes, p, Some(bytes.len() as u64));
    let _ = idx::parse(bytes, p, None);
    let _ = idx::parse(flate2::read::MultiGzDecoder::new(bytes), p, None);
}

fn cifar_batch() -> Vec<u8> {
    (0..3u8).flat_map(|r| std::iter::once(r * 3).chain((0..cifar::IMAGE_BYTES).map(move |j| (j as u8) ^ r))).collect()
}

fn cifar_archive() -> &'static [u8] {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    ARCHIVE.get_or_init(|| gzip(cifar_tar()))
}

fn cifar_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(build_cifar_tar)
}

fn build_cifar_tar() -> Vec<u8> {
    let mut tar = tar::Builder::new(Vec::new());
    let batch = cifar_batch();
    for name in cifar::TRAIN_FILES.iter().chain([&cifar::TEST_FILE]) {
        let mut h = tar::Header::new_gnu();
        h.set_size(batch.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, format!("{}/{name}", cifar::FOLDER), &batch[..]).unwrap();
    }
    tar.into_inner().unwrap()
}

/// A small tar: a folder, two files, one nested.
fn small_tar() -> &'static [u8] {
    static TAR: OnceLock<Vec<u8>> = OnceLock::new();
    TAR.get_or_init(|| {
        let mut tar = tar::Builder::new(Vec::new());
        for (name, data) in [("pkg/a.txt", &b"alpha"[..]), ("pkg/sub/b.txt", &b"beta beta"[..])] {
            let mut h = tar::Header::new_ustar();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, name, data).unwrap();
        }
        tar.into_inner().unwrap()
    })
}

/// Everything under `dir`.
fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() && !p.is_symlink() {
                stack.push(p.clone());
            }
            out.push(p);
        }
    }
    out
}

const CSV: &str = "a,b,kind\n1,2.5,cat\n\n\"-3\",4e1,dog\r\n5,,cat\n";

fn csv_options() -> impl Strategy<Value = CsvOptions> {
    (
        prop::sample::select(vec![b',', b';', b'\t']),
        any::<bool>(),
        prop::option::of(prop_oneof![
            Just(LabelColumn::Last),
            (0usize..4).prop_map(LabelColumn::Index),
            Just(LabelColumn::Name("kind".into())),
        ]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(delimiter, has_header, label, sorted, allow_missing, named)| CsvOptions {
            delimiter,
            has_header,
            label,
            class_order: if sorted { ClassOrder::Sorted } else { ClassOrder::FirstSeen },
            allow_missing,
            columns: named.then(|| vec!["b".to_string(), "a".to_string()]),
        })
}

const ARFF: &str = "% c\r\n@relation r\r\n@attribute 'x y' numeric\r\n@attribute b REAL\r\n\
                    @attribute class {'1',2,\"7\"}\r\n@data\r\n1,2,'1'\r\n3,?,7\r\n";

fn arff_options() -> impl Strategy<Value = arff::ArffOptions> {
    (prop::option::of(prop::sample::select(vec!["b", "class", "x y", "nope"])), any::<bool>())
        .prop_map(|(class, allow_missing)| arff::ArffOptions { class: class.map(String::from), allow_missing })
}

/// Text from the characters these formats are made of.
fn table_text() -> impl Strategy<Value = String> {
    "[0-9a-zA-Z,;.\\-+ \t\"'\r\n%@{}?]{0,300}"
}

/// A valid `.npy` file: 12 bytes, shape `(12,)` when `one_d`, else `(3, 2, 2)`.
fn npy_file(one_d: bool) -> Vec<u8> {
    static FILES: OnceLock<[Vec<u8>; 2]> = OnceLock::new();
    let files = FILES.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        [&[][..], &[2, 2][..]].map(|shape| {
            let p = dir.path().join("f.npy");
            let mut w = npy::NpyWriter::create(&p, npy::Dtype::U8, shape).unwrap();
            let d: usize = shape.iter().product();
            (0..12 / d).for_each(|i| w.push_u8(&vec![i as u8; d]).unwrap());
            w.finish().unwrap();
            std::fs::read(&p).unwrap()
        })
    });
    files[usize::from(!one_d)].clone()
}

/// Parses `.npy` bytes as a header, then maps them from a file as features and reads them as labels.
fn parse_npy(bytes: &[u8]) {
    let _ = npy::parse_header(bytes, Path::new("f.npy"));
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.npy");
    std::fs::write(&p, bytes).unwrap();
    if let Ok(a) = npy::MappedArray::open(&p) {
        let mut out = vec![0.0; a.item_len()];
        (0..a.rows()).for_each(|i| a.write_item(i, &mut out));
    }
    let _ = npy::read_labels(&p);
    let _ = npy::read_header(&p);
}

proptest! {
    #[test]
    fn npy_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        parse_npy(&bytes);
        parse_npy(&[&npy::MAGIC[..], &[1, 0], &bytes].concat());
    }

    #[test]
    fn npy_edited_files((e, cut) in edits(), one_d in any::<bool>()) {
        parse_npy(&mutate(&npy_file(one_d), &e, cut));
    }

    #[test]
    fn idx_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        parse_idx(&bytes);
    }

    #[test]
    fn idx_edited_files((e, cut) in edits(), gz in any::<bool>()) {
        let base = if gz { gzip(&idx_file()) } else { idx_file() };
        parse_idx(&mutate(&base, &e, cut));
    }

    #[test]
    fn cifar_arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..8000)) {
        let _ = cifar::parse_batch(&bytes, Path::new("b.bin"));
        let _ = cifar::parse_archive(&bytes[..], Path::new("a.tar.gz"));
    }

    #[test]
    fn cifar_edited_batches_and_archives((e, cut) in edits()) {
        let _ = cifar::parse_batch(&mutate(&cifar_batch(), &e, cut), Path::new("b.bin"));
        let _ = cifar::parse_archive(&mutate(cifar_archive(), &e, cut)[..], Path::new("a.tar.gz"));
    }

    /// Edits to the tar stream itself (headers, sizes, checksums), gzipped intact.
    #[test]
    fn cifar_edited_tar_inside_good_gzip((e, cut) in edits()) {
        let _ = cifar::parse_archive(&gzip(&mutate(cifar_tar(), &e, cut))[..], Path::new("a.tar.gz"));
    }

    /// Extracting an edited archive never panics and never writes outside its folder.
    #[test]
    fn unpack_stays_inside((e, cut) in edits()) {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.gz");
        std::fs::write(&archive, gzip(&mutate(small_tar(), &e, cut))).unwrap();
        let into = dir.path().join("into");
        std::fs::create_dir(&into).unwrap();
        let _ = fetch::unpack_tar_gz(&archive, &into);
        let mut top: Vec<String> =
            std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        top.sort();
        prop_assert_eq!(top, vec!["a.tar.gz", "into"]);
        for entry in walk(&into) {
            prop_assert!(!entry.is_symlink(), "{}", entry.display());
        }
    }

    #[test]
    fn csv_arbitrary_input(bytes in prop::collection::vec(any::<u8>(), 0..512), text in table_text(), o in csv_options()) {
        let _ = csv::parse_table(&bytes, Path::new("t.csv"), &o);
        let _ = csv::parse_table(text.as_bytes(), Path::new("t.csv"), &o);
    }

    #[test]
    fn csv_edited_files((e, cut) in edits(), o in csv_options()) {
        let _ = csv::parse_table(&mutate(CSV.as_bytes(), &e, cut), Path::new("t.csv"), &o);
    }

    #[test]
    fn arff_arbitrary_input(bytes in prop::collection::vec(any::<u8>(), 0..512), text in table_text(), o in arff_options()) {
        let _ = arff::parse(&bytes, Path::new("t.arff"), &o);
        let _ = arff::parse(format!("@relation r\n@attribute a numeric\n@attribute c {{x,y}}\n@data\n{text}").as_bytes(), Path::new("t.arff"), &o);
    }

    #[test]
    fn arff_edited_files((e, cut) in edits(), o in arff_options()) {
        let _ = arff::parse(&mutate(ARFF.as_bytes(), &e, cut), Path::new("t.arff"), &o);
    }

    #[test]
    fn satellite_and_ucr_text(text in table_text()) {
        let _ = satellite::parse(&text, Path::new("sat.trn"));
        let _ = ucr::parse(&text, Path::new("ecg.txt"));
    }
}

/// The unedited fixtures parse, so the edits start from valid files.
#[test]
fn fixtures_are_valid() {
    for one_d in [true, false] {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f.npy");
        std::fs::write(&p, npy_file(one_d)).unwrap();
        assert_eq!(npy::MappedArray::open(&p).unwrap().rows(), if one_d { 12 } else { 3 });
    }
    assert!(idx::parse(&idx_file()[..], Path::new("f"), None).is_ok());
    assert!(idx::parse(flate2::read::MultiGzDecoder::new(&gzip(&idx_file())[..]), Path::new("f"), None).is_ok());
    assert_eq!(cifar::parse_batch(&cifar_batch(), Path::new("b")).unwrap().1, vec![0, 3, 6]);
    assert_eq!(cifar::parse_archive(cifar_archive(), Path::new("a")).unwrap().train.len(), 15);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.tar.gz"), gzip(small_tar())).unwrap();
    let (top, n) = fetch::unpack_tar_gz(&dir.path().join("a.tar.gz"), dir.path()).unwrap();
    assert_eq!((top, n), (vec![dir.path().join("pkg")], 2));
    let o = CsvOptions { label: Some(LabelColumn::Last), allow_missing: true, ..Default::default() };
    assert_eq!(csv::parse_table(CSV.as_bytes(), Path::new("t"), &o).unwrap().dataset.len(), 3);
    let o = arff::ArffOptions { allow_missing: true, ..Default::default() };
    assert_eq!(arff::parse(ARFF.as_bytes(), Path::new("t"), &o).unwrap().dataset.labels, Some(vec![0, 2]));
}
