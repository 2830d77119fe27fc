"""`ci-reviewer batch run` end to end for every kind, as a scheduled workflow runs it: state
on the GitHub emulator's state branch, results published there (a PR of tests, an audit
issue, a report issue), and a re-run that publishes nothing twice."""

from __future__ import annotations

import json
from collections.abc import Iterator
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
  weekly-audit:
    kind: security-audit
    include: ["src/**/*.py"]
  overnight:
    kind: report
    include: ["src/**/*.py"]
"""


SQL_SOURCE = "def find(cur, name):\n    cur.execute(f\"SELECT * FROM t WHERE n='{name}'\")\n"


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(
        repo,
        {
            ".github/ci-reviewer.yml": CONFIG,
            "src/calc.py": "def add(a, b):\n    return a + b\n",
            "src/db.py": SQL_SOURCE,
        },
        "code",
    )
    return repo


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


@pytest.fixture
def run_cli(
    checkout: Path,
    origin: GitHubEmulator,
    claude: ClaudeEmulator,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Any:
    point_cli_at_emulators(
        monkeypatch, claude, origin.url, TOKEN, "4242", api_key="sk-ant-batch-cli-key"
    )

    def invoke(*args: str) -> tuple[int, dict[str, Any], str]:
        with pytest.raises(SystemExit) as done:
            main(["--workdir", str(checkout), "batch", "run", *args, "--format", "json"])
        out, err = capsys.readouterr()
        return int(done.value.code or 0), json.loads(out) if out.strip() else {}, err

    return invoke


def _about(path: str) -> Any:
    return lambda body: path in json.dumps(body.get("messages", ""))


def test_test_generation_run_opens_one_pr_with_the_generated_tests(
    run_cli: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    for source in ("src/calc.py", "src/db.py"):
        stem = Path(source).stem
        content = f"from src.{stem} import *\n\n\ndef test_{stem}():\n    assert True\n"
        claude.enqueue(
            Reply.json(
                {
                    "target_path": f"test_{stem}.py",
                    "content": content,
                    "framework": "pytest",
                    "notes": "",
                }
            ),
            when=_about(source),
        )
    code, first, err = run_cli("--job", "nightly-tests")
    assert code == 0, err
    # src/a.py and src/b.py of the base repository are sources too (default answers).
    assert sum(b["requests"] for b in first["submitted"]["batches"]) == 4
    assert not origin.state.pulls  # nothing is published before results are collected

    code, _second, err = run_cli("--job", "nightly-tests")
    assert code == 0, err
    [pull] = origin.state.pulls.values()
    assert pull["head"] == "ci-reviewer/nightly-tests/4242"
    bare = origin.git.repo_dir
    head = git(bare, "rev-parse", pull["head"])
    files = git(bare, "ls-tree", "-r", "--name-only", head).split()
    assert "tests/generated/test_calc.py" in files and "tests/generated/test_db.py" in files
    changed = git(bare, "diff", "--name-only", f"{pull['base_sha']}..{head}")
    assert all(name.startswith("tests/generated/") for name in changed.split())

    code, _third, err = run_cli("--job", "nightly-tests")
    assert code == 0, err
    assert len(origin.state.pulls) == 1


def test_security_audit_run_opens_one_labelled_issue(
    run_cli: Any, claude: ClaudeEmulator, origin: GitHubEmulator
) -> None:
    finding = {
        "path": "src/db.py",
        "line": 2,
        "severity": "high",
        "cwe": "CWE-89",
        "title": "SQL injection",
        "description": "name is formatted into SQL.",
        "recommendation": "Use a parameterised query.",
        "confidence": "high",
    }
    claude.enqueue(Reply.json({"findings": [finding]}), when=_about("src/db.py"))
    claude.enqueue(Reply.json({"findings": []}), when=_about("src/calc.py"))
    assert run_cli("--job", "weekly-audit")[0] == 0
    code, _second, err = run_cli("--job", "weekly-audit")
    assert code == 0, err
    issues = [i for i in origin.state.issues.values() if "pull_request" not in i]
    [issue] = issues
    assert [label["name"] for label in issue["labels"]] == ["weekly-audit"]
    assert "SQL injection" in issue["body"] and "CWE-89" in issue["body"]
    assert "at batch prices" in issue["body"]


def test_report_run_opens_one_issue(run_cli: Any, origin: GitHubEmulator) -> None:
    assert run_cli("--job", "overnight")[0] == 0
    code, second, err = run_cli("--job", "overnight")
    assert code == 0, err
    [issue] = [i for i in origin.state.issues.values() if "pull_request" not in i]
    assert issue["title"].startswith("ci-reviewer overnight: report of 4 file(s)")
    assert "# Report: overnight" in issue["body"]
    assert second["collected"]["published"] == issue["html_url"]


def test_a_job_that_publishes_needs_github(
    checkout: Path,
    claude: ClaudeEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-batch-cli-key")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", claude.url)
    with pytest.raises(SystemExit) as done:
        main(
            [
                "--workdir",
                str(checkout),
                "batch",
                "run",
                "--job",
                "overnight",
                "--state-dir",
                str(tmp_path / "s"),
            ]
        )
    err = capsys.readouterr().err
    assert done.value.code == 2
    assert "GITHUB_TOKEN" in err and "output: file" in err
