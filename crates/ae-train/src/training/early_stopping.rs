//! Tracking the monitored loss across epochs: the best so far, and when patience runs out.

/// What an epoch's monitored loss means for training.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A new best: keep this model.
    Improved,
    /// No better than the best; patience not yet exhausted (or early stopping is off).
    Continue,
    /// No better for `patience` epochs in a row: stop.
    Stop,
}

/// The best monitored loss and the epochs since it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Monitor {
    /// Best loss and the (1-based) epoch it was reached in.
    pub best: Option<(f64, usize)>,
    /// Epochs since the best one.
    pub stale: usize,
    /// Epochs without improvement that stop training (0: never stop).
    pub patience: usize,
}

impl Monitor {
    /// A monitor resuming from a best loss and a count of stale epochs.
    pub fn new(patience: usize, best: Option<(f64, usize)>, stale: usize) -> Self {
        Self { best, stale, patience }
    }

    /// Records epoch `epoch`'s loss. A loss improves only if strictly lower than the best.
    pub fn update(&mut self, loss: f64, epoch: usize) -> Verdict {
        if self.best.is_none_or(|(b, _)| loss < b) {
            self.best = Some((loss, epoch));
            self.stale = 0;
            return Verdict::Improved;
        }
        self.stale += 1;
        if self.patience > 0 && self.stale >= self.patience { Verdict::Stop } else { Verdict::Continue }
    }

    /// The epoch of the best loss.
    pub fn best_epoch(&self) -> Option<usize> {
        self.best.map(|(_, e)| e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut m = Monitor::new(2, None, 0);
        let verdicts: Vec<Verdict> =
            [1.0, 0.8, 0.9, 0.8, 0.7, 0.75, 0.75].iter().enumerate().map(|(i, &l)| m.update(l, i + 1)).collect();
        use Verdict::*;
        assert_eq!(verdicts, vec![Improved, Improved, Continue, Stop, Improved, Continue, Stop]);
        assert_eq!(m.best, Some((0.7, 5)));
    }

    #[test]
    fn patience_zero_never_stops() {
        let mut m = Monitor::new(0, Some((0.1, 1)), 0);
        assert!((2..50).all(|e| m.update(1.0, e) == Verdict::Continue));
        assert_eq!(m.stale, 48);
    }
}
