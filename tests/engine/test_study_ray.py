"""The Ray executor on a real local Ray instance (no mock): `mtl-study --ray` as a user runs it,
a failing run among good ones, the same numbers as in one process, and resuming."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from mtl_engine.study import run_study
from tests.engine.study_helpers import read_csv, write_study
from tests.engine.test_study_run import BLOW_UP

pytest.importorskip("ray", reason="Ray is an optional extra: pip install -e '.[ray]'")


def test_mtl_study_on_a_local_ray_instance(tmp_path):
    path = write_study(tmp_path, {"name": "ray", "seeds": [0],
                                  "grid": {"strategy.name": ["equal", "mgda"]},
                                  "variants": [{}, BLOW_UP]})
    list(run_study(path, tmp_path / "inline", workers=0))
    out = tmp_path / "ray"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    cmd = [sys.executable, "-m", "mtl_engine.study.cli", str(path), "--out", str(out),
           "--ray", "--quiet"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 1, proc.stderr  # two runs diverge; the others complete
    assert "ray (a local instance)" in proc.stderr
    inline = {r["key"]: r for r in read_csv(tmp_path / "inline" / "summary.csv")}
    remote = {r["key"]: r for r in read_csv(out / "summary.csv")}
    assert inline.keys() == remote.keys() and len(remote) == 6
    statuses = sorted(r["status"] for r in remote.values())
    assert statuses == ["completed"] * 4 + ["failed"] * 2
    for key, r in remote.items():
        assert r["status"] == inline[key]["status"]
        assert r["val/parity/accuracy"] == inline[key]["val/parity/accuracy"]
        assert r["delta_m"] == inline[key]["delta_m"]
        folder = out / "runs" / key
        assert not (folder / "INCOMPLETE").exists()  # the files came back whole
        assert f'"run":"{key}"' in (folder / "events.jsonl").read_text()
        if r["status"] == "completed":
            assert (folder / "model.pt").stat().st_size > 0
    again = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert "4 already done" in again.stderr, again.stderr
    assert again.returncode == 1  # the two that diverge are tried again, and fail again
    assert [r["status"] for r in read_csv(out / "summary.csv")].count("completed") == 4
