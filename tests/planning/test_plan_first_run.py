"""`plan` on workflows as users write them: what would make their first run on a real runner
fail (a token permission the job lacks for what it writes, a shallow checkout under a `since`
window, a way of running the tool that cannot resolve) is reported where it must be fixed."""

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
from tests.planning.test_plan import _repo

ROOT = Path(__file__).resolve().parents[2]
SHA = "3f" * 20
CONFIG = """
jobs:
  weekly-audit:
    kind: security-audit
    sla_hours: 194
    since: 7d
  overnight-report:
    kind: report
    sla_hours: 50
    since: 24h
  nightly-tests:
    kind: test-generation
    sla_hours: 30
  sarif-audit:
    kind: security-audit
    sla_hours: 194
    since: all
    output: sarif
"""

# What this project's `init` wrote before: read-only contents (no state branch can be made),
# a package that is not on PyPI, a one-commit checkout under since: 7d.
OLD_WEEKLY_AUDIT = """\
name: ci-reviewer weekly audit
on:
  schedule:
    - cron: "0 5 * * 1"
  workflow_dispatch:
permissions:
  contents: read
  issues: write
jobs:
  audit:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0
        with:
          persist-credentials: false
      - name: Submit and collect the audit
        env:
          ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }}
        run: |
          pipx run --spec claude-ci-reviewer ci-reviewer batch run --job weekly-audit
"""

REPORT_ON_A_TAG = f"""\
name: report
on:
  schedule:
    - cron: "0 1 * * *"
jobs:
  report:
    runs-on: ubuntu-latest
    permissions:
      contents: read
      issues: write
    steps:
      - uses: actions/checkout@{SHA}
        with:
          fetch-depth: 1
      - uses: claude-ci-reviewer/claude-ci-reviewer@v1
        with:
          command: batch-run
          job: overnight-report
"""


def _plan(
    run_cli: Callable[..., Outcome], tmp_path: Path, workflows: dict[str, str]
) -> tuple[int, list[dict[str, Any]]]:
    repo = _repo(tmp_path, workflows, CONFIG)
    done = run_cli("plan", "--workdir", str(repo), "--format", "json")
    return done.code, json.loads(done.out)["findings"]


def _codes(findings: list[dict[str, Any]]) -> set[tuple[str, str, str]]:
    return {(f["level"], f["code"], f["where"]) for f in findings if f["code"] in FIRST_RUN}


FIRST_RUN = {
    "missing-permission",
    "undeclared-permissions",
    "shallow-checkout",
    "unpinned-action",
    "placeholder-action-ref",
    "unpublished-package",
}


def test_the_old_weekly_audit_is_reported_at_each_line_to_fix(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    code, findings = _plan(run_cli, tmp_path, {"audit.yml": OLD_WEEKLY_AUDIT})
    assert code == 2
    where = ".github/workflows/audit.yml"
    assert _codes(findings) == {
        ("error", "missing-permission", f"{where}:6:1"),  # the `permissions:` block
        ("error", "unpublished-package", f"{where}:16"),  # the pipx step
        ("warning", "shallow-checkout", f"{where}:13"),  # the checkout
    }
    [missing] = [f for f in findings if f["code"] == "missing-permission"]
    assert "`contents: write`" in missing["message"] and "ci-reviewer-state" in missing["message"]
    assert "`contents: read`" in missing["message"]


def test_a_read_only_report_on_a_tag_with_a_one_commit_checkout(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    code, findings = _plan(run_cli, tmp_path, {"report.yml": REPORT_ON_A_TAG})
    assert code == 2
    where = ".github/workflows/report.yml"
    assert _codes(findings) == {
        ("error", "missing-permission", f"{where}:8:5"),  # the job's own block
        ("warning", "shallow-checkout", f"{where}:12"),
        ("info", "unpinned-action", f"{where}:15"),  # a note: a tag is not an error
    }


def test_the_fixed_workflows_have_no_first_run_findings(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    fixed = (
        REPORT_ON_A_TAG.replace("contents: read", "contents: write")
        .replace("fetch-depth: 1", "fetch-depth: 0")
        .replace("@v1", f"@{SHA}")
    )
    code, findings = _plan(run_cli, tmp_path, {"report.yml": fixed})
    assert code == 0
    assert _codes(findings) == set()


def test_a_job_block_replaces_the_workflows_and_write_all_grants_everything(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    write_all = REPORT_ON_A_TAG.replace("fetch-depth: 1", "fetch-depth: 0").replace(
        "jobs:\n", "permissions: write-all\njobs:\n"
    )
    _, findings = _plan(run_cli, tmp_path / "a", {"report.yml": write_all})
    # The job's own `contents: read` still applies: the workflow's write-all is replaced.
    assert ("error", "missing-permission", ".github/workflows/report.yml:9:5") in _codes(findings)
    no_job_block = write_all.replace(
        "    permissions:\n      contents: read\n      issues: write\n", ""
    )
    _, findings = _plan(run_cli, tmp_path / "b", {"report.yml": no_job_block})
    assert not [f for f in findings if f["code"] == "missing-permission"]


def test_no_permissions_anywhere_asks_for_a_block(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text = REPORT_ON_A_TAG.replace(
        "    permissions:\n      contents: read\n      issues: write\n", ""
    ).replace("fetch-depth: 1", "fetch-depth: 0")
    code, findings = _plan(run_cli, tmp_path, {"report.yml": text})
    [finding] = [f for f in findings if f["code"] == "undeclared-permissions"]
    assert finding["level"] == "warning" and code == 0
    assert "`contents: write`" in finding["message"] and "`issues: write`" in finding["message"]


def test_a_state_directory_needs_no_contents_write(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text = (
        REPORT_ON_A_TAG.replace("fetch-depth: 1", "fetch-depth: 0")
        .replace("@v1", f"@{SHA}")
        .replace("job: overnight-report", "job: overnight-report\n          args: --state-dir st")
    )
    _, findings = _plan(run_cli, tmp_path, {"report.yml": text})
    assert _codes(findings) == set()


@pytest.mark.parametrize(
    ("permissions", "expected"),
    [
        ("contents: write\n      pull-requests: write\n      issues: write\n", set()),
        # The pull request is the output: without it the first publication fails.
        ("contents: write\n      issues: write\n", {("error", "pull-requests")}),
        # The issue is only the fallback when GitHub refuses the pull request: a warning.
        ("contents: write\n      pull-requests: write\n", {("warning", "issues")}),
    ],
)
def test_test_generation_needs_the_pull_request_and_warns_for_the_fallback_issue(
    permissions: str,
    expected: set[tuple[str, str]],
    tmp_path: Path,
    run_cli: Callable[..., Outcome],
) -> None:
    text = f"""\
on:
  schedule:
    - cron: "0 */4 * * *"
jobs:
  batch:
    runs-on: ubuntu-latest
    permissions:
      {permissions}    steps:
      - uses: actions/checkout@{SHA}
        with:
          fetch-depth: 0
      - run: ci-reviewer batch run --job nightly-tests
"""
    _, findings = _plan(run_cli, tmp_path, {"nightly.yml": text})
    found = {
        (f["level"], f["message"].split("needs `")[1].split(":")[0])
        for f in findings
        if f["code"] == "missing-permission"
    }
    assert found == expected


def test_sarif_uploaded_to_code_scanning_needs_security_events_write(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text = f"""\
on:
  schedule:
    - cron: "0 5 * * 1"
jobs:
  audit:
    runs-on: ubuntu-latest
    permissions:
      contents: write
    steps:
      - uses: actions/checkout@{SHA}
      - run: ci-reviewer batch run --job sarif-audit
      - uses: github/codeql-action/upload-sarif@{SHA}
        with:
          sarif_file: ci-reviewer-sarif-audit.sarif
"""
    code, findings = _plan(run_cli, tmp_path / "a", {"audit.yml": text})
    [missing] = [f for f in findings if f["code"] == "missing-permission"]
    assert code == 2 and "`security-events: write`" in missing["message"]
    granted = text.replace("contents: write\n", "contents: write\n      security-events: write\n")
    code, findings = _plan(run_cli, tmp_path / "b", {"audit.yml": granted})
    assert code == 0 and _codes(findings) == set()  # since: all needs no history either


def test_review_without_write_on_pull_requests_is_an_error(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text = f"""\
on: pull_request
permissions:
  contents: read
  pull-requests: read
  checks: write
jobs:
  review:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@{SHA}
      - uses: claude-ci-reviewer/claude-ci-reviewer@{SHA}
"""
    code, findings = _plan(run_cli, tmp_path, {"review.yml": text})
    assert code == 2
    assert _codes(findings) == {("error", "missing-permission", ".github/workflows/review.yml:2:1")}


@pytest.mark.parametrize(
    "script",
    [
        "pip install claude-ci-reviewer && ci-reviewer batch run --job weekly-audit",
        "python -m pip install 'claude-ci-reviewer==0.1.0'\n"
        "ci-reviewer batch run --job weekly-audit",
        "uvx --from claude-ci-reviewer ci-reviewer batch run --job weekly-audit",
        "pipx run --spec=claude-ci-reviewer ci-reviewer batch run --job weekly-audit",
    ],
)
def test_installing_the_unpublished_package_is_an_error(
    script: str, tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    text = f"""\
on:
  schedule:
    - cron: "0 5 * * 1"
jobs:
  audit:
    runs-on: ubuntu-latest
    permissions:
      contents: write
      issues: write
    steps:
      - uses: actions/checkout@{SHA}
        with:
          fetch-depth: 0
      - run: |
{"".join(f"          {line}{chr(10)}" for line in script.splitlines())}"""
    code, findings = _plan(run_cli, tmp_path, {"audit.yml": text})
    assert code == 2
    assert _codes(findings) == {("error", "unpublished-package", ".github/workflows/audit.yml:14")}


def test_installing_from_the_repository_is_not_reported(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    script = (
        f"pip install git+https://github.com/claude-ci-reviewer/claude-ci-reviewer@{SHA}\n"
        "pip install ./claude-ci-reviewer\n"
        "ci-reviewer batch run --job weekly-audit"
    )
    text = OLD_WEEKLY_AUDIT.replace(
        "pipx run --spec claude-ci-reviewer ci-reviewer batch run --job weekly-audit",
        script.replace("\n", "\n          "),
    )
    _, findings = _plan(run_cli, tmp_path, {"audit.yml": text})
    assert not [f for f in findings if f["code"] == "unpublished-package"]


def test_the_projects_own_workflows_have_no_first_run_findings(
    run_cli: Callable[..., Outcome],
) -> None:
    done = run_cli("plan", "--workdir", str(ROOT), "--format", "json")
    plan = json.loads(done.out)
    assert done.code == 0, plan["findings"]
    assert {s["workflow"] for s in plan["steps"]} == {
        f".github/workflows/ci-reviewer-{name}.yml"
        for name in ("review", "answer", "nightly-tests", "weekly-audit", "overnight-report")
    }
    assert _codes(plan["findings"]) == set()


def test_plan_in_a_shallow_clone_says_so_and_does_not_count_the_cut_commit_whole(
    tmp_path: Path, run_cli: Callable[..., Outcome]
) -> None:
    fixed = REPORT_ON_A_TAG.replace("contents: read", "contents: write").replace("@v1", f"@{SHA}")
    full = _repo(tmp_path, {"report.yml": fixed}, CONFIG)
    # The newest commit, 30 h ago, is the one a depth-1 clone holds; a daily run follows it.
    stamp = (datetime.now(timezone.utc) - timedelta(hours=30)).isoformat()
    dated = {**os.environ, "GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    subprocess.run(["git", "-C", str(full), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(full), "commit", "-qm", "workflows"], check=True, env=dated)
    shallow = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", f"file://{full}", str(shallow)], check=True
    )

    def largest_run(repo: Path) -> tuple[float, set[str]]:
        plan = json.loads(run_cli("plan", "--workdir", str(repo), "--format", "json").out)
        [step] = plan["steps"]
        return step["largest_run_usd"] or 0.0, {f["code"] for f in plan["findings"]}

    full_usd, full_codes = largest_run(full)
    shallow_usd, shallow_codes = largest_run(shallow)
    assert "shallow-history" in shallow_codes and "shallow-history" not in full_codes
    # In the clone that commit holds the whole tree (six modules and two small files):
    # counted as changing every file, the run after it would be the dearest of the month,
    # dearer than any real run (each changed one module, or the two small files).
    assert full_usd > 0
    assert shallow_usd < full_usd
