"""A shallow checkout made deep enough for what a job looks back at.

actions/checkout fetches one commit unless `fetch-depth: 0`. In such a checkout that commit
has no parent, so git reports every file of the tree as changed by it: `since: 7d` would send
every file, at several times the cost, without saying so. Before a window or a last collected
commit is read, the history it needs is fetched from `origin` (`--shallow-since`, then one
`--deepen` so the oldest commit of the window has its parent), or the run stops (exit 2) and
says how to check out the history.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from ci_reviewer.errors import InputError
from ci_reviewer.git import run_git

REMOTE = "origin"
CHECKOUT_HINT = (
    "check out the whole history: actions/checkout with `fetch-depth: 0` (and "
    "persist-credentials: false), or run `git fetch --unshallow` before this command"
)
# Enough for merges and commit dates out of order; each round is one fetch.
_MAX_DEEPEN_ROUNDS = 20


class ShallowCheckoutError(InputError):
    """The checkout lacks history the job needs and it could not be fetched (exit 2)."""


def is_shallow(workdir: Path) -> bool:
    done = run_git(workdir, ["rev-parse", "--is-shallow-repository"], check=False)
    return done.returncode == 0 and done.text.strip() == "true"


def boundary_commits(workdir: Path) -> frozenset[str]:
    """The commits whose parents the checkout does not have (git's `shallow` file)."""
    where = run_git(workdir, ["rev-parse", "--git-path", "shallow"]).text.strip()
    path = Path(where) if Path(where).is_absolute() else workdir / where
    try:
        return frozenset(path.read_text(encoding="ascii").split())
    except OSError:
        return frozenset()


def ensure_window(workdir: Path, head: str, after: datetime, *, fetch: bool = True) -> None:
    """Make every commit of `head` newer than `after` have its parent in the checkout."""
    what = f"the commits since {after.isoformat(timespec='seconds')}"
    if not window_is_cut(workdir, head, after):
        return
    _fetch(workdir, what, fetch, ["--shallow-since", after.isoformat(), REMOTE, head])
    for _ in range(_MAX_DEEPEN_ROUNDS):
        if not window_is_cut(workdir, head, after):
            return
        _fetch(workdir, what, fetch, ["--deepen=1", REMOTE, head])
    raise ShallowCheckoutError(
        f"the checkout at {workdir} is shallow and {what} still lack their parents after "
        f"{_MAX_DEEPEN_ROUNDS} fetches",
        hint=CHECKOUT_HINT,
    )


def ensure_commit(workdir: Path, sha: str, *, fetch: bool = True) -> bool:
    """Whether commit `sha` is in the checkout, fetched from origin when the checkout is
    shallow. False when it is missing from a full checkout (history was rewritten)."""
    if _has_commit(workdir, sha):
        return True
    if not is_shallow(workdir):
        return False
    _fetch(workdir, f"the last collected commit {sha[:12]}", fetch, ["--depth=1", REMOTE, sha])
    return _has_commit(workdir, sha)


def window_is_cut(workdir: Path, head: str, after: datetime) -> bool:
    """Whether a commit of the window is a shallow boundary: git would list its whole tree."""
    if not is_shallow(workdir):
        return False
    listed = run_git(workdir, ["log", f"--since={after.isoformat()}", "--format=%H", head])
    return not boundary_commits(workdir).isdisjoint(listed.text.split())


def _has_commit(workdir: Path, sha: str) -> bool:
    probe = run_git(workdir, ["cat-file", "-e", f"{sha}^{{commit}}"], check=False)
    return probe.returncode == 0


def _fetch(workdir: Path, what: str, allowed: bool, args: list[str]) -> None:
    shallow = f"the checkout at {workdir} is shallow (one commit, the actions/checkout default)"
    if not allowed:
        raise ShallowCheckoutError(
            f"{shallow} and lacks {what}; a dry run fetches nothing", hint=CHECKOUT_HINT
        )
    if run_git(workdir, ["remote", "get-url", REMOTE], check=False).returncode != 0:
        raise ShallowCheckoutError(
            f"{shallow} and lacks {what}; it has no remote {REMOTE!r} to fetch them from",
            hint=CHECKOUT_HINT,
        )
    done = run_git(
        workdir,
        ["-c", "protocol.version=2", "fetch", "--quiet", "--no-tags", *args],
        check=False,
        env={"GIT_TERMINAL_PROMPT": "0"},  # a private origin without credentials fails fast
    )
    if done.returncode != 0:
        said = done.stderr.strip().splitlines()
        raise ShallowCheckoutError(
            f"{shallow} and lacks {what}; fetching them from {REMOTE} failed: "
            f"{said[-1] if said else 'no output'}",
            hint=CHECKOUT_HINT,
        )
