//! Image folders: `<root>/<class>/<image>` with one subfolder per class (sorted by name: the
//! label order), images in any format the `image` crate reads (PNG, JPEG, BMP).
//!
//! Every image is converted to the requested channels (1 gray or 3 RGB) and must have the size
//! of the first one (or is resized to `size` when given). Pixels are bytes, channel-first.
//!
//! **Decoded up front or streamed.** [`read`] either decodes every image once into memory
//! ([`Pixels::Decoded`]), or keeps only the list of files ([`Pixels::Streamed`], an [`ImageFiles`])
//! and decodes each image when a batch asks for it, on the batch workers
//! ([`crate::BatchStream`]). [`ImageFolderOptions::stream`] chooses: `Some(true)` streams,
//! `Some(false)` decodes up front, `None` (the default) streams only when the decoded pixels
//! (items x channels x height x width bytes) would exceed [`AUTO_STREAM_BYTES`].
//!
//! - Up front is faster per epoch when it fits: a streamed JPEG is decoded again every epoch,
//!   while decoded pixels are read from memory.
//! - Streaming bounds memory: the dataset holds one path per item, and only the batches in
//!   flight hold pixels, however large the folder.
//!
//! A streamed folder is checked at load time as far as headers allow: every file's header is
//! read (not its pixels), so a file that is not an image, an image of another size (without
//! `size`), or one too large to decode is reported before training, naming the file. A file
//! whose pixel data is damaged past its header (a truncated download) can only fail when it is
//! decoded: [`ImageFiles::write_item`] returns the error, naming the file; the batch stream
//! reports it ([`crate::BatchStream::try_next`]). To decode a large folder only once, pack it
//! into `.npy` files ([`crate::pack`]) and train on those (memory-mapped).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use image::imageops::FilterType;
use image::{ImageDecoder, ImageReader, Limits};
use serde::{Deserialize, Serialize};

use crate::error::DataError;

/// How to read an image folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFolderOptions {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Resize every image to `[height, width]`; `None` requires all images to share one size.
    pub size: Option<[usize; 2]>,
    /// `Some(true)`: decode images per batch from disk ([`Pixels::Streamed`]); `Some(false)`:
    /// decode all of them at load time ([`Pixels::Decoded`]); `None`: stream only when the decoded
    /// pixels would exceed [`AUTO_STREAM_BYTES`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
}

/// Decoded size (items x channels x height x width bytes) above which a folder is streamed when
/// [`ImageFolderOptions::stream`] is `None`: 1 GiB. Below it, holding the pixels costs little on
/// any machine that trains (and saves decoding every image every epoch); above it, a copy of the
/// dataset in memory starts to compete with the model, the batches and the other processes for
/// RAM, and on small machines may not fit at all.
pub const AUTO_STREAM_BYTES: u64 = 1 << 30;

/// Largest side an image is resized to.
pub const MAX_SIDE: usize = 16384;

/// Image file extensions read.
const EXTENSIONS: [&str; 4] = ["png", "jpg", "jpeg", "bmp"];

/// The class folders of `root`, sorted, and the image files in each, sorted.
pub fn list(root: &Path) -> Result<Vec<(String, Vec<PathBuf>)>, DataError> {
    let mut classes = Vec::new();
    let entries = std::fs::read_dir(root).map_err(|e| DataError::io(root, e))?;
    let mut dirs: Vec<PathBuf> = entries.filter_map(|e| e.ok()).map(|e| e.path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    for dir in dirs {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .map_err(|e| DataError::io(&dir, e))?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| {
                p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| EXTENSIONS.contains(&x.to_ascii_lowercase().as_str()))
            })
            .collect();
        files.sort();
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        classes.push((name, files));
    }
    if classes.iter().all(|(_, f)| f.is_empty()) {
        return Err(DataError::format(root, "no class folders with images (expected <root>/<class>/<image>.png|jpg)"));
    }
    Ok(classes)
}

/// An error unless `opts` can be read: 1 or 3 channels, each side of a fixed size in
/// `1..=MAX_SIDE`.
pub fn check_options(opts: ImageFolderOptions) -> Result<(), DataError> {
    if opts.channels != 1 && opts.channels != 3 {
        return Err(DataError::Invalid(format!("{} channels: images have 1 (grayscale) or 3 (RGB)", opts.channels)));
    }
    if let Some(size) = opts.size
        && size.iter().any(|&s| s == 0 || s > MAX_SIDE)
    {
        return Err(DataError::Invalid(format!("image size {size:?}: each side must be in 1..={MAX_SIDE}")));
    }
    Ok(())
}

/// Decodes one image file and appends its pixels to `out`, channel-first (planar: all reds, then
/// greens, then blues; one plane for gray). `size` carries the size rule across a folder's
/// images: with `opts.size` given, every image is resized to it; otherwise the first image
/// decoded (with `size` still `None`) sets it and an image of another size is an error naming
/// its file. Returns the image's `[height, width]` as appended.
pub fn decode_into(
    file: &Path,
    opts: ImageFolderOptions,
    size: &mut Option<[usize; 2]>,
    out: &mut Vec<u8>,
) -> Result<[usize; 2], DataError> {
    let img = image::open(file).map_err(|e| DataError::format(file, format!("unreadable or corrupt image: {e}")))?;
    let (w, h) = (img.width() as usize, img.height() as usize);
    let target = *size.get_or_insert(opts.size.unwrap_or([h, w]));
    let [th, tw] = target;
    let img = if (th, tw) != (h, w) {
        if opts.size.is_none() {
            return Err(DataError::format(file, format!("image is {w}x{h}, the others are {tw}x{th}")));
        }
        img.resize_exact(tw as u32, th as u32, FilterType::Triangle)
    } else {
        img
    };
    match opts.channels {
        1 => out.extend_from_slice(img.to_luma8().as_raw()),
        _ => {
            let rgb = img.to_rgb8();
            for c in 0..3 {
                out.extend(rgb.as_raw().iter().skip(c).step_by(3));
            }
        }
    }
    Ok(target)
}

/// The `[height, width]` of an image file, from its header alone (the pixels are not read), or
/// an error naming the file: not an image of a format its extension names, or too large to
/// decode (the `image` crate's default allocation limit, which decoding enforces too).
pub fn probe(file: &Path) -> Result<[usize; 2], DataError> {
    let corrupt = |e: image::ImageError| DataError::format(file, format!("unreadable or corrupt image: {e}"));
    let decoder = ImageReader::open(file).map_err(|e| DataError::io(file, e))?.into_decoder().map_err(corrupt)?;
    let (w, h) = decoder.dimensions();
    if Limits::default().reserve(decoder.total_bytes()).is_err() {
        return Err(DataError::format(
            file,
            format!("image is {w}x{h}: too large to decode ({} bytes); shrink or remove it", decoder.total_bytes()),
        ));
    }
    Ok([h as usize, w as usize])
}

/// Bytes of `items` decoded images of `channels` x `[height, width]` (saturating).
pub fn decoded_bytes(items: usize, channels: usize, [h, w]: [usize; 2]) -> u64 {
    [items, channels, h, w].iter().fold(1u64, |acc, &x| acc.saturating_mul(x as u64))
}

/// What [`read`] finds in an image folder (`Dataset::from` makes it a dataset).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageFolder {
    /// The images' pixels.
    pub pixels: Pixels,
    /// Shape of one image, `[channels, height, width]`.
    pub item_shape: Vec<usize>,
    /// Class of each image: the index of its folder.
    pub labels: Vec<u16>,
    /// The class folders' names, in label order.
    pub classes: Vec<String>,
}

/// The pixels of an [`ImageFolder`].
#[derive(Debug, Clone, PartialEq)]
pub enum Pixels {
    /// Decoded up front: bytes, channel-first, one image after the other.
    Decoded(Vec<u8>),
    /// The files, decoded when an item is asked for.
    Streamed(ImageFiles),
}

/// Reads a class-per-folder image tree: decoded up front or streamed as
/// [`ImageFolderOptions::stream`] says (the module documentation tells how it decides).
pub fn read(root: &Path, opts: ImageFolderOptions) -> Result<ImageFolder, DataError> {
    read_with_threshold(root, opts, AUTO_STREAM_BYTES)
}

/// [`read`] with another threshold than [`AUTO_STREAM_BYTES`] for `stream = None`: the folder is
/// streamed when its decoded bytes ([`decoded_bytes`]) exceed `auto_stream_bytes`. Without a
/// fixed `size`, the image size is the first image's, read from its header.
pub fn read_with_threshold(
    root: &Path,
    opts: ImageFolderOptions,
    auto_stream_bytes: u64,
) -> Result<ImageFolder, DataError> {
    check_options(opts)?;
    let classes = list(root)?;
    let stream = match opts.stream {
        Some(stream) => stream,
        None => {
            let items = classes.iter().map(|(_, f)| f.len()).sum();
            let first = classes.iter().flat_map(|(_, f)| f).next().expect("list found an image");
            let size = match opts.size {
                Some(size) => size,
                None => probe(first)?,
            };
            decoded_bytes(items, opts.channels, size) > auto_stream_bytes
        }
    };
    if stream { stream_listed(classes, opts) } else { decode_listed(classes, opts) }
}

/// Decodes every listed image into memory.
fn decode_listed(classes: Vec<(String, Vec<PathBuf>)>, opts: ImageFolderOptions) -> Result<ImageFolder, DataError> {
    let mut pixels = Vec::new();
    let mut labels = Vec::new();
    let mut size: Option<[usize; 2]> = opts.size;
    for (label, (_, files)) in classes.iter().enumerate() {
        for file in files {
            decode_into(file, opts, &mut size, &mut pixels)?;
            labels.push(label as u16);
        }
    }
    let [h, w] = size.expect("at least one image");
    Ok(ImageFolder {
        pixels: Pixels::Decoded(pixels),
        item_shape: vec![opts.channels, h, w],
        labels,
        classes: classes.into_iter().map(|(n, _)| n).collect(),
    })
}

/// Keeps the listed files, decoded per item later, after checking every header (in parallel):
/// readable, decodable within the limits, and (without `size`) of the first image's size.
fn stream_listed(classes: Vec<(String, Vec<PathBuf>)>, opts: ImageFolderOptions) -> Result<ImageFolder, DataError> {
    let labels: Vec<u16> =
        classes.iter().enumerate().flat_map(|(l, (_, files))| std::iter::repeat_n(l as u16, files.len())).collect();
    let mut names = Vec::with_capacity(classes.len());
    let mut files = Vec::with_capacity(labels.len());
    for (name, f) in classes {
        names.push(name);
        files.extend(f);
    }
    let sizes = crate::par::try_map(&files, |f| probe(f))?;
    let size = opts.size.unwrap_or(sizes[0]);
    if opts.size.is_none()
        && let Some((file, [h, w])) = files.iter().zip(&sizes).find(|(_, s)| **s != size)
    {
        let [th, tw] = size;
        return Err(DataError::format(file, format!("image is {w}x{h}, the others are {tw}x{th}")));
    }
    Ok(ImageFolder {
        pixels: Pixels::Streamed(ImageFiles::new(files, opts, size)),
        item_shape: vec![opts.channels, size[0], size[1]],
        labels,
        classes: names,
    })
}

/// Image files as a dataset sees them, decoded when an item is asked for ([`Pixels::Streamed`]):
/// one file per item, in folder order, or the items a subset picked (4 bytes per item, no pixels
/// held), cut to a length. Every item decodes to `channels x height x width` bytes, pixel for
/// pixel what [`read`] decodes up front ([`decode_into`]).
#[derive(Clone)]
pub struct ImageFiles {
    files: Arc<[PathBuf]>,
    opts: ImageFolderOptions,
    size: [usize; 2],
    rows: Option<Arc<[u32]>>,
    len: usize,
}

impl std::fmt::Debug for ImageFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ImageFiles")
            .field("files", &self.files.len())
            .field("first", &self.files.first())
            .field("channels", &self.opts.channels)
            .field("size", &self.size)
            .field("len", &self.len)
            .finish()
    }
}

impl ImageFiles {
    /// Items decoded from `files` (one each, at most `u32::MAX`) with `opts`, each of `[height,
    /// width]` `size`: with `opts.size` every image is resized to it, else an image of another
    /// size fails when decoded. Reads no file.
    pub fn new(files: Vec<PathBuf>, opts: ImageFolderOptions, size: [usize; 2]) -> Self {
        let len = files.len();
        Self { files: files.into(), opts, size, rows: None, len }
    }

    /// The options the files are decoded with.
    pub fn options(&self) -> ImageFolderOptions {
        self.opts
    }

    /// Every item's `[height, width]`.
    pub fn size(&self) -> [usize; 2] {
        self.size
    }

    /// Bytes (values) of one decoded item.
    pub fn item_len(&self) -> usize {
        self.opts.channels * self.size[0] * self.size[1]
    }

    /// Number of items.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no items.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The file of item `i`. Panics if `i >= len`.
    pub fn file(&self, i: usize) -> &Path {
        assert!(i < self.len, "item {i} of {} image files", self.len);
        &self.files[self.rows.as_ref().map_or(i, |r| r[i] as usize)]
    }

    /// Decodes item `i`, appending its bytes (channel-first) to `out`; an error names the file.
    pub fn decode(&self, i: usize, out: &mut Vec<u8>) -> Result<(), DataError> {
        let file = self.file(i);
        let start = out.len();
        decode_into(file, self.opts, &mut Some(self.size), out).map_err(|e| match e {
            DataError::Format { path, message } => DataError::Format {
                path,
                message: format!(
                    "{message} (decoded while streaming the folder; its header was checked at load time, so the \
                     file is damaged past its header or changed since: replace or remove it)"
                ),
            },
            e => e,
        })?;
        debug_assert_eq!(out.len() - start, self.item_len());
        Ok(())
    }

    /// Decodes item `i` into `out` (`item_len` values, bytes as f32 0..=255, as
    /// [`Pixels::Decoded`] serves them); an error names the file.
    pub fn write_item(&self, i: usize, out: &mut [f32]) -> Result<(), DataError> {
        let mut bytes = Vec::with_capacity(self.item_len());
        self.decode(i, &mut bytes)?;
        out.iter_mut().zip(&bytes).for_each(|(o, &b)| *o = b as f32);
        Ok(())
    }

    /// Value `k` of the items laid end to end. Slow: decodes the whole item (use
    /// [`ImageFiles::write_item`] for items). Panics, naming the file, if it cannot be decoded.
    pub fn value(&self, k: usize) -> f32 {
        let d = self.item_len();
        let mut bytes = Vec::with_capacity(d);
        self.decode(k / d, &mut bytes).unwrap_or_else(|e| panic!("{e}"));
        bytes[k % d] as f32
    }

    /// The items at `indices`, in that order (the same file list, a new row list).
    pub fn subset(&self, indices: &[usize]) -> ImageFiles {
        let rows: Arc<[u32]> = indices
            .iter()
            .map(|&i| {
                assert!(i < self.len, "item {i} of {} image files", self.len);
                self.rows.as_ref().map_or(i as u32, |r| r[i])
            })
            .collect();
        ImageFiles { files: self.files.clone(), opts: self.opts, size: self.size, len: rows.len(), rows: Some(rows) }
    }

    /// Keeps only the first `n` items.
    pub fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }
}

/// Equal when both decode the same files, in the same order, the same way (the paths are
/// compared, not the pixels).
impl PartialEq for ImageFiles {
    fn eq(&self, other: &Self) -> bool {
        self.opts == other.opts
            && self.size == other.size
            && self.len == other.len
            && (0..self.len).all(|i| self.file(i) == other.file(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Dataset;

    fn write_png(path: &Path, w: u32, h: u32, rgb: [u8; 3]) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        image::RgbImage::from_pixel(w, h, image::Rgb(rgb)).save(path).unwrap();
    }

    #[test]
    fn reads_classes_in_order_channel_first() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("b/1.png"), 2, 3, [10, 20, 30]);
        write_png(&dir.path().join("a/1.png"), 2, 3, [1, 2, 3]);
        write_png(&dir.path().join("a/2.png"), 2, 3, [4, 5, 6]);
        std::fs::write(dir.path().join("a/notes.txt"), "not an image").unwrap();
        let d = Dataset::from(read(dir.path(), ImageFolderOptions { channels: 3, size: None, stream: None }).unwrap());
        assert_eq!(d.classes, vec!["a", "b"]);
        assert_eq!(d.labels, Some(vec![0, 0, 1]));
        assert_eq!(d.item_shape, vec![3, 3, 2]);
        let mut item = vec![0.0; 18];
        d.write_raw(2, &mut item);
        assert_eq!(&item[..6], &[10.0; 6]);
        assert_eq!(&item[6..12], &[20.0; 6]);
        let gray = read(dir.path(), ImageFolderOptions { channels: 1, size: Some([4, 4]), stream: None }).unwrap();
        assert_eq!(gray.item_shape, vec![1, 4, 4]);
    }

    #[test]
    fn bad_images_and_sizes_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("a/1.png"), 2, 2, [0, 0, 0]);
        write_png(&dir.path().join("a/2.png"), 3, 2, [0, 0, 0]);
        let e = read(dir.path(), ImageFolderOptions { channels: 1, size: None, stream: None }).unwrap_err().to_string();
        assert!(e.contains("2.png") && e.contains("image is 3x2"), "{e}");
        std::fs::write(dir.path().join("a/2.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
        let e = read(dir.path(), ImageFolderOptions { channels: 1, size: None, stream: None }).unwrap_err().to_string();
        assert!(e.contains("2.png") && e.contains("corrupt"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(
            read(empty.path(), ImageFolderOptions { channels: 1, size: None, stream: None })
                .unwrap_err()
                .to_string()
                .contains("no class folders")
        );
        let e = read(dir.path(), ImageFolderOptions { channels: 2, size: None, stream: None }).unwrap_err().to_string();
        assert!(e.contains("2 channels"), "{e}");
        let e = read(dir.path(), ImageFolderOptions { channels: 1, size: Some([0, 4]), stream: None })
            .unwrap_err()
            .to_string();
        assert!(e.contains("image size [0, 4]"), "{e}");
    }
}
