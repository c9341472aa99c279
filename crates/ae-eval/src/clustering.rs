//! Clustering codes: seeded k-means (k-means++ initialisation, restarts, Lloyd iterations), and
//! agreement between two labelings (NMI, ARI).
//!
//! k-means is deterministic for a seed, whatever the number of threads: distances are computed
//! in fixed blocks and sums are taken in a fixed order.

use std::collections::HashMap;
use std::hash::Hash;

use rayon::prelude::*;

use crate::error::{EvalError, Result, same_len};
use crate::matrix::{Matrix, gemm_abt, row_sq_norms, sq_dist};
use ae_core::SplitMix64;

/// Rows per block of the distance computations (one matrix product each).
const BLOCK: usize = 256;

/// Settings of [`kmeans`].
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansOptions {
    /// Number of clusters.
    pub k: usize,
    /// Number of independent k-means++ starts; the run with the lowest inertia is kept.
    pub restarts: usize,
    /// Most Lloyd iterations per start.
    pub max_iter: usize,
    /// Convergence when the centroids move (sum of squared shifts) by at most `tol` times the
    /// mean per-column variance of the data, or when no assignment changes (scikit-learn's rule).
    pub tol: f64,
    /// Seed of the initialisations.
    pub seed: u64,
}

impl KMeansOptions {
    /// `k` clusters, 4 restarts, at most 300 iterations, `tol` 1e-4, seed 0.
    pub fn new(k: usize) -> Self {
        KMeansOptions { k, restarts: 4, max_iter: 300, tol: 1e-4, seed: 0 }
    }
}

/// A k-means clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    /// Cluster of each row, in `0..k`.
    pub assignments: Vec<usize>,
    /// Centroids, `k x cols` row-major.
    pub centroids: Vec<f32>,
    /// Sum over rows of the squared distance to their centroid.
    pub inertia: f64,
    /// Lloyd iterations of the kept start.
    pub iterations: usize,
    /// Whether the kept start converged before `max_iter`.
    pub converged: bool,
}

/// Clusters the rows of `x` into `opts.k` groups by k-means with greedy k-means++
/// initialisation (as scikit-learn: `2 + ln k` candidates per new centre), `opts.restarts`
/// starts and Lloyd iterations until convergence. A cluster left empty is moved to the point
/// farthest from its centroid.
///
/// Fails if `k` is 0 or exceeds the number of rows, or if `restarts` or `max_iter` is 0.
pub fn kmeans(x: Matrix, opts: &KMeansOptions) -> Result<KMeans> {
    let (n, d, k) = (x.rows(), x.cols(), opts.k);
    if k == 0 || k > n {
        return Err(EvalError::input(format!("k-means: k = {k} must be between 1 and the number of rows ({n})")));
    }
    if opts.restarts == 0 || opts.max_iter == 0 {
        return Err(EvalError::input("k-means: restarts and max_iter must be at least 1"));
    }
    // Work on centred data: smaller norms, so the |x|^2 - 2 x.c + |c|^2 distances lose less.
    let mean = x.column_means();
    let data: Vec<f32> =
        x.data().chunks_exact(d).flat_map(|r| r.iter().zip(&mean).map(|(&v, &m)| (v as f64 - m) as f32)).collect();
    let norms = row_sq_norms(&data, d);
    let variance: f64 = data.iter().map(|&v| (v as f64) * (v as f64)).sum::<f64>() / (n * d) as f64;
    let tol = opts.tol * variance;

    let mut best: Option<KMeans> = None;
    for r in 0..opts.restarts {
        let mut rng = SplitMix64::new(opts.seed, r as u64);
        let init = kmeans_plus_plus(&data, d, k, &mut rng);
        let run = lloyd(&data, &norms, d, init, opts.max_iter, tol);
        if best.as_ref().is_none_or(|b| run.inertia < b.inertia) {
            best = Some(run);
        }
    }
    let mut best = best.expect("at least one restart");
    for c in best.centroids.chunks_exact_mut(d) {
        c.iter_mut().zip(&mean).for_each(|(v, &m)| *v = (*v as f64 + m) as f32);
    }
    Ok(best)
}

/// Greedy k-means++: each new centre is the best (lowest potential) of `2 + ln k` candidates
/// drawn with probability proportional to the squared distance to the nearest chosen centre.
fn kmeans_plus_plus(data: &[f32], d: usize, k: usize, rng: &mut SplitMix64) -> Vec<f32> {
    let n = data.len() / d;
    let row = |i: usize| &data[i * d..(i + 1) * d];
    let dist_to = |c: &[f32]| -> Vec<f32> { data.par_chunks_exact(d).map(|r| sq_dist(r, c)).collect() };
    let trials = 2 + (k as f64).ln() as usize;
    let mut centres = Vec::with_capacity(k * d);
    let first = rng.below(n);
    centres.extend_from_slice(row(first));
    let mut closest = dist_to(row(first));
    for _ in 1..k {
        let mut cumulative = Vec::with_capacity(n);
        let mut total = 0.0f64;
        for &v in &closest {
            total += v as f64;
            cumulative.push(total);
        }
        let mut best: Option<(f64, Vec<f32>, usize)> = None;
        for _ in 0..trials {
            let candidate = if total > 0.0 {
                let target = rng.next_f64() * total;
                cumulative.partition_point(|&c| c <= target).min(n - 1)
            } else {
                rng.below(n) // every point sits on a centre: any choice is as good
            };
            let to_candidate = dist_to(row(candidate));
            let merged: Vec<f32> = closest.iter().zip(&to_candidate).map(|(&a, &b)| a.min(b)).collect();
            let potential: f64 = merged.iter().map(|&v| v as f64).sum();
            if best.as_ref().is_none_or(|(p, _, _)| potential < *p) {
                best = Some((potential, merged, candidate));
            }
        }
        let (_, merged, chosen) = best.expect("at least two trials");
        closest = merged;
        centres.extend_from_slice(row(chosen));
    }
    centres
}

/// Assigns every row to its nearest centre (lowest index on ties), returning the assignments
/// and the squared distances as computed through the matrix product.
fn assign(data: &[f32], norms: &[f32], d: usize, centres: &[f32]) -> (Vec<usize>, Vec<f32>) {
    let k = centres.len() / d;
    let centre_norms = row_sq_norms(centres, d);
    let blocks: Vec<(Vec<usize>, Vec<f32>)> = data
        .par_chunks(BLOCK * d)
        .zip(norms.par_chunks(BLOCK))
        .map(|(block, block_norms)| {
            let m = block_norms.len();
            let mut dots = vec![0.0f32; m * k];
            gemm_abt(block, m, d, centres, k, &mut dots);
            let mut labels = Vec::with_capacity(m);
            let mut dists = Vec::with_capacity(m);
            for (i, row) in dots.chunks_exact(k).enumerate() {
                let (mut arg, mut min) = (0, f32::INFINITY);
                for (j, &dot) in row.iter().enumerate() {
                    let dist = block_norms[i] - 2.0 * dot + centre_norms[j];
                    if dist < min {
                        (arg, min) = (j, dist);
                    }
                }
                labels.push(arg);
                dists.push(min.max(0.0));
            }
            (labels, dists)
        })
        .collect();
    let mut labels = Vec::with_capacity(norms.len());
    let mut dists = Vec::with_capacity(norms.len());
    for (l, dd) in blocks {
        labels.extend(l);
        dists.extend(dd);
    }
    (labels, dists)
}

/// Means of the rows of each cluster (in `f64`); an empty cluster takes the row farthest from
/// its own centre among those not yet taken.
fn update(data: &[f32], d: usize, k: usize, labels: &[usize], dists: &[f32]) -> Vec<f32> {
    let mut sums = vec![0.0f64; k * d];
    let mut counts = vec![0usize; k];
    for (r, &l) in data.chunks_exact(d).zip(labels) {
        counts[l] += 1;
        sums[l * d..(l + 1) * d].iter_mut().zip(r).for_each(|(s, &v)| *s += v as f64);
    }
    let mut far: Vec<usize> = Vec::new();
    if counts.contains(&0) {
        far = (0..dists.len()).collect();
        far.sort_by(|&a, &b| dists[b].total_cmp(&dists[a]).then(a.cmp(&b)));
    }
    let mut far = far.into_iter();
    let mut centres = vec![0.0f32; k * d];
    for j in 0..k {
        let c = &mut centres[j * d..(j + 1) * d];
        if counts[j] == 0 {
            let i = far.next().unwrap_or(0);
            c.copy_from_slice(&data[i * d..(i + 1) * d]);
        } else {
            c.iter_mut().zip(&sums[j * d..(j + 1) * d]).for_each(|(v, &s)| *v = (s / counts[j] as f64) as f32);
        }
    }
    centres
}

/// Lloyd iterations from `centres` until no assignment changes or the centres move by at most
/// `tol` (sum of squared shifts); the final assignments match the final centres.
fn lloyd(data: &[f32], norms: &[f32], d: usize, mut centres: Vec<f32>, max_iter: usize, tol: f64) -> KMeans {
    let k = centres.len() / d;
    let (mut labels, mut dists) = assign(data, norms, d, &centres);
    let (mut iterations, mut converged) = (0, false);
    while iterations < max_iter {
        iterations += 1;
        let next = update(data, d, k, &labels, &dists);
        let shift: f64 = next.chunks_exact(d).zip(centres.chunks_exact(d)).map(|(a, b)| sq_dist(a, b) as f64).sum();
        centres = next;
        let (new_labels, new_dists) = assign(data, norms, d, &centres);
        let unchanged = new_labels == labels;
        (labels, dists) = (new_labels, new_dists);
        if unchanged || shift <= tol {
            converged = true;
            break;
        }
    }
    let _ = dists;
    // Exact inertia, from the differences rather than through the matrix product.
    let per_row: Vec<f32> =
        data.par_chunks_exact(d).zip(&labels).map(|(r, &l)| sq_dist(r, &centres[l * d..(l + 1) * d])).collect();
    let inertia = per_row.iter().map(|&v| v as f64).sum();
    KMeans { assignments: labels, centroids: centres, inertia, iterations, converged }
}

/// The contingency table of two labelings: counts per (a, b) pair, and the row and column sums.
struct Contingency {
    cells: Vec<u64>,
    rows: Vec<u64>,
    cols: Vec<u64>,
}

fn contingency<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(a: &[A], b: &[B]) -> Result<Contingency> {
    same_len("the two labelings", a.len(), b.len())?;
    if a.is_empty() {
        return Err(EvalError::input("labelings are empty"));
    }
    fn index<T: Copy + Eq + Hash>(v: &[T]) -> (Vec<usize>, usize) {
        let mut ids = HashMap::new();
        let idx = v.iter().map(|x| {
            let next = ids.len();
            *ids.entry(*x).or_insert(next)
        });
        let idx: Vec<usize> = idx.collect();
        (idx, ids.len())
    }
    let ((ia, na), (ib, nb)) = (index(a), index(b));
    let mut t = Contingency { cells: vec![0; na * nb], rows: vec![0; na], cols: vec![0; nb] };
    for (&i, &j) in ia.iter().zip(&ib) {
        t.cells[i * nb + j] += 1;
        t.rows[i] += 1;
        t.cols[j] += 1;
    }
    Ok(t)
}

fn entropy(counts: &[u64], n: f64) -> f64 {
    counts.iter().filter(|&&c| c > 0).map(|&c| -(c as f64 / n) * (c as f64 / n).ln()).sum()
}

/// Normalised mutual information of two labelings of the same items, normalised by the
/// arithmetic mean of their entropies (scikit-learn's default `normalized_mutual_info_score`):
/// 1 for identical partitions (whatever the label values), near 0 for independent ones. Two
/// single-cluster labelings score 1. Fails on empty or mismatched input.
pub fn nmi<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(a: &[A], b: &[B]) -> Result<f64> {
    let t = contingency(a, b)?;
    if t.rows.len() == 1 && t.cols.len() == 1 {
        return Ok(1.0);
    }
    let n = a.len() as f64;
    let nb = t.cols.len();
    let mut mi = 0.0;
    for (i, &ri) in t.rows.iter().enumerate() {
        for (j, &cj) in t.cols.iter().enumerate() {
            let c = t.cells[i * nb + j];
            if c > 0 {
                let p = c as f64 / n;
                let term = p * (n * c as f64 / (ri as f64 * cj as f64)).ln();
                // As scikit-learn: terms within machine epsilon of zero are zero.
                if term.abs() >= f64::EPSILON {
                    mi += term;
                }
            }
        }
    }
    if mi <= 0.0 {
        return Ok(0.0);
    }
    let normalizer = (entropy(&t.rows, n) + entropy(&t.cols, n)) / 2.0;
    Ok(mi / normalizer)
}

/// Adjusted Rand index of two labelings of the same items (scikit-learn's `adjusted_rand_score`,
/// from the pair confusion matrix): 1 for identical partitions, about 0 for random ones, negative
/// below chance. Fails on empty or mismatched input.
pub fn ari<A: Copy + Eq + Hash, B: Copy + Eq + Hash>(a: &[A], b: &[B]) -> Result<f64> {
    let t = contingency(a, b)?;
    let n = a.len() as i128;
    let sq = |v: &[u64]| v.iter().map(|&c| (c as i128) * (c as i128)).sum::<i128>();
    let sum_squares = sq(&t.cells);
    let tp = sum_squares - n;
    let fp = sq(&t.cols) - sum_squares;
    let fn_ = sq(&t.rows) - sum_squares;
    let tn = n * n - fp - fn_ - sum_squares;
    if fn_ == 0 && fp == 0 {
        return Ok(1.0);
    }
    let num = 2.0 * (tp * tn - fn_ * fp) as f64;
    let den = ((tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn)) as f64;
    Ok(num / den)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three blobs in 4-D: centres far apart, deterministic wiggles of amplitude 0.3. The same
    /// formula in Python gives the scikit-learn reference below.
    fn blobs() -> (Vec<f32>, Vec<u16>) {
        let centres = [[0.0, 0.0, 0.0, 0.0], [5.0, 5.0, 0.0, 0.0], [0.0, 5.0, 5.0, -5.0]];
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..90usize {
            let c = i % 3;
            for (j, &m) in centres[c].iter().enumerate() {
                x.push(m + 0.3 * ((i as f32) * 1.7 + (j as f32) * 0.3).sin());
            }
            y.push(c as u16);
        }
        (x, y)
    }

    #[test]
    fn kmeans_finds_separated_blobs() {
        let (x, y) = blobs();
        let m = Matrix::new(&x, 90, 4).unwrap();
        let r = kmeans(m, &KMeansOptions::new(3)).unwrap();
        assert_eq!(ari(&y, &r.assignments).unwrap(), 1.0);
        assert!(r.converged && r.iterations < 10, "{} iterations", r.iterations);
        // sklearn 1.9.1: KMeans(n_clusters=3, n_init=10, random_state=0).fit(X).inertia_
        // = 16.13286018371582 on the same 90 x 4 float32 data (16.132856333755768 in float64).
        assert!((r.inertia - 16.13286018371582).abs() < 1e-3, "{}", r.inertia);
        // Inertia is the sum of squared distances to the returned centroids.
        let direct: f64 = (0..90).map(|i| sq_dist(m.row(i), &r.centroids[r.assignments[i] * 4..][..4]) as f64).sum();
        assert!((direct - r.inertia).abs() < 1e-4);
        // Same seed, same result; k = n puts every point in its own cluster.
        assert_eq!(kmeans(m, &KMeansOptions::new(3)).unwrap(), r);
        let all = kmeans(Matrix::new(&x[..20], 5, 4).unwrap(), &KMeansOptions::new(5)).unwrap();
        assert!(all.inertia < 1e-9);
    }

    #[test]
    fn kmeans_handles_duplicate_points() {
        // Two distinct points, three clusters: one cluster must stay (nearly) empty; no panic.
        let x = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];
        let r = kmeans(Matrix::new(&x, 4, 2).unwrap(), &KMeansOptions::new(3)).unwrap();
        assert!(r.inertia < 1e-9);
        assert_eq!(r.assignments[0], r.assignments[1]);
        assert_ne!(r.assignments[0], r.assignments[2]);
    }

    #[test]
    fn kmeans_rejects_bad_k() {
        let x = [0.0, 1.0];
        let m = Matrix::new(&x, 2, 1).unwrap();
        assert!(kmeans(m, &KMeansOptions::new(0)).unwrap_err().to_string().contains("k = 0"));
        assert!(kmeans(m, &KMeansOptions::new(3)).is_err());
        assert!(kmeans(m, &KMeansOptions { restarts: 0, ..KMeansOptions::new(1) }).is_err());
    }

    #[test]
    fn nmi_and_ari_hand_cases() {
        // Identical partitions under renaming.
        assert!((nmi(&[0u16, 0, 1, 1, 2], &[7usize, 7, 3, 3, 1]).unwrap() - 1.0).abs() < 1e-12);
        assert_eq!(ari(&[0u16, 0, 1, 1, 2], &[7usize, 7, 3, 3, 1]).unwrap(), 1.0);
        // a = [0,0,1,1], b = [0,0,0,1]: contingency [[2,0],[1,1]].
        // MI = 1/2 ln(4/3) + 1/4 ln(2/3) + 1/4 ln 2, H(a) = ln 2, H(b) = ln 4 - 3/4 ln 3;
        // NMI = MI / ((H(a) + H(b)) / 2) = 0.34371 (sklearn: 0.3437110184854508).
        // ARI: sum C(n_ij, 2) = 1 = expected 2 * 3 / 6, so ARI = 0 (sklearn: 0.0).
        let mi = 0.5 * (4.0f64 / 3.0).ln() + 0.25 * (2.0f64 / 3.0).ln() + 0.25 * 2.0f64.ln();
        let hand = mi / ((2.0f64.ln() + 4.0f64.ln() - 0.75 * 3.0f64.ln()) / 2.0);
        let got = nmi(&[0u16, 0, 1, 1], &[0u16, 0, 0, 1]).unwrap();
        assert!((got - hand).abs() < 1e-12 && (got - 0.3437110184854508).abs() < 1e-12, "{got}");
        assert!(ari(&[0u16, 0, 1, 1], &[0u16, 0, 0, 1]).unwrap().abs() < 1e-12);
        // Degenerate cases as scikit-learn: both single-cluster -> 1; one single-cluster -> 0.
        assert_eq!(nmi(&[0u16; 3], &[1u16; 3]).unwrap(), 1.0);
        assert_eq!(ari(&[0u16; 3], &[1u16; 3]).unwrap(), 1.0);
        assert_eq!(nmi(&[0u16; 3], &[1u16, 2, 1]).unwrap(), 0.0);
        assert_eq!(ari(&[0u16; 3], &[1u16, 2, 1]).unwrap(), 0.0);
        assert_eq!(ari(&[0u16, 1, 2], &[5u16; 3]).unwrap(), 0.0);
        assert!(nmi::<u16, u16>(&[], &[]).is_err());
        assert!(ari(&[0u16, 1], &[0u16]).unwrap_err().to_string().contains("differ in length"));
    }

    #[test]
    fn nmi_and_ari_match_scikit_learn() {
        // sklearn 1.9.1 with i = np.arange(300), a = (i*7+3)%5,
        // b = np.where(i%3 != 0, (i*7+3)%5, (i*11)%4):
        // normalized_mutual_info_score(a, b) = 0.44001979084680876,
        // adjusted_rand_score(a, b) = 0.4323996971990916;
        // and against c = (i*13)%6 (independent of a over its period of 30): 0.0 and
        // -0.015088645794039984.
        let a: Vec<u16> = (0..300u16).map(|i| (i * 7 + 3) % 5).collect();
        let b: Vec<u16> = (0..300u16).map(|i| if i % 3 != 0 { (i * 7 + 3) % 5 } else { (i * 11) % 4 }).collect();
        let c: Vec<u16> = (0..300u16).map(|i| (i * 13) % 6).collect();
        assert!((nmi(&a, &b).unwrap() - 0.44001979084680876).abs() < 1e-12);
        assert!((ari(&a, &b).unwrap() - 0.4323996971990916).abs() < 1e-12);
        assert!(nmi(&a, &c).unwrap().abs() < 1e-12);
        assert!((ari(&a, &c).unwrap() + 0.015088645794039984).abs() < 1e-12);
    }

    /// 10 Gaussian clusters of 1,000 points in 784 dimensions (MNIST's shape).
    fn mnist_sized() -> (Vec<f32>, Vec<u16>) {
        let (n, d, k) = (10_000, 784, 10);
        let mut g = SplitMix64::new(3, 0);
        let centres: Vec<f32> = (0..k * d).map(|_| g.next_f64() as f32).collect();
        let mut x = Vec::with_capacity(n * d);
        let mut y = Vec::with_capacity(n);
        for i in 0..n {
            let c = i % k;
            x.extend(centres[c * d..(c + 1) * d].iter().map(|&m| m + 0.3 * g.normal() as f32));
            y.push(c as u16);
        }
        (x, y)
    }

    #[test]
    #[ignore = "timing: cargo test --release -p ae-eval -- --ignored --nocapture"]
    fn kmeans_speed_10000_by_784() {
        let (x, y) = mnist_sized();
        let t = std::time::Instant::now();
        let r = kmeans(Matrix::new(&x, 10_000, 784).unwrap(), &KMeansOptions::new(10)).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!(
            "k-means 10000 x 784, k 10, 4 restarts: {secs:.2} s, {} iterations, ARI {}",
            r.iterations,
            ari(&y, &r.assignments).unwrap()
        );
        assert!(ari(&y, &r.assignments).unwrap() > 0.99);
        // Structureless data: many Lloyd iterations.
        let mut g = SplitMix64::new(4, 0);
        let noise: Vec<f32> = (0..10_000 * 784).map(|_| g.next_f64() as f32).collect();
        let t = std::time::Instant::now();
        let r = kmeans(Matrix::new(&noise, 10_000, 784).unwrap(), &KMeansOptions::new(10)).unwrap();
        let secs = t.elapsed().as_secs_f64();
        println!("k-means 10000 x 784 uniform noise: {secs:.2} s, {} iterations in the kept start", r.iterations);
    }
}
