"""benchmarks/bench_all.py's summary: each figure read from its benchmark's output, the worst
row picked, and held to its goal."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

SPEC = importlib.util.spec_from_file_location(
    "bench_all", Path(__file__).resolve().parent.parent / "benchmarks" / "bench_all.py")
bench_all = importlib.util.module_from_spec(SPEC)
sys.modules.setdefault("bench_all", bench_all)  # its dataclass looks itself up there
SPEC.loader.exec_module(bench_all)

ENGINE = """\
preset                   batch epochs    plain    fused   engine  e/plain  e/fused  cpu e/p  cpu e/f
digits_cascade              64     15   109770   132901   122551    1.121    0.922    1.121    0.922
penguins_mixed              32      8    70560    69181    71016    1.006    1.027    1.001    1.020
"""

GRADIENTS = """\
# bench_gradients on CPU: x86_64, 2 cores, torch 2.13.0+cpu, 1 torch thread(s)
preset           method      engine   libmtl  torchjd libmtl/eng torchjd/eng
multimnist_mgda  upgrad       12.19    11.79    16.07       0.97        1.32
digits_cascade   upgrad        1.15     1.23      n/a       1.06 n/a (RuntimeError)
  T      P engine ms blocks/eng autojac/eng autogram/eng | mem engine blocks engine+G ...
  2   9936   1.08   0.96   1.10   1.83 |   1.03   0.31   0.62   2.22   0.36
 40 998911 114.84   2.49   0.94   3.10 |   0.15   1.08   1.95   1.93   1.87
T =  2: ours       46 us  quadprog       18 us  ours / quadprog  2.56  max diff 6.9e-18
T = 40: ours     1280 us  quadprog     2847 us  ours / quadprog  0.45  max diff 1.8e-17
"""

GUI = """\
| GUI / headless, median of 7 pair ratios | **0.942** | >= 0.95 |
| event-loop gap, 99th percentile (all GUI runs) | **12.9 ms** | < 30 ms |
| redraws whose visible plots' x ranges differed | 0 of 15 | 0 |
"""


def _by_label(rows):
    return {label: (value, met) for label, value, _goal, met in rows}


def test_engine_summary_takes_the_lowest_preset() -> None:
    rows = _by_label(bench_all.engine_figures(ENGINE))
    assert rows["engine / plain loop, lowest preset"] == ("1.006 (penguins_mixed)", True)
    assert rows["engine / fused loop, lowest preset"] == ("0.922 (digits_cascade)", False)


def test_gradient_summary_reads_pipeline_grid_and_projector() -> None:
    rows = _by_label(bench_all.gradient_figures(GRADIENTS))
    assert rows["LibMTL-style / engine, lowest preset x method"] == (
        "0.97 (multimnist_mgda, upgrad)", True)
    assert rows["torchjd / engine, lowest preset x method"] == (
        "1.32 (multimnist_mgda, upgrad)", True)  # the n/a row is left out
    assert rows["grid: torchjd autojac / engine, lowest cell"] == (
        "0.94 (T = 40, P = 998911)", False)
    assert rows["grid: peak above EW in G, P >= 1e5, highest cell"] == ("0.15 (T = 40)", True)
    assert rows["grid: peak above EW in G, P = 1e4, highest cell"] == ("1.03 (T = 2)", True)
    assert rows["projector ours / quadprog at T = 40"] == ("0.45", True)


def test_gui_summary_and_a_missing_output() -> None:
    rows = _by_label(bench_all.gui_figures(GUI))
    assert rows["GUI attached / headless"] == ("0.942", False)
    assert rows["event-loop stall p99 (ms)"] == ("12.9", True)
    assert rows["redraws with plots' x ranges apart"] == ("0 of 15", True)
    assert bench_all.startup_figures("Traceback (most recent call last):") == []
