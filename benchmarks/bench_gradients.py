"""Per-task gradients and gradient strategies: step time against equal weighting and a naive loop.

    python benchmarks/bench_gradients.py [--device cpu|cuda] [--tasks 3 5 8] [--reps 15]

Part 1, per-task gradients. One training step (forward, per-task gradients, Gramian, weights,
backward of the combined loss, optimiser step) of a small multi-task model, timed as:
  ew       equal weighting: forward, one backward of sum_i L_i, step (no per-task gradients);
  naive    per-task gradients the LibMTL way: T full backward passes, each task's shared
           gradient copied to the host and concatenated there (the baseline to beat);
  vmap     one vmapped backward pass on the shared parameters (is_grads_batched);
  loop     one autograd.grad per task w.r.t. the shared parameters only, on the device;
  ours     mtl_engine.gradients.task_gradients, which picks one of the two (loop for
           convolution kernels on the CPU, vmap otherwise);
  rep      grad_mode "representation" (gradients w.r.t. the representation, MGDA-UB style).
Goal (issue 4): ours <= (T + 1) x ew, and naive / ours >= 1.5 for T >= 3.

Part 2, every gradient strategy: its whole step with batched per-task gradients, against ew and
against the same strategy fed by the naive loop.

Part 3, our solvers against torchjd's (cvxpy / quadprog / scipy) where those are installed:
time per call and the largest difference in the weights.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mtl_engine.events import TaskInfo
from mtl_engine.gradients import _batched_or_loop, _per_task, backward_reusing, task_gradients
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies.base import StepInfo, build_strategy

MODELS = ("mlp", "lenet")


class Net(torch.nn.Module):
    """A shared trunk and T classification heads: an MLP on 64 features or MultiMNIST's LeNet."""

    def __init__(self, kind: str, n_tasks: int) -> None:
        super().__init__()
        nn = torch.nn
        if kind == "mlp":
            self.trunk = nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256),
                                       nn.ReLU())
            width, self.shape = 256, (64,)
        else:  # Sener & Koltun's MultiMNIST LeNet (METHODS.md)
            self.trunk = nn.Sequential(nn.Conv2d(1, 10, 5), nn.MaxPool2d(2), nn.ReLU(),
                                       nn.Conv2d(10, 20, 5), nn.MaxPool2d(2), nn.ReLU(),
                                       nn.Flatten(), nn.Linear(320, 50), nn.ReLU())
            width, self.shape = 50, (1, 28, 28)
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(width, 50), nn.ReLU(),
                                                 nn.Linear(50, 10)) for _ in range(n_tasks))

    def losses(self, x: torch.Tensor, ys: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        rep = self.trunk(x)
        return torch.stack([F.cross_entropy(h(rep), y) for h, y in zip(self.heads, ys)]), rep


def naive_grads(net: Net, losses: torch.Tensor) -> torch.Tensor:
    shared = list(net.trunk.parameters())
    rows = []
    for i in range(losses.shape[0]):
        net.zero_grad(set_to_none=True)
        losses[i].backward(retain_graph=True)
        rows.append(torch.cat([p.grad.reshape(-1).cpu() for p in shared]))
    net.zero_grad(set_to_none=True)
    return torch.stack(rows).to(losses.device)


def make_step(net: Net, opt: torch.optim.Optimizer, x: torch.Tensor, ys: torch.Tensor,
              mode: str, strategy: object | None) -> Callable[[], None]:
    shared = list(net.trunk.parameters())
    heads = [p for p in net.parameters() if all(p is not q for q in shared)]

    def step() -> None:
        losses, rep = net.losses(x, ys)
        if mode == "ew":
            total = losses.sum()
        else:
            if mode == "naive":
                g = naive_grads(net, losses)
            elif mode in ("ours", "reuse"):
                g = task_gradients(losses, shared)
            elif mode == "vmap":
                g = _batched_or_loop(losses, shared)
            elif mode == "loop":
                g = _per_task(losses, shared)
            else:
                g = task_gradients(losses, [rep])
            info = StepInfo(0, 0, grads=g, gramian=g @ g.T)
            if strategy is None:
                total, weights = losses.sum(), torch.ones_like(losses)
            else:
                comb = strategy.combine(losses, info)  # type: ignore[attr-defined]
                total, weights = comb.total, comb.weights
            if mode == "reuse":  # what the training loop does: no second trunk backward
                opt.zero_grad(set_to_none=True)
                backward_reusing(total, weights.detach(), g, shared, heads)
                opt.step()
                return
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()

    return step


def timed(fns: dict[str, Callable[[], None]], reps: int, sync: Callable[[], None]
          ) -> dict[str, float]:
    """Median seconds per call; the candidates take turns so machine noise hits all alike."""
    for fn in fns.values():
        fn()
        fn()
    samples: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(reps):
        for name, fn in fns.items():
            sync()
            t = time.perf_counter()
            fn()
            sync()
            samples[name].append(time.perf_counter() - t)
    return {k: statistics.median(v) for k, v in samples.items()}


def setup(kind: str, n_tasks: int, device: torch.device, batch: int = 128):  # noqa: ANN201
    torch.manual_seed(0)
    net = Net(kind, n_tasks).to(device)
    x = torch.randn(batch, *net.shape, device=device)
    ys = torch.randint(0, 10, (n_tasks, batch), device=device)
    return net, torch.optim.Adam(net.parameters(), lr=1e-3), x, ys


def part1(device: torch.device, tasks: list[int], reps: int, sync: Callable[[], None]) -> None:
    print("\n## Per-task gradients: one training step, median ms")
    print(f"{'model':6} {'T':>2} {'ew':>7} {'naive':>7} {'vmap':>7} {'loop':>7} {'ours':>7} "
          f"{'reuse':>7} {'rep':>7} | {'reuse/ew':>8} {'(T+1)':>5} {'naive/reuse':>11} "
          f"{'naive/rep':>9}")
    for kind in MODELS:
        for t in tasks:
            net, opt, x, ys = setup(kind, t, device)
            modes = ("ew", "naive", "vmap", "loop", "ours", "reuse", "rep")
            ms = timed({m: make_step(net, opt, x, ys, m, None) for m in modes}, reps, sync)
            ms = {k: v * 1e3 for k, v in ms.items()}
            print(f"{kind:6} {t:>2} {ms['ew']:7.2f} {ms['naive']:7.2f} {ms['vmap']:7.2f} "
                  f"{ms['loop']:7.2f} {ms['ours']:7.2f} {ms['reuse']:7.2f} {ms['rep']:7.2f} | "
                  f"{ms['reuse'] / ms['ew']:8.2f} {t + 1:>5} {ms['naive'] / ms['reuse']:11.2f} "
                  f"{ms['naive'] / ms['rep']:9.2f}")


def part2(device: torch.device, n_tasks: int, reps: int, sync: Callable[[], None]) -> None:
    print(f"\n## Every gradient strategy, mlp, T = {n_tasks}: whole step, median ms")
    print("(ms: the step as the training loop runs it, reusing the per-task gradients)")
    print(f"{'strategy':24} {'ms':>7} {'/ ew':>6} {'naive ms':>9} {'naive / ours':>12}")
    infos = tuple(TaskInfo(f"t{i}", "classification", 10, "cross_entropy", "accuracy", True)
                  for i in range(n_tasks))
    net, opt, x, ys = setup("mlp", n_tasks, device)
    ew = timed({"ew": make_step(net, opt, x, ys, "ew", None)}, reps, sync)["ew"]
    for entry in STRATEGIES:
        if entry.meta.get("family") != "gradient":
            continue
        params = validate_params(entry.params, {}, "strategy.params")
        fns = {}
        for mode in ("reuse", "naive"):
            s = build_strategy(entry.name, params, infos, [1.0] * n_tasks, device)
            fns[mode] = make_step(net, opt, x, ys, mode, s)
        ms = timed(fns, reps, sync)
        print(f"{entry.name:24} {ms['reuse'] * 1e3:7.2f} {ms['reuse'] / ew:6.2f} "
              f"{ms['naive'] * 1e3:9.2f} {ms['naive'] / ms['reuse']:12.2f}")


def part3(reps: int) -> None:
    print("\n## Solvers on random Gramians (T = 5): ours vs torchjd's, us per call")
    from mtl_engine.strategies._gramian import ActiveSetProjector
    from mtl_engine.strategies.cagrad import cagrad_dual
    from mtl_engine.strategies.nash_mtl import nash_weights

    g = torch.randn(5, 200, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    k = g @ g.T
    try:
        import torchjd.aggregation as agg

        ref = {
            "upgrad (quadprog)": (lambda: agg.UPGradWeighting()(k),
                                  lambda: agg.UPGradWeighting(projector=ActiveSetProjector())(k)),
            "cagrad (cvxpy)": (lambda: agg.CAGradWeighting(0.5)(k),
                               lambda: _cagrad_alpha(cagrad_dual, k)),
            "nash_mtl (cvxpy/ecos)": (lambda: agg.NashMTL(5, max_norm=0).weighting(g),
                                      lambda: torch.as_tensor(nash_weights(k.numpy(), None, 50))),
            "fairgrad (scipy)": (lambda: agg.FairGradWeighting(1.0)(k), lambda: _fairgrad(k)),
        }
    except Exception as exc:  # noqa: BLE001 - an optional comparison: say why it is skipped
        print(f"(torchjd aggregation not importable: {exc})")
        return
    for name, (theirs, ours) in ref.items():
        try:
            a = theirs()
        except ImportError as exc:
            print(f"{name:24} torchjd's solver not installed ({str(exc).splitlines()[0][:60]})")
            continue
        b = ours()
        t_theirs = timed({"x": theirs}, max(3, reps // 3), lambda: None)["x"]
        t_ours = timed({"x": ours}, reps, lambda: None)["x"]
        diff = float((a.double() - b.double()).abs().max() / a.double().abs().max())
        print(f"{name:24} theirs {t_theirs * 1e6:9.0f}  ours {t_ours * 1e6:7.0f}  "
              f"x{t_theirs / t_ours:6.1f}  max rel diff {diff:.1e}")


def _cagrad_alpha(solver: Callable, k: torch.Tensor) -> torch.Tensor:  # type: ignore[type-arg]
    a = k.numpy() / float(k.trace())
    w, rho, r = solver(a, 0.5)
    return torch.as_tensor(1 / a.shape[0] + (r / rho) * w)


def _fairgrad(k: torch.Tensor) -> torch.Tensor:
    s = build_strategy("fairgrad", {"alpha": 1.0},
                       tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False)
                             for i in range(k.shape[0])), [1.0] * k.shape[0], torch.device("cpu"))
    return s.weigh(k, torch.ones(k.shape[0], dtype=torch.float64))  # type: ignore[attr-defined]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--tasks", type=int, nargs="+", default=[3, 5, 8])
    ap.add_argument("--reps", type=int, default=15)
    args = ap.parse_args()
    device = torch.device(args.device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else \
        f"CPU, {torch.get_num_threads()} threads"
    print(f"# bench_gradients on {name}, torch {torch.__version__}")
    part1(device, args.tasks, args.reps, sync)
    part2(device, max(args.tasks), args.reps, sync)
    part3(args.reps)


if __name__ == "__main__":
    main()
