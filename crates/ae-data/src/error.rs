//! Data errors: each names the file and the place in it.

use std::path::PathBuf;

/// Why a dataset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    /// The file's content is not what the format requires.
    #[error("{}: {message}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong and where (byte offset, line, column).
        message: String,
    },
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The dataset's files are not where they should be.
    #[error(
        "dataset `{name}` not found: expected {}\n  fetch it with: {fetch}\n  or point AE_DATA_DIR (or data.root) at a folder that holds it",
        paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    Missing {
        /// Dataset name.
        name: String,
        /// The files that were looked for and not found.
        paths: Vec<PathBuf>,
        /// A command that would fetch them.
        fetch: String,
    },
    /// No dataset has this name.
    #[error("unknown dataset `{name}`; known: {}", known.join(", "))]
    Unknown {
        /// The name asked for.
        name: String,
        /// The names there are.
        known: &'static [&'static str],
    },
    /// The options cannot be applied to this dataset.
    #[error("{0}")]
    Invalid(String),
    /// A download failed: HTTP status, dropped connection, wrong checksum.
    #[error("{url}: {message}")]
    Fetch {
        /// The URL.
        url: String,
        /// What went wrong.
        message: String,
    },
}

impl DataError {
    /// A format error in `path`.
    pub fn format(path: impl Into<PathBuf>, message: impl Into<String>) -> Self {
        DataError::Format { path: path.into(), message: message.into() }
    }

    /// The finite number in text cell `cell` at `line`, `column` (1-based) of `path`, or an error
    /// naming the place.
    pub fn number(cell: &str, path: &std::path::Path, line: usize, column: usize) -> Result<f32, DataError> {
        let v: f32 = cell
            .parse()
            .map_err(|_| DataError::format(path, format!("line {line}, column {column}: `{cell}` is not a number")))?;
        if !v.is_finite() {
            return Err(DataError::format(
                path,
                format!("line {line}, column {column}: `{cell}` is not a finite number"),
            ));
        }
        Ok(v)
    }

    /// A download error on `url`.
    pub fn fetch(url: impl Into<String>, message: impl Into<String>) -> Self {
        DataError::Fetch { url: url.into(), message: message.into() }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        DataError::Io { path: path.into(), source }
    }
}
