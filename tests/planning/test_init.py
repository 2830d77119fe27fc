from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from ci_reviewer.config import load_config
from tests.planning.conftest import Outcome

WORKFLOWS = (
    "ci-reviewer-review.yml",
    "ci-reviewer-answer.yml",
    "ci-reviewer-nightly-tests.yml",
    "ci-reviewer-weekly-audit.yml",
    "ci-reviewer-overnight-report.yml",
)


def test_init_on_an_empty_repo_writes_a_valid_config_and_workflows(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = run_cli("init", "--workdir", str(tmp_path))
    assert done.code == 0
    config = load_config(tmp_path / ".github/ci-reviewer.yml", required=True)
    assert config.jobs["nightly-tests"].sla_hours == 30
    for name in WORKFLOWS:
        assert f".github/workflows/{name}" in done.out
        workflow = yaml.safe_load((tmp_path / ".github/workflows" / name).read_text())
        assert workflow[True], "every workflow has triggers"
        assert "permissions" in workflow
    nightly = yaml.safe_load(
        (tmp_path / ".github/workflows/ci-reviewer-nightly-tests.yml").read_text()
    )
    assert nightly[True]["schedule"] == [{"cron": "0 */4 * * *"}]
    review = yaml.safe_load((tmp_path / ".github/workflows/ci-reviewer-review.yml").read_text())
    assert review["concurrency"]["cancel-in-progress"] is True


def test_init_derives_the_nightly_schedule_from_the_sla(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    assert run_cli("init", "--workdir", str(tmp_path), "--sla-hours", "38").code == 0
    text = (tmp_path / ".github/workflows/ci-reviewer-nightly-tests.yml").read_text()
    assert '"0 */12 * * *"' in text
    assert load_config(tmp_path / ".github/ci-reviewer.yml").jobs["nightly-tests"].sla_hours == 38


PINNED = "claude-ci-reviewer/claude-ci-reviewer@" + "3f" * 20


def test_init_written_repo_plans_clean_once_the_action_is_pinned(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # plan reads a checkout
    assert run_cli("init", "--workdir", str(tmp_path), "--action-ref", PINNED).code == 0
    done = run_cli("plan", "--workdir", str(tmp_path), "--format", "json")
    assert done.code == 0, done.out
    findings = json.loads(done.out)["findings"]
    assert [f for f in findings if f["level"] != "info"] == []


def test_init_without_an_action_ref_writes_a_placeholder_that_plan_reports(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # plan reads a checkout
    done = run_cli("init", "--workdir", str(tmp_path))
    assert done.code == 0
    assert "placeholder commit" in done.err and "--action-ref" in done.err
    planned = run_cli("plan", "--workdir", str(tmp_path), "--format", "json")
    assert planned.code == 2
    errors = [f for f in json.loads(planned.out)["findings"] if f["level"] == "error"]
    assert {f["code"] for f in errors} == {"placeholder-action-ref"}
    assert sorted(f["where"].split(":")[0] for f in errors) == sorted(
        f".github/workflows/{name}" for name in WORKFLOWS
    )


@pytest.mark.parametrize(
    ("given", "written"),
    [
        ("3f" * 20, PINNED),
        (PINNED, PINNED),
        ("my-org/claude-ci-reviewer@" + "ab" * 20, "my-org/claude-ci-reviewer@" + "ab" * 20),
        ("v1", "claude-ci-reviewer/claude-ci-reviewer@v1"),
    ],
)
def test_init_writes_the_chosen_action_ref_in_every_workflow(
    given: str, written: str, tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = run_cli("init", "--workdir", str(tmp_path), "--action-ref", given)
    assert done.code == 0, done.err
    assert ("can move" in done.err) == (given == "v1")  # a tag is written, and flagged
    for name in WORKFLOWS:
        workflow = yaml.safe_load((tmp_path / ".github/workflows" / name).read_text())
        [job] = workflow["jobs"].values()
        assert [s["uses"] for s in job["steps"] if "claude-ci-reviewer" in s.get("uses", "")] == [
            written
        ]


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ("owner/claude-ci-reviewer", "is not OWNER/REPO@REF"),
        ("owner/claude-ci-reviewer@v1 extra", "is not OWNER/REPO@REF"),
        ("owner/other-action@" + "ab" * 20, "must be named claude-ci-reviewer"),
    ],
)
def test_init_refuses_an_action_ref_it_cannot_use(
    given: str, said: str, tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = run_cli("init", "--workdir", str(tmp_path), "--action-ref", given)
    assert done.code == 2
    assert said in done.err
    assert not (tmp_path / ".github").exists()


# What each workflow's job writes, and so the token it must have (README "First run").
EXPECTED_PERMISSIONS = {
    "ci-reviewer-review.yml": {"contents": "read", "pull-requests": "write", "checks": "write"},
    "ci-reviewer-answer.yml": {"contents": "read", "pull-requests": "write"},
    "ci-reviewer-nightly-tests.yml": {
        "contents": "write",
        "pull-requests": "write",
        "issues": "write",
    },
    "ci-reviewer-weekly-audit.yml": {"contents": "write", "issues": "write"},
    "ci-reviewer-overnight-report.yml": {"contents": "write", "issues": "write"},
}


def test_each_workflow_grants_its_job_exactly_what_it_writes_and_says_why(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    run_cli("init", "--workdir", str(tmp_path))
    for name, expected in EXPECTED_PERMISSIONS.items():
        text = (tmp_path / ".github/workflows" / name).read_text()
        workflow = yaml.safe_load(text)
        assert workflow["permissions"] == {}, name  # nothing granted outside the job
        [job] = workflow["jobs"].values()
        assert job["permissions"] == expected, name
        for scope in expected:
            [line] = [x for x in text.splitlines() if x.strip().startswith(f"{scope}:")]
            assert "#" in line and len(line.split("#", 1)[1].strip()) > 10, (name, line)


def test_every_job_that_looks_back_checks_out_the_whole_history(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    run_cli("init", "--workdir", str(tmp_path))
    config = load_config(tmp_path / ".github/ci-reviewer.yml")
    for name in WORKFLOWS:
        workflow = yaml.safe_load((tmp_path / ".github/workflows" / name).read_text())
        [job] = workflow["jobs"].values()
        [checkout] = [s for s in job["steps"] if s.get("uses", "").startswith("actions/checkout@")]
        assert checkout["with"]["persist-credentials"] is False
        [step] = [s for s in job["steps"] if "claude-ci-reviewer" in s.get("uses", "")]
        since = config.jobs[step["with"]["job"]].since if "job" in step["with"] else None
        if since is not None:
            assert since != "all"
            assert checkout["with"]["fetch-depth"] == 0, name


def test_init_refuses_to_overwrite_and_writes_nothing(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    existing = tmp_path / ".github/workflows/ci-reviewer-review.yml"
    existing.parent.mkdir(parents=True)
    existing.write_text("name: mine\n")
    done = run_cli("init", "--workdir", str(tmp_path))
    assert done.code == 2
    assert ".github/workflows/ci-reviewer-review.yml" in done.err
    assert existing.read_text() == "name: mine\n"
    assert not (tmp_path / ".github/ci-reviewer.yml").exists()


def test_init_with_an_sla_batch_cannot_meet_exits_2(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    done = run_cli("init", "--workdir", str(tmp_path), "--sla-hours", "20")
    assert done.code == 2
    assert "batch cannot meet" in done.err
    assert not (tmp_path / ".github").exists()


def test_workflow_secrets_never_expand_inside_run_scripts(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    run_cli("init", "--workdir", str(tmp_path))
    for name in WORKFLOWS:
        workflow = yaml.safe_load((tmp_path / ".github/workflows" / name).read_text())
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), name
                uses = step.get("uses", "")
                if uses.startswith("actions/"):
                    assert len(uses.split("@")[1]) == 40, "pinned by full commit SHA"


def test_init_outside_a_git_repository_warns_and_inside_one_does_not(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    loose, repo = tmp_path / "loose", tmp_path / "repo"
    loose.mkdir()
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)

    outside = run_cli("init", "--workdir", str(loose))
    inside = run_cli("init", "--workdir", str(repo))

    assert outside.code == 0 and (loose / ".github/ci-reviewer.yml").exists()
    assert "is not a git repository" in outside.err
    assert inside.code == 0 and "not a git repository" not in inside.err


def test_plan_calls_the_answer_workflow_interactive_and_never_batched(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)  # plan reads a checkout
    assert run_cli("init", "--workdir", str(tmp_path), "--action-ref", PINNED).code == 0
    done = run_cli("plan", "--workdir", str(tmp_path), "--format", "json")
    planned = json.loads(done.out)
    [step] = [s for s in planned["steps"] if s["command"] == "answer"]
    assert step["api"] == "sync" and step["tool_calling"] is True
    assert step["triggers"] == ["issue_comment", "pull_request_review_comment"]
    [said] = [f for f in planned["findings"] if f["code"] == "interactive-answer"]
    assert said["level"] == "info" and "never on the Batches API" in said["message"]
    assert said["where"].startswith(".github/workflows/ci-reviewer-answer.yml")
