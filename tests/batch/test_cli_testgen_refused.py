"""`ci-reviewer batch run` of a test-generation job in a repository where GitHub Actions may
not open pull requests (GitHub's default for new repositories), run after run as a schedule
runs it in GitHub Actions, against emulators that answer as GitHub does (403, its words)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from tests.batch.conftest import commit_files, git, point_cli_at_emulators, served_origin

TOKEN = "ghs_emulatortoken0000"
CONFIG = """
jobs:
  nightly-tests:
    kind: test-generation
    include: ["src/**/*.py"]
    output_dir: tests/generated
"""
SETTING = "Allow GitHub Actions to create and approve pull requests"
BRANCH = "ci-reviewer/nightly-tests/1002"  # named by the run that first pushed it


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(repo, {".github/ci-reviewer.yml": CONFIG}, "config")
    return repo


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        emulator.set_workflow_permissions(can_approve_pull_request_reviews=False)
        yield emulator


@dataclass(frozen=True)
class Run:
    code: int
    report: dict[str, Any]
    annotations: list[str]
    stderr: str

    @property
    def submitted(self) -> int:
        return sum(b["requests"] for b in self.report["submitted"]["batches"])


@pytest.fixture
def scheduled_run(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    point_cli_at_emulators(monkeypatch, claude, origin.url, TOKEN, "0")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")

    def invoke(run_id: str) -> Run:
        monkeypatch.setenv("GITHUB_RUN_ID", run_id)
        with pytest.raises(SystemExit) as done:
            main(
                [
                    "--workdir",
                    str(checkout),
                    "batch",
                    "run",
                    "--job",
                    "nightly-tests",
                    "--format",
                    "json",
                ]
            )
        out, err = capsys.readouterr()
        commands = [line for line in out.splitlines() if line.startswith("::")]
        rest = "\n".join(line for line in out.splitlines() if not line.startswith("::"))
        return Run(int(done.value.code or 0), json.loads(rest or "{}"), commands, err)

    return invoke


def new_source(checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator, name: str) -> None:
    """A source file pushed to main, and the test the model will write for it."""
    commit_files(checkout, {f"src/{name}.py": f"{name.upper()} = 1\n"}, f"add {name}")
    git(checkout, "push", "-q", str(origin.git.repo_dir), "main")
    expect_test(claude, name)


def expect_test(claude: ClaudeEmulator, name: str) -> None:
    answer = {
        "target_path": f"test_{name}.py",
        "content": f"def test_{name}():\n    assert True\n",
        "framework": "pytest",
        "notes": "",
    }
    claude.enqueue(Reply.json(answer), when=lambda body: f"src/{name}.py" in json.dumps(body))


def job_branches(origin: GitHubEmulator) -> list[str]:
    out = git(origin.git.repo_dir, "for-each-ref", "--format=%(refname)", "refs/heads/")
    return [ref for ref in out.splitlines() if ref.startswith("refs/heads/ci-reviewer/")]


def on_branch(origin: GitHubEmulator, branch: str) -> list[str]:
    diff = git(origin.git.repo_dir, "diff", "--name-only", f"main...{branch}")
    return sorted(diff.splitlines())


def job_issues(origin: GitHubEmulator) -> list[dict[str, Any]]:
    labelled = (i for i in origin.state.issues.values() if i["labels"])
    return [i for i in labelled if i["labels"][0]["name"] == "nightly-tests"]


def generated(*names: str) -> list[str]:
    return sorted(f"tests/generated/test_{n}.py" for n in names)


def test_refused_then_allowed_keeps_one_branch_one_issue_and_opens_the_pr_from_it(
    scheduled_run: Any, checkout: Path, origin: GitHubEmulator, claude: ClaudeEmulator
) -> None:
    html_url = f"{origin.url}/octo/demo"  # the repository's html_url, as the emulator serves it
    for name in ("a", "b"):
        expect_test(claude, name)
    assert scheduled_run("1001").submitted == 2

    # First collection, setting off: the tests wait on one branch, one issue says so.
    new_source(checkout, origin, claude, "c")
    second = scheduled_run("1002")
    assert second.code == 0, second.stderr
    assert job_branches(origin) == [f"refs/heads/{BRANCH}"]
    assert on_branch(origin, BRANCH) == generated("a", "b")
    assert origin.state.pulls == {}
    [issue] = job_issues(origin)
    assert f"{html_url}/compare/main...{BRANCH}?expand=1" in issue["body"]
    assert SETTING in issue["body"] and "Settings → Actions → General" in issue["body"]
    assert second.report["collected"]["published"] == issue["html_url"]
    [warning] = [a for a in second.annotations if a.startswith("::warning")]
    assert SETTING in warning and BRANCH in warning and f"issue #{issue['number']}" in warning
    assert "warning: GitHub refused" in second.stderr

    # Second collection, still off: the same branch and the same issue, edited.
    new_source(checkout, origin, claude, "d")
    third = scheduled_run("1003")
    assert third.code == 0, third.stderr
    assert job_branches(origin) == [f"refs/heads/{BRANCH}"]
    assert on_branch(origin, BRANCH) == generated("a", "b", "c")
    assert [i["number"] for i in job_issues(origin)] == [issue["number"]]
    assert all(f"`{path}`" in job_issues(origin)[0]["body"] for path in generated("a", "b", "c"))

    # The setting turned on: the pull request opens from that branch; the issue closes.
    origin.set_workflow_permissions(can_approve_pull_request_reviews=True)
    fourth = scheduled_run("1004")
    assert fourth.code == 0, fourth.stderr
    [pull] = origin.state.pulls.values()
    assert pull["head"] == BRANCH and pull["state"] == "open"
    assert on_branch(origin, BRANCH) == generated("a", "b", "c", "d")
    assert job_branches(origin) == [f"refs/heads/{BRANCH}"]
    [closed] = job_issues(origin)
    assert closed["state"] == "closed" and f"#{pull['number']}" in closed["body"]
    assert not [a for a in fourth.annotations if a.startswith("::warning")]

    # Every source was asked about once: refused results were published, not asked again.
    assert second.submitted + third.submitted + fourth.submitted == 2
    fifth = scheduled_run("1005")
    assert fifth.code == 0 and fifth.submitted == 0 and len(origin.state.pulls) == 1
