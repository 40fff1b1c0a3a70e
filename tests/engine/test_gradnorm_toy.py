"""GradNorm's update against a hand computation from the paper's equations, on a tiny model.

Chen et al., ICML 2018, section 3.2 and Algorithm 1: with W the last shared layer,
    G_i = |grad_W (w_i L_i)|_2,  Gbar = mean_j G_j,
    r_i = (L_i(t) / L_i(0)) / mean_j (L_j(t) / L_j(0)),
    L_grad = sum_i |G_i - [Gbar r_i^alpha]|   (the bracket a constant),
w steps on grad_w L_grad only, the network on sum_i w_i L_i with w as it was before the step,
then w is renormalised to sum to T. The reference below is written from those lines with numpy
(gradients of each L_i taken by autograd on a copy of the model); the strategy is driven as the
training loop drives it: its aux loss and total back-propagated together, the network on Adam,
w on plain SGD at weight_lr (so each step's size is the gradient's, not its sign), after_step
after the step; L_grad's value is compared too, so the target Gbar r_i^alpha is checked exactly.
Three tasks whose scales differ 100x and 0.1x, six steps, alpha 1.5: r moves away from 1 and the
weights spread. (A shortened run of the toy itself is no robust check of the outcome's direction:
for its first 3 or so epochs GradNorm is behind equal weighting on the sigma = 100 task.)
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from mtl_engine.events import TaskInfo
from mtl_engine.registry import STRATEGIES, validate_params
from mtl_engine.strategies.base import StepInfo, build_strategy

SCALES = (1.0, 100.0, 0.1)  # the targets' scales: losses and gradient norms far apart
STEPS = 6
ALPHA, WEIGHT_LR, LR = 1.5, 2e-3, 3e-2


def tiny_problem(seed: int = 0):
    torch.manual_seed(seed)
    trunk = torch.nn.Sequential(torch.nn.Linear(5, 6), torch.nn.ReLU(), torch.nn.Linear(6, 4))
    heads = torch.nn.ModuleList(torch.nn.Linear(4, 1) for _ in SCALES)
    x = torch.randn(16, 5)
    y = torch.stack([s * torch.tanh(x @ torch.randn(5)) for s in SCALES], 1)
    return trunk, heads, x, y


def task_losses(trunk, heads, x, y) -> torch.Tensor:
    z = trunk(x)
    return torch.stack([((h(z).squeeze(1) - y[:, i]) ** 2).mean() for i, h in enumerate(heads)])


def last_layer_grads(trunk, heads, x, y) -> np.ndarray:
    """T x P: each task's gradient on the last shared layer (weight and bias), by autograd."""
    last = list(trunk[2].parameters())
    losses = task_losses(trunk, heads, x, y)
    rows = [torch.cat([g.flatten() for g in torch.autograd.grad(losses[i], last,
                                                                retain_graph=True)])
            for i in range(len(SCALES))]
    return torch.stack(rows).detach().double().numpy()


def reference(steps: int) -> list[np.ndarray]:
    """(w after the step, L_grad) per step, from the paper's equations (w on plain SGD)."""
    trunk, heads, x, y = tiny_problem()
    net_opt = torch.optim.Adam(list(trunk.parameters()) + list(heads.parameters()), lr=LR)
    n = len(SCALES)
    w = np.ones(n)
    first = None
    out = []
    for _ in range(steps):
        norms = np.linalg.norm(last_layer_grads(trunk, heads, x, y), axis=1)
        losses = task_losses(trunk, heads, x, y)
        current = losses.detach().double().numpy()
        first = current if first is None else first
        ratio = current / first
        r = ratio / ratio.mean()
        g_w = w * norms  # G_i = w_i |g_i|
        target = g_w.mean() * r ** ALPHA  # a constant: no gradient through it
        grad_w = np.sign(g_w - target) * norms  # d L_grad / d w_i
        # the network steps on sum_i w_i L_i with w before its own step
        net_opt.zero_grad()
        (torch.tensor(w, dtype=torch.float32) * losses).sum().backward()
        net_opt.step()
        l_grad = np.abs(g_w - target).sum()
        w = w - WEIGHT_LR * grad_w
        w = np.maximum(w, 1e-6)
        w = w * n / w.sum()  # renormalised to sum T
        out.append((w.copy(), l_grad))
    return out


def strategy_run(steps: int) -> list[np.ndarray]:
    """The same problem driven through the strategy as the training loop drives it."""
    trunk, heads, x, y = tiny_problem()
    entry = STRATEGIES.get("gradnorm")
    params = validate_params(entry.params, {"alpha": ALPHA, "weight_lr": WEIGHT_LR},
                             "strategy.params")
    tasks = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False) for i in range(3))
    s = build_strategy("gradnorm", params, tasks, [1.0] * 3, torch.device("cpu"))
    opt = torch.optim.Adam(list(trunk.parameters()) + list(heads.parameters()), lr=LR)
    w_opt = torch.optim.SGD(s.parameters(), lr=s.param_lr() or LR)  # as the loop's own group
    out = []
    for step in range(steps):
        g = torch.tensor(last_layer_grads(trunk, heads, x, y), dtype=torch.float32)
        losses = task_losses(trunk, heads, x, y)
        info = StepInfo(step=step, epoch=0, grads=g, gramian=g @ g.T)
        comb = s.combine(losses, info)
        opt.zero_grad()
        w_opt.zero_grad()
        (comb.total + comb.aux).backward()
        opt.step()
        w_opt.step()
        s.after_step(None, info)
        out.append((s.w.detach().double().numpy().copy(), float(comb.aux.detach())))
    return out


def test_gradnorm_weights_follow_the_papers_equations_step_by_step() -> None:
    ref, got = reference(STEPS), strategy_run(STEPS)
    for step, ((w_ref, l_ref), (w_got, l_got)) in enumerate(zip(ref, got)):
        np.testing.assert_allclose(w_got, w_ref, rtol=1e-4, atol=1e-6, err_msg=f"step {step}")
        assert l_got == pytest.approx(l_ref, rel=1e-4), f"L_grad at step {step}"
        assert abs(w_got.sum() - 3.0) < 1e-5
    # a hard case: the weights have moved far apart, the 100x task's the lowest
    w_end = ref[-1][0]
    assert w_end[1] < 0.5 * min(w_end[0], w_end[2])


def test_gradnorm_network_step_uses_the_weights_before_their_update() -> None:
    """The total the network steps on is sum_i w_i L_i with w detached: no w-gradient from it,
    and d total / d L_i = w_i."""
    trunk, heads, x, y = tiny_problem()
    entry = STRATEGIES.get("gradnorm")
    params = validate_params(entry.params, {"alpha": ALPHA}, "strategy.params")
    tasks = tuple(TaskInfo(f"t{i}", "regression", 1, "mse", "mse", False) for i in range(3))
    s = build_strategy("gradnorm", params, tasks, [1.0] * 3, torch.device("cpu"))
    with torch.no_grad():
        s.w.copy_(torch.tensor([0.5, 2.0, 0.5]))
    losses = task_losses(trunk, heads, x, y).detach().requires_grad_(True)
    g = torch.tensor(last_layer_grads(trunk, heads, x, y), dtype=torch.float32)
    comb = s.combine(losses, StepInfo(0, 0, grads=g, gramian=g @ g.T))
    (dl,) = torch.autograd.grad(comb.total, losses, retain_graph=True)
    torch.testing.assert_close(dl, torch.tensor([0.5, 2.0, 0.5]))
    (dw,) = torch.autograd.grad(comb.total, s.w, allow_unused=True)
    assert dw is None or torch.count_nonzero(dw) == 0
    # L_grad's target is a constant and the norms are data: L_grad reaches w only
    (aux_dl,) = torch.autograd.grad(comb.aux, losses, allow_unused=True)
    assert aux_dl is None or torch.count_nonzero(aux_dl) == 0


# ---------------------------------------------------------------------- the toy's data


def test_the_toy_generator_is_the_papers_formula_with_100_outputs() -> None:
    """f_i(x) = sigma_i tanh((B + eps_i) x), B (100 x 250) entries N(0, 10^2), eps_i entries
    N(0, 3.5^2), drawn in the order B, eps_1..eps_T, then the inputs x ~ N(0, I / 250); the
    reference is written here row by row from that formula."""
    from mtl_engine.build import resolve_tasks
    from mtl_engine.config import from_dict
    from mtl_engine.data.gradnorm_toy import load_gradnorm_toy
    from mtl_engine.model import build_model

    n, dim, k, seed, sigmas = 40, 250, 100, 5, (1.0, 100.0)
    ds = load_gradnorm_toy({"n_samples": n}, seed)  # the defaults: 2 tasks, 250 in, 100 out
    rng = np.random.default_rng(seed)
    b = rng.normal(0.0, 10.0, size=(k, dim))
    eps = [rng.normal(0.0, 3.5, size=(k, dim)) for _ in sigmas]
    x = rng.normal(0.0, 1.0 / np.sqrt(dim), size=(n, dim))
    assert np.allclose(ds.x, x, atol=1e-7)
    for i, sigma in enumerate(sigmas):
        want = np.stack([sigma * np.tanh((b + eps[i]) @ row) for row in x])  # (n, 100)
        got = ds.targets[f"t{i + 1}"]
        assert got.shape == (n, k) and got.dtype == np.float32
        assert np.allclose(got, want, rtol=1e-5, atol=1e-5 * sigma)
        assert ds.spec.tasks[i].n_outputs == k and ds.spec.tasks[i].scale == sigma
    # the scales are the point: the tanh is mostly saturated and each task keeps its sigma
    assert 0.85 < float(np.mean(ds.targets["t1"] ** 2)) < 1.0
    assert 0.85e4 < float(np.mean(ds.targets["t2"] ** 2)) < 1.0e4
    # each head ends in a layer of 100 outputs
    config = from_dict({"name": "toy", "data": {"dataset": "gradnorm_toy",
                                                "params": {"n_samples": n}},
                        "trunk": [{"type": "linear", "out_features": 8}],
                        "tasks": [{"name": "t1"}, {"name": "t2"}]})
    assert [t.n_outputs for t in resolve_tasks(config, ds.spec)] == [k, k]
    model = build_model(config, ds.spec)
    out = model(torch.from_numpy(ds.x[:3]))
    assert tuple(out["t1"].shape) == (3, k) and tuple(out["t2"].shape) == (3, k)


def test_one_output_per_task_draws_what_the_scalar_toy_always_drew() -> None:
    from mtl_engine.data.gradnorm_toy import load_gradnorm_toy

    n, dim, seed = 30, 250, 2
    ds = load_gradnorm_toy({"n_samples": n, "outputs": 1}, seed)
    rng = np.random.default_rng(seed)
    shared = rng.normal(0.0, 10.0, size=dim)
    private = rng.normal(0.0, 3.5, size=(2, dim))
    x = rng.normal(0.0, 1.0 / np.sqrt(dim), size=(n, dim))
    old = (np.array([1.0, 100.0])[:, None] * np.tanh((shared + private) @ x.T)).astype(np.float32)
    assert ds.targets["t1"].shape == (n,)
    assert np.array_equal(ds.targets["t1"], old[0]) and np.array_equal(ds.targets["t2"], old[1])
    assert ds.spec.tasks[0].n_outputs == 1
