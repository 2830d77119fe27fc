"""GitHub carries out a write and then fails to say so (a 502 from a proxy, a dropped
connection): every write of the product is looked for before it is sent again, so nothing is
written twice. Real PyGithub against the GitHub emulator's "after" fault; each run either
succeeds or exits 3 saying what GitHub answered, and the next run leaves exactly one.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.emulators.server import Fault
from ci_reviewer.errors import GitHubAPIError
from tests.batch.conftest import commit_files, git
from tests.github.test_review_fixtures import World, numbered, world
from tests.reliability.test_github_faults_review import assert_written_once, pr_with_findings
from tests.reliability.test_kill_points import TOKEN as KILL_POINTS_TOKEN
from tests.reliability.test_kill_points import a_schedule_later, claude, origin

__all__ = ["claude", "origin", "world"]  # fixtures shared with other modules
REVIEWS = r"^/repos/octo/demo/pulls/\d+/reviews$"
SUMMARY = r"^/repos/octo/demo/issues/\d+/comments$"
CHECK_RUNS = r"^/repos/octo/demo/check-runs$"
CHECK_RUN = r"^/repos/octo/demo/check-runs/\d+$"
# How GitHub fails after the write: a proxy's 502, or the connection closes unanswered.
ENDINGS = {"502": {"status": 502}, "drop": {"then": "drop"}}


def after(route: str, ending: str, method: str = "POST") -> Fault:
    return Fault(route, kind="after", method=method, **ENDINGS[ending])  # type: ignore[arg-type]


def sent(emulator: GitHubEmulator, method: str, route: str) -> int:
    return sum(1 for r in emulator.log if r.method == method and re.search(route, r.path))


# -- the pull-request review ---------------------------------------------------------------------
@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize(
    "route", [REVIEWS, SUMMARY, CHECK_RUNS], ids=["review", "summary", "check-run"]
)
def test_a_review_write_that_lands_then_fails_is_not_sent_again(
    world: World, route: str, ending: str
) -> None:
    number = pr_with_findings(world)
    world.github.inject(after(route, ending))

    outcome = world.run(number)

    assert outcome.exit_code == 1  # the gate's verdict, as if nothing had failed
    assert sent(world.github, "POST", route) == 1  # found where it landed, not sent again
    assert_written_once(world, number)
    world.run(number, full=True)
    assert_written_once(world, number)


@pytest.mark.parametrize("ending", ENDINGS)
def test_annotations_that_land_then_fail_are_not_appended_twice(world: World, ending: str) -> None:
    """Past 50 annotations the rest arrive in an edit, which GitHub appends: a resend of a
    landed edit would show every one of those findings twice on the check run."""
    world.push({"app.py": numbered({i: f"eval(x{i})" for i in range(1, 41)})})
    number = world.open_pr()
    findings = [{"line": i, "title": f"eval number {i}", "severity": "low"} for i in range(1, 41)]
    world.findings("app.py", *findings)
    world.push({"lib.py": "".join(f"exec(y{i})\n" for i in range(1, 21))})
    more = [{"line": i, "title": f"exec number {i}", "severity": "low"} for i in range(1, 21)]
    world.findings("lib.py", *more)
    world.github.inject(after(CHECK_RUN, ending, method="PATCH"))

    world.run(number)

    assert sent(world.github, "PATCH", CHECK_RUN) == 1
    (run,) = world.check_runs()
    notes = world.github.state.annotations[run["id"]]
    assert len(notes) == 60
    assert len({(n["path"], n["start_line"]) for n in notes}) == 60


def test_a_landed_review_github_then_will_not_show_is_exit_3_and_never_repeated(
    world: World,
) -> None:
    """The review lands, the answer is a 502, and GitHub keeps failing the look for it: the
    run cannot tell, so it stops (exit 3) instead of guessing; the next run finds it."""
    number = pr_with_findings(world)
    world.github.inject(Fault(REVIEWS, kind="hang", seconds=0, method="GET"))  # the first read
    world.github.inject(after(REVIEWS, "502"))
    world.github.inject(Fault(REVIEWS, status=502, times=50, method="GET"))  # every later one

    with pytest.raises(GitHubAPIError) as failed:
        world.run(number, retries=2)

    assert failed.value.exit_code == 3
    assert "posting the review (looking whether it landed)" in str(failed.value)
    assert "502" in str(failed.value)
    assert len(world.reviews(number)) == 1
    world.github.faults.clear()

    assert world.run(number).exit_code == 1
    assert_written_once(world, number)


def test_a_write_github_never_took_is_sent_again_and_lands_once(world: World) -> None:
    """A plain 502 (nothing written): the look finds nothing, so the review is sent again."""
    number = pr_with_findings(world)
    world.github.inject(Fault(REVIEWS, status=502, times=2, method="POST"))

    assert world.run(number).exit_code == 1

    assert sent(world.github, "POST", REVIEWS) == 3
    assert_written_once(world, number)


# -- the scheduled batch jobs -------------------------------------------------------------------
CONFIG = """
jobs:
  overnight:
    kind: report
    include: ["src/**/*.py"]
  weekly-audit:
    kind: security-audit
    include: ["src/**/*.py"]
  nightly-tests:
    kind: test-generation
    include: ["src/**/*.py"]
    output_dir: tests/generated
"""
SOURCES = ("src/calc.py", "src/db.py")
ISSUES = r"^/repos/octo/demo/issues$"
LABELS = r"^/repos/octo/demo/labels$"
PULLS = r"^/repos/octo/demo/pulls$"
GIT = r"^/repos/octo/demo/git/(blobs|trees|commits|refs)$"
REFS = r"^/repos/octo/demo/git/refs$"
STATE = r"^/repos/octo/demo/contents/state/[a-z-]+\.json$"


@pytest.fixture
def checkout(tmp_path: Path) -> Path:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    files = {".github/ci-reviewer.yml": CONFIG, "src/calc.py": "x = 1\n", "src/db.py": "y = 2\n"}
    commit_files(repo, files, "code")
    return repo


def answer(body: dict[str, Any]) -> Reply | None:
    """A test per source for test generation, a finding per source for the audit; the
    report kind takes the emulator's default answer."""
    asked = json.dumps(body.get("messages", ""))
    source = next((s for s in SOURCES if s in asked), None)
    schema = json.dumps(body.get("output_config", ""))
    if source is None or ("target_path" not in schema and "cwe" not in schema):
        return None
    stem = Path(source).stem
    if "target_path" in schema:
        test = {"target_path": f"test_{stem}.py", "content": f"def test_{stem}():\n    pass\n"}
        return Reply.json({**test, "framework": "pytest", "notes": ""})
    finding = {"path": source, "line": 1, "severity": "high", "cwe": "CWE-89",
               "title": f"injection in {stem}", "description": "d", "recommendation": "r",
               "confidence": "high"}  # fmt: skip
    return Reply.json({"findings": [finding]})


@pytest.fixture
def run(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    """`ci-reviewer batch run --job JOB` as a scheduled workflow runs it: (exit code, stderr)."""
    claude.responder = answer
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-LEAKCANARY-writeonce-3f9a")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    monkeypatch.setenv("GITHUB_TOKEN", KILL_POINTS_TOKEN)
    monkeypatch.setenv("GITHUB_API_URL", origin.url)
    monkeypatch.setenv("GITHUB_REPOSITORY", "octo/demo")
    monkeypatch.setenv("GITHUB_RUN_ID", "909")

    def invoke(job: str) -> tuple[int, str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(checkout), "batch", "run", "--job", job, "--format", "json"])
        _, err = capsys.readouterr()
        return int(done.value.code or 0), err

    return invoke


def issues_of(origin: GitHubEmulator, job: str) -> list[dict[str, Any]]:
    return [
        issue
        for issue in origin.state.issues.values()
        if "pull_request" not in issue and job in [label["name"] for label in issue["labels"]]
    ]


def assert_one_issue_with_every_file(
    claude: ClaudeEmulator, origin: GitHubEmulator, job: str
) -> None:
    assert len(claude.batches.all_newest_first()) == 1
    [issue] = issues_of(origin, job)
    for source in SOURCES:
        assert source in issue["body"]
    assert not origin.state.pulls


def assert_one_pull_request_with_every_test(claude: ClaudeEmulator, origin: GitHubEmulator) -> None:
    assert len(claude.batches.all_newest_first()) == 1
    [pull] = origin.state.pulls.values()
    bare = origin.git.repo_dir
    head = git(bare, "rev-parse", pull["head"])
    files = git(bare, "diff", "--name-only", f"{pull['base_sha']}..{head}").split()
    assert sorted(files) == [f"tests/generated/test_{Path(s).stem}.py" for s in SOURCES]


def finish(run: Any, job: str) -> None:
    """Scheduled runs until the job has nothing left to collect; each must succeed."""
    for _ in range(3):
        code, err = run(job)
        assert code == 0, err


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize(
    ("job", "route"),
    [("weekly-audit", ISSUES), ("overnight", ISSUES), ("overnight", LABELS)],
    ids=["audit-issue", "report-issue", "label"],
)
def test_an_issue_that_lands_then_fails_is_opened_once(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator, job: str, route: str, ending: str
) -> None:
    assert run(job)[0] == 0  # submits; nothing is published before results are collected
    origin.inject(after(route, ending))

    code, err = run(job)

    assert code == 0, err
    assert sent(origin, "POST", route) == 1
    finish(run, job)
    assert_one_issue_with_every_file(claude, origin, job)


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("route", [PULLS, REFS, GIT], ids=["pull-request", "branch", "git-objects"])
def test_a_pull_request_that_lands_then_fails_is_opened_once(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator, route: str, ending: str
) -> None:
    assert run("nightly-tests")[0] == 0
    origin.inject(after(route, ending, method="POST"))

    code, err = run("nightly-tests")

    assert code == 0, err
    finish(run, "nightly-tests")
    assert_one_pull_request_with_every_test(claude, origin)
    assert sent(origin, "POST", PULLS) == 1


@pytest.mark.parametrize("ending", ENDINGS)
@pytest.mark.parametrize("which", [1, 2, 3], ids=["first-save", "second-save", "third-save"])
def test_a_state_write_that_lands_then_fails_submits_one_batch(
    run: Any,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    tmp_path: Path,
    which: int,
    ending: str,
) -> None:
    """The contents API's sha makes a resent state write a 409 (or a 422 for a file that
    now exists): the run reloads what it wrote and nothing is submitted twice. When the
    landed write was the run's own intent, the run recognises its intent ids and creates the
    batch in the same run."""
    if which > 1:  # the saves before it go through
        origin.inject(Fault(STATE, kind="hang", seconds=0, method="PUT", times=which - 1))
    origin.inject(after(STATE, ending, method="PUT"))

    code, err = run("overnight")

    assert code == 0, err
    assert len(claude.batches.all_newest_first()) == 1  # submitted now, not a grace later
    a_schedule_later(origin, tmp_path)
    finish(run, "overnight")
    assert_one_issue_with_every_file(claude, origin, "overnight")


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_state_branch_that_lands_then_fails_is_made_once(
    run: Any, claude: ClaudeEmulator, origin: GitHubEmulator, ending: str
) -> None:
    origin.inject(after(REFS, ending))

    finish(run, "overnight")

    assert sent(origin, "POST", REFS) == 1
    assert "ci-reviewer-state" in git(origin.git.repo_dir, "branch", "--list")
    assert_one_issue_with_every_file(claude, origin, "overnight")
