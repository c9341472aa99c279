//! IDX files (MNIST, Fashion-MNIST), gzipped or not.
//!
//! Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then one
//! big-endian u32 per dimension, then the data. The declared size is checked against what the
//! file holds before anything of that size is allocated.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::DataError;

/// The content of an IDX file of unsigned bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct IdxArray {
    /// Dimensions as declared in the header.
    pub dims: Vec<usize>,
    /// The values, row-major.
    pub data: Vec<u8>,
}

/// Largest number of values accepted (2^31): far above any real IDX file, far below memory limits.
const MAX_VALUES: u64 = 1 << 31;

/// Reads an IDX file of unsigned bytes; a `.gz` file (detected by its magic bytes) is decompressed.
pub fn read_idx(path: &Path) -> Result<IdxArray, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let file_len = file.metadata().map(|m| m.len()).ok();
    let mut reader = BufReader::new(file);
    let mut head = [0u8; 2];
    read_exact(&mut reader, &mut head, path, "the gzip or IDX magic")?;
    let gz = head == [0x1f, 0x8b];
    let chained = std::io::Cursor::new(head).chain(reader);
    if gz { parse(MultiGzDecoder::new(chained), path, None) } else { parse(chained, path, file_len) }
}

/// Parses IDX bytes from any reader (`raw_len`: the known total length, for an early size check).
pub fn parse(mut r: impl Read, path: &Path, raw_len: Option<u64>) -> Result<IdxArray, DataError> {
    let mut magic = [0u8; 4];
    read_exact(&mut r, &mut magic, path, "the 4-byte IDX magic")?;
    if magic[0] != 0 || magic[1] != 0 {
        return Err(DataError::format(
            path,
            format!(
                "byte 0: not an IDX file (magic {:02x}{:02x}{:02x}{:02x}, expected 0000 08 nn)",
                magic[0], magic[1], magic[2], magic[3]
            ),
        ));
    }
    if magic[2] != 0x08 {
        return Err(DataError::format(
            path,
            format!("byte 2: IDX type 0x{:02x} is not supported (only 0x08, unsigned byte)", magic[2]),
        ));
    }
    let nd = magic[3] as usize;
    if nd == 0 || nd > 4 {
        return Err(DataError::format(path, format!("byte 3: {nd} dimensions (expected 1 to 4)")));
    }
    let mut dims = Vec::with_capacity(nd);
    for i in 0..nd {
        let mut b = [0u8; 4];
        read_exact(&mut r, &mut b, path, &format!("dimension {i} of the header"))?;
        dims.push(u32::from_be_bytes(b) as usize);
    }
    let header = 4 + 4 * nd as u64;
    let expected = dims.iter().try_fold(1u64, |acc, &d| acc.checked_mul(d as u64)).unwrap_or(u64::MAX);
    if expected > MAX_VALUES {
        return Err(DataError::format(
            path,
            format!("header declares dimensions {dims:?} ({expected} values), more than any IDX file holds"),
        ));
    }
    if let Some(len) = raw_len
        && len < header + expected
    {
        return Err(DataError::format(
            path,
            format!(
                "truncated: header declares {dims:?} = {expected} bytes of data, the file has {} after the header",
                len.saturating_sub(header)
            ),
        ));
    }
    // Grow as data arrives (take), so a lying header on a small gzip allocates nothing large.
    let mut data = Vec::new();
    r.take(expected + 1).read_to_end(&mut data).map_err(|e| gz_error(path, e))?;
    if (data.len() as u64) < expected {
        return Err(DataError::format(
            path,
            format!("truncated: header declares {dims:?} = {expected} bytes of data, found {}", data.len()),
        ));
    }
    if data.len() as u64 > expected {
        return Err(DataError::format(
            path,
            format!("byte {}: data continues past the {expected} bytes the header declares", header + expected),
        ));
    }
    Ok(IdxArray { dims, data })
}

fn read_exact(r: &mut impl Read, buf: &mut [u8], path: &Path, what: &str) -> Result<(), DataError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => DataError::format(path, format!("truncated: file ends inside {what}")),
        _ => gz_error(path, e),
    })
}

fn gz_error(path: &Path, e: std::io::Error) -> DataError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => {
            DataError::format(path, "truncated gzip stream (the file ends before the compressed data does)")
        }
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData => {
            DataError::format(path, format!("corrupt gzip data: {e}"))
        }
        _ => DataError::io(path, e),
    }
}

/// Reads an image file and its label file, checking that they agree: `(images [n, rows, cols], labels)`.
pub fn read_images_and_labels(images: &Path, labels: &Path) -> Result<(IdxArray, Vec<u16>), DataError> {
    let img = read_idx(images)?;
    if img.dims.len() != 3 {
        return Err(DataError::format(
            images,
            format!("expected 3 dimensions (count, rows, columns), header has {:?}", img.dims),
        ));
    }
    let lab = read_idx(labels)?;
    if lab.dims.len() != 1 {
        return Err(DataError::format(labels, format!("expected 1 dimension (count), header has {:?}", lab.dims)));
    }
    if lab.dims[0] != img.dims[0] {
        return Err(DataError::format(
            labels,
            format!("{} labels for {} images in {}", lab.dims[0], img.dims[0], images.display()),
        ));
    }
    Ok((img, lab.data.into_iter().map(u16::from).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn idx_bytes(dims: &[u32], data: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            b.extend(d.to_be_bytes());
        }
        b.extend(data);
        b
    }

    fn write(dir: &Path, name: &str, bytes: &[u8], gz: bool) -> std::path::PathBuf {
        let p = dir.join(name);
        let mut f = File::create(&p).unwrap();
        if gz {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(bytes).unwrap();
            f.write_all(&e.finish().unwrap()).unwrap();
        } else {
            f.write_all(bytes).unwrap();
        }
        p
    }

    #[test]
    fn reads_raw_and_gzip() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = idx_bytes(&[2, 2, 3], &[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        for gz in [false, true] {
            let a = read_idx(&write(dir.path(), &format!("a{gz}"), &bytes, gz)).unwrap();
            assert_eq!(a.dims, vec![2, 2, 3]);
            assert_eq!(a.data[11], 12);
        }
    }

    #[test]
    fn rejects_bad_files_with_the_place() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let cases: Vec<(Vec<u8>, bool, &str)> = vec![
            (b"PK\x03\x04abcd".to_vec(), false, "not an IDX file"),
            (
                idx_bytes(&[2, 2], &[0; 4])[..]
                    .iter()
                    .enumerate()
                    .map(|(i, &b)| if i == 2 { 0x0d } else { b })
                    .collect(),
                false,
                "type 0x0d",
            ),
            (idx_bytes(&[3, 2], &[0; 4]), false, "truncated"),
            (idx_bytes(&[3, 2], &[0; 4]), true, "truncated"),
            (idx_bytes(&[60000, 60000, 60000], &[0; 4]), false, "more than any IDX file"),
            (idx_bytes(&[100000, 28, 28], &[0; 16]), false, "truncated"),
            (idx_bytes(&[2], &[0; 3]), false, "past the 2 bytes"),
            (vec![0, 0, 8], false, "file ends inside"),
        ];
        for (i, (bytes, gz, want)) in cases.iter().enumerate() {
            let p = write(d, &format!("c{i}"), bytes, *gz);
            let err = read_idx(&p).unwrap_err().to_string();
            assert!(err.contains(want) && err.contains(&format!("c{i}")), "case {i}: {err}");
        }
        // A gzip cut in the middle of its stream.
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(&idx_bytes(&[1000], &[7; 1000])).unwrap();
        let full = e.finish().unwrap();
        let p = write(d, "cut.gz", &full[..full.len() / 2], false);
        let err = read_idx(&p).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn label_count_must_match() {
        let dir = tempfile::tempdir().unwrap();
        let i = write(dir.path(), "i", &idx_bytes(&[2, 1, 1], &[1, 2]), false);
        let l = write(dir.path(), "l", &idx_bytes(&[3], &[1, 2, 3]), false);
        let err = read_images_and_labels(&i, &l).unwrap_err().to_string();
        assert!(err.contains("3 labels for 2 images"), "{err}");
    }
}
