//! Nearest neighbours on codes: k-NN classification accuracy (Euclidean), and retrieval with
//! binary codes by Hamming distance (precision at k, precision within a radius, mean average
//! precision), with seeded random codes as a baseline.

use rayon::prelude::*;

use crate::error::{EvalError, Result};
use crate::matrix::{Matrix, check_labels, gemm_abt, row_sq_norms};
use ae_core::SplitMix64;

/// Queries per parallel block, and reference rows per matrix product within a block.
const QUERY_BLOCK: usize = 128;
const REFERENCE_BLOCK: usize = 2048;

/// Labels of `queries` predicted by majority vote of their `k` nearest rows of `reference`
/// (Euclidean). A tie between classes goes to the class of the nearest of the tied neighbours;
/// neighbours at equal distance are taken in reference order.
///
/// Fails if the widths differ, `reference_labels` is not one per reference row, or `k` is 0 or
/// more than the reference rows.
pub fn knn_classify(reference: Matrix, reference_labels: &[u16], queries: Matrix, k: usize) -> Result<Vec<u16>> {
    knn(reference, reference_labels, queries, k, false)
}

/// Leave-one-out k-NN: each row of `points` is classified by the `k` nearest *other* rows.
/// Fails as [`knn_classify`] does, or if `k` is not below the number of rows.
pub fn knn_classify_leave_one_out(points: Matrix, labels: &[u16], k: usize) -> Result<Vec<u16>> {
    knn(points, labels, points, k, true)
}

/// Fraction of `queries` whose k-NN prediction from `reference` ([`knn_classify`]) equals
/// `query_labels`: the usual "fit on train codes, score test codes" probe.
pub fn knn_accuracy(
    reference: Matrix,
    reference_labels: &[u16],
    queries: Matrix,
    query_labels: &[u16],
    k: usize,
) -> Result<f64> {
    check_labels("k-NN queries", &queries, query_labels)?;
    let predicted = knn_classify(reference, reference_labels, queries, k)?;
    Ok(accuracy(&predicted, query_labels))
}

/// Fraction of rows whose leave-one-out k-NN prediction ([`knn_classify_leave_one_out`]) is
/// their own label.
pub fn knn_accuracy_leave_one_out(points: Matrix, labels: &[u16], k: usize) -> Result<f64> {
    let predicted = knn_classify_leave_one_out(points, labels, k)?;
    Ok(accuracy(&predicted, labels))
}

fn accuracy(predicted: &[u16], truth: &[u16]) -> f64 {
    predicted.iter().zip(truth).filter(|(a, b)| a == b).count() as f64 / truth.len() as f64
}

fn knn(reference: Matrix, labels: &[u16], queries: Matrix, k: usize, exclude_self: bool) -> Result<Vec<u16>> {
    check_labels("k-NN reference", &reference, labels)?;
    let d = reference.cols();
    if queries.cols() != d {
        return Err(EvalError::input(format!(
            "k-NN: queries have {} columns but the reference has {d}",
            queries.cols()
        )));
    }
    let available = reference.rows() - usize::from(exclude_self);
    if k == 0 || k > available {
        return Err(EvalError::input(format!("k-NN: k = {k} must be between 1 and {available}")));
    }
    // Centre both sets on the reference mean so that |q|^2 + |r|^2 - 2 q.r loses little.
    let mean = reference.column_means();
    let centre = |m: Matrix| -> Vec<f32> {
        m.data().chunks_exact(d).flat_map(|r| r.iter().zip(&mean).map(|(&v, &c)| (v as f64 - c) as f32)).collect()
    };
    let refs = centre(reference);
    let ref_norms = row_sq_norms(&refs, d);
    let qs = if exclude_self { refs.clone() } else { centre(queries) };
    let q_norms = row_sq_norms(&qs, d);
    let n_ref = reference.rows();

    let predicted: Vec<Vec<u16>> = qs
        .par_chunks(QUERY_BLOCK * d)
        .enumerate()
        .map(|(b, block)| {
            let m = block.len() / d;
            let first = b * QUERY_BLOCK;
            // Per query, the k best (distance, reference index), sorted by distance.
            let mut best: Vec<Vec<(f32, usize)>> = vec![Vec::with_capacity(k + 1); m];
            let mut dots = vec![0.0f32; m * REFERENCE_BLOCK];
            for start in (0..n_ref).step_by(REFERENCE_BLOCK) {
                let len = REFERENCE_BLOCK.min(n_ref - start);
                let dots = &mut dots[..m * len];
                gemm_abt(block, m, d, &refs[start * d..(start + len) * d], len, dots);
                for (i, row) in dots.chunks_exact(len).enumerate() {
                    let q = first + i;
                    let list = &mut best[i];
                    for (j, &dot) in row.iter().enumerate() {
                        let r = start + j;
                        if exclude_self && r == q {
                            continue;
                        }
                        let dist = q_norms[q] + ref_norms[r] - 2.0 * dot;
                        if list.len() == k && dist >= list[k - 1].0 {
                            continue;
                        }
                        let pos = list.partition_point(|&(e, _)| e <= dist);
                        list.insert(pos, (dist, r));
                        list.truncate(k);
                    }
                }
            }
            best.iter().map(|list| vote(list.iter().map(|&(_, r)| labels[r]))).collect()
        })
        .collect();
    Ok(predicted.concat())
}

/// Majority label of neighbours given nearest first; ties go to the label seen first.
fn vote(neighbour_labels: impl Iterator<Item = u16>) -> u16 {
    // (label, votes), in order of first appearance.
    let mut tally: Vec<(u16, usize)> = Vec::new();
    for l in neighbour_labels {
        match tally.iter_mut().find(|(t, _)| *t == l) {
            Some((_, c)) => *c += 1,
            None => tally.push((l, 1)),
        }
    }
    let mut winner = tally[0];
    for &t in &tally[1..] {
        if t.1 > winner.1 {
            winner = t;
        }
    }
    winner.0
}

/// Binary codes packed 64 bits to a word, one code per item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryCodes {
    bits: usize,
    words: usize,
    data: Vec<u64>,
}

impl BinaryCodes {
    /// Codes from real-valued units: bit `j` of item `i` is set when `x[i][j] > threshold`
    /// (e.g. 0.5 for sigmoid units, 0 for signs).
    pub fn from_threshold(x: Matrix, threshold: f32) -> Self {
        let bits = x.cols();
        let words = bits.div_ceil(64);
        let mut data = vec![0u64; x.rows() * words];
        for (i, row) in x.data().chunks_exact(bits).enumerate() {
            for (j, &v) in row.iter().enumerate() {
                if v > threshold {
                    data[i * words + j / 64] |= 1 << (j % 64);
                }
            }
        }
        BinaryCodes { bits, words, data }
    }

    /// `n` codes of `bits` independent fair random bits from `seed`: the chance-level baseline.
    /// Fails if `n` or `bits` is 0.
    pub fn random(n: usize, bits: usize, seed: u64) -> Result<Self> {
        if n == 0 || bits == 0 {
            return Err(EvalError::input(format!("random codes: {n} codes of {bits} bits is empty")));
        }
        let words = bits.div_ceil(64);
        let mut g = SplitMix64::new(seed, 0x4841_4d4d); // stream "HAMM"
        let last_mask = if bits.is_multiple_of(64) { u64::MAX } else { (1u64 << (bits % 64)) - 1 };
        let mut data = Vec::with_capacity(n * words);
        for _ in 0..n {
            for w in 0..words {
                let v = g.next_u64();
                data.push(if w + 1 == words { v & last_mask } else { v });
            }
        }
        Ok(BinaryCodes { bits, words, data })
    }

    /// Number of codes.
    pub fn len(&self) -> usize {
        self.data.len().checked_div(self.words).unwrap_or(0)
    }

    /// Whether there are no codes.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Bits per code.
    pub fn bits(&self) -> usize {
        self.bits
    }

    /// Bit `j` of code `i` (panics if out of range, like slice indexing).
    pub fn bit(&self, i: usize, j: usize) -> bool {
        assert!(j < self.bits, "bit {j} of a {}-bit code", self.bits);
        self.code(i)[j / 64] >> (j % 64) & 1 == 1
    }

    /// The packed words of code `i`, lowest bits first.
    pub fn code(&self, i: usize) -> &[u64] {
        &self.data[i * self.words..(i + 1) * self.words]
    }

    /// Hamming distance between code `i` of `self` and code `j` of `other` (same width).
    pub fn distance(&self, i: usize, other: &BinaryCodes, j: usize) -> u32 {
        self.code(i).iter().zip(other.code(j)).map(|(a, b)| (a ^ b).count_ones()).sum()
    }
}

/// Hamming-distance retrieval of labelled binary codes: for each query, the database ranked by
/// distance, an item being relevant when it shares the query's label. Ties are common (distances
/// are small integers) and are handled without an arbitrary order: every metric is the expectation
/// over random orderings within a tie, which needs only per-distance counts.
#[derive(Debug, Clone)]
pub struct HammingRetrieval {
    bits: usize,
    database: usize,
    /// Per query, per distance 0..=bits: (database items, relevant ones).
    histograms: Vec<Vec<(u32, u32)>>,
}

/// Adds the distances from `code` (label `label`) to every database code but `skip` to `h`,
/// with the hardware population count where the processor has one.
fn histogram(h: &mut [(u32, u32)], code: &[u64], label: u16, db: &BinaryCodes, labels: &[u16], skip: Option<usize>) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("popcnt") {
        // SAFETY: the processor supports `popcnt`, checked just above.
        unsafe { histogram_popcnt(h, code, label, db, labels, skip) };
        return;
    }
    histogram_portable(h, code, label, db, labels, skip);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "popcnt")]
fn histogram_popcnt(
    h: &mut [(u32, u32)],
    code: &[u64],
    label: u16,
    db: &BinaryCodes,
    labels: &[u16],
    skip: Option<usize>,
) {
    histogram_portable(h, code, label, db, labels, skip);
}

#[inline(always)]
fn histogram_portable(
    h: &mut [(u32, u32)],
    code: &[u64],
    label: u16,
    db: &BinaryCodes,
    labels: &[u16],
    skip: Option<usize>,
) {
    for (j, (other, &l)) in db.data.chunks_exact(db.words).zip(labels).enumerate() {
        if skip == Some(j) {
            continue;
        }
        let d: u32 = code.iter().zip(other).map(|(a, b)| (a ^ b).count_ones()).sum();
        let e = &mut h[d as usize];
        e.0 += 1;
        e.1 += u32::from(l == label);
    }
}

/// Precision and recall of the items within a Hamming radius of each query.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadiusPrecision {
    /// Mean over queries of relevant / retrieved, a query retrieving nothing counting as 0.
    pub mean_precision: f64,
    /// The same mean over only the queries that retrieve something; `None` if none does.
    pub mean_precision_retrieving: Option<f64>,
    /// Mean over queries of the fraction of their relevant items retrieved (0 if none exist).
    pub mean_recall: f64,
    /// Fraction of queries that retrieve nothing.
    pub empty_fraction: f64,
    /// Mean number of items retrieved per query.
    pub mean_retrieved: f64,
}

impl HammingRetrieval {
    /// Ranks `database` for every code of `queries` (distinct sets). Fails if the code widths
    /// differ, a label list is not one per code, or a set is empty.
    pub fn new(
        queries: &BinaryCodes,
        query_labels: &[u16],
        database: &BinaryCodes,
        database_labels: &[u16],
    ) -> Result<Self> {
        Self::build(queries, query_labels, database, database_labels, false)
    }

    /// Ranks `codes` for each of its own codes, leaving the query itself out of its ranking.
    /// Fails if `labels` is not one per code or there are fewer than two codes.
    pub fn within(codes: &BinaryCodes, labels: &[u16]) -> Result<Self> {
        Self::build(codes, labels, codes, labels, true)
    }

    fn build(q: &BinaryCodes, ql: &[u16], db: &BinaryCodes, dbl: &[u16], exclude_self: bool) -> Result<Self> {
        if q.bits != db.bits {
            return Err(EvalError::input(format!(
                "Hamming retrieval: {}-bit queries against a {}-bit database",
                q.bits, db.bits
            )));
        }
        if q.len() != ql.len() || db.len() != dbl.len() {
            return Err(EvalError::input(format!(
                "Hamming retrieval: {} queries with {} labels, {} database codes with {} labels",
                q.len(),
                ql.len(),
                db.len(),
                dbl.len()
            )));
        }
        let database = db.len() - usize::from(exclude_self && !db.is_empty());
        if q.is_empty() || database == 0 {
            return Err(EvalError::input("Hamming retrieval: no queries or an empty database"));
        }
        let bits = q.bits;
        let histograms = (0..q.len())
            .into_par_iter()
            .map(|i| {
                let mut h = vec![(0u32, 0u32); bits + 1];
                histogram(&mut h, q.code(i), ql[i], db, dbl, exclude_self.then_some(i));
                h
            })
            .collect();
        Ok(HammingRetrieval { bits, database, histograms })
    }

    /// Mean over queries of the fraction of relevant items among the `k` nearest; when the `k`-th
    /// place falls within a group of equal distances, that group contributes its relevant fraction
    /// for the places taken (tie-aware precision). Fails if `k` is 0 or exceeds the database.
    pub fn precision_at_k(&self, k: usize) -> Result<f64> {
        if k == 0 || k > self.database {
            return Err(EvalError::input(format!("precision@k: k = {k} must be between 1 and {}", self.database)));
        }
        let total: f64 = self
            .histograms
            .iter()
            .map(|h| {
                let (mut taken, mut relevant) = (0usize, 0.0f64);
                for &(n, r) in h {
                    let n = n as usize;
                    if taken + n >= k {
                        relevant += (k - taken) as f64 * r as f64 / n as f64;
                        break;
                    }
                    taken += n;
                    relevant += r as f64;
                }
                relevant / k as f64
            })
            .sum();
        Ok(total / self.histograms.len() as f64)
    }

    /// Precision and recall of the items within Hamming distance `radius` (inclusive) of each
    /// query: the "hash lookup" evaluation of semantic hashing.
    pub fn radius_precision(&self, radius: u32) -> RadiusPrecision {
        let cut = (radius as usize).min(self.bits);
        let (mut precision, mut retrieving_precision, mut retrieving, mut recall, mut retrieved) =
            (0.0f64, 0.0f64, 0usize, 0.0f64, 0.0f64);
        for h in &self.histograms {
            let (n, r) = h[..=cut].iter().fold((0u64, 0u64), |(a, b), &(n, r)| (a + n as u64, b + r as u64));
            let relevant_all: u64 = h.iter().map(|&(_, r)| r as u64).sum();
            retrieved += n as f64;
            if n > 0 {
                let p = r as f64 / n as f64;
                precision += p;
                retrieving_precision += p;
                retrieving += 1;
            }
            if relevant_all > 0 {
                recall += r as f64 / relevant_all as f64;
            }
        }
        let q = self.histograms.len() as f64;
        RadiusPrecision {
            mean_precision: precision / q,
            mean_precision_retrieving: (retrieving > 0).then(|| retrieving_precision / retrieving as f64),
            mean_recall: recall / q,
            empty_fraction: (self.histograms.len() - retrieving) as f64 / q,
            mean_retrieved: retrieved / q,
        }
    }

    /// Mean over queries of average precision with the ranking cut at each distinct distance
    /// (ties taken together, as `ranking::average_precision` with the negated distance as the
    /// score); queries with no relevant item count 0.
    pub fn mean_average_precision(&self) -> f64 {
        let total: f64 = self
            .histograms
            .iter()
            .map(|h| {
                let relevant_all: u64 = h.iter().map(|&(_, r)| r as u64).sum();
                if relevant_all == 0 {
                    return 0.0;
                }
                let (mut n, mut r, mut ap) = (0u64, 0u64, 0.0f64);
                for &(dn, dr) in h {
                    n += dn as u64;
                    r += dr as u64;
                    if dr > 0 {
                        ap += dr as f64 / relevant_all as f64 * (r as f64 / n as f64);
                    }
                }
                ap
            })
            .sum();
        total / self.histograms.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ranking::average_precision;

    #[test]
    fn knn_hand_cases() {
        let reference = [0.0, 1.0, 2.0, 10.0, 11.0, 12.0];
        let labels = [0, 0, 0, 1, 1, 1];
        let r = Matrix::new(&reference, 6, 1).unwrap();
        // 6.2: nearest are 10 (3.8, label 1), 2 (4.2, label 0), 11 (4.8, label 1) -> 1.
        let q = Matrix::new(&[0.4, 10.6, 6.2], 3, 1).unwrap();
        assert_eq!(knn_classify(r, &labels, q, 3).unwrap(), vec![0, 1, 1]);
        // k = 2 at 5.8: 2 (3.8, label 0) and 10 (4.2, label 1) tie 1-1 -> the nearest, 0.
        let q = Matrix::new(&[5.8, 6.2], 2, 1).unwrap();
        assert_eq!(knn_classify(r, &labels, q, 2).unwrap(), vec![0, 1]);
        assert_eq!(knn_accuracy(r, &labels, q, &[0, 0], 2).unwrap(), 0.5);
        // Leave-one-out: 2's neighbours are 1 and 0 (label 0); 10's are 11 and 12.
        assert_eq!(knn_accuracy_leave_one_out(r, &labels, 2).unwrap(), 1.0);
        // A duplicate point is still a neighbour; only the query itself is left out.
        let dup = Matrix::new(&[0.0, 0.0, 5.0], 3, 1).unwrap();
        assert_eq!(knn_classify_leave_one_out(dup, &[3, 4, 3], 1).unwrap(), vec![4, 3, 3]);
    }

    #[test]
    fn knn_rejects_bad_input() {
        let r = Matrix::new(&[0.0, 1.0], 2, 1).unwrap();
        let q = Matrix::new(&[0.0, 1.0], 1, 2).unwrap();
        assert!(knn_classify(r, &[0, 1], q, 1).unwrap_err().to_string().contains("columns"));
        assert!(knn_classify(r, &[0], r, 1).unwrap_err().to_string().contains("2 rows but 1 labels"));
        assert!(knn_classify(r, &[0, 1], r, 3).unwrap_err().to_string().contains("k = 3"));
        assert!(knn_classify_leave_one_out(r, &[0, 1], 2).is_err());
        assert!(knn_accuracy(r, &[0, 1], r, &[0], 1).is_err());
    }

    #[test]
    fn knn_matches_brute_force() {
        let (n, m, d, k) = (700, 300, 9, 5);
        let mut g = SplitMix64::new(11, 0);
        let reference: Vec<f32> = (0..n * d).map(|_| g.normal() as f32).collect();
        let labels: Vec<u16> = (0..n).map(|i| ((reference[i * d] > 0.0) as u16) * 2 + (i % 2) as u16).collect();
        let queries: Vec<f32> = (0..m * d).map(|_| g.normal() as f32 + 10.0).collect();
        let got =
            knn_classify(Matrix::new(&reference, n, d).unwrap(), &labels, Matrix::new(&queries, m, d).unwrap(), k)
                .unwrap();
        for (qi, &p) in got.iter().enumerate() {
            let q = &queries[qi * d..(qi + 1) * d];
            let mut dist: Vec<(f64, usize)> = (0..n)
                .map(|r| (q.iter().zip(&reference[r * d..]).map(|(&a, &b)| (a as f64 - b as f64).powi(2)).sum(), r))
                .collect();
            dist.sort_by(|a, b| a.partial_cmp(b).unwrap());
            assert_eq!(p, vote(dist[..k].iter().map(|&(_, r)| labels[r])), "query {qi}");
        }
    }

    fn codes(rows: &[&str]) -> BinaryCodes {
        let x: Vec<f32> = rows.iter().flat_map(|r| r.chars().map(|c| if c == '1' { 1.0 } else { 0.0 })).collect();
        BinaryCodes::from_threshold(Matrix::with_cols(&x, rows[0].len()).unwrap(), 0.5)
    }

    #[test]
    fn binary_codes_pack_and_measure() {
        let c = codes(&["1100", "1010", "0000"]);
        assert_eq!((c.len(), c.bits()), (3, 4));
        assert!(c.bit(0, 0) && c.bit(0, 1) && !c.bit(0, 2));
        assert_eq!((c.distance(0, &c, 1), c.distance(0, &c, 2), c.distance(1, &c, 1)), (2, 2, 0));
        let r = BinaryCodes::random(1000, 70, 5).unwrap();
        assert_eq!(r, BinaryCodes::random(1000, 70, 5).unwrap());
        assert_ne!(r, BinaryCodes::random(1000, 70, 6).unwrap());
        let ones: u32 = (0..1000).map(|i| r.code(i).iter().map(|w| w.count_ones()).sum::<u32>()).sum();
        assert!((ones as f64 / 70_000.0 - 0.5).abs() < 0.01);
        assert!(r.code(3)[1] >> 6 == 0, "bits beyond the width stay clear");
        assert!(BinaryCodes::random(0, 8, 1).is_err());
    }

    #[test]
    fn hamming_metrics_hand_case() {
        // Query 0000 (label 0) against: 0001 (d1, l0), 0010 (d1, l1), 0011 (d2, l0),
        // 1111 (d4, l1), 0000 (d0, l1).
        let q = codes(&["0000"]);
        let db = codes(&["0001", "0010", "0011", "1111", "0000"]);
        let r = HammingRetrieval::new(&q, &[0], &db, &[0, 1, 0, 1, 1]).unwrap();
        // k = 1: the d0 item, irrelevant -> 0. k = 2: d0 plus one of the two d1 items (one
        // relevant) -> (0 + 1/2) / 2 = 0.25. k = 3: both d1 -> 1/3. k = 4: + d2 -> 2/4.
        for (k, want) in [(1, 0.0), (2, 0.25), (3, 1.0 / 3.0), (4, 0.5), (5, 0.4)] {
            assert!((r.precision_at_k(k).unwrap() - want).abs() < 1e-12, "k {k}");
        }
        assert!(r.precision_at_k(6).is_err() && r.precision_at_k(0).is_err());
        // Radius 1: 3 retrieved, 1 relevant of 2 -> precision 1/3, recall 1/2.
        let rp = r.radius_precision(1);
        assert!((rp.mean_precision - 1.0 / 3.0).abs() < 1e-12 && (rp.mean_recall - 0.5).abs() < 1e-12);
        assert_eq!((rp.empty_fraction, rp.mean_retrieved), (0.0, 3.0));
        // MAP equals average precision with -distance as the score.
        let ap = average_precision(&[-1.0, -1.0, -2.0, -4.0, 0.0], &[true, false, true, false, false]).unwrap();
        assert!((r.mean_average_precision() - ap).abs() < 1e-12);
    }

    #[test]
    fn hamming_within_leaves_the_query_out() {
        let c = codes(&["00", "00", "11", "11"]);
        let r = HammingRetrieval::within(&c, &[0, 0, 1, 1]).unwrap();
        assert_eq!(r.precision_at_k(1).unwrap(), 1.0);
        let rp = r.radius_precision(0);
        assert_eq!((rp.mean_precision, rp.mean_retrieved, rp.mean_recall), (1.0, 1.0, 1.0));
        assert!((r.precision_at_k(3).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        // Nothing within radius 0 here: every query's ball is empty.
        let c = codes(&["00", "01", "10"]);
        let rp = HammingRetrieval::within(&c, &[0, 0, 0]).unwrap().radius_precision(0);
        assert_eq!((rp.mean_precision, rp.empty_fraction, rp.mean_precision_retrieving), (0.0, 1.0, None));
        assert!(HammingRetrieval::within(&c, &[0, 0]).is_err());
        assert!(HammingRetrieval::new(&c, &[0, 0, 0], &codes(&["000"]), &[0]).is_err());
    }

    #[test]
    fn random_codes_score_chance() {
        let labels: Vec<u16> = (0..2000).map(|i| (i % 10) as u16).collect();
        let c = BinaryCodes::random(2000, 32, 1).unwrap();
        let r = HammingRetrieval::within(&c, &labels).unwrap();
        let p = r.precision_at_k(100).unwrap();
        assert!((p - 0.1).abs() < 0.01, "{p}");
        assert!((r.mean_average_precision() - 0.1).abs() < 0.02);
    }

    #[test]
    #[ignore = "timing: cargo test --release -p ae-eval -- --ignored --nocapture"]
    fn neighbours_speed() {
        let d = 50;
        let mut g = SplitMix64::new(2, 0);
        let mut blob = |n: usize| -> (Vec<f32>, Vec<u16>) {
            let labels: Vec<u16> = (0..n).map(|i| (i % 10) as u16).collect();
            let x = labels
                .iter()
                .flat_map(|&l| (0..d).map(move |j| (j % 10 == l as usize) as u8 as f32 * 2.0))
                .collect::<Vec<_>>();
            let x = x.into_iter().map(|v| v + g.normal() as f32).collect();
            (x, labels)
        };
        let (train, train_labels) = blob(60_000);
        let (test, test_labels) = blob(10_000);
        let (tr, te) = (Matrix::new(&train, 60_000, d).unwrap(), Matrix::new(&test, 10_000, d).unwrap());
        let t = std::time::Instant::now();
        let a = knn_accuracy(tr, &train_labels, te, &test_labels, 5).unwrap();
        println!("5-NN 10000 queries vs 60000 x 50: {:.2} s, accuracy {a:.3}", t.elapsed().as_secs_f64());
        let t = std::time::Instant::now();
        let a = knn_accuracy_leave_one_out(te, &test_labels, 5).unwrap();
        println!("5-NN leave-one-out 10000 x 50: {:.2} s, accuracy {a:.3}", t.elapsed().as_secs_f64());
        let (q, db) = (BinaryCodes::random(10_000, 64, 1).unwrap(), BinaryCodes::random(60_000, 64, 2).unwrap());
        let t = std::time::Instant::now();
        let r = HammingRetrieval::new(&q, &test_labels, &db, &train_labels).unwrap();
        let p = r.precision_at_k(100).unwrap();
        println!("Hamming 10000 x 60000, 64 bits: {:.2} s, precision@100 {p:.3}", t.elapsed().as_secs_f64());
    }
}
