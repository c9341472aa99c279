//! A borrowed row-major `f32` matrix, checked once on construction, and the dense kernels the
//! metrics share (distances and matrix products).

use crate::error::{EvalError, Result};

/// A borrowed, row-major matrix: `rows` items of `cols` values each (e.g. one code per row).
///
/// [`Matrix::new`] checks the shape and that every value is finite, so that the functions taking
/// a `Matrix` need not.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Matrix<'a> {
    data: &'a [f32],
    rows: usize,
    cols: usize,
}

impl<'a> Matrix<'a> {
    /// A view of `data` as `rows` x `cols`; fails if the length differs from `rows * cols`, if
    /// either is zero, or if a value is NaN or infinite.
    pub fn new(data: &'a [f32], rows: usize, cols: usize) -> Result<Self> {
        if rows == 0 || cols == 0 {
            return Err(EvalError::input(format!("matrix is empty ({rows} x {cols})")));
        }
        if rows.checked_mul(cols) != Some(data.len()) {
            return Err(EvalError::input(format!(
                "matrix of {rows} x {cols} needs {} values, got {}",
                rows.saturating_mul(cols),
                data.len()
            )));
        }
        if let Some(i) = data.iter().position(|v| !v.is_finite()) {
            return Err(EvalError::input(format!(
                "matrix value at row {}, column {} is {}",
                i / cols,
                i % cols,
                data[i]
            )));
        }
        Ok(Matrix { data, rows, cols })
    }

    /// A view of `data` with `cols` values per row, the number of rows following from the length.
    pub fn with_cols(data: &'a [f32], cols: usize) -> Result<Self> {
        if cols == 0 || !data.len().is_multiple_of(cols) {
            return Err(EvalError::input(format!("{} values do not make rows of {cols}", data.len())));
        }
        Self::new(data, data.len() / cols, cols)
    }

    /// Number of rows (items).
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (values per item).
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// All values, row after row.
    pub fn data(&self) -> &'a [f32] {
        self.data
    }

    /// Row `i` (panics if `i >= rows`, like slice indexing).
    pub fn row(&self, i: usize) -> &'a [f32] {
        &self.data[i * self.cols..(i + 1) * self.cols]
    }

    /// The mean of each column, in `f64`.
    pub fn column_means(&self) -> Vec<f64> {
        let mut mean = vec![0.0f64; self.cols];
        for r in self.data.chunks_exact(self.cols) {
            mean.iter_mut().zip(r).for_each(|(m, &v)| *m += v as f64);
        }
        mean.iter_mut().for_each(|m| *m /= self.rows as f64);
        mean
    }
}

/// Fails unless `labels` has one entry per row of `x`; `what` names the matrix.
pub(crate) fn check_labels<T>(what: &str, x: &Matrix, labels: &[T]) -> Result<()> {
    if labels.len() != x.rows() {
        return Err(EvalError::input(format!("{what}: {} rows but {} labels", x.rows(), labels.len())));
    }
    Ok(())
}

/// Squared Euclidean distance, accumulated in eight lanes so that the compiler vectorises it.
pub(crate) fn sq_dist(a: &[f32], b: &[f32]) -> f32 {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let d = x[l] - y[l];
            acc[l] += d * d;
        }
    }
    let mut s: f32 = acc.iter().sum();
    for (x, y) in ra.iter().zip(rb) {
        s += (x - y) * (x - y);
    }
    s
}

/// Squared Euclidean norm of each row of an `n x d` matrix.
pub(crate) fn row_sq_norms(data: &[f32], d: usize) -> Vec<f32> {
    data.chunks_exact(d).map(|r| r.iter().map(|v| v * v).sum()).collect()
}

/// `out (m x n) = a (m x k) * b (n x k)^T`, all row-major (single-threaded; callers split rows).
pub(crate) fn gemm_abt(a: &[f32], m: usize, k: usize, b: &[f32], n: usize, out: &mut [f32]) {
    assert!(a.len() == m * k && b.len() == n * k && out.len() == m * n, "gemm_abt shapes");
    if m == 0 || n == 0 {
        return;
    }
    // SAFETY: the slices hold exactly the m x k, n x k and m x n elements addressed by these
    // strides, as asserted above, and `out` does not alias the inputs (it is `&mut`).
    unsafe {
        matrixmultiply::sgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            k as isize,
            1,
            b.as_ptr(),
            1,
            k as isize,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

/// `out (m x n) = a (k x m)^T * b (k x n)`, row-major `f64` (e.g. a covariance `X^T X`).
pub(crate) fn dgemm_atb(a: &[f64], k: usize, m: usize, b: &[f64], n: usize, out: &mut [f64]) {
    assert!(a.len() == k * m && b.len() == k * n && out.len() == m * n, "dgemm_atb shapes");
    // a^T is addressed with row stride 1 and column stride m.
    dgemm(m, k, n, a, (1, m), b, (n, 1), out);
}

/// `out (m x n) = a (m x k) * b (k x n)`, row-major `f64`.
pub(crate) fn dgemm_ab(a: &[f64], m: usize, k: usize, b: &[f64], n: usize, out: &mut [f64]) {
    assert!(a.len() == m * k && b.len() == k * n && out.len() == m * n, "dgemm_ab shapes");
    dgemm(m, k, n, a, (k, 1), b, (n, 1), out);
}

/// `out (m x n, row-major) = A (m x k) * B (k x n)` in `f64`, `A` and `B` read through (row,
/// column) strides; panics unless every element they address lies in the slices.
#[allow(clippy::too_many_arguments)]
fn dgemm(m: usize, k: usize, n: usize, a: &[f64], sa: (usize, usize), b: &[f64], sb: (usize, usize), out: &mut [f64]) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, (r, c): (usize, usize)| (rows - 1) * r + cols.saturating_sub(1) * c;
    assert!(k == 0 || (last(m, k, sa) < a.len() && last(k, n, sb) < b.len()), "dgemm strides");
    assert!(out.len() >= m * n, "dgemm output");
    // SAFETY: every element addressed through these strides lies in its slice (asserted above),
    // and `out` does not alias the inputs (it is `&mut`).
    unsafe {
        matrixmultiply::dgemm(
            m,
            k,
            n,
            1.0,
            a.as_ptr(),
            sa.0 as isize,
            sa.1 as isize,
            b.as_ptr(),
            sb.0 as isize,
            sb.1 as isize,
            0.0,
            out.as_mut_ptr(),
            n as isize,
            1,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checks_shape_and_values() {
        assert!(Matrix::new(&[1.0, 2.0, 3.0], 2, 2).unwrap_err().to_string().contains("needs 4 values, got 3"));
        assert!(Matrix::new(&[], 0, 3).unwrap_err().to_string().contains("empty"));
        let e = Matrix::new(&[1.0, 2.0, f32::NAN, 4.0], 2, 2).unwrap_err().to_string();
        assert!(e.contains("row 1, column 0 is NaN"), "{e}");
        let m = Matrix::with_cols(&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0], 3).unwrap();
        assert_eq!((m.rows(), m.cols()), (2, 3));
        assert_eq!(m.row(1), &[4.0, 5.0, 6.0]);
        assert_eq!(m.column_means(), vec![2.5, 3.5, 4.5]);
        assert!(Matrix::with_cols(&[1.0, 2.0, 3.0], 2).is_err());
    }

    #[test]
    fn kernels_match_naive_loops() {
        let a: Vec<f32> = (0..3 * 13).map(|i| (i as f32 * 0.37).sin()).collect();
        let b: Vec<f32> = (0..4 * 13).map(|i| (i as f32 * 0.11).cos()).collect();
        let mut out = vec![0.0; 12];
        gemm_abt(&a, 3, 13, &b, 4, &mut out);
        for i in 0..3 {
            for j in 0..4 {
                let dot: f32 = (0..13).map(|p| a[i * 13 + p] * b[j * 13 + p]).sum();
                assert!((out[i * 4 + j] - dot).abs() < 1e-5);
                let d: f32 = (0..13).map(|p| (a[i * 13 + p] - b[j * 13 + p]).powi(2)).sum();
                assert!((sq_dist(&a[i * 13..(i + 1) * 13], &b[j * 13..(j + 1) * 13]) - d).abs() < 1e-5);
            }
        }
        // a is 13 x 3 here, b 13 x 4 (k = 13 rows each).
        let a64: Vec<f64> = a.iter().map(|&v| v as f64).collect();
        let b64: Vec<f64> = b.iter().map(|&v| v as f64).collect();
        let mut out = vec![0.0; 12];
        dgemm_atb(&a64, 13, 3, &b64, 4, &mut out);
        for i in 0..3 {
            for j in 0..4 {
                let dot: f64 = (0..13).map(|p| a64[p * 3 + i] * b64[p * 4 + j]).sum();
                assert!((out[i * 4 + j] - dot).abs() < 1e-12);
            }
        }
        // a64 as 3 x 13 times b64 as 13 x 4.
        dgemm_ab(&a64, 3, 13, &b64, 4, &mut out);
        for i in 0..3 {
            for j in 0..4 {
                let dot: f64 = (0..13).map(|p| a64[i * 13 + p] * b64[p * 4 + j]).sum();
                assert!((out[i * 4 + j] - dot).abs() < 1e-12);
            }
        }
        assert_eq!(row_sq_norms(&[3.0, 4.0, 1.0, 0.0], 2), vec![25.0, 1.0]);
    }
}
