//! Library use and interop, through the binary: the loss curve of every run (`loss.png`),
//! `show`, `init` (starter configs that train as written) and `export` (safetensors + model.json,
//! checked in Rust, and in PyTorch by scripts/check_export.py when `AE_TORCH_PYTHON` names a
//! Python with torch).

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use ae_models::network::{Decoder, Encoder};
use common::*;
use serde_json::Value;

/// Scratch folder of this test binary's runs (emptied once per process).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Trains `config` (TOML text) once per process into `scratch()/name` on the CPU backend.
fn trained(cell: &'static OnceLock<PathBuf>, name: &str, config: &str) -> &'static Path {
    cell.get_or_init(|| {
        let path = write_config(scratch(), &format!("{name}.toml"), config);
        let out = scratch().join(name);
        let o = train(scratch(), path.to_str().unwrap(), &[], &["--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "training {name}: {}", stderr(&o));
        out
    })
}

const DENSE: &str = r#"
name = "dense"
[data]
dataset = "shapes"
limit = 400
[model.network]
kind = "dense"
hidden = [32]
code = 4
output_activation = "sigmoid"
[model.loss]
kind = "bce"
[train]
epochs = 3
batch_size = 50
learning_rate = 3e-3
seed = 2
"#;

fn dense() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(&RUN, "dense", DENSE)
}

fn vae() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(
        &RUN,
        "vae",
        r#"
name = "vae"
[data]
dataset = "shapes"
limit = 300
[model.network]
kind = "dense"
hidden = [32, 16]
code = 3
activation = "selu"
output_activation = "sigmoid"
[model.bottleneck]
kind = "gaussian"
[model.loss]
kind = "bernoulli"
[train]
epochs = 2
batch_size = 50
learning_rate = 2e-3
"#,
    )
}

/// Strided convolutions with batch norm, a dense code and an upsampling decoder.
fn conv_upsample() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(
        &RUN,
        "conv_upsample",
        r#"
name = "conv_upsample"
[data]
dataset = "shapes"
limit = 300
[model.network]
kind = "conv"
channels = [4, 8]
upsampling = "upsample"
batch_norm = true
code = 8
output_activation = "sigmoid"
[model.loss]
kind = "bce"
[train]
epochs = 2
batch_size = 50
learning_rate = 2e-3
"#,
    )
}

/// Transposed convolutions, no dense code (identity bottleneck).
fn conv_transpose() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(
        &RUN,
        "conv_transpose",
        r#"
name = "conv_transpose"
[data]
dataset = "shapes"
limit = 300
[model.network]
kind = "conv"
channels = [4, 6]
decoder_kernel = 4
activation = "elu"
output_activation = "sigmoid"
[model.bottleneck]
kind = "identity"
[train]
epochs = 2
batch_size = 50
learning_rate = 2e-3
"#,
    )
}

/// Tied weights and a k-sparse code.
fn tied_top_k() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(
        &RUN,
        "tied_top_k",
        r#"
name = "tied_top_k"
[data]
dataset = "shapes"
limit = 300
[model.network]
kind = "dense"
hidden = [24]
code = 12
tied = true
output_activation = "sigmoid"
[model.bottleneck]
kind = "top_k"
k = 4
[train]
epochs = 2
batch_size = 50
learning_rate = 2e-3
"#,
    )
}

/// A 1-D convolutional network over real ECG series: 1-high maps, an even kernel whose `same`
/// padding in the upsampling decoder is unequal on the two sides.
fn series_conv() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(
        &RUN,
        "series_conv",
        r#"
name = "series_conv"
[data]
dataset = "ecg5000"
limit = 200
test_fraction = 0.2
[model.network]
kind = "conv"
channels = [4, 8]
kernel = 4
upsampling = "upsample"
code = 6
activation = "tanh"
[train]
epochs = 2
batch_size = 20
learning_rate = 2e-3
"#,
    )
}

fn bin(cwd: &Path, args: &[&str]) -> Output {
    ae_train(cwd, args)
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))).unwrap()
}

// ---------------------------------------------------------------------------------------------
// loss.png

#[test]
fn every_run_draws_its_loss_curve() {
    let run = dense();
    let png = run.join("loss.png");
    assert_eq!(png_size(&png), (1000, 750));
    let img = image::open(&png).unwrap().to_rgb8();
    // Two coloured series over a white canvas: plenty of pixels that are neither white nor grey.
    let coloured = img.pixels().filter(|p| p.0.iter().max().unwrap() - p.0.iter().min().unwrap() > 60).count();
    assert!(coloured > 500, "only {coloured} coloured pixels in loss.png");
    // No temporary file is left beside it.
    let leftovers: Vec<String> = std::fs::read_dir(run)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    // --force replaces the run, loss curve included.
    let forced = scratch().join("dense_forced");
    std::fs::create_dir_all(&forced).unwrap();
    std::fs::copy(&png, forced.join("loss.png")).unwrap();
    std::fs::write(forced.join("summary.json"), "{}").unwrap();
    let cfg = scratch().join("dense.toml");
    let o =
        train(scratch(), cfg.to_str().unwrap(), &["train.epochs=1"], &["--out", forced.to_str().unwrap(), "--force"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(png_size(&forced.join("loss.png")), (1000, 750));
    assert_ne!(std::fs::read(forced.join("loss.png")).unwrap(), std::fs::read(&png).unwrap());
}

// ---------------------------------------------------------------------------------------------
// show

#[test]
fn show_sums_up_a_run_and_describes_its_files() {
    let run = dense();
    let o = bin(scratch(), &["show", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = stdout(&o);
    let summary = read_json(&run.join("summary.json"));
    let last = &summary["last_epoch"];
    for needle in [
        "experiment: dense".to_string(),
        "784-32-4 dense".into(),
        "bottleneck deterministic".into(),
        "loss bce".into(),
        "shapes".into(),
        format!("{} epochs", summary["epochs"]),
        format!("train {:.6}", last["train_loss"].as_f64().unwrap()),
        format!("val {:.6}", last["val_loss"].as_f64().unwrap()),
        format!("test {:.6}", summary["test"]["loss"].as_f64().unwrap()),
        format!("{} parameters", summary["parameters"]),
        summary["backend"].as_str().unwrap().to_string(),
    ] {
        assert!(out.contains(&needle), "`{needle}` missing from:\n{out}");
    }
    let file_line = |name: &str| out.lines().find(|l| l.trim_start().starts_with(name)).map(str::to_string);
    for name in ["loss.png", "reconstructions.png", "summary.json", "metrics.jsonl", "normalizer.json"] {
        let line = file_line(name).unwrap_or_else(|| panic!("{name} not listed:\n{out}"));
        assert!(line.trim().len() > name.len() + 10, "no description: {line}");
    }
    assert!(file_line("loss.png").unwrap().contains("loss per epoch"));
    // A file written later is listed too.
    std::fs::write(run.join("notes.csv"), "a,b\n").unwrap();
    let o = bin(scratch(), &["show", run.to_str().unwrap()]);
    assert!(stdout(&o).lines().any(|l| l.contains("notes.csv") && l.contains("not written by ae-train")));
    std::fs::remove_file(run.join("notes.csv")).unwrap();
}

#[test]
fn show_refuses_what_is_not_a_run_folder() {
    let empty = scratch().join("not_a_run");
    std::fs::create_dir_all(&empty).unwrap();
    for path in [empty.clone(), scratch().join("does_not_exist")] {
        let o = bin(scratch(), &["show", path.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.starts_with("error: ") && e.contains("not a run folder") && e.contains(path.to_str().unwrap()),
            "{e}"
        );
        assert!(stdout(&o).is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// init

/// Every variant of configs/ as `init` names it.
const VARIANTS: [&str; 16] = [
    "basic",
    "deep",
    "linear",
    "convolutional",
    "denoising",
    "sparse",
    "k_sparse",
    "contractive",
    "robust",
    "variational",
    "adversarial",
    "hashing",
    "overcomplete",
    "sequence",
    "sequence_lstm",
    "anomaly",
];

/// Writes the starter of `variant` on `dataset` into a folder of its own and trains it for one
/// epoch on `limit` items; returns the config text.
fn init_and_train(variant: &str, dataset: &str, limit: usize) -> String {
    let dir = scratch().join(format!("init_{variant}_{dataset}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let o = bin(&dir, &["init", variant, dataset]);
    assert_eq!(o.status.code(), Some(0), "init {variant} {dataset}: {}", stderr(&o));
    let file = dir.join(format!("{variant}_{dataset}.toml"));
    assert!(stdout(&o).contains(&format!("{variant}_{dataset}.toml")), "{}", stdout(&o));
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let limit = format!("data.limit={limit}");
    let o = train(&dir, file.to_str().unwrap(), &["train.epochs=1", &limit], &[]);
    assert_eq!(o.status.code(), Some(0), "training the starter of {variant} on {dataset}: {}\n{text}", stderr(&o));
    let summary = read_json(&dir.join("runs").join(format!("{variant}_{dataset}")).join("summary.json"));
    assert_eq!(summary["epochs"], 1);
    assert!(summary["test"]["loss"].as_f64().unwrap().is_finite());
    text
}

#[test]
fn init_starters_train_as_written_on_shapes() {
    for variant in VARIANTS.iter().filter(|v| !v.starts_with("sequence")) {
        let text = init_and_train(variant, "shapes", 200);
        // Commented: every key line carries an explanation.
        for line in text.lines().filter(|l| !l.trim_start().starts_with('#') && l.contains(" = ")) {
            assert!(line.contains(" # "), "{variant}: key without a comment: {line}");
        }
        assert!(text.contains("dataset = \"shapes\""), "{text}");
    }
    // The model is the preset's: a few distinctive settings.
    let text = std::fs::read_to_string(scratch().join("init_k_sparse_shapes/k_sparse_shapes.toml")).unwrap();
    assert!(text.contains("kind = \"top_k\"") && text.contains("tied = true") && text.contains("k = 25"), "{text}");
    let text = std::fs::read_to_string(scratch().join("init_deep_shapes/deep_shapes.toml")).unwrap();
    assert!(text.contains("hidden = [1000, 500, 250]"), "{text}");
}

#[test]
fn init_starters_train_on_real_data() {
    init_and_train("basic", "mnist", 300);
    init_and_train("variational", "mnist", 300);
    init_and_train("convolutional", "fashion-mnist", 300);
    init_and_train("sequence", "ecg5000", 200);
    init_and_train("sequence_lstm", "ecg5000", 100);
    // A sigmoid / BCE preset on z-scored features gets unit normalisation.
    let text = init_and_train("denoising", "satellite", 300);
    assert!(text.contains("normalize = \"unit\""), "{text}");
    let text = init_and_train("linear", "satellite", 300);
    assert!(!text.lines().any(|l| l.starts_with("normalize")), "{text}");
    // The tabular anomaly preset fits every row: no validation split held out.
    let text = init_and_train("anomaly", "satellite", 300);
    assert!(text.contains("val_fraction = 0.0") && text.contains("batch_norm = true"), "{text}");
}

#[test]
fn init_refuses_unknown_names_mismatched_pairs_and_existing_files() {
    let dir = scratch().join("init_refusals");
    std::fs::create_dir_all(&dir).unwrap();
    let refused = |args: &[&str], code: i32, needles: &[&str]| {
        let o = bin(&dir, args);
        assert_eq!(o.status.code(), Some(code), "{args:?}: {}", stderr(&o));
        let e = stderr(&o);
        for n in needles {
            assert!(e.starts_with("error: ") && e.contains(n), "{args:?}: `{n}` missing from {e}");
        }
    };
    refused(&["init", "convolutional", "satellite"], 2, &["`convolutional`", "`satellite`"]);
    refused(&["init", "sequence", "shapes"], 2, &["`sequence`", "`shapes`"]);
    refused(&["init", "sequence_lstm", "mnist"], 2, &["`sequence_lstm`", "`mnist`"]);
    refused(&["init", "fancy", "mnist"], 2, &["unknown variant `fancy`", "basic", "overcomplete"]);
    refused(&["init", "basic", "imagenet"], 2, &["unknown dataset `imagenet`", "fashion-mnist"]);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "a refused init wrote a file");

    // An alias names the same preset; an existing file is never overwritten.
    let o = bin(&dir, &["init", "binary", "shapes", "--out", "mine.toml"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let first = std::fs::read_to_string(dir.join("mine.toml")).unwrap();
    assert!(first.contains("kind = \"binary\""), "{first}");
    std::fs::write(dir.join("mine.toml"), "# mine\n").unwrap();
    refused(&["init", "basic", "mnist", "--out", "mine.toml"], 1, &["mine.toml", "already exists"]);
    assert_eq!(std::fs::read_to_string(dir.join("mine.toml")).unwrap(), "# mine\n");
}

// ---------------------------------------------------------------------------------------------
// export

/// A safetensors file read back: name -> (dtype, shape, values), and its metadata.
struct SafeTensors {
    tensors: BTreeMap<String, (String, Vec<usize>, Vec<f32>)>,
    metadata: Value,
}

/// Parses a safetensors file independently of the writer: the header length, the JSON header,
/// offsets that tile the data exactly.
fn read_safetensors(path: &Path) -> SafeTensors {
    let bytes = std::fs::read(path).unwrap();
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let header: serde_json::Map<String, Value> = serde_json::from_slice(&bytes[8..8 + n]).unwrap();
    let data = &bytes[8 + n..];
    let mut spans = Vec::new();
    let mut tensors = BTreeMap::new();
    let mut metadata = Value::Null;
    for (name, info) in header {
        if name == "__metadata__" {
            metadata = info;
            continue;
        }
        let dtype = info["dtype"].as_str().unwrap().to_string();
        let shape: Vec<usize> =
            info["shape"].as_array().unwrap().iter().map(|d| d.as_u64().unwrap() as usize).collect();
        let [start, end] = [0, 1].map(|i| info["data_offsets"][i].as_u64().unwrap() as usize);
        assert_eq!(end - start, shape.iter().product::<usize>() * 4, "{name}: offsets do not fit the shape");
        let values = data[start..end].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
        spans.push((start, end));
        tensors.insert(name, (dtype, shape, values));
    }
    spans.sort();
    let mut at = 0;
    for (s, e) in spans {
        assert_eq!(s, at, "gap or overlap in the data");
        at = e;
    }
    assert_eq!(at, data.len(), "data beyond the last tensor");
    SafeTensors { tensors, metadata }
}

/// Exports `run` into `run/export` and returns the folder.
fn export(run: &Path) -> PathBuf {
    let o = bin(scratch(), &["export", run.to_str().unwrap(), "--format", "safetensors", "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(0), "export {}: {}", run.display(), stderr(&o));
    assert!(stdout(&o).contains("model.safetensors"), "{}", stdout(&o));
    run.join("export")
}

fn shapes_of(st: &SafeTensors) -> BTreeMap<&str, Vec<usize>> {
    st.tensors.iter().map(|(k, v)| (k.as_str(), v.1.clone())).collect()
}

/// Values of a Burn tensor.
fn burn_values<const D: usize>(t: burn::tensor::Tensor<D>) -> (Vec<usize>, Vec<f32>) {
    (t.dims().to_vec(), t.into_data().try_into_vec::<f32>().unwrap())
}

/// An `.npy` f32 matrix: (rows, cols, values).
fn read_npy(path: &Path) -> (usize, usize, Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00");
    let len = u16::from_le_bytes([b[8], b[9]]) as usize;
    let header = std::str::from_utf8(&b[10..10 + len]).unwrap();
    let shape = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let dims: Vec<usize> =
        shape.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap()).collect();
    let values: Vec<f32> = b[10 + len..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(values.len(), dims[0] * dims[1]);
    (dims[0], dims[1], values)
}

#[test]
fn export_dense_writes_torch_names_and_layouts() {
    let run = dense();
    let dir = export(run);
    let st = read_safetensors(&dir.join("model.safetensors"));
    let expected: BTreeMap<&str, Vec<usize>> = [
        ("encoder.layers.0.weight", vec![32, 784]),
        ("encoder.layers.0.bias", vec![32]),
        ("bottleneck.linear.weight", vec![4, 32]),
        ("bottleneck.linear.bias", vec![4]),
        ("decoder.layers.0.weight", vec![32, 4]),
        ("decoder.layers.0.bias", vec![32]),
        ("decoder.layers.2.weight", vec![784, 32]),
        ("decoder.layers.2.bias", vec![784]),
    ]
    .into_iter()
    .collect();
    assert_eq!(shapes_of(&st), expected);
    assert!(st.tensors.values().all(|t| t.0 == "F32"));
    assert_eq!(st.metadata["format"], "pt");

    // The weights are the trained model's, Linear weights transposed from Burn's [in, out].
    let t = ae_train::run_folder::trained::load(run, Some(ae_train::backend::BackendChoice::Flex)).unwrap();
    let Encoder::Dense(enc) = &t.model.encoder else { panic!("dense encoder") };
    let (shape, burn_w) = burn_values(enc.layers[0].weight.val());
    assert_eq!(shape, vec![784, 32]);
    let exported = &st.tensors["encoder.layers.0.weight"].2;
    for i in 0..784 {
        for o in 0..32 {
            assert_eq!(exported[o * 784 + i], burn_w[i * 32 + o], "weight [{o}, {i}]");
        }
    }
    let Decoder::Dense(dec) = &t.model.decoder else { panic!("dense decoder") };
    let (_, bias) = burn_values(dec.layers[1].bias.as_ref().unwrap().val());
    assert_eq!(st.tensors["decoder.layers.2.bias"].2, bias);

    let json = read_json(&dir.join("model.json"));
    assert_eq!(json["network"], "dense");
    assert_eq!(json["input_shape"], serde_json::json!([1, 28, 28]));
    assert_eq!(json["output_activation"], "sigmoid");
    assert_eq!(json["bottleneck"]["kind"], "deterministic");
    let ops: Vec<&str> = json["decoder"].as_array().unwrap().iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert_eq!(ops, ["linear", "activation", "linear"]);
    assert_eq!(json["normalization"]["kind"], "unit");
    assert_eq!(json["tensors"], 8);

    // Reference reconstructions: normalised test items and outputs in (0, 1).
    let (n, cols, x) = read_npy(&dir.join("check_input.npy"));
    let (m, cols2, y) = read_npy(&dir.join("check_output.npy"));
    assert_eq!((n, cols, m, cols2), (8, 784, 8, 784));
    assert!(x.iter().all(|v| (0.0..=1.0).contains(v)) && x.iter().any(|&v| v > 0.5));
    assert!(y.iter().all(|v| (0.0..=1.0).contains(v)) && y != x);
}

/// A dense network with batch norm and dropout after both hidden layers.
fn dense_regularised() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    let config = DENSE
        .replace("name = \"dense\"", "name = \"dense-regularised\"")
        .replace("hidden = [32]\ncode = 4", "hidden = [32, 16]\ncode = 4\ndropout = [0.2, 0.1]\nbatch_norm = true");
    trained(&RUN, "dense-regularised", &config)
}

#[test]
fn export_dense_batch_norm_and_dropout_with_trained_running_statistics() {
    let run = dense_regularised();
    let dir = export(run);
    let json = read_json(&dir.join("model.json"));
    let ops = |half: &str| -> Vec<String> {
        json[half].as_array().unwrap().iter().map(|o| o["op"].as_str().unwrap().to_string()).collect()
    };
    let block = ["linear", "batch_norm1d", "activation", "dropout"];
    assert_eq!(ops("encoder"), [block, block].concat());
    assert_eq!(ops("decoder"), [&block[..], &block[..], &["linear"]].concat());
    let p: Vec<f64> =
        json["decoder"].as_array().unwrap().iter().filter_map(|o| o.get("p").and_then(|p| p.as_f64())).collect();
    assert_eq!(p.len(), 2);
    assert!((p[0] - 0.1).abs() < 1e-9 && (p[1] - 0.2).abs() < 1e-9, "decoder rates {p:?} mirror [0.2, 0.1]");

    // The running statistics are the trained ones, saved in the run's checkpoint: they have moved
    // from batch norm's initial mean 0 and variance 1, and equal the loaded model's.
    let st = read_safetensors(&dir.join("model.safetensors"));
    let shapes = shapes_of(&st);
    assert_eq!(shapes["encoder.layers.1.running_mean"], vec![32]);
    assert_eq!(shapes["encoder.layers.5.running_var"], vec![16]);
    assert_eq!(shapes["decoder.layers.1.weight"], vec![16]);
    assert_eq!(shapes["decoder.layers.5.running_mean"], vec![32]);
    let t = ae_train::run_folder::trained::load(run, Some(ae_train::backend::BackendChoice::Flex)).unwrap();
    let Encoder::Dense(enc) = &t.model.encoder else { panic!("dense encoder") };
    let (_, mean) = burn_values(enc.norms[0].running_mean.value());
    let (_, var) = burn_values(enc.norms[0].running_var.value());
    assert_eq!(st.tensors["encoder.layers.1.running_mean"].2, mean);
    assert_eq!(st.tensors["encoder.layers.1.running_var"].2, var);
    assert!(mean.iter().any(|&m| m.abs() > 1e-3), "running means still 0: {mean:?}");
    assert!(var.iter().any(|&v| (v - 1.0).abs() > 1e-3), "running variances still 1: {var:?}");

    // Evaluation is deterministic: exporting again gives the same reference outputs.
    let again = scratch().join("export-again");
    let o = bin(scratch(), &["export", run.to_str().unwrap(), "--out", again.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(read_npy(&dir.join("check_output.npy")), read_npy(&again.join("check_output.npy")));
}

#[test]
fn export_names_every_bottleneck_and_conv_layer() {
    let vae_dir = export(vae());
    let st = read_safetensors(&vae_dir.join("model.safetensors"));
    let s = shapes_of(&st);
    assert_eq!(s["bottleneck.mu.weight"], vec![3, 16]);
    assert_eq!(s["bottleneck.log_var.weight"], vec![3, 16]);
    assert_eq!(s["encoder.layers.2.weight"], vec![16, 32]);
    assert_eq!(s["decoder.layers.4.weight"], vec![784, 32]);
    assert_eq!(read_json(&vae_dir.join("model.json"))["bottleneck"]["kind"], "gaussian");

    // Conv2d [out, in, kh, kw], batch norms with running statistics, the projection transposed.
    let conv_dir = export(conv_upsample());
    let conv = read_safetensors(&conv_dir.join("model.safetensors"));
    let s = shapes_of(&conv);
    assert_eq!(s["encoder.layers.1.weight"], vec![4, 1, 3, 3]);
    assert_eq!(s["encoder.layers.2.running_var"], vec![4]);
    assert_eq!(s["encoder.layers.4.weight"], vec![8, 4, 3, 3]);
    assert_eq!(s["bottleneck.linear.weight"], vec![8, 8 * 7 * 7]);
    assert_eq!(s["decoder.layers.0.weight"], vec![8 * 7 * 7, 8]);
    let json = read_json(&conv_dir.join("model.json"));
    let ops: Vec<&str> = json["decoder"].as_array().unwrap().iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert_eq!(
        ops,
        [
            "linear",
            "activation",
            "unflatten",
            "upsample",
            "conv2d",
            "batch_norm2d",
            "activation",
            "upsample",
            "conv2d",
            "flatten"
        ]
    );
    assert_eq!(json["decoder"][3]["size"], serde_json::json!([14, 14]));

    // ConvTranspose2d [in, out, kh, kw] with its output padding; identity bottleneck: no tensors.
    let t_dir = export(conv_transpose());
    let st = read_safetensors(&t_dir.join("model.safetensors"));
    let s = shapes_of(&st);
    assert_eq!(s["decoder.layers.1.weight"], vec![6, 4, 4, 4]);
    assert_eq!(s["decoder.layers.3.weight"], vec![4, 1, 4, 4]);
    assert!(!s.keys().any(|k| k.starts_with("bottleneck")));
    let t =
        ae_train::run_folder::trained::load(conv_transpose(), Some(ae_train::backend::BackendChoice::Flex)).unwrap();
    let Decoder::Conv(dec) = &t.model.decoder else { panic!("conv decoder") };
    let ae_models::network::conv::DecoderLayer::Transpose(first) = &dec.layers[0] else { panic!("transposed") };
    assert_eq!(burn_values(first.weight.val()).1, st.tensors["decoder.layers.1.weight"].2);

    // Tied weights are written out for the decoder: its first layer is the code layer's weight.
    let tied_dir = export(tied_top_k());
    let st = read_safetensors(&tied_dir.join("model.safetensors"));
    let s = shapes_of(&st);
    assert_eq!(s["decoder.layers.0.weight"], vec![24, 12]);
    assert_eq!(s["decoder.layers.2.weight"], vec![784, 24]);
    let code = &st.tensors["bottleneck.linear.weight"].2; // [12, 24]
    let first = &st.tensors["decoder.layers.0.weight"].2; // [24, 12]
    for i in 0..12 {
        for j in 0..24 {
            assert_eq!(first[j * 12 + i], code[i * 24 + j]);
        }
    }
    let json = read_json(&tied_dir.join("model.json"));
    assert_eq!((json["tied"].as_bool(), json["bottleneck"]["k"].as_u64()), (Some(true), Some(4)));
}

#[test]
fn export_refuses_lstm_networks_and_non_runs() {
    let dir = scratch().join("lstm_export");
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("run");
    let o = train(
        &dir,
        "sequence_lstm.toml",
        &["train.epochs=1", "data.limit=60", "model.network.hidden=8"],
        &["--out", out.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let o = bin(&dir, &["export", out.to_str().unwrap(), "--backend", "flex"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("LSTM") && stderr(&o).contains("dense and convolutional"), "{}", stderr(&o));
    assert!(!out.join("export").exists());
    let o = bin(&dir, &["export", dir.to_str().unwrap()]);
    assert_ne!(o.status.code(), Some(0));
    assert!(stderr(&o).contains("not a run folder"), "{}", stderr(&o));
}

/// scripts/check_export.py in PyTorch on every kind of export, when `AE_TORCH_PYTHON` names a
/// Python with torch, numpy and safetensors.
#[test]
fn exports_rebuild_in_torch_with_the_same_outputs() {
    let Some(python) = std::env::var_os("AE_TORCH_PYTHON") else {
        eprintln!("skipped: set AE_TORCH_PYTHON to a Python with torch, numpy and safetensors to run check_export.py");
        return;
    };
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/check_export.py");
    for run in [dense(), dense_regularised(), vae(), conv_upsample(), conv_transpose(), tied_top_k(), series_conv()] {
        let dir = scratch().join("torch").join(run.file_name().unwrap());
        let o = bin(scratch(), &["export", run.to_str().unwrap(), "--out", dir.to_str().unwrap(), "--backend", "flex"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let o = Command::new(&python).arg(&script).arg(&dir).output().expect("running python");
        let out = stdout(&o);
        assert_eq!(o.status.code(), Some(0), "{}: {out}{}", run.display(), stderr(&o));
        let diff: f64 =
            out.split("max abs difference ").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
        // Batch norm and dropout in eval mode match PyTorch's nn.BatchNorm1d / nn.Dropout to 1e-5.
        let tolerance = if run == dense_regularised() { 1e-5 } else { 1e-4 };
        assert!(diff <= tolerance, "{out}");
        println!("{out}");
    }
    // A tampered weight is caught.
    let dir = scratch().join("torch").join("dense");
    let path = dir.join("model.safetensors");
    let mut bytes = std::fs::read(&path).unwrap();
    let n = bytes.len();
    for b in &mut bytes[n - 400..] {
        *b = b.wrapping_add(7);
    }
    std::fs::write(&path, bytes).unwrap();
    let o = Command::new(&python).arg(&script).arg(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}{}", stdout(&o), stderr(&o));
}
