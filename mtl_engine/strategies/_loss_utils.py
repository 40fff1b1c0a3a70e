"""Maths shared by the loss-based strategies: normalisation, predictive entropy and variance.

Everything here stays on the device and never synchronises with the host, so it is safe to call
from `Strategy.combine` every step.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from ..errors import ConfigError
from ..events import TaskInfo

# Floors that keep logs and ratios finite when a loss or a statistic reaches exactly zero.
TINY = 1e-12


def normalise(values: torch.Tensor, total: float) -> torch.Tensor:
    """Scale non-negative `values` to sum to `total`; all zeros give equal shares (no host sync)."""
    s = values.sum()
    equal = torch.full_like(values, total / values.numel())
    return torch.where(s > 0, values * (total / s.clamp_min(TINY)), equal)


def log_probs(output: torch.Tensor, task: TaskInfo) -> torch.Tensor:
    """Per-sample class log-probabilities (B, C) from a head's logits.

    Classification heads give (B, C) logits; binary heads one logit per sample, read as the two
    classes (negative, positive) so entropy and variance treat both kinds alike.
    """
    if task.type == "classification":
        return F.log_softmax(output.reshape(output.shape[0], -1), dim=-1)
    if task.type == "binary":
        z = output.reshape(-1)
        return torch.stack([F.logsigmoid(-z), F.logsigmoid(z)], dim=-1)
    raise ConfigError("strategy.name", f"task {task.name!r} is a {task.type} task and has no "
                                       "class probabilities")


def mean_entropy(output: torch.Tensor, task: TaskInfo) -> torch.Tensor:
    """Mean over the batch of the Shannon entropy (nats) of the predicted class distribution."""
    lp = log_probs(output, task)
    return -(lp.exp() * lp).sum(dim=-1).mean()


def predictive_variance(passes: Sequence[torch.Tensor], task: TaskInfo) -> torch.Tensor:
    """Mean over the batch of the variance across stochastic passes of one task's prediction.

    Classification and binary tasks use the class probabilities and sum the per-class variances
    (the trace of the predictive covariance); regression tasks use the predicted values directly,
    so their scale is that of the targets.
    """
    if task.type == "regression":
        stacked = torch.stack([p.reshape(p.shape[0], -1) for p in passes])
    else:
        stacked = torch.stack([log_probs(p, task).exp() for p in passes])
    # population variance over passes (dim 0), summed over outputs, averaged over samples
    return stacked.var(dim=0, unbiased=False).sum(dim=-1).mean()


def task_output(outputs: Mapping[str, torch.Tensor], task: TaskInfo, what: str) -> torch.Tensor:
    try:
        return outputs[task.name]
    except KeyError:
        raise ValueError(f"{what}: no model output for task {task.name!r} (outputs hold "
                         f"{', '.join(outputs)})") from None


def as_tensor(values: Sequence[float], device: torch.device) -> torch.Tensor:
    return torch.tensor([float(v) for v in values], dtype=torch.float32, device=device)
