"""Engine throughput against two plain hand-written PyTorch loops, in one process.

All three train the same model (built once per repeat from the same config and seed) on the same
on-device tensors, batch size and number of steps, with equal weighting and no validation
(val_fraction 0). The engine does everything a real run does (event buffer, NaN checks, snapshots,
events); the loops do forward, the sum of the task losses (plus the model's own penalty, for soft
sharing), backward, step and nothing else:

- plain: the engine's own loss functions (the masked ones, which skip missing labels) and the
  optimiser `prepare` builds;
- fused: what a user writes who knows no label is missing: torch's fused `F.cross_entropy`,
  `F.binary_cross_entropy_with_logits`, `F.mse_loss` (...) on targets cast once, and one
  torch optimiser over `model.parameters()` with torch's defaults (on a CPU its per-parameter
  loop, where the engine asks for the multi-tensor update). A task whose training rows do miss
  labels keeps the engine's masked loss there (no fused kernel skips them).

    python benchmarks/bench_engine.py [PRESET[:BATCH[:EPOCHS]] ...] [--device cpu|cuda]
                                      [--threads N] [--repeats N]

With no case, every shipped preset (presets/*.yaml) at its own batch size, for enough epochs to
make a few hundred steps. Prints the machine, the load average before and after, and per preset
the median samples/s of each loop and the median over repeats of the per-repeat ratios
engine / plain and engine / fused (goal: >= 0.98 against both). The three loops run interleaved,
so drift in the machine's load hits them alike: on a shared machine only the ratios count.
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from mtl_engine.build import resolve_device
from mtl_engine.config import ExperimentConfig, from_dict
from mtl_engine.events import RunFinished, RunStarted
from mtl_engine.losses import missing_targets
from mtl_engine.presets import load
from mtl_engine.registry import OPTIMIZERS
from mtl_engine.session_setup import Setup, prepare
from mtl_engine.training import run

PRESETS = Path(__file__).resolve().parent.parent / "presets"
TARGET_STEPS = 200  # default epochs: about this many steps per run


def bench_config(preset: str, epochs: int, batch: int, device: str, threads: int = 0
                 ) -> ExperimentConfig:
    """The preset under equal weighting, no validation; with `threads`, the run's
    training.threads too (else `auto` would give a convolutional model every core while the
    plain loops keep the bench's count, and leave that count set for them afterwards)."""
    d = load(preset).to_dict()
    d["strategy"] = {"name": "equal", "params": {}, "grad_mode": "shared"}
    d["data"]["val_fraction"] = 0.0
    d["data"]["test_fraction"] = 0.0
    d["training"].update(epochs=epochs, max_steps_per_epoch=None, batch_size=batch,
                         device=device, diagnostics_every=0, select="last", patience=None)
    if threads:
        d["training"]["threads"] = threads
    return from_dict(d)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


Rate = tuple[float, float]  # samples per second of wall time, of this process's CPU time


def _timed_epochs(config: ExperimentConfig, s: Setup,
                  step: Callable[[torch.Tensor], None]) -> Rate:
    """Samples per second of `step` over shuffled batches of `s.train` for the config's epochs."""
    bs, n, device = config.training.batch_size, len(s.train), s.device
    s.model.train()
    sync(device)
    t0, c0 = time.perf_counter(), time.process_time()
    for epoch in range(config.training.epochs):
        gen = torch.Generator().manual_seed(epoch)
        perm = torch.randperm(n, generator=gen).to(device)
        for b in range(0, n, bs):
            step(perm[b:b + bs])
    sync(device)
    samples = config.training.epochs * n
    return samples / (time.perf_counter() - t0), samples / (time.process_time() - c0)


def _add(terms: list[torch.Tensor]) -> torch.Tensor:
    total = terms[0]
    for t in terms[1:]:
        total = total + t
    return total


def _plain_step(model: torch.nn.Module, opt: torch.optim.Optimizer,
                x: torch.Tensor | dict[str, torch.Tensor], pairs: list
                ) -> Callable[[torch.Tensor], None]:
    """One hand-written step: forward, the sum of the task losses (and the model's penalty),
    backward, the optimiser step; `pairs` are (loss function, task name, targets)."""

    def step(idx: torch.Tensor) -> None:
        out = model({k: v[idx] for k, v in x.items()} if isinstance(x, dict) else x[idx])
        terms = [fn(out[name], y[idx]) for fn, name, y in pairs]
        penalty = model.penalty()
        loss = _add(terms + ([penalty] if penalty is not None else []))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    return step


def plain_loop(config: ExperimentConfig) -> Rate:
    """Samples per second of a hand-written loop on the engine's losses and optimiser."""
    s = prepare(config)  # same model, data tensors and optimiser as the engine builds
    model, opt, x = s.model, s.optimizer, s.train.x
    pairs = [(fn, t.name, s.train.y[t.source]) for fn, t in zip(s.loss_fns, s.tasks)]

    return _timed_epochs(config, s, _plain_step(model, opt, x, pairs))


def _fused(loss: str, masked: Callable) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """torch's own loss call for `loss`, with the class or positive weight `masked` has bound."""
    kw = masked.keywords if isinstance(masked, functools.partial) else {}

    def flat(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:  # a (B, 1) head, (B,) targets
        return out.reshape(y.shape) if out.dim() == y.dim() + 1 else out

    if loss == "cross_entropy":
        return lambda out, y: F.cross_entropy(out, y, weight=kw.get("class_weight"))
    if loss == "bce":
        return lambda out, y: F.binary_cross_entropy_with_logits(
            flat(out, y), y, pos_weight=kw.get("pos_weight"))
    kernels = {"mse": F.mse_loss, "l1": F.l1_loss, "huber": F.huber_loss,
               "poisson": functools.partial(F.poisson_nll_loss, log_input=True)}
    kernel = kernels[loss]
    return lambda out, y: kernel(flat(out, y), y)


def fused_loop(config: ExperimentConfig) -> Rate:
    """Samples per second of the strongest plain loop: torch's fused losses, one optimiser."""
    s = prepare(config)
    model, x, o = s.model, s.train.x, config.optimizer
    # torch's optimiser as a user builds it: one group, torch's default implementation
    entry = OPTIMIZERS.get(o.name)
    opt = entry.obj(model.parameters(), lr=o.lr, weight_decay=o.weight_decay,
                    **entry.meta["kwargs"](entry.parse(o.params, "optimizer.params")))
    pairs = []
    for fn, t in zip(s.loss_fns, s.tasks):
        y = s.train.y[t.source]
        if bool(missing_targets(t.loss, y).any()):  # no fused kernel skips a missing label
            pairs.append((fn, t.name, y))
        else:
            dtype = torch.int64 if t.type == "classification" else torch.get_default_dtype()
            pairs.append((_fused(t.loss, fn), t.name, y.to(dtype)))

    return _timed_epochs(config, s, _plain_step(model, opt, x, pairs))


def engine_loop(config: ExperimentConfig) -> Rate:
    t0, c0, samples, elapsed, cpu = 0.0, 0.0, 0, math.nan, math.nan
    device = resolve_device(config.training.device)
    for event in run(config):
        if isinstance(event, RunStarted):
            samples = event.train_size
            sync(device)
            t0, c0 = time.perf_counter(), time.process_time()
        elif isinstance(event, RunFinished):
            sync(device)
            elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
        elif event.kind == "RunFailed":
            raise SystemExit(f"engine run failed: {event.message}")  # type: ignore[attr-defined]
    total = config.training.epochs * samples
    return total / elapsed, total / cpu


def default_cases() -> list[str]:
    """Every shipped preset at its own batch size, epochs for about TARGET_STEPS steps. Presets
    that differ only in their strategy are the same run under equal weighting: the first stands
    for the others (printed)."""
    out, seen = [], {}
    for path in sorted(PRESETS.glob("*.yaml")):
        c = load(path.stem)
        config = bench_config(path.stem, 1, c.training.batch_size, "cpu")
        key = repr({k: v for k, v in config.to_dict().items() if k not in ("name", "description")})
        if key in seen:
            print(f"{path.stem}: the same run as {seen[key]} under equal weighting")
            continue
        seen[key] = path.stem
        per_epoch = math.ceil(len(prepare(config).train) / c.training.batch_size)
        out.append(f"{path.stem}:{c.training.batch_size}:{max(1, round(TARGET_STEPS / per_epoch))}")
    return out


def _ratio(engine: list[Rate], base: list[Rate], k: int) -> float:
    """The median over repeats of engine / base, by wall time (k = 0) or CPU time (k = 1)."""
    return statistics.median(e[k] / q[k] for e, q in zip(engine, base))


def machine(device: torch.device) -> str:
    name = torch.cuda.get_device_name() if device.type == "cuda" else platform.processor() \
        or platform.machine()
    return (f"{platform.node()}: {name}, {os.cpu_count()} cores ({platform.machine()}), "
            f"torch {torch.__version__}, {torch.get_num_threads()} torch threads, device {device}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("cases", nargs="*", help="PRESET[:BATCH[:EPOCHS]] (default: every preset)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    a = p.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    dev = resolve_device(a.device)
    before = os.getloadavg()
    print(f"machine: {machine(dev)}")
    print(f"load average before: {before[0]:.2f} {before[1]:.2f} {before[2]:.2f}")
    print(f"equal weighting, no validation; {a.repeats} interleaved repeats: median samples/s "
          "(wall), medians of the per-repeat ratios by wall time and by the process's CPU time "
          "(which a busy machine's other processes do not inflate)")
    cases = a.cases or default_cases()
    print(f"{'preset':<24}{'batch':>6}{'epochs':>7}{'plain':>9}{'fused':>9}{'engine':>9}"
          f"{'e/plain':>9}{'e/fused':>9}{'cpu e/p':>9}{'cpu e/f':>9}")
    for case in cases:
        preset, *rest = case.split(":")
        defaults = load(preset).training
        batch = int(rest[0]) if rest else defaults.batch_size
        epochs = int(rest[1]) if len(rest) > 1 else defaults.epochs
        config = bench_config(preset, epochs, batch, a.device, a.threads)
        for loop in (engine_loop, plain_loop, fused_loop):  # warm-up (allocator, kernels, data)
            loop(config)
        eng, pl, fu = [], [], []
        for r in range(a.repeats):  # interleaved, the order rotated, so drift hits all alike
            order = [(plain_loop, pl), (fused_loop, fu), (engine_loop, eng)]
            for loop, out in order[r % 3:] + order[:r % 3]:
                out.append(loop(config))
        med = statistics.median
        ratio = functools.partial(_ratio, eng)
        print(f"{preset:<24}{batch:>6}{epochs:>7}{med(r[0] for r in pl):>9.0f}"
              f"{med(r[0] for r in fu):>9.0f}{med(r[0] for r in eng):>9.0f}"
              f"{ratio(pl, 0):>9.3f}{ratio(fu, 0):>9.3f}{ratio(pl, 1):>9.3f}{ratio(fu, 1):>9.3f}",
              flush=True)
    after = os.getloadavg()
    print(f"load average after: {after[0]:.2f} {after[1]:.2f} {after[2]:.2f}")


if __name__ == "__main__":
    main()
