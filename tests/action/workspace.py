"""A checkout of this repository as a workflow's job has it: the config, the example
workflows and action.yml (the examples run the action as `uses: ./`, which is this action
only in its own repository), committed on main."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def own_checkout(tmp_path: Path) -> Path:
    workspace = tmp_path / "workspace"
    (workspace / ".github" / "workflows").mkdir(parents=True)
    shutil.copy(ROOT / ".github" / "ci-reviewer.yml", workspace / ".github" / "ci-reviewer.yml")
    for example in (ROOT / ".github" / "workflows").glob("ci-reviewer-*.yml"):
        shutil.copy(example, workspace / ".github" / "workflows" / example.name)
    shutil.copy(ROOT / "action.yml", workspace / "action.yml")
    subprocess.run(["git", "init", "-q", "-b", "main", str(workspace)], check=True)
    subprocess.run(["git", "-C", str(workspace), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(workspace), "commit", "-qm", "setup"], check=True)
    return workspace
