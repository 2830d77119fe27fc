"""The action as a runner checks it out, and the runner's temp directory its steps share."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def runner_temp(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the runs, as one job's steps share RUNNER_TEMP: the action's venv is created
    # once and reused by every later run.
    return tmp_path_factory.mktemp("runner-temp")


@pytest.fixture(scope="session")
def action_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The action as `uses:` checks it out: the repository's files, without build litter."""
    target = tmp_path_factory.mktemp("action") / "claude-ci-reviewer"
    ignore = shutil.ignore_patterns(
        ".git", ".ci-cache", ".venv", "*.egg-info", "__pycache__", "build", ".*_cache"
    )
    shutil.copytree(ROOT, target, ignore=ignore)
    return target
