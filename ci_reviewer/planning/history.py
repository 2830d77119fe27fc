"""What the last 30 days of git history say a job would have sent.

The schedule is replayed against commit times: each firing sends the in-scope files changed
since the previous firing (`since: last-run`), within its window (`24h`, `7d`), or every
in-scope file (`all`). A file's tokens are its current size / 4 (the documented
approximation; deleted files send nothing).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ci_reviewer.git import run_git
from ci_reviewer.globs import PathFilter
from ci_reviewer.pricing import CHARS_PER_TOKEN
from ci_reviewer.shallow import boundary_commits

HISTORY_DAYS = 30
_WINDOW = re.compile(r"^([1-9][0-9]*)([hd])$")


@dataclass(frozen=True)
class Commit:
    when: datetime
    paths: tuple[str, ...]


@dataclass(frozen=True)
class Scope:
    """Which files a job looks at and how far back each run looks."""

    paths: PathFilter
    since: str  # last-run | all | Nh | Nd


def read_history(workdir: Path, now: datetime, days: int = HISTORY_DAYS) -> list[Commit]:
    """Non-merge commits of the last `days` days with the paths they touched, oldest first."""
    since = (now - timedelta(days=days)).isoformat()
    result = run_git(
        workdir,
        ["log", f"--since={since}", "--no-merges", "--name-only", "--format=%x00%H %ct", "HEAD"],
        check=False,
    )
    if result.returncode != 0:  # no commits yet, or not a repository: no history to replay
        return []
    # A shallow checkout's oldest commits have no parent there: git lists their whole tree,
    # which is not what they changed. They are left out (`plan` says the history is cut).
    cut = boundary_commits(workdir)
    commits = []
    for chunk in result.text.split("\x00")[1:]:
        lines = [line for line in chunk.splitlines() if line.strip()]
        if lines:
            sha, _, stamp = lines[0].partition(" ")
            if sha not in cut:
                when = datetime.fromtimestamp(int(stamp), tz=timezone.utc)
                commits.append(Commit(when, tuple(lines[1:])))
    return sorted(commits, key=lambda commit: commit.when)


def tracked_files(workdir: Path) -> list[str]:
    result = run_git(workdir, ["ls-files", "-z"], check=False)
    return [p for p in result.text.split("\x00") if p] if result.returncode == 0 else []


def file_tokens(workdir: Path) -> Callable[[str], int]:
    """Tokens of a file as it is now; 0 for a file that no longer exists."""

    def tokens(path: str) -> int:
        try:
            size = (workdir / path).stat().st_size
        except OSError:
            return 0
        return -(-size // CHARS_PER_TOKEN)

    return tokens


def files_per_run(
    scope: Scope,
    commits: Sequence[Commit],
    firings: Sequence[datetime],
    tracked: Sequence[str],
) -> list[list[str]]:
    """For each firing, the in-scope paths that run would send."""
    in_scope = [p for p in tracked if scope.paths.reason_to_skip(p) is None]
    runs: list[list[str]] = []
    previous: datetime | None = None
    for firing in firings:
        if scope.since == "all":
            runs.append(in_scope)
        else:
            start = _window_start(scope.since, firing, previous)
            changed = {
                path
                for commit in commits
                if (start is None or commit.when > start) and commit.when <= firing
                for path in commit.paths
                if scope.paths.reason_to_skip(path) is None
            }
            runs.append(sorted(changed))
        previous = firing
    return runs


def _window_start(since: str, firing: datetime, previous: datetime | None) -> datetime | None:
    match = _WINDOW.match(since)
    if match:
        amount = int(match.group(1))
        return firing - (timedelta(hours=amount) if match.group(2) == "h" else timedelta(amount))
    # last-run: the first replayed run takes what changed in the interval before it, as a
    # steady-state run would; the very first run of a job (every file) is not the monthly norm.
    return previous if previous is not None else firing - timedelta(days=1)
