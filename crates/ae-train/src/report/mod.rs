//! What a person sees of a run: [`progress`] on the terminal, [`picture`]s, the [`loss_curve`],
//! [`tensorboard`] event files and the [`training_log`] that writes them with `metrics.jsonl`.

pub mod loss_curve;
pub mod picture;
pub mod progress;
pub mod tensorboard;
pub mod training_log;
