//! Property tests of the config loader: any text and any `--set` override gives a config or a
//! clean error naming the file, never a panic; a config that loads writes out (as the run
//! folder's `config.toml`) and loads back the same, and its model builds and runs a batch.
//!
//! 256 cases per property by default; `PROPTEST_CASES=20000 cargo test --release -p ae-train
//! --test config_fuzz` for a long run.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use ae_train::config::{ExperimentConfig, parse};
use burn::tensor::Tensor;
use proptest::prelude::*;

/// Every shipped config's text.
fn shipped() -> &'static [String] {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    TEXTS.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("configs");
        let mut paths: Vec<PathBuf> = ["experiments", "presets"]
            .iter()
            .flat_map(|d| std::fs::read_dir(dir.join(d)).unwrap().map(|e| e.unwrap().path()))
            .collect();
        paths.sort();
        paths
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    })
}

/// Dotted keys a config has (and a few it does not).
const KEYS: &[&str] = &[
    "name",
    "description",
    "data",
    "data.dataset",
    "data.root",
    "data.limit",
    "data.normalize",
    "data.val_fraction",
    "data.test_fraction",
    "data.classes",
    "data.source",
    "data.source.kind",
    "data.source.path",
    "data.source.options",
    "data.source.options.size",
    "data.source.options.channels",
    "data.source.options.label",
    "data.source.options.delimiter",
    "model",
    "model.network",
    "model.network.kind",
    "model.network.hidden",
    "model.network.code",
    "model.network.channels",
    "model.network.kernel",
    "model.network.stride",
    "model.network.padding",
    "model.network.tied",
    "model.network.activation",
    "model.network.output_activation",
    "model.bottleneck.kind",
    "model.bottleneck.k",
    "model.bottleneck.k_start",
    "model.bottleneck.discriminator",
    "model.bottleneck.beta",
    "model.corruption.kind",
    "model.corruption.sigma",
    "model.corruption.p",
    "model.penalty.l1",
    "model.penalty.kl_sparsity",
    "model.penalty.contractive",
    "model.loss.kind",
    "train",
    "train.epochs",
    "train.batch_size",
    "train.optimizer",
    "train.learning_rate",
    "train.momentum",
    "train.weight_decay",
    "train.patience",
    "train.seed",
    "train.workers",
    "train.backend",
    "train.log_every",
    "train.pretrain_epochs",
    "train.bogus",
    "bogus",
];

/// Values of every TOML type, valid and hostile.
const VALUES: &[&str] = &[
    "0",
    "1",
    "-1",
    "3",
    "9223372036854775807",
    "-9223372036854775808",
    "4294967296",
    "1e-3",
    "0.5",
    "1.0",
    "-0.0",
    "1e308",
    "nan",
    "inf",
    "-inf",
    "true",
    "\"\"",
    "\"mnist\"",
    "\"shapes\"",
    "\"dense\"",
    "\"conv\"",
    "\"sequence\"",
    "\"gaussian\"",
    "\"masking\"",
    "\"top_k\"",
    "\"adversarial\"",
    "\"csv\"",
    "\"image_folder\"",
    "\"bce\"",
    "\"sgd\"",
    "\"sigmoid\"",
    "\"../..\"",
    "\"/\"",
    "\"é\u{0}\"",
    "[]",
    "[0]",
    "[1, 2]",
    "[4294967296, 4294967296]",
    "[\"a\"]",
    "[[1]]",
    "{}",
    "{ kind = \"dense\" }",
    "{ kind = \"csv\", path = \"x.csv\" }",
    "{ kind = \"image_folder\", path = \"d\", options = { channels = 2 } }",
    "1979-05-27T07:32:00Z",
    "not toml at all",
    "1\nname = \"x\"",
];

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(KEYS)
}

fn value() -> impl Strategy<Value = &'static str> {
    prop::sample::select(VALUES)
}

/// Applies `(position, char, op)` edits (0 replace, 1 insert, 2 delete) to the characters of
/// `base`, then keeps at most `cut` characters.
fn mutate(base: &str, edits: &[(usize, char, u8)], cut: Option<usize>) -> String {
    let mut v: Vec<char> = base.chars().collect();
    for &(pos, c, op) in edits {
        let at = if v.is_empty() { 0 } else { pos % (v.len() + 1) };
        match op % 3 {
            0 if at < v.len() => v[at] = c,
            1 => v.insert(at, c),
            2 if at < v.len() => {
                v.remove(at);
            }
            _ => {}
        }
    }
    if let Some(c) = cut {
        v.truncate(c % (v.len() + 1));
    }
    v.into_iter().collect()
}

/// Characters TOML is made of, and some it is not.
fn toml_char() -> impl Strategy<Value = char> {
    prop_oneof![
        8 => prop::sample::select(&[
            '[', ']', '{', '}', '=', '"', '\'', ',', '.', '#', '\n', ' ', '0', '1', '9', '-', '+', 'e', 'a', 'k', '_'
        ][..]),
        1 => any::<char>(),
    ]
}

/// Loads `text` (with `overrides`) as a config file: Ok or an error naming the file; a loaded
/// config round-trips through its resolved TOML.
fn check(text: &str, overrides: &[String]) -> Result<(), TestCaseError> {
    let path = Path::new("fuzz.toml");
    match parse(text, path, overrides) {
        Ok(cfg) => {
            round_trip(&cfg)?;
            builds(&cfg)?;
        }
        Err(e) => {
            prop_assert!(
                e.message.starts_with("fuzz.toml: ") || e.message.starts_with("--set "),
                "error does not name the file or override: {}",
                e.message
            );
            prop_assert_eq!(e.exit_code(), 2);
        }
    }
    Ok(())
}

/// What a run writes as `config.toml` loads back as the same config.
fn round_trip(cfg: &ExperimentConfig) -> Result<(), TestCaseError> {
    let text = toml::to_string(cfg).map_err(|e| TestCaseError::fail(format!("cannot serialise {cfg:?}: {e}")))?;
    let back = parse(&text, Path::new("config.toml"), &[])
        .map_err(|e| TestCaseError::fail(format!("resolved config does not load: {}\n{text}", e.message)))?;
    prop_assert_eq!(&back, cfg);
    Ok(())
}

/// A validated config's model builds for its items (where their shape is known without reading
/// data) and runs a batch. The loss may overflow for absurd but finite weights (`l1 = 1e308`):
/// training reports that as divergence, by epoch and step.
fn builds(cfg: &ExperimentConfig) -> Result<(), TestCaseError> {
    let shape = match &cfg.data.source {
        Some(source) => ae_data::source_item_shape(source),
        None => ae_data::catalog::item_shape(&cfg.data.dataset),
    };
    let Some(shape) = shape else { return Ok(()) };
    let device = ae_train::backend::init_device().expect("a CPU backend");
    let model = cfg
        .model
        .init_for_shape(&shape, &device)
        .map_err(|e| TestCaseError::fail(format!("validated, yet does not build: {e:?}\n{cfg:?}")))?;
    let x = Tensor::<2>::full([2, shape.iter().product()], 0.5, &device);
    let _ = model.forward(x, None).loss.into_scalar::<f32>();
    Ok(())
}

fn edits() -> impl Strategy<Value = (Vec<(usize, char, u8)>, Option<usize>)> {
    (prop::collection::vec((any::<usize>(), toml_char(), any::<u8>()), 0..8), prop::option::of(any::<usize>()))
}

proptest! {
    #[test]
    fn arbitrary_text(text in prop::collection::vec(toml_char(), 0..300)) {
        check(&text.into_iter().collect::<String>(), &[])?;
    }

    #[test]
    fn edited_shipped_configs(which in any::<prop::sample::Index>(), (e, cut) in edits()) {
        let base = which.get(shipped());
        check(&mutate(base, &e, cut), &[])?;
    }

    /// Lines `key = value` inserted anywhere in a shipped config (into whatever table is open
    /// there), and dotted keys set with `--set`.
    #[test]
    fn hostile_values_and_overrides(
        which in any::<prop::sample::Index>(),
        lines in prop::collection::vec((any::<usize>(), key(), value()), 0..4),
        sets in prop::collection::vec((key(), value()), 0..4),
    ) {
        let base = which.get(shipped());
        let mut text: Vec<String> = base.lines().map(str::to_string).collect();
        for (at, k, v) in &lines {
            let leaf = k.rsplit('.').next().unwrap();
            text.insert(at % (text.len() + 1), format!("{leaf} = {v}"));
        }
        let overrides: Vec<String> = sets.iter().map(|(k, v)| format!("{k}={v}")).collect();
        check(&text.join("\n"), &overrides)?;
    }
}

/// The shipped configs load and round-trip (so the edits start from valid files).
#[test]
fn shipped_configs_load_and_round_trip() {
    assert!(shipped().len() >= 10);
    for text in shipped() {
        let cfg = parse(text, Path::new("shipped.toml"), &[]).unwrap_or_else(|e| panic!("{}", e.message));
        round_trip(&cfg).unwrap();
        builds(&cfg).unwrap();
    }
}
