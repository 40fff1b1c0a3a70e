"""Engine throughput against a plain hand-written PyTorch loop, in one process.

Both train the same model (built once per repeat from the same config and seed) on the same
on-device tensors with the same optimiser, batch size and number of steps. The plain loop does
forward, sum of task losses, backward, step and nothing else; the engine does everything a real run
does (event buffer, NaN checks, snapshots, events) except validation (val_fraction 0).

    python benchmarks/bench_engine.py [PRESET:BATCH:EPOCHS ...] [--device cpu|cuda] [--threads N]

Prints samples/s for each and the ratio engine / plain (goal: >= 0.95 with equal weighting).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import torch

from mtl_engine.build import resolve_device
from mtl_engine.config import ExperimentConfig, from_dict
from mtl_engine.events import RunFinished, RunStarted
from mtl_engine.presets import load
from mtl_engine.session_setup import prepare
from mtl_engine.training import run


def bench_config(preset: str, epochs: int, batch: int, device: str) -> ExperimentConfig:
    d = load(preset).to_dict()
    d["strategy"] = {"name": "equal", "params": {}, "grad_mode": "shared"}
    d["data"]["val_fraction"] = 0.0
    d["training"].update(epochs=epochs, max_steps_per_epoch=None, batch_size=batch,
                         device=device, diagnostics_every=0)
    return from_dict(d)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def plain_loop(config: ExperimentConfig) -> float:
    """Samples per second of the hand-written loop."""
    s = prepare(config)  # same model, data tensors and optimiser as the engine builds
    model, opt, device = s.model, s.optimizer, s.device
    bs, n = config.training.batch_size, len(s.train)
    pairs = list(zip(s.loss_fns, s.tasks))
    model.train()
    sync(device)
    t0 = time.perf_counter()
    for epoch in range(config.training.epochs):
        gen = torch.Generator().manual_seed(epoch)
        perm = torch.randperm(n, generator=gen).to(device)
        for b in range(0, n, bs):
            idx = perm[b:b + bs]
            out = model(s.train.x[idx])
            loss = sum(fn(out[t.name], s.train.y[t.source][idx]) for fn, t in pairs)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    sync(device)
    return config.training.epochs * n / (time.perf_counter() - t0)


def engine_loop(config: ExperimentConfig) -> float:
    t0, samples = 0.0, 0
    for event in run(config):
        if isinstance(event, RunStarted):
            samples = event.train_size
            sync(resolve_device(config.training.device))
            t0 = time.perf_counter()
        elif isinstance(event, RunFinished):
            sync(resolve_device(config.training.device))
            elapsed = time.perf_counter() - t0
        elif event.kind == "RunFailed":
            raise SystemExit(f"engine run failed: {event.message}")  # type: ignore[attr-defined]
    return config.training.epochs * samples / elapsed


DEFAULT_CASES = ("multimnist_uncertainty:256:2", "digits_cascade:64:10", "penguins_mixed:64:20")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", nargs="*", default=list(DEFAULT_CASES),
                   help="PRESET:BATCH:EPOCHS (default: a conv net and two small MLPs)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    name = torch.cuda.get_device_name() if dev.type == "cuda" else platform.processor() or "cpu"
    load = os.getloadavg()[0]
    print(f"machine: {platform.node()} {name}, {os.cpu_count()} cores, load {load:.1f}, "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {dev}")
    print("equal weighting, no validation; median samples/s of "
          f"{a.repeats} interleaved repeats")
    print(f"{'preset':<26}{'batch':>6}{'epochs':>7}{'plain':>10}{'engine':>10}{'ratio':>8}")
    for case in a.cases:
        preset, batch, epochs = case.split(":")
        config = bench_config(preset, int(epochs), int(batch), a.device)
        engine_loop(config)  # warm-up both paths (allocator, kernels, data cache)
        plain_loop(config)
        eng, pl = [], []
        for _ in range(a.repeats):  # interleaved so drift in machine load hits both alike
            pl.append(plain_loop(config))
            eng.append(engine_loop(config))
        e, q = statistics.median(eng), statistics.median(pl)
        print(f"{preset:<26}{batch:>6}{epochs:>7}{q:>10.0f}{e:>10.0f}{e / q:>8.3f}")


if __name__ == "__main__":
    main()
