//! Where training stands, for the parts of a model that change during training (the k of a
//! k-sparse code, the KL weight of a VAE during warm-up).

/// How far training has progressed: 0 at the first step, 1 at the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Schedule {
    /// Fraction of all training steps already taken, in [0, 1].
    pub progress: f64,
}

impl Schedule {
    /// The end of training: every schedule at its final value (what inference uses).
    pub const END: Schedule = Schedule { progress: 1.0 };

    /// The schedule after `step` of `total` steps.
    pub fn at(step: u64, total: u64) -> Self {
        Self { progress: if total == 0 { 1.0 } else { (step as f64 / total as f64).clamp(0.0, 1.0) } }
    }

    /// A linear ramp that reaches 1 when `progress` reaches `span` (a `span` of 0 is always 1).
    pub fn ramp(&self, span: f64) -> f64 {
        if span <= 0.0 { 1.0 } else { (self.progress / span).min(1.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps() {
        let s = Schedule::at(25, 100);
        assert_eq!(s.progress, 0.25);
        assert_eq!(s.ramp(0.5), 0.5);
        assert_eq!(s.ramp(0.0), 1.0);
        assert_eq!(Schedule::at(90, 100).ramp(0.5), 1.0);
        assert_eq!(Schedule::END.ramp(0.7), 1.0);
    }
}
