"""Run from a directory that is no git checkout, with no credentials in the environment, a
command says so first (exit 2), not that a key, a token or a job is missing: the directory
is the one thing to fix, and a newcomer who fixed the key would only meet the next error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# (arguments, whether a config naming the job is passed): with it, a batch command used to
# stop at the missing key; without it, at "no job named 'nightly'".
COMMANDS = [
    (["review"], False),
    (["review", "--dry-run"], False),
    (["review", "--local", "--base", "HEAD~1"], False),
    (["batch", "submit", "--job", "nightly"], False),
    (["batch", "submit", "--job", "nightly"], True),
    (["batch", "submit", "--job", "nightly", "--dry-run"], True),
    (["batch", "run", "--job", "nightly"], True),
    (["batch", "run", "--job", "nightly", "--dry-run"], True),
    (["batch", "collect", "--job", "nightly"], True),
    (["plan"], False),
]


def _run(args: list[str], cwd: Path, home: Path) -> subprocess.CompletedProcess[str]:
    # A fresh environment: no ANTHROPIC_API_KEY, GITHUB_TOKEN or GITHUB_REPOSITORY at all.
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "PYTHONPATH": str(ROOT),
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CEILING_DIRECTORIES": str(cwd.parent),
    }
    return subprocess.run(
        [sys.executable, "-m", "ci_reviewer", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "with_config"),
    COMMANDS,
    ids=[" ".join(args) + (" --config" if config else "") for args, config in COMMANDS],
)
def test_outside_a_checkout_the_error_is_about_git(
    args: list[str], with_config: bool, tmp_path: Path
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    extra: list[str] = []
    if with_config:
        config = tmp_path / "ci-reviewer.yml"
        config.write_text("jobs:\n  nightly:\n    kind: report\n")
        extra = ["--config", str(config)]

    done = _run(args + extra, empty, tmp_path)

    assert done.returncode == 2, done.stderr
    first = done.stderr.splitlines()[0]
    assert first == "error: . is not a git checkout"
    assert "ANTHROPIC_API_KEY" not in done.stderr and "GITHUB_TOKEN" not in done.stderr
    assert "no job named" not in done.stderr
    assert list(empty.iterdir()) == []  # and it left nothing behind
