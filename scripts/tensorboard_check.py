#!/usr/bin/env python3
# /// script
# requires-python = ">=3.9"
# dependencies = ["tensorboard"]
# ///
"""Reads a run folder's TensorBoard log with TensorBoard's own reader (the event accumulator)
and checks it against the run's metrics.jsonl and config.toml.

    scripts/tensorboard_check.py RUN

`tensorboard` (from PyPI) is installed on first use into a virtual environment of its own
(default ~/.cache/ae-tensorboard, or $AE_TENSORBOARD_VENV), and the script runs itself again
there. Exit 0 when every epoch's scalars are read back at their steps with the values of
metrics.jsonl (to float32), one reconstructions picture per epoch decodes as a PNG of the stated
size, and the last config text is the run's config.toml; 1 otherwise, saying what differs.
"""
import json
import os
import subprocess
import sys
from pathlib import Path


def ensure_dependencies():
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        venv = Path(os.environ.get("AE_TENSORBOARD_VENV", Path.home() / ".cache" / "ae-tensorboard"))
        python = venv / "bin" / "python"
        # Already running in that environment (a venv's python is a link to the base one, so
        # compare the prefixes, not the executables).
        if Path(sys.prefix).resolve() == venv.resolve():
            raise
        if not python.exists():
            print(f"tensorboard_check: installing tensorboard into {venv}", file=sys.stderr)
            subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
            subprocess.run([str(python), "-m", "pip", "install", "-q", "tensorboard"], check=True)
        os.execv(str(python), [str(python), __file__, *sys.argv[1:]])


ensure_dependencies()

import struct  # noqa: E402

import numpy as np  # noqa: E402
import tensorboard  # noqa: E402
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402


def f32(x):
    return float(np.float32(x))


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    run = Path(sys.argv[1])
    if not (run / "tensorboard").is_dir():
        sys.exit(f"{run}: no tensorboard/ folder (is it a run folder, trained with train.tensorboard on?)")
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"scalars": 0, "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    problems = []
    metrics = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]

    def scalar(tag):
        return [(e.step, e.value) for e in acc.Scalars(tag)]

    expected = {
        "train/loss": [(m["step"], f32(m["train_loss"])) for m in metrics],
        "train/learning_rate": [(m["step"], f32(m["learning_rate"])) for m in metrics],
        "train/epoch": [(m["step"], float(m["epoch"])) for m in metrics],
        "speed/samples_per_s": [(m["step"], f32(m["samples_per_s"])) for m in metrics],
    }
    if metrics and metrics[0].get("val_loss") is not None:
        expected["val/loss"] = [(m["step"], f32(m["val_loss"])) for m in metrics]
    for term in metrics[0]["train_terms"] if metrics else []:
        expected[f"train/{term}"] = [(m["step"], f32(m["train_terms"][term])) for m in metrics]
    for tag, want in expected.items():
        got = scalar(tag) if tag in tags["scalars"] else None
        if got != want:
            problems.append(f"{tag}: read {got}, metrics.jsonl says {want}")
    running = scalar("train/loss_running") if "train/loss_running" in tags["scalars"] else []
    steps = [s for s, _ in running]
    if steps != sorted(set(steps)):
        problems.append(f"train/loss_running: steps repeat or go back: {steps}")

    images = acc.Images("reconstructions") if "reconstructions" in tags["images"] else []
    if [i.step for i in images] != [m["step"] for m in metrics]:
        problems.append(f"reconstructions at steps {[i.step for i in images]}, epochs end at {[m['step'] for m in metrics]}")
    for i in images:
        png = i.encoded_image_string
        # The PNG signature, then the IHDR chunk's width and height.
        if png[:8] != b"\x89PNG\r\n\x1a\n" or struct.unpack(">II", png[16:24]) != (i.width, i.height):
            problems.append(f"reconstructions at step {i.step}: not a {i.width}x{i.height} PNG")

    config = (run / "config.toml").read_text()
    texts = acc.Tensors("config") if "config" in tags["tensors"] else []
    if not texts or texts[0].step != 0:
        problems.append(f"config: texts at steps {[t.step for t in texts]}, none at step 0")
    else:
        # The last one: a resumed run logs its config again where it changed.
        text = tensor_util.make_ndarray(texts[-1].tensor_proto).item().decode()
        if "".join(line[4:] + "\n" for line in text.splitlines()) != config:
            problems.append("config: the text is not the run's config.toml")

    print(f"tensorboard {tensorboard.__version__} read {run / 'tensorboard'}:")
    for tag in sorted(tags["scalars"]):
        points = scalar(tag)
        print(f"  scalar {tag}: {len(points)} points, steps {points[0][0]}..{points[-1][0]}, last {points[-1][1]:.6g}")
    for i in images:
        print(f"  image reconstructions step {i.step}: {i.width}x{i.height} PNG, {len(i.encoded_image_string)} bytes")
    print(f"  text config: {len(texts)} at step {[t.step for t in texts]}")
    if problems:
        print("MISMATCH:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"ok: {len(metrics)} epochs match metrics.jsonl")


if __name__ == "__main__":
    main()
