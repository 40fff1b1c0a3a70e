"""The Study window: build a study from the current setup, watch its runs, read its answer."""

from __future__ import annotations

from .window import StudyWindow, is_study_folder

__all__ = ["StudyWindow", "is_study_folder"]
