"""The GradNorm toy under fixed task weights, in a plain PyTorch loop (docs/fidelity.md, GradNorm
toy: why GradNorm's balance point leaves the sigma = 1 task where it starts).

    .venv/bin/python scripts/gradnorm_fixed_weights.py                      # the table in the docs
    .venv/bin/python scripts/gradnorm_fixed_weights.py --samples 50000 --epochs 4

Same data as the shipped presets (the engine's `gradnorm_toy` generator, 100 outputs per task,
sigma = 1 and 100), the paper's network (4 ReLU layers of 100 units, an affine head per task),
Adam lr 1e-3, batch 100, an 80/20 split. Each row trains with constant weights (w1, w2) on
w1 L1 + w2 L2 and prints each task's validation MSE / sigma_i^2 (about 0.925 at the start).
(2, 0.02) is where GradNorm's weights settle on this toy; (1, 1e-4) is 1 / sigma^2.
"""

from __future__ import annotations

import argparse

import torch

from mtl_engine.build import load_dataset

SIGMAS = (1.0, 100.0)
WEIGHTS = ((1.0, 0.0), (0.0, 1.0), (1.0, 1.0), (2.0, 0.02), (1.0, 1e-4))


def data(samples: int, seed: int) -> tuple[torch.Tensor, list[torch.Tensor]]:
    params = {"tasks": 2, "sigmas": list(SIGMAS), "n_samples": samples, "input_dim": 250,
              "outputs": 100}
    ds = load_dataset("gradnorm_toy", params, seed)
    x = torch.as_tensor(ds.x, dtype=torch.float32)
    return x, [torch.as_tensor(ds.targets[k], dtype=torch.float32) for k in sorted(ds.targets)]


def train(weights: tuple[float, float], samples: int, epochs: int, seed: int) -> list[float]:
    x, ys = data(samples, seed)
    n_train = int(0.8 * len(x))
    torch.manual_seed(seed)
    layers: list[torch.nn.Module] = []
    width = x.shape[1]
    for _ in range(4):
        layers += [torch.nn.Linear(width, 100), torch.nn.ReLU()]
        width = 100
    trunk = torch.nn.Sequential(*layers)
    heads = [torch.nn.Linear(100, y.shape[1]) for y in ys]
    params = list(trunk.parameters()) + [p for h in heads for p in h.parameters()]
    opt = torch.optim.Adam(params, lr=1e-3)
    order = torch.Generator().manual_seed(seed)
    for _ in range(epochs):
        perm = torch.randperm(n_train, generator=order)
        for start in range(0, n_train, 100):
            idx = perm[start:start + 100]
            z = trunk(x[idx])
            loss = sum(w * torch.mean((h(z) - y[idx]) ** 2) for w, h, y in zip(weights, heads, ys))
            opt.zero_grad()
            loss.backward()
            opt.step()
    with torch.no_grad():
        z = trunk(x[n_train:])
        return [float(torch.mean((h(z) - y[n_train:]) ** 2)) / s ** 2
                for h, y, s in zip(heads, ys, SIGMAS)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=5000)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    torch.set_num_threads(1)
    print(f"| w1, w2 | t1 MSE / 1 | t2 MSE / 10^4 | sum |   ({args.samples} samples, "
          f"{args.epochs} epochs, seed {args.seed})")
    print("|---|---|---|---|")
    for w in WEIGHTS:
        a, b = train(w, args.samples, args.epochs, args.seed)
        print(f"| {w[0]:g}, {w[1]:g} | {a:.3f} | {b:.3f} | {a + b:.3f} |", flush=True)


if __name__ == "__main__":
    main()
