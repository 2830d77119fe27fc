"""`ci-reviewer emulate`: run the local Claude and GitHub emulators for offline trials."""

from __future__ import annotations

import signal
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any, TypeVar

import click

from ci_reviewer.cli.context import settings
from ci_reviewer.git import run_git

F = TypeVar("F", bound=Callable[..., Any])
DUMMY_ANTHROPIC_KEY = "emulator-key"
# Placeholders the emulators accept, printed on purpose: not secrets.
DUMMY_GITHUB_TOKEN = "emulator-token"  # noqa: S105
# How long a batch takes on the emulated clock: long enough that `batch status` shows it in
# progress, ended by moving the clock (POST /_emulator/clock?hours=1) rather than waiting.
BATCH_HOURS = 1.0


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
    from ci_reviewer.emulators import demo as demo_repo
    from ci_reviewer.emulators.claude import BatchPolicy, ClaudeEmulator
    from ci_reviewer.emulators.claude_control import CLOCK_PATH
    from ci_reviewer.emulators.github import GitHubEmulator
    from ci_reviewer.emulators.github_page import PAGE_PATH

    run = settings(ctx, load=False)
    with tempfile.TemporaryDirectory(prefix="ci-reviewer-demo-") as scratch:
        served, demo = _served_repository(repo_dir or run.workdir, Path(scratch))
        full_name = run.repo or demo_repo.FULL_NAME
        claude = ClaudeEmulator(port=claude_port)
        claude.batch_policy = BatchPolicy.after(hours=BATCH_HOURS)
        if demo:
            claude.responder = demo_repo.answer
        github = GitHubEmulator(
            served, full_name=full_name, token=DUMMY_GITHUB_TOKEN, port=github_port
        )
        github.set_workflow_permissions(can_approve_pull_request_reviews=actions_pull_requests)
        if demo:
            # The demo PR's author, who may have the reviewer answer (write access).
            github.set_collaborator(demo_repo.PULL_AUTHOR, "write")
        claude.start()
        try:
            github.start()
            try:
                pull = (
                    github.open_pull(
                        "feature", title=demo_repo.PULL_TITLE, user=demo_repo.PULL_AUTHOR
                    )
                    if demo
                    else None
                )
                _announce(
                    Running(
                        claude.url,
                        github.url,
                        full_name,
                        served,
                        pull,
                        page_url=github.url + PAGE_PATH,
                        clock_url=claude.url + CLOCK_PATH,
                    )
                )
                _wait_for_interrupt()
            finally:
                github.stop()
        finally:
            claude.stop()
    click.echo("emulators stopped", err=True)
    return 0


@dataclass(frozen=True)
class Running:
    """What `emulate` started, as the user is told."""

    claude_url: str
    github_url: str
    full_name: str
    repo: Path
    pull: int | None
    page_url: str
    clock_url: str


def _announce(running: Running) -> None:
    """The shell lines to export on stdout; what is running, and where to look, on stderr."""
    for name, value in (
        ("ANTHROPIC_BASE_URL", running.claude_url),
        ("ANTHROPIC_API_KEY", DUMMY_ANTHROPIC_KEY),
        ("GITHUB_API_URL", running.github_url),
        ("GITHUB_TOKEN", DUMMY_GITHUB_TOKEN),
        ("GITHUB_REPOSITORY", running.full_name),
    ):
        click.echo(f"export {name}={value}")
    note = f"; pull request #{running.pull} is open" if running.pull is not None else ""
    click.echo(
        f"Claude emulator at {running.claude_url}, GitHub emulator at {running.github_url} "
        f"serving {running.repo}{note}. Press Ctrl-C to stop.",
        err=True,
    )
    click.echo(f"What the emulated GitHub holds, in a browser: {running.page_url}", err=True)
    number = running.pull if running.pull is not None else "N"
    click.echo(
        "A person's reply under a pull request's inline comment, answered with the webhook "
        f"payload for `ci-reviewer answer`: curl -X POST '{running.github_url}"
        f"/_emulator/pulls/{number}/replies?as=octocat' --data-raw 'Why? @ci-reviewer'",
        err=True,
    )
    click.echo(
        f"Batches end {BATCH_HOURS:g} h after they are submitted, on the emulated clock; "
        f"move it on with: curl -X POST '{running.clock_url}?hours={BATCH_HOURS:g}'",
        err=True,
    )


def _served_repository(candidate: Path, scratch: Path) -> tuple[Path, bool]:
    """The git repository to serve, and whether it is the generated demo."""
    inside = run_git(candidate, ["rev-parse", "--show-toplevel"], check=False)
    if candidate.is_dir() and inside.returncode == 0:
        return Path(inside.text.strip()), False
    from ci_reviewer.emulators.demo import create_repository

    return create_repository(scratch / "demo"), True


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
