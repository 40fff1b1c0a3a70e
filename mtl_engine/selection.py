"""Which epoch is "best": the one rule the training loop (``training.select: best``, patience)
and a study's summary (``select: best``) both use.

An epoch's validation score is EpochEnded.score (epochs.csv's ``score``): the user-weighted mean
of the higher-is-better headline metrics. The best epoch is the one with the highest finite
score; a run whose epochs have no score (every headline metric is lower-is-better, or weighted 0)
is judged by the lowest mean validation loss instead. A scored epoch beats an unscored one, and
of equal epochs the earliest wins, so an epoch is an improvement only when strictly better.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence

from .events import EpochEnded

Rank = tuple[int, float]  # (has a score, value where larger is better)


def epoch_rank(score: float | None, val_loss: Mapping[str, float]) -> Rank:
    """How good an epoch is by validation: compare with `>`; larger is better."""
    if score is not None and math.isfinite(score):
        return (1, float(score))
    losses = list(val_loss.values())
    mean = statistics.fmean(losses) if losses else math.inf
    return (0, -mean if math.isfinite(mean) else -math.inf)


def rank_of(epoch: EpochEnded) -> Rank:
    return epoch_rank(epoch.score, epoch.val_loss)


def best_epoch(epochs: Sequence[EpochEnded]) -> EpochEnded:
    """The best of `epochs` (non-empty) by the rule above; the earliest of equals."""
    best = epochs[0]
    for e in epochs[1:]:
        if rank_of(e) > rank_of(best):
            best = e
    return best
