//! Progress display: indicatif bars (epoch and batch, loss, samples/s, ETA) on a terminal, plain
//! lines otherwise (logs, CI, pipes).

use std::io::IsTerminal;
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::training::metrics::EpochMetrics;

/// Where progress goes.
pub struct Progress {
    bars: Option<(MultiProgress, ProgressBar, ProgressBar)>,
    epochs: usize,
    batches: usize,
    epoch_start: Instant,
    next_plain: usize,
    last_loss: Option<f64>,
    quiet: bool,
}

impl Progress {
    /// Bars when stdout is a terminal, plain lines otherwise; `quiet` prints nothing but warnings.
    pub fn new(quiet: bool) -> Self {
        let bars = (!quiet && std::io::stdout().is_terminal()).then(|| {
            let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stdout());
            let epoch = multi.add(ProgressBar::new(0));
            epoch.set_style(
                ProgressStyle::with_template("epoch {pos:>3}/{len:3} [{bar:30.cyan/blue}] {elapsed_precise} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            let batch = multi.add(ProgressBar::new(0));
            batch.set_style(
                ProgressStyle::with_template("batch {pos:>5}/{len:5} [{bar:30}] ETA {eta:>4} {msg}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            (multi, epoch, batch)
        });
        Self { bars, epochs: 0, batches: 0, epoch_start: Instant::now(), next_plain: 0, last_loss: None, quiet }
    }

    /// Prints a line above the bars (or plainly).
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bars {
            Some((multi, _, _)) => {
                let _ = multi.println(text);
            }
            None => print_line(text),
        }
    }

    /// Training starts: `epochs` in all, the first being `first` (1-based; later when resuming).
    pub fn start(&mut self, first: usize, epochs: usize) {
        self.epochs = epochs;
        if let Some((_, e, _)) = &self.bars {
            e.set_length(epochs as u64);
            e.set_position(first.saturating_sub(1) as u64);
        }
    }

    /// An epoch of `batches` batches starts.
    pub fn start_epoch(&mut self, epoch: usize, batches: usize) {
        self.batches = batches;
        self.epoch_start = Instant::now();
        self.next_plain = batches / 4;
        if let Some((_, e, b)) = &self.bars {
            e.set_position(epoch.saturating_sub(1) as u64);
            b.set_length(batches as u64);
            b.set_position(0);
            b.reset_eta();
        }
    }

    /// `done` batches of the epoch are finished, `samples` items seen; `loss` is the running mean
    /// when it was read back from the device.
    pub fn batch(&mut self, epoch: usize, done: usize, samples: usize, loss: Option<f64>) {
        let rate = samples as f64 / self.epoch_start.elapsed().as_secs_f64().max(1e-9);
        if loss.is_some() {
            self.last_loss = loss;
        }
        match &self.bars {
            Some((_, _, b)) => {
                b.set_position(done as u64);
                if let Some(l) = loss {
                    b.set_message(format!("loss {l:.5}  {rate:.0} samples/s"));
                }
            }
            None => {
                if !self.quiet && self.batches >= 200 && done >= self.next_plain && done < self.batches {
                    let l = self.last_loss.map(|l| format!(" loss {l:.5}")).unwrap_or_default();
                    print_line(&format!("  epoch {epoch} batch {done}/{}{l} {rate:.0} samples/s", self.batches));
                    self.next_plain += self.batches / 4;
                }
            }
        }
    }

    /// An epoch ended with these metrics.
    pub fn end_epoch(&mut self, m: &EpochMetrics, note: &str) {
        let val = m.val_loss.map(|v| format!("  val_loss {v:.6}")).unwrap_or_default();
        let text = format!(
            "epoch {:>3}/{}  train_loss {:.6}{val}  {:.1} s  {:.0} samples/s{note}",
            m.epoch, self.epochs, m.train_loss, m.seconds, m.samples_per_s
        );
        if let Some((_, e, _)) = &self.bars {
            e.set_position(m.epoch as u64);
            e.set_message(format!(
                "train {:.5}{}",
                m.train_loss,
                m.val_loss.map(|v| format!(" val {v:.5}")).unwrap_or_default()
            ));
        }
        self.line(&text);
    }

    /// Removes the bars.
    pub fn finish(&self) {
        if let Some((_, e, b)) = &self.bars {
            b.finish_and_clear();
            e.finish_and_clear();
        }
    }
}

/// Writes a line to standard output, ignoring write errors: a reader that went away (`| head`)
/// must not stop training or lose a subcommand's files, which are written before its summary.
pub fn print_line(text: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stdout(), "{text}");
}

/// Progress of a sweep: one bar over the epochs of all its runs on a terminal, a line per run
/// started and ended otherwise.
pub struct SweepBar {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl SweepBar {
    /// A bar of `epochs` in all, `done` of them already (finished runs of a resumed sweep).
    pub fn new(quiet: bool, epochs: usize, done: usize) -> Self {
        let bar = (!quiet && std::io::stdout().is_terminal()).then(|| {
            let b = ProgressBar::with_draw_target(Some(epochs as u64), ProgressDrawTarget::stdout());
            b.set_style(
                ProgressStyle::with_template(
                    "sweep [{bar:30.cyan/blue}] {pos}/{len} epochs {elapsed_precise} ETA {eta} {msg}",
                )
                .expect("valid template")
                .progress_chars("=> "),
            );
            b.set_position(done as u64);
            b
        });
        Self { bar, quiet }
    }

    /// `done` epochs of all runs are finished; `message` says how many runs are.
    pub fn set(&self, done: usize, message: String) {
        if let Some(b) = &self.bar {
            b.set_position(done as u64);
            b.set_message(message);
        }
    }

    /// Prints a line above the bar (or plainly).
    pub fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(b) => b.println(text),
            None => print_line(text),
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}
