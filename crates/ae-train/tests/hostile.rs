//! A corpus of hostile inputs through the binary: bad configs, command lines, data files and run
//! folders. Each must exit non-zero with the right code (2: usage or config, 1: data or
//! runtime), an `error:` line naming the problem (file, key, line), no panic, and nothing written:
//! no run folder, no report, no temporary file.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use common::*;

/// A dense autoencoder on a CSV table: trains in well under a second.
const BASE: &str = r#"name = "hostile"
[data]
dataset = "table"
val_fraction = 0.2
[data.source]
kind = "csv"
path = "good.csv"
[model.network]
kind = "dense"
hidden = [8]
code = 2
[train]
epochs = 1
batch_size = 8
learning_rate = 1e-3
"#;

/// The same on a catalog dataset under `root` (so that the item shape is known up front).
fn catalog(dataset: &str, root: &str) -> String {
    BASE.replace("[data.source]\nkind = \"csv\"\npath = \"good.csv\"\n", "")
        .replace("dataset = \"table\"", &format!("dataset = \"{dataset}\"\nroot = \"{root}\""))
}

/// BASE with another `[data.source]` table.
fn source(table: &str) -> String {
    BASE.replace("[data.source]\nkind = \"csv\"\npath = \"good.csv\"\n", &format!("[data.source]\n{table}\n"))
}

/// What the binary is asked to do.
enum Input {
    /// Train on this config text (written to `cases/<name>.toml`) with extra arguments.
    Config(String, Vec<String>),
    /// Train on a config file written with these bytes.
    ConfigBytes(Vec<u8>),
    /// Run these arguments as they are.
    Args(Vec<String>),
}

struct Case {
    name: &'static str,
    input: Input,
    code: i32,
    /// Substrings stderr must hold.
    want: Vec<String>,
}

fn config(name: &'static str, text: impl Into<String>, code: i32, want: &[&str]) -> Case {
    Case {
        name,
        input: Input::Config(text.into(), Vec::new()),
        code,
        want: want.iter().map(|s| s.to_string()).collect(),
    }
}

fn config_with(name: &'static str, text: impl Into<String>, extra: &[&str], code: i32, want: &[&str]) -> Case {
    let extra = extra.iter().map(|s| s.to_string()).collect();
    Case { name, input: Input::Config(text.into(), extra), code, want: want.iter().map(|s| s.to_string()).collect() }
}

fn args(name: &'static str, a: &[&str], code: i32, want: &[&str]) -> Case {
    Case {
        name,
        input: Input::Args(a.iter().map(|s| s.to_string()).collect()),
        code,
        want: want.iter().map(|s| s.to_string()).collect(),
    }
}

/// Path, size and modification time of everything under `dir` (links not followed).
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (u64, Option<SystemTime>)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            let m = std::fs::symlink_metadata(&p).unwrap();
            if m.is_dir() {
                stack.push(p.clone());
            }
            out.insert(p, (if m.is_dir() { 0 } else { m.len() }, m.modified().ok()));
        }
    }
    out
}

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let p = dir.join(name);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, bytes).unwrap();
    p
}

/// An IDX file of unsigned bytes (the loader detects gzip by its magic, so a raw file under a
/// `.gz` name loads).
fn idx(dims: &[u32], data: &[u8]) -> Vec<u8> {
    let mut b = vec![0, 0, 8, dims.len() as u8];
    for d in dims {
        b.extend(d.to_be_bytes());
    }
    b.extend(data);
    b
}

/// A small valid MNIST-layout folder `<root>/mnist`, with `replace` substituted for one file.
fn mnist_root(dir: &Path, root: &str, replace: Option<(&str, Vec<u8>)>) {
    let files = [
        ("train-images-idx3-ubyte.gz", idx(&[10, 28, 28], &[7; 7840])),
        ("train-labels-idx1-ubyte.gz", idx(&[10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
        ("t10k-images-idx3-ubyte.gz", idx(&[4, 28, 28], &[9; 3136])),
        ("t10k-labels-idx1-ubyte.gz", idx(&[4], &[1, 2, 3, 4])),
    ];
    for (name, bytes) in files {
        let bytes = match &replace {
            Some((n, b)) if *n == name => b.clone(),
            _ => bytes,
        };
        write(dir, &format!("{root}/mnist/{name}"), bytes);
    }
}

fn png(path: &Path, w: u32, h: u32) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    image::RgbImage::from_pixel(w, h, image::Rgb([10, 20, 30])).save(path).unwrap();
}

/// CRC-32 (PNG chunks).
fn crc32(bytes: &[u8]) -> u32 {
    let mut c = !0u32;
    for &b in bytes {
        c ^= b as u32;
        for _ in 0..8 {
            c = if c & 1 != 0 { 0xEDB8_8320 ^ (c >> 1) } else { c >> 1 };
        }
    }
    !c
}

/// A PNG whose header declares `w` x `h` pixels and holds no pixel data.
fn png_header_only(w: u32, h: u32) -> Vec<u8> {
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut chunk = |kind: &[u8], data: &[u8]| {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc32(&body).to_be_bytes());
    };
    let mut ihdr = w.to_be_bytes().to_vec();
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(b"IHDR", &ihdr);
    chunk(b"IEND", &[]);
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// Writes every fixture under `dir` (the working folder of the cases) and trains the run folder
/// `trained` that the run-folder cases start from.
fn fixtures(dir: &Path) {
    let mut good = String::from("a,b,c\n");
    for i in 0..40 {
        good.push_str(&format!("{},{},{}\n", i % 7, (i * 3) % 5, i as f32 / 10.0));
    }
    write(dir, "good.csv", &good);
    write(dir, "nan.csv", "a,b,c\n1,2,3\n4,NaN,6\n");
    write(dir, "text.csv", "a,b,c\n1,2,3\n4,5,6\nseven,8,9\n");
    write(dir, "inf.csv", "a,b,c\n1,inf,3\n");
    write(dir, "ragged.csv", "a,b,c\n1,2,3\n4,5\n");
    write(dir, "empty.csv", "");
    write(dir, "header_only.csv", "a,b,c\n");
    write(dir, "garbage.csv", [0xff, 0xfe, 0x00, 0x12, b'"', 0x80, b'\n', 0xc3]);
    write(dir, "bad.arff", "@relation r\n@attribute a numeric\n@data\n1,2,3\n");

    mnist_root(dir, "idx_magic", Some(("train-images-idx3-ubyte.gz", b"PK\x03\x04not an idx file".to_vec())));
    mnist_root(dir, "idx_dims", Some(("train-images-idx3-ubyte.gz", idx(&[60000, 28, 28], &[1; 100]))));
    mnist_root(dir, "idx_huge", Some(("train-images-idx3-ubyte.gz", idx(&[u32::MAX, u32::MAX, u32::MAX], &[1; 8]))));
    mnist_root(dir, "idx_labels", Some(("train-labels-idx1-ubyte.gz", idx(&[7], &[0; 7]))));
    mnist_root(dir, "idx_class", Some(("train-labels-idx1-ubyte.gz", idx(&[10], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 200]))));
    let real_labels = std::fs::read(data_dir().join("mnist/t10k-labels-idx1-ubyte.gz")).unwrap();
    mnist_root(dir, "idx_gzip", Some(("train-labels-idx1-ubyte.gz", real_labels[..real_labels.len() / 2].to_vec())));

    // CIFAR-10 binary batches, one of them cut inside a record.
    let record: Vec<u8> = std::iter::once(3).chain((0..3072).map(|i| i as u8)).collect();
    for f in ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"] {
        write(dir, &format!("cifar/{f}"), &record);
    }
    write(dir, "cifar/test_batch.bin", [&record[..], &record[..1000]].concat());
    write(dir, "junk.tar.gz", b"\x1f\x8b\x08\x00 this is not really gzip data at all");

    png(&dir.join("imgs_corrupt/a/1.png"), 4, 4);
    write(dir, "imgs_corrupt/a/2.png", b"\x89PNG\r\n\x1a\nnot really a png");
    png(&dir.join("imgs_huge/a/1.png"), 4, 4);
    write(dir, "imgs_huge/a/2.png", png_header_only(100_000, 100_000));
    png(&dir.join("imgs_sizes/a/1.png"), 4, 4);
    png(&dir.join("imgs_sizes/b/2.png"), 5, 4);
    std::fs::create_dir_all(dir.join("imgs_empty/a")).unwrap();
    write(dir, "imgs_empty/a/readme.txt", "no images here");
    write(dir, "ice/camp.csv", "Name,path,Area (ABD)\np1,images/x.png,3\n");

    write(dir, "a_file", "not a folder");
    std::fs::create_dir_all(dir.join("empty_dir")).unwrap();

    let cfg = write_config(dir, "train.toml", BASE);
    let o = train(dir, cfg.to_str().unwrap(), &[], &["--out", "trained"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let trained = dir.join("trained");
    for (name, edit) in [
        ("run_nomodel", "rm model.bpk"),
        ("run_badmodel", "cut model.bpk"),
        ("run_badnorm", "junk normalizer.json"),
        ("run_badconfig", "key config.toml"),
        ("run_badckpt", "cut checkpoints/last.ckpt"),
    ] {
        let to = dir.join(name);
        copy_dir(&trained, &to);
        let (op, file) = edit.split_once(' ').unwrap();
        let p = to.join(file);
        match op {
            "rm" => std::fs::remove_file(&p).unwrap(),
            "cut" => {
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() / 2]).unwrap();
            }
            "junk" => std::fs::write(&p, "{\"kind\": ").unwrap(),
            _ => {
                let text = std::fs::read_to_string(&p).unwrap();
                std::fs::write(&p, text.replace("[train]", "[train]\nepochz = 2")).unwrap();
            }
        }
    }
}

fn cases() -> Vec<Case> {
    let r = |from: &str, to: &str| BASE.replace(from, to);
    vec![
        // Configs: unknown keys, wrong types, zero, negative and absurd sizes (exit 2).
        config(
            "unknown_top_key",
            r("name = \"hostile\"", "name = \"hostile\"\ncolour = \"red\""),
            2,
            &["unknown_top_key.toml: key `colour` (line 2): unknown field `colour`"],
        ),
        config(
            "unknown_train_key",
            r("epochs = 1", "epochs = 1\nepochz = 3"),
            2,
            &["key `train.epochz` (line 14): unknown field `epochz`"],
        ),
        config(
            "wrong_type_epochs",
            r("epochs = 1", "epochs = \"two\""),
            2,
            &["key `train.epochs` (line 13): invalid type"],
        ),
        config(
            "penalty_weight_overflows",
            r("[train]", "[model.penalty]\nl1 = 1e308\n[train]"),
            2,
            &["key `model.penalty.l1`", "overflows the loss"],
        ),
        config("float_epochs", r("epochs = 1", "epochs = 1.5"), 2, &["key `train.epochs` (line 13): invalid type"]),
        config("wrong_type_hidden", r("hidden = [8]", "hidden = \"8\""), 2, &["key `model.network", "invalid type"]),
        config("zero_epochs", r("epochs = 1", "epochs = 0"), 2, &["key `train.epochs` (line 13): must be at least 1"]),
        config("zero_batch", r("batch_size = 8", "batch_size = 0"), 2, &["key `train.batch_size` (line 14)"]),
        config("negative_batch", r("batch_size = 8", "batch_size = -4"), 2, &["key `train.batch_size` (line 14)"]),
        config(
            "zero_learning_rate",
            r("learning_rate = 1e-3", "learning_rate = 0"),
            2,
            &["key `train.learning_rate` (line 15): must be a finite number > 0"],
        ),
        config(
            "nan_learning_rate",
            r("learning_rate = 1e-3", "learning_rate = nan"),
            2,
            &["key `train.learning_rate`"],
        ),
        config("zero_hidden", r("hidden = [8]", "hidden = [8, 0]"), 2, &["key `model.network.hidden[1]`"]),
        config("zero_code", r("code = 2", "code = 0"), 2, &["key `model.network.code`", "at least 1 unit"]),
        config("negative_code", r("code = 2", "code = -3"), 2, &["key `model.network`", "integer `-3`"]),
        config(
            "absurd_code",
            catalog("shapes", "x").replace("code = 2", "code = 1000000000000"),
            2,
            &["key `model.network`", "weights"],
        ),
        config(
            "absurd_hidden_on_a_table",
            r("hidden = [8]", "hidden = [200000, 200000]"),
            2,
            &["key `model.network`", "weights"],
        ),
        config(
            "conv_on_a_table",
            r("kind = \"dense\"\nhidden = [8]\ncode = 2", "kind = \"conv\"\nchannels = [4]\ncode = 2"),
            2,
            &["key `model.network", "image items"],
        ),
        config(
            "val_fraction_above_1",
            r("val_fraction = 0.2", "val_fraction = 1.5"),
            2,
            &["key `data.val_fraction` (line 4)"],
        ),
        config(
            "zero_limit",
            r("val_fraction = 0.2", "val_fraction = 0.2\nlimit = 0"),
            2,
            &["key `data.limit` (line 5)"],
        ),
        config("name_with_slash", r("name = \"hostile\"", "name = \"../escape\""), 2, &["key `name` (line 1)"]),
        config("unknown_dataset", catalog("mnits", "x"), 2, &["key `data.dataset`", "unknown dataset `mnits`"]),
        config(
            "unknown_activation",
            r("code = 2", "code = 2\nactivation = \"sigmod\""),
            2,
            &["key `model.network` (line 12): unknown variant `sigmod`"],
        ),
        config("toml_syntax", r("epochs = 1", "epochs = = 1"), 2, &["toml_syntax.toml: TOML parse error at line 13"]),
        config("empty_config", "", 2, &["empty_config.toml: missing field `name`"]),
        config(
            "missing_train_table",
            BASE.split("[train]").next().unwrap(),
            2,
            &["missing_train_table.toml: missing field `train`"],
        ),
        Case {
            name: "binary_config",
            input: Input::ConfigBytes(vec![0xff, 0xfe, 0, 0x9c, b'\n', 0x80]),
            code: 2,
            want: vec!["binary_config.toml: cannot read config".into()],
        },
        config(
            "image_channels_2",
            source("kind = \"image_folder\"\npath = \"imgs_sizes\"\noptions = { channels = 2 }"),
            2,
            &["key `data.source.options.channels`"],
        ),
        config(
            "image_size_0",
            source("kind = \"image_folder\"\npath = \"imgs_sizes\"\noptions = { channels = 1, size = [0, 4] }"),
            2,
            &["key `data.source.options.size`"],
        ),
        config("unknown_source_kind", source("kind = \"parquet\"\npath = \"x\""), 2, &["key `data.source", "parquet"]),
        // Command lines (exit 2).
        config_with(
            "set_without_value",
            BASE,
            &["--set", "train.epochs"],
            2,
            &["--set train.epochs: expected KEY=VALUE"],
        ),
        config_with("set_into_a_value", BASE, &["--set", "name.x=1"], 2, &["`name` is a value, not a table"]),
        config_with(
            "set_bad_value",
            BASE,
            &["--set", "train.batch_size=-1"],
            2,
            &["key `train.batch_size` (set on the command line)"],
        ),
        config_with("out_is_a_file", BASE, &["--out", "a_file"], 2, &["a_file exists and is not a folder"]),
        config_with("out_under_a_file", BASE, &["--out", "a_file/run"], 2, &["a_file exists and is not a folder"]),
        config_with("resume_nothing", BASE, &["--out", "empty_dir", "--resume"], 2, &["empty_dir holds no checkpoint"]),
        args("config_is_a_folder", &["--config", "empty_dir"], 2, &["config file not found: empty_dir"]),
        // Data files (exit 1).
        config("csv_nan_cell", r("good.csv", "nan.csv"), 1, &["nan.csv: line 3, column 2: missing value (`NaN`)"]),
        config("csv_text_cell", r("good.csv", "text.csv"), 1, &["text.csv: line 4, column 1: `seven` is not a number"]),
        config(
            "csv_inf_cell",
            r("good.csv", "inf.csv"),
            1,
            &["inf.csv: line 2, column 2: `inf` is not a finite number"],
        ),
        config("csv_ragged_row", r("good.csv", "ragged.csv"), 1, &["ragged.csv: line 3"]),
        config("csv_empty", r("good.csv", "empty.csv"), 1, &["empty.csv: empty file"]),
        config("csv_header_only", r("good.csv", "header_only.csv"), 1, &["header_only.csv", "no data rows"]),
        config("csv_binary", r("good.csv", "garbage.csv"), 1, &["garbage.csv"]),
        config("csv_missing", r("good.csv", "nope.csv"), 1, &["nope.csv"]),
        config("arff_extra_cells", source("kind = \"arff\"\npath = \"bad.arff\""), 1, &["bad.arff: line 4"]),
        config(
            "idx_wrong_magic",
            catalog("mnist", "idx_magic"),
            1,
            &["idx_magic/mnist/train-images-idx3-ubyte.gz: byte 0: not an IDX file"],
        ),
        config(
            "idx_dims_beyond_file",
            catalog("mnist", "idx_dims"),
            1,
            &["idx_dims/mnist/train-images-idx3-ubyte.gz: truncated: header declares [60000, 28, 28]"],
        ),
        config(
            "idx_absurd_dims",
            catalog("mnist", "idx_huge"),
            1,
            &["train-images-idx3-ubyte.gz", "more than any IDX file holds"],
        ),
        config(
            "idx_label_count",
            catalog("mnist", "idx_labels"),
            1,
            &["idx_labels/mnist/train-labels-idx1-ubyte.gz", "7"],
        ),
        config(
            "idx_label_not_a_class",
            catalog("mnist", "idx_class"),
            1,
            &["train-labels-idx1-ubyte.gz: label 200 is not a class"],
        ),
        config(
            "idx_truncated_gzip",
            catalog("mnist", "idx_gzip"),
            1,
            &["idx_gzip/mnist/train-labels-idx1-ubyte.gz: truncated gzip"],
        ),
        args("data_info_wrong_magic", &["data", "info", "mnist", "--root", "idx_magic"], 1, &["not an IDX file"]),
        config("cifar_short_record", source("kind = \"cifar\"\npath = \"cifar\""), 1, &["test_batch.bin"]),
        config(
            "cifar_junk_archive",
            source("kind = \"cifar\"\npath = \"junk.tar.gz\""),
            1,
            &["junk.tar.gz: corrupt or truncated archive"],
        ),
        config(
            "image_corrupt_png",
            source("kind = \"image_folder\"\npath = \"imgs_corrupt\"\noptions = { channels = 3 }"),
            1,
            &["imgs_corrupt/a/2.png: unreadable or corrupt image"],
        ),
        config(
            "image_absurd_png_header",
            source("kind = \"image_folder\"\npath = \"imgs_huge\"\noptions = { channels = 3 }"),
            1,
            &["imgs_huge/a/2.png"],
        ),
        config(
            "image_mixed_sizes",
            source("kind = \"image_folder\"\npath = \"imgs_sizes\"\noptions = { channels = 3 }"),
            1,
            &["imgs_sizes/b/2.png: image is 5x4, the others are 4x4"],
        ),
        config(
            "image_folder_without_images",
            source("kind = \"image_folder\"\npath = \"imgs_empty\"\noptions = { channels = 1 }"),
            1,
            &["imgs_empty", "no class folders with images"],
        ),
        config(
            "ice_without_imgpaths",
            source("kind = \"ice_learning\"\npath = \"ice\"\noptions = { size = 8 }"),
            1,
            &["ice/camp.csv: line 1: no column named `imgpaths`"],
        ),
        // Run folders given to subcommands and to --resume.
        args(
            "reconstruct_not_a_run",
            &["reconstruct", "empty_dir", "--backend", "flex"],
            2,
            &["empty_dir: not a run folder (no config.toml)"],
        ),
        args(
            "reconstruct_without_weights",
            &["reconstruct", "run_nomodel", "--backend", "flex"],
            1,
            &["run_nomodel/model.bpk: cannot read the final weights"],
        ),
        args(
            "encode_truncated_weights",
            &["encode", "run_badmodel", "--backend", "flex"],
            1,
            &["run_badmodel/model.bpk: corrupt weights"],
        ),
        args(
            "reconstruct_corrupt_normalizer",
            &["reconstruct", "run_badnorm", "--backend", "flex"],
            1,
            &["run_badnorm/normalizer.json: corrupt"],
        ),
        args(
            "encode_bad_run_config",
            &["encode", "run_badconfig", "--backend", "flex"],
            2,
            &["run_badconfig/config.toml: key `train.epochz`"],
        ),
        config_with(
            "resume_truncated_checkpoint",
            BASE,
            &["--out", "run_badckpt", "--resume", "--set", "train.epochs=2"],
            1,
            &["run_badckpt/checkpoints/last.ckpt: not a usable checkpoint: truncated"],
        ),
    ]
}

#[test]
fn hostile_inputs_fail_cleanly_by_name_and_write_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    fixtures(dir);
    let cases = cases();
    assert!(cases.len() >= 30);
    let mut failures = Vec::new();
    for case in &cases {
        let (bin_args, config_file): (Vec<String>, Option<PathBuf>) = match &case.input {
            Input::Config(text, extra) => {
                let p = write(dir, &format!("cases/{}.toml", case.name), text);
                let mut a =
                    vec!["--config".into(), format!("cases/{}.toml", case.name), "--backend".into(), "flex".into()];
                a.extend(["--quiet".into()]);
                if !extra.iter().any(|e| e == "--out") {
                    a.extend(["--out".into(), format!("runs/{}", case.name)]);
                }
                a.extend(extra.iter().cloned());
                (a, Some(p))
            }
            Input::ConfigBytes(bytes) => {
                let p = write(dir, &format!("cases/{}.toml", case.name), bytes);
                let a = ["--config", &format!("cases/{}.toml", case.name), "--backend", "flex", "--out", "runs/x"];
                (a.iter().map(|s| s.to_string()).collect(), Some(p))
            }
            Input::Args(a) => (a.clone(), None),
        };
        let before = snapshot(dir);
        let o = Command::new(env!("CARGO_BIN_EXE_ae-train"))
            .args(&bin_args)
            .current_dir(dir)
            .env("AE_DATA_DIR", dir.join("no-datasets-here"))
            .output()
            .unwrap();
        let e = stderr(&o);
        let mut problems = Vec::new();
        if o.status.code() != Some(case.code) {
            problems.push(format!("exit code {:?}, expected {}", o.status.code(), case.code));
        }
        if !e.starts_with("error: ") || e.contains("panicked") || e.contains("RUST_BACKTRACE") {
            problems.push("not a clean `error:` message".into());
        }
        for w in &case.want {
            if !e.contains(w.as_str()) {
                problems.push(format!("stderr lacks `{w}`"));
            }
        }
        let after = snapshot(dir);
        if after != before {
            let new: Vec<_> = after.keys().filter(|k| before.get(*k) != after.get(*k)).collect();
            let gone: Vec<_> = before.keys().filter(|k| !after.contains_key(*k)).collect();
            problems.push(format!("files changed: {new:?}, removed: {gone:?}"));
        }
        if let Some(p) = config_file {
            std::fs::remove_file(p).unwrap();
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {}\n  args: {bin_args:?}\n  stderr: {}",
                case.name,
                problems.join("; "),
                e.trim()
            ));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
