"""Prose allowed through the noise rules (`noise.allow_kinds: [prose]`) on a test-generation
job: no framework writes a test for a Markdown page, so each such file is skipped and counted
under a reason that says so, not as a file of unknown language, and nothing is asked about it.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import anthropic

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.test_generation import Delivery, TestGenerationKind
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.batch.submit import submit
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.batch.conftest import commit_files

FILES = {
    "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "README.md": "# Demo\n\nA demo project.\n",
    "docs/guide.md": "# Guide\n\nCall `app.add(1, 2)`.\n",
    "src/app.py": "def add(a, b):\n    return a + b\n",
}
PROSE_ALLOWED = "noise: no test framework for prose documentation: tests are written for code"


def _dry_run(repo: Path, client: anthropic.Anthropic, tmp: Path, **job: Any) -> Any:
    config = JobConfig(kind="test-generation", since="all", include=["**"], **job)
    run = JobRun(
        name="tests",
        job=config,
        model="claude-sonnet-5-5",
        kind=TestGenerationKind("tests", config, repo, Delivery(None)),
        workdir=repo,
        store=DirectoryStore(tmp / "state"),
        api=BatchesAPI(client),
        now=ClaudeEmulator().clock.now,
    )
    out = io.BytesIO()
    result = submit(run, dry_run_to=out)
    asked = [json.loads(line)["params"]["messages"][0] for line in out.getvalue().splitlines()]
    return result, asked


def test_prose_allowed_for_test_generation_is_skipped_as_prose_with_no_framework(
    repo: Path, client: anthropic.Anthropic, tmp_path: Path
) -> None:
    commit_files(repo, FILES, "demo")

    default, _ = _dry_run(repo, client, tmp_path / "default")
    allowed, asked = _dry_run(repo, client, tmp_path / "allowed", noise={"allow_kinds": ["prose"]})

    # By hand: README.md and docs/guide.md are prose; pyproject.toml has no language. Three
    # requests: src/app.py, and src/a.py and src/b.py of the repository the fixture made.
    assert default.skipped["noise: prose documentation"] == 2
    assert PROSE_ALLOWED not in default.skipped
    assert allowed.skipped[PROSE_ALLOWED] == 2
    assert "noise: prose documentation" not in allowed.skipped
    assert allowed.skipped["noise: no test framework for a file of unknown language"] == 1
    assert default.estimate.requests == allowed.estimate.requests == 3
    asked_about = sorted(m["content"].split("\n", 1)[0] for m in asked)
    assert asked_about == [f"Write tests for src/{n}.py." for n in ("a", "app", "b")]
