"""A job with no `verify_command` runs each generated test with its framework's usual
command: real `node --test` on a node:test project, through the real SDK against the Claude
emulator and real PyGithub against the GitHub emulator; a command that is not installed
leaves the test unverified, said so, rather than dropped; `verify_command: ""` runs none."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.batch.api import BatchesAPI
from ci_reviewer.batch.job_run import JobRun
from ci_reviewer.batch.jobs.test_generation import Delivery, TestGenerationKind
from ci_reviewer.batch.pipeline import collect, submit
from ci_reviewer.batch.store_dir import DirectoryStore
from ci_reviewer.config import JobConfig
from ci_reviewer.emulators.claude import ClaudeEmulator, Reply
from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.github.publish_pr import PullRequestPublisher
from ci_reviewer.secrets import Redactor
from tests.batch.conftest import commit_files, served_origin
from tests.emulators.github_fixtures import TOKEN, github_openapi_responses
from tests.emulators.github_fixtures import client as github_client

__all__ = ["github_openapi_responses"]  # autouse: every GitHub response is validated

SUM = "export function sum(a, b) {\n  return a + b;\n}\n"
PASSING = (
    "import { test } from 'node:test';\nimport assert from 'node:assert/strict';\n"
    "import { sum } from '../lib/sum.mjs';\n\ntest('adds', () => assert.equal(sum(2, 3), 5));\n"
)
FAILING = PASSING.replace("sum(2, 3), 5", "sum(2, 2), 5").replace("sum.mjs", "max.mjs")
NODE = shutil.which("node")


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(
        repo,
        {
            "package.json": '{"type": "module", "scripts": {"test": "node --test"}}\n',
            "lib/sum.mjs": SUM,
            "lib/max.mjs": "export const max = (a, b) => (a > b ? a : b);\n",
            "go.mod": "module example.com/tools\n\ngo 1.22\n",
            "calc/calc.go": "package calc\n\nfunc Add(a, b int) int { return a + b }\n",
        },
        "node and go code",
    )
    return repo


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


def run_job(
    checkout: Path,
    client: Any,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    tmp_path: Path,
    environ: dict[str, str],
    **job: Any,
) -> dict[str, Any]:
    """Submit and collect one test-generation job; the pull request it opened."""
    for source, path, content in (
        ("lib/sum.mjs", "sum.test.mjs", PASSING),
        ("lib/max.mjs", "max.test.mjs", FAILING),
        ("calc/calc.go", "calc/calc_test.go", "package calc_test\n"),
    ):
        answer = {"target_path": path, "content": content, "framework": "x", "notes": ""}
        claude.enqueue(
            Reply.json(answer),
            when=lambda body, s=source: f"Write tests for {s}." in json.dumps(body),
        )
    config = JobConfig(kind="test-generation", output_dir="tests", **job)
    gh = github_client(origin, retry=None)
    try:
        publisher = PullRequestPublisher(gh.get_repo("octo/demo"), Redactor.of([]))
        kind = TestGenerationKind("nightly", config, checkout, Delivery(publisher, "7", environ))
        run = JobRun(
            name="nightly",
            job=config,
            model="claude-sonnet-5-5",
            kind=kind,
            workdir=checkout,
            store=DirectoryStore(tmp_path / "state"),
            api=BatchesAPI(client),
            now=claude.clock.now,
        )
        submit(run)
        collect(run)
    finally:
        gh.close()
    [pull] = origin.state.pulls.values()
    return dict(pull)


def test_node_tests_run_with_node_test_and_a_missing_go_leaves_go_unverified(
    checkout: Path,
    client: Any,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    tmp_path: Path,
) -> None:
    # A PATH holding node alone: `go` cannot be started, whatever this machine has.
    only_node = tmp_path / "bin"
    only_node.mkdir()
    assert NODE is not None, "this test runs real node --test: install Node.js"
    (only_node / "node").symlink_to(NODE)
    pull = run_job(checkout, client, claude, origin, tmp_path, {"PATH": str(only_node)})

    body = pull["body"]
    # node --test tests/sum.test.mjs passed; max.test.mjs imports a name max.mjs lacks.
    assert "| `lib/sum.mjs` | `tests/sum.test.mjs` | passed |" in body
    assert "### Dropped: failed verification" in body
    assert "| `lib/max.mjs` | `tests/max.test.mjs` | failed (exit 1) |" in body
    assert "| `calc/calc.go` | `tests/calc/calc_test.go` | not verified: could not start go" in body
    # The checkout is as it was: the verified files were removed again.
    assert not (checkout / "tests").exists()


def test_an_empty_verify_command_runs_nothing(
    checkout: Path,
    client: Any,
    claude: ClaudeEmulator,
    origin: GitHubEmulator,
    tmp_path: Path,
) -> None:
    environ = {"PATH": os.environ.get("PATH", "")}
    pull = run_job(checkout, client, claude, origin, tmp_path, environ, verify_command="")

    body = pull["body"]
    assert "| `lib/max.mjs` | `tests/max.test.mjs` | not verified |" in body
    assert "Dropped" not in body
