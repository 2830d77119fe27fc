"""Fixtures for the review engine: one Claude emulator per module (reset per test), the real
anthropic SDK pointed at it, and real git repositories in temporary directories."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import anthropic
import pytest

from ci_reviewer.claude import build_client
from ci_reviewer.config import ReviewConfig
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.globs import PathFilter
from ci_reviewer.review.diff import ReviewSource, diff_from_git, select_reviewable
from ci_reviewer.review.engine import ReviewResult, run_review

MODEL = "claude-sonnet-5-5"


@pytest.fixture(scope="module")
def server() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator(min_cacheable_tokens=50).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def emu(server: ClaudeEmulator) -> ClaudeEmulator:
    server.reset()
    server.latency = 0.0
    return server


@pytest.fixture
def client(emu: ClaudeEmulator) -> Iterator[anthropic.Anthropic]:
    with build_client("sk-test-key", emu.url, max_retries=0) as sdk:
        yield sdk


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, check=True)
    return done.stdout.decode()


def write(repo: Path, files: Mapping[str, str | bytes]) -> None:
    for name, content in files.items():
        path = repo / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)


RepoFactory = Callable[[Mapping[str, str | bytes], Mapping[str, str | bytes]], Path]


@pytest.fixture
def make_repo(tmp_path: Path) -> RepoFactory:
    """A repository whose `main` holds `base` and whose checked-out `feature` adds `head`."""

    def build(base: Mapping[str, str | bytes], head: Mapping[str, str | bytes]) -> Path:
        repo = tmp_path / "repo"
        repo.mkdir()
        git(repo, "init", "-q", "-b", "main")
        write(repo, base)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "--allow-empty", "-m", "base")
        git(repo, "checkout", "-q", "-b", "feature")
        write(repo, head)
        git(repo, "add", "-A")
        git(repo, "commit", "-q", "-m", "change")
        return repo

    return build


def source_of(repo: Path, config: ReviewConfig | None = None) -> ReviewSource:
    config = config or ReviewConfig()
    source = diff_from_git(repo, "main")
    path_filter = PathFilter.build(config.include, config.exclude, config.skip_generated)
    return select_reviewable(source, path_filter, repo, skip_generated=config.skip_generated)


def review(
    client: anthropic.Anthropic, repo: Path, config: ReviewConfig | None = None, **options: Any
) -> ReviewResult:
    config = config or ReviewConfig()
    return run_review(
        client,
        source_of(repo, config),
        config,
        model=options.pop("model", MODEL),
        workdir=repo,
        **options,
    )


def answer(*findings: Mapping[str, Any], summary: str = "ok") -> dict[str, Any]:
    """A findings document as the model would answer it."""
    return {"summary": summary, "findings": [finding_json(**f) for f in findings]}


def finding_json(**fields: Any) -> dict[str, Any]:
    base = {
        "path": "src/calc.py",
        "line": 2,
        "end_line": None,
        "excerpt": "return a - b",  # what src/calc.py holds at line 2 in CALC_HEAD
        "severity": "high",
        "category": "correctness",
        "title": "add subtracts",
        "body": "add returns a - b.",
        "suggestion": None,
        "confidence": 0.9,
    }
    return {**base, **fields}


def file_of(body: Mapping[str, Any]) -> str:
    """The path a request is reviewing (from its first user message)."""
    text = body["messages"][0]["content"][1]["text"]
    return text.split()[1]


def for_file(path: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda body: file_of(body) == path


def turn(n: int) -> Callable[[Mapping[str, Any]], bool]:
    """Matches the n-th call (1-based) of a conversation."""
    return lambda body: sum(m["role"] == "assistant" for m in body["messages"]) == n - 1


CALC_BASE = {"src/calc.py": "def add(a, b):\n    return a + b\n", "src/app.py": "import calc\n"}
CALC_HEAD = {
    "src/calc.py": "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n"
}
