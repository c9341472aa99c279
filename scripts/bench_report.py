#!/usr/bin/env python3
"""Reads `ae-train bench --json` files and prints, for a GPU run:

- each case beside PyTorch (same batch, same file): steps/s both sides and the ratio;
- for the two conv cases, the arithmetic a step needs (multiply-adds of every convolution,
  forward, input and weight gradient) and the bytes it must move at least (each activation
  written and read forward, read again and its gradient written and read backward; Adam's seven
  passes over the parameters), as fractions of the GPU's TF32 tensor-core and HBM peaks;
- denoising_cifar.toml's seconds per epoch (its 6,400 training images at its batch 64) from the
  conv_full case;

and with --profile LOG, the last kernel table cubecl's profiler wrote into LOG.

Usage: bench_report.py --gpu NAME FILE.jsonl...   |   bench_report.py --profile LOG
Standard library only.
"""

import argparse
import json
import math
import sys

# Dense TF32 tensor-core FLOP/s and HBM bytes/s from NVIDIA's data sheets (SXM parts).
PEAKS = {
    "H200": (494.7e12, 4.8e12),
    "H100 PCIe": (378e12, 2.0e12),
    "H100": (494.7e12, 3.35e12),
    "A100": (156e12, 2.0e12),
}

# (kind, in channels, out channels, kernel, stride, padding, input side); "t" = transposed.
MODELS = {
    "conv": [  # denoising_cifar_reference.toml
        ("c", 3, 32, 3, 2, 1, 32), ("c", 32, 64, 3, 2, 1, 16), ("c", 64, 128, 3, 2, 1, 8),
        ("t", 128, 64, 4, 2, 1, 4), ("t", 64, 32, 4, 2, 1, 8), ("t", 32, 3, 4, 2, 1, 16),
    ],
    "conv_full": [  # denoising_cifar.toml
        ("c", 3, 32, 3, 1, 1, 32), ("c", 32, 32, 3, 1, 1, 32),
        ("t", 32, 32, 3, 1, 1, 32), ("t", 32, 3, 3, 1, 1, 32),
    ],
}
TRAIN_IMAGES = {"conv_full": 6400}


def out_side(kind, k, s, p, n):
    return (n - 1) * s - 2 * p + k if kind == "t" else (n + 2 * p - k) // s + 1


def costs(case):
    """Multiply-adds, activation values and parameters of one item's training step."""
    macs = acts = params = 0
    layers = MODELS[case]
    acts += layers[0][1] * layers[0][6] ** 2  # the (corrupted) input
    for i, (kind, cin, cout, k, s, p, n) in enumerate(layers):
        m = out_side(kind, k, s, p, n)
        # A transposed convolution's multiply-adds are its input's positions times the kernel.
        fwd = (n * n if kind == "t" else m * m) * cin * cout * k * k
        macs += fwd * (2 if i == 0 else 3)  # forward + weight gradient (+ input gradient)
        acts += cout * m * m
        params += cin * cout * k * k + cout
    return macs, acts, params


def peaks(gpu):
    for name, value in PEAKS.items():
        if name in gpu:
            return name, value
    return None, None


def report(gpu, files):
    rows = {}
    for path in files:
        for line in open(path):
            m = json.loads(line)
            rows.setdefault((m["case"], m["batch"]), {})[m["backend"]] = m
    name, peak = peaks(gpu)
    flops_peak, bytes_peak = peak or (math.nan, math.nan)
    print(f"GPU: {gpu} (peaks used: {name or 'unknown'}: TF32 {flops_peak / 1e12:.0f} TFLOP/s, HBM {bytes_peak / 1e12:.2f} TB/s)")
    print(f"{'case':10} {'batch':>5} {'ours':>10} {'PyTorch':>10} {'ratio':>7}  backend")
    for (case, batch), sides in sorted(rows.items()):
        torch = sides.pop("torch", None)
        for backend, m in sides.items():
            t = torch["steps_per_s"] if torch else math.nan
            print(f"{case:10} {batch:5} {m['steps_per_s']:10.1f} {t:10.1f} {m['steps_per_s'] / t:6.2f}x  {backend}")
            if case in MODELS:
                macs, acts, params = costs(case)
                flop = 2 * macs * batch
                moved = (5 * acts * batch + 7 * params) * 4
                for who, rate in ((backend, m["steps_per_s"]), ("torch", t)):
                    print(f"{'':17} {who:6} {flop * rate / 1e12:7.2f} TFLOP/s = {100 * flop * rate / flops_peak:5.2f} % of TF32, "
                          f"{moved * rate / 1e9:7.1f} GB/s = {100 * moved * rate / bytes_peak:5.2f} % of HBM "
                          f"({flop / 1e9:.2f} GFLOP, {moved / 1e6:.0f} MB a step)")
                if case in TRAIN_IMAGES:
                    steps = math.ceil(TRAIN_IMAGES[case] / batch)
                    print(f"{'':17} an epoch of {TRAIN_IMAGES[case]} images: {steps / m['steps_per_s']:.2f} s {backend}, "
                          f"{steps / t:.2f} s PyTorch")


def profile(path):
    text = open(path, encoding="utf-8", errors="replace").read().splitlines()
    starts = [i for i, line in enumerate(text) if line.startswith("| Name")]
    if not starts:
        print(f"{path}: no profiler table")
        return 1
    i = starts[-1] - 1
    table = []
    for line in text[i:]:
        if not line.startswith("|"):
            break
        table.append(line)
    print("\n".join(table[:40]))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--gpu", default="")
    ap.add_argument("--profile")
    ap.add_argument("files", nargs="*")
    a = ap.parse_args()
    if a.profile:
        return profile(a.profile)
    report(a.gpu, a.files)
    return 0


if __name__ == "__main__":
    sys.exit(main())
