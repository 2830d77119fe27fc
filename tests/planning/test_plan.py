"""`ci-reviewer plan` over realistic workflow files, one verdict at a time."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from tests.planning.conftest import Outcome

CONFIG = """
jobs:
  nightly-tests:
    kind: test-generation
    sla_hours: 30
    include: ["src/**/*.py"]
  weekly-audit:
    kind: security-audit
    sla_hours: 194
    since: 7d
  report:
    kind: report
    api: sync
    sla_hours: 50
    since: all
"""

CHECKOUT = (
    "      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8\n"
    "        with:\n          fetch-depth: 0\n"
)
# What every step of these workflows may write (the review, the batch state, issues, PRs).
EVERYTHING = (
    "    permissions:\n      contents: write\n      pull-requests: write\n"
    "      issues: write\n      checks: write\n"
)


def _workflow(on: str, step: str, permissions: str = "") -> str:
    job = f"  main:\n    runs-on: ubuntu-latest\n{permissions}    steps:\n{CHECKOUT}{step}"
    return f"name: wf\non:\n{on}\njobs:\n{job}"


BATCH_RUN_CLI = "      - run: ci-reviewer batch run --job nightly-tests\n"
BATCH_RUN_ACTION = (
    "      - uses: claude-ci-reviewer/claude-ci-reviewer@v1\n"
    "        with:\n          command: batch-run\n          job: nightly-tests\n"
)
REVIEW_ACTION = "      - uses: claude-ci-reviewer/claude-ci-reviewer@v1\n"
EVERY_4H = '  schedule:\n    - cron: "0 */4 * * *"\n'

# name -> (workflow text, config override or None, the finding codes expected at error level
# or warning level, the codes that must not appear)
CASES: dict[str, tuple[str, str | None, set[str]]] = {
    "batch run on pull_request": (
        _workflow("  pull_request:\n" + EVERY_4H, BATCH_RUN_CLI),
        None,
        {"batch-on-blocking"},
    ),
    "batch action on merge_group": (
        _workflow("  merge_group:\n", BATCH_RUN_ACTION),
        None,
        {"batch-on-blocking"},
    ),
    "batch on push to main (no branch filter)": (
        _workflow(
            "  push:\n" + EVERY_4H,
            "      - run: python -m ci_reviewer batch submit --job=nightly-tests\n",
        ),
        None,
        {"batch-on-blocking"},
    ),
    "review configured for batch": (
        _workflow("  pull_request:\n", REVIEW_ACTION),
        "review:\n  api: batch\n",
        {"tool-loop-in-batch"},
    ),
    "job of kind review": (
        _workflow(EVERY_4H, "      - run: ci-reviewer batch run --job pr-review\n"),
        "jobs:\n  pr-review:\n    kind: review\n",
        {"tool-loop-in-batch", "unknown-job"},
    ),
    "nightly cron too sparse for a 30 h SLA": (
        _workflow('  schedule:\n    - cron: "30 2 * * *"\n', BATCH_RUN_CLI),
        None,
        {"schedule-too-sparse"},
    ),
    "step in hours that leaves a 6 h gap at midnight": (
        _workflow('  schedule:\n    - cron: "0 */9 * * *"\n', BATCH_RUN_ACTION),
        "jobs:\n  nightly-tests:\n    kind: test-generation\n    sla_hours: 34\n",
        {"schedule-too-sparse"},
    ),
    "SLA batch cannot meet": (
        _workflow('  schedule:\n    - cron: "0 * * * *"\n', BATCH_RUN_CLI),
        "jobs:\n  nightly-tests:\n    kind: test-generation\n    sla_hours: 25\n",
        {"sla-unmeetable"},
    ),
    "synchronous nightly report": (
        _workflow(
            '  schedule:\n    - cron: "0 1 * * *"\n',
            "      - run: |\n          ci-reviewer \\\n            batch run --job report\n",
        ),
        None,
        {"sync-on-schedule"},
    ),
    "six-field cron": (
        _workflow('  schedule:\n    - cron: "0 0 */4 * * *"\n', BATCH_RUN_CLI),
        None,
        {"invalid-schedule"},
    ),
    "every minute": (
        _workflow('  schedule:\n    - cron: "* * * * *"\n', BATCH_RUN_CLI),
        None,
        {"schedule-too-frequent"},
    ),
    "over budget": (
        _workflow(EVERY_4H, BATCH_RUN_ACTION.replace("nightly-tests", "costly")),
        "jobs:\n  costly:\n    kind: security-audit\n    sla_hours: 30\n    since: all\n"
        "    max_cost_usd: 0.0001\n",
        {"over-budget"},
    ),
    "unknown job": (
        _workflow(EVERY_4H, "      - run: ci-reviewer batch run --job nope\n"),
        None,
        {"unknown-job"},
    ),
}


def _git(repo: Path, *args: str, when: datetime | None = None) -> None:
    env = dict(os.environ)
    if when is not None:
        env["GIT_AUTHOR_DATE"] = env["GIT_COMMITTER_DATE"] = when.isoformat()
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, env=env)


def _repo(tmp_path: Path, workflows: dict[str, str], config: str | None) -> Path:
    repo = tmp_path / "repo"
    (repo / ".github/workflows").mkdir(parents=True)
    (repo / "src").mkdir()
    _git(repo, "init", "-q", "-b", "main")
    now = datetime.now(timezone.utc)
    for day in range(20, 0, -2):
        (repo / "src" / f"mod_{day % 6}.py").write_text(f"def f():\n    return {day}\n" * 200)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", f"change {day}", when=now - timedelta(days=day, hours=3))
    (repo / ".github/ci-reviewer.yml").write_text(config if config is not None else CONFIG)
    for name, text in workflows.items():
        (repo / ".github/workflows" / name).write_text(text)
    return repo


def _plan(run_cli: Callable[..., Outcome], repo: Path) -> tuple[Outcome, dict[str, Any]]:
    done = run_cli("plan", "--workdir", str(repo), "--format", "json")
    return done, json.loads(done.out)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_verdict_is_flagged(
    case: str, tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text, config, expected = CASES[case]
    repo = _repo(tmp_path, {"ci.yml": text}, config)
    done, plan = _plan(run_cli, repo)
    codes = {finding["code"] for finding in plan["findings"]}
    assert expected <= codes, plan["findings"]
    errors = [f for f in plan["findings"] if f["level"] == "error"]
    assert done.code == (2 if errors else 0)
    for finding in plan["findings"]:
        assert finding["advice"], "every finding says what to do"


def test_unreadable_workflow_is_an_error(tmp_path: Path, run_cli: Callable[..., Outcome]) -> None:
    repo = _repo(tmp_path, {"broken.yaml": "on: [push\njobs: {}\n"}, None)
    done, plan = _plan(run_cli, repo)
    assert done.code == 2
    assert [f["code"] for f in plan["findings"] if f["level"] == "error"] == ["unreadable-workflow"]


def test_a_healthy_setup_passes_and_reports_costs_both_ways(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    workflows = {
        "review.yml": _workflow("  pull_request:\n", REVIEW_ACTION, EVERYTHING),
        "nightly.yml": _workflow(EVERY_4H + "  workflow_dispatch:\n", BATCH_RUN_ACTION, EVERYTHING),
        "audit.yml": _workflow(
            '  schedule:\n    - cron: "0 5 * * 1"\n',
            "      - run: ci-reviewer batch run --job weekly-audit\n",
            EVERYTHING,
        ),
        "feature-push.yml": _workflow(
            "  push:\n    branches: ['feature/**']\n",
            "      - run: ci-reviewer --config .github/ci-reviewer.yml plan\n",
        ),
        "release-tags.yml": _workflow(
            "  push:\n    tags: ['v*']\n",
            BATCH_RUN_CLI.replace("nightly-tests", "weekly-audit"),
            EVERYTHING,
        ),
        "unrelated.yml": _workflow("  pull_request:\n", "      - run: make test\n"),
    }
    config = CONFIG.replace(
        "  report:\n    kind: report\n    api: sync\n    sla_hours: 50\n    since: all\n", ""
    )
    repo = _repo(tmp_path, workflows, config)
    done, plan = _plan(run_cli, repo)
    assert done.code == 0, plan["findings"]
    assert [f for f in plan["findings"] if f["level"] != "info"] == []
    steps = {s["workflow"].rsplit("/", 1)[1]: s for s in plan["steps"]}
    assert "unrelated.yml" not in steps
    review = steps["review.yml"]
    assert (review["api"], review["tool_calling"], review["someone_waits"]) == ("sync", True, True)
    assert review["monthly_sync_usd"] > 0 and review["monthly_batch_usd"] is None
    nightly = steps["nightly.yml"]
    assert nightly["api"] == "batch" and nightly["someone_waits"] is False
    assert nightly["required_interval_hours"] == 4 and nightly["longest_gap_hours"] == 4
    # Half price, a little more for 1-hour cache writes that a batch needs.
    assert 0.45 < nightly["monthly_batch_usd"] / nightly["monthly_sync_usd"] < 0.6
    assert steps["feature-push.yml"]["someone_waits"] is False
    assert steps["release-tags.yml"]["someone_waits"] is False


def test_on_loaded_as_true_and_push_to_protected_branch(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    workflow = _workflow("  push:\n    branches: [release]\n", BATCH_RUN_CLI)
    repo = _repo(tmp_path, {"release.yml": workflow}, None)
    assert run_cli("plan", "--workdir", str(repo)).code == 0
    done = run_cli("plan", "--workdir", str(repo), "--protected-branch", "release")
    assert done.code == 2
    assert "batch-on-blocking" in done.out
    assert "ci-reviewer batch run" in done.out


def test_text_table_lists_steps_and_explains(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text, config, _ = CASES["batch run on pull_request"]
    repo = _repo(tmp_path, {"ci.yml": text}, config)
    done = run_cli("plan", "--workdir", str(repo))
    assert done.code == 2
    assert ".github/workflows/ci.yml:" in done.out
    assert "blocks developers" in done.out
    assert "exit 2" in done.err


def test_noise_changed_every_day_adds_nothing_to_a_jobs_monthly_cost(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    workflows = {
        "nightly.yml": _workflow(EVERY_4H + "  workflow_dispatch:\n", BATCH_RUN_ACTION, EVERYTHING)
    }
    everything = CONFIG.replace('    include: ["src/**/*.py"]\n', "")  # every tracked file
    repo = _repo(tmp_path, workflows, everything)
    _git(repo, "add", "-A")
    _git(repo, "commit", "-qm", "workflows")

    def nightly_usd() -> float:
        done, plan = _plan(run_cli, repo)
        assert done.code == 0, plan["findings"]
        [step] = [s for s in plan["steps"] if s["workflow"].endswith("nightly.yml")]
        return float(step["monthly_batch_usd"])

    before = nightly_usd()
    now = datetime.now(timezone.utc)
    for day in range(10, 0, -1):  # a changelog and a lockfile touched every day
        (repo / "CHANGES.md").write_text(f"- change {day}\n" * 2000)
        (repo / "src/yarn.lock").write_text(f"# yarn lockfile v1 {day}\n" * 2000)
        _git(repo, "add", "-A")
        _git(repo, "commit", "-qm", f"release {day}", when=now - timedelta(days=day, hours=1))
    assert nightly_usd() == before
