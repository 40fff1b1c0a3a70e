"""The generated registry catalogue (mtl_engine/catalogue.py, catalogue.json): exact, fresh, and
enough to list and validate without importing torch."""

from __future__ import annotations

import enum
import json
import shutil
import subprocess
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import pytest

from mtl_engine import catalogue, catalogue_read
from mtl_engine.catalogue import WRITE_COMMAND, NotPlain, encode, encode_fact
from mtl_engine.catalogue_read import Unloaded, decode
from mtl_engine.registry import ALL, Param

STALE = f"catalogue.json is stale: run {WRITE_COMMAND}"


class _Colour(enum.Enum):
    RED = "red"


def _same(a: Any, b: Any) -> bool:
    """Equal in value and in type, all the way down (1 is not 1.0 is not True, () is not [])."""
    if isinstance(a, Unloaded) or isinstance(b, Unloaded):
        return False
    if type(a) is not type(b):
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    return a == b


def _fresh(code: str) -> dict[str, Any]:
    """Run `code` in a new interpreter; it prints one JSON object last."""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.splitlines()[-1])


def _live_registries() -> dict[str, Any]:
    return {key: reg.load() for key, reg in ALL.items()}


# -- the encoding ------------------------------------------------------------------------------
def test_encoding_tags_tuples_and_round_trips_exactly_in_type() -> None:
    value = {"a": (1, 2.0, [True, None, ("x",)]), "b": [1.0, 0], "c": {"d": ()}}
    assert encode(value) == {"a": {"__tuple__": [1, 2.0, [True, None, {"__tuple__": ["x"]}]]},
                             "b": [1.0, 0], "c": {"d": {"__tuple__": []}}}
    back = decode(json.loads(json.dumps(encode(value))))
    assert _same(back, value)
    assert not _same(decode(json.loads(json.dumps(encode([1])))), [1.0])  # the check can fail


def test_values_that_are_not_plain_data_are_named_not_stored() -> None:
    assert encode_fact(_same) == {"__object__": f"{__name__}._same"}
    unloaded = decode({"__object__": "m.f"})
    assert isinstance(unloaded, Unloaded) and unloaded.name == "m.f"
    with pytest.raises(NotPlain):
        encode(_same)
    with pytest.raises(NotPlain):  # would read back as a tuple
        encode({"__tuple__": [1]})
    with pytest.raises(NotPlain):
        encode({1: "a"})
    with pytest.raises(NotPlain):  # would read back as a plain str
        encode(_Colour.RED)


# -- the shipped file --------------------------------------------------------------------------
def test_shipped_catalogue_reads_back_every_entry_exactly() -> None:
    shipped = catalogue_read.read()
    assert shipped, STALE
    for key, reg in _live_registries().items():
        record = shipped[(reg.kind, reg.package)]
        for data in record["entries"]:
            entry = reg.get(data["name"])
            where = f"{key}.{entry.name}"
            assert (data["summary"], data["paper"]) == (entry.summary, entry.paper), where
            assert len(data["params"]) == len(entry.params), where
            for got, p in zip(data["params"], entry.params):
                for f in fields(Param):
                    assert _same(got[f.name], getattr(p, f.name)), f"{where}.{p.name}.{f.name}"
            assert list(data["meta"]) == list(entry.meta), where
            for fact, value in entry.meta.items():
                stored = data["meta"][fact]
                if isinstance(stored, Unloaded):  # not plain data: fetched from the live entry
                    assert stored.name == catalogue.name_of(value), f"{where}.{fact}"
                    with pytest.raises(NotPlain):
                        encode(value)
                else:
                    assert _same(stored, value), f"{where}.{fact}"


def test_a_stale_or_damaged_catalogue_is_not_used(tmp_path: Path) -> None:
    good = json.loads(catalogue_read.FILE.read_text(encoding="utf-8"))
    copy = tmp_path / "catalogue.json"
    shutil.copy(catalogue_read.FILE, copy)
    assert catalogue_read.read(copy), STALE
    first = next(iter(good["sources"]["files"]))
    good["sources"]["files"][first] = "0" * 16  # as if that file changed since --write
    copy.write_text(json.dumps(good), encoding="utf-8")
    assert catalogue_read.read(copy) == {}
    assert any(first in p for p in catalogue.check(copy))
    copy.write_text("{not json", encoding="utf-8")
    assert catalogue_read.read(copy) == {}
    assert catalogue_read.read(tmp_path / "absent.json") == {}


def test_check_names_what_changed(tmp_path: Path) -> None:
    data = json.loads(catalogue_read.FILE.read_text(encoding="utf-8"))
    strategies = data["registries"]["strategies"]["entries"]
    strategies[:] = [e for e in strategies if e["name"] != "pcgrad"]
    data["registries"]["metrics"]["entries"][0]["summary"] = "edited"
    first_metric = data["registries"]["metrics"]["entries"][0]["name"]
    copy = tmp_path / "catalogue.json"
    copy.write_text(json.dumps(data), encoding="utf-8")
    problems = catalogue.check(copy)
    assert "strategies: +pcgrad" in problems
    assert f"metrics: ~{first_metric}" in problems


# -- serving from it, in a fresh interpreter ---------------------------------------------------
_FRESH = """
import contextlib, io, json, sys
from mtl_engine.cli import list_registries, main
out = {}
for argv in (["--list"], ["--list", "strategies"]):  # mtl-run --list, served from the catalogue
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        out[" ".join(argv) + " rc"] = main(argv)
    out[" ".join(argv)] = buf.getvalue()
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(["--help"])
    except SystemExit as exit:
        out["help rc"] = exit.code
out["cli modules"] = [m for m in ("torch", "torch.optim", "numpy") if m in sys.modules]

from mtl_engine.errors import UnknownNameError
from mtl_engine.presets import load
from mtl_engine.registry import ALL, LAYERS, LOSSES, OPTIMIZERS, SCHEDULES, STRATEGIES
load("digits_cascade")  # a whole preset validated
entry = STRATEGIES.get("pcgrad")
out["type"] = type(entry).__name__
out["listed"] = [len(STRATEGIES) > 20, "linear" in LAYERS, "sgd" in OPTIMIZERS.names(),
                 STRATEGIES.where("family", entry.meta["family"]).count("pcgrad") == 1]
out["plain_fact"] = list(LOSSES.get("bce").meta["task_types"])
out["torch_before"] = "torch" in sys.modules

obj, ptype = entry.obj, entry.params_type  # now the package loads
real = STRATEGIES._entries["pcgrad"]
out["real"] = [obj is real.obj, ptype is real.params_type, type(real).__name__,
               type(STRATEGIES.get("pcgrad")).__name__]
out["fused"] = LOSSES.get("bce").meta["fused"] is LOSSES._entries["bce"].meta["fused"]
out["kwargs"] = OPTIMIZERS.facts["kwargs"] is OPTIMIZERS._facts["kwargs"]
out["torch_after"] = "torch" in sys.modules
try:
    SCHEDULES.get("cosin", "optimizer.schedule.name")
except UnknownNameError as exc:
    out["unknown"] = str(exc)

from mtl_engine import catalogue
out["check"] = catalogue.check()  # the shipped file against every live registry
for kind in ("all", "strategies"):  # what the live registries list, every package loaded
    assert all(r.load() for r in ALL.values())
    buf = io.StringIO()
    list_registries(kind, buf)
    out["live " + kind] = buf.getvalue()
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def fresh() -> dict[str, Any]:
    """What a new interpreter sees, serving from the catalogue and then loading."""
    return _fresh(_FRESH)


def test_shipped_catalogue_equals_the_live_registries(fresh: dict[str, Any]) -> None:
    # Checked in the fresh interpreter, as `--check` runs: here other tests may have
    # registered test-only entries.
    problems = fresh["check"]
    assert not problems, f"{STALE} ({'; '.join(problems)})"


def test_mtl_run_list_and_help_import_no_torch_and_list_the_live_registries(
        fresh: dict[str, Any]) -> None:
    assert fresh["cli modules"] == [], STALE
    for kind, argv in (("all", "--list"), ("strategies", "--list strategies")):
        assert fresh[argv] == fresh["live " + kind], argv
        assert fresh[argv + " rc"] == 0
    assert fresh["live all"].startswith("strategies:\n") and "  pcgrad " in fresh["live all"]
    assert fresh["help rc"] == 0


def test_listing_and_validating_import_no_torch(fresh: dict[str, Any]) -> None:
    assert fresh["type"] == "CatalogueEntry", STALE
    assert fresh["listed"] == [True, True, True, True]
    assert fresh["plain_fact"] == ["binary"]
    assert fresh["torch_before"] is False


def test_a_served_entry_hands_the_real_objects(fresh: dict[str, Any]) -> None:
    assert fresh["real"] == [True, True, "Entry", "Entry"]  # later gets hand the real entry
    assert fresh["fused"] is True and fresh["kwargs"] is True
    assert fresh["torch_after"] is True


def test_an_unknown_name_still_gets_suggestions(fresh: dict[str, Any]) -> None:
    assert fresh["unknown"].startswith(
        "optimizer.schedule.name: unknown lr schedule 'cosin'. Did you mean 'cosine'?")


_MISSING = """
import json, sys
from mtl_engine import catalogue_read
from mtl_engine.registry import LOSSES, METRICS
records = catalogue_read.records()
key = (LOSSES.kind, LOSSES.package)
record = dict(records[key])
record["entries"] = [e for e in record["entries"] if e["name"] != "huber"]
records[key] = record  # as if huber were added after the last --write
out = {"listed": "huber" in LOSSES.names(), "loaded": "mtl_engine.losses" in sys.modules}
out["found"] = [LOSSES.get("huber").name, type(LOSSES.get("huber")).__name__,
                "huber" in LOSSES.names(), "mtl_engine.losses" in sys.modules]
# served from the catalogue, then an entry registered by hand
out["metrics before"] = [type(METRICS.get("accuracy")).__name__,
                         "mtl_engine.metrics" in sys.modules]
METRICS.register("_by_hand", "registered after the catalogue was read",
                 higher_is_better=False)(len)
hand = METRICS.get("_by_hand")
out["by_hand"] = [METRICS.names()[-1], hand.obj is len, type(hand).__name__,
                  dict(hand.meta) == {**METRICS.facts, "higher_is_better": False},
                  type(METRICS.get("accuracy")).__name__]
print(json.dumps(out))
"""


def test_a_name_missing_from_the_catalogue_is_found_in_the_package() -> None:
    out = _fresh(_MISSING)
    assert (out["listed"], out["loaded"]) == (False, False), STALE
    assert out["found"] == ["huber", "Entry", True, True]
    assert out["metrics before"] == ["CatalogueEntry", False]
    # registering loads the package first: the entry gets the declared facts' defaults
    assert out["by_hand"] == ["_by_hand", True, "Entry", True, "Entry"]
