//! Ranking metrics for anomaly scores: AUROC, average precision, the ROC curve, metrics at a
//! threshold, and percentiles for choosing that threshold.
//!
//! Binary labels are `&[bool]`, `true` for the positive class (e.g. anomalous); a higher score
//! means "more positive". Scores may not be NaN (an error says where), infinities are ranked.

use std::cmp::Ordering;

use crate::error::{EvalError, Result, no_nan, same_len};

/// Checks the inputs of a ranking metric and counts the positives.
fn check(scores: &[f32], positive: &[bool]) -> Result<(usize, usize)> {
    same_len("scores and labels", scores.len(), positive.len())?;
    no_nan("scores", scores)?;
    let n_pos = positive.iter().filter(|&&p| p).count();
    Ok((n_pos, positive.len() - n_pos))
}

/// Indices of `scores` sorted by decreasing score (stable; no NaN by the caller's check).
fn descending(scores: &[f32]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].partial_cmp(&scores[a]).unwrap_or(Ordering::Equal));
    order
}

/// Runs of equal scores in `order` (decreasing), as (true positives, false positives) counted
/// cumulatively at the end of each run, with the run's score.
fn tie_groups(scores: &[f32], positive: &[bool], order: &[usize]) -> Vec<(u64, u64, f32)> {
    let mut out = Vec::new();
    let (mut tp, mut fp) = (0u64, 0u64);
    for (n, &i) in order.iter().enumerate() {
        if positive[i] {
            tp += 1;
        } else {
            fp += 1;
        }
        // `==` so that -0.0 and 0.0 tie, as they do in NumPy.
        let last = n + 1 == order.len() || scores[order[n + 1]] != scores[i];
        if last {
            out.push((tp, fp, scores[i]));
        }
    }
    out
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (the Mann-Whitney U statistic over `n_pos * n_neg`; equal to
/// scikit-learn's `roc_auc_score`).
///
/// Fails on empty or NaN scores, mismatched lengths, or labels of a single class.
pub fn auroc(scores: &[f32], positive: &[bool]) -> Result<f64> {
    let (n_pos, n_neg) = check(scores, positive)?;
    if n_pos == 0 || n_neg == 0 {
        return Err(EvalError::input(format!(
            "AUROC needs both classes, got {n_pos} positive and {n_neg} negative labels"
        )));
    }
    // Twice the U statistic, exactly: per run of ties, positives beat every negative ranked
    // below (2 each) and tie with the run's negatives (1 each).
    let (mut twice_u, mut neg_below) = (0u128, n_neg as u128);
    let (mut tp0, mut fp0) = (0u64, 0u64);
    for (tp, fp, _) in tie_groups(scores, positive, &descending(scores)) {
        let (p, n) = ((tp - tp0) as u128, (fp - fp0) as u128);
        neg_below -= n;
        twice_u += 2 * p * neg_below + p * n;
        (tp0, fp0) = (tp, fp);
    }
    Ok(twice_u as f64 / (2.0 * n_pos as f64 * n_neg as f64))
}

/// Average precision: `sum_n (R_n - R_{n-1}) P_n` over the distinct score thresholds in
/// decreasing order, ties taken together (step-wise, no interpolation; equal to scikit-learn's
/// `average_precision_score`).
///
/// Fails on empty or NaN scores, mismatched lengths, or no positive label.
pub fn average_precision(scores: &[f32], positive: &[bool]) -> Result<f64> {
    let (n_pos, _) = check(scores, positive)?;
    if n_pos == 0 {
        return Err(EvalError::input("average precision needs at least one positive label"));
    }
    let (mut ap, mut recall0) = (0.0f64, 0.0f64);
    for (tp, fp, _) in tie_groups(scores, positive, &descending(scores)) {
        let recall = tp as f64 / n_pos as f64;
        ap += (recall - recall0) * (tp as f64 / (tp + fp) as f64);
        recall0 = recall;
    }
    Ok(ap)
}

/// A ROC curve: one point per distinct score, from (0, 0) to (1, 1).
#[derive(Debug, Clone, PartialEq)]
pub struct RocCurve {
    /// False-positive rate at each threshold.
    pub fpr: Vec<f64>,
    /// True-positive rate at each threshold.
    pub tpr: Vec<f64>,
    /// Scores at or above the threshold are called positive; the first is +infinity (nothing
    /// called positive), the others are the distinct scores in decreasing order.
    pub thresholds: Vec<f32>,
}

/// The ROC curve at every distinct score (not thinned: scikit-learn's `roc_curve` with
/// `drop_intermediate=False`). Fails as [`auroc`] does.
pub fn roc_curve(scores: &[f32], positive: &[bool]) -> Result<RocCurve> {
    let (n_pos, n_neg) = check(scores, positive)?;
    if n_pos == 0 || n_neg == 0 {
        return Err(EvalError::input(format!(
            "a ROC curve needs both classes, got {n_pos} positive and {n_neg} negative labels"
        )));
    }
    let mut curve = RocCurve { fpr: vec![0.0], tpr: vec![0.0], thresholds: vec![f32::INFINITY] };
    for (tp, fp, s) in tie_groups(scores, positive, &descending(scores)) {
        curve.fpr.push(fp as f64 / n_neg as f64);
        curve.tpr.push(tp as f64 / n_pos as f64);
        curve.thresholds.push(s);
    }
    Ok(curve)
}

/// Counts and rates of calling `score > threshold` positive.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdMetrics {
    /// Positives called positive.
    pub true_positives: usize,
    /// Negatives called positive.
    pub false_positives: usize,
    /// Negatives called negative.
    pub true_negatives: usize,
    /// Positives called negative.
    pub false_negatives: usize,
    /// TP / (TP + FP); 0 when nothing is called positive.
    pub precision: f64,
    /// TP / (TP + FN); 0 when there are no positives.
    pub recall: f64,
    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub f1: f64,
    /// Fraction of items called correctly.
    pub accuracy: f64,
}

/// Confusion counts, precision, recall, F1 and accuracy when items scoring strictly above
/// `threshold` are called positive. Fails on empty or NaN scores or mismatched lengths.
pub fn threshold_metrics(scores: &[f32], positive: &[bool], threshold: f32) -> Result<ThresholdMetrics> {
    check(scores, positive)?;
    let (mut tp, mut fp, mut tn, mut fn_) = (0, 0, 0, 0);
    for (&s, &p) in scores.iter().zip(positive) {
        match (s > threshold, p) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, false) => tn += 1,
            (false, true) => fn_ += 1,
        }
    }
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let (precision, recall) = (ratio(tp, tp + fp), ratio(tp, tp + fn_));
    let f1 = if precision + recall == 0.0 { 0.0 } else { 2.0 * precision * recall / (precision + recall) };
    Ok(ThresholdMetrics {
        true_positives: tp,
        false_positives: fp,
        true_negatives: tn,
        false_negatives: fn_,
        precision,
        recall,
        f1,
        accuracy: ratio(tp + tn, scores.len()),
    })
}

/// The `q`-th percentile (0 to 100) of `values` with linear interpolation between the two
/// nearest ranks (NumPy's default `np.percentile`): position `q / 100 * (n - 1)` in the sorted
/// values. Computed in `f64`. Fails on empty input, a non-finite value, or `q` outside [0, 100].
pub fn percentile(values: &[f32], q: f64) -> Result<f32> {
    if !(0.0..=100.0).contains(&q) {
        return Err(EvalError::input(format!("percentile {q} is outside [0, 100]")));
    }
    no_nan("percentile values", values)?;
    if let Some(i) = values.iter().position(|v| v.is_infinite()) {
        return Err(EvalError::input(format!("percentile values: infinite value at index {i}")));
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| a.partial_cmp(b).unwrap_or(Ordering::Equal));
    let pos = q / 100.0 * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b, t) = (sorted[lo] as f64, sorted[hi] as f64, pos - lo as f64);
    Ok((a + (b - a) * t) as f32)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 200 scores with 53 distinct values (many ties) and 71 positives correlated with them;
    /// the same formula is evaluated in Python for the reference values below.
    fn tied_problem() -> (Vec<f32>, Vec<bool>) {
        (0..200u32)
            .map(|i| {
                let s = (i * 37 + 11) % 53;
                (s as f32 / 4.0, s + (i * 5) % 17 > 40)
            })
            .unzip()
    }

    #[test]
    fn hand_computed_cases() {
        // Positives 0.35, 0.8 vs negatives 0.1, 0.4: 3 of 4 pairs ordered -> 0.75.
        // AP: 0.8 (P 1, R 1/2), 0.4 (P 1/2), 0.35 (P 2/3, R 1) -> 1/2 + 1/2 * 2/3 = 0.8333.
        let (s, y) = ([0.1, 0.4, 0.35, 0.8], [false, false, true, true]);
        assert!((auroc(&s, &y).unwrap() - 0.75).abs() < 1e-12);
        assert!((average_precision(&s, &y).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // Ties: positives 0.5, 0.9, 0.5 vs negatives 0.5, 0.2: pairs 0.5+1 + 1+1 + 0.5+1 = 5 of 6.
        // AP: threshold 0.9 (P 1, R 1/3), threshold 0.5 taken together (P 3/4, R 1)
        // -> 1/3 + 2/3 * 3/4 = 5/6.
        let (s, y) = ([0.5, 0.5, 0.2, 0.9, 0.5], [false, true, false, true, true]);
        assert!((auroc(&s, &y).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        assert!((average_precision(&s, &y).unwrap() - 5.0 / 6.0).abs() < 1e-12);
        // Perfect and reversed rankings; all tied is 0.5.
        assert_eq!(auroc(&[1.0, 2.0], &[false, true]).unwrap(), 1.0);
        assert_eq!(auroc(&[1.0, 2.0], &[true, false]).unwrap(), 0.0);
        assert_eq!(auroc(&[3.0; 4], &[true, false, true, false]).unwrap(), 0.5);
        assert_eq!(average_precision(&[3.0; 4], &[true, false, true, false]).unwrap(), 0.5);
    }

    #[test]
    fn matches_scikit_learn_with_ties() {
        // sklearn 1.9.1: roc_auc_score(y, s) = 0.9821487061906322,
        // average_precision_score(y, s) = 0.9669096690853437 for `tied_problem`.
        let (s, y) = tied_problem();
        assert!((auroc(&s, &y).unwrap() - 0.9821487061906322).abs() < 1e-12);
        assert!((average_precision(&s, &y).unwrap() - 0.9669096690853437).abs() < 1e-12);
    }

    #[test]
    fn roc_curve_area_is_auroc() {
        let (s, y) = tied_problem();
        let c = roc_curve(&s, &y).unwrap();
        assert_eq!(c.thresholds.len(), 54);
        assert_eq!((c.fpr[0], c.tpr[0], *c.fpr.last().unwrap(), *c.tpr.last().unwrap()), (0.0, 0.0, 1.0, 1.0));
        assert!(c.thresholds.windows(2).all(|w| w[0] > w[1]));
        let area: f64 = (1..c.fpr.len()).map(|i| (c.fpr[i] - c.fpr[i - 1]) * (c.tpr[i] + c.tpr[i - 1]) / 2.0).sum();
        assert!((area - auroc(&s, &y).unwrap()).abs() < 1e-12);
    }

    #[test]
    fn bad_input_is_an_error() {
        let e = auroc(&[1.0, 2.0], &[true, true]).unwrap_err().to_string();
        assert!(e.contains("both classes") && e.contains("2 positive and 0 negative"), "{e}");
        assert!(auroc(&[], &[]).unwrap_err().to_string().contains("empty"));
        assert!(auroc(&[1.0], &[true, false]).unwrap_err().to_string().contains("differ in length: 1 vs 2"));
        let e = average_precision(&[1.0, f32::NAN], &[true, false]).unwrap_err().to_string();
        assert!(e.contains("NaN at index 1"), "{e}");
        assert!(average_precision(&[1.0, 2.0], &[false, false]).is_err());
        assert!(roc_curve(&[1.0, 2.0], &[false, false]).is_err());
        assert!(percentile(&[1.0], 101.0).is_err());
        assert!(percentile(&[], 50.0).is_err());
        assert!(percentile(&[1.0, f32::INFINITY], 50.0).is_err());
    }

    #[test]
    fn percentile_matches_numpy() {
        // Hand: sorted [1, 2, 3, 4]; q = 50 -> position 1.5 -> 2.5; q = 90 -> 2.7 -> 3.7.
        assert_eq!(percentile(&[4.0, 1.0, 3.0, 2.0], 50.0).unwrap(), 2.5);
        assert!((percentile(&[4.0, 1.0, 3.0, 2.0], 90.0).unwrap() - 3.7).abs() < 1e-6);
        assert_eq!(percentile(&[7.0], 30.0).unwrap(), 7.0);
        // numpy 2.4.6: np.percentile(v.astype(np.float64), q) for
        // v = np.array([((k*29+3)%31)*0.37 for k in range(57)], dtype=np.float32).
        let v: Vec<f32> = (0..57u32).map(|k| ((k * 29 + 3) % 31) as f32 * 0.37).collect();
        let expected = [
            (0.0, 0.0),
            (5.0, 0.3700000047683716),
            (50.0, 5.920000076293945),
            (90.0, 10.137999725341796),
            (95.0, 10.729999542236328),
            (100.0, 11.100000381469727),
            (33.3, 3.9397601280212386),
        ];
        for (q, want) in expected {
            let got = percentile(&v, q).unwrap();
            assert!((got as f64 - want).abs() < 1e-6, "q {q}: {got} vs {want}");
        }
    }

    #[test]
    fn threshold_counts() {
        let m = threshold_metrics(&[0.1, 0.6, 0.7, 0.2, 0.9], &[false, false, true, true, true], 0.5).unwrap();
        assert_eq!((m.true_positives, m.false_positives, m.true_negatives, m.false_negatives), (2, 1, 1, 1));
        assert!((m.precision - 2.0 / 3.0).abs() < 1e-12 && (m.recall - 2.0 / 3.0).abs() < 1e-12);
        assert!((m.f1 - 2.0 / 3.0).abs() < 1e-12 && (m.accuracy - 0.6).abs() < 1e-12);
    }
}
