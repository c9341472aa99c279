//! CIFAR-10 in its canonical binary form (`cifar-10-binary.tar.gz`, folder `cifar-10-batches-bin`).
//!
//! Each batch file is a sequence of 3073-byte records: one label byte (0..9), then the 32x32
//! image as 1024 red, 1024 green and 1024 blue bytes (channel-first, rows top to bottom). Training
//! data is `data_batch_1.bin` .. `data_batch_5.bin` (10000 records each), test data
//! `test_batch.bin` (10000). Class names are read from `batches.meta.txt` when present.
//!
//! The batches are read from the extracted folder or straight from the downloaded `.tar.gz`
//! (decompressed and untarred as a stream, nothing written to disk). Pixels stay bytes: items
//! are `[3, 32, 32]` of `Features::U8`, the layout `image_folder` produces.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use crate::dataset::{Dataset, Features};

use crate::error::DataError;

/// Bytes of one image (3 channels x 32 x 32).
pub const IMAGE_BYTES: usize = 3 * 32 * 32;

/// Bytes of one record: the label byte and the image.
pub const RECORD_BYTES: usize = 1 + IMAGE_BYTES;

/// The standard class names, in label order (used when `batches.meta.txt` is absent).
pub const CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Training batch files, in the order their records are concatenated.
pub const TRAIN_FILES: [&str; 5] =
    ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];

/// The test batch file.
pub const TEST_FILE: &str = "test_batch.bin";

/// The class-name file (one name a line).
pub const META_FILE: &str = "batches.meta.txt";

/// The folder the archive unpacks into.
pub const FOLDER: &str = "cifar-10-batches-bin";

/// Largest batch file accepted (a canonical one is 30,730,000 bytes).
pub(crate) const MAX_BATCH_BYTES: u64 = 256 << 20;

/// Largest class-name file accepted.
pub(crate) const MAX_META_BYTES: u64 = 1 << 20;

/// The training and test splits.
#[derive(Debug, Clone, PartialEq)]
pub struct CifarSplits {
    /// The five training batches, in file order (50000 items in the canonical data).
    pub train: Dataset,
    /// The test batch (10000 items in the canonical data).
    pub test: Dataset,
}

/// Decodes one batch file's bytes into `(pixels, labels)`; `path` only names the file in errors.
///
/// A size that is not a whole number of records names the record that is cut short; a label
/// above 9 names its record and byte offset.
pub fn parse_batch(bytes: &[u8], path: &Path) -> Result<(Vec<u8>, Vec<u16>), DataError> {
    if bytes.is_empty() {
        return Err(DataError::format(path, "empty file: no records"));
    }
    let whole = bytes.len() / RECORD_BYTES;
    let rest = bytes.len() % RECORD_BYTES;
    if rest != 0 {
        return Err(DataError::format(
            path,
            format!(
                "{} bytes is not a whole number of {RECORD_BYTES}-byte records: record {whole} (byte {}) \
                 is cut short after {rest} bytes",
                bytes.len(),
                whole * RECORD_BYTES
            ),
        ));
    }
    let mut pixels = Vec::with_capacity(whole * IMAGE_BYTES);
    let mut labels = Vec::with_capacity(whole);
    for (i, record) in bytes.chunks_exact(RECORD_BYTES).enumerate() {
        let label = record[0];
        if label as usize >= CLASSES.len() {
            return Err(DataError::format(
                path,
                format!("record {i} (byte {}): label {label} is not a class (0..9)", i * RECORD_BYTES),
            ));
        }
        labels.push(label as u16);
        pixels.extend_from_slice(&record[1..]);
    }
    Ok((pixels, labels))
}

/// Reads one batch file as a dataset with the standard class names.
pub fn read_batch(path: &Path) -> Result<Dataset, DataError> {
    let bytes = read_capped(path, MAX_BATCH_BYTES)?;
    let (pixels, labels) = parse_batch(&bytes, path)?;
    Ok(dataset(pixels, labels, CLASSES.iter().map(|s| s.to_string()).collect()))
}

/// Class names from the text of `batches.meta.txt`: the non-empty lines, exactly ten.
pub fn parse_meta(text: &str, path: &Path) -> Result<Vec<String>, DataError> {
    let names: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if names.len() != CLASSES.len() {
        return Err(DataError::format(path, format!("{} class names, expected {}", names.len(), CLASSES.len())));
    }
    Ok(names)
}

/// Reads the extracted folder (`.../cifar-10-batches-bin`). Every batch file must be present; a
/// missing one is named.
pub fn read_folder(dir: &Path) -> Result<CifarSplits, DataError> {
    let classes = folder_classes(dir)?;
    let mut batches = Batches::default();
    for file in TRAIN_FILES.iter().chain([&TEST_FILE]) {
        let path = dir.join(file);
        let bytes = read_capped(&path, MAX_BATCH_BYTES)?;
        batches.add(file, bytes, path)?;
    }
    batches.finish(classes, dir)
}

/// Checks that every batch file is in `dir` (naming the missing ones) and reads the class names
/// (from `batches.meta.txt` when present).
pub(crate) fn folder_classes(dir: &Path) -> Result<Vec<String>, DataError> {
    let missing: Vec<String> = TRAIN_FILES
        .iter()
        .chain([&TEST_FILE])
        .filter(|f| !dir.join(f).is_file())
        .map(|f| dir.join(f).display().to_string())
        .collect();
    if !missing.is_empty() {
        return Err(DataError::format(dir, format!("missing CIFAR-10 batch file(s): {}", missing.join(", "))));
    }
    let meta = dir.join(META_FILE);
    let classes = if meta.is_file() {
        let bytes = read_capped(&meta, MAX_META_BYTES)?;
        parse_meta(&text(&bytes, &meta)?, &meta)?
    } else {
        CLASSES.iter().map(|s| s.to_string()).collect()
    };
    Ok(classes)
}

/// Reads `cifar-10-binary.tar.gz` without extracting it: the batch files are found by file name
/// anywhere in the archive (canonically under `cifar-10-batches-bin/`).
///
/// Errors inside an entry name the file as `<archive>/<entry path>`.
pub fn read_archive(path: &Path) -> Result<CifarSplits, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    parse_archive(BufReader::new(file), path)
}

/// Decodes a gzipped tar stream holding the batch files (`path` only names it in errors).
pub fn parse_archive(reader: impl Read, path: &Path) -> Result<CifarSplits, DataError> {
    let mut batches = Batches::default();
    let classes = visit_archive(reader, path, |name, bytes, shown| batches.add(name, bytes, shown))?;
    archive_complete(path, |f| batches.has(f))?;
    batches.finish(classes.unwrap_or_else(|| CLASSES.iter().map(|s| s.to_string()).collect()), path)
}

/// Streams a gzipped tar archive: hands each batch file's bytes (in archive order, one at a time,
/// with its file name and its path as errors show it) to `batch`, and returns the class names of
/// a `batches.meta.txt` entry, if any. Other entries are skipped.
pub(crate) fn visit_archive(
    reader: impl Read,
    path: &Path,
    mut batch: impl FnMut(&str, Vec<u8>, PathBuf) -> Result<(), DataError>,
) -> Result<Option<Vec<String>>, DataError> {
    let mut archive = tar::Archive::new(MultiGzDecoder::new(reader));
    let corrupt = |e: std::io::Error| DataError::format(path, format!("corrupt or truncated archive: {e}"));
    let mut classes = None;
    for entry in archive.entries().map_err(corrupt)? {
        let entry = entry.map_err(corrupt)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let entry_path = entry.path().map_err(corrupt)?.into_owned();
        let Some(name) = entry_path.file_name().and_then(|n| n.to_str()).map(String::from) else {
            continue;
        };
        let shown = path.join(&entry_path);
        let wanted = TRAIN_FILES.contains(&name.as_str()) || name == TEST_FILE;
        if wanted {
            let bytes = read_entry(entry, MAX_BATCH_BYTES, path, &shown)?;
            batch(&name, bytes, shown)?;
        } else if name == META_FILE {
            let bytes = read_entry(entry, MAX_META_BYTES, path, &shown)?;
            classes = Some(parse_meta(&text(&bytes, &shown)?, &shown)?);
        }
    }
    Ok(classes)
}

/// An error naming the batch files an archive lacks (`has`: whether it held one).
pub(crate) fn archive_complete(path: &Path, has: impl Fn(&str) -> bool) -> Result<(), DataError> {
    let missing: Vec<String> =
        TRAIN_FILES.iter().chain([&TEST_FILE]).filter(|f| !has(f)).map(|f| format!("{FOLDER}/{f}")).collect();
    if !missing.is_empty() {
        return Err(DataError::format(path, format!("the archive holds no {}", missing.join(", "))));
    }
    Ok(())
}

/// Reads an entry's bytes, at most `max` (an oversized entry is an error, not an allocation).
pub(crate) fn read_entry(entry: impl Read, max: u64, archive: &Path, shown: &Path) -> Result<Vec<u8>, DataError> {
    let mut bytes = Vec::new();
    entry
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::format(archive, format!("corrupt or truncated archive in {}: {e}", shown.display())))?;
    if bytes.len() as u64 > max {
        return Err(DataError::format(shown, format!("larger than {max} bytes: not a CIFAR-10 file")));
    }
    Ok(bytes)
}

/// The decoded batches seen so far, by file name.
#[derive(Default)]
struct Batches {
    found: Vec<(String, Vec<u8>, Vec<u16>)>,
}

impl Batches {
    fn has(&self, name: &str) -> bool {
        self.found.iter().any(|(n, _, _)| n == name)
    }

    fn add(&mut self, name: &str, bytes: Vec<u8>, shown: PathBuf) -> Result<(), DataError> {
        if self.has(name) {
            return Err(DataError::format(shown, "a second copy of this batch file"));
        }
        let (pixels, labels) = parse_batch(&bytes, &shown)?;
        self.found.push((name.to_string(), pixels, labels));
        Ok(())
    }

    fn take(&mut self, name: &str) -> Option<(Vec<u8>, Vec<u16>)> {
        let i = self.found.iter().position(|(n, _, _)| n == name)?;
        let (_, p, l) = self.found.swap_remove(i);
        Some((p, l))
    }

    fn finish(mut self, classes: Vec<String>, source: &Path) -> Result<CifarSplits, DataError> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for f in TRAIN_FILES {
            let (p, l) = self.take(f).ok_or_else(|| DataError::format(source, format!("no {f}")))?;
            if pixels.is_empty() {
                pixels = p;
            } else {
                pixels.extend_from_slice(&p);
            }
            labels.extend(l);
        }
        let (test_pixels, test_labels) =
            self.take(TEST_FILE).ok_or_else(|| DataError::format(source, format!("no {TEST_FILE}")))?;
        Ok(CifarSplits {
            train: dataset(pixels, labels, classes.clone()),
            test: dataset(test_pixels, test_labels, classes),
        })
    }
}

fn dataset(pixels: Vec<u8>, labels: Vec<u16>, classes: Vec<String>) -> Dataset {
    Dataset { features: Features::U8(pixels), item_shape: vec![3, 32, 32], labels: Some(labels), classes }
}

pub(crate) fn read_capped(path: &Path, max: u64) -> Result<Vec<u8>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(max + 1).read_to_end(&mut bytes).map_err(|e| DataError::io(path, e))?;
    if bytes.len() as u64 > max {
        return Err(DataError::format(path, format!("larger than {max} bytes: not a CIFAR-10 file")));
    }
    Ok(bytes)
}

pub(crate) fn text(bytes: &[u8], path: &Path) -> Result<String, DataError> {
    String::from_utf8(bytes.to_vec()).map_err(|e| {
        DataError::format(path, format!("byte {}: not text (invalid UTF-8)", e.utf8_error().valid_up_to()))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    /// A record whose pixel `j` is `(seed + j) % 256`.
    fn record(label: u8, seed: u8) -> Vec<u8> {
        let mut r = vec![label];
        r.extend((0..IMAGE_BYTES).map(|j| (seed as usize + j) as u8));
        r
    }

    fn batch(labels: &[u8], seed: u8) -> Vec<u8> {
        labels.iter().enumerate().flat_map(|(i, &l)| record(l, seed.wrapping_add(i as u8))).collect()
    }

    /// Batch `k` (1-based; 6 = test) holds labels `[k % 10, (k + 1) % 10]`.
    fn files() -> Vec<(String, Vec<u8>)> {
        let mut f: Vec<(String, Vec<u8>)> = TRAIN_FILES
            .iter()
            .enumerate()
            .map(|(k, n)| (n.to_string(), batch(&[(k as u8 + 1) % 10, (k as u8 + 2) % 10], 10 * k as u8)))
            .collect();
        f.push((TEST_FILE.into(), batch(&[6, 7, 9], 200)));
        f
    }

    fn write_folder(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        for (n, b) in files() {
            std::fs::write(dir.join(n), b).unwrap();
        }
    }

    fn write_archive(path: &Path, entries: &[(String, Vec<u8>)]) {
        let gz = flate2::write::GzEncoder::new(File::create(path).unwrap(), flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        for (name, bytes) in entries {
            let mut h = tar::Header::new_gnu();
            h.set_size(bytes.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            tar.append_data(&mut h, format!("{FOLDER}/{name}"), &bytes[..]).unwrap();
        }
        tar.into_inner().unwrap().finish().unwrap().flush().unwrap();
    }

    fn check(s: &CifarSplits) {
        assert_eq!(s.train.len(), 10);
        assert_eq!(s.train.item_shape, vec![3, 32, 32]);
        assert_eq!(s.train.labels, Some(vec![1, 2, 2, 3, 3, 4, 4, 5, 5, 6]));
        assert_eq!(s.test.labels, Some(vec![6, 7, 9]));
        let mut item = vec![0.0; IMAGE_BYTES];
        // Item 3 is the second record of data_batch_2: seed 10 + 1, pixel j = (11 + j) % 256.
        s.train.write_raw(3, &mut item);
        assert_eq!((item[0], item[1025], item[3071]), (11.0, 12.0, ((11 + 3071) % 256) as f32));
        s.test.write_raw(2, &mut item);
        assert_eq!(item[0], 202.0);
    }

    #[test]
    fn reads_folder_and_archive_alike() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        write_folder(&folder);
        let from_folder = read_folder(&folder).unwrap();
        check(&from_folder);
        assert_eq!(from_folder.train.classes[0], "airplane");
        let archive = dir.path().join("cifar-10-binary.tar.gz");
        let mut entries = files();
        entries.insert(2, ("readme.html".into(), b"<html>".to_vec()));
        entries.push((META_FILE.into(), b"a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n".to_vec()));
        write_archive(&archive, &entries);
        let from_archive = read_archive(&archive).unwrap();
        check(&from_archive);
        assert_eq!(from_archive.train.features, from_folder.train.features);
        assert_eq!(from_archive.test.classes, vec!["a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]);
    }

    #[test]
    fn bad_batches_name_file_and_record() {
        let p = Path::new("data_batch_3.bin");
        let mut b = batch(&[1, 2, 3], 0);
        b.truncate(2 * RECORD_BYTES + 100);
        let e = parse_batch(&b, p).unwrap_err().to_string();
        assert_eq!(
            e,
            "data_batch_3.bin: 6246 bytes is not a whole number of 3073-byte records: record 2 (byte 6146) \
             is cut short after 100 bytes"
        );
        let e = parse_batch(&batch(&[1, 12], 0), p).unwrap_err().to_string();
        assert_eq!(e, "data_batch_3.bin: record 1 (byte 3073): label 12 is not a class (0..9)");
        assert!(parse_batch(&[], p).unwrap_err().to_string().contains("empty file"));
        let e = parse_meta("a\nb\n", Path::new("m.txt")).unwrap_err().to_string();
        assert_eq!(e, "m.txt: 2 class names, expected 10");
    }

    #[test]
    fn missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join(FOLDER);
        write_folder(&folder);
        std::fs::remove_file(folder.join("data_batch_4.bin")).unwrap();
        let e = read_folder(&folder).unwrap_err().to_string();
        assert!(e.contains("missing CIFAR-10 batch file(s)") && e.contains("data_batch_4.bin"), "{e}");
        let archive = dir.path().join("a.tar.gz");
        let entries: Vec<_> = files().into_iter().filter(|(n, _)| n != TEST_FILE).collect();
        write_archive(&archive, &entries);
        let e = read_archive(&archive).unwrap_err().to_string();
        assert!(e.ends_with("a.tar.gz: the archive holds no cifar-10-batches-bin/test_batch.bin"), "{e}");
    }

    #[test]
    fn bad_entries_and_corrupt_archives_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let archive = dir.path().join("a.tar.gz");
        let mut entries = files();
        entries[1].1.push(0);
        write_archive(&archive, &entries);
        let e = read_archive(&archive).unwrap_err().to_string();
        assert!(e.contains("a.tar.gz/cifar-10-batches-bin/data_batch_2.bin: 6147 bytes"), "{e}");
        assert!(e.contains("record 2 (byte 6146) is cut short after 1 bytes"), "{e}");
        write_archive(&archive, &files());
        let full = std::fs::read(&archive).unwrap();
        std::fs::write(&archive, &full[..full.len() / 2]).unwrap();
        let e = read_archive(&archive).unwrap_err().to_string();
        assert!(e.contains("a.tar.gz: corrupt or truncated archive"), "{e}");
    }
}
