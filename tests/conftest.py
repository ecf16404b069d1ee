"""Shared fixtures: paths of the course, the chapters, and tools that CI must have."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

# nbgrader and jupyter-book start programs by name; they must come from this environment.
os.environ["PATH"] = f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

#: Every chapter key that has an exercise notebook, e.g. ``ch01_learning_from_data``.
ASSIGNMENTS = sorted(p.name for p in (ROOT / "solutions").glob("ch*_*") if p.is_dir())


def solution_path(key: str) -> Path:
    return ROOT / "solutions" / key / f"{key}.ipynb"


def release_path(key: str) -> Path:
    return ROOT / "notebooks" / key / f"{key}.ipynb"


def unavailable(message: str, *, required_in_ci: bool = True) -> None:
    """Skip a test whose tool or feature is missing here; fail instead in CI, where it must exist."""
    if required_in_ci and os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def require(program: str) -> str:
    """Return the path of ``program``; skip when it is missing, but fail in CI where it must exist."""
    path = shutil.which(program)
    if path is None:
        unavailable(f"{program} is not installed (.ci/run installs it)")
    return path


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT
