"""`ci-reviewer emulate`: run the local Claude and GitHub emulators for offline trials."""

from __future__ import annotations

import json
import signal
import tempfile
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from ci_reviewer.cli.context import settings
from ci_reviewer.emulators.claude_replies import Reply
from ci_reviewer.git import run_git

F = TypeVar("F", bound=Callable[..., Any])
DEMO_FULL_NAME = "octo/demo"
DUMMY_ANTHROPIC_KEY = "emulator-key"
# Placeholders the emulators accept, printed on purpose: not secrets.
DUMMY_GITHUB_TOKEN = "emulator-token"  # noqa: S105

_DEMO_BASE = '''"""A tiny demo project for ci-reviewer's emulators."""


def average(values: list[float]) -> float:
    return sum(values) / len(values)
'''
# The PR's change: a guard (the fix) and a new function with an unclosed file (to review).
_DEMO_HEAD = _DEMO_BASE.replace(
    "    return sum", "    if not values:\n        return 0.0\n    return sum"
) + ("\n\ndef load(path: str) -> str:\n    return open(path).read()\n")


_DEMO_LINE = _DEMO_HEAD.splitlines().index("    return open(path).read()") + 1


def _demo_reviewer(body: Mapping[str, Any]) -> Reply | None:
    """What the demo's model says about src/stats.py once it has read it: one finding with
    a suggested fix, so a demo review shows an inline comment and a suggestion block.
    Everything else falls through to the emulator's documented default."""
    messages = body.get("messages") or []
    has_read = any(isinstance(m, Mapping) and m.get("role") == "assistant" for m in messages)
    asks_findings = "findings" in json.dumps(body.get("output_config") or {})
    if not (has_read and asks_findings and "src/stats.py" in json.dumps(messages[:1])):
        return None
    finding = {
        "path": "src/stats.py",
        "line": _DEMO_LINE,
        "end_line": None,
        "severity": "medium",
        "category": "resource-leak",
        "title": "File handle is never closed",
        "body": "`open(path).read()` leaves closing the file to the garbage collector.",
        "suggestion": "    with open(path) as handle:\n        return handle.read()",
        "confidence": 0.9,
    }
    return Reply.json({"summary": "One resource leak in load().", "findings": [finding]})


def _port_option(api: str) -> Callable[[F], F]:
    return click.option(
        f"--{api.lower()}-port",
        type=click.IntRange(0, 65535),
        default=0,
        show_default=True,
        help=f"Port of the {api} API emulator (0 = any free port).",
    )


@click.command()
@_port_option("Claude")
@_port_option("GitHub")
@click.option(
    "--repo",
    "repo_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Git repository the GitHub emulator serves (default: the workdir; when it "
    "is not a git repository, a demo repository with an open PR #1).",
)
@click.option(
    "--actions-pull-requests/--no-actions-pull-requests",
    default=True,
    show_default=True,
    help="The emulated repository's setting \"Allow GitHub Actions to create and approve pull "
    'requests" (off on GitHub for new repositories): when off, the token may not open '
    "pull requests and GitHub's 403 answers, as it does for a workflow's GITHUB_TOKEN.",
)
@click.pass_context
def emulate(
    ctx: click.Context,
    claude_port: int,
    github_port: int,
    repo_dir: Path | None,
    actions_pull_requests: bool,
) -> int:
    """Run the local Claude and GitHub emulators until interrupted (Ctrl-C)."""
    from ci_reviewer.emulators.claude import ClaudeEmulator
    from ci_reviewer.emulators.github import GitHubEmulator

    run = settings(ctx, load=False)
    with tempfile.TemporaryDirectory(prefix="ci-reviewer-demo-") as scratch:
        served, demo = _served_repository(repo_dir or run.workdir, Path(scratch))
        full_name = run.repo or DEMO_FULL_NAME
        claude = ClaudeEmulator(port=claude_port)
        if demo:
            claude.responder = _demo_reviewer
        github = GitHubEmulator(
            served, full_name=full_name, token=DUMMY_GITHUB_TOKEN, port=github_port
        )
        github.set_workflow_permissions(can_approve_pull_request_reviews=actions_pull_requests)
        claude.start()
        try:
            github.start()
            try:
                pull = github.open_pull("feature", title="Demo change") if demo else None
                _announce(claude.url, github.url, full_name, served, pull)
                _wait_for_interrupt()
            finally:
                github.stop()
        finally:
            claude.stop()
    click.echo("emulators stopped", err=True)
    return 0


def _announce(
    claude_url: str, github_url: str, full_name: str, repo: Path, pull: int | None
) -> None:
    """The shell lines to export on stdout; what is running on stderr."""
    for name, value in (
        ("ANTHROPIC_BASE_URL", claude_url),
        ("ANTHROPIC_API_KEY", DUMMY_ANTHROPIC_KEY),
        ("GITHUB_API_URL", github_url),
        ("GITHUB_TOKEN", DUMMY_GITHUB_TOKEN),
        ("GITHUB_REPOSITORY", full_name),
    ):
        click.echo(f"export {name}={value}")
    note = f"; pull request #{pull} is open" if pull is not None else ""
    click.echo(
        f"Claude emulator at {claude_url}, GitHub emulator at {github_url} serving "
        f"{repo}{note}. Press Ctrl-C to stop.",
        err=True,
    )


def _served_repository(candidate: Path, scratch: Path) -> tuple[Path, bool]:
    """The git repository to serve, and whether it is the generated demo."""
    inside = run_git(candidate, ["rev-parse", "--show-toplevel"], check=False)
    if candidate.is_dir() and inside.returncode == 0:
        return Path(inside.text.strip()), False
    return _demo_repository(scratch / "demo"), True


def _demo_repository(path: Path) -> Path:
    """A small Python project: `main`, and a `feature` branch with a change to review."""
    (path / "src").mkdir(parents=True)
    identity = ["-c", "user.name=ci-reviewer demo", "-c", "user.email=demo@example.invalid"]
    run_git(path, ["init", "--quiet", "--initial-branch=main"])
    (path / "src" / "stats.py").write_text(_DEMO_BASE)
    (path / "README.md").write_text("# demo\n\nA repository made by `ci-reviewer emulate`.\n")
    run_git(path, ["add", "."])
    run_git(path, [*identity, "commit", "--quiet", "-m", "Initial commit"])
    run_git(path, ["checkout", "--quiet", "-b", "feature"])
    (path / "src" / "stats.py").write_text(_DEMO_HEAD)
    run_git(path, [*identity, "commit", "--quiet", "-am", "Handle empty input; add load()"])
    run_git(path, ["checkout", "--quiet", "main"])
    return path


def _wait_for_interrupt() -> None:
    stop = threading.Event()
    with _on_signals(stop.set):
        # wait() in slices so the main thread stays responsive to signals on every platform.
        while not stop.wait(0.2):
            pass


@contextmanager
def _on_signals(callback: Callable[[], None]) -> Iterator[None]:
    def handler(signum: int, frame: FrameType | None) -> None:
        callback()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
