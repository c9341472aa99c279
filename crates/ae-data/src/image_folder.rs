//! Image folders: `<root>/<class>/<image>` with one subfolder per class (sorted by name: the
//! label order), images in any format the `image` crate reads (PNG, JPEG).
//!
//! Every image is decoded once, converted to the requested channels (1 gray or 3 RGB) and must
//! have the size of the first one (or is resized to `size` when given). Pixels stay bytes in
//! memory.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use serde::{Deserialize, Serialize};

use crate::{DataError, Dataset, Features};

/// How to read an image folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageFolderOptions {
    /// 1 (grayscale) or 3 (RGB).
    pub channels: usize,
    /// Resize every image to `[height, width]`; `None` requires all images to share one size.
    pub size: Option<[usize; 2]>,
}

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

/// Reads a class-per-folder image tree.
pub fn read(root: &Path, opts: ImageFolderOptions) -> Result<Dataset, DataError> {
    check_options(opts)?;
    let classes = list(root)?;
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
    Ok(Dataset {
        features: Features::U8(pixels),
        item_shape: vec![opts.channels, h, w],
        labels: Some(labels),
        classes: classes.into_iter().map(|(n, _)| n).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let d = read(dir.path(), ImageFolderOptions { channels: 3, size: None }).unwrap();
        assert_eq!(d.classes, vec!["a", "b"]);
        assert_eq!(d.labels, Some(vec![0, 0, 1]));
        assert_eq!(d.item_shape, vec![3, 3, 2]);
        let mut item = vec![0.0; 18];
        d.write_raw(2, &mut item);
        assert_eq!(&item[..6], &[10.0; 6]);
        assert_eq!(&item[6..12], &[20.0; 6]);
        let gray = read(dir.path(), ImageFolderOptions { channels: 1, size: Some([4, 4]) }).unwrap();
        assert_eq!(gray.item_shape, vec![1, 4, 4]);
    }

    #[test]
    fn bad_images_and_sizes_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("a/1.png"), 2, 2, [0, 0, 0]);
        write_png(&dir.path().join("a/2.png"), 3, 2, [0, 0, 0]);
        let e = read(dir.path(), ImageFolderOptions { channels: 1, size: None }).unwrap_err().to_string();
        assert!(e.contains("2.png") && e.contains("image is 3x2"), "{e}");
        std::fs::write(dir.path().join("a/2.png"), b"\x89PNG\r\n\x1a\ntruncated").unwrap();
        let e = read(dir.path(), ImageFolderOptions { channels: 1, size: None }).unwrap_err().to_string();
        assert!(e.contains("2.png") && e.contains("corrupt"), "{e}");
        let empty = tempfile::tempdir().unwrap();
        assert!(
            read(empty.path(), ImageFolderOptions { channels: 1, size: None })
                .unwrap_err()
                .to_string()
                .contains("no class folders")
        );
        let e = read(dir.path(), ImageFolderOptions { channels: 2, size: None }).unwrap_err().to_string();
        assert!(e.contains("2 channels"), "{e}");
        let e = read(dir.path(), ImageFolderOptions { channels: 1, size: Some([0, 4]) }).unwrap_err().to_string();
        assert!(e.contains("image size [0, 4]"), "{e}");
    }
}
