//! Evaluation errors: bad input is reported, never a panic.

/// Why an evaluation or a picture could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    /// The input cannot be evaluated (empty, mismatched lengths, NaN, a single class, ...).
    #[error("{0}")]
    Input(String),
    /// The plotting library failed to draw.
    #[error("plot: {0}")]
    Plot(String),
}

impl EvalError {
    /// An input error with this message.
    pub fn input(message: impl Into<String>) -> Self {
        EvalError::Input(message.into())
    }
}

/// Result of an evaluation.
pub type Result<T> = std::result::Result<T, EvalError>;

/// Fails unless `a` and `b` have the same length; `what` names both, e.g. `"scores and labels"`.
pub(crate) fn same_len(what: &str, a: usize, b: usize) -> Result<()> {
    if a != b {
        return Err(EvalError::input(format!("{what} differ in length: {a} vs {b}")));
    }
    Ok(())
}

/// Fails if `values` is empty or holds a NaN; `what` names the values.
pub(crate) fn no_nan(what: &str, values: &[f32]) -> Result<()> {
    if values.is_empty() {
        return Err(EvalError::input(format!("{what}: empty")));
    }
    if let Some(i) = values.iter().position(|v| v.is_nan()) {
        return Err(EvalError::input(format!("{what}: NaN at index {i}")));
    }
    Ok(())
}
