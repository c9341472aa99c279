//! TensorBoard logs through the binary: a VAE run's event files hold, at each epoch's last step,
//! exactly the losses, terms, learning rate and KL weight of `metrics.jsonl` (the KL weight as
//! computed by hand from the warm-up), the reconstructions as a PNG, the config as text, the
//! running loss at every logged step; a resumed run continues the same log with no step twice,
//! dropping what a killed epoch had logged, and logs its config again where it changed; `train.tensorboard = false` writes none. With
//! `AE_TENSORBOARD_PYTHON` set, TensorBoard's own reader checks the same files.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use ae_train::report::tensorboard::{self, Event, EventKind, ValueKind};
use common::*;
use prost::Message;

const VAE: &str = r#"
name = "tb-vae"
[data]
dataset = "mnist"
limit = 1000
[model.network]
kind = "dense"
hidden = [64]
code = 4
output_activation = "sigmoid"
[model.bottleneck]
kind = "gaussian"
beta = 2.0
warmup = 0.5
[model.loss]
kind = "bernoulli"
[train]
epochs = 3
batch_size = 100
learning_rate = 1e-3
log_every = 4
seed = 5
"#;

/// Every event of a run's log (one file expected), in file order.
fn events(run: &Path) -> Vec<Event> {
    let files = tensorboard::event_files(&run.join("tensorboard")).unwrap();
    assert_eq!(files.len(), 1, "{files:?}");
    let bytes = std::fs::read(&files[0]).unwrap();
    let (records, complete) = tensorboard::records(&bytes);
    assert!(complete, "every record whole, with good CRCs");
    records.into_iter().map(|r| Event::decode(r).unwrap()).collect()
}

/// `tag -> [(step, value)]` of the scalar summaries.
fn scalars(events: &[Event]) -> BTreeMap<String, Vec<(i64, f32)>> {
    let mut out: BTreeMap<String, Vec<(i64, f32)>> = BTreeMap::new();
    for e in events {
        if let Some(EventKind::Summary(s)) = &e.what {
            for v in &s.value {
                if let Some(ValueKind::SimpleValue(x)) = v.value {
                    out.entry(v.tag.clone()).or_default().push((e.step, x));
                }
            }
        }
    }
    out
}

/// `(step, png bytes)` of the `reconstructions` images, and the config texts.
fn images_and_texts(events: &[Event]) -> (Vec<(i64, i32, i32, Vec<u8>)>, Vec<(i64, String)>) {
    let (mut images, mut texts) = (Vec::new(), Vec::new());
    for e in events {
        if let Some(EventKind::Summary(s)) = &e.what {
            for v in &s.value {
                match &v.value {
                    Some(ValueKind::Image(i)) if v.tag == "reconstructions" => {
                        images.push((e.step, i.width, i.height, i.encoded_image_string.clone()))
                    }
                    Some(ValueKind::Tensor(t)) if v.tag == "config" => {
                        texts.push((e.step, String::from_utf8(t.string_val[0].clone()).unwrap()))
                    }
                    _ => {}
                }
            }
        }
    }
    (images, texts)
}

fn f(v: &serde_json::Value) -> f32 {
    v.as_f64().unwrap() as f32
}

#[test]
fn a_vae_run_logs_what_its_metrics_say_at_each_epochs_step() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "vae.toml", VAE);
    let o = train(tmp.path(), cfg.to_str().unwrap(), &[], &["--out", "run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = tmp.path().join("run");
    let m = metrics(&run);
    let ev = events(&run);
    assert_eq!(ev[0].what, Some(EventKind::FileVersion(tensorboard::FILE_VERSION.into())));
    let steps: Vec<i64> = ev.iter().map(|e| e.step).collect();
    assert!(steps.windows(2).all(|w| w[0] <= w[1]), "steps in order: {steps:?}");

    // 1000 MNIST items, 10 % validation: 900 training items, 9 steps an epoch, 27 in all.
    let per_epoch = m[0]["step"].as_i64().unwrap();
    assert_eq!(per_epoch, 9);
    let total = 3.0 * per_epoch as f64;
    let s = scalars(&ev);
    for (i, e) in m.iter().enumerate() {
        let step = e["step"].as_i64().unwrap();
        let at = |tag: &str| -> f32 {
            let found: Vec<f32> = s[tag].iter().filter(|(st, _)| *st == step).map(|(_, v)| *v).collect();
            assert_eq!(found.len(), 1, "{tag} once at step {step}: {found:?}");
            found[0]
        };
        assert_eq!(at("train/loss"), f(&e["train_loss"]));
        assert_eq!(at("val/loss"), f(&e["val_loss"]));
        assert_eq!(at("train/reconstruction"), f(&e["train_terms"]["reconstruction"]));
        assert_eq!(at("train/kl"), f(&e["train_terms"]["kl"]));
        assert_eq!(at("train/learning_rate"), 1e-3);
        assert_eq!(at("train/epoch"), (i + 1) as f32);
        assert_eq!(at("speed/samples_per_s"), f(&e["samples_per_s"]));
        let steps_per_s = per_epoch as f64 / e["seconds"].as_f64().unwrap();
        assert!((at("speed/steps_per_s") as f64 / steps_per_s - 1.0).abs() < 1e-5);
        // beta 2 reached at half of training: 2 * min(1, step / (0.5 * total)).
        let beta = 2.0 * (step as f64 / (0.5 * total)).min(1.0);
        assert_eq!(at("train/kl_weight"), beta as f32, "step {step}");
    }
    assert_eq!(s["train/kl_weight"].iter().map(|x| x.1).collect::<Vec<_>>(), vec![2.0 * 9.0 / 13.5, 2.0, 2.0]);
    // The running loss at every 4th step: 4, 8, 12 ... 24.
    let logged: Vec<i64> = s["train/loss_running"].iter().map(|x| x.0).collect();
    assert_eq!(logged, (1..=6).map(|k| 4 * k).collect::<Vec<_>>());
    assert!(s["train/loss_running"].iter().all(|x| x.1.is_finite() && x.1 > 0.0));

    let (images, texts) = images_and_texts(&ev);
    assert_eq!(images.iter().map(|x| x.0).collect::<Vec<_>>(), vec![9, 18, 27]);
    for (_, w, h, png) in &images {
        let img = image::load_from_memory(png).expect("a PNG");
        assert_eq!((img.width() as i32, img.height() as i32), (*w, *h));
        assert!(*w > 10 * 28 && *h > 2 * 28, "ten items over their reconstructions: {w}x{h}");
    }
    // The last epoch's picture is the run's reconstructions.png (the same model, the same items).
    assert_eq!(images[2].3, std::fs::read(run.join("reconstructions.png")).unwrap());
    let config = std::fs::read_to_string(run.join("config.toml")).unwrap();
    assert_eq!(texts.len(), 1);
    assert_eq!(texts[0].0, 0);
    let unindented: String = texts[0].1.lines().map(|l| l.strip_prefix("    ").unwrap().to_string() + "\n").collect();
    assert_eq!(unindented, config);
}

#[test]
fn a_resumed_run_continues_the_log_without_a_step_twice() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "vae.toml", VAE);
    let cfg = cfg.to_str().unwrap();
    let o = train(tmp.path(), cfg, &["train.epochs=2"], &["--out", "run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let run = tmp.path().join("run");
    // What a kill in epoch 3 leaves: its logged steps past the checkpoint, half a record.
    let file = tensorboard::event_files(&run.join("tensorboard")).unwrap().remove(0);
    let mut bytes = std::fs::read(&file).unwrap();
    let stray = Event {
        wall_time: 0.0,
        step: 20,
        what: Some(EventKind::Summary(tensorboard::Summary {
            value: vec![tensorboard::SummaryValue {
                tag: "train/loss_running".into(),
                metadata: None,
                value: Some(ValueKind::SimpleValue(-1.0)),
            }],
        })),
    };
    bytes.extend(tensorboard::frame(&stray.encode_to_vec()));
    bytes.extend(&tensorboard::frame(b"cut short by the kill")[..9]);
    std::fs::write(&file, bytes).unwrap();

    let o = train(tmp.path(), cfg, &["train.epochs=4"], &["--out", "run", "--resume"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let m = metrics(&run);
    assert_eq!(m.len(), 4);
    let ev = events(&run);
    let s = scalars(&ev);
    for (tag, points) in &s {
        let steps: Vec<i64> = points.iter().map(|p| p.0).collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]), "{tag}: every step once, in order: {steps:?}");
    }
    assert!(s["train/loss_running"].iter().all(|p| p.1 > 0.0), "the killed epoch's value is gone");
    let epochs: Vec<(i64, f32)> = m.iter().map(|e| (e["step"].as_i64().unwrap(), f(&e["train_loss"]))).collect();
    assert_eq!(s["train/loss"], epochs);
    assert_eq!(s["train/loss_running"].iter().map(|p| p.0).collect::<Vec<_>>(), vec![4, 8, 12, 16, 20, 24, 28, 32, 36]);
    let (images, texts) = images_and_texts(&ev);
    assert_eq!(images.len(), 4);
    // The config at the start, and at the resumed step, where `train.epochs` changed.
    assert_eq!(texts.iter().map(|t| t.0).collect::<Vec<_>>(), vec![0, 18]);
    assert!(texts[0].1.contains("epochs = 2") && texts[1].1.contains("epochs = 4"));
    assert_eq!(ev.iter().filter(|e| matches!(e.what, Some(EventKind::FileVersion(_)))).count(), 1);
    assert_eq!(std::fs::read_dir(run.join("tensorboard")).unwrap().count(), 1, "no temporary file left");

    // TensorBoard's own reader, when a Python with the `tensorboard` package is named.
    if let Some(python) = std::env::var_os("AE_TENSORBOARD_PYTHON") {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/tensorboard_check.py");
        let o = std::process::Command::new(python).arg(script).arg(&run).output().unwrap();
        assert_eq!(o.status.code(), Some(0), "{}\n{}", stdout(&o), stderr(&o));
        eprintln!("{}", stdout(&o));
    }
}

#[test]
fn tensorboard_off_writes_no_log() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = write_config(tmp.path(), "vae.toml", VAE);
    let o = train(tmp.path(), cfg.to_str().unwrap(), &["train.epochs=1", "train.tensorboard=false"], &["--out", "run"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(tmp.path().join("run/model.bpk").is_file());
    assert!(!tmp.path().join("run/tensorboard").exists());
}
