"""A repository on the emulated GitHub and Claude, and `ci-reviewer doctor` run on it as a
user runs it: a real subprocess with the credentials in its environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator

ROOT = Path(__file__).resolve().parents[2]
SHA = "3f" * 20
# The review and two jobs: an audit looking back 7 days (an issue) and test generation
# (a pull request). No Claude retries: a refused or failing call is answered at once.
CONFIG = """\
review:
  max_retries: 0
jobs:
  weekly-audit:
    kind: security-audit
    sla_hours: 194
    since: 7d
  nightly-tests:
    kind: test-generation
"""
AUDIT_WORKFLOW = f"""\
name: audit
on:
  schedule:
    - cron: "0 5 * * 1"
permissions: {{}}
jobs:
  audit:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      issues: write
    steps:
      - uses: actions/checkout@{SHA}
        with:
          fetch-depth: 0
          persist-credentials: false
      - uses: octo/claude-ci-reviewer@{SHA}
        with:
          command: batch-run
          job: weekly-audit
"""


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str

    @property
    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = json.loads(self.stdout)
        return found

    def checks(self) -> dict[str, dict[str, str]]:
        return {check["name"]: check for check in self.document["checks"]}

    def statuses(self) -> dict[str, str]:
        return {name: check["status"] for name, check in self.checks().items()}

    def not_ok(self) -> dict[str, str]:
        return {name: status for name, status in self.statuses().items() if status != "ok"}


@dataclass
class World:
    repo: Path
    github: GitHubEmulator
    claude: ClaudeEmulator
    tmp: Path

    def config(self, text: str) -> None:
        (self.repo / ".github").mkdir(exist_ok=True)
        (self.repo / ".github" / "ci-reviewer.yml").write_text(text)

    def workflow(self, name: str, text: str) -> None:
        folder = self.repo / ".github" / "workflows"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text)

    def run(
        self, *args: str, workdir: Path | None = None, env: dict[str, str] | None = None
    ) -> Outcome:
        environ = {
            **os.environ,
            "ANTHROPIC_BASE_URL": self.claude.url,
            "GITHUB_API_URL": self.github.url,
            **(env or {}),
        }
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "ci_reviewer",
                "doctor",
                "--repo",
                "octo/demo",
                "--workdir",
                str(workdir or self.repo),
                *args,
            ],
            check=False,
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)


def recent_commits(repo: Path, count: int = 3) -> None:
    """Commits dated within the last days, so a `since: 7d` window holds them."""
    for index in range(count):
        when = (datetime.now(timezone.utc) - timedelta(days=count - index)).isoformat()
        (repo / "src").mkdir(exist_ok=True)
        (repo / "src" / f"m{index}.py").write_text(f"x = {index}\n")
        dated = {**os.environ, "GIT_AUTHOR_DATE": when, "GIT_COMMITTER_DATE": when}
        for args in (["add", "-A"], ["commit", "-q", "-m", f"change {index}"]):
            subprocess.run(["git", "-C", str(repo), *args], check=True, env=dated)


@pytest.fixture
def world(git_repo: Path, tmp_path: Path) -> Iterator[World]:
    recent_commits(git_repo)
    claude = ClaudeEmulator(api_key=os.environ["ANTHROPIC_API_KEY"]).start()
    github = GitHubEmulator(git_repo, token=os.environ["GITHUB_TOKEN"]).start()
    made = World(git_repo, github, claude, tmp_path)
    made.config(CONFIG)
    try:
        yield made
    finally:
        github.stop()
        claude.stop()
