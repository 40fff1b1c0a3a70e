"""A generated impression log with clicks and post-click conversions, in the setting of ESMM (Ma,
Zhao, Wang, Hu, Zhu, Gai & Xu, "Entire Space Multi-Task Model: An Effective Approach for Estimating
Post-Click Conversion Rate", SIGIR 2018). Generated from the seed; no data file.

The world: `n_users` users and `n_items` items, each with a latent factor in R^d (entries
N(0, 1) / d^(1/4), so a user-item dot product has variance 1) and a bias (N(0, 0.5^2)); a second,
independent set of factors and biases (p'_u, q'_i, b'_u, c'_i) carries what conversion does not
share with clicks. An impression is a (user, item) pair drawn uniformly, with the user's recent
items. With the click affinity a = s <p_u, q_i> + b_u + c_i and the conversion's own
a' = s <p'_u, q'_i> + b'_u + c'_i (the same distribution, independent of a),

    click   ~ Bernoulli(sigmoid(a + b_click))
    convert ~ Bernoulli(sigmoid(rho a + sqrt(1 - rho^2) a' + b_conv)),
              drawn only where click = 1 (no conversion without a click)

with s = `signal` and rho = `relatedness`, the correlation of the two affinities over random
pairs. b_click and b_conv are set (by bisection on the drawn impressions) so that the share of
clicks is `click_rate` and the share of clicks that convert is `conversion_rate`, up to sampling.

A user's recent items: each user has one sequence of `history` items, drawn without replacement
with probability proportional to exp(s <p_u, q_i> + c_i) (the items the user is drawn to), and an
impression shows the first k of them, k uniform in 1..history, right-padded with 0 (items are
numbered from 1, so 0 is only ever padding; users are numbered from 1 as well, 0 unused).

Tasks, as in ESMM: `click` (pCTR, every impression), `conversion` (click AND convert over every
impression: the paper's pCTCVR) and `cvr` (convert given click: the post-click conversion rate the
paper is about, missing (-1) where there was no click; the engine skips missing labels).

Why sharing with the click task helps conversion: conversions are rare (click_rate x
conversion_rate of the impressions, 0.5 % by default), far too few to learn an embedding for every
user and item from them alone, and `cvr` sees only the clicked impressions (ESMM's sample
selection bias and data sparsity). Yet the conversion affinity is, up to its rho, the click
affinity: the user and item embeddings the click task learns from twenty times more positives
(every impression is a click label) are most of what conversion needs, and the history's item
embeddings are trained by both. A model that shares its embeddings across the tasks therefore
beats a conversion-only model, more so the higher rho and the rarer the conversions; at rho = 0
the click task has nothing to give.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import ConfigError
from ..registry import DATASETS, param, parse_params
from .base import Dataset, DatasetSpec, DataTask, InputSpec

BIAS_STD = 0.5
CHUNK = 512  # users per block when drawing histories (a block of CHUNK x n_items scores)


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # exact, and overflow-free for any z


def calibrated_bias(logits: np.ndarray, rate: float, iters: int = 60) -> float:
    """The b with mean(sigmoid(logits + b)) = rate (bisection; the mean is increasing in b)."""
    lo, hi = -30.0 - float(logits.max()), 30.0 - float(logits.min())
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        if sigmoid(logits + mid).mean() < rate:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def factors(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """(n, d) latent factors whose pairwise dot products have variance 1."""
    return rng.normal(size=(n, d)) / d ** 0.25


def user_histories(users: np.ndarray, items: np.ndarray, item_bias: np.ndarray, signal: float,
                   length: int, rng: np.random.Generator) -> np.ndarray:
    """Each user's `length` items (ids from 1), drawn without replacement with probability
    proportional to exp(signal <p_u, q_i> + c_i): the Gumbel top-k trick, in blocks of users."""
    out = np.empty((len(users), length), dtype=np.int64)
    for start in range(0, len(users), CHUNK):
        block = users[start:start + CHUNK]
        scores = signal * block @ items.T + item_bias[None, :]
        scores = scores + rng.gumbel(size=scores.shape)
        top = np.argpartition(-scores, length - 1, axis=1)[:, :length]
        order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
        out[start:start + CHUNK] = np.take_along_axis(top, order, axis=1) + 1
    return out


@dataclass(frozen=True)
class CtrParams:
    n_samples: int = param(100000, "impressions to draw", low=100, high=2000000)
    n_users: int = param(1000, "users", low=2, high=100000)
    n_items: int = param(500, "items", low=2, high=100000)
    history: int = param(10, "length L of the recent-items sequence (right-padded with 0)",
                         low=1, high=200)
    latent_dim: int = param(8, "dimension d of the users' and items' latent factors",
                            low=1, high=256)
    relatedness: float = param(0.8, "rho: correlation of the click and conversion affinities "
                                    "(1 = conversion follows the click taste exactly)",
                               low=-1.0, high=1.0)
    click_rate: float = param(0.1, "share of impressions clicked", low=0.001, high=0.9)
    conversion_rate: float = param(0.05, "share of clicks that convert (the base post-click "
                                         "conversion rate)", low=0.001, high=0.9)
    signal: float = param(2.0, "scale s of the affinities in the logits (0 = clicks and "
                               "conversions are noise)", low=0.0, high=10.0)


def _tasks() -> tuple[DataTask, ...]:
    names = ("no", "yes")
    return (
        DataTask("click", "binary", 2, "bce", "auroc", "the impression was clicked (pCTR)",
                 names),
        DataTask("conversion", "binary", 2, "bce", "auroc",
                 "clicked and converted, over every impression (ESMM's pCTCVR)", names),
        DataTask("cvr", "binary", 2, "bce", "auroc",
                 "converted, given a click (pCVR); missing where there was no click", names),
    )


@DATASETS.register(
    "ctr_synthetic",
    "Generated click / conversion log (ESMM setting): user, item and recent-item ids; click, "
    "conversion, post-click conversion",
    params=CtrParams,
    paper="Ma et al., SIGIR 2018 (ESMM)",
    smoke={"n_samples": 3000, "n_users": 100, "n_items": 80, "click_rate": 0.2,
           "conversion_rate": 0.1},
)
def load_ctr_synthetic(given: Mapping[str, Any] | CtrParams, seed: int) -> Dataset:
    p = parse_params(CtrParams, given, "data.params")
    if p.history > p.n_items:
        raise ConfigError("data.params.history", f"{p.history} recent items need at least as "
                          f"many items; n_items is {p.n_items}")
    rng = np.random.default_rng(seed)
    d, s, rho = p.latent_dim, p.signal, p.relatedness
    user_f, item_f = factors(p.n_users, d, rng), factors(p.n_items, d, rng)
    user_g, item_g = factors(p.n_users, d, rng), factors(p.n_items, d, rng)  # conversion's own
    user_b, item_b = rng.normal(0.0, BIAS_STD, p.n_users), rng.normal(0.0, BIAS_STD, p.n_items)
    user_c, item_c = rng.normal(0.0, BIAS_STD, p.n_users), rng.normal(0.0, BIAS_STD, p.n_items)
    seqs = user_histories(user_f, item_f, item_b, s, p.history, rng)

    u = rng.integers(0, p.n_users, p.n_samples)
    i = rng.integers(0, p.n_items, p.n_samples)
    taste = s * np.einsum("nd,nd->n", user_f[u], item_f[i]) + user_b[u] + item_b[i]
    own = s * np.einsum("nd,nd->n", user_g[u], item_g[i]) + user_c[u] + item_c[i]
    click_logit = taste + calibrated_bias(taste, p.click_rate)
    click = rng.random(p.n_samples) < sigmoid(click_logit)
    conv_logit = rho * taste + np.sqrt(max(0.0, 1.0 - rho * rho)) * own
    clicked = conv_logit[click]
    if clicked.size:
        conv_logit += calibrated_bias(clicked, p.conversion_rate)
    convert = click & (rng.random(p.n_samples) < sigmoid(conv_logit))

    k = rng.integers(1, p.history + 1, p.n_samples)  # real items in each impression's history
    hist = seqs[u]
    hist[np.arange(p.history)[None, :] >= k[:, None]] = 0
    cvr = np.where(click, convert, -1).astype(np.int64)

    inputs = (
        InputSpec("user", (), "int64", "ids", p.n_users + 1,
                  description="user id, 1..n_users (0 unused)"),
        InputSpec("item", (), "int64", "ids", p.n_items + 1,
                  description="the impression's item id, 1..n_items (0 unused)"),
        InputSpec("history", (p.history,), "int64", "tokens", p.n_items + 1, 0,
                  "the user's recent item ids, right-padded with 0"),
    )
    spec = DatasetSpec("ctr_synthetic", (), _tasks(), p.n_samples,
                       f"Generated impression log (ESMM setting, Ma et al. 2018): "
                       f"{p.n_users} users, {p.n_items} items, click rate {p.click_rate:g}, "
                       f"post-click conversion rate {p.conversion_rate:g}, relatedness "
                       f"{rho:g}", "generated", inputs=inputs)
    x = {"user": (u + 1).astype(np.int64), "item": (i + 1).astype(np.int64), "history": hist}
    targets = {"click": click.astype(np.int64), "conversion": convert.astype(np.int64),
               "cvr": cvr}
    return Dataset(spec, x, targets, prepared=frozenset({"inputs"}))
