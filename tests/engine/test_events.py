"""Events are plain data and survive a JSON round trip exactly."""

from __future__ import annotations

import json

from mtl_engine.events import (
    EpochEnded,
    GradientsMeasured,
    RunFailed,
    RunStarted,
    StepsLogged,
    TaskInfo,
    from_json,
    to_json,
)


def test_json_round_trip_of_every_kind() -> None:
    events = [
        RunStarted({"name": "x"}, (TaskInfo("a", "binary", 2, "bce", "accuracy", True,
                                            ("accuracy", "f1")),), {"shared": 3, "total": 3},
                   "cpu", 10, 20, 100, 25, ({"where": "trunk[0]", "out_shape": (4,)},), 1.5),
        StepsLogged((0, 1), 0, (0.1, 0.2), {"a": (1.0, 0.5)}, {"a": (1.0, 1.0)},
                    {"a": (1.0, 0.5)}, (1.0, 0.5), (0.01, 0.01), {"soft": (0.1, 0.2)}, 99.0),
        EpochEnded(1, 10, {"a": 0.7}, {"a": 0.8}, {"a": {"accuracy": 0.5}}, 0.5, 1.0, 100.0),
        GradientsMeasured(4, 0, "shared", {"a": 1.0, "b": 2.0}, ((1.0, -0.5), (-0.5, 1.0)),
                          {"a": 0.3, "b": 0.9}, ("a", "b")),
        RunFailed("DivergedError", "loss of task 'a' became nan", "", 6, 0, "a", 5),
    ]
    for e in events:
        line = to_json(e)
        assert "\n" not in line
        assert json.loads(line)["event"] == e.kind
        assert from_json(line) == e


def test_nan_values_survive() -> None:
    e = StepsLogged((0,), 0, (0.0,), {"a": (float("nan"),)}, {"a": (1.0,)}, {"a": (1.0,)},
                    (1.0,), (0.1,))
    back = from_json(to_json(e))
    assert back.losses["a"][0] != back.losses["a"][0]
