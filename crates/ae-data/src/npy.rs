//! NumPy `.npy` files, memory-mapped: features are read through the map item by item, never
//! copied whole into memory, so a dataset may be larger than RAM.
//!
//! - Format versions 1.0, 2.0 and 3.0: the magic `\x93NUMPY`, two version bytes, the header
//!   length (little-endian u16 for 1.0, u32 for 2.0 and 3.0), then a Python-literal dict such as
//!   `{'descr': '|u1', 'fortran_order': False, 'shape': (60000, 28, 28), }` padded with spaces and
//!   a newline; the data follows in C order. Bytes after the data are ignored, as NumPy does.
//! - Features ([`MappedArray`]): uint8 (`|u1`) or little-endian float32 (`<f4`), any shape with at
//!   least one axis. The first axis counts the items, the others are the item shape (a 1-D file
//!   holds items of one value). Bytes are served as their value (0 to 255, like
//!   [`Features::U8`]), floats as stored.
//! - Labels ([`read_labels`]): a 1-D file of signed or unsigned 8, 16, 32 or 64-bit integers,
//!   one per item, read into memory; each must lie in 0..=65535.
//! - Resident memory: the pages a process touches through a file mapping count in its resident
//!   set until they are unmapped or released, so serving a large file through one map would grow
//!   the process to the file's size. Worse, one page fault maps more than the page it needs: the
//!   kernel maps the pages around it (fault-around) and whole large folios of the page cache, up
//!   to a PMD-sized block (2 MiB on x86-64), so reading small items in random order makes far more
//!   of the file resident than the bytes read. A [`MappedArray`] therefore charges each read its
//!   bytes plus two such blocks ([`FAULT_SPAN`], one at each end), an upper bound of what the read
//!   can make resident, on one counter shared by all threads; every [`RELEASE_EVERY`] bytes
//!   charged it releases the pages of the whole map (`madvise(MADV_DONTNEED)`, Unix only). The
//!   data stays in the page cache: reading it again needs no disk access.
//! - Writing ([`NpyWriter`], [`write_labels`]): NumPy's own header layout, the data streamed into
//!   a temporary file beside the target and renamed over it only when finished, so that an
//!   interrupted writer never leaves a partial file under the target's name.
//!
//! A mapped file must not be modified or truncated while it is open (the contract of NumPy's
//! `np.load(path, mmap_mode='r')`): a read past a truncated end faults.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use ae_core::AtomicFile;
use memmap2::Mmap;

use crate::error::DataError;

/// The first six bytes of every `.npy` file.
pub const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Bytes charged to reads through a map between two releases of its pages (64 MiB): a bound on
/// how much of the file the map holds resident.
pub const RELEASE_EVERY: usize = 64 << 20;

/// The most one page fault maps of a file: a PMD-sized block (2 MiB with 4 KiB pages on x86-64
/// and arm64). A read of `n` bytes is charged `n + 2 * FAULT_SPAN`.
pub const FAULT_SPAN: usize = 2 << 20;

/// Largest header accepted: NumPy writes a few hundred bytes (and reads at most 10 000 by default).
const MAX_HEADER: usize = 1 << 20;

/// Digits NumPy reserves for the first axis in its header, so that a file can grow in place.
const GROWTH_AXIS_MAX_DIGITS: usize = 21;

/// The element type of a feature file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dtype {
    /// `|u1`: unsigned bytes, served as 0 to 255.
    U8,
    /// `<f4`: little-endian IEEE float32.
    F32,
}

impl Dtype {
    /// Bytes per value.
    pub fn size(self) -> usize {
        match self {
            Dtype::U8 => 1,
            Dtype::F32 => 4,
        }
    }

    /// The NumPy type string as written in headers (`|u1`, `<f4`).
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::U8 => "|u1",
            Dtype::F32 => "<f4",
        }
    }

    /// NumPy's name for it (`uint8`, `float32`).
    pub fn name(self) -> &'static str {
        match self {
            Dtype::U8 => "uint8",
            Dtype::F32 => "float32",
        }
    }

    /// The feature type of a header's `descr`, or an error naming it and the supported ones.
    fn of_features(descr: &str, path: &Path) -> Result<Dtype, DataError> {
        match descr {
            "|u1" | "<u1" | "u1" => Ok(Dtype::U8),
            "<f4" => Ok(Dtype::F32),
            ">f4" => Err(DataError::format(
                path,
                "dtype `>f4` is big-endian float32, not supported: save it little-endian with x.astype('<f4')",
            )),
            other => Err(DataError::format(
                path,
                format!(
                    "dtype `{other}` is not supported for features (supported: uint8 `|u1`, little-endian \
                     float32 `<f4`): convert with x.astype(np.float32) or x.astype(np.uint8)"
                ),
            )),
        }
    }
}

/// A parsed `.npy` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Format version (major, minor).
    pub version: (u8, u8),
    /// NumPy's type string, e.g. `|u1` or `<f4`.
    pub descr: String,
    /// Whether the data is stored column-major (not supported for reading).
    pub fortran_order: bool,
    /// The array's shape.
    pub shape: Vec<usize>,
    /// Where the data starts, in bytes from the start of the file.
    pub data_offset: usize,
}

impl Header {
    /// The item shape of a feature file: the shape after the first axis, `[1]` for a 1-D file.
    pub fn item_shape(&self) -> Vec<usize> {
        if self.shape.len() <= 1 { vec![1] } else { self.shape[1..].to_vec() }
    }

    /// An error unless the data is in C order.
    fn check_c_order(&self, path: &Path) -> Result<(), DataError> {
        if self.fortran_order {
            return Err(DataError::format(
                path,
                "the array is in Fortran order: save it with np.ascontiguousarray(x) (C order) first",
            ));
        }
        Ok(())
    }
}

/// The shape as Python writes a tuple: `(3, 2, 2)`, `(5,)`, `()`.
fn shape_text(shape: &[usize]) -> String {
    match shape {
        [] => "()".into(),
        [n] => format!("({n},)"),
        _ => format!("({})", shape.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")),
    }
}

/// Reads only the header of a `.npy` file (a few hundred bytes, not the data).
pub fn read_header(path: &Path) -> Result<Header, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut prefix = Vec::with_capacity(12);
    let mut reader = file.take(12);
    reader.read_to_end(&mut prefix).map_err(|e| DataError::io(path, e))?;
    let end = header_end(&prefix, path)?;
    let mut file = reader.into_inner();
    let mut bytes = prefix;
    (&mut file)
        .take(end.saturating_sub(bytes.len()) as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| DataError::io(path, e))?;
    parse_header(&bytes, path)
}

/// From the first (up to 12) bytes: where the header ends (= where the data starts).
fn header_end(bytes: &[u8], path: &Path) -> Result<usize, DataError> {
    if !bytes.starts_with(MAGIC) {
        return Err(DataError::format(path, "not a .npy file (it does not start with the magic \\x93NUMPY)"));
    }
    let truncated = || DataError::format(path, "truncated: the file ends inside the .npy header");
    let (major, minor) = match bytes.get(6..8) {
        Some(v) => (v[0], v[1]),
        None => return Err(truncated()),
    };
    let (len, start) = match (major, minor) {
        (1, 0) => (bytes.get(8..10).map(|b| u16::from_le_bytes([b[0], b[1]]) as usize).ok_or_else(truncated)?, 10),
        (2, 0) | (3, 0) => (
            bytes.get(8..12).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize).ok_or_else(truncated)?,
            12,
        ),
        _ => {
            return Err(DataError::format(
                path,
                format!("unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)"),
            ));
        }
    };
    if len > MAX_HEADER {
        return Err(DataError::format(
            path,
            format!("the header declares {len} bytes, more than any .npy header holds ({MAX_HEADER} at most)"),
        ));
    }
    Ok(start + len)
}

/// Parses a header from the start of a file's bytes (which may go on past the header).
pub fn parse_header(bytes: &[u8], path: &Path) -> Result<Header, DataError> {
    let end = header_end(bytes.get(..12).unwrap_or(bytes), path)?;
    let start = if bytes[6] == 1 { 10 } else { 12 };
    let Some(raw) = bytes.get(start..end) else {
        return Err(DataError::format(
            path,
            format!("truncated: the header ends at byte {end}, the file has {} bytes", bytes.len()),
        ));
    };
    let text = std::str::from_utf8(raw)
        .map_err(|_| DataError::format(path, "the header is not text (expected a Python dict literal)"))?;
    let (descr, fortran_order, shape) =
        parse_dict(text).map_err(|m| DataError::format(path, format!("header {m}, in `{}`", text.trim_end())))?;
    Ok(Header { version: (bytes[6], bytes[7]), descr, fortran_order, shape, data_offset: end })
}

/// A Python literal as it appears in a header.
enum Value {
    Str(String),
    Bool(bool),
    Int(u64),
    Seq(Vec<Value>),
}

/// A reader of the Python literals NumPy writes: strings, `True`/`False`, integers (Python 2's
/// `3L` too), tuples and lists.
struct Literal<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Literal<'_> {
    fn skip_space(&mut self) {
        while self.s.get(self.pos).is_some_and(|c| c.is_ascii_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.s.get(self.pos).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        let hit = self.peek() == Some(c);
        if hit {
            self.pos += 1;
        }
        hit
    }

    fn unexpected(&mut self, wanted: &str) -> String {
        match self.peek() {
            Some(c) => format!("at byte {}: expected {wanted}, found `{}`", self.pos, c as char),
            None => format!("ends where {wanted} was expected"),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, String> {
        if depth > 8 {
            return Err(format!("at byte {}: nested too deeply", self.pos));
        }
        match self.peek() {
            Some(q @ (b'\'' | b'"')) => {
                let start = self.pos + 1;
                let len = self.s[start..].iter().position(|&c| c == q).ok_or("has an unterminated string")?;
                self.pos = start + len + 1;
                Ok(Value::Str(String::from_utf8_lossy(&self.s[start..start + len]).into_owned()))
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                while !self.eat(close) {
                    items.push(self.value(depth + 1)?);
                    if !self.eat(b',') && self.peek() != Some(close) {
                        return Err(self.unexpected(&format!("`,` or `{}`", close as char)));
                    }
                }
                Ok(Value::Seq(items))
            }
            Some(b'0'..=b'9') => {
                let start = self.pos;
                while self.s.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let digits = std::str::from_utf8(&self.s[start..self.pos]).unwrap_or_default();
                let n = digits.parse().map_err(|_| format!("at byte {start}: integer {digits} is too large"))?;
                if matches!(self.s.get(self.pos), Some(b'L' | b'l')) {
                    self.pos += 1;
                }
                Ok(Value::Int(n))
            }
            _ => {
                for (word, v) in [("True", true), ("False", false)] {
                    if self.s[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(Value::Bool(v));
                    }
                }
                Err(self.unexpected("a value"))
            }
        }
    }
}

/// The header dict's `descr`, `fortran_order` and `shape`, in any order; an error message otherwise.
fn parse_dict(text: &str) -> Result<(String, bool, Vec<usize>), String> {
    let mut p = Literal { s: text.as_bytes(), pos: 0 };
    if !p.eat(b'{') {
        return Err(p.unexpected("`{`"));
    }
    let (mut descr, mut fortran, mut shape) = (None, None, None);
    while !p.eat(b'}') {
        let Value::Str(key) = p.value(0)? else {
            return Err("has a key that is not a string".into());
        };
        if !p.eat(b':') {
            return Err(p.unexpected("`:`"));
        }
        let value = p.value(0)?;
        let slot_taken = match (key.as_str(), value) {
            ("descr", Value::Str(s)) => descr.replace(s).is_some(),
            ("descr", Value::Seq(_)) => {
                return Err("has a structured dtype (a list of fields), not supported: save one plain array".into());
            }
            ("fortran_order", Value::Bool(b)) => fortran.replace(b).is_some(),
            ("shape", Value::Seq(dims)) => {
                let dims = dims
                    .into_iter()
                    .map(|d| match d {
                        Value::Int(n) => usize::try_from(n).map_err(|_| format!("dimension {n} is too large")),
                        _ => Err("has a shape entry that is not an integer".into()),
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                shape.replace(dims).is_some()
            }
            ("descr" | "fortran_order" | "shape", _) => return Err(format!("has a `{key}` of the wrong type")),
            _ => return Err(format!("has an unknown key `{key}` (expected descr, fortran_order, shape)")),
        };
        if slot_taken {
            return Err(format!("has the key `{key}` twice"));
        }
        if !p.eat(b',') && p.peek() != Some(b'}') {
            return Err(p.unexpected("`,` or `}`"));
        }
    }
    if p.peek().is_some() {
        return Err(p.unexpected("only padding after the dict"));
    }
    match (descr, fortran, shape) {
        (Some(d), Some(f), Some(s)) => Ok((d, f, s)),
        _ => Err("lacks one of the keys descr, fortran_order, shape".into()),
    }
}

/// A `.npy` feature file, memory-mapped: items are read through the map when asked for, and the
/// map's pages are released every [`RELEASE_EVERY`] bytes charged to reads (see the module
/// documentation). Share it between threads with an `Arc`. Reading values one at a time
/// ([`MappedArray::value`]) charges each value a whole read: use [`MappedArray::write_item`].
pub struct MappedArray {
    path: PathBuf,
    map: Mmap,
    dtype: Dtype,
    item_shape: Vec<usize>,
    item_len: usize,
    rows: usize,
    offset: usize,
    /// Bytes charged to reads so far, by all threads.
    charged: AtomicUsize,
    /// How many times the pages were released.
    releases: AtomicUsize,
    release_every: usize,
}

impl std::fmt::Debug for MappedArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedArray")
            .field("path", &self.path)
            .field("dtype", &self.dtype)
            .field("rows", &self.rows)
            .field("item_shape", &self.item_shape)
            .finish_non_exhaustive()
    }
}

impl MappedArray {
    /// Maps a feature file and checks its header against its length; reads no data.
    pub fn open(path: &Path) -> Result<Self, DataError> {
        let file = File::open(path).map_err(|e| DataError::io(path, e))?;
        // SAFETY: mapping a file is unsafe because another process may modify or truncate it
        // while it is mapped, changing memory that Rust code reads as immutable. The map is only
        // read, and the module's contract (as NumPy's `mmap_mode='r'`) is that the file stays as
        // it is while open.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| DataError::io(path, e))?;
        let header = parse_header(&map, path)?;
        header.check_c_order(path)?;
        let dtype = Dtype::of_features(&header.descr, path)?;
        let Some(&rows) = header.shape.first() else {
            return Err(DataError::format(
                path,
                "shape () is a single value: features need an axis of items (save at least a 1-D array)",
            ));
        };
        let item_shape = header.item_shape();
        let item_len = item_shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d));
        let needed = item_len.and_then(|d| d.checked_mul(rows)).and_then(|v| v.checked_mul(dtype.size()));
        let (Some(item_len), Some(needed)) = (item_len, needed) else {
            return Err(DataError::format(path, format!("shape {} is too large", shape_text(&header.shape))));
        };
        if item_len == 0 {
            return Err(DataError::format(
                path,
                format!("shape {}: items of shape {item_shape:?} hold no values", shape_text(&header.shape)),
            ));
        }
        if rows > u32::MAX as usize {
            return Err(DataError::format(path, format!("{rows} rows, more than {} supported", u32::MAX)));
        }
        let present = map.len() - header.data_offset;
        if present < needed {
            return Err(DataError::format(
                path,
                format!(
                    "truncated: shape {} of {} needs {needed} bytes of data after the {}-byte header, the file \
                     has {present}",
                    shape_text(&header.shape),
                    dtype.name(),
                    header.data_offset
                ),
            ));
        }
        Ok(Self {
            path: path.to_path_buf(),
            map,
            dtype,
            item_shape,
            item_len,
            rows,
            offset: header.data_offset,
            charged: AtomicUsize::new(0),
            releases: AtomicUsize::new(0),
            release_every: RELEASE_EVERY,
        })
    }

    /// Releases the map's pages every `bytes` bytes charged instead of [`RELEASE_EVERY`].
    pub fn with_release_every(mut self, bytes: usize) -> Self {
        self.release_every = bytes.max(1);
        self
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The element type.
    pub fn dtype(&self) -> Dtype {
        self.dtype
    }

    /// Shape of one item: the file's shape after the first axis (`[1]` for a 1-D file).
    pub fn item_shape(&self) -> &[usize] {
        &self.item_shape
    }

    /// Values per item.
    pub fn item_len(&self) -> usize {
        self.item_len
    }

    /// Number of items (the first axis).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// The bytes of item `row`, counted towards the next release. Panics if `row >= rows`.
    fn item_bytes(&self, row: usize) -> &[u8] {
        assert!(row < self.rows, "row {row} of {} rows in {}", self.rows, self.path.display());
        let n = self.item_len * self.dtype.size();
        let start = self.offset + row * n;
        self.charge(n);
        &self.map[start..start + n]
    }

    /// Item `row` as f32 into `out` (`item_len` long): bytes as their value, floats as stored.
    /// Panics if `row >= rows`.
    pub fn write_item(&self, row: usize, out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.item_len);
        let bytes = self.item_bytes(row);
        match self.dtype {
            Dtype::U8 => out.iter_mut().zip(bytes).for_each(|(o, &b)| *o = b as f32),
            Dtype::F32 => out
                .iter_mut()
                .zip(bytes.chunks_exact(4))
                .for_each(|(o, c)| *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        }
    }

    /// Value `j` of item `row` as f32. Panics if either is out of range.
    pub fn value(&self, row: usize, j: usize) -> f32 {
        assert!(row < self.rows && j < self.item_len, "value {j} of row {row} in {}", self.path.display());
        let size = self.dtype.size();
        let at = self.offset + (row * self.item_len + j) * size;
        self.charge(size);
        let b = &self.map[at..at + size];
        match self.dtype {
            Dtype::U8 => b[0] as f32,
            Dtype::F32 => f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        }
    }

    /// Charges a read of `n` bytes (`n + 2 * FAULT_SPAN`); the thread whose charge crosses a
    /// multiple of `release_every` releases the map's pages.
    fn charge(&self, n: usize) {
        let n = n + 2 * FAULT_SPAN;
        let before = self.charged.fetch_add(n, Ordering::Relaxed);
        if before.wrapping_add(n) / self.release_every != before / self.release_every {
            self.releases.fetch_add(1, Ordering::Relaxed);
            self.release();
        }
    }

    /// Drops this process's page-table entries for the whole map (best effort: a failure only
    /// leaves the pages resident).
    #[cfg(unix)]
    fn release(&self) {
        // SAFETY: `map` is a read-only shared mapping of a file (PROT_READ, MAP_SHARED), never
        // written through. MADV_DONTNEED on it only removes this process's page-table entries:
        // nothing is unmapped, so no reference into the map dangles, and the next access to a page
        // faults it in again from the page cache (or the file) with the same bytes. (The hazard
        // the advice carries elsewhere, private or anonymous pages coming back zero-filled, cannot
        // arise: a shared file mapping has no private copy.) Other threads reading items from the
        // map at the same time therefore read the same bytes, at worst after a page fault. A file
        // changed by another process is the hazard of mapping it at all, see `open`.
        let _ = unsafe { self.map.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
    }

    /// No release where the advice does not exist.
    #[cfg(not(unix))]
    fn release(&self) {}
}

/// Rows of a [`MappedArray`] as a dataset sees them: all of them in file order, or the rows a
/// subset picked (4 bytes per item, no item data copied), cut to a length.
#[derive(Debug, Clone)]
pub struct Mapped {
    array: Arc<MappedArray>,
    rows: Option<Arc<[u32]>>,
    len: usize,
}

impl Mapped {
    /// All rows of `array`, in file order.
    pub fn new(array: Arc<MappedArray>) -> Self {
        let len = array.rows();
        Self { array, rows: None, len }
    }

    /// The mapped file.
    pub fn array(&self) -> &Arc<MappedArray> {
        &self.array
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file row of item `i`. Panics if `i >= len`.
    pub fn row(&self, i: usize) -> usize {
        assert!(i < self.len, "item {i} of {} in {}", self.len, self.array.path().display());
        self.rows.as_ref().map_or(i, |r| r[i] as usize)
    }

    /// Item `i` as f32 into `out` ([`MappedArray::write_item`]).
    pub fn write_item(&self, i: usize, out: &mut [f32]) {
        self.array.write_item(self.row(i), out);
    }

    /// Value `k` of the items laid end to end, as f32.
    pub fn value(&self, k: usize) -> f32 {
        let d = self.array.item_len();
        self.array.value(self.row(k / d), k % d)
    }

    /// The items at `indices`, in that order (the same map, a new row list).
    pub fn subset(&self, indices: &[usize]) -> Mapped {
        let rows: Arc<[u32]> = indices.iter().map(|&i| self.row(i) as u32).collect();
        Mapped { array: self.array.clone(), len: rows.len(), rows: Some(rows) }
    }

    /// Keeps only the first `n` items.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }
}

/// Equal when both select the same rows, in the same order, of the same map (not of two maps of
/// equal content: that would read both files).
impl PartialEq for Mapped {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.array, &other.array)
            && self.len == other.len
            && (0..self.len).all(|i| self.row(i) == other.row(i))
    }
}

/// Reads a label file: 1-D, one integer per item (`|u1 |i1 <u2 <i2 <u4 <i4 <u8 <i8`), each in
/// 0..=65535. Read into memory.
pub fn read_labels(path: &Path) -> Result<Vec<u16>, DataError> {
    let bytes = std::fs::read(path).map_err(|e| DataError::io(path, e))?;
    let header = parse_header(&bytes, path)?;
    header.check_c_order(path)?;
    let (size, signed) = match header.descr.as_str() {
        "|u1" | "<u1" | "u1" => (1, false),
        "|i1" | "<i1" | "i1" => (1, true),
        "<u2" => (2, false),
        "<i2" => (2, true),
        "<u4" => (4, false),
        "<i4" => (4, true),
        "<u8" => (8, false),
        "<i8" => (8, true),
        other => {
            return Err(DataError::format(
                path,
                format!(
                    "dtype `{other}` is not supported for labels (supported: little-endian integers \
                     |u1 |i1 <u2 <i2 <u4 <i4 <u8 <i8): convert with y.astype(np.int64)"
                ),
            ));
        }
    };
    let [n] = header.shape[..] else {
        return Err(DataError::format(
            path,
            format!("labels must be 1-D (one per item), the shape is {}", shape_text(&header.shape)),
        ));
    };
    let data = &bytes[header.data_offset..];
    let needed = n.saturating_mul(size);
    if data.len() < needed {
        return Err(DataError::format(
            path,
            format!(
                "truncated: shape ({n},) needs {needed} bytes of data after the {}-byte header, the file has {}",
                header.data_offset,
                data.len()
            ),
        ));
    }
    data[..needed]
        .chunks_exact(size)
        .enumerate()
        .map(|(row, c)| {
            let mut b = [0u8; 8];
            b[..size].copy_from_slice(c);
            let v = if signed {
                // Sign-extend from `size` bytes.
                let shift = 64 - 8 * size as u32;
                ((i64::from_le_bytes(b) << shift) >> shift) as i128
            } else {
                u64::from_le_bytes(b) as i128
            };
            u16::try_from(v).map_err(|_| {
                let why = if v < 0 { "is negative" } else { "is above 65535" };
                DataError::format(path, format!("row {row}: label {v} {why} (labels must be 0 to 65535)"))
            })
        })
        .collect()
}

/// The training items' file name in a packed folder (what `pack` writes).
pub const TRAIN: &str = "train.npy";

/// The training labels' file name in a packed folder.
pub const TRAIN_LABELS: &str = "train_labels.npy";

/// The test items' file name in a packed folder.
pub const TEST: &str = "test.npy";

/// The test labels' file name in a packed folder.
pub const TEST_LABELS: &str = "test_labels.npy";

/// The file of class names beside a label file: one name a line, in label order.
pub const CLASSES_FILE: &str = "classes.txt";

/// Largest class-name file read.
const MAX_CLASSES_BYTES: u64 = 16 << 20;

/// A mapped feature file with its labels and class names, as [`read_mapped`] returns it
/// (`Dataset::from` makes it a dataset).
#[derive(Debug, Clone, PartialEq)]
pub struct MappedFile {
    /// The rows of the file, read when asked for.
    pub mapped: Mapped,
    /// Shape of one item.
    pub item_shape: Vec<usize>,
    /// Class of each item, if a label file was given.
    pub labels: Option<Vec<u16>>,
    /// Class names, indexed by label.
    pub classes: Vec<String>,
}

/// A mapped feature file and, if given, its label file. Classes are named by the lines of
/// [`CLASSES_FILE`] in the label file's folder when there is one (it must name at least the
/// largest label plus one classes: an error naming it otherwise), else `"0"` to `"k-1"`, `k`
/// the largest label plus one.
pub fn read_mapped(path: &Path, labels: Option<&Path>) -> Result<MappedFile, DataError> {
    let array = MappedArray::open(path)?;
    let labels = labels
        .map(|l| {
            let v = read_labels(l)?;
            if v.len() != array.rows() {
                return Err(DataError::format(
                    l,
                    format!("{} labels for {} items in {}", v.len(), array.rows(), path.display()),
                ));
            }
            let names = l.parent().map(|d| d.join(CLASSES_FILE)).filter(|c| c.is_file());
            let needed = v.iter().max().map_or(0, |&m| m as usize + 1);
            let classes = match names {
                Some(file) => read_classes(&file, needed)?,
                None => (0..needed).map(|c| c.to_string()).collect(),
            };
            Ok((v, classes))
        })
        .transpose()?;
    let (labels, classes) = labels.map_or((None, Vec::new()), |(l, c)| (Some(l), c));
    Ok(MappedFile { item_shape: array.item_shape().to_vec(), mapped: Mapped::new(Arc::new(array)), labels, classes })
}

/// Class names from a [`CLASSES_FILE`]: its lines (a final newline ends the last one), at least
/// `needed` of them.
pub fn read_classes(path: &Path, needed: usize) -> Result<Vec<String>, DataError> {
    let file = File::open(path).map_err(|e| DataError::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(MAX_CLASSES_BYTES + 1).read_to_end(&mut bytes).map_err(|e| DataError::io(path, e))?;
    if bytes.len() as u64 > MAX_CLASSES_BYTES {
        return Err(DataError::format(
            path,
            format!("larger than {MAX_CLASSES_BYTES} bytes: not a list of class names"),
        ));
    }
    let text = String::from_utf8(bytes).map_err(|e| {
        DataError::format(path, format!("byte {}: not text (invalid UTF-8)", e.utf8_error().valid_up_to()))
    })?;
    let names: Vec<String> = text.lines().map(String::from).collect();
    if names.len() < needed {
        return Err(DataError::format(
            path,
            format!(
                "{} class names, but the labels go up to {}: write one name a line, in label order, for each of \
                 the {needed} classes",
                names.len(),
                needed - 1
            ),
        ));
    }
    Ok(names)
}

/// NumPy's version 1.0 header for `descr` and `shape`, byte for byte as `np.save` writes it: the
/// dict, room for a 21-digit first axis, spaces and a newline up to a multiple of 64 bytes. Its
/// length does not depend on the first axis (up to 21 digits).
fn header_bytes(descr: &str, shape: &[usize]) -> Option<Vec<u8>> {
    let dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {}, }}", shape_text(shape));
    let growth = GROWTH_AXIS_MAX_DIGITS.saturating_sub(shape.first().map_or(0, |n| n.to_string().len()));
    let text_len = dict.len() + growth + 1;
    let pad = 64 - (MAGIC.len() + 4 + text_len) % 64;
    let hlen = u16::try_from(text_len + pad).ok()?;
    let mut out = Vec::with_capacity(10 + text_len + pad);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&hlen.to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out.resize(out.len() + growth + pad, b' ');
    out.push(b'\n');
    Some(out)
}

/// A `.npy` file written item by item, its row count fixed only by [`NpyWriter::finish`]. The
/// data goes through an [`AtomicFile`] (a temporary file beside the target); `finish` writes the
/// final header in place and commits it. Dropping an unfinished writer deletes the temporary
/// file.
#[derive(Debug)]
pub struct NpyWriter {
    out: Option<AtomicFile>,
    target: PathBuf,
    descr: &'static str,
    dtype: Option<Dtype>,
    /// The shape after the first axis as written (empty for a 1-D file).
    tail: Vec<usize>,
    item_bytes: usize,
    rows: usize,
    header_len: usize,
}

impl NpyWriter {
    /// Starts a file of `dtype` items of `item_shape` (`[]`: a 1-D file of one value per item).
    pub fn create(path: &Path, dtype: Dtype, item_shape: &[usize]) -> Result<Self, DataError> {
        let mut w = Self::start(path, dtype.descr(), dtype.size(), item_shape)?;
        w.dtype = Some(dtype);
        Ok(w)
    }

    fn start(path: &Path, descr: &'static str, size: usize, item_shape: &[usize]) -> Result<Self, DataError> {
        let item_len = item_shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).unwrap_or(0);
        let shape: Vec<usize> = std::iter::once(0).chain(item_shape.iter().copied()).collect();
        let header = header_bytes(descr, &shape);
        let (Some(header), true) = (header, item_len > 0) else {
            return Err(DataError::Invalid(format!(
                "{}: cannot write items of shape {item_shape:?} (no values, or too many)",
                path.display()
            )));
        };
        let mut file = AtomicFile::with_capacity(path, 1 << 20).map_err(|e| DataError::io(path, e))?;
        file.write_all(&header).map_err(|e| DataError::io(file.temp_path(), e))?;
        Ok(Self {
            out: Some(file),
            target: path.to_path_buf(),
            descr,
            dtype: None,
            tail: item_shape.to_vec(),
            item_bytes: item_len * size,
            rows: 0,
            header_len: header.len(),
        })
    }

    /// Items written so far.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// An error unless items of `dtype` and `len` values fit this file.
    fn check(&self, dtype: Dtype, len: usize) -> Result<(), DataError> {
        if self.dtype != Some(dtype) || len * dtype.size() != self.item_bytes {
            return Err(DataError::Invalid(format!(
                "{}: an item of {len} {} values does not fit a file of {} items of shape {:?}",
                self.target.display(),
                dtype.name(),
                self.dtype.map_or("label", Dtype::name),
                self.tail
            )));
        }
        Ok(())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), DataError> {
        let out = self.out.as_mut().ok_or_else(|| DataError::Invalid("writer already finished".into()))?;
        out.write_all(bytes).map_err(|e| DataError::io(out.temp_path(), e))
    }

    /// Appends one item of a uint8 file (`item_len` bytes).
    pub fn push_u8(&mut self, item: &[u8]) -> Result<(), DataError> {
        self.check(Dtype::U8, item.len())?;
        self.write(item)?;
        self.rows += 1;
        Ok(())
    }

    /// Appends one item of a float32 file (`item_len` values).
    pub fn push_f32(&mut self, item: &[f32]) -> Result<(), DataError> {
        self.check(Dtype::F32, item.len())?;
        let mut buf = [0u8; 4096];
        for chunk in item.chunks(1024) {
            for (b, v) in buf.chunks_exact_mut(4).zip(chunk) {
                b.copy_from_slice(&v.to_le_bytes());
            }
            self.write(&buf[..chunk.len() * 4])?;
        }
        self.rows += 1;
        Ok(())
    }

    /// Writes the final header, syncs, and renames the file over the target. Returns the number
    /// of items.
    pub fn finish(mut self) -> Result<usize, DataError> {
        let mut file = self.out.take().ok_or_else(|| DataError::Invalid("writer already finished".into()))?;
        let temp = file.temp_path().to_path_buf();
        let io = |e: std::io::Error| DataError::io(&temp, e);
        let shape: Vec<usize> = std::iter::once(self.rows).chain(self.tail.iter().copied()).collect();
        let header = header_bytes(self.descr, &shape).filter(|h| h.len() == self.header_len);
        let header = header.ok_or_else(|| DataError::Invalid(format!("{}: header grew", self.target.display())))?;
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        file.write_all(&header).map_err(io)?;
        file.commit().map_err(|e| DataError::io(&self.target, e))?;
        Ok(self.rows)
    }
}

/// Writes labels as a 1-D `.npy` file, `|u1` when every label is below 256, else `<u2`; through a
/// temporary file renamed over `path`, as [`NpyWriter`].
pub fn write_labels(path: &Path, labels: &[u16]) -> Result<(), DataError> {
    let mut w = if labels.iter().all(|&l| l < 256) {
        let mut w = NpyWriter::start(path, "|u1", 1, &[])?;
        let bytes: Vec<u8> = labels.iter().map(|&l| l as u8).collect();
        w.write(&bytes)?;
        w
    } else {
        let mut w = NpyWriter::start(path, "<u2", 2, &[])?;
        let bytes: Vec<u8> = labels.iter().flat_map(|l| l.to_le_bytes()).collect();
        w.write(&bytes)?;
        w
    };
    w.rows = labels.len();
    w.finish().map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::{Dataset, Features};
    use crate::normalize::{Normalization, Normalizer};

    /// A file exactly as `np.save` writes it (version 1.0, or 2.0 with a u32 length), by hand.
    fn numpy_bytes(version: u8, dict: &str, data: &[u8]) -> Vec<u8> {
        let prefix = if version == 1 { 10 } else { 12 };
        let mut text = dict.to_string();
        text.push_str(&" ".repeat(64 - (prefix + text.len() + 1) % 64));
        text.push('\n');
        let mut b = MAGIC.to_vec();
        b.extend([version, 0]);
        if version == 1 {
            b.extend((text.len() as u16).to_le_bytes());
        } else {
            b.extend((text.len() as u32).to_le_bytes());
        }
        b.extend(text.as_bytes());
        assert_eq!(b.len() % 64, 0);
        b.extend(data);
        b
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, bytes).unwrap();
        p
    }

    fn items(a: &MappedArray) -> Vec<Vec<f32>> {
        (0..a.rows())
            .map(|i| {
                let mut out = vec![0.0; a.item_len()];
                a.write_item(i, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn reads_headers_as_numpy_writes_them() {
        let dir = tempfile::tempdir().unwrap();
        // np.save of np.arange(12, dtype=np.uint8).reshape(3, 2, 2) (numpy >= 1.23 reserves 21
        // digits for the first axis): 128 bytes before the data.
        let dict = "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), }";
        let mut text = format!("{dict}{}", " ".repeat(20));
        text.push_str(&" ".repeat(128 - 10 - text.len() - 1));
        text.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend(118u16.to_le_bytes());
        bytes.extend(text.as_bytes());
        assert_eq!(bytes.len(), 128);
        bytes.extend(0u8..12);
        let p = write(dir.path(), "u8.npy", &bytes);
        let h = read_header(&p).unwrap();
        assert_eq!((h.version, h.descr.as_str(), h.fortran_order), ((1, 0), "|u1", false));
        assert_eq!((h.shape, h.data_offset), (vec![3, 2, 2], 128));
        let a = MappedArray::open(&p).unwrap();
        assert_eq!((a.dtype(), a.rows(), a.item_shape(), a.item_len()), (Dtype::U8, 3, &[2, 2][..], 4));
        assert_eq!(items(&a), vec![vec![0.0, 1.0, 2.0, 3.0], vec![4.0, 5.0, 6.0, 7.0], vec![8.0, 9.0, 10.0, 11.0]]);
        assert_eq!(a.value(2, 3), 11.0);
        // The writer produces the same bytes.
        let q = dir.path().join("w.npy");
        let mut w = NpyWriter::create(&q, Dtype::U8, &[2, 2]).unwrap();
        for i in 0..3u8 {
            w.push_u8(&[4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]).unwrap();
        }
        assert_eq!(w.finish().unwrap(), 3);
        assert_eq!(std::fs::read(&q).unwrap(), bytes);

        // Version 2.0, float32, keys in another order, no spaces, a 1-tuple, Python 2's `L`,
        // an old 16-byte aligned header (the reader needs no alignment).
        let floats = [1.5f32, -2.25, f32::MAX, 0.0, 1e-30];
        let data: Vec<u8> = floats.iter().flat_map(|f| f.to_le_bytes()).collect();
        let p = write(
            dir.path(),
            "f4.npy",
            &numpy_bytes(2, "{'shape':(5L,),'fortran_order':False,\"descr\":'<f4'}", &data),
        );
        let a = MappedArray::open(&p).unwrap();
        assert_eq!((a.dtype(), a.rows(), a.item_shape()), (Dtype::F32, 5, &[1][..]));
        assert_eq!(items(&a).concat(), floats.to_vec());
        let mut old = b"\x93NUMPY\x01\x00".to_vec();
        let mut text = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2), }".to_string();
        text.push_str(&" ".repeat(15 - (10 + text.len()) % 16));
        text.push('\n');
        assert_eq!((10 + text.len()) % 16, 0);
        old.extend((text.len() as u16).to_le_bytes());
        old.extend(text.as_bytes());
        old.extend(&data[4..12]);
        let a = MappedArray::open(&write(dir.path(), "old.npy", &old)).unwrap();
        assert_eq!(items(&a), vec![vec![-2.25, f32::MAX]]);
        // Version 3.0 is 2.0 with a UTF-8 header.
        let p = write(
            dir.path(),
            "v3.npy",
            &numpy_bytes(3, "{'descr': 'u1', 'fortran_order': False, 'shape': (2,)}", &[7, 9]),
        );
        assert_eq!(items(&MappedArray::open(&p).unwrap()), vec![vec![7.0], vec![9.0]]);
    }

    #[test]
    fn writer_round_trips_and_leaves_no_partial_file() {
        let dir = tempfile::tempdir().unwrap();
        for (rows, shape) in [(0usize, vec![3usize]), (1, vec![]), (257, vec![3, 5, 7]), (1000, vec![1, 13])] {
            let d: usize = shape.iter().product();
            let p = dir.path().join(format!("u{rows}.npy"));
            let mut w = NpyWriter::create(&p, Dtype::U8, &shape).unwrap();
            let want: Vec<Vec<u8>> = (0..rows).map(|r| (0..d).map(|j| (r * 31 + j * 7) as u8).collect()).collect();
            want.iter().for_each(|item| w.push_u8(item).unwrap());
            assert_eq!(w.finish().unwrap(), rows);
            let bytes = std::fs::read(&p).unwrap();
            let h = parse_header(&bytes, &p).unwrap();
            let mut full = vec![rows];
            full.extend(&shape);
            assert_eq!((h.descr.as_str(), h.shape, h.data_offset % 64), ("|u1", full, 0));
            assert_eq!(bytes[h.data_offset - 1], b'\n');
            let a = MappedArray::open(&p).unwrap();
            let got: Vec<Vec<u8>> = items(&a).iter().map(|v| v.iter().map(|&x| x as u8).collect()).collect();
            assert_eq!(got, want);

            let p = dir.path().join(format!("f{rows}.npy"));
            let mut w = NpyWriter::create(&p, Dtype::F32, &shape).unwrap();
            let want: Vec<Vec<f32>> =
                (0..rows).map(|r| (0..d).map(|j| (r as f32 - 3.5) * 0.1 + j as f32 * 1e6).collect()).collect();
            want.iter().for_each(|item| w.push_f32(item).unwrap());
            w.finish().unwrap();
            assert_eq!(items(&MappedArray::open(&p).unwrap()), want);
        }
        // Wrong items are refused, naming the file.
        let p = dir.path().join("x.npy");
        let mut w = NpyWriter::create(&p, Dtype::F32, &[2]).unwrap();
        assert!(w.push_f32(&[1.0]).unwrap_err().to_string().contains("x.npy"));
        assert!(w.push_u8(&[1, 2]).is_err());
        w.push_f32(&[1.0, 2.0]).unwrap();
        let temps = || {
            std::fs::read_dir(dir.path())
                .unwrap()
                .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().contains(".tmp-"))
                .count()
        };
        assert_eq!(temps(), 1);
        drop(w);
        assert!(!p.exists());
        assert_eq!(temps(), 0);
        assert!(NpyWriter::create(&p, Dtype::U8, &[4, 0]).is_err());

        // Labels: bytes when they fit, else little-endian u16.
        for (labels, descr) in [(vec![0u16, 3, 255], "|u1"), (vec![7, 65535, 0, 256], "<u2"), (vec![], "|u1")] {
            let p = dir.path().join("y.npy");
            write_labels(&p, &labels).unwrap();
            assert_eq!(read_header(&p).unwrap().descr, descr);
            assert_eq!(read_labels(&p).unwrap(), labels);
        }
        assert_eq!(temps(), 0);
    }

    #[test]
    fn errors_name_the_file_and_the_problem() {
        let dir = tempfile::tempdir().unwrap();
        let u8_dict = |shape: &str| format!("{{'descr': '|u1', 'fortran_order': False, 'shape': {shape}, }}");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"PK\x03\x04 not numpy".to_vec(), "not a .npy file"),
            (vec![], "not a .npy file"),
            (b"\x93NUMPY\x04\x00\x10\x00".to_vec(), "unsupported .npy format version 4.0 (supported: 1.0, 2.0, 3.0)"),
            (b"\x93NUMPY\x01\x00\x40".to_vec(), "truncated"),
            (
                numpy_bytes(1, "{'descr': '|u1', 'fortran_order': True, 'shape': (2, 2), }", &[0; 4]),
                "Fortran order: save it with np.ascontiguousarray",
            ),
            (
                numpy_bytes(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }", &[0; 8]),
                "dtype `<f8` is not supported for features (supported: uint8 `|u1`, little-endian float32 `<f4`)",
            ),
            (
                numpy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }", &[0; 4]),
                "`>f4` is big-endian",
            ),
            (
                numpy_bytes(1, "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", &[0; 4]),
                "structured dtype",
            ),
            (numpy_bytes(1, &u8_dict("()"), &[0]), "shape () is a single value"),
            (
                numpy_bytes(1, &u8_dict("(3, 2, 2)"), &[0; 11]),
                "needs 12 bytes of data after the 128-byte header, the file has 11",
            ),
            (numpy_bytes(1, &u8_dict("(3, 0)"), &[]), "hold no values"),
            (numpy_bytes(1, &u8_dict("(99999999999, 99999999999, 99999999999)"), &[]), "too large"),
            (numpy_bytes(1, "{'descr': '|u1', 'shape': (1,), }", &[0]), "lacks one of the keys"),
            (
                numpy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), 'x': 1}", &[0]),
                "unknown key `x`",
            ),
            (numpy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1 2), }", &[0]), "expected `,` or `)`"),
            (
                numpy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), ", &[0]),
                "ends where a value was expected",
            ),
            (
                numpy_bytes(1, "{'descr': '|u1', 'fortran_order': False, 'shape': ((((((((((1)))))))))), }", &[0]),
                "nested",
            ),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let p = write(dir.path(), &format!("case{i}.npy"), bytes);
            let e = MappedArray::open(&p).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains(&format!("case{i}.npy")), "case {i}: {e}");
        }
        // Labels.
        let lab = |descr: &str, shape: &str, data: &[u8]| {
            numpy_bytes(1, &format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}"), data)
        };
        let data: Vec<u8> = [5i64, -1].iter().flat_map(|v| v.to_le_bytes()).collect();
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (lab("<i8", "(2,)", &data), "row 1: label -1 is negative"),
            (lab("<u4", "(2,)", &[0, 0, 0, 0, 0, 0, 1, 0]), "row 1: label 65536 is above 65535"),
            (lab("|i1", "(1,)", &[0xff]), "row 0: label -1 is negative"),
            (lab("<f4", "(1,)", &[0; 4]), "dtype `<f4` is not supported for labels"),
            (lab("|u1", "(1, 1)", &[0]), "labels must be 1-D"),
            (lab("<u2", "(3,)", &[0; 5]), "needs 6 bytes"),
        ];
        for (i, (bytes, want)) in cases.iter().enumerate() {
            let p = write(dir.path(), &format!("labels{i}.npy"), bytes);
            let e = read_labels(&p).unwrap_err().to_string();
            assert!(e.contains(want) && e.contains(&format!("labels{i}.npy")), "labels case {i}: {e}");
        }
        let signed: Vec<u8> = [3i16, 65535u16 as i16].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert!(
            read_labels(&write(dir.path(), "s.npy", &lab("<i2", "(2,)", &signed)))
                .unwrap_err()
                .to_string()
                .contains("-1")
        );
        let ok: Vec<u8> = [3u16, 65535].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(read_labels(&write(dir.path(), "ok.npy", &lab("<u2", "(2,)", &ok))).unwrap(), vec![3, 65535]);
        // Label count.
        let x = write(dir.path(), "x.npy", &numpy_bytes(1, &u8_dict("(3, 1)"), &[1, 2, 3]));
        let y = write(dir.path(), "y.npy", &lab("|u1", "(2,)", &[0, 1]));
        let e = read_mapped(&x, Some(&y)).unwrap_err().to_string();
        assert!(e.contains("y.npy") && e.contains("2 labels for 3 items in"), "{e}");
    }

    /// The same items in memory and mapped, with labels.
    fn twins(dir: &Path, dtype: Dtype) -> (Dataset, Dataset) {
        let (rows, shape) = (23usize, [2usize, 3]);
        let p = dir.join(format!("{dtype:?}.npy"));
        let mut w = NpyWriter::create(&p, dtype, &shape).unwrap();
        let mut bytes = Vec::new();
        let mut floats = Vec::new();
        for r in 0..rows {
            let item: Vec<u8> = (0..6).map(|j| ((r * 37 + j * 11) % 256) as u8).collect();
            let f: Vec<f32> = item.iter().map(|&b| b as f32 * 0.37 - 20.0).collect();
            match dtype {
                Dtype::U8 => w.push_u8(&item).unwrap(),
                Dtype::F32 => w.push_f32(&f).unwrap(),
            }
            bytes.extend(item);
            floats.extend(f);
        }
        w.finish().unwrap();
        let labels: Vec<u16> = (0..rows as u16).map(|r| r % 4).collect();
        let y = dir.join(format!("{dtype:?}-labels.npy"));
        write_labels(&y, &labels).unwrap();
        let mapped = Dataset::from(read_mapped(&p, Some(&y)).unwrap());
        let features = if dtype == Dtype::U8 { Features::U8(bytes) } else { Features::F32(floats) };
        let memory =
            Dataset { features, item_shape: shape.to_vec(), labels: Some(labels), classes: mapped.classes.clone() };
        assert_eq!(mapped.classes, ["0", "1", "2", "3"]);
        (memory, mapped)
    }

    fn all_items(d: &Dataset) -> Vec<Vec<f32>> {
        (0..d.len())
            .map(|i| {
                let mut out = vec![f32::NAN; d.item_len()];
                d.write_raw(i, &mut out);
                out
            })
            .collect()
    }

    #[test]
    fn mapped_dataset_matches_the_in_memory_one() {
        let dir = tempfile::tempdir().unwrap();
        for dtype in [Dtype::U8, Dtype::F32] {
            let (memory, mapped) = twins(dir.path(), dtype);
            assert!(matches!(mapped.features, Features::Mapped(_)));
            assert_eq!(mapped.features.bits_per_value(), memory.features.bits_per_value());
            assert_eq!((mapped.len(), mapped.item_shape.clone(), mapped.features.len()), (23, vec![2, 3], 23 * 6));
            assert_eq!(all_items(&mapped), all_items(&memory));
            assert!((0..memory.features.len()).all(|k| mapped.features.get(k) == memory.features.get(k)));
            let pick = [22, 0, 5, 5, 13, 1];
            let (a, b) = (memory.subset(&pick), mapped.subset(&pick));
            assert_eq!((all_items(&b), &b.labels), (all_items(&a), &a.labels));
            // A subset of a subset, then truncated.
            let (mut a, mut b) = (a.subset(&[3, 0, 4]), b.subset(&[3, 0, 4]));
            a.truncate(2);
            b.truncate(2);
            assert_eq!((b.len(), all_items(&b), &b.labels), (2, all_items(&a), &a.labels));
            assert_eq!(b.features.get(6), a.features.get(6));
            let (mut a, mut b) = (memory.clone(), mapped.clone());
            a.truncate(7);
            b.truncate(7);
            assert_eq!((all_items(&b), b.class_counts()), (all_items(&a), a.class_counts()));
            assert_eq!(b.features, mapped.subset(&(0..7).collect::<Vec<_>>()).features);
            for kind in [Normalization::Unit, Normalization::Zscore, Normalization::None] {
                assert_eq!(Normalizer::fit(kind, &mapped), Normalizer::fit(kind, &memory), "{dtype:?} {kind:?}");
                assert_eq!(Normalizer::fit(kind, &b), Normalizer::fit(kind, &a), "{dtype:?} {kind:?}");
            }
        }
    }

    #[test]
    fn release_counter_crosses_each_threshold_once() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("r.npy");
        let mut w = NpyWriter::create(&p, Dtype::U8, &[10]).unwrap();
        (0..100).for_each(|_| w.push_u8(&[1; 10]).unwrap());
        w.finish().unwrap();
        let charge = 10 + 2 * FAULT_SPAN;
        let a = Arc::new(MappedArray::open(&p).unwrap().with_release_every(10 * charge));
        std::thread::scope(|s| {
            for t in 0..2 {
                let a = a.clone();
                s.spawn(move || (t * 50..t * 50 + 50).for_each(|i| a.write_item(i, &mut [0.0; 10])));
            }
        });
        assert_eq!(a.charged.load(Ordering::Relaxed), 100 * charge);
        assert_eq!(a.releases.load(Ordering::Relaxed), 10);
        assert!(items(&a).iter().all(|v| v == &[1.0; 10]));
    }
}
