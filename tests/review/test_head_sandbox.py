"""The tools over the head commit's git objects, with the checkout at the base: every rule of
the working-tree sandbox holds for links stored in the head's trees (mode 120000 blobs),
which are followed as realpath follows them on disk, inside the tree only."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ci_reviewer.review.head_sandbox import HeadSandbox
from ci_reviewer.review.head_tree import CommitTree
from ci_reviewer.review.tools import RepoTools
from tests.review.conftest import git

ESCAPES = "a symlink leads outside the repository; refused"
APP = "def add(a, b):\n    return a + b  # head\n"


def _link(repo: Path, name: str, target: str) -> None:
    path = repo / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)


@pytest.fixture
def head_repo(tmp_path: Path) -> tuple[Path, str]:
    """main holds README.md only; `feature` (not checked out) holds files and links."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "README.md").write_text("# base\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "base")
    git(repo, "checkout", "-q", "-b", "feature")
    (repo / "src").mkdir()
    (repo / "src/app.py").write_text(APP)
    (repo / "config").mkdir()
    (repo / "config/.env").write_text("PASSWORD=hunter2\n")
    (tmp_path / "outside.txt").write_text("outside: never read\n")
    links = {
        "alias.py": "src/app.py",
        "srcdir": "src",
        "chain1": "chain2",
        "chain2": "srcdir/app.py",
        "up": "../outside.txt",
        "deep": "src/../../outside.txt",
        "abs_out": "/etc/passwd",
        "abs_in": str(repo.resolve() / "src/app.py"),
        "loop_a": "loop_b",
        "loop_b": "loop_a",
        "dotenv_link": "config/.env",
        "nested/back": "../src/app.py",
    }
    for name, target in links.items():
        _link(repo, name, target)
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", "head")
    head = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "checkout", "-q", "main")  # the base is checked out, as under pull_request_target
    return repo, head


def tools_at(repo: Path, head: str) -> RepoTools:
    return RepoTools(HeadSandbox(repo, CommitTree(repo, head)), "main")


@pytest.mark.parametrize("link", ["alias.py", "srcdir/app.py", "chain1", "abs_in", "nested/back"])
def test_links_inside_the_head_lead_to_the_head_file(
    head_repo: tuple[Path, str], link: str
) -> None:
    repo, head = head_repo
    outcome = tools_at(repo, head).run("read_file", {"path": link})

    assert not outcome.is_error, outcome.text
    assert outcome.text.splitlines() == [
        "src/app.py (lines 1-2 of 2)",
        "1| def add(a, b):",
        "2|     return a + b  # head",
    ]
    assert not (repo / "src").exists()  # nothing of the head reached the working tree


@pytest.mark.parametrize("link", ["up", "deep", "abs_out"])
def test_links_leaving_the_checkout_are_refused(head_repo: tuple[Path, str], link: str) -> None:
    repo, head = head_repo
    outcome = tools_at(repo, head).run("read_file", {"path": link})

    assert outcome.is_error and outcome.text == f"{link}: {ESCAPES}"


def test_a_link_loop_is_refused(head_repo: tuple[Path, str]) -> None:
    repo, head = head_repo
    outcome = tools_at(repo, head).run("read_file", {"path": "loop_a"})

    assert outcome.is_error and outcome.text == "loop_a: too many levels of symbolic links"


def test_a_link_to_a_secret_by_name_is_refused_by_the_name_it_resolves_to(
    head_repo: tuple[Path, str],
) -> None:
    repo, head = head_repo
    outcome = tools_at(repo, head).run("read_file", {"path": "dotenv_link"})

    assert outcome.is_error
    assert outcome.text == (
        "dotenv_link: resolves to config/.env; secret by name: .env (secret policy); never read"
    )
    assert "hunter2" not in outcome.text


def test_listing_and_search_are_of_the_head(head_repo: tuple[Path, str]) -> None:
    repo, head = head_repo
    tools = tools_at(repo, head)

    listing = tools.run("list_directory", {"path": "config"}).text
    search = tools.run("search_code", {"query": "hunter2"}).text
    found = tools.run("search_code", {"query": "# head"}).text

    assert listing.splitlines() == [
        "config/ (0 entries)",
        "(1 secret-looking or internal entries hidden)",
    ]
    assert search == "no matches for 'hunter2'"  # the .env's line is never shown
    assert found == "src/app.py:2: return a + b  # head"
    assert tools.run("list_directory", {"path": "srcdir"}).text.splitlines() == [
        "src/ (1 entries)",
        "app.py",
    ]


def test_a_missing_file_at_the_head_is_never_the_base_version(head_repo: tuple[Path, str]) -> None:
    repo, head = head_repo
    (repo / "README.md").write_text("# base, as checked out\n")  # on disk, never read
    tools = tools_at(repo, head)

    assert tools.run("read_file", {"path": "README.md"}).text.splitlines()[1] == "1| # base"
    gone = tools.run("read_file", {"path": "gone.py"})
    assert gone.is_error and gone.text == (
        f"gone.py: no such file at the pull request's head ({head[:12]})"
    )


def test_a_tree_holding_dot_git_is_refused_through_a_link(tmp_path: Path) -> None:
    """git refuses to check out a `.git` entry, but a crafted tree can hold one: a link to it
    is refused by the path it resolves to."""
    repo = tmp_path / "checkout"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")

    def blob(data: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), "hash-object", "-w", "--stdin"],
            input=data.encode(),
            capture_output=True,
            check=True,
        )
        return done.stdout.decode().strip()

    def tree(lines: str) -> str:
        done = subprocess.run(
            ["git", "-C", str(repo), "mktree"],
            input=lines.encode(),
            capture_output=True,
            check=True,
        )
        return done.stdout.decode().strip()

    config = blob("[core]\n")
    inner = tree(f"100644 blob {config}\tconfig\n")
    root = tree(f"040000 tree {inner}\t.git\n120000 blob {blob('.git/config')}\tdotgit\n")
    head = git(repo, "commit-tree", root, "-m", "crafted").strip()

    outcome = tools_at(repo, head).run("read_file", {"path": "dotgit"})

    assert outcome.is_error
    assert outcome.text == (
        "dotgit: resolves to .git/config; .git/ is off limits (repository internals)"
    )
