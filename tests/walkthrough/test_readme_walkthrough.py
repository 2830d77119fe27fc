"""The README's walkthrough of the offline trial does what the README says: the review posts
its finding on pull request #1; the three batch jobs' batches stay in progress until the
emulated clock moves an hour; then each job publishes: a pull request of tests that pass, an
issue with the audit's finding on the demo's command injection, an issue with the report."""

from __future__ import annotations

import subprocess
import sys
import tarfile
from io import BytesIO
from pathlib import Path

import github

from tests.walkthrough.conftest import Walkthrough

# The demo's src/lines.py: docstring, blank, import, two blanks, def, then the shell call.
INJECTION_LINE = 7
# The demo's src/stats.py on `feature`: `return open(path).read()` is its 11th line.
LEAK_LINE = 11


def test_the_review_posts_its_finding(walkthrough: Walkthrough) -> None:
    assert f"src/stats.py:{LEAK_LINE} resource-leak: File handle is never closed" in (
        walkthrough.output
    )
    assert "review: http://127.0.0.1:" in walkthrough.output


def test_batches_wait_for_the_clock_then_every_job_publishes(walkthrough: Walkthrough) -> None:
    out = walkthrough.output
    status = out[out.index("weekly-audit: 1 pending batch(es)") :]
    assert "in_progress" in status.splitlines()[2]
    collected = out[out.index('"now"') :]
    assert "pull request #2 opened: 2 test file(s), 0 refused" in collected
    assert "issue #3 opened: 1 new finding(s)" in collected
    assert "issue #4 opened" in collected


def test_what_was_published(walkthrough: Walkthrough) -> None:
    gh = github.Github(
        base_url=walkthrough.exports["GITHUB_API_URL"],
        auth=github.Auth.Token(walkthrough.exports["GITHUB_TOKEN"]),
    )
    try:
        repo = gh.get_repo(walkthrough.exports["GITHUB_REPOSITORY"])
        tests_pull = repo.get_pull(2)
        files = sorted((f.filename, f.status) for f in tests_pull.get_files())
        audit, report = repo.get_issue(3), repo.get_issue(4)
    finally:
        gh.close()
    assert files == [
        ("tests/generated/test_lines.py", "added"),
        ("tests/generated/test_stats.py", "added"),
    ]
    assert [label.name for label in audit.labels] == ["weekly-audit"]
    assert f"`src/lines.py:{INJECTION_LINE}` (CWE-78, high confidence)" in audit.body
    assert [label.name for label in report.labels] == ["overnight-report"]
    assert "Defines `count_lines()`." in report.body
    assert "Defines `average()`." in report.body
    _assert_generated_tests_pass(walkthrough.demo, tests_pull.head.ref)


def _assert_generated_tests_pass(demo: Path, branch: str) -> None:
    """The branch the job pushed, checked out apart, passes its own tests under pytest."""
    archive = subprocess.run(
        ["git", "-C", str(demo), "archive", "--format=tar", branch],
        capture_output=True,
        check=True,
    ).stdout
    checkout = demo.parent / "generated-tests-checkout"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(checkout, filter="data")
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/generated"],
        cwd=checkout,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 passed" in run.stdout
