"""Dataset specs shared by the model and sharing tests: shapes only, no data behind them."""

from __future__ import annotations

from mtl_engine.data.base import DatasetSpec, DataTask

# A flat (6,) input with one task of each type. config.from_dict checks the dataset's name only
# (the tests name "digits"); summarize / build_model take the shapes from this spec.
FLAT = DatasetSpec("flat", (6,), (
    DataTask("a", "classification", 3),
    DataTask("b", "binary", 2, loss="bce", metric="accuracy"),
    DataTask("c", "regression", 1, loss="mse", metric="mse"),
), 10)
