"""Task-weighting strategies, one file each; every public module here registers itself.

A new strategy is one file here: a `Strategy` subclass with its parameters as a nested `Params`
dataclass, registered with the facts below that differ from their defaults. The contract tests
(tests/engine/test_strategy_contract.py) and the property tests that select by these facts pick
it up without edits.
"""

from __future__ import annotations

import math

from .._autoload import import_submodules
from ..registry import STRATEGIES
from .base import Combined, EpochStats, StepInfo, Strategy

# Every fact a strategy entry carries (`entry.meta[...]`), with its default. `register(...)`
# refuses any other keyword, and a contract test checks each value has its default's kind.
STRATEGIES.declare(
    # "loss" (weights from the losses) or "gradient" (from the gradients); groups the pickers
    family="other",
    # the strategy.grad_mode values the method works with (empty: all of them)
    grad_modes=(),
    # 2-D toy: the factor on L1 in the paper's own toy figure (Nash-MTL and FAMO use 0.1); the
    # toy playground sets its L1 scale from it when the strategy is picked
    toy_scale_l1=1.0,
    # 2-D toy: parameter values the paper's toy run uses where they differ from the defaults
    # (FAMO's toy turns its weight decay off); the playground fills its form with them
    toy_params={},  # read only: every entry without its own shares this one
    # test property: permuting the tasks permutes the weights (False where random draws go by
    # task position: PCGrad's and GradVac's task orders, RLW's weights; those take a `seed`)
    order_invariant=True,
    # test property: the update never conflicts with a task, d . g_i >= -tol max_j |g_j|^2 on any
    # gradients, with its default parameters; tol covers round-off and ridges (inf: no such
    # guarantee)
    conflict_tol=math.inf,
)

__all__ = ["Combined", "EpochStats", "StepInfo", "Strategy"]

import_submodules(__name__, __path__)
