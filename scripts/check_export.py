#!/usr/bin/env python3
"""Check an `ae-train export` folder in PyTorch.

    python scripts/check_export.py runs/NAME/export [--tolerance 1e-4]

Builds a torch module from model.json, loads model.safetensors into it (strictly: every tensor
used, every parameter filled), runs it on check_input.npy and compares with check_output.npy,
the reconstructions ae-train computed. Prints the largest absolute difference; exits 1 above the
tolerance, 2 when the folder cannot be read or the weights do not fit.

Needs torch, numpy and safetensors. The module built here (`build(description)`) is also how to
use an exported model from Python.
"""

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file
from torch import nn
import torch.nn.functional as F


def activation(name):
    return {
        "relu": nn.ReLU(),
        "selu": nn.SELU(),
        "elu": nn.ELU(alpha=1.0),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "leaky_relu": nn.LeakyReLU(0.01),
        "gelu": nn.GELU(approximate="none"),
        "linear": nn.Identity(),
    }[name]


class PaddedConv2d(nn.Conv2d):
    """A Conv2d with (top, bottom) and (left, right) zero padding that may be unequal."""

    def __init__(self, spec):
        super().__init__(spec["in_channels"], spec["out_channels"], tuple(spec["kernel_size"]),
                         stride=tuple(spec["stride"]), padding=0, bias=spec["bias"])
        (top, bottom), (left, right) = spec["padding"]
        self.pads = (left, right, top, bottom)

    def forward(self, x):
        return super().forward(F.pad(x, self.pads))


def layer(spec):
    op = spec["op"]
    if op == "linear":
        return nn.Linear(spec["in_features"], spec["out_features"], bias=spec["bias"])
    if op == "conv2d":
        return PaddedConv2d(spec)
    if op == "conv_transpose2d":
        return nn.ConvTranspose2d(spec["in_channels"], spec["out_channels"], tuple(spec["kernel_size"]),
                                  stride=tuple(spec["stride"]), padding=tuple(spec["padding"]),
                                  output_padding=tuple(spec["output_padding"]), bias=spec["bias"])
    if op == "batch_norm2d":
        return nn.BatchNorm2d(spec["num_features"], eps=spec["eps"], momentum=spec["momentum"])
    if op == "batch_norm1d":
        return nn.BatchNorm1d(spec["num_features"], eps=spec["eps"], momentum=spec["momentum"])
    if op == "dropout":
        return nn.Dropout(spec["p"])
    if op == "activation":
        return activation(spec["name"])
    if op == "unflatten":
        return nn.Unflatten(1, tuple(spec["shape"]))
    if op == "flatten":
        return nn.Flatten(1)
    if op == "upsample":
        return nn.Upsample(size=tuple(spec["size"]), mode=spec["mode"])
    raise ValueError(f"unknown layer op {op!r}")


class Layers(nn.Module):
    def __init__(self, specs):
        super().__init__()
        self.layers = nn.Sequential(*[layer(s) for s in specs])

    def forward(self, x):
        return self.layers(x)


class Bottleneck(nn.Module):
    """The deterministic code of each kind of bottleneck."""

    def __init__(self, spec):
        super().__init__()
        self.kind = spec["kind"]
        if self.kind == "gaussian":
            self.mu = layer(spec["mu"])
            self.log_var = layer(spec["log_var"])
        elif self.kind != "identity":
            self.linear = layer(spec["linear"])
        self.code_activation = activation(spec.get("code_activation", "linear"))
        self.k = spec.get("k")

    def forward(self, h):
        if self.kind == "identity":
            return h
        if self.kind == "gaussian":
            return self.mu(h)
        code = self.code_activation(self.linear(h))
        if self.kind == "top_k" and self.k < code.shape[1]:
            _, idx = code.topk(self.k, dim=1)
            code = code * torch.zeros_like(code).scatter(1, idx, 1.0)
        return code


class Autoencoder(nn.Module):
    def __init__(self, description):
        super().__init__()
        self.encoder = Layers(description["encoder"])
        self.bottleneck = Bottleneck(description["bottleneck"])
        self.decoder = Layers(description["decoder"])
        self.output_activation = activation(description["output_activation"])

    def encode(self, x):
        return self.bottleneck(self.encoder(x))

    def forward(self, x):
        return self.output_activation(self.decoder(self.encode(x)))


def build(folder):
    """The exported model of `folder` in eval mode, weights loaded."""
    folder = Path(folder)
    description = json.loads((folder / "model.json").read_text())
    model = Autoencoder(description)
    tensors = load_file(str(folder / "model.safetensors"))
    expected = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    missing, unused = expected - tensors.keys(), tensors.keys() - expected
    if missing or unused:
        raise ValueError(f"weights do not fit model.json: missing {sorted(missing)}, unused {sorted(unused)}")
    for name, t in tensors.items():
        want = tuple(model.state_dict()[name].shape)
        if tuple(t.shape) != want:
            raise ValueError(f"{name}: shape {tuple(t.shape)} in model.safetensors, {want} in the module")
    model.load_state_dict(tensors, strict=False)
    return model.eval(), description


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="an ae-train export folder (default of `ae-train export RUN`: RUN/export)")
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()
    folder = Path(args.folder)
    try:
        model, description = build(folder)
        x = torch.from_numpy(np.load(folder / "check_input.npy")).float()
        expected = np.load(folder / "check_output.npy")
    except (OSError, ValueError, KeyError) as e:
        print(f"error: {folder}: {e}", file=sys.stderr)
        return 2
    with torch.no_grad():
        got = model(x).numpy()
    if got.shape != expected.shape:
        print(f"error: output shape {got.shape}, expected {expected.shape}", file=sys.stderr)
        return 1
    diff = float(np.abs(got - expected).max())
    params = sum(p.numel() for p in model.parameters())
    print(f"{folder}: {description['network']} network, {description['bottleneck']['kind']} bottleneck, "
          f"{params} parameters, {x.shape[0]} items: max abs difference {diff:.3e} "
          f"(tolerance {args.tolerance:g})")
    if not diff <= args.tolerance:
        print("error: the torch model's output differs from ae-train's", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
