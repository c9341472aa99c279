//! Principal component analysis: the covariance of centred data, its symmetric eigen
//! decomposition (Householder tridiagonalisation then implicit QL, as EISPACK's `tred2`/`tql2`),
//! projections onto the leading components and their explained variance.

use rayon::prelude::*;

use crate::error::{EvalError, Result};
use crate::matrix::{Matrix, dgemm_atb};

/// Rows per partial covariance (summed in a fixed order, so results do not depend on threads).
const COVARIANCE_BLOCK: usize = 2048;

/// A fitted PCA: the mean and the leading principal axes of the training rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    cols: usize,
    /// Column means of the fitted data.
    pub mean: Vec<f64>,
    /// The leading `k` principal axes, `k x cols` row-major, unit length, in decreasing order of
    /// variance; each axis's largest-magnitude entry is positive (scikit-learn's sign rule).
    pub components: Vec<f64>,
    /// Variance of the data along each axis (covariance eigenvalues, divided by `rows - 1` as in
    /// scikit-learn's `explained_variance_`).
    pub explained_variance: Vec<f64>,
    /// Total variance: the sum over all columns of their variance (the covariance trace).
    pub total_variance: f64,
}

impl Pca {
    /// Fits the first `k` principal components of the rows of `x`. Cost: a `cols x cols`
    /// covariance over the rows, then `O(cols^3)` for the eigen decomposition (about a second
    /// for 784 columns). Fails if there are fewer than two rows or `k` is 0 or above `cols`.
    pub fn fit(x: Matrix, k: usize) -> Result<Self> {
        let (n, d) = (x.rows(), x.cols());
        if n < 2 {
            return Err(EvalError::input("PCA needs at least two rows"));
        }
        if k == 0 || k > d {
            return Err(EvalError::input(format!("PCA: k = {k} components must be between 1 and {d} (the columns)")));
        }
        let mean = x.column_means();
        let partials: Vec<Vec<f64>> = x
            .data()
            .par_chunks(COVARIANCE_BLOCK * d)
            .map(|block| {
                let rows = block.len() / d;
                let centred: Vec<f64> =
                    block.chunks_exact(d).flat_map(|r| r.iter().zip(&mean).map(|(&v, &m)| v as f64 - m)).collect();
                let mut c = vec![0.0; d * d];
                dgemm_atb(&centred, rows, d, &centred, d, &mut c);
                c
            })
            .collect();
        let mut cov = vec![0.0f64; d * d];
        for p in &partials {
            cov.iter_mut().zip(p).for_each(|(c, v)| *c += v);
        }
        cov.iter_mut().for_each(|c| *c /= (n - 1) as f64);
        let total_variance = (0..d).map(|i| cov[i * d + i]).sum();
        let (values, vectors) = symmetric_eigen(&cov, d)?;
        let mut components = vectors[..k * d].to_vec();
        for axis in components.chunks_exact_mut(d) {
            let big = axis.iter().fold(0.0f64, |b, &v| if v.abs() > b.abs() { v } else { b });
            if big < 0.0 {
                axis.iter_mut().for_each(|v| *v = -*v);
            }
        }
        let explained_variance = values[..k].iter().map(|&v| v.max(0.0)).collect();
        Ok(Pca { cols: d, mean, components, explained_variance, total_variance })
    }

    /// Number of components kept.
    pub fn k(&self) -> usize {
        self.explained_variance.len()
    }

    /// Fraction of the total variance along each kept axis (0 for constant data).
    pub fn explained_variance_ratio(&self) -> Vec<f64> {
        let t = self.total_variance;
        self.explained_variance.iter().map(|&v| if t > 0.0 { v / t } else { 0.0 }).collect()
    }

    /// Coordinates of the rows of `x` on the kept axes: `rows x k`, row-major. Fails if `x` does
    /// not have the fitted number of columns.
    pub fn transform(&self, x: Matrix) -> Result<Vec<f32>> {
        if x.cols() != self.cols {
            return Err(EvalError::input(format!("PCA fitted on {} columns, given {}", self.cols, x.cols())));
        }
        let (d, k) = (self.cols, self.k());
        let mut out = vec![0.0f32; x.rows() * k];
        out.par_chunks_mut(k).zip(x.data().par_chunks_exact(d)).for_each(|(o, r)| {
            for (c, axis) in o.iter_mut().zip(self.components.chunks_exact(d)) {
                *c = r.iter().zip(&self.mean).zip(axis).map(|((&v, &m), &a)| (v as f64 - m) * a).sum::<f64>() as f32;
            }
        });
        Ok(out)
    }

    /// Rows rebuilt from their coordinates on the kept axes (`rows x k`): `mean + coords * axes`,
    /// `rows x cols` row-major (the PCA reconstruction). Fails if `coords` is not `k` wide.
    pub fn inverse_transform(&self, coords: Matrix) -> Result<Vec<f32>> {
        let (d, k) = (self.cols, self.k());
        if coords.cols() != k {
            return Err(EvalError::input(format!("PCA has {k} components, given {} coordinates", coords.cols())));
        }
        let mut out = vec![0.0f32; coords.rows() * d];
        out.par_chunks_mut(d).zip(coords.data().par_chunks_exact(k)).for_each(|(o, c)| {
            let mut acc = self.mean.clone();
            for (&ci, axis) in c.iter().zip(self.components.chunks_exact(d)) {
                acc.iter_mut().zip(axis).for_each(|(a, &v)| *a += ci as f64 * v);
            }
            o.iter_mut().zip(&acc).for_each(|(o, &a)| *o = a as f32);
        });
        Ok(out)
    }
}

/// Eigen decomposition of a symmetric `n x n` matrix (row-major; only symmetric input is
/// meaningful): eigenvalues in decreasing order and the matching unit eigenvectors as the rows
/// of an `n x n` matrix. Householder reduction to tridiagonal form, then the QL algorithm with
/// implicit shifts (JAMA's public-domain port of EISPACK `tred2` and `tql2`).
///
/// Fails if `a` is not `n * n` long, `n` is 0, a value is not finite, or QL does not converge.
pub fn symmetric_eigen(a: &[f64], n: usize) -> Result<(Vec<f64>, Vec<f64>)> {
    if n == 0 || a.len() != n * n {
        return Err(EvalError::input(format!("eigen decomposition of {n} x {n} given {} values", a.len())));
    }
    if a.iter().any(|v| !v.is_finite()) {
        return Err(EvalError::input("eigen decomposition: matrix has a non-finite value"));
    }
    let mut v = a.to_vec();
    let mut d = vec![0.0; n];
    let mut e = vec![0.0; n];
    tred2(&mut v, &mut d, &mut e, n);
    // tql2 rotates pairs of columns of V: work on V^T, whose rows are then the eigenvectors.
    let mut vt = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            vt[j * n + i] = v[i * n + j];
        }
    }
    tql2(&mut vt, &mut d, &mut e, n)?;
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| d[j].total_cmp(&d[i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| d[i]).collect();
    let vectors = order.iter().flat_map(|&i| vt[i * n..(i + 1) * n].iter().copied()).collect();
    Ok((values, vectors))
}

/// Householder reduction of the symmetric `v` to tridiagonal form: diagonal `d`, subdiagonal
/// `e` (in `e[1..]`), and the accumulated orthogonal transformation left in `v`.
#[allow(clippy::needless_range_loop)] // index-for-index port of the reference algorithm
fn tred2(v: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) {
    let idx = |i: usize, j: usize| i * n + j;
    for j in 0..n {
        d[j] = v[idx(n - 1, j)];
    }
    for i in (1..n).rev() {
        let scale: f64 = d[..i].iter().map(|x| x.abs()).sum();
        let mut h = 0.0;
        if scale == 0.0 {
            e[i] = d[i - 1];
            for j in 0..i {
                d[j] = v[idx(i - 1, j)];
                v[idx(i, j)] = 0.0;
                v[idx(j, i)] = 0.0;
            }
        } else {
            for k in 0..i {
                d[k] /= scale;
                h += d[k] * d[k];
            }
            let mut f = d[i - 1];
            let mut g = h.sqrt();
            if f > 0.0 {
                g = -g;
            }
            e[i] = scale * g;
            h -= f * g;
            d[i - 1] = f - g;
            for j in 0..i {
                e[j] = 0.0;
            }
            for j in 0..i {
                f = d[j];
                v[idx(j, i)] = f;
                g = e[j] + v[idx(j, j)] * f;
                for k in j + 1..i {
                    g += v[idx(k, j)] * d[k];
                    e[k] += v[idx(k, j)] * f;
                }
                e[j] = g;
            }
            f = 0.0;
            for j in 0..i {
                e[j] /= h;
                f += e[j] * d[j];
            }
            let hh = f / (h + h);
            for j in 0..i {
                e[j] -= hh * d[j];
            }
            for j in 0..i {
                f = d[j];
                g = e[j];
                for k in j..i {
                    v[idx(k, j)] -= f * e[k] + g * d[k];
                }
                d[j] = v[idx(i - 1, j)];
                v[idx(i, j)] = 0.0;
            }
        }
        d[i] = h;
    }
    // Accumulate the transformations.
    for i in 0..n - 1 {
        v[idx(n - 1, i)] = v[idx(i, i)];
        v[idx(i, i)] = 1.0;
        let h = d[i + 1];
        if h != 0.0 {
            for k in 0..=i {
                d[k] = v[idx(k, i + 1)] / h;
            }
            for j in 0..=i {
                let mut g = 0.0;
                for k in 0..=i {
                    g += v[idx(k, i + 1)] * v[idx(k, j)];
                }
                for k in 0..=i {
                    v[idx(k, j)] -= g * d[k];
                }
            }
        }
        for k in 0..=i {
            v[idx(k, i + 1)] = 0.0;
        }
    }
    for j in 0..n {
        d[j] = v[idx(n - 1, j)];
        v[idx(n - 1, j)] = 0.0;
    }
    v[idx(n - 1, n - 1)] = 1.0;
    e[0] = 0.0;
}

/// QL with implicit shifts on the tridiagonal (`d`, `e`), rotating the rows of `vt` (the
/// transposed transformation from [`tred2`]) into eigenvectors. Eigenvalues are left unsorted.
fn tql2(vt: &mut [f64], d: &mut [f64], e: &mut [f64], n: usize) -> Result<()> {
    for i in 1..n {
        e[i - 1] = e[i];
    }
    e[n - 1] = 0.0;
    let (mut f, mut tst1) = (0.0f64, 0.0f64);
    let eps = f64::EPSILON;
    for l in 0..n {
        tst1 = tst1.max(d[l].abs() + e[l].abs());
        let mut m = l;
        while m < n - 1 && e[m].abs() > eps * tst1 {
            m += 1;
        }
        if m > l {
            let mut iterations = 0;
            loop {
                iterations += 1;
                if iterations > 100 {
                    return Err(EvalError::input("eigen decomposition did not converge"));
                }
                let mut g = d[l];
                let mut p = (d[l + 1] - g) / (2.0 * e[l]);
                let mut r = p.hypot(1.0);
                if p < 0.0 {
                    r = -r;
                }
                d[l] = e[l] / (p + r);
                d[l + 1] = e[l] * (p + r);
                let dl1 = d[l + 1];
                let mut h = g - d[l];
                for di in d.iter_mut().skip(l + 2) {
                    *di -= h;
                }
                f += h;
                p = d[m];
                let (mut c, mut c2, mut c3) = (1.0f64, 1.0f64, 1.0f64);
                let el1 = e[l + 1];
                let (mut s, mut s2) = (0.0f64, 0.0f64);
                for i in (l..m).rev() {
                    c3 = c2;
                    c2 = c;
                    s2 = s;
                    g = c * e[i];
                    h = c * p;
                    r = p.hypot(e[i]);
                    e[i + 1] = s * r;
                    s = e[i] / r;
                    c = p / r;
                    p = c * d[i] - s * g;
                    d[i + 1] = h + s * (c * g + s * d[i]);
                    let (head, tail) = vt.split_at_mut((i + 1) * n);
                    let (row_i, row_i1) = (&mut head[i * n..], &mut tail[..n]);
                    for (a, b) in row_i.iter_mut().zip(row_i1.iter_mut()) {
                        let hk = *b;
                        *b = s * *a + c * hk;
                        *a = c * *a - s * hk;
                    }
                }
                p = -s * s2 * c3 * el1 * e[l] / dl1;
                e[l] = s * p;
                d[l] = c * p;
                if e[l].abs() <= eps * tst1 {
                    break;
                }
            }
        }
        d[l] += f;
        e[l] = 0.0;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::SplitMix64;

    #[test]
    fn eigen_of_hand_matrices() {
        // [[2, 1], [1, 2]]: eigenvalues 3 and 1, vectors (1, 1) / sqrt 2 and (1, -1) / sqrt 2.
        let (vals, vecs) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2).unwrap();
        assert!((vals[0] - 3.0).abs() < 1e-12 && (vals[1] - 1.0).abs() < 1e-12);
        let s = std::f64::consts::FRAC_1_SQRT_2;
        assert!((vecs[0].abs() - s).abs() < 1e-12 && (vecs[0] - vecs[1]).abs() < 1e-12);
        assert!((vecs[2] + vecs[3]).abs() < 1e-12);
        // Diagonal: the diagonal sorted, unit vectors; 1 x 1 is itself.
        let (vals, _) = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 5.0, 0.0, 0.0, 0.0, 3.0], 3).unwrap();
        assert_eq!(vals, vec![5.0, 3.0, 1.0]);
        assert_eq!(symmetric_eigen(&[4.0], 1).unwrap(), (vec![4.0], vec![1.0]));
        assert!(symmetric_eigen(&[1.0, 2.0], 2).is_err());
        assert!(symmetric_eigen(&[f64::NAN], 1).is_err());
    }

    #[test]
    fn eigen_reconstructs_random_symmetric() {
        let n = 60;
        let mut g = SplitMix64::new(9, 0);
        let mut a = vec![0.0; n * n];
        for i in 0..n {
            for j in 0..=i {
                let v = g.normal();
                a[i * n + j] = v;
                a[j * n + i] = v;
            }
        }
        let (vals, vecs) = symmetric_eigen(&a, n).unwrap();
        assert!(vals.windows(2).all(|w| w[0] >= w[1]));
        for i in 0..n {
            let vi = &vecs[i * n..(i + 1) * n];
            for j in 0..n {
                let dot: f64 = vi.iter().zip(&vecs[j * n..(j + 1) * n]).map(|(a, b)| a * b).sum();
                assert!((dot - if i == j { 1.0 } else { 0.0 }).abs() < 1e-10);
            }
            // A v = lambda v.
            for r in 0..n {
                let av: f64 = (0..n).map(|c| a[r * n + c] * vi[c]).sum();
                assert!((av - vals[i] * vi[r]).abs() < 1e-9);
            }
        }
    }

    /// 50 rows of 4 correlated columns from a formula; the same in Python gives the references.
    fn correlated() -> Vec<f32> {
        (0..50)
            .flat_map(|i| {
                let t = i as f32 * 0.1;
                let u = (i as f32 * 1.3).sin();
                [t, 2.0 * t + 0.3 * u, -t + 0.5 * u, 0.1 * (i as f32 * 0.7).cos()]
            })
            .collect()
    }

    #[test]
    fn pca_matches_scikit_learn() {
        let x = correlated();
        let m = Matrix::new(&x, 50, 4).unwrap();
        let p = Pca::fit(m, 2).unwrap();
        // sklearn 1.9.1, PCA(n_components=2).fit(X.astype(np.float64)) on the same float32 data:
        // explained_variance_ = [12.744154811467375, 0.1705561536375554],
        // explained_variance_ratio_ = [0.9864002933728412, 0.01320108257263528],
        // components_ = [[0.4083295480875897, 0.8151634359862642, -0.4108223018044048,
        // -0.0007675479032115616], [-0.027466289654045285, 0.46081205222855304,
        // 0.8870405716999248, 0.007541857318957034]].
        let want_var = [12.744154811467375, 0.1705561536375554];
        let want_ratio = [0.9864002933728412, 0.01320108257263528];
        let want_c = [
            0.4083295480875897,
            0.8151634359862642,
            -0.4108223018044048,
            -0.0007675479032115616,
            -0.027466289654045285,
            0.46081205222855304,
            0.8870405716999248,
            0.007541857318957034,
        ];
        // Tolerances allow for the inputs: f32 `sin` in Rust and NumPy may differ in the last bit.
        let ratio = p.explained_variance_ratio();
        for i in 0..2 {
            assert!((p.explained_variance[i] / want_var[i] - 1.0).abs() < 1e-7, "{:?}", p.explained_variance);
            assert!((ratio[i] / want_ratio[i] - 1.0).abs() < 1e-7, "{ratio:?}");
        }
        for (got, want) in p.components.iter().zip(want_c) {
            assert!((got - want).abs() < 1e-7, "{:?}", p.components);
        }
        // Projections are centred, with the explained variance; all 4 components rebuild the data.
        let z = p.transform(m).unwrap();
        let var0: f64 = z.chunks(2).map(|c| (c[0] as f64).powi(2)).sum::<f64>() / 49.0;
        assert!((var0 - want_var[0]).abs() < 1e-5);
        let full = Pca::fit(m, 4).unwrap();
        let back = full.inverse_transform(Matrix::new(&full.transform(m).unwrap(), 50, 4).unwrap()).unwrap();
        assert!(back.iter().zip(&x).all(|(a, b)| (a - b).abs() < 1e-5));
        assert!((full.explained_variance_ratio().iter().sum::<f64>() - 1.0).abs() < 1e-12);
    }

    #[test]
    fn pca_rejects_bad_input() {
        let x = correlated();
        let m = Matrix::new(&x, 50, 4).unwrap();
        assert!(Pca::fit(m, 0).is_err() && Pca::fit(m, 5).is_err());
        assert!(Pca::fit(Matrix::new(&x[..4], 1, 4).unwrap(), 1).unwrap_err().to_string().contains("two rows"));
        let p = Pca::fit(m, 2).unwrap();
        assert!(p.transform(Matrix::new(&x[..6], 2, 3).unwrap()).is_err());
        assert!(p.inverse_transform(Matrix::new(&x[..6], 2, 3).unwrap()).is_err());
    }

    #[test]
    #[ignore = "timing: cargo test --release -p ae-eval -- --ignored --nocapture"]
    fn pca_speed_10000_by_784() {
        let (n, d) = (10_000, 784);
        let mut g = SplitMix64::new(5, 0);
        let x: Vec<f32> = (0..n * d).map(|j| g.normal() as f32 * (1.0 + (j % d) as f32 / 100.0)).collect();
        let t = std::time::Instant::now();
        let p = Pca::fit(Matrix::new(&x, n, d).unwrap(), 50).unwrap();
        println!(
            "PCA 10000 x 784, 50 components: {:.2} s, first variance {:.2}",
            t.elapsed().as_secs_f64(),
            p.explained_variance[0]
        );
    }
}
