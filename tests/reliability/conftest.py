"""Fixtures for the reliability suite: the real CLI in this process (exit code, stdout,
stderr), one Claude emulator per module reset per test, and real git repositories."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.review.conftest import git, write


@dataclass(frozen=True)
class Run:
    """What a user sees of one command."""

    code: int
    out: str
    err: str


CLI = Callable[..., Run]


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> CLI:
    """`ci-reviewer ARGS...` in this process, as the console script runs it."""

    def invoke(*args: str) -> Run:
        capsys.readouterr()
        with pytest.raises(SystemExit) as done:
            main(list(args))
        out, err = capsys.readouterr()
        code = done.value.code
        return Run(code if isinstance(code, int) else (0 if code is None else 1), out, err)

    return invoke


@pytest.fixture
def short_github_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """GitHub clients made by the CLI in this process retry without waiting (the backoff is
    time, which no emulator can shorten); the retries themselves still happen."""
    from ci_reviewer.github import client

    monkeypatch.setattr(client, "RETRY_BACKOFF_FACTOR", 0.0)


@pytest.fixture(scope="module")
def claude_server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator().start()
    yield emulator
    emulator.stop()


@pytest.fixture
def claude(
    claude_server: ClaudeEmulator, monkeypatch: pytest.MonkeyPatch, canaries: dict[str, str]
) -> ClaudeEmulator:
    """The Claude emulator behind ANTHROPIC_BASE_URL, with the canary key in the environment."""
    claude_server.reset()
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude_server.url)
    return claude_server


MakeRepo = Callable[..., Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> MakeRepo:
    """A repository whose `main` holds `base` and whose checked-out `feature` adds `head`;
    `prepare(repo)` runs before the head commit (for symlinks and other non-file entries)."""

    def build(
        base: Mapping[str, str | bytes],
        head: Mapping[str, str | bytes],
        prepare: Callable[[Path], None] | None = None,
    ) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        write(repo, base)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", "base")
        git(repo, "checkout", "-q", "-b", "feature")
        write(repo, head)
        if prepare is not None:
            prepare(repo)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", "change")
        return repo

    return build
