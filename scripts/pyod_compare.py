#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["pyod>=2", "torch", "numpy", "scikit-learn", "tqdm"]
# ///
"""Outlier detection on tables: PyOD's AutoEncoder and VAE (their defaults) against ae-train's
`anomaly` preset (configs/presets/tabular_anomaly.toml), on the same rows, over several seeds.

    scripts/pyod_compare.py [--sets satimage-2,satellite,...] [--seeds 0,1,2] [--out DIR]

The dependencies in the header above are installed on first use into a virtual environment
(default ~/.cache/ae-pyod, or $AE_PYOD_VENV), from PyPI, and the script runs itself again there.
The ae-train binary is `$AE_TRAIN` (default: target/release/ae-train, built with cargo if missing).
Data comes from $AE_DATA_DIR (default ../shared/datasets).

Outlier sets, built the way the ODDS collection (odds.cs.stonybrook.edu) builds its sets; each
outlier sample is seeded by the run's seed, so a seed fixes both the rows and the models:
- satimage-2: the UCI Statlog (Landsat) satellite rows (sat.trn + sat.tst, 6435 x 36); class 2
  (cotton crop) down-sampled to 71 rows as outliers, every other class normal (5803 rows, 1.2 %).
- satellite: the same rows; the three smallest classes (2, 4, 5) are the outliers (6435 rows,
  31.6 %), ODDS' construction of "satellite".
- mnist-0v6: MNIST training images, digit 0 normal (5923), digit 6 down-sampled to 700 outliers
  (ODDS' "mnist" construction, with all 784 pixels instead of ODDS' 100 random ones; 10.6 %).
- ecg5000: the UCR ECG5000 training series (500 x 140); class 1 (normal beats, 292) normal, the
  other classes down-sampled to 15 outliers (4.9 %).
- mnist-oc-D (D = 0..9): one-class MNIST: fit on the training images of digit D only, score the
  10000 test images, every other digit an outlier (the protocol of Ruff et al., Deep SVDD).
Every model fits the rows unlabelled; AUROC and average precision use the labels afterwards.
Fit time: PyOD's `fit`; ae-train's `train_seconds` (summary.json: the epochs, without start-up
and data loading). Both sides run on the CPU with the threads the machine has.
"""
import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEPS = ["pyod>=2", "torch", "numpy", "scikit-learn", "tqdm"]


def ensure_dependencies():
    try:
        import numpy  # noqa: F401
        import pyod  # noqa: F401
        import sklearn  # noqa: F401
        import torch  # noqa: F401
        import tqdm  # noqa: F401  (PyOD imports it without declaring it)
    except ImportError:
        venv = Path(os.environ.get("AE_PYOD_VENV", Path.home() / ".cache" / "ae-pyod"))
        python = venv / "bin" / "python"
        if Path(sys.executable).resolve() == python.resolve() and python.exists():
            raise
        if not python.exists():
            print(f"pyod_compare: installing {' '.join(DEPS)} into {venv}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", *DEPS], check=True)
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


ensure_dependencies()

import gzip  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics import average_precision_score, roc_auc_score  # noqa: E402

DATA = Path(os.environ.get("AE_DATA_DIR", ROOT.parent / "shared" / "datasets"))


def idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    dims = raw[3]
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def mnist(split):
    prefix = "train" if split == "train" else "t10k"
    x = idx(DATA / "mnist" / f"{prefix}-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255.0
    y = idx(DATA / "mnist" / f"{prefix}-labels-idx1-ubyte.gz").astype(np.int64)
    return x, y


def satellite_rows():
    rows = np.vstack([np.loadtxt(DATA / "satimage" / f) for f in ("sat.trn", "sat.tst")])
    return rows[:, :-1].astype(np.float32), rows[:, -1].astype(np.int64)


def downsample(x, y_outlier, keep, rng):
    """Keeps every normal row and `keep` outliers chosen by `rng`, in the original order."""
    out = np.flatnonzero(y_outlier)
    chosen = np.sort(np.concatenate([np.flatnonzero(~y_outlier), rng.choice(out, keep, replace=False)]))
    return x[chosen], y_outlier[chosen].astype(np.int64)


def build(name, seed):
    """(fit rows, score rows, score labels: 1 = outlier); fit and score rows are the same except
    for one-class MNIST."""
    rng = np.random.default_rng(1000 + seed)
    if name == "satimage-2":
        x, c = satellite_rows()
        x, y = downsample(x, c == 2, 71, rng)
        return x, x, y
    if name == "satellite":
        x, c = satellite_rows()
        y = np.isin(c, [2, 4, 5]).astype(np.int64)
        return x, x, y
    if name == "mnist-0v6":
        x, c = mnist("train")
        keep = (c == 0) | (c == 6)
        x, y = downsample(x[keep], c[keep] == 6, 700, rng)
        return x, x, y
    if name == "ecg5000":
        rows = np.loadtxt(DATA / "ecg5000" / "ECG5000_TRAIN.txt")
        x, c = rows[:, 1:].astype(np.float32), rows[:, 0].astype(np.int64)
        x, y = downsample(x, c != 1, 15, rng)
        return x, x, y
    if name.startswith("mnist-oc-"):
        d = int(name.rsplit("-", 1)[1])
        xtr, ctr = mnist("train")
        xte, cte = mnist("test")
        return xtr[ctr == d], xte, (cte != d).astype(np.int64)
    raise SystemExit(f"error: unknown set {name!r}")


def write_csv(path, x, y):
    header = ",".join([f"f{i}" for i in range(x.shape[1])] + ["label"])
    np.savetxt(path, np.column_stack([x, y]), delimiter=",", header=header, comments="", fmt="%.7g")


def ours(binary, work, name, seed, fit_x, score_x, score_y, overrides=()):
    """ae-train with configs/presets/tabular_anomaly.toml's model and training on the same rows."""
    folder = work / f"{name}-seed{seed}"
    folder.mkdir(parents=True, exist_ok=True)
    one_class = fit_x is not score_x
    if one_class:
        # One-class MNIST straight from the catalog: fit on one digit's training images, score the
        # test split (the same rows build() hands PyOD).
        digit = int(name.rsplit("-", 1)[1])
        data = f'dataset = "mnist"\nclasses = [{digit}]'
    else:
        write_csv(folder / "rows.csv", fit_x, score_y)
        data = (f'dataset = "{name}"\nsource = {{ kind = "csv", path = "rows.csv", '
                'options = { label = "last", class_order = "sorted" } }')
    preset = (ROOT / "configs" / "tabular_anomaly.toml").read_text()
    model = preset[preset.index("[model.network]"):]
    config = f'''name = "{name}"
[data]
{data}
normalize = "zscore"
val_fraction = 0.0
{model}'''
    (folder / "config.toml").write_text(config)
    run = folder / "run"
    train = [str(binary), "--config", "config.toml", "--backend", "flex", "--set", f"train.seed={seed}",
             "--out", str(run), "--force", "--quiet"]
    for o in overrides:
        train += ["--set", o]
    subprocess.run(train, cwd=folder, check=True, stdout=subprocess.DEVNULL)
    split = "test" if one_class else "train"
    normal = str(digit) if one_class else "0"
    subprocess.run([str(binary), "anomaly", str(run), "--split", split, "--normal", normal, "--backend", "flex"],
                   cwd=folder, check=True, stdout=subprocess.DEVNULL)
    report = json.loads((run / "anomaly.json").read_text())
    seconds = json.loads((run / "summary.json").read_text())["train_seconds"]
    # The scores in anomaly.csv, ranked here with scikit-learn like PyOD's, as a cross-check.
    scores = np.loadtxt(run / "anomaly.csv", delimiter=",", skiprows=1, usecols=2)
    auroc = roc_auc_score(score_y, scores)
    if report["separation"]["auroc"] is not None and abs(auroc - report["separation"]["auroc"]) > 1e-6:
        raise SystemExit(f"error: {run}: anomaly.json AUROC {report['separation']['auroc']} != {auroc}")
    return auroc, average_precision_score(score_y, scores), seconds


def pyod_model(kind, seed, fit_x, score_x, score_y):
    import torch
    from pyod.models.auto_encoder import AutoEncoder
    from pyod.models.vae import VAE

    torch.manual_seed(seed)
    model = (AutoEncoder if kind == "AutoEncoder" else VAE)(random_state=seed, verbose=0)
    start = time.perf_counter()
    model.fit(fit_x)
    seconds = time.perf_counter() - start
    scores = model.decision_function(score_x) if fit_x is not score_x else model.decision_scores_
    return roc_auc_score(score_y, scores), average_precision_score(score_y, scores), seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sets", default="satimage-2,satellite,mnist-0v6,ecg5000," +
                   ",".join(f"mnist-oc-{d}" for d in range(10)))
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--models", default="ours,AutoEncoder,VAE")
    p.add_argument("--out", default=str(ROOT / "target" / "pyod_compare"))
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the preset for ae-train's runs (e.g. model.network.code=8)")
    args = p.parse_args()
    binary = Path(os.environ.get("AE_TRAIN", ROOT / "target" / "release" / "ae-train"))
    if "ours" in args.models and not binary.exists():
        subprocess.run(["cargo", "build", "--release", "-p", "ae-train"], cwd=ROOT, check=True)
    work = Path(args.out)
    work.mkdir(parents=True, exist_ok=True)
    seeds = [int(s) for s in args.seeds.split(",")]
    results = []
    for name in args.sets.split(","):
        for seed in seeds:
            fit_x, score_x, score_y = build(name, seed)
            for m in args.models.split(","):
                if m == "ours":
                    auroc, ap, secs = ours(binary, work, name, seed, fit_x, score_x, score_y, args.set)
                else:
                    auroc, ap, secs = pyod_model(m, seed, fit_x, score_x, score_y)
                row = {"set": name, "seed": seed, "model": m, "rows": len(score_x), "features": score_x.shape[1],
                       "outliers": int(score_y.sum()), "auroc": auroc, "average_precision": ap, "fit_seconds": secs}
                results.append(row)
                print(json.dumps(row), flush=True)
    (work / "results.jsonl").write_text("".join(json.dumps(r) + "\n" for r in results))
    print("\n| set | rows x features (outliers) | model | AUROC mean ± sd | AP mean | fit s mean | AUROC per seed |")
    print("|---|---|---|---|---|---|---|")
    for name in args.sets.split(","):
        for m in args.models.split(","):
            rs = [r for r in results if r["set"] == name and r["model"] == m]
            a = np.array([r["auroc"] for r in rs])
            print(f"| {name} | {rs[0]['rows']} x {rs[0]['features']} ({rs[0]['outliers']}) | {m} | "
                  f"{a.mean():.4f} ± {a.std():.4f} | {np.mean([r['average_precision'] for r in rs]):.4f} | "
                  f"{np.mean([r['fit_seconds'] for r in rs]):.2f} | {', '.join(f'{v:.4f}' for v in a)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
