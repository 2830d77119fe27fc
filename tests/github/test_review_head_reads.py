"""Under pull_request_target the checkout holds the base (actions/checkout's default for that
event) while the model reviews the head's diff: the tools must read the head's files.

A real `ci-reviewer review` runs as a subprocess in a shallow clone of a bare "origin" that
keeps the fork's head only as refs/pull/1/head (as GitHub keeps a fork's head in the base
repository), checked out at the base. The Claude emulator, scripted to call the tools, records
what the tools answered: the head's content, never the base's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from tests.emulators.github_fixtures import TOKEN, commit_files, git
from tests.review.conftest import answer, for_file, turn
from tests.secret_samples import github_token

REPO = "octo/demo"
GITHUB_TOKEN = github_token("head-reads")
# What only the head has: line 5 of app.py changed, a new module, a link out, a token.
HEAD_LINE = "HEAD_VERSION = 5"
ADDED = "def added_at_head():\n    return 'only in the head'\n"
OUTSIDE = "outside the checkout: must never be read\n"
CALLS: tuple[tuple[str, dict[str, Any]], ...] = (
    ("read_file", {"path": "app.py"}),
    ("read_file", {"path": "pkg/added.py"}),
    ("read_file", {"path": "escape.txt"}),
    ("read_file", {"path": "alias.py"}),
    ("read_file", {"path": "settings_local.py"}),
    ("list_directory", {"path": "pkg"}),
    ("search_code", {"query": "HEAD_VERSION"}),
)


@dataclass
class Fork:
    author: Path  # the emulated GitHub's storage, holding the fork's branch
    origin: Path
    checkout: Path
    head: str
    number: int
    github: GitHubEmulator
    claude: ClaudeEmulator
    tmp: Path

    def run(self) -> subprocess.CompletedProcess[str]:
        event = self.tmp / "event.json"
        payload = {
            "action": "synchronize",
            "number": self.number,
            "pull_request": {"number": self.number, "head": {"sha": self.head}},
            "repository": {"full_name": REPO},
        }
        event.write_text(json.dumps(payload), encoding="utf-8")
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "ANTHROPIC"))},
            "GITHUB_API_URL": self.github.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_REPOSITORY": REPO,
            "GITHUB_EVENT_NAME": "pull_request_target",
            "GITHUB_EVENT_PATH": str(event),
            "GITHUB_OUTPUT": str(self.tmp / "output.txt"),
            "GITHUB_STEP_SUMMARY": str(self.tmp / "summary.md"),
            "GITHUB_WORKSPACE": str(self.checkout),
            "ANTHROPIC_BASE_URL": self.claude.url,
            "ANTHROPIC_API_KEY": "sk-ant-test-key-123456",
        }
        return subprocess.run(
            [sys.executable, "-m", "ci_reviewer", "review", "--format", "json"],
            cwd=self.checkout,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def tool_results(self) -> dict[str, dict[str, Any]]:
        """What each scripted call got back, as the model received it (by tool and input)."""
        uses: dict[str, str] = {}
        results: dict[str, dict[str, Any]] = {}
        for call in self.claude.requests:
            for message in call.body["messages"]:
                for block in message["content"] if isinstance(message["content"], list) else ():
                    if block.get("type") == "tool_use":
                        uses[block["id"]] = f"{block['name']} {json.dumps(block['input'])}"
                    elif block.get("type") == "tool_result":
                        results[uses[block["tool_use_id"]]] = block
        return results


def key(name: str, arguments: Mapping[str, Any]) -> str:
    return f"{name} {json.dumps(dict(arguments))}"


def text_of(result: Mapping[str, Any]) -> str:
    content = result["content"]
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content)


@pytest.fixture
def fork(git_repo: Path, emulator: GitHubEmulator, tmp_path: Path) -> Iterator[Fork]:
    """main: app.py (40 lines) and README.md; the fork's head changes line 5 of app.py, adds
    pkg/added.py, a link escaping the checkout and a module holding a token."""
    git(git_repo, "checkout", "-q", "-b", "feature")
    app = "".join(f"{HEAD_LINE if i == 5 else f'line {i}'}\n" for i in range(1, 41))
    files = {"app.py": app, "pkg/added.py": ADDED, "settings_local.py": f"T = '{GITHUB_TOKEN}'\n"}
    commit_files(git_repo, files, "the fork's change")
    (git_repo / "escape.txt").symlink_to("../outside.txt")
    (git_repo / "alias.py").symlink_to("app.py")
    head = commit_files(git_repo, {}, "a link out")
    (tmp_path / "outside.txt").write_text(OUTSIDE, encoding="utf-8")
    number = emulator.open_pull("feature", "main", fork=True, user="outsider")
    origin = tmp_path / "origin.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(git_repo), str(origin)], check=True)
    git(origin, "update-ref", f"refs/pull/{number}/head", head)
    git(origin, "update-ref", "-d", "refs/heads/feature")  # a fork's branch is not in origin
    checkout = tmp_path / "checkout"
    # actions/checkout under pull_request_target: the base branch, one commit deep.
    subprocess.run(
        ["git", "clone", "-q", "--depth=1", "--branch", "main", f"file://{origin}", str(checkout)],
        check=True,
    )
    claude = ClaudeEmulator().start()
    claude.responder = lambda body: Reply.json(answer())
    claude.enqueue(Reply.tool_use(CALLS), when=lambda b: for_file("app.py")(b) and turn(1)(b))
    try:
        yield Fork(git_repo, origin, checkout, head, number, emulator, claude, tmp_path)
    finally:
        claude.stop()


def assert_working_tree_is_the_base(fork: Fork) -> None:
    assert git(fork.checkout, "status", "--porcelain") == ""
    assert (fork.checkout / "app.py").read_text().splitlines()[4] == "line 5"
    assert not (fork.checkout / "pkg").exists() and not (fork.checkout / "escape.txt").exists()


def test_pull_request_target_tools_read_the_head_from_git_objects(fork: Fork) -> None:
    done = fork.run()

    assert done.returncode == 0, done.stderr
    results = fork.tool_results()
    app = results[key("read_file", {"path": "app.py"})]
    assert not app.get("is_error")
    assert f" 5| {HEAD_LINE}" in text_of(app)  # the head's line 5, not the base's "line 5"
    assert "| line 5\n" not in text_of(app)
    added = results[key("read_file", {"path": "pkg/added.py"})]
    assert not added.get("is_error") and "only in the head" in text_of(added)
    listing = text_of(results[key("list_directory", {"path": "pkg"})])
    assert listing.splitlines()[1:] == ["added.py"]
    search = text_of(results[key("search_code", {"query": "HEAD_VERSION"})])
    assert search == f"app.py:5: {HEAD_LINE}"
    assert "the review reads the head commit's files from git objects" in done.stderr
    assert_working_tree_is_the_base(fork)
    document = json.loads(done.stdout)
    assert sorted(f["path"] for f in document["files"]) == ["app.py", "pkg/added.py"]


def test_a_head_symlink_leaving_the_checkout_is_refused(fork: Fork) -> None:
    done = fork.run()

    assert done.returncode == 0, done.stderr
    link = fork.tool_results()[key("read_file", {"path": "escape.txt"})]
    assert link["is_error"] is True
    assert text_of(link) == "escape.txt: a symlink leads outside the repository; refused"
    alias = text_of(fork.tool_results()[key("read_file", {"path": "alias.py"})])
    assert alias.startswith("app.py (lines 1-40 of 40)") and f" 5| {HEAD_LINE}" in alias
    sent = json.dumps([call.body for call in fork.claude.requests])
    assert "must never be read" not in sent


def test_a_secret_added_in_the_head_is_refused(fork: Fork) -> None:
    done = fork.run()

    assert done.returncode == 0, done.stderr
    secret = fork.tool_results()[key("read_file", {"path": "settings_local.py"})]
    assert secret["is_error"] is True
    assert text_of(secret) == (
        "settings_local.py: secret by content: GitHub token (secret policy); never read"
    )
    assert GITHUB_TOKEN not in json.dumps([call.body for call in fork.claude.requests])
    skipped = {s["path"]: s for s in json.loads(done.stdout)["skipped"]}
    assert skipped["settings_local.py"]["secret"] is True


def test_without_the_head_in_origin_the_contents_api_serves_the_head(fork: Fork) -> None:
    git(fork.origin, "update-ref", "-d", f"refs/pull/{fork.number}/head")
    git(fork.origin, "gc", "-q", "--prune=now")  # the head's objects leave origin

    done = fork.run()

    assert done.returncode == 0, done.stderr
    assert "through GitHub's contents API" in done.stderr
    results = fork.tool_results()
    assert f" 5| {HEAD_LINE}" in text_of(results[key("read_file", {"path": "app.py"})])
    added = results[key("read_file", {"path": "pkg/added.py"})]
    assert "only in the head" in text_of(added)
    search = results[key("search_code", {"query": "HEAD_VERSION"})]
    assert search["is_error"] is True and "cannot search the pull request's head" in text_of(search)
    # GitHub serves a link to a file of the repository as that file, and refuses the rest.
    alias = text_of(results[key("read_file", {"path": "alias.py"})])
    assert alias.startswith("app.py (lines 1-40 of 40)") and f" 5| {HEAD_LINE}" in alias
    escape = results[key("read_file", {"path": "escape.txt"})]
    assert escape["is_error"] is True
    assert text_of(escape) == "escape.txt: a symlink leads outside the repository; refused"
    assert "must never be read" not in json.dumps([call.body for call in fork.claude.requests])
    assert_working_tree_is_the_base(fork)


def test_a_head_that_cannot_be_read_says_so_and_never_shows_the_base(fork: Fork) -> None:
    git(fork.origin, "update-ref", "-d", f"refs/pull/{fork.number}/head")
    git(fork.origin, "gc", "-q", "--prune=now")
    # A token without `contents: read`: GitHub refuses the contents API.
    fork.github.inject(
        Fault(route=r"/contents/", status=403, answer="not-accessible-by-integration", times=99)
    )

    done = fork.run()

    results = fork.tool_results()
    app = results[key("read_file", {"path": "app.py"})]
    assert app["is_error"] is True
    assert text_of(app) == (
        f"app.py: cannot be read at the pull request's head {fork.head[:12]}: "
        "GitHub answered HTTP 403: Resource not accessible by integration"
    )
    assert "line 5" not in text_of(app)
    added = results[key("read_file", {"path": "pkg/added.py"})]
    assert added["is_error"] is True and "cannot be read at the pull request's head" in text_of(
        added
    )
    assert done.returncode == 0, done.stderr
