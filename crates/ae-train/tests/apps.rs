//! The application subcommands (`encode`, `anomaly`, `generate`, `impute`, `hash`, `cluster`,
//! `assist`, `compress`) on small models trained once, through the binary, on real MNIST and
//! satellite data.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::*;
use serde_json::Value;

/// Scratch folder of this test binary's runs (emptied once per process).
fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("apps");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    })
}

/// Trains a shipped config with overrides once per process, on the CPU backend.
fn trained(cell: &'static OnceLock<PathBuf>, name: &str, config: &str, sets: &[&str]) -> &'static Path {
    cell.get_or_init(|| {
        let out = scratch().join(name);
        let o = train(scratch(), config, sets, &["--out", out.to_str().unwrap()]);
        assert_eq!(o.status.code(), Some(0), "training {name}: {}", stderr(&o));
        out
    })
}

/// The seeds' 784-400-200-100-50-2 network on 6000 MNIST images.
fn mnist_2d() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(&RUN, "mnist_2d", "mnist_2d.toml", &["data.limit=6000", "train.epochs=10"])
}

/// The seeds' 36-8-2-8-36 selu network on the satellite data.
fn satellite() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(&RUN, "satellite", "satellite_2d.toml", &["train.epochs=20"])
}

/// A VAE on 3000 MNIST images.
fn vae() -> &'static Path {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    trained(&RUN, "vae", "mnist_vae.toml", &["data.limit=3000", "train.epochs=4"])
}

/// Runs a subcommand on the CPU backend.
fn app(sub: &str, run: &Path, extra: &[&str]) -> Output {
    let mut args = vec![sub, run.to_str().unwrap(), "--backend", "flex"];
    args.extend(extra);
    ae_train(scratch(), &args)
}

/// Runs a subcommand that must succeed and returns its JSON report.
fn report(sub: &str, run: &Path, extra: &[&str], json: &str) -> Value {
    let o = app(sub, run, extra);
    assert_eq!(o.status.code(), Some(0), "{sub}: {}", stderr(&o));
    assert!(stdout(&o).contains(&format!("{sub} {}", run.display())), "{sub}: {}", stdout(&o));
    serde_json::from_slice(&std::fs::read(run.join(json)).unwrap()).unwrap()
}

/// A usage error (exit 2) whose message contains `needle`.
fn refused(o: &Output, needle: &str) {
    assert_eq!(o.status.code(), Some(2), "{}", stderr(o));
    let e = stderr(o);
    assert!(e.starts_with("error: ") && e.contains(needle), "expected `{needle}` in: {e}");
}

fn num(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

fn png_size(path: &Path) -> (u32, u32) {
    let img = image::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (img.width(), img.height())
}

/// Parses an NPY file written as little-endian f32: (shape, values).
fn read_npy(path: &Path) -> ((usize, usize), Vec<f32>) {
    let b = std::fs::read(path).unwrap();
    assert_eq!(&b[..8], b"\x93NUMPY\x01\x00", "magic and version 1.0");
    let len = u16::from_le_bytes([b[8], b[9]]) as usize;
    assert_eq!((10 + len) % 64, 0, "data aligned to 64 bytes");
    let header = std::str::from_utf8(&b[10..10 + len]).unwrap();
    assert!(header.ends_with('\n'), "{header:?}");
    assert!(header.contains("'descr': '<f4'") && header.contains("'fortran_order': False"), "{header}");
    let shape = header.split("'shape': (").nth(1).unwrap().split(')').next().unwrap();
    let dims: Vec<usize> =
        shape.split(',').map(|s| s.trim()).filter(|s| !s.is_empty()).map(|s| s.parse().unwrap()).collect();
    let data = &b[10 + len..];
    assert_eq!(data.len(), dims[0] * dims[1] * 4);
    ((dims[0], dims[1]), data.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect())
}

#[test]
fn encode_writes_codes_as_csv_npy_and_a_scatter() {
    let run = mnist_2d();
    let r = report("encode", run, &[], "encode.json");
    assert_eq!((r["items"].as_u64(), r["code_width"].as_u64()), (Some(6000), Some(2)));
    assert_eq!(r["projection"]["method"], "codes");
    // 5-NN of the test codes among the training codes: far above the 0.1 of chance.
    let acc = num(&r["knn"]["accuracy"]);
    assert!(acc > 0.4 && acc <= 1.0, "5-NN accuracy {acc}");
    assert_eq!(r["knn"]["reference_items"], 6000);

    let ((n, d), values) = read_npy(&run.join("codes_test.npy"));
    assert_eq!((n, d), (6000, 2));
    let csv = std::fs::read_to_string(run.join("codes_test.csv")).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "label,code_0,code_1");
    assert_eq!(lines.len(), 6001);
    for (i, line) in lines[1..].iter().enumerate().step_by(997) {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(cells[0].parse::<u16>().unwrap() < 10);
        assert_eq!(cells[1].parse::<f32>().unwrap(), values[i * 2], "row {i}");
        assert_eq!(cells[2].parse::<f32>().unwrap(), values[i * 2 + 1], "row {i}");
    }
    assert_eq!(png_size(&run.join("codes_test.png")), (1000, 750));
    if let Ok(o) = std::process::Command::new("python3")
        .args(["-c", "import numpy, sys; a = numpy.load(sys.argv[1]); print(a.shape, a.dtype)"])
        .arg(run.join("codes_test.npy"))
        .output()
        && o.status.success()
    {
        assert_eq!(String::from_utf8_lossy(&o.stdout).trim(), "(6000, 2) float32");
    }

    // The satellite codes of the training split: k-NN leave-one-out.
    let sat = satellite();
    let r = report("encode", sat, &["--split", "train", "--k", "7"], "encode.json");
    assert_eq!(r["items"], 4435);
    assert_eq!(r["knn"]["k"], 7);
    assert!(num(&r["knn"]["accuracy"]) > 0.7, "{}", r["knn"]);
    assert!(sat.join("codes_train.npy").is_file() && sat.join("codes_train.png").is_file());

    refused(&app("encode", run, &["--split", "val"]), "no val split");
    refused(&app("encode", run, &["--k", "0"]), "--k 0");
    refused(&app("encode", run, &["--bogus"]), "--bogus");
    refused(&app("encode", &scratch().join("nowhere"), &[]), "not a run folder");
}

#[test]
fn icecore_study_draws_the_unlabelled_core_images_among_the_training_particles() {
    // configs/experiments/icecore.toml on the real sample images: 7 labelled training particles (one per
    // class) and 2 unlabelled GRIP ice-core images as the test split.
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    let run = trained(&RUN, "icecore", "icecore.toml", &["train.epochs=5"]);
    let m = metrics(run);
    assert!(m[4]["train_loss"].as_f64().unwrap() < m[0]["train_loss"].as_f64().unwrap());
    let r = report("encode", run, &["--split", "train", "--beside", "test", "--k", "1"], "encode.json");
    assert_eq!((r["items"].as_u64(), r["code_width"].as_u64()), (Some(7), Some(2)));
    assert_eq!(r["projection"]["method"], "codes");
    let files: Vec<&str> = r["files"].as_array().unwrap().iter().map(|f| f.as_str().unwrap()).collect();
    assert!(files.contains(&"codes_train_test.png"), "{files:?}");
    assert_eq!(png_size(&run.join("codes_train_test.png")), (1000, 750));
    // The picture holds both splits: it differs from the training split drawn alone.
    report("encode", run, &["--split", "train", "--k", "1"], "encode.json");
    assert_ne!(
        std::fs::read(run.join("codes_train.png")).unwrap(),
        std::fs::read(run.join("codes_train_test.png")).unwrap()
    );
    refused(&app("encode", run, &["--split", "train", "--beside", "train"]), "--beside train");
}

#[test]
fn anomaly_ranks_other_digits_above_the_trained_one() {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    let run = trained(&RUN, "anomaly", "mnist_anomaly.toml", &["data.limit=10000", "train.epochs=15"]);
    let r = report("anomaly", run, &[], "anomaly.json");
    assert_eq!(r["normal_from"], "data.classes");
    assert_eq!(r["normal_classes"], serde_json::json!([0]));
    let s = &r["separation"];
    let auroc = num(&s["auroc"]);
    assert!(auroc > 0.9 && auroc <= 1.0, "AUROC {auroc}");
    let ap = num(&s["average_precision"]);
    assert!(ap > 0.9 && ap <= 1.0, "AP {ap}");
    assert_eq!(s["anomalous_items"].as_u64().unwrap() + s["normal_items"].as_u64().unwrap(), 10000);
    assert_eq!(r["classes"].as_array().unwrap().len(), 10);
    let classes = r["classes"].as_array().unwrap();
    let others = classes[1..].iter().map(|c| num(&c["mean_score"])).sum::<f64>() / 9.0;
    assert!(num(&classes[0]["mean_score"]) < others / 2.0, "{}", r["classes"]);
    assert_eq!(classes[0]["normal"], true);
    let csv = std::fs::read_to_string(run.join("anomaly.csv")).unwrap();
    assert_eq!(csv.lines().count(), 10001);
    assert!(csv.starts_with("item,label,score,flagged,anomalous\n"));
    assert_eq!(png_size(&run.join("anomaly.png")), (1000, 750));

    // The threshold is the 90th percentile of the training scores: about 10% of them flagged.
    let r = report("anomaly", run, &["--split", "train", "--percentile", "90"], "anomaly.json");
    let f = num(&r["flagged_fraction"]);
    assert!((0.08..=0.11).contains(&f), "flagged fraction of training items {f}");
    assert_eq!(r["threshold_items"], r["items"]);

    // --normal names the normal classes of a run trained on every digit.
    let r = report("anomaly", mnist_2d(), &["--normal", "1,7"], "anomaly.json");
    assert_eq!(r["normal_from"], "--normal");
    assert!(num(&r["separation"]["auroc"]) > 0.5);
    refused(&app("anomaly", run, &["--percentile", "120"]), "--percentile 120");
    refused(&app("anomaly", run, &["--normal", "12"]), "no such class");
}

/// The tabular anomaly preset's config with its data table replaced by `data` (TOML lines).
fn tabular_anomaly_config(name: &str, data: &str) -> PathBuf {
    let preset = std::fs::read_to_string(shipped_config("tabular_anomaly.toml")).unwrap();
    let model = &preset[preset.find("[model.network]").unwrap()..];
    let path = scratch().join(format!("{name}.toml"));
    std::fs::write(&path, format!("name = \"{name}\"\n[data]\n{data}\nval_fraction = 0.0\n{model}")).unwrap();
    path
}

/// The satellite training rows (sat.trn) as CSV text: every row of classes other than 2 and one in
/// twelve of class 2 (cotton crop), labelled 1 as outliers (ODDS' satimage-2 construction); with
/// `labels` false, no label column.
fn satimage_csv(labels: bool) -> (String, usize, usize) {
    let text = std::fs::read_to_string(data_dir().join("satimage/sat.trn")).unwrap();
    let mut csv: Vec<String> = (0..36).map(|i| format!("f{i}")).collect();
    if labels {
        csv.push("label".into());
    }
    let mut out = csv.join(",") + "\n";
    let (mut rows, mut outliers, mut seen2) = (0, 0, 0);
    for line in text.lines() {
        let v: Vec<&str> = line.split_whitespace().collect();
        let outlier = v[36] == "2";
        if outlier {
            seen2 += 1;
            if seen2 % 12 != 0 {
                continue;
            }
            outliers += 1;
        }
        rows += 1;
        out.push_str(&v[..36].join(","));
        if labels {
            out.push_str(if outlier { ",1" } else { ",0" });
        }
        out.push('\n');
    }
    (out, rows, outliers)
}

#[test]
fn tabular_anomaly_preset_fits_every_row_and_ranks_the_rare_class_first() {
    // PyOD's way: fit on every row, outliers included, no labels; then rank the same rows.
    let (csv, rows, outliers) = satimage_csv(true);
    assert_eq!((rows, outliers), (3995, 39));
    std::fs::write(scratch().join("satimage.csv"), csv).unwrap();
    let data = "dataset = \"satimage-2\"\nsource = { kind = \"csv\", path = \"satimage.csv\", options = { label = \"last\", class_order = \"sorted\" } }";
    let config = tabular_anomaly_config("tabular", data);
    let run = scratch().join("tabular");
    let o = train(scratch(), config.to_str().unwrap(), &[], &["--out", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let summary: Value = serde_json::from_slice(&std::fs::read(run.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["epochs"], 20);
    let r = report("anomaly", &run, &["--split", "train", "--normal", "0"], "anomaly.json");
    assert_eq!(r["items"], rows);
    let s = &r["separation"];
    assert_eq!(s["anomalous_items"], outliers);
    let auroc = num(&s["auroc"]);
    assert!(auroc > 0.9, "AUROC {auroc} of the rare class against the rest");
    assert!(num(&s["average_precision"]) > 2.0 * outliers as f64 / rows as f64, "{s}");

    // Without labels: every row's score, and the rows above the threshold flagged.
    let (csv, _, _) = satimage_csv(false);
    std::fs::write(scratch().join("unlabelled.csv"), csv).unwrap();
    let data = "dataset = \"unlabelled\"\nsource = { kind = \"csv\", path = \"unlabelled.csv\" }";
    let config = tabular_anomaly_config("unlabelled", data);
    let run = scratch().join("unlabelled");
    let o = train(scratch(), config.to_str().unwrap(), &["train.epochs=5"], &["--out", run.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let r = report("anomaly", &run, &["--split", "train"], "anomaly.json");
    assert!(r["separation"].is_null(), "{r}");
    let f = num(&r["flagged_fraction"]);
    assert!((0.045..=0.055).contains(&f), "flagged fraction {f} at the 95th percentile");
    let scores = std::fs::read_to_string(run.join("anomaly.csv")).unwrap();
    assert_eq!(scores.lines().count(), rows + 1);
    let first = scores.lines().nth(1).unwrap();
    let cells: Vec<&str> = first.split(',').collect();
    assert_eq!((cells[0], cells[1], cells[4]), ("0", "", ""), "{first}");
    assert!(cells[2].parse::<f64>().unwrap() > 0.0, "{first}");
}

#[test]
fn generate_samples_interpolates_and_does_arithmetic() {
    let run = vae();
    let args = ["--samples", "16", "--columns", "8", "--seed", "5", "--interpolate", "0,1", "--arithmetic", "0,1,2"];
    let r = report("generate", run, &args, "generate.json");
    assert_eq!(r["samples"], 16);
    assert_eq!(r["prior"], "N(0, I)");
    assert_eq!(r["sample_classes"].as_array().unwrap().len(), 16);
    let counted: u64 = r["class_counts"].as_array().unwrap().iter().map(|c| c[1].as_u64().unwrap()).sum();
    assert_eq!(counted, 16);
    assert_eq!(r["interpolation"]["t"].as_array().unwrap().len(), 8);
    assert!(r["arithmetic"]["class"].is_string());
    // Tiles of 28x28 at 2x (56 px) with 4 px gaps and a 14 px caption under each.
    assert_eq!(png_size(&run.join("generate.png")), (8 * 60 + 4, 2 * (56 + 14 + 4) + 4));
    assert_eq!(png_size(&run.join("generate_interpolation.png")), (10 * 60 + 4, 56 + 14 + 4 + 4));
    assert_eq!(png_size(&run.join("generate_arithmetic.png")), (7 * 60 + 4, 56 + 14 + 4 + 4));
    // Seeded: the same samples again.
    let first = std::fs::read(run.join("generate.png")).unwrap();
    report("generate", run, &["--samples", "16", "--seed", "5"], "generate.json");
    assert_eq!(std::fs::read(run.join("generate.png")).unwrap(), first);

    refused(&app("generate", mnist_2d(), &[]), "generate needs a generative model");
    refused(&app("generate", run, &["--interpolate", "0"]), "--interpolate");
    refused(&app("generate", run, &["--arithmetic", "0,1,99999"]), "--arithmetic 99999");
}

#[test]
fn impute_beats_mean_imputation_on_satellite_data() {
    let run = satellite();
    let r = report("impute", run, &["--missing", "0.2", "--seed", "3"], "impute.json");
    assert_eq!(r["missing_from"], "hidden");
    let missing = r["missing_values"].as_u64().unwrap() as f64;
    assert!((missing / (2000.0 * 36.0) - 0.2).abs() < 0.01, "{missing} hidden values");
    let (rmse, mean) = (num(&r["rmse"]), num(&r["rmse_mean_imputation"]));
    assert!(rmse < 0.7 * mean, "RMSE {rmse} vs mean imputation {mean}");
    assert!(num(&r["rmse_normalised"]) < num(&r["rmse_mean_imputation_normalised"]));
    let iterations = r["iterations"].as_u64().unwrap();
    assert!(iterations >= 1 && iterations == r["passes"].as_array().unwrap().len() as u64);
    let first = std::fs::read(run.join("impute.json")).unwrap();
    report("impute", run, &["--missing", "0.2", "--seed", "3"], "impute.json");
    assert_eq!(std::fs::read(run.join("impute.json")).unwrap(), first, "seeded");
    assert!(run.join("impute.png").is_file());
    refused(&app("impute", run, &["--missing", "1"]), "--missing 1");
}

#[test]
fn hash_retrieves_better_than_random_codes() {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    let run = trained(&RUN, "hashing", "hashing.toml", &["data.limit=6000", "train.epochs=8"]);
    let r = report("hash", run, &[], "hash.json");
    assert_eq!((r["bits"].as_u64(), r["queries"].as_u64()), (Some(32), Some(6000)));
    let (m, rnd) = (&r["model"], &r["random"]);
    for key in ["precision_at_10", "precision_at_100", "mean_average_precision"] {
        assert!(num(&m[key]) > num(&rnd[key]) + 0.15, "{key}: model {} vs random {}", m[key], rnd[key]);
        assert!(num(&rnd[key]) < 0.15, "random {key} {}", rnd[key]);
    }
    assert!(num(&m["precision_within_radius"]) > num(&rnd["precision_within_radius"]));
    assert_eq!(png_size(&run.join("hash.png")), (1000, 750));
    refused(&app("hash", mnist_2d(), &[]), "hash needs binary codes");
}

#[test]
fn cluster_assist_and_compress_on_mnist_codes() {
    let run = mnist_2d();
    let r = report("cluster", run, &[], "cluster.json");
    assert_eq!(r["k"], 10);
    for key in ["codes", "inputs"] {
        let (nmi, ari) = (num(&r[key]["nmi"]), num(&r[key]["ari"]));
        assert!(nmi > 0.1 && nmi <= 1.0 && ari > 0.0 && ari <= 1.0, "{key}: NMI {nmi}, ARI {ari}");
    }
    assert_eq!(r["codes"]["sizes"].as_array().unwrap().iter().map(|s| s.as_u64().unwrap()).sum::<u64>(), 6000);
    assert_eq!(png_size(&run.join("cluster.png")), (1000, 750));
    refused(&app("cluster", run, &["--k", "0"]), "--k 0");

    let r = report("assist", run, &["--labels", "100"], "assist.json");
    assert_eq!(r["labels_per_class"], serde_json::json!(vec![10; 10]));
    for key in ["accuracy_codes", "accuracy_inputs"] {
        assert!(num(&r[key]) > 0.2, "{key} {}", r[key]);
    }
    assert_eq!(r["curve"].as_array().unwrap().last().unwrap()["labels"], 100);
    assert!(run.join("assist.png").is_file());

    let r = report("compress", run, &["--bits", "6"], "compress.json");
    // 2 code units of 6 bits for 784 pixels.
    assert_eq!(num(&r["bits_per_pixel"]), 2.0 * 6.0 / 784.0);
    assert_eq!(num(&r["original_bits_per_pixel"]), 8.0);
    let (q, u) = (num(&r["psnr"]), num(&r["psnr_unquantised"]));
    assert!(q > 10.0 && q <= u + 0.05, "PSNR {q} quantised vs {u}");
    assert_eq!(png_size(&run.join("compress.png")), (8 * 60 + 4, 3 * 60 + 4));
    refused(&app("compress", run, &["--bits", "17"]), "--bits 17");

    // Satellite: cluster and assist on 6 classes.
    let r = report("cluster", satellite(), &[], "cluster.json");
    assert_eq!(r["k"], 6);
    assert!(num(&r["codes"]["nmi"]) > 0.3, "{}", r["codes"]);
    let r = report("assist", satellite(), &["--labels", "60"], "assist.json");
    assert!(num(&r["accuracy_codes"]) > 0.5, "{}", r["accuracy_codes"]);
}
