//! `ae-train data pack SOURCE --out DIR`: any source ae-train reads (a catalog name, an image
//! folder, CIFAR-10 batches or archive, a CSV/ARFF table, an ICELEARNING folder, a `.npy` file)
//! converted once into `.npy` files through [`ae_data::pack`] (streaming, bounded memory, the
//! folder appearing only when complete), with a progress bar on a terminal; training then
//! memory-maps them (`data.source = { kind = "npy", ... }`).

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use ae_data::pack::{self, PackProgress, PackSummary};
use ae_data::{LoadOptions, Source};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{AppError, Result};

/// What the command line asks of `data pack`.
#[derive(Debug, Clone)]
pub struct PackRequest {
    /// A catalog dataset name or a path.
    pub source: String,
    /// The folder to write.
    pub out: PathBuf,
    /// Where catalog datasets are read from.
    pub root: PathBuf,
    /// Keep the first N items of each split.
    pub limit: Option<usize>,
    /// Image folders: 1 (gray) or 3 (RGB) channels.
    pub channels: Option<usize>,
    /// Image folders: resize every image to `[height, width]`.
    pub size: Option<[usize; 2]>,
    /// No progress output.
    pub quiet: bool,
}

/// The source `spec` names: a catalog dataset, else a path guessed by its form
/// ([`Source::guess`]), with the image-folder options applied.
pub fn source_of(spec: &str, channels: Option<usize>, size: Option<[usize; 2]>) -> Result<Source> {
    let source = if ae_data::catalog::is_known(spec) {
        Source::Named { name: spec.to_string() }
    } else {
        let path = Path::new(spec);
        if !path.exists() {
            return Err(AppError::usage(format!(
                "data pack {spec}: no such file or folder, and not a dataset name ({})",
                ae_data::catalog::NAMES.join(", ")
            )));
        }
        Source::guess(path).ok_or_else(|| {
            AppError::usage(format!(
                "data pack {spec}: cannot tell its format: expected a dataset name, an image folder (<root>/<class>/<image>), \
                 a CIFAR-10 folder or .tar.gz, a .csv/.tsv/.arff table, a .npy file or a packed folder"
            ))
        })?
    };
    match source {
        Source::ImageFolder { path, test, mut options } => {
            if let Some(c) = channels {
                options.channels = c;
            }
            if size.is_some() {
                options.size = size;
            }
            Ok(Source::ImageFolder { path, test, options })
        }
        _ if channels.is_some() || size.is_some() => Err(AppError::usage(format!(
            "data pack {spec}: --channels and --size apply to image folders, and {spec} is not one"
        ))),
        other => Ok(other),
    }
}

/// Parses `--size HxW` (or one number for a square).
pub fn parse_size(text: &str) -> std::result::Result<[usize; 2], String> {
    let (h, w) = text.split_once(['x', 'X']).unwrap_or((text, text));
    match (h.trim().parse::<usize>(), w.trim().parse::<usize>()) {
        (Ok(h), Ok(w)) if h > 0 && w > 0 => Ok([h, w]),
        _ => Err(format!("`{text}`: expected HEIGHTxWIDTH in pixels, e.g. 32x32")),
    }
}

/// Packs the requested source into `req.out`.
pub fn run(req: &PackRequest) -> Result<PackSummary> {
    let source = source_of(&req.source, req.channels, req.size)?;
    let opts = LoadOptions { root: req.root.clone(), limit: req.limit, seed: 0 };
    let bar = (!req.quiet && std::io::stderr().is_terminal()).then(|| {
        let b = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
        b.set_style(
            ProgressStyle::with_template("  {msg} {bar:40} {pos}/{len} items {per_sec} eta {eta}")
                .expect("valid template"),
        );
        b
    });
    let mut split = None;
    let mut on_progress = |p: PackProgress| {
        if split != Some(p.split) {
            split = Some(p.split);
            if let Some(b) = &bar {
                b.reset();
                b.set_message(p.split.name());
                b.set_length(p.total.unwrap_or(0) as u64);
            }
        }
        if let Some(b) = &bar {
            if p.total.is_none() && p.done as u64 > b.length().unwrap_or(0) {
                b.set_length(p.done as u64);
            }
            b.set_position(p.done as u64);
        }
    };
    if !req.quiet {
        eprintln!("packing {} into {}", source.name(), req.out.display());
    }
    let result = pack::pack(&source, &opts, &req.out, &mut on_progress);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    Ok(result?)
}

/// The lines printed after packing: what was written and how a config reads it.
pub fn report(s: &PackSummary) -> Vec<String> {
    let mut out = vec![format!(
        "data pack: wrote {} ({} bytes): train {} items{} of shape {:?}, {}{}",
        s.dir.display(),
        s.bytes,
        s.train_items,
        s.test_items.map(|n| format!(", test {n} items")).unwrap_or_default(),
        s.item_shape,
        s.dtype.name(),
        if s.classes.is_empty() { String::new() } else { format!(", {} classes", s.classes.len()) }
    )];
    for f in &s.files {
        out.push(format!("  {}", f.display()));
    }
    match s.config_line() {
        Ok(line) => {
            let table = line.trim_start_matches("data.source = ");
            out.push("train on it with, in the config's [data] table:".into());
            out.push(format!("  source = {table}"));
            out.push(format!("or on the command line: --set 'data.source={table}'"));
        }
        Err(e) => out.push(format!("(no config line: {e})")),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_height_by_width() {
        assert_eq!(parse_size("32x48"), Ok([32, 48]));
        assert_eq!(parse_size("28"), Ok([28, 28]));
        for bad in ["0x3", "x", "3x", "axb", "-1"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn sources_are_names_or_guessed_paths_and_image_options_apply_to_image_folders_only() {
        assert_eq!(source_of("mnist", None, None).unwrap(), Source::Named { name: "mnist".into() });
        let e = source_of("/nonexistent/x.npy", None, None).unwrap_err();
        assert_eq!(e.exit_code(), 2);
        assert!(e.message.contains("no such file"), "{}", e.message);
        let tmp = tempfile::tempdir().unwrap();
        let class = tmp.path().join("imgs/a");
        std::fs::create_dir_all(&class).unwrap();
        let s = source_of(tmp.path().join("imgs").to_str().unwrap(), Some(1), Some([8, 8])).unwrap();
        let Source::ImageFolder { options, .. } = s else { panic!("{s:?}") };
        assert_eq!((options.channels, options.size), (1, Some([8, 8])));
        let e = source_of("mnist", Some(1), None).unwrap_err();
        assert!(e.message.contains("apply to image folders"), "{}", e.message);
        std::fs::write(tmp.path().join("notes.txt"), "x").unwrap();
        let e = source_of(tmp.path().join("notes.txt").to_str().unwrap(), None, None).unwrap_err();
        assert!(e.message.contains("cannot tell its format"), "{}", e.message);
    }
}
