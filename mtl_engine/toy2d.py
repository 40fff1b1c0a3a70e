"""The two-objective 2-D toy of the CAGrad, Nash-MTL and FAMO papers, and a driver for any strategy.

Liu et al., NeurIPS 2021 (CAGrad, Figure 1); Navon et al., ICML 2022 (Nash-MTL, Figure 1); Liu et
al., NeurIPS 2023 (FAMO). With x = (x1, x2) and LOWER = 5e-6:
    f1 = log(max(|0.5 (-x1 - 7) - tanh(-x2)|, LOWER)) + 6
    f2 = log(max(|0.5 (-x1 + 3) + tanh(-x2) + 2|, LOWER)) + 6
    g1 = ((-x1 + 7)^2 + 0.1 (-x2 - 8)^2) / 10 - 20,  g2 = ((-x1 - 7)^2 + 0.1 (-x2 - 8)^2) / 10 - 20
    c1 = max(tanh(x2 / 2), 0),  c2 = max(tanh(-x2 / 2), 0)
    L1 = c1 f1 + c2 g1,  L2 = c1 f2 + c2 g2   (Nash-MTL and FAMO scale L1 by 0.1).
The Pareto set is x1 in [-7, 7] at x2 = -8.3552. From the five standard starts, equal weighting,
MGDA and PCGrad stall or end at an extreme for some; CAGrad, Nash-MTL and FAMO reach the set.

`run` drives one instance of a registered strategy per start through `strategies.driver`, as the
training loop drives a model (wants -> gradients -> combine -> backward -> Adam step ->
after_step), all five starts in one vectorised forward pass. The losses' gradients come from
`jacobian` (by hand), and the backward pass runs through the strategies' totals only, down to the
losses; the chain rule then gives the points' gradients, sum_i (d total / d L_i) g_i, exactly as
autograd would. A strategy that returns an update direction (DB-MTL, MoCo) has it put on its
point instead, as the training loop puts it on the shared parameters. It yields `ToyChunk`s of
plain numbers (numpy arrays, no tensors), so the GUI can draw the trajectories while they grow.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from .errors import ConfigError
from .events import TaskInfo
from .registry import STRATEGIES
from .strategies import driver
from .strategies.base import StepInfo, build_strategy

LOWER = 5e-6
STARTS: tuple[tuple[float, float], ...] = ((-8.5, 7.5), (0.0, 0.0), (9.0, 9.0), (-7.5, -0.5),
                                           (9.0, -1.0))
PARETO_X2 = -8.3552
PARETO_X1 = (-7.0, 7.0)
# The losses reach -20 (L1 -20 * scale); strategies that take logs or ratios of losses need them
# positive, so they see L1 + 21 * scale and L2 + 21, as the FAMO paper's toy sets its minimum
# losses. A constant changes no gradient, so gradient methods are unaffected.
OFFSET = 21.0
TASKS = (TaskInfo("f1", "regression", 1, "toy", "loss", False),
         TaskInfo("f2", "regression", 1, "toy", "loss", False))


def losses(x: torch.Tensor, scale_l1: float = 1.0) -> torch.Tensor:
    """(..., 2) points -> (..., 2) losses (L1, L2)."""
    x1, x2 = x[..., 0], x[..., 1]
    f1 = torch.clamp((0.5 * (-x1 - 7) - torch.tanh(-x2)).abs(), LOWER).log() + 6
    f2 = torch.clamp((0.5 * (-x1 + 3) + torch.tanh(-x2) + 2).abs(), LOWER).log() + 6
    g1 = ((-x1 + 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    g2 = ((-x1 - 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    c1 = torch.clamp(torch.tanh(0.5 * x2), 0)
    c2 = torch.clamp(torch.tanh(-0.5 * x2), 0)
    return torch.stack([scale_l1 * (c1 * f1 + c2 * g1), c1 * f2 + c2 * g2], dim=-1)


def jacobian(x: torch.Tensor, scale_l1: float = 1.0) -> torch.Tensor:
    """(..., 2) points -> (..., 2 tasks, 2 coordinates) gradients of `losses`, by hand.

    Written out rather than taken by autograd because the toy driver needs it every step and a
    backward pass costs ten times as much here. Where a clamp or abs has a kink, the one-sided
    choice is autograd's (a clamp passes the gradient at its bound; abs has slope 0 at 0), so
    the two agree everywhere, the start (0, 0) included (tests/engine/test_toy2d.py).
    """
    x1, x2 = x[..., 0], x[..., 1]
    th = torch.tanh(x2)
    sech2 = 1 - th * th
    u1 = -0.5 * x1 - 3.5 + th  # 0.5 (-x1 - 7) - tanh(-x2)
    u2 = -0.5 * x1 + 3.5 - th  # 0.5 (-x1 + 3) + tanh(-x2) + 2
    f1 = torch.clamp(u1.abs(), LOWER).log() + 6
    f2 = torch.clamp(u2.abs(), LOWER).log() + 6
    k1 = torch.where(u1.abs() >= LOWER, 1 / u1, torch.zeros_like(u1))  # d log|u| / du
    k2 = torch.where(u2.abs() >= LOWER, 1 / u2, torch.zeros_like(u2))
    g1 = ((-x1 + 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    g2 = ((-x1 - 7) ** 2 + 0.1 * (-x2 - 8) ** 2) / 10 - 20
    th_half = torch.tanh(0.5 * x2)
    c1, c2 = torch.clamp(th_half, 0), torch.clamp(-th_half, 0)
    slope = 0.5 * (1 - th_half * th_half)
    dc1 = torch.where(th_half >= 0, slope, torch.zeros_like(th_half))
    dc2 = torch.where(th_half <= 0, -slope, torch.zeros_like(th_half))
    dg_x2 = 0.02 * (x2 + 8)
    l1 = torch.stack([c1 * -0.5 * k1 + c2 * (x1 - 7) / 5,
                      dc1 * f1 + c1 * k1 * sech2 + dc2 * g1 + c2 * dg_x2], dim=-1)
    l2 = torch.stack([c1 * -0.5 * k2 + c2 * (x1 + 7) / 5,
                      dc1 * f2 - c1 * k2 * sech2 + dc2 * g2 + c2 * dg_x2], dim=-1)
    return torch.stack([scale_l1 * l1, l2], dim=-2)


@dataclass(frozen=True)
class Landscape:
    """Both losses on a grid, and the Pareto set, for contour plots (numpy only)."""

    x1: np.ndarray  # (n,)
    x2: np.ndarray  # (n,)
    l1: np.ndarray  # (n, n), indexed [i_x1, i_x2]
    l2: np.ndarray
    pareto: np.ndarray  # (m, 2) points


def landscape(n: int = 200, lim: float = 10.0, scale_l1: float = 1.0) -> Landscape:
    axis = torch.linspace(-lim, lim, n, dtype=torch.float64)
    grid = torch.stack(torch.meshgrid(axis, axis, indexing="ij"), dim=-1)
    values = losses(grid, scale_l1)
    px1 = np.linspace(*PARETO_X1, 50)
    return Landscape(axis.numpy(), axis.numpy(), values[..., 0].numpy(), values[..., 1].numpy(),
                     np.stack([px1, np.full_like(px1, PARETO_X2)], axis=1))


@dataclass(frozen=True)
class ToyChunk:
    """Recorded steps of every start: steps (k,), points (k, S, 2), losses and weights (k, S, 2)."""

    steps: np.ndarray
    points: np.ndarray
    losses: np.ndarray
    weights: np.ndarray
    done: bool = False


def on_pareto_set(point: np.ndarray, tol: float = 0.1) -> bool:
    """Whether (x1, x2) lies on the Pareto set, within `tol` in each coordinate."""
    x1, x2 = float(point[0]), float(point[1])
    return abs(x2 - PARETO_X2) <= tol and PARETO_X1[0] - tol <= x1 <= PARETO_X1[1] + tol


class _ToyState:
    """This step's values shared by every start: their gradients, and the losses after the step."""

    def __init__(self, x: torch.Tensor, scale_l1: float, offset: torch.Tensor) -> None:
        self.x, self.scale_l1, self.offset = x, scale_l1, offset
        self.grads = torch.empty(0)  # (S, 2 tasks, 2 coordinates), refreshed every step
        self.after: torch.Tensor | None = None  # (S, 2), computed on the first ask after the step

    def losses_after(self) -> torch.Tensor:
        if self.after is None:
            with torch.no_grad():
                self.after = losses(self.x, self.scale_l1) + self.offset
        return self.after


class _ToyInputs(driver.StepInputs):
    """What the toy gives the strategy of one start: no model, so no outputs."""

    __slots__ = ("state", "start")
    source = "the 2-D toy"

    def __init__(self, state: _ToyState, start: int) -> None:
        self.state, self.start = state, start

    def grads(self) -> torch.Tensor:
        return self.state.grads[self.start]

    def last_shared_grads(self) -> torch.Tensor:  # the point is the only (and last) shared layer
        return self.state.grads[self.start]

    def grads_split(self, parts: int = 2) -> torch.Tensor:  # exact: each part's is the full one
        return torch.stack([self.state.grads[self.start]] * parts)

    def losses_after(self) -> torch.Tensor:
        return self.state.losses_after()[self.start]


def toy_strategies() -> list[str]:
    """Registered strategies the toy can drive (it has no model outputs to give)."""
    gives = driver.provides(_ToyInputs)
    return [e.name for e in STRATEGIES if e.obj.requires <= gives and _on_parameters(e.meta)]


def _on_parameters(meta: Mapping[str, Any]) -> bool:
    """The point is a parameter, not a representation: grad_mode "shared" must be allowed."""
    return not meta["grad_modes"] or "shared" in meta["grad_modes"]


def run(strategy: str, params: dict[str, Any] | None = None, *, steps: int = 20_000,
        lr: float = 1e-3, starts: tuple[tuple[float, float], ...] = STARTS,
        scale_l1: float = 1.0, record_every: int = 10, chunk_steps: int = 500,
        betas: tuple[float, float] = (0.9, 0.999)) -> Iterator[ToyChunk]:
    """Optimise from every start with Adam(lr, betas); a chunk every `chunk_steps` steps."""
    entry = STRATEGIES.get(strategy, "strategy.name")
    missing = entry.obj.requires - driver.provides(_ToyInputs)
    if missing:  # refused before any step, with the choices
        raise driver.refusal(_ToyInputs.source, min(missing), strategy,
                             f"choose one of {', '.join(toy_strategies())}")
    if not _on_parameters(entry.meta):  # GradDrop: it masks a representation the toy lacks
        raise ConfigError("strategy.grad_mode", f"the 2-D toy has no shared representation, "
                          f"which strategy {strategy!r} works on (grad_mode "
                          f"{' or '.join(repr(m) for m in entry.meta['grad_modes'])}); choose "
                          f"one of {', '.join(toy_strategies())}")
    typed = entry.parse(params, "strategy.params")
    agents = [build_strategy(strategy, typed, TASKS, (1.0, 1.0), torch.device("cpu"))
              for _ in starts]
    x = torch.tensor(starts, dtype=torch.float64, requires_grad=True)
    offset = torch.tensor([OFFSET * scale_l1, OFFSET], dtype=torch.float64)
    groups: list[dict[str, Any]] = [{"params": [x], "lr": lr}]
    for agent in agents:
        if agent.parameters():
            groups.append({"params": agent.parameters(), "lr": agent.param_lr() or lr})
    opt = torch.optim.Adam(groups, lr=lr, betas=betas)
    state = _ToyState(x, scale_l1, offset)
    inputs = [_ToyInputs(state, start) for start in range(len(agents))]
    rec: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []
    for step in range(steps):
        with torch.no_grad():
            values = losses(x, scale_l1)
            grads = jacobian(x, scale_l1)
            point = x.detach().numpy().copy()
        state.grads, state.after = grads, None
        shown = (values + offset).requires_grad_(True)
        total = values.new_zeros(())
        steps_done: list[tuple[frozenset[str], StepInfo]] = []
        weights = []
        directions: dict[int, torch.Tensor] = {}  # start -> the update its strategy returned
        for start, agent in enumerate(agents):
            wants = driver.wanted(agent, step)
            info = driver.prepare(agent, wants, step, 0, inputs[start])
            comb = agent.combine(shown[start], info)
            width = None if info.grads is None else int(info.grads.shape[-1])
            d = driver.direction_of(agent, comb, width, "shared")
            if d is not None:
                directions[start] = d
            total = total + comb.total + (comb.aux if comb.aux is not None else 0.0)
            steps_done.append((wants, info))
            weights.append(comb.plotted.detach())
        opt.zero_grad(set_to_none=True)
        total.backward()
        if shown.grad is not None:  # d total / d L per start, through the chain rule
            x.grad = torch.einsum("st,stc->sc", shown.grad, grads)
        if directions:  # the point is the shared parameter: it takes the direction itself
            if x.grad is None:
                x.grad = torch.zeros_like(x)
            for start, d in directions.items():
                x.grad[start] = d.to(x.dtype)
        opt.step()
        for agent, (wants, info), given in zip(agents, steps_done, inputs):
            driver.finish(agent, wants, info, given)
        applied = torch.stack(weights).double().numpy()
        if step % record_every == 0:  # the point, its losses and the weights applied there
            rec.append((step, point, values.numpy(), applied))
        if step == steps - 1:  # where the last step led
            with torch.no_grad():
                rec.append((steps, x.detach().numpy().copy(), losses(x, scale_l1).numpy(),
                            applied))
            yield _chunk(rec, done=True)
        elif len(rec) * record_every >= chunk_steps:
            yield _chunk(rec, done=False)
            rec = []


def _chunk(rec: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]], done: bool) -> ToyChunk:
    return ToyChunk(np.array([r[0] for r in rec]), np.stack([r[1] for r in rec]),
                    np.stack([r[2] for r in rec]), np.stack([r[3] for r in rec]), done)


def final_points(strategy: str, params: dict[str, Any] | None = None, **kw: Any) -> np.ndarray:
    """Run to the end and return the last point of every start, (S, 2)."""
    last = None
    for chunk in run(strategy, params, **kw):
        last = chunk
    assert last is not None
    return last.points[-1]
