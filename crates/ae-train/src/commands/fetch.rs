//! `ae-train data fetch NAME...`: downloads datasets from their canonical sources through
//! [`ae_data::fetch`] (SHA-256 checked while streaming, temp file then rename, safe extraction),
//! with a progress bar on a terminal and one line per file otherwise.

use std::io::IsTerminal;
use std::path::Path;

use ae_data::fetch::{self, Progress};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::error::{AppError, Result};

/// Fetches each named dataset (`all`: every downloadable one) into `root`.
pub fn run(names: &[String], root: &Path, quiet: bool) -> Result<()> {
    let names: Vec<&str> = if names.iter().any(|n| n == "all") {
        fetch::FETCHABLE.to_vec()
    } else {
        names.iter().map(String::as_str).collect()
    };
    if names.is_empty() {
        return Err(AppError::usage(format!("name a dataset to fetch: {} or all", fetch::FETCHABLE.join(", "))));
    }
    for name in &names {
        if fetch::remote(name).is_none() {
            return Err(AppError::usage(format!(
                "dataset `{name}` cannot be downloaded; downloadable: {} (or all)",
                fetch::FETCHABLE.join(", ")
            )));
        }
    }
    let tty = !quiet && std::io::stderr().is_terminal();
    for name in names {
        let mut bar: Option<ProgressBar> = None;
        let say = |text: String| {
            if !quiet {
                eprintln!("{text}");
            }
        };
        let mut on_progress = |p: Progress<'_>| match p {
            Progress::Present { file } => say(format!("ok       {} (already there, checksum matches)", file.display())),
            Progress::Start { url, total } => {
                say(format!("fetching {url}"));
                if tty {
                    let b = ProgressBar::with_draw_target(total, ProgressDrawTarget::stderr());
                    b.set_style(
                        ProgressStyle::with_template("  {bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")
                            .expect("valid template"),
                    );
                    bar = Some(b);
                }
            }
            Progress::Bytes { done, .. } => {
                if let Some(b) = &bar {
                    b.set_position(done);
                }
            }
            Progress::Done { file } => {
                if let Some(b) = bar.take() {
                    b.finish_and_clear();
                }
                say(format!("ok       {} (SHA-256 verified)", file.display()));
            }
            Progress::Unpacking { archive } => say(format!("unpacking {}", archive.display())),
            Progress::Unpacked { folder, entries } => say(format!("ok       {} ({entries} entries)", folder.display())),
        };
        let result = fetch::fetch(name, root, &mut on_progress);
        if let Some(b) = bar.take() {
            b.abandon();
        }
        result?;
    }
    Ok(())
}
