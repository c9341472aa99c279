"""PyTorch side of `ae-train bench`: the same cases, measured the same way, one JSON line per run.

Each case trains on one fixed batch of uniform random inputs with Adam (lr 1e-3): 10 untimed
warm-up steps, then steps until --seconds have passed, reading the loss every 25 steps (as the
Rust side does). The models are those of ../shared/bench/torch_reference.py where it has them
(ConvDAE, VAE, mlp), imported from there so that both references stay one.

Install: python3 -m venv torchref && torchref/bin/pip install torch numpy
Usage:   torchref/bin/python scripts/torch_bench.py {dense,deep,vae,conv,conv_full} [--seconds S] [--threads T] [--batch B]
"""
import argparse, json, os, resource, sys, time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE = os.environ.get("AE_TORCH_REFERENCE", os.path.join(HERE, "..", "..", "shared", "bench"))
sys.path.insert(0, REFERENCE)
import torch_reference as ref  # noqa: E402

READ_EVERY = 25
WARMUP = 10


def dense(sizes):
    """Encoder ReLU layers to a linear code, decoder ReLU layers to a sigmoid output."""
    back = list(reversed(sizes))
    return nn.Sequential(ref.mlp(sizes, nn.ReLU, None), ref.mlp(back, nn.ReLU, nn.Sigmoid))


def conv_full():
    """configs/experiments/denoising_cifar.toml: full-resolution 3x3 convolutions, stride 1, 3-32-32 and back
    through transposed convolutions, relu, sigmoid output."""
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, 1, 1), nn.ReLU(), nn.Conv2d(32, 32, 3, 1, 1), nn.ReLU(),
        nn.ConvTranspose2d(32, 32, 3, 1, 1), nn.ReLU(), nn.ConvTranspose2d(32, 3, 3, 1, 1), nn.Sigmoid())


def mse_case(model):
    return model, lambda x: F.mse_loss(model(x), x)


def case(name):
    if name == "dense":
        return (784,), 128, *mse_case(dense([784, 256, 32]))
    if name == "deep":
        return (784,), 128, *mse_case(dense([784, 400, 200, 100, 50, 2]))
    if name == "vae":
        m = ref.VAE()
        return (784,), 128, m, lambda x: ref.vae_loss(m, x, x)
    if name in ("conv", "conv_full"):
        m = ref.ConvDAE() if name == "conv" else conv_full()
        noisy = lambda x: (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
        return (3, 32, 32), 64, m, lambda x: F.mse_loss(m(noisy(x)), x)
    raise SystemExit(f"unknown case {name}")


def peak_rss_mib():
    """This process's peak resident memory. (getrusage's ru_maxrss would also count the memory of
    the process that forked this one, as Linux keeps it across exec.)"""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    p = argparse.ArgumentParser()
    p.add_argument("case", choices=["dense", "deep", "vae", "conv", "conv_full"])
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batch", type=int)
    p.add_argument("--device", default="cpu")
    p.add_argument("--precision", choices=["f32", "f16", "bf16"], default="f32",
                   help="f16/bf16: automatic mixed precision (torch.autocast; GradScaler for f16)")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    shape, batch, model, loss_fn = case(a.case)
    batch = a.batch or batch
    dev = torch.device(a.device)
    model.to(dev)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    x = torch.rand(batch, *shape, device=dev)

    half = {"f16": torch.float16, "bf16": torch.bfloat16}.get(a.precision)
    scaler = torch.amp.GradScaler(dev.type, enabled=a.precision == "f16")

    def step():
        with torch.autocast(dev.type, dtype=half or torch.float32, enabled=half is not None):
            loss = loss_fn(x)
        opt.zero_grad()
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()
        return loss

    for _ in range(WARMUP):
        step().item()
    steps, t0 = 0, time.time()
    while True:
        loss = step()
        steps += 1
        if steps % READ_EVERY == 0:
            value = loss.item()
            if time.time() - t0 >= a.seconds:
                break
    elapsed = time.time() - t0
    peak = peak_rss_mib()
    print(json.dumps(dict(case=a.case, batch=batch, steps=steps, steps_per_s=steps / elapsed, loss=value,
                          peak_rss_mib=peak, torch=torch.__version__, threads=a.threads, device=a.device,
                          precision=a.precision)))


if __name__ == "__main__":
    main()
