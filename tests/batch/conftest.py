"""Fixtures for the batch pipeline: a real git repository, the Claude emulator driven by the
real anthropic SDK, a directory state store, and a JobRun factory on the emulator's clock."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.batch.state import StateStore
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, EmulatedClock
from ci_reviewer.emulators.github import GitHubEmulator

START = datetime(2030, 1, 6, 2, 0, tzinfo=timezone.utc)


@contextmanager
def served_origin(tmp_path: Path, checkout: Path, token: str) -> Iterator[GitHubEmulator]:
    """A GitHub emulator serving a bare clone of `checkout`, as `origin` does for a runner's
    checkout: what the product writes lands there, not in the checkout."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(bare))
    emulator = GitHubEmulator(bare, token=token).start()
    try:
        yield emulator
    finally:
        emulator.stop()


def point_cli_at_emulators(
    monkeypatch: pytest.MonkeyPatch,
    claude: ClaudeEmulator,
    github_url: str,
    token: str,
    run_id: str,
    api_key: str = "sk-ant-batch-cli-key",
) -> None:
    """The environment a scheduled workflow's `batch` step has, aimed at the emulators."""
    monkeypatch.setenv("ANTHROPIC_API_KEY", api_key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    monkeypatch.setenv("GITHUB_TOKEN", token)
    monkeypatch.setenv("GITHUB_API_URL", github_url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/demo")
    monkeypatch.setenv("GITHUB_RUN_ID", run_id)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit_files(repo: Path, files: dict[str, str | bytes], message: str = "change") -> str:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    commit_files(path, {"src/a.py": "print('a')\n", "src/b.py": "print('b')\n"}, "initial")
    return path


@pytest.fixture
def claude() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator(clock=EmulatedClock(START)).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def client(claude: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    sdk = anthropic.Anthropic(api_key="sk-test-batch", base_url=claude.url, max_retries=0)
    try:
        yield sdk
    finally:
        sdk.close()


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    return tmp_path / "state"


MakeRun = Callable[..., JobRun]


@pytest.fixture
def make_run(
    repo: Path, client: anthropic.Anthropic, claude: ClaudeEmulator, state_dir: Path, tmp_path: Path
) -> MakeRun:
    def make(store: StateStore | None = None, name: str = "digest", **job: Any) -> JobRun:
        return JobRun(
            name=name,
            job=JobConfig(kind="report", **job),
            model="claude-sonnet-5-5",
            kind=ReportKind(tmp_path / "reports"),
            workdir=repo,
            store=store or DirectoryStore(state_dir),
            api=BatchesAPI(client),
            now=claude.clock.now,
        )

    return make
