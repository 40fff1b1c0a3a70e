"""The GradNorm toy at other settings of the paper's free choices, in a plain PyTorch loop
(docs/fidelity.md, GradNorm toy: "More of the paper's free choices, tried").

    .venv/bin/python scripts/gradnorm_settings.py --mode ew|gn|alone1|alone2|fixed [--w W1 W2]
        [--n SAMPLES] [--steps N] [--lr LR] [--wlr WEIGHT_LR] [--alpha A] [--opt adam|sgd]
        [--input normal|normal1|unitball|unif01] [--seed S]

The generator is the engine's (B ~ N(0, 10^2), eps_i ~ N(0, 3.5^2), 100 outputs, sigma = 1 and
100, drawn in the same order), with a choice of input distribution: `normal` N(0, I/250) as the
shipped presets, `normal1` N(0, I), `unitball` uniform in [-1, 1]^250 scaled to unit norm,
`unif01` uniform in [0, 1]^250. The network is the paper's (4 ReLU layers of 100, an affine head
per task); GradNorm is the paper's eq. 1-2 on the last shared layer with the weights on their own
Adam, renormalised to sum 2 after each step. Prints the validation MSE / sigma^2 of each task
every --every steps (and GradNorm's weights); 10,000 extra samples are the validation set.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from mtl_engine.data.gradnorm_toy import B_STD, EPS_STD

SIGMAS = (1.0, 100.0)
VAL = 10_000
FIXED = {"ew": (1.0, 1.0), "alone1": (1.0, 0.0), "alone2": (0.0, 1.0)}


def inputs(kind: str, n: int, rng: np.random.Generator) -> np.ndarray:
    if kind == "normal":
        return rng.normal(0.0, 1.0 / np.sqrt(250), (n, 250))
    if kind == "normal1":
        return rng.normal(0.0, 1.0, (n, 250))
    if kind == "unitball":
        x = rng.uniform(-1.0, 1.0, (n, 250))
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    if kind == "unif01":
        return rng.uniform(0.0, 1.0, (n, 250))
    raise SystemExit(f"--input: unknown {kind!r} (normal, normal1, unitball, unif01)")


def toy(kind: str, n: int, seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """x (n + VAL, 250) and each task's targets (n + VAL, 100), B and eps drawn first. The
    engine's generator (`toy_arrays`) fixes the inputs to N(0, I/250); this one draws them as
    `kind` says, in the same order (so `normal` gives the engine's numbers)."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, B_STD, (100, 250))
    private = rng.normal(0.0, EPS_STD, (len(SIGMAS), 100, 250))
    x = inputs(kind, n + VAL, rng)
    ys = [s * np.tanh(x @ (shared + private[i]).T) for i, s in enumerate(SIGMAS)]
    return (torch.tensor(x, dtype=torch.float32),
            [torch.tensor(y, dtype=torch.float32) for y in ys])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", default="gn", choices=["gn", "ew", "alone1", "alone2", "fixed"])
    ap.add_argument("--w", type=float, nargs=2, default=[1.0, 1.0], help="weights for fixed")
    ap.add_argument("--n", type=int, default=200_000, help="training samples")
    ap.add_argument("--steps", type=int, default=25_000)
    ap.add_argument("--lr", type=float, default=1e-4, help="the network's learning rate")
    ap.add_argument("--wlr", type=float, default=1e-4, help="GradNorm's weights' (Adam)")
    ap.add_argument("--alpha", type=float, default=0.12)
    ap.add_argument("--opt", default="adam", choices=["adam", "sgd"])
    ap.add_argument("--mom", type=float, default=0.9, help="SGD momentum")
    ap.add_argument("--input", default="normal")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--every", type=int, default=2500)
    a = ap.parse_args()
    torch.set_num_threads(1)
    x, ys = toy(a.input, a.n, a.seed)
    xt, xv = x[:a.n], x[a.n:]
    yt, yv = [y[:a.n] for y in ys], [y[a.n:] for y in ys]
    torch.manual_seed(a.seed)
    layers: list[torch.nn.Module] = []
    width = 250
    for _ in range(4):
        layers += [torch.nn.Linear(width, 100), torch.nn.ReLU()]
        width = 100
    trunk = torch.nn.Sequential(*layers)
    heads = torch.nn.ModuleList([torch.nn.Linear(100, 100) for _ in SIGMAS])
    last = trunk[6]  # the last shared layer: GradNorm's W
    params = [*trunk.parameters(), *heads.parameters()]
    opt = (torch.optim.Adam(params, lr=a.lr) if a.opt == "adam"
           else torch.optim.SGD(params, lr=a.lr, momentum=a.mom))
    w = torch.nn.Parameter(torch.ones(len(SIGMAS)))
    w_opt = torch.optim.Adam([w], lr=a.wlr)
    fixed = torch.tensor(a.w if a.mode == "fixed" else FIXED.get(a.mode, (1.0, 1.0)))

    def val() -> list[float]:
        with torch.no_grad():
            z = trunk(xv)
            return [float(((h(z) - y) ** 2).mean()) / s ** 2 for h, y, s in zip(heads, yv, SIGMAS)]

    order = torch.Generator().manual_seed(a.seed)
    perm, pos = torch.randperm(a.n, generator=order), 0
    initial: torch.Tensor | None = None
    t0 = time.time()
    print("start", " ".join(f"{v:.3f}" for v in val()))
    for step in range(1, a.steps + 1):
        if pos + a.batch > a.n:
            perm, pos = torch.randperm(a.n, generator=order), 0
        idx = perm[pos:pos + a.batch]
        pos += a.batch
        z = trunk(xt[idx])
        losses = torch.stack([((h(z) - y[idx]) ** 2).mean() for h, y in zip(heads, yt)])
        if a.mode == "gn":
            if initial is None:
                initial = losses.detach()
            norms = torch.stack([
                w[i] * torch.cat([g.flatten() for g in torch.autograd.grad(
                    losses[i], last.parameters(), retain_graph=True)]).norm()
                for i in range(len(SIGMAS))])
            ratio = losses.detach() / initial
            target = (norms.mean() * (ratio / ratio.mean()) ** a.alpha).detach()
            w_opt.zero_grad()
            w.grad = torch.autograd.grad((norms - target).abs().sum(), w, retain_graph=True)[0]
            total = (w.detach() * losses).sum()
        else:
            total = (fixed * losses).sum()
        opt.zero_grad()
        total.backward()
        opt.step()
        if a.mode == "gn":
            w_opt.step()
            with torch.no_grad():
                w.clamp_(min=1e-6)
                w.mul_(len(SIGMAS) / w.sum())
        if step % a.every == 0:
            v = val()
            weights = " w " + " ".join(f"{q:.4f}" for q in w.tolist()) if a.mode == "gn" else ""
            print(f"{step} t1 {v[0]:.3f} t2 {v[1]:.3f} sum {v[0] + v[1]:.3f}{weights} "
                  f"{time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
