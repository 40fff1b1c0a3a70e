"""The one driver of the strategy protocol, for every caller (training loop, 2-D toy, tests).

Each step: `wanted(strategy, step)` asks the strategy what it wants; the caller does its forward
pass and losses; `prepare` has the caller's `StepInputs` compute exactly those inputs and puts them
on a `StepInfo`; the caller calls `strategy.combine(losses, info)`, back-propagates and steps its
optimiser (how is the caller's business: the training loop reuses per-task gradients, the toy
applies the chain rule by hand); `finish` then asks for the losses after the step if wanted and
calls `after_step`.

A caller serves what it can by overriding `StepInputs` methods; what it does not override is
refused by name (a ConfigError on `strategy.name`) when a strategy wants it. A new kind of
strategy input is one `INPUTS` entry here, plus the `StepInputs` method that computes it and the
`StepInfo` field it fills.

A strategy that returns an update `direction` (see strategies.base) has it checked by
`direction_of` before the caller applies it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from ..errors import ConfigError
from .base import (
    GRADS,
    GRADS_SPLIT,
    GRAMIAN,
    LAST_SHARED_GRADS,
    LOSSES_AFTER,
    MC_OUTPUTS,
    OUTPUTS,
    REQUESTS,
    Combined,
    StepInfo,
    Strategy,
)


class NotProvided(Exception):
    """Raised by a `StepInputs` method its caller does not override (the driver names it)."""


class StepInputs:
    """What a caller can compute for one step; one method per kind of input.

    Each is called at most once per step, only when the strategy wants that input: LOSSES_AFTER
    after the optimiser step, the others before `combine`.
    """

    __slots__ = ()
    source = "this caller"  # named in refusals: "<source> cannot give 'outputs', ..."

    def grads(self) -> torch.Tensor:
        """Per-task gradients on the shared parameters (T x P, detached), in the run's grad mode."""
        raise NotProvided

    def representation(self) -> torch.Tensor | None:
        """The detached tensor `grads` were taken w.r.t. in grad_mode "representation" (batch
        dimension first), None where they are on parameters; given along with `grads`."""
        return None

    def last_shared_grads(self) -> torch.Tensor:
        """Per-task gradients on the last shared layer only (T x P_last, detached)."""
        raise NotProvided

    def gramian(self) -> torch.Tensor:
        """The Gramian K = G G^T (T x T, detached) of the per-task gradients `grads` would give.
        By default from `grads()`; a caller that can form K without G overrides it."""
        g = self.grads()
        return g @ g.T

    def grads_split(self, parts: int = 2) -> torch.Tensor:
        """Per-task gradients on the shared parameters from each of `parts` disjoint parts of the
        batch (parts x T x P, detached): independent samples at the same point. By default every
        part's are `grads()`, which is right for a caller whose gradients are exact rather than
        sampled (hand-made ones, the 2-D toy); a caller that samples batches must override it,
        and give the parts' losses in `split_losses`."""
        g = self.grads()
        return torch.stack([g] * parts)

    def split_losses(self) -> torch.Tensor | None:
        """The per-task losses of the parts `grads_split` took (parts x T, with their graph),
        asked right after it; None where every part is the whole batch (exact gradients)."""
        return None

    def outputs(self) -> dict[str, torch.Tensor]:
        """This batch's model outputs per task, detached."""
        raise NotProvided

    def mc_outputs(self, passes: int) -> list[dict[str, torch.Tensor]]:
        """`passes` stochastic forward passes of this batch (dropout active), without gradients."""
        raise NotProvided

    def losses_after(self) -> torch.Tensor:
        """The same batch's per-task losses after the optimiser step, without gradients."""
        raise NotProvided


def _fill_grads(strategy: Strategy, inputs: StepInputs, info: StepInfo) -> None:
    g = inputs.grads()
    info.grads, info.gramian = g, g @ g.T
    info.representation = inputs.representation()


def _fill_gramian(strategy: Strategy, inputs: StepInputs, info: StepInfo) -> None:
    if info.gramian is None:  # GRADS, asked for too, brought it already
        info.gramian = inputs.gramian()


def _fill_last_shared(strategy: Strategy, inputs: StepInputs, info: StepInfo) -> None:
    g = inputs.last_shared_grads()  # the gradient strategies read it as their G (GradNorm)
    info.grads, info.gramian = g, g @ g.T


def _fill_split(strategy: Strategy, inputs: StepInputs, info: StepInfo) -> None:
    parts = strategy.split_parts()
    split = inputs.grads_split(parts)
    info.split_grads, info.split_parts = split, parts
    info.split_losses = inputs.split_losses()
    if info.grads is None:  # G (and K) as the parts' mean: the step's gradients have a width,
        g = split.mean(dim=0)  # which a returned direction is checked against, at no extra cost
        info.grads, info.gramian = g, g @ g.T


def _fill_outputs(strategy: Strategy, inputs: StepInputs, info: StepInfo) -> None:
    info.outputs = inputs.outputs()


def _fill_mc(strategy: Strategy, inputs: StepInputs, info: StepInfo) -> None:
    passes = strategy.mc_passes()
    info.mc_outputs = inputs.mc_outputs(passes)
    info.mc_passes = passes


@dataclass(frozen=True)
class _Input:
    method: str  # the StepInputs method that computes it
    # puts it on the StepInfo before `combine`; None: computed after the step, for `after_step`
    fill: Callable[[Strategy, StepInputs, StepInfo], None] | None


# Every kind of input a strategy may want, in the order they are computed before `combine` (that
# order is part of the numerics: MC passes draw dropout masks from the global generator).
INPUTS: dict[str, _Input] = {
    GRADS: _Input("grads", _fill_grads),
    GRAMIAN: _Input("gramian", _fill_gramian),
    LAST_SHARED_GRADS: _Input("last_shared_grads", _fill_last_shared),
    OUTPUTS: _Input("outputs", _fill_outputs),
    MC_OUTPUTS: _Input("mc_outputs", _fill_mc),
    GRADS_SPLIT: _Input("grads_split", _fill_split),
    LOSSES_AFTER: _Input("losses_after", None),
}
assert set(INPUTS) == REQUESTS, "every kind in strategies.base.REQUESTS needs an INPUTS entry"
_BEFORE = tuple((kind, entry.fill) for kind, entry in INPUTS.items() if entry.fill is not None)


def wanted(strategy: Strategy, step: int) -> frozenset[str]:
    """What `strategy` wants at `step`, asked once per step (the answer may depend on its state)."""
    wants = strategy.wants(step)
    if not wants <= REQUESTS:
        unknown = ", ".join(sorted(repr(k) for k in wants - REQUESTS))
        raise ConfigError("strategy.name", f"strategy {strategy_name(strategy)!r} wants {unknown}, "
                          f"which is no known input (known: {', '.join(sorted(REQUESTS))})")
    return wants


def prepare(strategy: Strategy, wants: frozenset[str], step: int, epoch: int,
            inputs: StepInputs) -> StepInfo:
    """The StepInfo for `combine`: exactly the inputs in `wants`, computed by `inputs`."""
    info = StepInfo(step=step, epoch=epoch)
    if wants:
        for kind, fill in _BEFORE:
            if kind in wants:
                try:
                    fill(strategy, inputs, info)  # type: ignore[misc]
                except NotProvided:
                    raise refusal(inputs.source, kind, strategy_name(strategy)) from None
    return info


def finish(strategy: Strategy, wants: frozenset[str], info: StepInfo, inputs: StepInputs) -> None:
    """After the optimiser step: the losses after it if wanted, then `after_step`."""
    after = None
    if LOSSES_AFTER in wants:
        try:
            after = inputs.losses_after()
        except NotProvided:
            raise refusal(inputs.source, LOSSES_AFTER, strategy_name(strategy)) from None
    strategy.after_step(after, info)


def direction_of(strategy: Strategy, combined: Combined, width: int | None,
                 grad_mode: str) -> torch.Tensor | None:
    """The update direction `combined` carries (None if none), checked against the step: the
    strategy's registered grad_modes must allow `grad_mode`, and it must have `width` values (the
    per-task gradients' length; None: no gradients were computed this step). Refusals are one
    line on `strategy.grad_mode`."""
    d = combined.direction
    if d is None:
        return None
    name = strategy_name(strategy)
    modes = _grad_modes(strategy)
    if modes and grad_mode not in modes:
        raise ConfigError("strategy.grad_mode", f"strategy {name!r} returns an update direction "
                          f"for grad_mode {' or '.join(repr(m) for m in modes)} only, got "
                          f"{grad_mode!r}")
    if width is None:
        raise ConfigError("strategy.grad_mode", f"strategy {name!r} returned an update direction "
                          f"at a step where it asked for no per-task gradients")
    if tuple(d.shape) != (width,):
        raise ConfigError("strategy.grad_mode", f"strategy {name!r} returned a direction of shape "
                          f"{tuple(d.shape)}, but its gradients in grad_mode {grad_mode!r} have "
                          f"{width} values")
    return d.detach()


def _grad_modes(strategy: Strategy) -> tuple[str, ...]:
    from ..registry import STRATEGIES

    cls = type(strategy)
    entry = next((e for e in STRATEGIES if e.obj is cls), None)
    return tuple(entry.meta["grad_modes"]) if entry is not None else ()


def provides(inputs: type[StepInputs]) -> frozenset[str]:
    """The kinds of input a StepInputs class serves (the methods it overrides; GRAMIAN also
    wherever GRADS is served, since by default it is formed from them)."""
    kinds = frozenset(kind for kind, entry in INPUTS.items()
                      if getattr(inputs, entry.method) is not getattr(StepInputs, entry.method))
    return kinds | {GRAMIAN} if GRADS in kinds else kinds


def refusal(source: str, kind: str, name: str, hint: str = "") -> ConfigError:
    """The one-line error for an input a caller cannot give."""
    return ConfigError("strategy.name", f"{source} cannot give {kind!r}, which strategy {name!r} "
                                        f"wants{'; ' + hint if hint else ''}")


def strategy_name(strategy: Strategy) -> str:
    """The registry name of `strategy` (its class name if unregistered); for messages only."""
    from ..registry import STRATEGIES

    cls = type(strategy)
    return next((e.name for e in STRATEGIES if e.obj is cls), cls.__name__)
