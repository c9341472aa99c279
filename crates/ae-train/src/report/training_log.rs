//! What a training run logs as it goes: `metrics.jsonl` after every epoch and, unless
//! `train.tensorboard = false`, TensorBoard events in `tensorboard/`: the config as text at the
//! start (and where a resumed run changed it), the running loss at every logged step, each
//! epoch's losses, terms, learning rate, speed and KL weight, and its reconstructions picture.

use std::path::{Path, PathBuf};

use ae_data::{Normalizer, View};
use ae_models::Autoencoder;
use ae_models::bottleneck::BottleneckConfig;
use ae_models::schedule::Schedule;
use burn::tensor::Device;

use crate::error::{AppError, Result};
use crate::fsio::write_atomic;
use crate::report::picture::{self, Png};
use crate::report::tensorboard::EventLog;
use crate::training::fit::{self, TrainingLog};
use crate::training::metrics::EpochMetrics;

/// `metrics.jsonl` (or a pretraining layer's): one [`EpochMetrics`] per line, rewritten whole
/// after each epoch's checkpoint.
pub struct MetricsFile {
    /// The file.
    pub path: PathBuf,
}

impl TrainingLog for MetricsFile {
    fn saved(&mut self, history: &[EpochMetrics]) -> Result<()> {
        let text: String =
            history.iter().map(|m| serde_json::to_string(m).expect("metrics serialise") + "\n").collect();
        write_atomic(&self.path, text.as_bytes())
    }
}

/// The items a run's pictures show and how to draw them.
#[derive(Clone, Copy)]
pub struct Shown<'a> {
    /// The split the items come from.
    pub view: &'a View,
    /// Seeds which items ([`View::spread`]).
    pub seed: u64,
    /// Item shape.
    pub shape: &'a [usize],
    /// Maps values back to the data's units.
    pub normalizer: &'a Normalizer,
    /// Where the model runs (without autodiff).
    pub device: &'a Device,
}

/// Ten items spread over `shown.view` (so sorted splits show several classes) above their
/// reconstructions by `model`.
pub fn reconstructions(model: &Autoencoder, shown: Shown<'_>) -> Result<Png> {
    let positions = shown.view.spread(10, shown.seed);
    let batch = shown.view.batch(&positions);
    let cols = batch.cols;
    let inputs: Vec<Vec<f32>> = batch.x.chunks(cols).map(|c| c.to_vec()).collect();
    let x = fit::to_tensor(batch, shown.device);
    let recon = model
        .decode(model.encode(x))
        .into_data()
        .try_into_vec::<f32>()
        .map_err(|e| AppError::runtime(format!("cannot read reconstructions: {e:?}")))?;
    let outputs: Vec<Vec<f32>> = recon.chunks(cols).map(|c| c.to_vec()).collect();
    picture::encode_rows(&[inputs, outputs], shown.shape, shown.normalizer)
}

/// A training run's log: its metrics file and, when on, its TensorBoard events.
pub struct RunLog<'a> {
    metrics: MetricsFile,
    events: Option<EventLog>,
    shown: Shown<'a>,
    bottleneck: BottleneckConfig,
    total_steps: u64,
    previous_step: u64,
}

impl<'a> RunLog<'a> {
    /// Opens the log of a run: `events` is the TensorBoard folder (`None`: off), `resume_step`
    /// the step of the checkpoint a resumed run starts from, `config` the resolved config (logged
    /// as text when the run starts, and at the resumed step when it differs from the last one).
    pub fn open(
        metrics: PathBuf,
        events: Option<&Path>,
        resume_step: Option<u64>,
        config: &str,
        shown: Shown<'a>,
        bottleneck: BottleneckConfig,
        total_steps: u64,
    ) -> Result<Self> {
        let events = match events {
            Some(dir) => {
                let mut log = EventLog::open(dir, resume_step)?;
                // At the start, and again where a resumed run's config differs (e.g. more epochs).
                let indented: String = config.lines().map(|l| format!("    {l}\n")).collect();
                if log.last_text("config") != Some(indented.as_str()) {
                    log.text("config", resume_step.unwrap_or(0), &indented);
                    log.flush()?;
                }
                Some(log)
            }
            None => None,
        };
        Ok(RunLog {
            metrics: MetricsFile { path: metrics },
            events,
            shown,
            bottleneck,
            total_steps,
            previous_step: resume_step.unwrap_or(0),
        })
    }
}

impl TrainingLog for RunLog<'_> {
    fn step(&mut self, step: u64, mean_loss: f64) {
        if let Some(log) = &mut self.events {
            log.scalars(step, &[("train/loss_running".into(), mean_loss)]);
        }
    }

    fn epoch(&mut self, m: &EpochMetrics, model: &Autoencoder) -> Result<()> {
        let Some(log) = &mut self.events else { return Ok(()) };
        let mut values = vec![("train/loss".to_string(), m.train_loss)];
        values.extend(m.train_terms.iter().map(|(term, v)| (format!("train/{term}"), *v)));
        if let Some(v) = m.val_loss {
            values.push(("val/loss".into(), v));
        }
        values.push(("train/learning_rate".into(), m.learning_rate));
        values.push(("train/epoch".into(), m.epoch as f64));
        values.push(("speed/samples_per_s".into(), m.samples_per_s));
        values.push(("speed/steps_per_s".into(), (m.step - self.previous_step) as f64 / m.seconds.max(1e-9)));
        if let Some(beta) = self.bottleneck.kl_weight(Schedule::at(m.step, self.total_steps)) {
            values.push(("train/kl_weight".into(), beta));
        }
        log.scalars(m.step, &values);
        let png = reconstructions(model, self.shown)?;
        log.image("reconstructions", m.step, png.bytes, png.width, png.height);
        log.flush()?;
        self.previous_step = m.step;
        Ok(())
    }

    fn saved(&mut self, history: &[EpochMetrics]) -> Result<()> {
        self.metrics.saved(history)
    }
}
