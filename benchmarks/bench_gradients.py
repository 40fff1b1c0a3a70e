"""The gradient pipeline against LibMTL's approach and torchjd's, on the shipped models and a grid.

    python benchmarks/bench_gradients.py [--device cpu|cuda] [--reps 7] [--quick]
        [--parts pipeline grid solvers]

Everything runs in one process except the memory cells (one subprocess each); the variants take
turns step by step (interleaved) and each figure is a median, so machine noise hits all alike.
Only ratios are meaningful on a shared machine: the load average is printed before and after.

Part "pipeline": one training step of the shipped presets' models (the MultiMNIST LeNet, the MLPs
of digits_cascade and penguins_mixed) for MGDA, PCGrad, CAGrad, Nash-MTL and UPGrad, as
  engine   the training loop's own step (`training._Loop._step`: forward, per-task gradients by
           `gradients.task_gradients`, the strategy, the reusing backward, Adam);
  libmtl   LibMTL's approach: forward, T full `backward(retain_graph=True)` passes, each task's
           shared gradients copied into one vector (T x P), the same strategy object's weights,
           the shared `.grad` set to w^T G (the heads keep what the T passes accumulated), Adam;
  torchjd  torchjd 0.18's pipeline: `autojac.mtl_backward` on the losses and the shared
           representation, then `jac_to_grad` with torchjd's aggregator for the method (n/a
           where its optional solver is not installed: quadprog+qpsolvers for UPGrad, cvxpy for
           CAGrad and Nash-MTL), Adam.
Ratios libmtl / engine and torchjd / engine: above 1, the engine is faster (goal: >= 1).

Part "grid": UPGrad on a synthetic model (a two-layer ReLU trunk of P parameters, T linear
regression heads, batch 64) for T in 2..40 and P in 1e4..1e6: the engine's step against
torchjd's autojac pipeline and its autogram one (`autogram.Engine.compute_gramian`, the weights,
`losses.backward(weights)`), time (ratios) and peak memory. Memory is the growth of the process's
peak resident set over one step (Linux's VmHWM, reset before it), in a fresh subprocess per cell
(torch's CPU allocator keeps no statistics and tracemalloc does not see its buffers), reported as
(peak - equal weighting's peak) / G with G = T x P x 4 bytes (goal: <= 1.3; below 1 for methods
that need only the Gramian).

Part "solvers": the dual-cone projection (UPGrad's T projections) per call, ours against
quadprog where it is installed, T = 2..40, and the largest difference in the weights.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from mtl_engine.config import ExperimentConfig, from_dict
from mtl_engine.control import RunControl
from mtl_engine.events import TaskInfo
from mtl_engine.gradients import backward_along, backward_reusing, task_gradients
from mtl_engine.gramian_tape import LinearTape, step_gramian
from mtl_engine.presets import load
from mtl_engine.session_setup import prepare
from mtl_engine.strategies.base import StepInfo, build_strategy
from mtl_engine.training import _Loop

PRESETS = ("multimnist_mgda", "digits_cascade", "penguins_mixed")
METHODS = ("mgda", "pcgrad", "cagrad", "nash_mtl", "upgrad")


def machine() -> str:
    return (f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
            f"{torch.get_num_threads()} torch thread(s)")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


CLOCK = {"wall": time.perf_counter, "cpu": time.thread_time}
clock = time.perf_counter


MEMORY_STEPS = 5  # memory_cell: the median of this many steps' peaks
SAMPLE_S = 0.02  # one timing sample lasts about this long (several calls of a fast step)


def timed(fns: dict[str, Callable[[], None]], reps: int, sync: Callable[[], None]
          ) -> dict[str, float]:
    """Median seconds per call; the candidates take turns so machine noise hits all alike. Each
    sample runs a candidate enough times in a row to last about SAMPLE_S (a 1 ms step timed once
    is mostly noise). With `--clock cpu` (one torch thread, CPU) the calling thread's CPU time,
    which the other programs on a shared machine do not inflate."""
    calls: dict[str, int] = {}
    for name, fn in fns.items():
        fn()
        sync()
        t = clock()
        fn()
        sync()
        calls[name] = max(1, min(50, round(SAMPLE_S / max(clock() - t, 1e-6))))
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            sync()
            t = clock()
            for _ in range(calls[name]):
                fn()
            sync()
            samples[name].append((clock() - t) / calls[name])
    return {k: statistics.median(v) for k, v in samples.items()}


# --------------------------------------------------------------------------- the presets


def preset_config(preset: str, method: str, device: str) -> ExperimentConfig:
    d = load(preset).to_dict()
    d["strategy"] = {"name": method, "params": {}, "grad_mode": "shared"}
    d["data"]["val_fraction"] = 0.1
    d["training"].update(device=device, diagnostics_every=0, epochs=1)
    return from_dict(d)


class Batches:
    """The same sequence of random training batches for every variant."""

    def __init__(self, n: int, batch: int, device: torch.device) -> None:
        gen = torch.Generator().manual_seed(0)
        self.idx = [torch.randperm(n, generator=gen)[:batch].to(device) for _ in range(8)]
        self.i = 0

    def next(self) -> torch.Tensor:
        self.i = (self.i + 1) % len(self.idx)
        return self.idx[self.i]


def engine_step(config: ExperimentConfig) -> Callable[[], None]:
    """The training loop's own step on a cycle of 8 batches (its per-epoch preparation as
    `_Loop.events` / `_epoch` do it, where the loop has one)."""
    loop = _Loop(config, RunControl())
    loop.setup = setup = prepare(config)
    if hasattr(loop, "_fast_path_setup"):
        loop._fast_path_setup()
    bs, count = config.training.batch_size, 8
    order = torch.randperm(len(setup.train), generator=torch.Generator().manual_seed(0))
    perm = order.to(setup.device)
    forms = loop.batches.forms(order, bs, count) if hasattr(loop, "batches") else None
    state = {"b": 0}

    def step() -> None:
        b = state["b"] = (state["b"] + 1) % count
        idx = perm[b * bs:(b + 1) * bs]
        if forms is None:
            loop._step(idx)
        else:
            loop._step(idx, forms[b])
        loop.step += 1

    return step


def _losses(setup: Any, out: dict[str, torch.Tensor], idx: torch.Tensor) -> list[torch.Tensor]:
    return [fn(out[t.name], setup.train.y[t.source][idx])
            for fn, t in zip(setup.loss_fns, setup.tasks)]


def libmtl_step(config: ExperimentConfig) -> Callable[[], None]:
    setup = prepare(config)
    model, opt, strategy, shared = setup.model, setup.optimizer, setup.strategy, \
        setup.shared_params
    batches = Batches(len(setup.train), config.training.batch_size, setup.device)
    sizes = [p.numel() for p in shared]
    width = sum(sizes)

    def step() -> None:
        idx = batches.next()
        losses = torch.stack(_losses(setup, model(setup.train.x[idx]), idx))
        opt.zero_grad(set_to_none=True)
        grads = torch.zeros(len(losses), width, device=losses.device)
        for i in range(len(losses)):
            losses[i].backward(retain_graph=i + 1 < len(losses))
            start = 0
            for p, n in zip(shared, sizes):
                if p.grad is not None:
                    grads[i, start:start + n] = p.grad.reshape(-1)
                    p.grad = None
                start += n
        combined = strategy.combine(losses.detach(), StepInfo(0, 0, grads=grads,
                                                              gramian=grads @ grads.T))
        new = combined.weights.to(grads.dtype) @ grads
        start = 0
        for p, n in zip(shared, sizes):
            p.grad = new[start:start + n].view_as(p).clone()
            start += n
        opt.step()

    return step


def torchjd_aggregator(method: str, n_tasks: int) -> Any:
    import torchjd.aggregation as agg

    make = {"mgda": agg.MGDA, "pcgrad": agg.PCGrad, "cagrad": lambda: agg.CAGrad(0.5),
            "nash_mtl": lambda: agg.NashMTL(n_tasks, max_norm=1.0), "upgrad": agg.UPGrad}
    a = make[method]()
    a(torch.randn(n_tasks, 4))  # raises ImportError where its solver is not installed
    return a


def torchjd_step(config: ExperimentConfig) -> Callable[[], None] | str:
    from torchjd.autojac import jac_to_grad, mtl_backward

    setup = prepare(config)
    try:
        aggregator = torchjd_aggregator(config.strategy.name, len(setup.tasks))
    except ImportError as exc:
        return f"n/a ({str(exc).splitlines()[0][:40]})"
    model, opt, shared = setup.model, setup.optimizer, setup.shared_params
    batches = Batches(len(setup.train), config.training.batch_size, setup.device)

    def step() -> None:
        idx = batches.next()
        out, rep = model.forward_with_representation(setup.train.x[idx])
        losses = _losses(setup, out, idx)
        opt.zero_grad(set_to_none=True)
        mtl_backward(losses, features=rep, shared_params=shared)
        jac_to_grad(shared, aggregator)
        opt.step()

    try:  # torchjd's default task-parameter split fails where heads read each other (cascade)
        step()
    except RuntimeError as exc:
        return f"n/a ({type(exc).__name__})"
    return step


def part_pipeline(device: str, reps: int, sync: Callable[[], None], presets: tuple[str, ...],
                  methods: tuple[str, ...]) -> None:
    print("\n## Pipeline: one training step, median ms; libmtl / engine and torchjd / engine")
    print(f"{'preset':16} {'method':9} {'engine':>8} {'libmtl':>8} {'torchjd':>8} "
          f"{'libmtl/eng':>10} {'torchjd/eng':>11}")
    for preset in presets:
        for method in methods:
            config = preset_config(preset, method, device)
            fns: dict[str, Callable[[], None]] = {"engine": engine_step(config),
                                                  "libmtl": libmtl_step(config)}
            tj = torchjd_step(config)
            if callable(tj):
                fns["torchjd"] = tj
            ms = {k: v * 1e3 for k, v in timed(fns, reps, sync).items()}
            tj_ms = f"{ms['torchjd']:8.2f}" if "torchjd" in ms else f"{'n/a':>8}"
            tj_ratio = f"{ms['torchjd'] / ms['engine']:11.2f}" if "torchjd" in ms else \
                f"{tj if isinstance(tj, str) else '':>11}"
            print(f"{preset:16} {method:9} {ms['engine']:8.2f} {ms['libmtl']:8.2f} {tj_ms} "
                  f"{ms['libmtl'] / ms['engine']:10.2f} {tj_ratio}", flush=True)


# --------------------------------------------------------------------------- the T x P grid


class Synthetic(torch.nn.Module):
    """A two-layer ReLU trunk of about `params` parameters on 64 inputs, T regression heads."""

    def __init__(self, n_tasks: int, params: int) -> None:
        super().__init__()
        # 64 h + h + h h + h = params  ->  h^2 + 66 h - params = 0
        h = max(4, int((-66 + (66 ** 2 + 4 * params) ** 0.5) / 2))
        self.trunk = torch.nn.Sequential(torch.nn.Linear(64, h), torch.nn.ReLU(),
                                         torch.nn.Linear(h, h), torch.nn.ReLU())
        self.heads = torch.nn.ModuleList(torch.nn.Linear(h, 1) for _ in range(n_tasks))

    def forward(self, x: torch.Tensor) -> tuple[list[torch.Tensor], torch.Tensor]:
        rep = self.trunk(x)
        return [h(rep).squeeze(-1) for h in self.heads], rep


def grid_step(kind: str, n_tasks: int, params: int, device: torch.device
              ) -> tuple[Callable[[], None], int]:
    """A step of `kind` (ew, engine, autojac, autogram) on the synthetic model; P as built."""
    torch.manual_seed(0)
    net = Synthetic(n_tasks, params).to(device)
    shared = list(net.trunk.parameters())
    heads = list(net.heads.parameters())
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.randn(64, 64, device=device)
    y = torch.randn(n_tasks, 64, device=device)
    width = sum(p.numel() for p in shared)

    def task_losses() -> tuple[list[torch.Tensor], torch.Tensor]:
        out, rep = net(x)
        return [((o - t) ** 2).mean() for o, t in zip(out, y)], rep

    def losses_of() -> tuple[torch.Tensor, torch.Tensor]:
        losses, rep = task_losses()
        return torch.stack(losses), rep

    if kind == "ew":
        def step() -> None:
            losses, _ = losses_of()
            opt.zero_grad(set_to_none=True)
            losses.sum().backward()
            opt.step()
    elif kind in ("engine", "blocks"):
        infos = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False)
                      for i in range(n_tasks))
        strategy = build_strategy("upgrad", {}, infos, [1.0] * n_tasks, device)
        # engine: as the loop runs UPGrad (input GRAMIAN): K from the linear layers' record
        # (gramian_tape) where it is the smaller, else K and w^T G from the blocks; blocks: the
        # blocks route always (the loop's route before gramian_tape)
        tape = LinearTape.attach(net, shared, batch=64) if kind == "engine" else None

        def step() -> None:
            if tape is not None:
                tape.armed = True
            losses, _ = losses_of()
            if tape is not None:
                tape.armed = False
            gram = step_gramian(tape, losses, shared)
            combined = strategy.combine(losses, StepInfo(0, 0, gramian=gram.gramian))
            opt.zero_grad(set_to_none=True)
            backward_along(combined.total, gram.update(combined.weights), shared, heads)
            opt.step()
    elif kind == "engine_g":  # the same with the whole G (input GRADS), for the memory column
        infos = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False)
                      for i in range(n_tasks))
        strategy = build_strategy("upgrad", {}, infos, [1.0] * n_tasks, device)

        def step() -> None:
            losses, _ = losses_of()
            g = task_gradients(losses, shared)
            combined = strategy.combine(losses, StepInfo(0, 0, grads=g, gramian=g @ g.T))
            opt.zero_grad(set_to_none=True)
            backward_reusing(combined.total, combined.weights, g, shared, heads)
            opt.step()
    elif kind == "autojac":
        from torchjd.autojac import jac_to_grad, mtl_backward

        aggregator = torchjd_aggregator("upgrad", n_tasks)

        def step() -> None:
            losses, rep = task_losses()  # torchjd differentiates each loss on its own graph
            opt.zero_grad(set_to_none=True)
            mtl_backward(losses, features=rep, shared_params=shared)
            jac_to_grad(shared, aggregator)
            opt.step()
    else:  # autogram
        from torchjd.aggregation import UPGradWeighting
        from torchjd.autogram import Engine

        engine = Engine(net.trunk, batch_dim=None)
        weighting = UPGradWeighting()
        weighting(torch.eye(n_tasks))  # raises ImportError without quadprog

        def step() -> None:
            losses, _ = losses_of()
            opt.zero_grad(set_to_none=True)
            gramian = engine.compute_gramian(losses)
            losses.backward(weighting(gramian))
            opt.step()
    return step, width


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith(field + ":"))


def memory_cell(kind: str, n_tasks: int, params: int) -> None:
    """In a subprocess: the peak resident set's growth (KiB) over one step after a warm-up one,
    printed as JSON: the median over MEMORY_STEPS steps, each measured on its own. Linux's peak
    (VmHWM) is reset just before each step (/proc/self/clear_refs), and glibc hands every block
    above 64 KiB straight back to the system when freed (the parent sets
    MALLOC_MMAP_THRESHOLD_), so the growth is the step's largest live set. (At P = 1e4, where G
    is under 2 MB, one step scattered by about +-0.5 x G, the heap's own growth, and the median
    of 5 still does: those cells cannot resolve differences of that size.)"""
    torch.set_num_threads(1)
    try:
        step, width = grid_step(kind, n_tasks, params, torch.device("cpu"))
    except ImportError:
        print(json.dumps({"rise": None}))
        return
    step()  # Adam's state, autograd's buffers: there from the first step on
    rises = []
    for _ in range(MEMORY_STEPS):
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        before = _status_kib("VmRSS")
        step()
        rises.append(_status_kib("VmHWM") - before)
    print(json.dumps({"rise": statistics.median(rises), "width": width}))


def measure_memory(kind: str, n_tasks: int, params: int) -> tuple[float | None, int]:
    out = subprocess.run([sys.executable, __file__, "--memory-cell", kind, str(n_tasks),
                          str(params)], capture_output=True, text=True, check=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1",
                              "MALLOC_MMAP_THRESHOLD_": "65536"})
    data = json.loads(out.stdout.strip().splitlines()[-1])
    return data["rise"], data.get("width", 0)


def part_grid(device: torch.device, reps: int, sync: Callable[[], None], tasks: list[int],
              sizes: list[int], memory: bool) -> None:
    print("\n## Grid, UPGrad: step time (autojac / engine, autogram / engine: above 1 the "
          "engine is faster) and peak memory above equal weighting, in units of G = T x P floats")
    print("(engine: the loop's route for UPGrad, input GRAMIAN: K from the linear layers' "
          "record where that is the smaller, else from the per-tensor blocks; blocks: the "
          "blocks route always; engine+G: the same method fed the whole G, input GRADS, memory "
          "only)")
    print(f"{'T':>3} {'P':>8} {'engine ms':>9} {'blocks/eng':>10} {'autojac/eng':>11} "
          f"{'autogram/eng':>12} | {'mem engine':>10} {'blocks':>6} {'engine+G':>8} "
          f"{'mem autojac':>11} {'mem autogram':>12}")
    for n_tasks in tasks:
        for params in sizes:
            fns: dict[str, Callable[[], None]] = {}
            for kind in ("engine", "blocks", "autojac", "autogram"):
                with contextlib.suppress(ImportError):  # torchjd's without quadprog
                    fns[kind], width = grid_step(kind, n_tasks, params, device)
            ms = timed(fns, reps, sync)
            ratio = {k: f"{ms[k] / ms['engine']:.2f}" if k in ms else "n/a"
                     for k in ("blocks", "autojac", "autogram")}
            mem = {k: "-" for k in ("engine", "blocks", "engine_g", "autojac", "autogram")}
            if memory and device.type == "cpu":
                ew, _ = measure_memory("ew", n_tasks, params)
                g_kib = n_tasks * width * 4 / 1024
                for kind in mem:
                    rise, _ = measure_memory(kind, n_tasks, params)
                    if rise is not None and ew is not None:
                        mem[kind] = f"{(rise - ew) / g_kib:.2f}"
            print(f"{n_tasks:>3} {width:>8} {ms['engine'] * 1e3:9.2f} {ratio['blocks']:>10} "
                  f"{ratio['autojac']:>11} {ratio['autogram']:>12} | {mem['engine']:>10} "
                  f"{mem['blocks']:>6} {mem['engine_g']:>8} {mem['autojac']:>11} "
                  f"{mem['autogram']:>12}", flush=True)


# --------------------------------------------------------------------------- the projector


def part_solvers(reps: int) -> None:
    print("\n## Dual-cone projection (UPGrad's T projections) per call: ours vs quadprog")
    from mtl_engine.strategies._gramian import normalised, project_dual_cone_rows

    try:
        import quadprog
    except ImportError:
        quadprog = None
        print("(quadprog is not installed: ours only)")
    rng = np.random.default_rng(0)
    for t in (2, 5, 10, 20, 40):
        g = rng.standard_normal((t, 3 * t))
        g[: t // 3] *= -0.3  # some conflict
        k = normalised(g @ g.T, 1e-4, 1e-4)
        us = np.eye(t) / t
        fns: dict[str, Callable[[], object]] = {
            "ours": lambda us=us, k=k: project_dual_cone_rows(us, k)}
        if quadprog is not None:
            fns["quadprog"] = lambda us=us, k=k, t=t: np.stack(
                [quadprog.solve_qp(k, np.zeros(t), np.eye(t), u)[0] for u in us])
        us_ = timed(fns, reps, lambda: None)  # type: ignore[arg-type]
        line = f"T = {t:>2}: ours {us_['ours'] * 1e6:8.0f} us"
        if "quadprog" in us_:
            diff = np.abs(fns["ours"]() - fns["quadprog"]()).max()  # type: ignore[operator]
            line += (f"  quadprog {us_['quadprog'] * 1e6:8.0f} us  ours / quadprog "
                     f"{us_['ours'] / us_['quadprog']:5.2f}  max diff {diff:.1e}")
        print(line, flush=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--memory-cell":
        memory_cell(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
        return
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--parts", nargs="+", default=["pipeline", "grid", "solvers"])
    ap.add_argument("--presets", nargs="+", default=list(PRESETS))
    ap.add_argument("--methods", nargs="+", default=list(METHODS))
    ap.add_argument("--tasks", type=int, nargs="+", default=[2, 5, 10, 20, 40])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--clock", choices=sorted(CLOCK), default="wall",
                    help="wall time, or the thread's CPU time (CPU, one thread: robust to load)")
    ap.add_argument("--no-memory", action="store_true", help="skip the memory subprocesses")
    args = ap.parse_args()
    torch.set_num_threads(1)
    global clock
    clock = CLOCK[args.clock]
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"# bench_gradients on {where}: {machine()}")
    print(f"clock: {args.clock}; load average before: {load_average()}")
    if "pipeline" in args.parts:
        part_pipeline(args.device, args.reps, sync, tuple(args.presets), tuple(args.methods))
    if "grid" in args.parts:
        part_grid(device, args.reps, sync, args.tasks, args.sizes, not args.no_memory)
    if "solvers" in args.parts:
        part_solvers(max(args.reps, 15))
    print(f"\nload average after: {load_average()}")


if __name__ == "__main__":
    main()
