//! Errors of the `ae-train` command, each with its exit code.

use std::fmt;

/// What kind of failure: decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Bad command line or configuration: exit code 2.
    Usage,
    /// Failure while running (data, I/O, divergence): exit code 1.
    Runtime,
}

/// An error printed as `error: <message>`.
#[derive(Debug, Clone)]
pub struct AppError {
    /// Usage or runtime.
    pub kind: ErrorKind,
    /// The whole message, naming the file, key or line.
    pub message: String,
}

impl AppError {
    /// A usage or configuration error (exit code 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Usage, message: message.into() }
    }

    /// A runtime or data error (exit code 1).
    pub fn runtime(message: impl Into<String>) -> Self {
        Self { kind: ErrorKind::Runtime, message: message.into() }
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> i32 {
        match self.kind {
            ErrorKind::Usage => 2,
            ErrorKind::Runtime => 1,
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}

impl From<ae_data::DataError> for AppError {
    fn from(e: ae_data::DataError) -> Self {
        match e {
            // Naming a dataset that does not exist is a usage error; everything else is data.
            ae_data::DataError::Unknown { .. } => AppError::usage(e.to_string()),
            _ => AppError::runtime(e.to_string()),
        }
    }
}

impl From<ae_eval::EvalError> for AppError {
    fn from(e: ae_eval::EvalError) -> Self {
        AppError::runtime(e.to_string())
    }
}

/// Result with an [`AppError`].
pub type Result<T, E = AppError> = std::result::Result<T, E>;

/// Turns an I/O error on `path` into a runtime error naming the path.
pub fn io_error(path: &std::path::Path, action: &str, e: std::io::Error) -> AppError {
    AppError::runtime(format!("{}: cannot {action}: {e}", path.display()))
}
