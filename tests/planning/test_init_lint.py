"""What `init` writes passes the linters the project's own CI runs on its workflows
(`actionlint`, `zizmor --offline`), in a freshly initialised repository."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.planning.conftest import Outcome

BIN = Path(sys.executable).parent


def _init(tmp_path: Path, run_cli: Callable[..., Outcome], *options: str) -> Path:
    repo = tmp_path / "fresh"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    assert run_cli("init", "--workdir", str(repo), *options).code == 0
    return repo


def _lint(tool: str, repo: Path) -> subprocess.CompletedProcess[str]:
    workflows = sorted(str(p) for p in (repo / ".github/workflows").glob("*.yml"))
    command = {
        "actionlint": [str(BIN / "actionlint"), "-no-color", *workflows],
        "zizmor": [str(BIN / "zizmor"), "--offline", "--no-progress", str(repo)],
    }[tool]
    return subprocess.run(command, capture_output=True, text=True, cwd=repo, check=False)


@pytest.mark.parametrize("tool", ["actionlint", "zizmor"])
@pytest.mark.parametrize("options", [(), ("--action-ref", "3f" * 20)], ids=["default", "pinned"])
def test_init_output_lints_clean(
    tool: str, options: tuple[str, ...], tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = _lint(tool, _init(tmp_path, run_cli, *options))
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_reports_an_action_ref_that_is_a_tag(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    """The lint above can fail: a tag instead of a commit is what zizmor exists to catch."""
    done = _lint("zizmor", _init(tmp_path, run_cli, "--action-ref", "v1"))
    assert done.returncode != 0
    assert "unpinned-uses" in done.stdout
    assert done.stdout.count("claude-ci-reviewer/claude-ci-reviewer@v1") == 5
