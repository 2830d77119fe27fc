"""The import context of the security-audit and test-generation kinds costs the same per
file however large the repository: the tracked files are listed by git once per run and
indexed once per run, whatever the number of files (a set of them rebuilt for every
request made a 40,000-file audit take minutes). Proven on a real `batch submit --dry-run`
subprocess: git's invocations are logged by a wrapper on PATH, and the index builds are
counted by the interpreter's own profiler, at N and 2N files."""

from __future__ import annotations

import json
import os
import pstats
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.batch.conftest import commit_files, git

CONFIG = """
jobs:
  audit:
    kind: security-audit
    since: all
    include: ["pkg/**"]
    output: sarif
  tests:
    kind: test-generation
    since: all
    include: ["pkg/**"]
"""


def _modules(count: int) -> dict[str, str]:
    """Modules that each import the next two (so every request attaches context)."""
    return {
        f"pkg/m{i}.py": f"from pkg import m{(i + 1) % count}\nimport pkg.m{(i + 2) % count}\n"
        f"\n\ndef f{i}(x):\n    return x + {i}\n"
        for i in range(count)
    }


def _checkout(root: Path, count: int) -> Path:
    repo = root / f"repo{count}"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_files(repo, {".github/ci-reviewer.yml": CONFIG, **_modules(count)}, "modules")
    return repo


def _git_logger(root: Path) -> tuple[Path, Path]:
    """A `git` on PATH that logs its arguments, then runs the real git."""
    real = shutil.which("git")
    assert real is not None
    folder, log = root / "bin", root / "git.log"
    folder.mkdir(exist_ok=True)
    wrapper = folder / "git"
    wrapper.write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real}" "$@"\n')
    wrapper.chmod(0o755)
    return folder, log


def _dry_run(repo: Path, job: str, root: Path) -> tuple[list[str], int, list[str]]:
    """(git invocations, TrackedIndex builds, request lines) of one dry run."""
    folder, log = _git_logger(root)
    log.unlink(missing_ok=True)
    profile, requests = root / f"{repo.name}-{job}.prof", root / f"{repo.name}-{job}.jsonl"
    command = [sys.executable, "-m", "cProfile", "-o", str(profile), "-m", "ci_reviewer",
               "--workdir", str(repo), "batch", "submit", "--dry-run", "--job", job,
               "--state-dir", str(root / "state"), "--requests-file", str(requests)]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ANTHROPIC_"))}
    env["PATH"] = f"{folder}{os.pathsep}{env.get('PATH', '')}"
    done = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    builds = sum(
        calls[1]
        for (filename, _, name), calls in pstats.Stats(str(profile)).stats.items()  # type: ignore[attr-defined]
        if filename.endswith("imports.py") and name == "of"
    )
    return log.read_text().splitlines(), builds, requests.read_text().splitlines()


def _asked(line: str) -> tuple[str, str]:
    """(path, whole message text) of one request line."""
    request = json.loads(line)
    content = request["params"]["messages"][0]["content"]
    text = content if isinstance(content, str) else "".join(b["text"] for b in content)
    own = content if isinstance(content, str) else content[-1]["text"]
    asked = re.search(r"(?:Audit|Write tests for) (pkg/m\d+\.py)\.", own)
    assert asked is not None, own
    return asked.group(1), text


@pytest.mark.parametrize("job", ["audit", "tests"])
def test_the_tracked_files_are_listed_and_indexed_once_per_run(tmp_path: Path, job: str) -> None:
    runs = {count: _dry_run(_checkout(tmp_path, count), job, tmp_path) for count in (20, 40)}

    for count, (calls, builds, lines) in runs.items():
        assert len(lines) == count
        # Every request carries its two imports: the index is used, not bypassed. Each module
        # is imported by two files of pkg/, so it travels in the context pkg/ shares.
        for line in lines:
            path, text = _asked(line)
            i = int(path.removeprefix("pkg/m").removesuffix(".py"))
            for imported in ((i + 1) % count, (i + 2) % count):
                assert f'<imported path="pkg/m{imported}.py"' in text
        assert sum(1 for call in calls if " ls-files" in f" {call}") == 1, calls
        assert builds == 1
    # No git call per file: doubling the repository calls git exactly as often.
    assert len(runs[20][0]) == len(runs[40][0])
