"""The strategy interface: what a weighting method receives and what it returns.

A strategy never calls ``.backward()``, never touches ``.grad``, the training optimiser or the
model.
Each step the caller (the training loop, the 2-D toy, the tests, all through `driver`) asks
`wants(step)` which inputs it needs, computes exactly those (per-task gradients and their Gramian,
detached predictions, Monte-Carlo passes), and calls `combine(losses, info)`. The strategy
answers with the scalar the loop back-propagates and the per-task weights it effectively applied.
For methods defined as an update direction d = sum_i alpha_i g_i (MGDA, PCGrad, CAGrad, ...)
the answer is simply total = sum_i alpha_i L_i with alpha detached: back-propagating it puts
exactly d on the shared parameters.

A method whose update is not a combination of this step's gradients (DB-MTL's and MoCo's running
averages, GradDrop's sign masks, MoDo's and SDMGrad's separate update sample) also returns
`direction`: the flattened, detached vector the caller puts on whatever its per-task gradients
were taken w.r.t. (the shared parameters in
grad_mode "shared": exactly d; the shared representation in grad_mode "representation": d is
back-propagated from there into the shared parameters). `total` and `weights` keep their meaning
(weights = d total / d L_i) but then train only the rest: the heads, the strategy's own
parameters. Penalties, l1/l2 and `aux` flow as for any strategy, and clip_grad_norm still applies.
The strategy never calls backward for it: it builds d from its own state and `info`.

`weights` is what the GUI plots as task weights unless `shown` is given: a direction method sets
`shown` to the per-task coefficients of its direction (DB-MTL: the scales a_i on its averaged
gradients; MoCo: lambda on its tracked gradients) where those say more than the heads' weights;
each method's docstring says which it reports.

Learnable strategies (uncertainty, IMTL-L, GradNorm) expose their own parameters through
`parameters()`; the loop adds them to the optimiser as a separate group at `param_lr()` (or the
task lr). A loss that must move only the strategy's parameters (GradNorm's L_grad) is returned as
`aux`; the loop adds it to the back-propagated total and reports it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from ..events import TaskInfo
from ..registry import NoParams, parse_params

# What a strategy may ask for in `wants()` (each served by driver.INPUTS). Nothing else is computed.
GRADS = "grads"  # per-task gradients G (T x P) in the run's grad_mode, and the Gramian K = G G^T
LAST_SHARED_GRADS = "last_shared_grads"  # per-task gradients of the last shared layer (GradNorm)
OUTPUTS = "outputs"  # detached model outputs per task for this batch (max entropy)
MC_OUTPUTS = "mc_outputs"  # K stochastic forward passes with dropout active (Bayesian)
LOSSES_AFTER = "losses_after"  # the same batch's losses after the optimiser step (FAMO)
# per-task gradients on the shared parameters from each of k disjoint parts of the batch
# (k x T x P, k = `Strategy.split_parts()`): k independent samples at the same point (MoDo's and
# SDMGrad's multiple sampling); the parts' losses come with them (StepInfo.split_losses), and
# `grads` / `gramian` are the parts' mean unless GRADS is asked for too
GRADS_SPLIT = "grads_split"
# the Gramian K = G G^T alone (StepInfo.gramian; `grads` stays None unless GRADS is asked for
# too): for methods whose weights are a function of K, so the caller may compute K without
# keeping G whole and apply w^T G without forming it (gradients.task_gramian)
GRAMIAN = "gramian"
REQUESTS = frozenset({GRADS, LAST_SHARED_GRADS, OUTPUTS, MC_OUTPUTS, LOSSES_AFTER, GRADS_SPLIT,
                      GRAMIAN})


@dataclass
class StepInfo:
    """What the loop computed for this step beyond the losses; fields not asked for are None."""

    step: int
    epoch: int  # 0-based epoch in progress
    grads: torch.Tensor | None = None  # T x P, detached
    gramian: torch.Tensor | None = None  # T x T, detached
    outputs: dict[str, torch.Tensor] | None = None
    mc_outputs: list[dict[str, torch.Tensor]] | None = None
    mc_passes: int = 0
    split_grads: torch.Tensor | None = None  # k x T x P, detached: GRADS_SPLIT's k parts
    split_parts: int = 0
    # k x T: each part's per-task losses, with their graph (a strategy may train the heads on a
    # part); None where the caller's gradients are exact and every part is the batch (`losses`)
    split_losses: torch.Tensor | None = None
    # with grads: the detached tensor they were taken w.r.t. in grad_mode "representation" (batch
    # dimension first; grads has its elements flattened per row), None in grad_mode "shared"
    representation: torch.Tensor | None = None


@dataclass
class Combined:
    """What a strategy returns for one step."""

    total: torch.Tensor  # scalar to back-propagate (the strategy's own parameter terms included)
    weights: torch.Tensor  # T effective weights, detached: what the GUI plots as task weights
    aux: torch.Tensor | None = None  # a loss on the strategy's own parameters only (reported)
    # the update to put on what the grads were taken w.r.t., instead of weights^T G (detached,
    # flattened as the grads' rows); then `total` trains the heads and own parameters only
    direction: torch.Tensor | None = None
    shown: torch.Tensor | None = None  # T task weights to plot instead of `weights` (detached)

    @property
    def plotted(self) -> torch.Tensor:
        """The task weights the GUI plots and the curves record: `shown`, else `weights`."""
        return self.weights if self.shown is None else self.shown


@dataclass
class EpochStats:
    """Per-epoch summary the loop hands to `end_epoch` (plain numbers, task order)."""

    epoch: int  # 1-based: epochs finished
    train_loss: list[float]  # mean training loss per task over the epoch
    val_loss: list[float]
    val_metrics: list[dict[str, float]]  # per task: metric -> value
    headline: list[float | None]  # per task: the headline metric's value (None if not computed)


class Strategy:
    """Base class. Subclasses override `combine` and whichever hooks they need.

    Subclasses set the class attribute `requires` and declare their parameters as a nested frozen
    dataclass `Params` of `registry.param(...)` fields (the registry derives the schema from it);
    they read the typed values from `self.p` (`self.p.temp`), defaults filled in.
    """

    #: the parameter dataclass; the registry entry's schema is derived from it
    Params: ClassVar[type] = NoParams
    #: the inputs this strategy needs every step (subclasses may vary it per step in `wants`)
    requires: ClassVar[frozenset[str]] = frozenset()

    def __init__(
        self,
        tasks: Sequence[TaskInfo],
        params: Mapping[str, Any] | Any = None,
        static_weights: Sequence[float] = (),
        device: torch.device | str = "cpu",
    ) -> None:
        self.tasks = tuple(tasks)
        # a mapping (possibly partial: tests give only what they set) or a Params instance
        self.p: Any = parse_params(self.Params, params, "strategy.params")
        self.static_weights = tuple(static_weights) or tuple(1.0 for _ in self.tasks)
        self.device = torch.device(device)
        self._notes: list[str] = []  # noted since the loop last took them
        self._said: set[str] = set()  # every message ever noted: each is shown once per run
        self.setup()

    # -- hooks ------------------------------------------------------------------------------
    def setup(self) -> None:
        """Create state and learnable parameters (called once, on `device`)."""

    @property
    def n_tasks(self) -> int:
        return len(self.tasks)

    def wants(self, step: int) -> frozenset[str]:
        return self.requires

    def mc_passes(self) -> int:
        """How many stochastic forward passes MC_OUTPUTS should hold (asked only when wanted)."""
        return 8

    def split_parts(self) -> int:
        """Into how many disjoint parts GRADS_SPLIT should cut the batch (asked only when
        wanted)."""
        return 2

    def parameters(self) -> list[torch.nn.Parameter]:
        return []

    def param_lr(self) -> float | None:
        """Learning rate for `parameters()`; None means the task learning rate."""
        return None

    def combine(self, losses: torch.Tensor, info: StepInfo) -> Combined:
        raise NotImplementedError

    def after_step(self, losses_after: torch.Tensor | None, info: StepInfo) -> None:
        """Called after the optimiser step (with the same batch's new losses if asked for)."""

    def end_epoch(self, stats: EpochStats) -> None:
        """Called after each epoch's validation."""

    def state(self) -> dict[str, Any]:
        """Plain-data state worth saving with a model bundle (e.g. learned weights)."""
        return {}

    def take_notes(self) -> list[str]:
        """Messages from `note` since the last call (the loop turns each into a Warned event)."""
        notes, self._notes = self._notes, []
        return notes

    # -- helpers for subclasses ---------------------------------------------------------------
    def note(self, *messages: str) -> None:
        """Tell the user something that does not stop the run (a solver had to regularise, say);
        the same message is queued once per run, however often it is noted (a solver may hit the
        same case every step, and the 2-D toy, which takes no notes, runs tens of thousands)."""
        for message in messages:
            if message not in self._said:
                self._said.add(message)
                self._notes.append(message)

    def weighted_sum(self, losses: torch.Tensor, weights: torch.Tensor) -> Combined:
        w = weights.detach()
        return Combined(total=(w * losses).sum(), weights=w)

    def ones(self) -> torch.Tensor:
        return torch.ones(self.n_tasks, device=self.device)


def build_strategy(
    name: str,
    params: Mapping[str, Any] | Any,
    tasks: Sequence[TaskInfo],
    static_weights: Sequence[float],
    device: torch.device,
) -> Strategy:
    """The registered strategy `name`, with `params` a mapping or its Params instance."""
    from ..registry import STRATEGIES

    cls = STRATEGIES.get(name, "strategy.name").obj
    return cls(tasks=tuple(tasks), params=params, static_weights=tuple(static_weights),
               device=device)
