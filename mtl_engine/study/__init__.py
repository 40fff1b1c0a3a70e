"""Studies: many runs (strategies / sharing schemes / any config field, x seeds, with single-task
baselines) run on every local core or a Ray cluster, summarised with Δm% against the baselines.

    study.yaml -> expand (grid x variants x seeds + baselines) -> RunSpec(key, config)
    executor (this process | local worker processes | Ray tasks) -> runs/<key>/ per run
    -> summary.csv, table.csv, table.md

See spec.py (the file), expand.py (keys and baselines), executors.py / ray_executor.py,
runner.py (resuming) and summary.py (Δm% and the tables).
"""

from __future__ import annotations

from .executor_choice import make_executor
from .executors import InlineExecutor, Job, LocalPool
from .expand import Expansion, RunSpec, expand, run_key
from .runner import STUDY_FILE, plan, run_study, summarize_folder, with_epochs
from .spec import Study, load_study, study_from_dict
from .summary import SUMMARY_FILE, TABLE_FILE, TABLE_MD, RunResult, delta_m

__all__ = [
    "STUDY_FILE", "SUMMARY_FILE", "TABLE_FILE", "TABLE_MD", "Expansion", "InlineExecutor", "Job",
    "LocalPool", "RunResult", "RunSpec", "Study", "delta_m", "expand", "load_study",
    "make_executor", "plan", "run_key", "run_study", "study_from_dict", "summarize_folder",
    "with_epochs",
]
