//! A linear probe: multinomial logistic (softmax) regression on standardised features, trained
//! full-batch by L-BFGS on the mean cross-entropy plus an L2 penalty on the weights.
//!
//! Deterministic: the loss and gradient are summed over fixed blocks of rows in a fixed order,
//! whatever the number of threads. Works with few labelled items (e.g. 100) as well as many.

use std::collections::VecDeque;

use rayon::prelude::*;

use crate::error::{EvalError, Result};
use crate::matrix::{Matrix, check_labels, dgemm_ab, dgemm_atb};

/// Rows per block of the loss and gradient computation.
const BLOCK: usize = 1024;
/// Correction pairs kept by L-BFGS.
const MEMORY: usize = 10;

/// Settings of [`LogisticRegression::fit`].
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticOptions {
    /// L2 penalty `l2 / 2 * |W|^2` added to the mean cross-entropy (biases are not penalised).
    /// scikit-learn's `C` corresponds to `l2 = 1 / (C * rows)`.
    pub l2: f64,
    /// Most L-BFGS iterations.
    pub max_iter: usize,
    /// Converged when the largest gradient entry is at most this.
    pub tol: f64,
}

impl Default for LogisticOptions {
    /// `l2` 1e-4, at most 500 iterations, `tol` 1e-6.
    fn default() -> Self {
        LogisticOptions { l2: 1e-4, max_iter: 500, tol: 1e-6 }
    }
}

/// A fitted softmax classifier.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticRegression {
    /// The distinct training labels, increasing; class `c` of the model is `classes[c]`.
    pub classes: Vec<u16>,
    /// Feature means subtracted before use.
    pub mean: Vec<f64>,
    /// Feature standard deviations (population; 1 for constant features) divided by.
    pub scale: Vec<f64>,
    /// Weights on the standardised features, `cols x classes` row-major.
    pub weights: Vec<f64>,
    /// One bias per class.
    pub bias: Vec<f64>,
    /// L-BFGS iterations taken.
    pub iterations: usize,
    /// Final training objective (mean cross-entropy plus penalty).
    pub loss: f64,
    /// Whether the gradient or loss criterion was met before `max_iter`.
    pub converged: bool,
}

/// The training problem: data, class indices and standardisation.
struct Problem<'a> {
    x: Matrix<'a>,
    y: Vec<usize>,
    mean: &'a [f64],
    scale: &'a [f64],
    classes: usize,
    l2: f64,
}

/// Standardised rows of `block` in `f64`.
fn standardise(block: &[f32], mean: &[f64], scale: &[f64]) -> Vec<f64> {
    let d = mean.len();
    block.chunks_exact(d).flat_map(|r| r.iter().zip(mean).zip(scale).map(|((&v, &m), &s)| (v as f64 - m) / s)).collect()
}

/// Class scores `rows x classes` of a standardised block.
fn scores(xs: &[f64], d: usize, weights: &[f64], bias: &[f64]) -> Vec<f64> {
    let (m, c) = (xs.len() / d, bias.len());
    let mut z = vec![0.0; m * c];
    dgemm_ab(xs, m, d, weights, c, &mut z);
    for row in z.chunks_exact_mut(c) {
        row.iter_mut().zip(bias).for_each(|(v, b)| *v += b);
    }
    z
}

/// Softmax of one row of scores, in place; returns log(sum exp) after the max shift.
fn softmax(row: &mut [f64]) -> f64 {
    let max = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    row.iter_mut().for_each(|v| *v /= sum);
    max + sum.ln()
}

impl Problem<'_> {
    /// Objective at `params` (weights then biases), its gradient written to `grad`.
    fn eval(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let (d, c, n) = (self.x.cols(), self.classes, self.x.rows());
        let (weights, bias) = params.split_at(d * c);
        let partials: Vec<(f64, Vec<f64>)> = self
            .x
            .data()
            .par_chunks(BLOCK * d)
            .zip(self.y.par_chunks(BLOCK))
            .map(|(block, y)| {
                let xs = standardise(block, self.mean, self.scale);
                let mut z = scores(&xs, d, weights, bias);
                let mut loss = 0.0;
                let mut g = vec![0.0; d * c + c];
                for (row, &yi) in z.chunks_exact_mut(c).zip(y) {
                    let target = row[yi];
                    loss += softmax(row) - target;
                    row[yi] -= 1.0;
                    g[d * c..].iter_mut().zip(row.iter()).for_each(|(gb, v)| *gb += v);
                }
                dgemm_atb(&xs, y.len(), d, &z, c, &mut g[..d * c]);
                (loss, g)
            })
            .collect();
        grad.iter_mut().for_each(|g| *g = 0.0);
        let mut loss = 0.0;
        for (l, g) in &partials {
            loss += l;
            grad.iter_mut().zip(g).for_each(|(a, b)| *a += b);
        }
        let inv = 1.0 / n as f64;
        grad.iter_mut().for_each(|g| *g *= inv);
        let mut penalty = 0.0;
        for (g, &w) in grad[..d * c].iter_mut().zip(weights) {
            *g += self.l2 * w;
            penalty += w * w;
        }
        loss * inv + 0.5 * self.l2 * penalty
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises `f` from `x` by L-BFGS with a backtracking (Armijo) line search; returns the final
/// value, iterations and whether it converged.
fn lbfgs(problem: &Problem, x: &mut [f64], max_iter: usize, tol: f64) -> (f64, usize, bool) {
    let len = x.len();
    let mut g = vec![0.0; len];
    let mut f = problem.eval(x, &mut g);
    let mut pairs: VecDeque<(Vec<f64>, Vec<f64>, f64)> = VecDeque::new(); // (s, y, 1 / y.s)
    let (mut x_new, mut g_new) = (vec![0.0; len], vec![0.0; len]);
    for iteration in 0..max_iter {
        if g.iter().fold(0.0f64, |m, v| m.max(v.abs())) <= tol {
            return (f, iteration, true);
        }
        // Two-loop recursion: direction = -H g.
        let mut q: Vec<f64> = g.clone();
        let mut alphas = Vec::with_capacity(pairs.len());
        for (s, y, rho) in pairs.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = match pairs.back() {
            Some((_, y, rho)) => 1.0 / (rho * dot(y, y)),
            None => 1.0 / dot(&g, &g).sqrt().max(1e-300),
        };
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in pairs.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&g, &direction);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart from steepest descent.
            pairs.clear();
            let norm = dot(&g, &g).sqrt();
            direction = g.iter().map(|v| -v / norm).collect();
            slope = dot(&g, &direction);
        }
        let mut step = 1.0;
        let f_new = loop {
            x_new.iter_mut().zip(x.iter().zip(&direction)).for_each(|(n, (xi, di))| *n = xi + step * di);
            let f_new = problem.eval(&x_new, &mut g_new);
            if f_new <= f + 1e-4 * step * slope {
                break Some(f_new);
            }
            step *= 0.5;
            if step < 1e-12 {
                break None;
            }
        };
        let Some(f_new) = f_new else {
            return (f, iteration, false); // no decrease possible along the direction
        };
        let s: Vec<f64> = x_new.iter().zip(x.iter()).map(|(a, b)| a - b).collect();
        let y: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dot(&s, &y);
        if sy > 1e-12 * dot(&y, &y).sqrt() * dot(&s, &s).sqrt() {
            if pairs.len() == MEMORY {
                pairs.pop_front();
            }
            pairs.push_back((s, y, 1.0 / sy));
        }
        let decrease = (f - f_new) / f.abs().max(f_new.abs()).max(1.0);
        x.copy_from_slice(&x_new);
        g.copy_from_slice(&g_new);
        f = f_new;
        if decrease <= 1e-12 {
            return (f, iteration + 1, true);
        }
    }
    (f, max_iter, false)
}

impl LogisticRegression {
    /// Fits the classifier on the rows of `features` with their `labels`: features standardised
    /// with the training mean and population standard deviation, then L-BFGS from zero weights.
    ///
    /// Fails if `labels` is not one per row, has a single distinct value, or `l2` is negative or
    /// not finite.
    pub fn fit(features: Matrix, labels: &[u16], opts: &LogisticOptions) -> Result<Self> {
        check_labels("logistic regression", &features, labels)?;
        if !(opts.l2 >= 0.0 && opts.l2.is_finite()) {
            return Err(EvalError::input(format!("logistic regression: l2 = {} must be finite and >= 0", opts.l2)));
        }
        let mut classes = labels.to_vec();
        classes.sort_unstable();
        classes.dedup();
        if classes.len() < 2 {
            return Err(EvalError::input(format!(
                "logistic regression needs at least two classes, all labels are {}",
                classes[0]
            )));
        }
        let (n, d, c) = (features.rows(), features.cols(), classes.len());
        let mean = features.column_means();
        let mut var = vec![0.0f64; d];
        for r in features.data().chunks_exact(d) {
            var.iter_mut().zip(r.iter().zip(&mean)).for_each(|(v, (&x, &m))| *v += (x as f64 - m).powi(2));
        }
        let scale: Vec<f64> =
            var.iter().map(|&v| (v / n as f64).sqrt()).map(|s| if s > 0.0 { s } else { 1.0 }).collect();
        let y = labels.iter().map(|l| classes.binary_search(l).expect("label is a class")).collect();
        let problem = Problem { x: features, y, mean: &mean, scale: &scale, classes: c, l2: opts.l2 };
        let mut params = vec![0.0; d * c + c];
        let (loss, iterations, converged) = lbfgs(&problem, &mut params, opts.max_iter, opts.tol);
        let bias = params.split_off(d * c);
        Ok(LogisticRegression { classes, mean, scale, weights: params, bias, iterations, loss, converged })
    }

    fn check(&self, x: &Matrix) -> Result<()> {
        if x.cols() != self.mean.len() {
            return Err(EvalError::input(format!(
                "logistic regression fitted on {} features, given {}",
                self.mean.len(),
                x.cols()
            )));
        }
        Ok(())
    }

    /// Class probabilities of each row: `rows x classes` row-major, columns in `classes` order.
    pub fn predict_proba(&self, x: Matrix) -> Result<Vec<f64>> {
        self.check(&x)?;
        let d = x.cols();
        let blocks: Vec<Vec<f64>> = x
            .data()
            .par_chunks(BLOCK * d)
            .map(|block| {
                let mut z = scores(&standardise(block, &self.mean, &self.scale), d, &self.weights, &self.bias);
                z.chunks_exact_mut(self.classes.len()).for_each(|row| {
                    softmax(row);
                });
                z
            })
            .collect();
        Ok(blocks.concat())
    }

    /// The most probable label of each row (the first class on exact ties).
    pub fn predict(&self, x: Matrix) -> Result<Vec<u16>> {
        let c = self.classes.len();
        let p = self.predict_proba(x)?;
        Ok(p.chunks_exact(c)
            .map(|row| {
                let best = (1..c).fold(0, |b, j| if row[j] > row[b] { j } else { b });
                self.classes[best]
            })
            .collect())
    }

    /// Fraction of rows whose predicted label equals `labels`.
    pub fn accuracy(&self, x: Matrix, labels: &[u16]) -> Result<f64> {
        check_labels("logistic regression accuracy", &x, labels)?;
        let p = self.predict(x)?;
        Ok(p.iter().zip(labels).filter(|(a, b)| a == b).count() as f64 / labels.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ae_core::SplitMix64;

    /// `n` points in `d` dimensions from `k` Gaussian classes with means `sep` apart on the axes.
    fn blobs(n: usize, d: usize, k: usize, sep: f64, seed: u64) -> (Vec<f32>, Vec<u16>) {
        let mut g = SplitMix64::new(seed, 0);
        let labels: Vec<u16> = (0..n).map(|i| (i % k) as u16).collect();
        let x = labels
            .iter()
            .flat_map(|&l| (0..d).map(|j| if j % k == l as usize { sep } else { 0.0 }).collect::<Vec<_>>())
            .map(|m| (m + g.normal()) as f32)
            .collect();
        (x, labels)
    }

    #[test]
    fn separates_an_easy_problem() {
        let (x, y) = blobs(2000, 10, 4, 4.0, 1);
        let (xt, yt) = blobs(1000, 10, 4, 4.0, 2);
        let m = LogisticRegression::fit(Matrix::new(&x, 2000, 10).unwrap(), &y, &LogisticOptions::default()).unwrap();
        let acc = m.accuracy(Matrix::new(&xt, 1000, 10).unwrap(), &yt).unwrap();
        assert!(acc > 0.97, "held-out accuracy {acc}");
        assert!(m.converged, "{} iterations", m.iterations);
        assert_eq!(m.classes, vec![0, 1, 2, 3]);
        // Same input, same model.
        assert_eq!(
            LogisticRegression::fit(Matrix::new(&x, 2000, 10).unwrap(), &y, &LogisticOptions::default()).unwrap(),
            m
        );
        let p = m.predict_proba(Matrix::new(&xt[..20], 2, 10).unwrap()).unwrap();
        assert!(p.chunks(4).all(|r| (r.iter().sum::<f64>() - 1.0).abs() < 1e-12));
    }

    #[test]
    fn gradient_matches_finite_differences() {
        let (x, y) = blobs(50, 3, 3, 1.0, 3);
        let mean = vec![0.1, -0.2, 0.3];
        let scale = vec![1.5, 0.8, 1.0];
        let yi = y.iter().map(|&l| l as usize).collect();
        let p = Problem { x: Matrix::new(&x, 50, 3).unwrap(), y: yi, mean: &mean, scale: &scale, classes: 3, l2: 0.3 };
        let params: Vec<f64> = (0..12).map(|i| (i as f64 * 0.7).sin()).collect();
        let mut g = vec![0.0; 12];
        p.eval(&params, &mut g);
        for i in 0..12 {
            let (mut a, mut b) = (params.clone(), params.clone());
            a[i] += 1e-6;
            b[i] -= 1e-6;
            let numeric = (p.eval(&a, &mut [0.0; 12]) - p.eval(&b, &mut [0.0; 12])) / 2e-6;
            assert!((numeric - g[i]).abs() < 1e-6, "parameter {i}: {numeric} vs {}", g[i]);
        }
    }

    #[test]
    fn matches_scikit_learn() {
        // 60 rows, 3 features, 3 classes from a formula with overlapping classes; scikit-learn
        // 1.9.1: LogisticRegression(C=1.0, tol=1e-10, max_iter=10000).fit(StandardScaler()
        // .fit_transform(X), y), i.e. l2 = 1 / (C * 60). Its predict_proba on row 0 and row 7 and
        // coef_[0] are below.
        let x: Vec<f32> = (0..60)
            .flat_map(|i| {
                let c = (i % 3) as f32;
                let t = i as f32;
                [c + (t * 1.1).sin(), 2.0 * (t * 0.7).cos() - c, 0.5 * c * c + (t * 0.3).sin()]
            })
            .collect();
        let y: Vec<u16> = (0..60).map(|i| (i % 3) as u16).collect();
        let opts = LogisticOptions { l2: 1.0 / 60.0, max_iter: 1000, tol: 1e-10 };
        let m = LogisticRegression::fit(Matrix::new(&x, 60, 3).unwrap(), &y, &opts).unwrap();
        let p = m.predict_proba(Matrix::new(&x, 60, 3).unwrap()).unwrap();
        let want_p0 = [0.8461097781293464, 0.15319238210312805, 0.0006978397675254424];
        let want_p7 = [0.03381353195312793, 0.38684651857988306, 0.579339949466989];
        let want_coef0 = [-1.4040981897979752, 0.5977242845955031, -0.9727748397420322];
        for j in 0..3 {
            assert!((p[j] - want_p0[j]).abs() < 1e-6, "{:?}", &p[..3]);
            assert!((p[21 + j] - want_p7[j]).abs() < 1e-6, "{:?}", &p[21..24]);
            assert!((m.weights[j * 3] - want_coef0[j]).abs() < 1e-5, "{:?}", m.weights);
        }
    }

    #[test]
    fn few_labels_many_features() {
        // The `assist` use: 100 labelled items of 784 raw values.
        let (x, y) = blobs(100, 784, 10, 1.0, 4);
        let (xt, yt) = blobs(500, 784, 10, 1.0, 5);
        let m = LogisticRegression::fit(Matrix::new(&x, 100, 784).unwrap(), &y, &LogisticOptions::default()).unwrap();
        assert_eq!(m.accuracy(Matrix::new(&x, 100, 784).unwrap(), &y).unwrap(), 1.0);
        let acc = m.accuracy(Matrix::new(&xt, 500, 784).unwrap(), &yt).unwrap();
        assert!(acc > 0.5, "held-out accuracy {acc}");
    }

    #[test]
    fn rejects_bad_input() {
        let x = [0.0, 1.0, 2.0];
        let m = Matrix::new(&x, 3, 1).unwrap();
        let o = LogisticOptions::default();
        assert!(LogisticRegression::fit(m, &[1, 1, 1], &o).unwrap_err().to_string().contains("two classes"));
        assert!(LogisticRegression::fit(m, &[1, 2], &o).unwrap_err().to_string().contains("3 rows but 2 labels"));
        assert!(LogisticRegression::fit(m, &[0, 1, 1], &LogisticOptions { l2: f64::NAN, ..o.clone() }).is_err());
        let fitted = LogisticRegression::fit(m, &[0, 1, 1], &o).unwrap();
        assert!(fitted.predict(Matrix::new(&x[..2], 1, 2).unwrap()).is_err());
        assert!(fitted.accuracy(m, &[0]).is_err());
    }

    #[test]
    #[ignore = "timing: cargo test --release -p ae-eval -- --ignored --nocapture"]
    fn speed_60000_by_30() {
        let (x, y) = blobs(60_000, 30, 10, 1.5, 6);
        let (xt, yt) = blobs(10_000, 30, 10, 1.5, 7);
        let t = std::time::Instant::now();
        let m = LogisticRegression::fit(Matrix::new(&x, 60_000, 30).unwrap(), &y, &LogisticOptions::default()).unwrap();
        let secs = t.elapsed().as_secs_f64();
        let acc = m.accuracy(Matrix::new(&xt, 10_000, 30).unwrap(), &yt).unwrap();
        println!(
            "logistic 60000 x 30, 10 classes: {secs:.2} s, {} iterations, converged {}, accuracy {acc:.3}",
            m.iterations, m.converged
        );
        let (x, y) = blobs(60_000, 784, 10, 0.5, 8);
        let t = std::time::Instant::now();
        let m = LogisticRegression::fit(
            Matrix::new(&x, 60_000, 784).unwrap(),
            &y,
            &LogisticOptions { max_iter: 100, ..LogisticOptions::default() },
        )
        .unwrap();
        println!(
            "logistic 60000 x 784, 100 iterations max: {:.2} s, {} iterations",
            t.elapsed().as_secs_f64(),
            m.iterations
        );
    }
}
