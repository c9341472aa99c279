//! IDX files (MNIST, Fashion-MNIST), gzipped or not.
//!
//! Layout: two zero bytes, a type byte (0x08 = unsigned byte), the number of dimensions, then one
//! big-endian u32 per dimension, then the data. The declared size is checked against what the
//! file holds before anything of that size is allocated.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use flate2::read::MultiGzDecoder;

use crate::error::DataError;

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
    let (reader, raw_len) = open(path)?;
    parse(reader, path, raw_len)
}

/// Opens an IDX file for reading from its start: decompressing when it is gzipped (detected by
/// its magic bytes), and its length when it is not (for an early size check).
fn open(path: &Path) -> Result<(Box<dyn Read + Send>, Option<u64>), DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let file_len = file.metadata().map(|m| m.len()).ok();
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut head = [0u8; 2];
    read_exact(&mut reader, &mut head, path, "the gzip or IDX magic")?;
    let chained = std::io::Cursor::new(head).chain(reader);
    Ok(if head == [0x1f, 0x8b] {
        (Box::new(BufReader::with_capacity(1 << 16, MultiGzDecoder::new(chained))), None)
    } else {
        (Box::new(chained), file_len)
    })
}

/// Parses IDX bytes from any reader (`raw_len`: the known total length, for an early size check).
pub fn parse(r: impl Read, path: &Path, raw_len: Option<u64>) -> Result<IdxArray, DataError> {
    let stream = IdxStream::new(r, path, raw_len)?;
    let (dims, expected, header) = (stream.dims.clone(), stream.expected, stream.header_len);
    // Grow as data arrives (take), so a lying header on a small gzip allocates nothing large.
    let mut data = Vec::new();
    stream.reader.take(expected + 1).read_to_end(&mut data).map_err(|e| gz_error(path, e))?;
    if (data.len() as u64) < expected {
        return Err(DataError::format(
            path,
            format!("truncated: header declares {dims:?} = {expected} bytes of data, found {}", data.len()),
        ));
    }
    if data.len() as u64 > expected {
        return Err(trailing(path, header, expected));
    }
    Ok(IdxArray { dims, data })
}

/// An IDX file read item by item (the first dimension counts the items), never whole: the
/// header is checked as [`parse`] checks it, each item is read when asked for, and
/// [`IdxStream::finish`] checks that the data ends where the header says.
pub struct IdxStream<R> {
    reader: R,
    path: std::path::PathBuf,
    dims: Vec<usize>,
    header_len: u64,
    expected: u64,
    item_len: usize,
    read: u64,
}

impl IdxStream<Box<dyn Read + Send>> {
    /// Opens an IDX file of unsigned bytes (gzipped or not, as [`read_idx`]) and reads its header.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let (reader, raw_len) = open(path)?;
        Self::new(reader, path, raw_len)
    }
}

impl<R: Read> IdxStream<R> {
    /// Reads and checks the header from `r` (`raw_len`: the known total length, for an early
    /// size check; `path` names the file in errors).
    pub fn new(mut r: R, path: &Path, raw_len: Option<u64>) -> Result<Self, DataError> {
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
        let item_len = dims[1..].iter().product();
        Ok(Self { reader: r, path: path.to_path_buf(), dims, header_len: header, expected, item_len, read: 0 })
    }

    /// The dimensions declared in the header.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// Number of items: the first dimension.
    pub fn items(&self) -> usize {
        self.dims[0]
    }

    /// Values per item: the product of the other dimensions (1 for a 1-D file).
    pub fn item_len(&self) -> usize {
        self.item_len
    }

    /// Reads the next item into `out` (`item_len` long); an error past the last item or when the
    /// data ends early.
    pub fn next_item(&mut self, out: &mut [u8]) -> Result<(), DataError> {
        if out.len() != self.item_len || self.read + out.len() as u64 > self.expected {
            return Err(DataError::Invalid(format!(
                "{}: no item of {} values after byte {} (the header declares {:?})",
                self.path.display(),
                out.len(),
                self.header_len + self.read,
                self.dims
            )));
        }
        let mut filled = 0;
        while filled < out.len() {
            match self.reader.read(&mut out[filled..]) {
                Ok(0) => {
                    return Err(DataError::format(
                        &self.path,
                        format!(
                            "truncated: header declares {:?} = {} bytes of data, found {}",
                            self.dims,
                            self.expected,
                            self.read + filled as u64
                        ),
                    ));
                }
                Ok(n) => filled += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(gz_error(&self.path, e)),
            }
        }
        self.read += filled as u64;
        Ok(())
    }

    /// Checks that every item was read and nothing follows the declared data.
    pub fn finish(mut self) -> Result<(), DataError> {
        if self.read < self.expected {
            return Err(DataError::Invalid(format!(
                "{}: {} of the {} bytes of data were read",
                self.path.display(),
                self.read,
                self.expected
            )));
        }
        let mut rest = Vec::new();
        (&mut self.reader).take(1).read_to_end(&mut rest).map_err(|e| gz_error(&self.path, e))?;
        if !rest.is_empty() {
            return Err(trailing(&self.path, self.header_len, self.expected));
        }
        Ok(())
    }
}

/// The error for data past the declared end (`header` bytes of header, `expected` of data).
fn trailing(path: &Path, header: u64, expected: u64) -> DataError {
    DataError::format(
        path,
        format!("byte {}: data continues past the {expected} bytes the header declares", header + expected),
    )
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
    fn stream_yields_the_items_parse_reads_and_the_same_errors() {
        let dir = tempfile::tempdir().unwrap();
        let data: Vec<u8> = (0..24).collect();
        for gz in [false, true] {
            let p = write(dir.path(), &format!("s{gz}"), &idx_bytes(&[4, 2, 3], &data), gz);
            let whole = read_idx(&p).unwrap();
            let mut s = IdxStream::open(&p).unwrap();
            assert_eq!((s.dims(), s.items(), s.item_len()), (&[4, 2, 3][..], 4, 6));
            let mut item = [0u8; 6];
            let mut streamed = Vec::new();
            for _ in 0..4 {
                s.next_item(&mut item).unwrap();
                streamed.extend_from_slice(&item);
            }
            assert_eq!(streamed, whole.data);
            assert!(s.next_item(&mut item).unwrap_err().to_string().contains("no item of 6 values"));
            s.finish().unwrap();
            // Data past the declared end, and data that ends early: parse's messages.
            let p = write(dir.path(), &format!("t{gz}"), &idx_bytes(&[2, 3], &data[..7]), gz);
            let mut s = IdxStream::open(&p).unwrap();
            (0..2).for_each(|_| s.next_item(&mut [0; 3]).unwrap());
            let (e, parsed) = (s.finish().unwrap_err().to_string(), read_idx(&p).unwrap_err().to_string());
            assert!(e.contains("byte 18: data continues past the 6 bytes") && e == parsed, "{e} / {parsed}");
            if gz {
                let p = write(dir.path(), "u", &idx_bytes(&[3, 3], &data[..7]), gz);
                let mut s = IdxStream::open(&p).unwrap();
                (0..2).for_each(|_| s.next_item(&mut [0; 3]).unwrap());
                let e = s.next_item(&mut [0; 3]).unwrap_err().to_string();
                assert_eq!(e, read_idx(&p).unwrap_err().to_string());
                assert!(e.contains("u: truncated: header declares [3, 3] = 9 bytes of data, found 7"), "{e}");
            }
        }
        let p = write(dir.path(), "bad", b"PK\x03\x04abcd", false);
        assert_eq!(IdxStream::open(&p).err().unwrap().to_string(), read_idx(&p).unwrap_err().to_string());
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
