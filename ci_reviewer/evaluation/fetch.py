"""A dataset's pull request, fetched from GitHub into a checkout the review can read.

GitHub answers the PR (head sha, base sha), the commit it forked from (the compare API's
merge base, as the review of a PR uses) and a source archive of each of the two commits (the
tarball API). The checkout is a git repository with two commits, the fork point's tree and
the head's on top, so `git diff BASE...HEAD` in it is the PR's diff and the review reads it
exactly as `review --local --base BASE` would. Archives work the same on github.com, GitHub
Enterprise and the emulator, with the API token only, and need no git credentials.

A PR that cannot be had (404, no access, a URL that names no PR) is `Unfetchable`: reported
and skipped. A rejected token or GitHub failing after retries stops the run (exit 3).
"""

from __future__ import annotations

import io
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ci_reviewer.errors import CIReviewerError, InputError
from ci_reviewer.evaluation.dataset import PullRef
from ci_reviewer.git import run_git
from ci_reviewer.github.client import describe, github_errors

if TYPE_CHECKING:
    import github

READY = ".ci-reviewer-eval-ready"
BASE_REF = "refs/eval/base"
# Commits of a checkout are made by the tool, never signed, never hooked.
_COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "ci-reviewer eval",
    "GIT_AUTHOR_EMAIL": "eval@ci-reviewer.invalid",
    "GIT_COMMITTER_NAME": "ci-reviewer eval",
    "GIT_COMMITTER_EMAIL": "eval@ci-reviewer.invalid",
    "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}
# Statuses after which this one PR is skipped; anything else is GitHub failing.
_SKIPPED_STATUSES = {
    403: "no access",
    404: "not found",
    410: "gone",
    422: "refused",
    451: "blocked",
}

Download = Callable[[str], bytes]
T = TypeVar("T")


class Unfetchable(CIReviewerError):
    """This PR cannot be fetched; the run reports it and goes on."""


@dataclass(frozen=True)
class Checkout:
    """A PR ready to review: `path` holds the head checked out, `BASE_REF` the fork point."""

    path: Path
    head_sha: str  # GitHub's
    base_sha: str  # GitHub's `base.sha`
    fork_sha: str  # where the PR forked from its base (the diff's start)


def fetch_pull(gh: github.Github, pull: PullRef, cache_dir: Path, download: Download) -> Checkout:
    """The checkout of `pull` under `cache_dir`, fetched unless an earlier run left it."""
    from ci_reviewer.github.review_source import PullRequestInfo, fork_point

    repo = _asking(pull, f"reading {pull.full_name}", lambda: gh.get_repo(pull.full_name))
    found = _asking(pull, f"reading {pull}", lambda: repo.get_pull(pull.number))
    head, base = found.head.sha, found.base.sha
    info = PullRequestInfo(
        pull.full_name, pull.number, found.state, bool(found.merged), head, base,
        found.title or "", "", found.html_url, False,
    )  # fmt: skip
    fork = fork_point(repo, info, None)
    path = cache_dir / f"{pull.owner}-{pull.repo}-{pull.number}-{head[:12]}-{fork[:12]}"
    if not (path / READY).is_file():
        fork_archive = _archive(repo, pull, fork, download)
        _build(path, fork_archive, _archive(repo, pull, head, download))
    return Checkout(path, head, base, fork)


def _archive(
    repo: github.Repository.Repository, pull: PullRef, sha: str, download: Download
) -> bytes:
    link = _asking(pull, f"archive of {sha[:12]}", lambda: repo.get_archive_link("tarball", sha))
    with github_errors(f"downloading the archive of {pull} at {sha[:12]}"):
        return download(link)


def _asking(pull: PullRef, action: str, call: Callable[[], T]) -> T:
    """`call()`; a refusal of this one PR is Unfetchable, GitHub failing GitHubAPIError."""
    import github

    with github_errors(f"{action} of {pull}"):
        try:
            return call()
        except github.GithubException as error:
            reason = _SKIPPED_STATUSES.get(error.status)
            if reason is None or (error.status == 403 and _rate_limited(error)):
                raise
            raise Unfetchable(f"{pull}: {reason} ({describe(error)})") from None


def _rate_limited(error: github.GithubException) -> bool:
    from ci_reviewer.github.client import rate_limit_of

    return rate_limit_of(error) is not None


def _build(path: Path, fork_archive: bytes, head_archive: bytes) -> None:
    """A fresh repository at `path`: the fork point's tree, then the head's on top."""
    if path.exists():
        shutil.rmtree(path)  # an interrupted earlier fetch
    path.mkdir(parents=True)
    run_git(path, ["init", "-q"])
    _unpack(fork_archive, path)
    _commit(path, "fork point")
    run_git(path, ["update-ref", BASE_REF, "HEAD"])
    for child in path.iterdir():
        if child.name != ".git":
            shutil.rmtree(child) if child.is_dir() and not child.is_symlink() else child.unlink()
    _unpack(head_archive, path)
    # Archives carry commit times as mtimes, and a recreated file may get the same inode:
    # with a same-size edit the index would call it unchanged. A fresh index hashes all.
    (path / ".git" / "index").unlink()
    _commit(path, "head")
    (path / ".git" / "info" / "exclude").write_text(f"/{READY}\n", encoding="utf-8")
    (path / READY).write_text("", encoding="utf-8")


def _commit(path: Path, message: str) -> None:
    run_git(path, ["add", "-A", "-f"], env=_COMMIT_ENV)
    options = ["-c", "commit.gpgsign=false", "-c", "core.hooksPath=/dev/null"]
    run_git(path, [*options, "commit", "-q", "--allow-empty", "-m", message], env=_COMMIT_ENV)


def _unpack(archive: bytes, into: Path) -> None:
    """Extract a GitHub archive without its one top directory; the `data` filter refuses
    absolute paths, `..`, links out of the tree and device files."""
    if not hasattr(tarfile, "data_filter"):
        raise InputError(
            "unpacking archives safely needs Python 3.10.12, 3.11.4 or later (tarfile filters)",
            hint="run ci-reviewer eval with a newer Python",
        )
    try:
        with tarfile.open(fileobj=io.BytesIO(archive), mode="r:*") as tar:
            members = []
            for member in tar.getmembers():
                _, _, inner = member.name.partition("/")
                if inner:
                    member.name = inner
                    members.append(member)
            tar.extractall(into, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise Unfetchable(f"the archive GitHub sent could not be unpacked: {error}") from None
