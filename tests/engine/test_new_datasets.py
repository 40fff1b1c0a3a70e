"""The issue-15 datasets: translated MNIST with boxes, the ESMM-style click log, MovieLens 100k
(from made-up files in its format) and the clothing reviews (tokens and bag of words)."""

from __future__ import annotations

import importlib.util
from collections import Counter
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from mtl_engine.data import ctr_synthetic, mnist, mnist_localisation, movielens, word_tokens
from mtl_engine.data.base import Dataset
from mtl_engine.errors import ConfigError, DataError
from mtl_engine.registry import DATASETS, METRICS

ROOT = Path(__file__).resolve().parents[2]


def load(name: str, seed: int = 0, **params: Any) -> Dataset:
    return DATASETS.get(name).obj(params, seed)


# ----------------------------------------------------------------------------- localisation


def test_each_canvas_holds_its_digit_at_the_drawn_place_and_nothing_else() -> None:
    seed, n, side = 3, 40, 48
    ds = load("mnist_localisation", seed, n_samples=n)
    images, labels = mnist.load_digits_5k()
    rng = np.random.default_rng(seed)  # the loader's draws, in its order
    which = mnist_localisation.digit_order(n, len(labels), rng)
    offsets = rng.integers(0, side - 28 + 1, size=(n, 2))
    for k in (0, 7, 39):
        r, c = offsets[k]
        canvas = ds.x[k, 0]
        assert canvas[r:r + 28, c:c + 28] == pytest.approx(images[which[k]] / 255.0)
        assert canvas.sum() == pytest.approx(images[which[k]].sum() / 255.0, rel=1e-5)
        assert ds.targets["digit"][k] == labels[which[k]]
    assert ds.x.shape == (n, 1, side, side) and ds.x.dtype == np.float32


@pytest.mark.parametrize("side", [48, 60])
def test_box_encloses_all_ink_and_is_tight(side: int) -> None:
    ds = load("mnist_localisation", 1, n_samples=30, canvas=side)
    for k in (0, 5, 11, 29):
        canvas = ds.x[k, 0]
        ink = [(r, c) for r in range(side) for c in range(side) if canvas[r, c] > 0.1]
        x0, y0, x1, y1 = (v * side for v in ds.targets["box"][k])
        rows, cols = [r for r, _ in ink], [c for _, c in ink]
        # pixel-edge coordinates: the first ink column / row, and one past the last
        assert (x0, y0, x1, y1) == pytest.approx((min(cols), min(rows), max(cols) + 1,
                                                  max(rows) + 1), abs=1e-4)
        assert all(x0 <= c < x1 and y0 <= r < y1 for r, c in ink)  # encloses every ink pixel
        # tight: each edge touches ink
        assert {round(x0), round(x1) - 1} <= set(cols)
        assert {round(y0), round(y1) - 1} <= set(rows)
    assert ds.targets["box"].min() >= 0.0 and ds.targets["box"].max() <= 1.0


def test_ink_boxes_of_hand_drawn_patches() -> None:
    patch = np.zeros((3, 5, 6), np.float32)
    patch[0, 1:3, 2:5] = 1.0  # rows 1-2, cols 2-4
    patch[1, 4, 0] = 0.5
    patch[1, 0, 5] = 0.05  # below the threshold: not ink
    boxes = mnist_localisation.ink_boxes(patch, 0.1)
    assert boxes.tolist() == [[2, 1, 5, 3], [0, 4, 1, 5], [0, 0, 6, 5]]  # the last: no ink


def test_box_task_declares_four_outputs_and_its_metric() -> None:
    ds = load("mnist_localisation", n_samples=20)
    box = ds.spec.task("box")
    assert box.type == "regression" and box.outputs == 4 and box.loss == "mse"
    assert box.metric == "iou" and METRICS.get("iou").meta["outputs"] == 4
    assert ds.targets["box"].shape == (20, 4) and ds.targets["box"].dtype == np.float32
    assert not np.array_equal(load("mnist_localisation", 1, n_samples=20).x, ds.x)


def test_a_canvas_smaller_than_a_digit_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"data\.params\.canvas"):
        load("mnist_localisation", n_samples=20, canvas=27)


# ----------------------------------------------------------------------------- ctr_synthetic

CTR_SMALL = {"n_samples": 40000, "n_users": 300, "n_items": 200}


@pytest.fixture(scope="module")
def ctr() -> Dataset:
    return load("ctr_synthetic", 0, **CTR_SMALL)


def test_conversion_only_after_a_click_and_cvr_missing_exactly_without_one(ctr: Dataset) -> None:
    click, conv, cvr = (ctr.targets[k] for k in ("click", "conversion", "cvr"))
    assert conv.sum() > 0 and (conv <= click).all()  # never a conversion without a click
    assert np.array_equal(cvr == -1, click == 0)
    assert np.array_equal(cvr[click == 1], conv[click == 1])
    assert set(np.unique(cvr)) == {-1, 0, 1}


@pytest.mark.parametrize(("click_rate", "conversion_rate"), [(0.1, 0.05), (0.3, 0.2)])
def test_rates_are_near_the_configured_ones(click_rate: float, conversion_rate: float) -> None:
    ds = load("ctr_synthetic", 2, **CTR_SMALL, click_rate=click_rate,
              conversion_rate=conversion_rate)
    click, conv = ds.targets["click"], ds.targets["conversion"]
    # 40,000 impressions: the click share's SD is under 0.0023, the post-click share's under 0.011
    assert click.mean() == pytest.approx(click_rate, abs=0.01)
    assert conv[click == 1].mean() == pytest.approx(conversion_rate, abs=0.03)


def test_history_is_right_padded_item_ids(ctr: Dataset) -> None:
    hist, n_items = ctr.x["history"], CTR_SMALL["n_items"]
    real = hist != 0
    assert hist.shape == (40000, 10) and hist.dtype == np.int64
    assert ((hist >= 1) & (hist <= n_items))[real].all()
    assert real[:, 0].all()  # at least one real item
    assert (real[:, 1:] <= real[:, :-1]).all()  # once padding starts, only padding follows
    assert len(set(real.sum(axis=1))) == 10  # every length 1..10 occurs
    for row in hist[:50]:  # no item twice in one history
        items = row[row != 0]
        assert len(set(items)) == len(items)


def test_inputs_are_declared_ids(ctr: Dataset) -> None:
    spec = ctr.spec
    assert [i.name for i in spec.inputs] == ["user", "item", "history"]
    user, item, hist = spec.inputs
    assert (user.vocab, item.vocab, hist.vocab, hist.padding_idx) == (301, 201, 201, 0)
    assert hist.kind == "tokens" and hist.shape == (10,) and item.shape == ()
    for s in spec.inputs:
        x = ctr.x[s.name]
        assert x.dtype == np.int64 and x.max() < s.vocab
        assert x.min() == (0 if s.name == "history" else 1)  # 0 only pads
    assert [t.metric for t in spec.tasks] == ["auroc"] * 3


def test_history_holds_items_the_user_is_drawn_to(ctr: Dataset) -> None:
    # Histories are drawn from the users' click taste: an impression whose item is in its own
    # history is clicked more often than one whose item is not.
    inside = (ctr.x["history"] == ctr.x["item"][:, None]).any(axis=1)
    click = ctr.targets["click"]
    assert inside.sum() > 100
    assert click[inside].mean() > 2 * click[~inside].mean()


def test_same_seed_same_log_other_seed_other_log() -> None:
    a, b, c = (load("ctr_synthetic", s, n_samples=500, n_users=20, n_items=30) for s in (4, 4, 5))
    for key in a.x:
        assert np.array_equal(a.x[key], b.x[key])
    for key in a.targets:
        assert np.array_equal(a.targets[key], b.targets[key])
    assert not np.array_equal(a.x["user"], c.x["user"])


def test_calibrated_bias_by_hand() -> None:
    zeros = np.zeros(10)
    assert ctr_synthetic.calibrated_bias(zeros, 0.5) == pytest.approx(0.0, abs=1e-9)
    assert ctr_synthetic.calibrated_bias(zeros, 1 / (1 + np.exp(-1.0))) == pytest.approx(1.0)
    logits = np.array([-2.0, 0.0, 2.0])
    b = ctr_synthetic.calibrated_bias(logits, 0.2)
    assert (1 / (1 + np.exp(-(logits + b)))).mean() == pytest.approx(0.2)


def test_history_longer_than_the_items_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"data\.params\.history"):
        load("ctr_synthetic", n_samples=200, n_items=5, history=6)


# ----------------------------------------------------------------------------- MovieLens

INTER = ("user_id:token\titem_id:token\trating:float\ttimestamp:float\n"
         "7\t12\t5\t881250949\n"
         "3\t10\t3\t891717742\n"
         "7\t10\t4\t878887116\n"
         "5\t11\t1\t880606923\n"
         "3\t12\t2\t886397596\n")
USER = ("user_id:token\tage:token\tgender:token\toccupation:token\tzip_code:token\n"
        "3\t24\tM\ttechnician\t85711\n"
        "5\t53\tF\tother\t94043\n"
        "7\t23\tM\twriter\t32067\n")
ITEM = ("item_id:token\tmovie_title:token_seq\trelease_year:token\tclass:token_seq\n"
        "10\tToy Story\t1995\tAnimation Children's Comedy\n"
        "11\tGoldenEye\t1995\tAction Adventure Thriller\n"
        "12\tFour Rooms\t1995\tThriller\n")


def write_folder(folder: Path, inter: str = INTER, user: str = USER, item: str = ITEM) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for suffix, text in (("inter", inter), ("user", user), ("item", item)):
        (folder / f"ml-100k.{suffix}").write_text(text, encoding="utf-8")
    return folder


def test_ratings_ids_and_tasks_from_a_folder(tmp_path: Path) -> None:
    ds = load("movielens_100k", path=str(write_folder(tmp_path)))
    # users 3, 5, 7 -> 1, 2, 3 and items 10, 11, 12 -> 1, 2, 3 (the order of the files)
    assert ds.x["user"].tolist() == [3, 1, 3, 2, 1]
    assert ds.x["item"].tolist() == [3, 1, 1, 2, 3]
    assert ds.targets["rating"].tolist() == [5.0, 3.0, 4.0, 1.0, 2.0]
    assert ds.targets["liked"].tolist() == [1, 0, 1, 0, 0]
    user, item = ds.spec.inputs
    assert (user.vocab, item.vocab, user.kind, user.dtype) == (4, 4, "ids", "int64")
    assert ds.spec.n_samples == 5 and set(ds.x) == {"user", "item"}
    rating = ds.spec.task("rating")
    assert rating.type == "regression" and rating.metric == "rmse"
    assert ds.spec.task("liked").metric == "auroc"


def test_side_features_by_hand(tmp_path: Path) -> None:
    ds = load("movielens_100k", path=str(write_folder(tmp_path)), side_features=True)
    info, genres = ds.spec.inputs[2], ds.spec.inputs[3]
    assert info.shape == (5,) and genres.shape == (6,)  # age, female, 3 occupations; 6 genres
    # rating 0 is by user 7 (23, M, writer) of item 12 (Thriller); occupations sorted:
    # other, technician, writer; genres sorted: Action, Adventure, Animation, Children's,
    # Comedy, Thriller (and nothing else)
    assert ds.x["user_info"][0].tolist() == pytest.approx([0.23, 0.0, 0.0, 0.0, 1.0])
    assert ds.x["user_info"][3].tolist() == pytest.approx([0.53, 1.0, 1.0, 0.0, 0.0])
    assert "Thriller" in genres.description
    assert ds.x["genres"][1].tolist() == [0, 0, 1, 1, 1, 0]  # Toy Story
    assert ds.x["genres"][0].tolist() == [0, 0, 0, 0, 0, 1]  # Four Rooms


def test_columns_are_found_by_name(tmp_path: Path) -> None:
    swapped = "\n".join("\t".join(np.array(line.split("\t"))[[1, 0, 3, 2]])
                        for line in INTER.strip().split("\n")) + "\n"
    ds = load("movielens_100k", path=str(write_folder(tmp_path, inter=swapped)))
    assert ds.targets["rating"].tolist() == [5.0, 3.0, 4.0, 1.0, 2.0]
    assert ds.x["user"].tolist() == [3, 1, 3, 2, 1]


def test_the_installed_package_is_found_without_importing_it(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    package = tmp_path / "site" / "recbole"
    write_folder(package / "dataset_example" / "ml-100k")
    (package / "__init__.py").write_text("raise RuntimeError('imported')\n")
    real = importlib.util.find_spec

    def find_spec(name: str, *args: Any) -> Any:
        if name == "recbole":
            return SimpleNamespace(origin=str(package / "__init__.py"))
        return real(name, *args)

    monkeypatch.setattr(movielens.importlib.util, "find_spec", find_spec)
    assert load("movielens_100k").targets["liked"].tolist() == [1, 0, 1, 0, 0]


def test_without_recbole_the_error_says_how_to_install_it(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(movielens.importlib.util, "find_spec",
                        lambda name, *a: None if name == "recbole" else real(name, *a))
    with pytest.raises(DataError, match=r"pip install --no-deps recbole==1\.2\.1"):
        load("movielens_100k")


def test_bad_files_are_named_with_column_and_row(tmp_path: Path) -> None:
    (write_folder(tmp_path / "a") / "ml-100k.item").unlink()
    with pytest.raises(DataError, match=r"ml-100k\.item: not found"):
        load("movielens_100k", path=str(tmp_path / "a"))
    with pytest.raises(DataError, match=r"ml-100k\.inter, row 3: has 3 tab-separated fields"):
        load("movielens_100k", path=str(write_folder(
            tmp_path / "b", inter=INTER.replace("3\t10\t3\t891717742", "3\t10\t3"))))
    with pytest.raises(DataError, match=r"column 'rating', row 5: rating 6 is not 1-5"):
        load("movielens_100k", path=str(write_folder(
            tmp_path / "c", inter=INTER.replace("5\t11\t1", "5\t11\t6"))))
    with pytest.raises(DataError, match=r"column 'rating', row 2: 'five' is not a whole"):
        load("movielens_100k", path=str(write_folder(
            tmp_path / "d", inter=INTER.replace("7\t12\t5", "7\t12\tfive"))))
    with pytest.raises(DataError, match=r"has no 'occupation' column"):
        load("movielens_100k", side_features=True, path=str(write_folder(
            tmp_path / "e", user=USER.replace("occupation:token", "job:token"))))


def test_the_made_up_sample_parses_like_the_files(tmp_path: Path) -> None:
    texts = movielens.sample_texts(3)
    write_folder(tmp_path, texts["inter"], texts["user"], texts["item"])
    from_files = load("movielens_100k", 3, path=str(tmp_path), side_features=True)
    sample = load("movielens_100k", 3, sample=True, side_features=True)
    for key in from_files.x:
        assert np.array_equal(from_files.x[key], sample.x[key])
    assert np.array_equal(from_files.targets["rating"], sample.targets["rating"])
    assert set(np.unique(sample.targets["rating"])) == {1.0, 2.0, 3.0, 4.0, 5.0}
    assert "not MovieLens" in sample.spec.source


def test_no_movielens_file_is_in_the_repository() -> None:
    for folder in ("mtl_engine", "tests", "scripts", "presets", "docs"):
        assert not list((ROOT / folder).rglob("ml-100k.*")), folder


# ----------------------------------------------------------------------------- clothing reviews


def test_word_tokeniser_by_hand() -> None:
    assert word_tokens.words("It's a GREAT dress,isn't it? 5'8\" -- 100%") == [
        "it's", "a", "great", "dress", "isn't", "it", "5", "8", "100"]
    vocab = word_tokens.vocabulary(["b a c", "a b", "d a"], 4)
    assert vocab == ["<pad>", "<unk>", "a", "b"]  # a: 3, b: 2, c: 1, d: 1
    index = word_tokens.index_of(vocab)
    assert word_tokens.encode("B z a", index, 5) == [3, 1, 2, 0, 0]
    assert word_tokens.encode("a a a a", index, 2) == [2, 2]
    assert word_tokens.vocabulary(["d c"], 4) == ["<pad>", "<unk>", "c", "d"]  # ties: a-z


def test_shipped_reviews_file() -> None:
    path = ROOT / "mtl_engine" / "data" / "files" / "clothing_reviews.npz"
    assert path.stat().st_size < 3_000_000
    ds = load("clothing_reviews")
    text = ds.x["text"]
    (spec,) = ds.spec.inputs
    assert (spec.name, spec.kind, spec.dtype, spec.vocab, spec.padding_idx) == (
        "text", "tokens", "int64", 5000, 0)
    assert text.shape == (8000, 128) and text.dtype == np.int64
    assert text.min() == 0 and text.max() == 4999
    real = text != 0
    assert real[:, 0].all() and (real[:, 1:] <= real[:, :-1]).all()  # right-padded
    assert ds.spec.task("department").class_names == (
        "Bottoms", "Dresses", "Intimate", "Jackets", "Tops", "Trend")
    assert np.bincount(ds.targets["rating"]).tolist()[4] > 4000  # five stars: over half
    assert 0.75 < ds.targets["recommended"].mean() < 0.87
    # recommended follows the rating: almost every 5-star review recommends, few 1-2 stars do
    r, rec = ds.targets["rating"], ds.targets["recommended"]
    assert rec[r == 4].mean() > 0.95 and rec[r <= 1].mean() < 0.2


def test_bag_of_words_counts_each_row_s_words() -> None:
    tokens = load("clothing_reviews", n_samples=60).x["text"]
    bow = load("clothing_reviews", n_samples=60, view="bow")
    assert bow.x.shape == (60, 4999) and bow.x.dtype == np.float32
    assert bow.spec.inputs == () and bow.feature_names[:2] == ("<unk>", "the")
    for k in (0, 17, 59):
        counts = Counter(int(t) for t in tokens[k] if t != 0)
        expected = np.zeros(4999, np.float32)
        for token, c in counts.items():
            expected[token - 1] = c
        assert np.array_equal(bow.x[k], expected)
    assert bow.targets["rating"].tolist() == load(
        "clothing_reviews", n_samples=60).targets["rating"].tolist()


def test_max_length_keeps_the_first_tokens() -> None:
    full = load("clothing_reviews", n_samples=50).x["text"]
    short = load("clothing_reviews", n_samples=50, max_length=10)
    assert short.spec.inputs[0].shape == (10,)
    assert np.array_equal(short.x["text"], full[:, :10])


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "convert_clothing_reviews", ROOT / "scripts" / "convert_clothing_reviews.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_conversion_script_on_a_hand_made_table() -> None:
    table = {
        "Review Text": ["Love it, love it!", None, "Too small.", "Nice", "  ", "Love the fit"],
        "Department Name": ["Tops", "Tops", "Dresses", None, "Tops", "Dresses"],
        "Rating": [5, 4, 2, 5, 3, 4],
        "Recommended IND": [1, 1, 0, 1, 1, 1],
    }
    out = _script().convert(table, 3, 5, 4)  # rows 0, 2, 5 are the only usable ones
    assert out["row"].tolist() == [0, 2, 5]
    assert out["vocab"].tolist() == ["<pad>", "<unk>", "love", "it", "fit"]
    assert out["tokens"].tolist() == [[2, 3, 2, 3], [1, 1, 0, 0], [2, 1, 4, 0]]
    assert out["departments"].tolist() == ["Dresses", "Tops"]
    assert out["department"].tolist() == [1, 0, 0]
    assert out["rating"].tolist() == [5, 2, 4] and out["recommended"].tolist() == [1, 0, 1]
