"""How long a study will roughly take: its runs times the setup's measured steps per second,
spread over the workers. No Qt here."""

from __future__ import annotations

from typing import Any

IGNORED = ("name", "description")


def _setup(config: dict[str, Any]) -> dict[str, Any]:
    d = {k: v for k, v in config.items() if k not in IGNORED}
    d["training"] = {k: v for k, v in (d.get("training") or {}).items() if k != "seed"}
    return d


def measured_rate(draft: dict[str, Any], runs: list[Any]) -> tuple[float, int, Any] | None:
    """(steps per second, steps per run, the run measured) from the newest session run of this
    setup (any seed) that reported a speed; None when there is none."""
    want = _setup(draft)
    for entry in reversed(runs):
        h = entry.history
        batch = int((entry.config.get("training") or {}).get("batch_size", 0) or 0)
        if h.samples_per_sec > 0 and batch > 0 and h.total_steps and _setup(entry.config) == want:
            return h.samples_per_sec / batch, int(h.total_steps), entry
    return None


def duration_text(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def estimate(n_runs: int, workers: int | None, rate: tuple[float, int, Any] | None) -> str:
    if rate is None:
        return ("Duration: unknown (run this setup once in the main window to measure its "
                "speed).")
    steps_per_sec, steps, entry = rate
    parallel = max(1, min(workers or 1, n_runs))
    seconds = n_runs * steps / steps_per_sec / parallel
    return (f"Duration: roughly {duration_text(seconds)} of training ({n_runs} runs \u00d7 "
            f"{steps} steps at {steps_per_sec:.0f} steps/s measured in {entry.label}, "
            f"{parallel} at a time), plus a few seconds of start-up.")
