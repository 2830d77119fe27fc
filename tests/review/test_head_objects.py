"""Fetching the pull request's head into the object store only: one commit deep in a shallow
checkout, its history in a full one, no ref and no file of it written."""

from __future__ import annotations

import subprocess
from pathlib import Path

from ci_reviewer.head_objects import fetch_head, has_commit
from tests.review.conftest import git


def _origin(tmp_path: Path) -> tuple[Path, str]:
    """A bare origin whose main has 3 commits and whose PR head sits at refs/pull/7/head only."""
    work = tmp_path / "author"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    for n in range(3):
        (work / "app.py").write_text(f"v{n}\n")
        git(work, "add", "-A")
        git(work, "commit", "-q", "-m", f"main {n}")
    git(work, "checkout", "-q", "-b", "feature")
    (work / "new.py").write_text("head\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "head 1")
    (work / "new.py").write_text("head 2\n")
    git(work, "commit", "-q", "-am", "head 2")
    head = git(work, "rev-parse", "HEAD").strip()
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(origin)], check=True)
    git(origin, "update-ref", "refs/pull/7/head", head)
    git(origin, "update-ref", "-d", "refs/heads/feature")
    return origin, head


def _clone(origin: Path, target: Path, *depth: str) -> Path:
    subprocess.run(
        ["git", "clone", "-q", *depth, "--branch", "main", f"file://{origin}", str(target)],
        check=True,
    )
    return target


def test_a_shallow_checkout_fetches_one_commit_and_writes_no_ref(tmp_path: Path) -> None:
    origin, head = _origin(tmp_path)
    checkout = _clone(origin, tmp_path / "checkout", "--depth=1")
    refs = git(checkout, "for-each-ref")

    assert fetch_head(checkout, head, 7) is None

    assert has_commit(checkout, head)
    assert git(checkout, "rev-list", "--count", head).strip() == "1"  # the head alone
    assert git(checkout, "for-each-ref") == refs
    assert git(checkout, "status", "--porcelain") == "" and not (checkout / "new.py").exists()


def test_a_full_checkout_stays_full_and_gets_the_head_history(tmp_path: Path) -> None:
    origin, head = _origin(tmp_path)
    checkout = _clone(origin, tmp_path / "checkout")

    assert fetch_head(checkout, head, 7) is None

    assert git(checkout, "rev-parse", "--is-shallow-repository").strip() == "false"
    main = git(checkout, "rev-parse", "main").strip()
    assert git(checkout, "merge-base", main, head).strip() == main  # where the PR forked


def test_a_head_origin_does_not_have_says_why(tmp_path: Path) -> None:
    origin, head = _origin(tmp_path)
    checkout = _clone(origin, tmp_path / "checkout", "--depth=1")
    git(origin, "update-ref", "-d", "refs/pull/7/head")
    git(origin, "gc", "-q", "--prune=now")

    failed = fetch_head(checkout, head, 7)

    assert failed is not None and failed.startswith("fetching it from origin failed: ")
    assert not has_commit(checkout, head)
    git(checkout, "remote", "remove", "origin")
    assert fetch_head(checkout, head, 7) == "the checkout has no remote 'origin'"
