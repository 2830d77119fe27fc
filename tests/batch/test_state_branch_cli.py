"""The first scheduled runs of a batch job on a repository without the state branch, as a
workflow runs them: `python -m ci_reviewer ... batch run` in a subprocess with state on the
GitHub emulator (no --state-dir), which answers the state file's lookup as GitHub does
before the branch exists: 404 "No commit found for the ref ci-reviewer-state"."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Request, Response
from tests.batch.conftest import commit_files, git, served_origin

TOKEN = "ghs_statebranchTOKEN0123456789"
CONFIG = """
jobs:
  digest:
    kind: report
    output: file
    include: ["src/**/*.py"]
"""
STATE_FILE = "/repos/octo/demo/contents/state/digest.json"


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(repo, {".github/ci-reviewer.yml": CONFIG}, "configure")
    return repo


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


@pytest.fixture
def state_reads() -> Iterator[list[tuple[int, object]]]:
    """What the emulator answered to each read of the state file."""
    seen: list[tuple[int, object]] = []
    lock = threading.Lock()

    def observe(request: Request, response: Response) -> None:
        if request.method == "GET" and request.path == STATE_FILE:
            body = response.body if isinstance(response.body, dict) else {}
            with lock:
                seen.append((response.status, body.get("message")))

    github_emulator_module.RESPONSE_OBSERVERS.append(observe)
    try:
        yield seen
    finally:
        github_emulator_module.RESPONSE_OBSERVERS.remove(observe)


def run(checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator) -> tuple[int, str, str]:
    command = [sys.executable, "-m", "ci_reviewer", "--workdir", str(checkout),
               "batch", "run", "--job", "digest", "--format", "json"]  # fmt: skip
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": "sk-ant-api03-LEAKCANARY-statebranch-9d41",
        "ANTHROPIC_BASE_URL": claude.url,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_API_URL": origin.url,
        "GITHUB_REPOSITORY": "octo/demo",
        "GITHUB_RUN_ID": "31337",
    }
    done = subprocess.run(
        command, env=env, cwd=checkout.parent, capture_output=True, text=True, timeout=120,
        check=False,
    )  # fmt: skip
    return done.returncode, done.stdout, done.stderr


def test_first_run_creates_the_orphan_state_branch_and_the_second_reads_it(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    state_reads: list[tuple[int, object]],
) -> None:
    bare = origin.git.repo_dir
    assert git(bare, "branch", "--list", "ci-reviewer-state") == ""

    code, out, err = run(checkout, origin, claude)

    assert code == 0, err
    first = json.loads(out)
    [batch] = first["submitted"]["batches"]
    assert batch["requests"] == 2  # src/a.py and src/b.py
    assert state_reads[0] == (404, "No commit found for the ref ci-reviewer-state")
    # An orphan branch holding only state: its README, then the state saved twice (the
    # intent before the batch is created, its id right after).
    subjects = git(bare, "log", "--format=%s", "ci-reviewer-state").splitlines()
    assert subjects == ["ci-reviewer: state of digest"] * 2 + ["ci-reviewer: state branch"]
    assert git(bare, "rev-list", "--count", "ci-reviewer-state", "^main") == "3"
    [root] = git(bare, "rev-list", "--max-parents=0", "ci-reviewer-state").split()
    assert "parent " not in git(bare, "cat-file", "-p", root)
    tracked = git(bare, "ls-tree", "-r", "--name-only", "ci-reviewer-state").split()
    assert tracked == ["README.md", "state/digest.json"]
    saved = json.loads(git(bare, "show", "ci-reviewer-state:state/digest.json"))
    assert [s["batch_id"] for s in saved["submissions"]] == [batch["batch_id"]]

    code, out, err = run(checkout, origin, claude)

    assert code == 0, err
    second = json.loads(out)
    assert state_reads[-1][0] == 200
    assert second["collected"]["counts"] == {"succeeded": 2}
    created = [r for r in claude.log if r.method == "POST" and r.path == "/v1/messages/batches"]
    assert len(created) == 1  # the second run found the first's batch in the state


def test_a_ruleset_refusing_the_state_branch_is_exit_3_before_any_batch(
    checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator
) -> None:
    origin.restrict_ref_creation("~ALL")

    code, _, err = run(checkout, origin, claude)

    assert code == 3
    assert "GitHub refused to create the state branch ci-reviewer-state in octo/demo" in err
    assert "Cannot create ref due to creations being restricted." in err
    assert "Settings -> Rules -> Rulesets" in err
    assert not [r for r in claude.log if r.method == "POST"]  # nothing submitted, nothing paid


def test_a_protected_state_branch_is_exit_3_naming_the_rule_before_any_batch(
    checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator
) -> None:
    """GitHub refuses a write to a protected branch with 409, the status of a stale sha:
    the file did not change, so no other run is to blame."""
    origin.refuse_contents_writes("refs/heads/ci-reviewer-state")

    code, _, err = run(checkout, origin, claude)

    assert code == 3, err
    assert "GitHub refused to write the batch state octo/demo@ci-reviewer-state" in err
    assert "Changes must be made through a pull request." in err
    assert "Settings -> Branches, or Settings -> Rules -> Rulesets" in err
    assert "another run" not in err.replace("which no other run changed", "")
    assert not [r for r in claude.log if r.method == "POST"]  # nothing submitted, nothing paid


def test_a_state_branch_protected_after_a_first_run_is_refused_not_taken_for_another_run(
    checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator
) -> None:
    assert run(checkout, origin, claude)[0] == 0
    origin.refuse_contents_writes("refs/heads/ci-reviewer-state")

    code, _, err = run(checkout, origin, claude)

    assert code == 3, err
    assert "GitHub refused to write the batch state" in err
    assert "refs/heads/ci-reviewer-state" in err
