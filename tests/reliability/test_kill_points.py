"""SIGKILL at every step of `ci-reviewer batch run` (a report job and a test-generation job),
run as a scheduled workflow runs it (a subprocess; the emulators live on in this process),
then plain re-runs: every file's result is published exactly once, no batch is submitted
twice, no issue or PR is opened twice."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.emulators import github as github_emulator_module
from ci_reviewer.emulators.claude import ClaudeEmulator, EmulatedClock, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Request, Response
from tests.batch.conftest import START, commit_files, git, served_origin

TOKEN = "ghs_killpointsTOKEN0123456789"
CONFIG = """
jobs:
  overnight:
    kind: report
    include: ["src/**/*.py"]
  nightly-tests:
    kind: test-generation
    include: ["src/**/*.py"]
    output_dir: tests/generated
  urgent:
    kind: report
    api: sync
    include: ["src/**/*.py"]
"""
SOURCES = ("src/a.py", "src/b.py", "src/calc.py", "src/db.py")
GENERATED = tuple(f"tests/generated/test_{Path(source).stem}.py" for source in SOURCES)


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    commit_files(repo, {"src/a.py": "print('a')\n", "src/b.py": "print('b')\n"}, "initial")
    files = {".github/ci-reviewer.yml": CONFIG, "src/calc.py": "x = 1\n", "src/db.py": "y = 2\n"}
    commit_files(repo, files, "code")
    return repo


@pytest.fixture
def claude() -> Iterator[ClaudeEmulator]:
    emulator = ClaudeEmulator(clock=EmulatedClock(START)).start()
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


class Runner:
    """Runs the CLI in a subprocess against the emulators of this process."""

    def __init__(
        self, checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator, job: str
    ) -> None:
        self.job = job
        self.command = [sys.executable, "-m", "ci_reviewer", "--workdir", str(checkout),
                        "batch", "run", "--job", job, "--format", "json"]  # fmt: skip
        self.env = {
            **os.environ,
            "ANTHROPIC_API_KEY": "sk-ant-api03-LEAKCANARY-killpoints-5b1e",
            "ANTHROPIC_BASE_URL": claude.url,
            "GITHUB_TOKEN": TOKEN,
            "GITHUB_API_URL": origin.url,
            "GITHUB_REPOSITORY": "octo/demo",
            "GITHUB_RUN_ID": "777",
        }
        self.cwd = checkout.parent

    def run(
        self, kill_at: str = "", kill_on: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, "CI_REVIEWER_KILL_AT": kill_at}
        with subprocess.Popen(
            self.command, env=env, cwd=self.cwd, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        ) as process:  # fmt: skip
            observer = _killer(process, kill_on)
            github_emulator_module.RESPONSE_OBSERVERS.append(observer)
            try:
                out, err = process.communicate(timeout=120)
            finally:
                github_emulator_module.RESPONSE_OBSERVERS.remove(observer)
        return subprocess.CompletedProcess(self.command, process.returncode, out, err)


def _killer(process: subprocess.Popen[str], route: str | None) -> Any:
    """Kill the CLI the moment GitHub has done (but not yet answered) a matching write."""

    def observe(request: Request, response: Response) -> None:
        if route and re.search(route, f"{request.method} {request.path}") and response.status < 300:
            os.kill(process.pid, signal.SIGKILL)

    return observe


@pytest.fixture
def runner(checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator) -> Runner:
    return Runner(checkout, origin, claude, "overnight")


def generated_test(body: dict[str, Any]) -> Reply | None:
    """The model's answer to a test-generation request: a test named after its source."""
    asked = json.dumps(body.get("messages", ""))
    source = next((s for s in SOURCES if s in asked), None)
    if source is None:
        return None
    stem = Path(source).stem
    test = {"target_path": f"test_{stem}.py", "content": f"def test_{stem}():\n    pass\n"}
    return Reply.json({**test, "framework": "pytest", "notes": ""})


@pytest.fixture
def test_runner(checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator) -> Runner:
    claude.responder = generated_test
    return Runner(checkout, origin, claude, "nightly-tests")


def batches_created(claude: ClaudeEmulator) -> int:
    """Batches that exist on the API (a request answered with an injected fault made none)."""
    return len(claude.batches.all_newest_first())


def report_issues(origin: GitHubEmulator) -> list[dict[str, Any]]:
    return [i for i in origin.state.issues.values() if "pull_request" not in i]


def a_schedule_later(origin: GitHubEmulator, tmp_path: Path) -> None:
    """The next scheduled run comes hours later: age the recorded intents past the grace in
    which another run might still be creating their batch (the CLI runs on the wall clock)."""
    work = tmp_path / "state-edit"
    git(tmp_path, "clone", "-q", "-b", "ci-reviewer-state", str(origin.git.repo_dir), str(work))
    path = work / "state" / "overnight.json"
    document = json.loads(path.read_text())
    for submission in document["submissions"]:
        then = datetime.fromisoformat(submission["intent_at"].replace("Z", "+00:00"))
        submission["intent_at"] = (then - timedelta(hours=4)).isoformat()
    path.write_text(json.dumps(document, indent=2))
    git(work, "commit", "-qam", "four hours pass")
    git(work, "push", "-q", "origin", "ci-reviewer-state")


def run_until_published(runner: Runner, origin: GitHubEmulator) -> None:
    for _ in range(3):
        done = runner.run()
        assert done.returncode == 0, done.stderr
        published = origin.state.pulls if runner.job == "nightly-tests" else report_issues(origin)
        if published and not json.loads(done.stdout)["collected"]["pending"]:
            return


def assert_published_once(claude: ClaudeEmulator, origin: GitHubEmulator) -> None:
    assert batches_created(claude) == 1
    [issue] = report_issues(origin)
    for source in SOURCES:
        assert source in issue["body"]
    assert not origin.state.pulls


@pytest.mark.parametrize(
    "checkpoint", ["collected", "intent-recorded", "batch-created", "state-saved"]
)
def test_killed_while_submitting_the_next_runs_recover(
    runner: Runner,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    tmp_path: Path,
    checkpoint: str,
) -> None:
    killed = runner.run(kill_at=checkpoint)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    if checkpoint == "intent-recorded":
        a_schedule_later(origin, tmp_path)

    run_until_published(runner, origin)

    assert_published_once(claude, origin)


@pytest.mark.parametrize(
    ("kill_at", "kill_on"),
    [("publishing", None), ("", r"^POST /repos/octo/demo/issues$")],
    ids=["before-publishing", "issue-created-not-saved"],
)
def test_killed_while_publishing_the_next_run_publishes_once(
    runner: Runner,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    kill_at: str,
    kill_on: str | None,
) -> None:
    kill_then_finish(runner, origin, kill_at, kill_on, submit_first=True)

    assert_published_once(claude, origin)


def test_a_sync_job_killed_after_opening_its_issue_edits_that_issue_when_run_again(
    checkout: Path, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    runner = Runner(checkout, origin, claude, "urgent")
    killed = runner.run(kill_on=r"^POST /repos/octo/demo/issues$")
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(report_issues(origin)) == 1  # opened; the answers died with the process

    again = runner.run()  # asks again, and publishes as the lost run would have

    assert again.returncode == 0, again.stderr
    [issue] = report_issues(origin)
    assert all(source in issue["body"] for source in SOURCES)
    assert batches_created(claude) == 0


def kill_then_finish(
    runner: Runner, origin: GitHubEmulator, kill_at: str, kill_on: str | None, *, submit_first: bool
) -> None:
    """(A first run that submits,) the run that is killed, then runs until published."""
    if submit_first:
        submitted = runner.run()
        assert submitted.returncode == 0, submitted.stderr
    killed = runner.run(kill_at=kill_at, kill_on=kill_on)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    run_until_published(runner, origin)


def assert_one_pull_request_with_every_test(claude: ClaudeEmulator, origin: GitHubEmulator) -> None:
    assert batches_created(claude) == 1
    [pull] = origin.state.pulls.values()
    bare = origin.git.repo_dir
    head = git(bare, "rev-parse", pull["head"])
    files = git(bare, "diff", "--name-only", f"{pull['base_sha']}..{head}").split()
    assert sorted(files) == sorted(GENERATED)
    assert not report_issues(origin)


@pytest.mark.parametrize(
    ("kill_at", "kill_on"),
    # Killed before the batch exists ("collected", "intent-recorded") is the same code for
    # every kind, proven above; from the batch on, the kind's own results and PR are at stake.
    [
        ("batch-created", None),
        ("state-saved", None),
        ("publishing", None),
        ("", r"^POST /repos/octo/demo/git/refs$"),
        ("", r"^POST /repos/octo/demo/pulls$"),
    ],
    ids=[
        "batch-created",
        "state-saved",
        "before-publishing",
        "branch-pushed-no-pr",
        "pr-opened-not-saved",
    ],
)
def test_test_generation_killed_at_each_step_ends_with_one_pull_request(
    test_runner: Runner,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    kill_at: str,
    kill_on: str | None,
) -> None:
    publishing = kill_at in ("publishing", "")
    kill_then_finish(test_runner, origin, kill_at, kill_on, submit_first=publishing)

    assert_one_pull_request_with_every_test(claude, origin)
