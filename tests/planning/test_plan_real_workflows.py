"""`plan` over excerpts of real workflow files (tests/planning/real_workflows/, each naming the
repository and path it comes from), next to the workflows `init` writes."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.planning.conftest import Outcome

REAL = Path(__file__).parent / "real_workflows"
PINNED = "claude-ci-reviewer/claude-ci-reviewer@08c6903cd8c0fde910a37f88322edcfb5dd907a8"
ROOT = Path(__file__).resolve().parents[2]


def _checkout(tmp_path: Path, files: dict[str, str], run_cli: Callable[..., Outcome]) -> Path:
    """A git checkout holding what `init` writes plus `files` (repository path -> fixture)."""
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    assert run_cli("init", "--workdir", str(repo), "--action-ref", PINNED).code == 0
    for target, fixture in files.items():
        (repo / target).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REAL / fixture, repo / target)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "workflows"], check=True)
    return repo


def _plan(run_cli: Callable[..., Outcome], repo: Path) -> tuple[Outcome, dict[str, Any]]:
    done = run_cli("plan", "--workdir", str(repo), "--format", "json")
    return done, json.loads(done.out)


INIT_STEPS = {
    ".github/workflows/ci-reviewer-answer.yml",
    ".github/workflows/ci-reviewer-nightly-tests.yml",
    ".github/workflows/ci-reviewer-overnight-report.yml",
    ".github/workflows/ci-reviewer-review.yml",
    ".github/workflows/ci-reviewer-weekly-audit.yml",
}


def test_a_template_placeholder_is_a_finding_at_its_line_and_the_rest_is_planned(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    repo = _checkout(tmp_path, {".github/workflows/nowsecure.yml": "nowsecure.yml"}, run_cli)
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    [finding] = [f for f in plan["findings"] if f["level"] == "error"]
    # `          group_id: {{ groupId }}` on line 23: the inner `{` (the key) is column 22.
    assert finding["code"] == "unreadable-workflow"
    assert finding["where"] == ".github/workflows/nowsecure.yml:23:22"
    assert "a mapping used as a key" in finding["message"]
    assert "${{ ... }}" in finding["advice"]
    assert {step["workflow"] for step in plan["steps"]} == INIT_STEPS
    text = run_cli("plan", "--workdir", str(repo))
    assert text.code == 2 and "Traceback" not in text.out + text.err
    assert "error: .github/workflows/nowsecure.yml:23:22: [unreadable-workflow]" in text.out


def test_config_check_reports_a_mapping_key_at_its_line(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    config = tmp_path / "ci-reviewer.yml"
    config.write_text("jobs:\n  audit:\n    kind: security-audit\n    instructions: {{ focus }}\n")
    done = run_cli("config", "check", "--config", str(config))
    assert done.code == 2
    assert f"{config}:4:20: YAML error: a mapping used as a key" in done.err
    assert "Traceback" not in done.err


def test_files_plan_cannot_read_are_findings_and_the_rest_is_planned(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    repo = _checkout(tmp_path, {}, run_cli)
    folder = repo / ".github/workflows"
    (folder / "latin1.yml").write_bytes("name: caf\xe9\non: push\n".encode("latin-1"))
    (folder / "tag.yml").write_text("on: push\nname: !custom x\n")
    (folder / "date.yml").write_text("on: push\nname: 2001-02-30\n")
    (folder / "loop.yml").write_text("on: push\njobs: &j [*j]\n")
    (folder / "keys.yml").write_text("on: push\n? [a, b]\n: c\n")
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    errors = {f["where"]: f["message"] for f in plan["findings"] if f["level"] == "error"}
    assert errors.keys() == {
        ".github/workflows/latin1.yml",
        ".github/workflows/tag.yml:2:7",
        ".github/workflows/date.yml:2:7",
        ".github/workflows/loop.yml",
        ".github/workflows/keys.yml:2:3",
    }
    assert errors[".github/workflows/latin1.yml"].startswith("not UTF-8 text (byte 9)")
    assert "'!custom'" in errors[".github/workflows/tag.yml:2:7"]
    assert "reads as a date" in errors[".github/workflows/date.yml:2:7"]
    assert {step["workflow"] for step in plan["steps"]} == INIT_STEPS


def test_uses_dot_in_another_actions_repository_is_not_a_reviewer_step(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    repo = _checkout(
        tmp_path,
        {"action.yml": "checkout-action.yml", ".github/workflows/test.yml": "checkout-test.yml"},
        run_cli,
    )
    done, plan = _plan(run_cli, repo)
    assert done.code == 0, plan["findings"]
    assert {step["workflow"] for step in plan["steps"]} == INIT_STEPS


def test_uses_dot_in_this_actions_own_repository_is_a_reviewer_step(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    repo = tmp_path / "own"
    (repo / ".github/workflows").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    shutil.copyfile(ROOT / "action.yml", repo / "action.yml")
    own = ROOT / ".github/workflows/ci-reviewer-review.yml"
    shutil.copyfile(own, repo / ".github/workflows/ci-reviewer-review.yml")
    [step] = _plan(run_cli, repo)[1]["steps"]
    assert (step["via"], step["command"], step["api"]) == ("action", "review", "sync")
    # The same workflow under actions/checkout's action.yml runs that action instead.
    shutil.copyfile(REAL / "checkout-action.yml", repo / "action.yml")
    assert _plan(run_cli, repo)[1]["steps"] == []


def _with_job(repo: Path, job: str) -> None:
    config = repo / ".github/ci-reviewer.yml"
    config.write_text(config.read_text() + job)


WEEKDAYS = "  weekdays:\n    kind: security-audit\n    since: 7d\n    sla_hours: {sla}\n"


def test_two_crons_of_one_job_are_judged_together(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    # Mon, Tue, Wed, Thu at 05:30: gaps of 24 h and Thu -> Mon 96 h. Each cron alone leaves
    # Wed -> Mon, 120 h. An SLA of 122 h leaves 122 - 24 - 1 - 1 = 96 h between submissions.
    repo = _checkout(tmp_path, {".github/workflows/cron.yml": "docs-two-schedules.yml"}, run_cli)
    _with_job(repo, WEEKDAYS.format(sla=122))
    done, plan = _plan(run_cli, repo)
    assert done.code == 0, plan["findings"]
    [step] = [s for s in plan["steps"] if s["job"] == "weekdays"]
    assert step["longest_gap_hours"] == 96
    assert "schedule-too-sparse" not in {f["code"] for f in plan["findings"]}


def test_crons_judged_together_can_still_be_too_sparse(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    repo = _checkout(tmp_path, {".github/workflows/cron.yml": "docs-two-schedules.yml"}, run_cli)
    _with_job(repo, WEEKDAYS.format(sla=121))
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    [finding] = [f for f in plan["findings"] if f["code"] == "schedule-too-sparse"]
    assert finding["where"] == ".github/workflows/cron.yml:24"
    assert finding["message"] == (
        "job 'weekdays': its schedules `30 5 * * 1,3`, `30 5 * * 2,4` together leave gaps of "
        "up to 96 h between runs, so a change can wait 121 h for its results (96 h to the next "
        "submission, up to 24 h of batch processing, 1 h to the next poll); an SLA of 121 h "
        "allows at most 95 h between submissions (1 h is kept as margin)."
    )


def test_a_job_no_workflow_runs_is_given_the_cron_its_sla_needs(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    # SLA - 24 h processing - 1 h poll - 1 h margin, rounded down to 1/2/3/4/6/8/12/24 h:
    # 30 -> 4 h, 38 -> 12 h, 50 -> 24 h; 26 leaves nothing (sla-unmeetable instead).
    repo = _checkout(tmp_path, {".github/workflows/test.yml": "checkout-test.yml"}, run_cli)
    for name, sla in (("thirty", 30), ("thirty-eight", 38), ("fifty", 50), ("tight", 26)):
        _with_job(repo, f"  {name}:\n    kind: report\n    since: all\n    sla_hours: {sla}\n")
    done, plan = _plan(run_cli, repo)
    advice = {
        f["where"].split("jobs.")[1].rstrip(")"): f["advice"]
        for f in plan["findings"]
        if f["code"] == "job-not-scheduled"
    }
    assert "schedule: - cron: '0 */4 * * *'" in advice["thirty"]
    assert "schedule: - cron: '0 */12 * * *'" in advice["thirty-eight"]
    assert "schedule: - cron: '0 0 * * *'" in advice["fifty"]
    assert "ci-reviewer batch run --job fifty" in advice["fifty"]
    assert "cron" not in advice["tight"]
    assert done.code == 2  # the 26 h SLA batch cannot meet
    text = run_cli("plan", "--workdir", str(repo)).out
    assert (
        "info: .github/ci-reviewer.yml (jobs.thirty): [job-not-scheduled] job 'thirty' is "
        "configured but no workflow runs it." in text
    )


AUDIT = "  wheels-audit:\n    kind: security-audit\n    since: 7d\n    sla_hours: 122\n"


def _blocking(plan: dict[str, Any]) -> dict[str, str]:
    return {f["where"]: f["message"] for f in plan["findings"] if f["code"] == "batch-on-blocking"}


def test_a_batch_job_guarded_off_pull_requests_is_not_batch_on_a_blocking_trigger(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    repo = _checkout(tmp_path, {".github/workflows/wheels.yml": "numpy-wheels.yml"}, run_cli)
    _with_job(repo, AUDIT)
    done, plan = _plan(run_cli, repo)
    steps = {s["where"]: s for s in plan["steps"] if s["job"] == "wheels-audit"}
    guarded = steps[".github/workflows/wheels.yml:45"]
    assert guarded["triggers"] == ["schedule", "workflow_dispatch"]
    assert guarded["someone_waits"] is False
    # Sun 02:42 -> Wed 02:42 is 72 h, Wed -> Sun 96 h: within 122 - 24 - 1 - 1 = 96 h.
    assert guarded["longest_gap_hours"] == 96
    # build_wheels' `if:` also holds a commit-message test plan cannot know: a pull request
    # whose last commit says [wheel build] runs it, so it still blocks.
    assert _blocking(plan) == {
        ".github/workflows/wheels.yml:33": "`ci-reviewer batch run` runs on pull_request, "
        "where someone waits for the result."
    }
    assert done.code == 2


def test_pull_request_closed_is_not_a_blocking_trigger(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    files = {".github/workflows/cleanup.yml": "ardupilot-cache-cleanup.yml"}
    repo = _checkout(tmp_path, files, run_cli)
    _with_job(repo, AUDIT)
    done, plan = _plan(run_cli, repo)
    assert done.code == 0, plan["findings"]
    [step] = [s for s in plan["steps"] if s["job"] == "wheels-audit"]
    assert (step["triggers"], step["someone_waits"]) == (
        ["pull_request", "workflow_dispatch"],
        False,
    )
    # The same workflow on every pull request activity (opened, synchronize, reopened) blocks.
    workflow = repo / ".github/workflows/cleanup.yml"
    workflow.write_text(workflow.read_text().replace("    types:\n      - closed\n", ""))
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    assert list(_blocking(plan)) == [".github/workflows/cleanup.yml:21"]  # two lines fewer


def test_a_reusable_workflow_is_judged_on_its_callers_triggers(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    files = {
        ".github/workflows/_build-pkg.yml": "pygithub-build-pkg.yml",
        ".github/workflows/pypi-release.yml": "pygithub-pypi-release.yml",
    }
    repo = _checkout(tmp_path, files, run_cli)
    _with_job(repo, AUDIT)
    done, plan = _plan(run_cli, repo)
    assert done.code == 0, plan["findings"]
    [step] = [s for s in plan["steps"] if s["job"] == "wheels-audit"]
    assert step["where"] == ".github/workflows/_build-pkg.yml:25"
    assert step["called_from"] == ".github/workflows/pypi-release.yml:12"
    # push of tags only and workflow_dispatch: nobody waits.
    assert (step["triggers"], step["someone_waits"]) == (["push", "workflow_dispatch"], False)
    shutil.copyfile(REAL / "pygithub-ci.yml", repo / ".github/workflows/ci.yml")
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    assert _blocking(plan) == {
        ".github/workflows/_build-pkg.yml:25": "`ci-reviewer batch run` runs on pull_request, "
        "merge_group, push, where someone waits for the result."
    }
    callers = {s["called_from"] for s in plan["steps"] if s["job"] == "wheels-audit"}
    assert callers == {".github/workflows/pypi-release.yml:12", ".github/workflows/ci.yml:17"}
    text = run_cli("plan", "--workdir", str(repo)).out
    assert ".github/workflows/_build-pkg.yml:25 (called by .github/workflows/ci.yml:17)" in text


def test_a_step_guarded_by_github_event_schedule_runs_on_that_cron_only(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    # The docs example's guard moved onto the ci-reviewer step: it skips `30 5 * * 1,3`, so
    # the job runs Tue and Thu only: Tue -> Thu 48 h, Thu -> Tue 120 h, past 96 h.
    repo = _checkout(tmp_path, {".github/workflows/cron.yml": "docs-two-schedules.yml"}, run_cli)
    _with_job(repo, WEEKDAYS.format(sla=122))
    workflow = repo / ".github/workflows/cron.yml"
    guard = "        if: github.event.schedule != '30 5 * * 1,3'\n"
    step = "      - run: ci-reviewer batch run --job weekdays\n"
    workflow.write_text(workflow.read_text().replace(step, step + guard))
    done, plan = _plan(run_cli, repo)
    [step_json] = [s for s in plan["steps"] if s["job"] == "weekdays"]
    assert step_json["schedules"] == ["30 5 * * 2,4"]
    [finding] = [f for f in plan["findings"] if f["code"] == "schedule-too-sparse"]
    assert finding["message"].startswith(
        "job 'weekdays': `30 5 * * 2,4` leaves gaps of up to 120 h between runs"
    )
    assert done.code == 2


def test_a_called_steps_job_input_is_read_from_its_caller(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    files = {
        ".github/workflows/_build-pkg.yml": "pygithub-build-pkg.yml",
        ".github/workflows/pypi-release.yml": "pygithub-pypi-release.yml",
    }
    repo = _checkout(tmp_path, files, run_cli)
    _with_job(repo, AUDIT.replace("wheels-audit", "release-audit"))
    callee = repo / ".github/workflows/_build-pkg.yml"
    # The callee names its job by its real input; the caller passes `artifact-name: package`.
    callee.write_text(callee.read_text().replace("wheels-audit", "${{ inputs.artifact-name }}"))
    caller = repo / ".github/workflows/pypi-release.yml"
    caller.write_text(
        caller.read_text().replace("artifact-name: package", "artifact-name: release-audit")
    )
    done, plan = _plan(run_cli, repo)
    assert done.code == 0, plan["findings"]
    [step] = [s for s in plan["steps"] if s["called_from"]]
    assert step["job"] == "release-audit"
    # No value from the caller: the input's default, `package`, which is no configured job.
    caller.write_text(
        caller.read_text().replace("    with:\n      artifact-name: release-audit\n", "")
    )
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    assert [f["message"] for f in plan["findings"] if f["code"] == "unknown-job"] == [
        "job 'package' is not in the config (jobs: nightly-tests, overnight-report, "
        "release-audit, weekly-audit)."
    ]


def test_aliases_that_expand_past_the_value_limit_are_a_finding(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    # Six lines of nested `*aliases` name 10**6 values ("billion laughs"), past the 200,000
    # plan reads; the file is reported instead of expanded.
    lines = ["on: push", "a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for name, inner in zip("bcdef", "abcde", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{inner}"] * 10) + "]")
    repo = _checkout(tmp_path, {}, run_cli)
    (repo / ".github/workflows/laughs.yml").write_text("\n".join(lines) + "\n")
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    [finding] = [f for f in plan["findings"] if f["level"] == "error"]
    assert finding["where"].startswith(".github/workflows/laughs.yml:")
    assert finding["message"].startswith("YAML error: more than 200,000 values")
    assert {step["workflow"] for step in plan["steps"]} == INIT_STEPS
