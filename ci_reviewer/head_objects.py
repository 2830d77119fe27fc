"""The pull request's head commit made readable from git objects, never checked out.

Under `pull_request_target` actions/checkout checks out the base; the head's objects are
fetched from `origin` by SHA, or by `refs/pull/<n>/head` (GitHub keeps a fork's head there,
in the base repository), into the object store only: no ref is written, no file of the
head reaches the working tree, nothing of it runs. A shallow checkout fetches one commit
(`--depth=1`); a full one fetches the head's history, which it mostly has already.
"""

from __future__ import annotations

from pathlib import Path

from ci_reviewer.git import run_git
from ci_reviewer.shallow import REMOTE, is_shallow


def checkout_head(workdir: Path) -> str:
    """The commit the checkout has checked out ('' when it has none)."""
    done = run_git(workdir, ["rev-parse", "--verify", "--quiet", "HEAD"], check=False)
    return done.text.strip() if done.returncode == 0 else ""


def has_commit(workdir: Path, sha: str) -> bool:
    probe = run_git(workdir, ["cat-file", "-e", f"{sha}^{{commit}}"], check=False)
    return probe.returncode == 0


def fetch_head(workdir: Path, sha: str, number: int | None) -> str | None:
    """None once commit `sha` is in the object store; else why it could not be fetched."""
    if has_commit(workdir, sha):
        return None
    if run_git(workdir, ["remote", "get-url", REMOTE], check=False).returncode != 0:
        return f"the checkout has no remote {REMOTE!r}"
    depth = ["--depth=1"] if is_shallow(workdir) else []
    specs = [sha, *([f"refs/pull/{number}/head"] if number is not None else [])]
    said = ""
    for spec in specs:
        done = run_git(
            workdir,
            ["-c", "protocol.version=2", "fetch", "--quiet", "--no-tags", *depth, REMOTE, spec],
            check=False,
            env={"GIT_TERMINAL_PROMPT": "0"},  # a private origin without credentials fails fast
        )
        if has_commit(workdir, sha):
            return None
        lines = done.stderr.strip().splitlines()
        said = lines[-1] if lines else f"{spec} did not bring commit {sha[:12]}"
    return f"fetching it from {REMOTE} failed: {said}"
