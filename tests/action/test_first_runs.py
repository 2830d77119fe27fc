"""Every workflow `ci-reviewer init` writes, run as a runner would (its token limited to its
`permissions:`, its checkout as actions/checkout makes it, the action's steps) on a brand-new
repository with no state branch: each passes its first run, and the next run publishes."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ci_reviewer.cli import cli
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from tests.action.workflow_runner import Event, JobRun, Origin, run_workflow
from tests.emulators.github_fixtures import TOKEN, commit_files, git
from tests.review.conftest import answer, file_of, finding_json

ACTION_REF = "claude-ci-reviewer/claude-ci-reviewer@" + "3f" * 20
API_KEY = "sk-ant-first-run-key"
STATE_BRANCH = "ci-reviewer-state"
SOURCES = {
    "src/calc.py": "def add(a, b):\n    return a + b\n",
    "src/db.py": "def find(db, name):\n    return db.execute(f\"select * where n = '{name}'\")\n",
}
SQL_INJECTION = {
    "path": "src/db.py",
    "line": 2,
    "severity": "high",
    "cwe": "CWE-89",
    "title": "SQL injection",
    "description": "name is formatted into SQL.",
    "recommendation": "Use a parameterised query.",
    "confidence": "high",
}


def _model(body: Mapping[str, Any]) -> Reply | None:
    """Claude's answers: a test file per source, an SQL injection in src/db.py, and in the
    review a medium finding on the changed line of src/calc.py (below fail-on: high)."""
    asked = json.dumps(body.get("messages", ""))
    for source in SOURCES:
        stem = Path(source).stem
        if f"Write tests for {source}." in asked:
            test = f"from src.{stem} import *\n\n\ndef test_{stem}():\n    assert True\n"
            return Reply.json(
                {
                    "target_path": f"test_{stem}.py",
                    "content": test,
                    "framework": "pytest",
                    "notes": "",
                }
            )
        if f"Audit {source}." in asked:
            return Reply.json({"findings": [SQL_INJECTION] if stem == "db" else []})
    if "tools" in body and file_of(body) == "src/calc.py":  # the review's conversation
        medium = finding_json(path="src/calc.py", line=2, severity="medium", title="add subtracts")
        return Reply.json(answer(medium))
    return None


@dataclass
class NewRepository:
    """A repository just set up as the README says: `init`, the key, push."""

    work: Path
    origin: Origin
    claude: ClaudeEmulator
    action_dir: Path
    runner_temp: Path

    @property
    def github(self) -> GitHubEmulator:
        return self.origin.github

    def workflow(self, name: str) -> Path:
        return self.work / ".github/workflows" / name

    def run(self, name: str, event: Event, run_id: str) -> JobRun:
        [job] = run_workflow(
            self.workflow(name),
            event=event,
            origin=self.origin,
            action_dir=self.action_dir,
            runner_temp=self.runner_temp,
            secrets={"ANTHROPIC_API_KEY": API_KEY},
            extra_env={"ANTHROPIC_BASE_URL": self.claude.url},
            run_id=run_id,
        ).values()
        return job

    def scheduled(self) -> Event:
        sha = git(self.origin.bare, "rev-parse", "refs/heads/main")
        return Event("schedule", sha, "refs/heads/main", {"schedule": "0 5 * * 1"})

    def branches(self) -> str:
        return git(self.origin.bare, "branch", "--list")

    def state(self, job: str) -> dict[str, Any]:
        shown = git(self.origin.bare, "show", f"{STATE_BRANCH}:state/{job}.json")
        return json.loads(shown)

    def issues(self) -> list[dict[str, Any]]:
        return [i for i in self.github.state.issues.values() if "pull_request" not in i]


@pytest.fixture
def new_repo(tmp_path: Path, action_dir: Path, runner_temp: Path) -> Iterator[NewRepository]:
    work = tmp_path / "work"
    work.mkdir()
    git(work, "init", "-q", "-b", "main")
    done = CliRunner().invoke(cli, ["--workdir", str(work), "init", "--action-ref", ACTION_REF])
    assert done.exit_code == 0, done.output
    commit_files(work, SOURCES, "init and code")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(work), str(bare))
    git(work, "remote", "add", "origin", str(bare))
    with GitHubEmulator(bare, token=TOKEN) as github, ClaudeEmulator() as claude:
        claude.responder = _model
        yield NewRepository(work, Origin(bare, github), claude, action_dir, runner_temp)


def test_nightly_tests_first_run_creates_the_state_and_the_next_opens_a_pull_request(
    new_repo: NewRepository,
) -> None:
    assert STATE_BRANCH not in new_repo.branches()
    first = new_repo.run("ci-reviewer-nightly-tests.yml", new_repo.scheduled(), "101")
    assert first.returncode == 0, first.output
    [action] = first.actions
    assert action.outputs["batch-ids"].startswith("msgbatch_")
    assert STATE_BRANCH in new_repo.branches()
    assert len(new_repo.state("nightly-tests")["submissions"]) == 1
    assert not new_repo.github.state.pulls

    second = new_repo.run("ci-reviewer-nightly-tests.yml", new_repo.scheduled(), "102")
    assert second.returncode == 0, second.output
    [pull] = new_repo.github.state.pulls.values()
    assert pull["head"] == "ci-reviewer/nightly-tests/102"
    files = git(new_repo.origin.bare, "ls-tree", "-r", "--name-only", pull["head"]).split()
    assert {"tests/generated/test_calc.py", "tests/generated/test_db.py"} <= set(files)


@pytest.mark.parametrize(
    ("workflow", "job"),
    [
        ("ci-reviewer-weekly-audit.yml", "weekly-audit"),
        ("ci-reviewer-overnight-report.yml", "overnight-report"),
    ],
)
def test_issue_jobs_first_run_creates_the_state_and_the_next_opens_a_labelled_issue(
    workflow: str, job: str, new_repo: NewRepository
) -> None:
    first = new_repo.run(workflow, new_repo.scheduled(), "201")
    assert first.returncode == 0, first.output
    assert first.scopes == {"contents": "write", "issues": "write"}
    assert len(new_repo.state(job)["submissions"]) == 1
    assert new_repo.issues() == []

    second = new_repo.run(workflow, new_repo.scheduled(), "202")
    assert second.returncode == 0, second.output
    [issue] = new_repo.issues()
    assert [label["name"] for label in issue["labels"]] == [job]
    if job == "weekly-audit":
        assert "SQL injection" in issue["body"]


def test_review_first_run_posts_the_review_the_check_and_the_summary(
    new_repo: NewRepository,
) -> None:
    git(new_repo.work, "checkout", "-q", "-b", "feature")
    head = commit_files(new_repo.work, {"src/calc.py": "def add(a, b):\n    return a - b\n"}, "x")
    git(new_repo.work, "push", "-q", "origin", "feature")
    number = new_repo.github.open_pull("feature")
    merge = _merge_ref(new_repo.origin.bare, number)
    payload = {
        "action": "opened",
        "number": number,
        "pull_request": {"number": number, "draft": False, "head": {"sha": head}},
        "repository": {"full_name": "octo/demo"},
    }
    event = Event("pull_request", merge, f"refs/pull/{number}/merge", payload)

    run = new_repo.run("ci-reviewer-review.yml", event, "301")

    assert run.ran and run.returncode == 0, run.output
    [review] = new_repo.github.state.reviews[number]
    assert "add subtracts" in json.dumps(review) + json.dumps(
        new_repo.github.state.review_comments.get(number, [])
    )
    assert [c["name"] for c in new_repo.github.state.check_runs] == ["ci-reviewer"]
    comments = new_repo.github.state.issue_comments.get(number, [])
    assert any("<!-- ci-reviewer:summary -->" in c["body"] for c in comments)


def test_a_draft_pull_request_is_not_reviewed(new_repo: NewRepository) -> None:
    payload = {"number": 1, "pull_request": {"number": 1, "draft": True}}
    sha = git(new_repo.origin.bare, "rev-parse", "main")
    run = new_repo.run("ci-reviewer-review.yml", Event("pull_request", sha, "", payload), "302")
    assert not run.ran


def test_the_old_read_only_permissions_fail_the_first_run_against_the_emulator(
    new_repo: NewRepository,
) -> None:
    """What the weekly audit had before: `contents: read` cannot create the state branch."""
    path = new_repo.workflow("ci-reviewer-weekly-audit.yml")
    path.write_text(path.read_text().replace("contents: write", "contents: read"))
    run = new_repo.run("ci-reviewer-weekly-audit.yml", new_repo.scheduled(), "401")
    assert run.returncode == 3
    assert "create the state branch ci-reviewer-state" in run.output
    assert "Resource not accessible by integration" in run.output
    assert STATE_BRANCH not in new_repo.branches()
    assert new_repo.claude.batches.all_newest_first() == []  # refused before submitting


def test_a_one_commit_checkout_of_a_private_repository_stops_the_audit_naming_fetch_depth(
    new_repo: NewRepository,
) -> None:
    path = new_repo.workflow("ci-reviewer-weekly-audit.yml")
    text = path.read_text()
    depth = "          fetch-depth: 0  # since: 7d reads the last week's commits\n"
    assert depth in text
    path.write_text(text.replace(depth, ""))
    run = new_repo.run("ci-reviewer-weekly-audit.yml", new_repo.scheduled(), "402")
    assert run.returncode == 2
    assert "fetch-depth: 0" in run.output
    assert new_repo.claude.batches.all_newest_first() == []  # nothing was submitted


def _merge_ref(bare: Path, number: int) -> str:
    """refs/pull/N/merge, as GitHub makes it: the head merged into the base."""
    tree = git(bare, "merge-tree", "--write-tree", "main", "feature")
    commit = git(bare, "commit-tree", tree, "-p", "main", "-p", "feature", "-m", "Merge")
    git(bare, "update-ref", f"refs/pull/{number}/merge", commit)
    return commit
