"""The test-generation kind end to end: the real anthropic SDK against the Claude emulator's
batches, real PyGithub against the GitHub emulator (every response checked against GitHub's
OpenAPI description), and a real checkout where verify_command runs the generated tests."""

from __future__ import annotations

import json
import os
import shlex
import sys
from collections.abc import Callable, Iterator, Mapping
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
from tests.batch.conftest import commit_files, git, served_origin
from tests.emulators.github_fixtures import TOKEN, github_openapi_responses
from tests.emulators.github_fixtures import client as github_client

__all__ = ["github_openapi_responses"]  # autouse: every GitHub response is validated

SECRET = "sk-ant-secret-value-123456"
CALC = "def add(a, b):\n    return a + b\n"
PASSING = "from src.calc import add\n\n\ndef test_add():\n    assert add(2, 3) == 5\n"
FAILING = "from src.calc import add\n\n\ndef test_add():\n    assert add(2, 2) == 5\n"
# Passes only if verify_command withheld every credential from the test's environment.
NO_SECRETS = (
    "import os\n\n\ndef test_no_credentials():\n"
    "    leaked = [n for n in os.environ if n.endswith(('_TOKEN', '_KEY')) or 'SECRET' in n]\n"
    "    assert leaked == [] and 'ANTHROPIC_API_KEY' not in os.environ\n"
)


@pytest.fixture
def checkout(repo: Path) -> Path:
    commit_files(
        repo,
        {
            "src/calc.py": CALC,
            "tests/generated/test_existing.py": "def test_by_hand():\n    pass\n",
            "tests/test_hand.py": "from src.calc import add\n\n\ndef test_one():\n"
            "    assert add(1, 1) == 2\n" * 10,
        },
        "code and tests",
    )
    return repo


@pytest.fixture
def origin(tmp_path: Path, checkout: Path) -> Iterator[GitHubEmulator]:
    with served_origin(tmp_path, checkout, TOKEN) as emulator:
        yield emulator


@pytest.fixture
def repository(origin: GitHubEmulator) -> Iterator[Any]:
    gh = github_client(origin, retry=None)
    try:
        yield gh.get_repo("octo/demo")
    finally:
        gh.close()


def answer(path: str, content: str, notes: str = "") -> Reply:
    return Reply.json(
        {"target_path": path, "content": content, "framework": "pytest", "notes": notes}
    )


def about(source: str) -> Callable[[Mapping[str, Any]], bool]:
    return lambda body: f"Write tests for {source}." in json.dumps(body)


Collect = Callable[..., Any]


@pytest.fixture
def generate(
    checkout: Path,
    client: Any,
    claude: ClaudeEmulator,
    repository: Any,
    tmp_path: Path,
) -> Collect:
    """Run submit then collect for a test-generation job over `src/` (one batch)."""

    def run(
        replies: Mapping[str, Reply], run_id: str = "101", **job: Any
    ) -> tuple[Any, TestGenerationKind]:
        for source, reply in replies.items():
            claude.enqueue(reply, when=about(source))
        # Unverified unless a test asks: the framework's usual command is tested on its own.
        job.setdefault("verify_command", "")
        config = JobConfig(kind="test-generation", include=["src/**"], **job)
        environ = {**os.environ, "ANTHROPIC_API_KEY": SECRET, "DEPLOY_TOKEN": SECRET}
        publisher = PullRequestPublisher(repository, Redactor.of([SECRET]))
        kind = TestGenerationKind("nightly", config, checkout, Delivery(publisher, run_id, environ))
        job_run = JobRun(
            name="nightly",
            job=config,
            model="claude-sonnet-5-5",
            kind=kind,
            workdir=checkout,
            store=DirectoryStore(tmp_path / f"state-{run_id}"),
            api=BatchesAPI(client),
            now=claude.clock.now,
        )
        submit(job_run)
        return collect(job_run), kind

    return run


def committed_files(origin: GitHubEmulator, branch: str) -> list[str]:
    out = git(origin.git.repo_dir, "diff", "--name-only", f"main...{branch}")
    return sorted(out.splitlines())


def test_one_pull_request_holds_only_files_under_output_dir_in_one_commit(
    generate: Collect, origin: GitHubEmulator, checkout: Path
) -> None:
    result, _ = generate(
        {
            "src/calc.py": answer("test_calc.py", PASSING, notes="covers add"),
            "src/a.py": answer("unit/test_a.py", "def test_a():\n    pass\n"),
        }
    )

    assert len(origin.state.pulls) == 1
    pull = next(iter(origin.state.pulls.values()))
    assert pull["head"] == "ci-reviewer/nightly/101"
    assert committed_files(origin, "ci-reviewer/nightly/101") == [
        "tests/generated/test_calc.py",
        "tests/generated/unit/test_a.py",
    ]
    # One commit on top of main: the run's files land atomically.
    commits = git(origin.git.repo_dir, "rev-list", "main..ci-reviewer/nightly/101").split()
    assert len(commits) == 1
    content = git(origin.git.repo_dir, "show", f"{commits[0]}:tests/generated/test_calc.py")
    assert content.startswith("# @generated by ci-reviewer") and "assert add(2, 3)" in content
    body = pull["body"]
    assert "| `src/calc.py` | `tests/generated/test_calc.py` | not verified | covers add |" in body
    assert "at batch prices" in body and "synchronous Messages API would have cost" in body
    assert result.collected[0] in body  # the batch id
    assert "<!-- ci-reviewer:nightly:" in body
    # GitHub runs no workflow for a PR its GITHUB_TOKEN opened: the body says how to get CI.
    assert "starts no workflow" in body and "close and reopen it" in body
    # The checkout itself is left as it was.
    assert git(checkout, "status", "--porcelain") == ""
    assert result.published.location.endswith(f"/pull/{pull['number']}")


def test_every_escape_attempt_is_refused_and_listed(
    generate: Collect, origin: GitHubEmulator, checkout: Path, repo: Path
) -> None:
    (checkout / "tests/generated/link").symlink_to("../../src")
    commit_files(checkout, {f"src/m{i}.py": f"v = {i}\n" for i in range(6)}, "more")
    result, _ = generate(
        {
            "src/m0.py": answer("../escape.py", PASSING),
            "src/m1.py": answer(".github/workflows/x.yml", "on: push\n"),
            "src/m2.py": answer("/srv/abs_test.py", PASSING),
            "src/m3.py": answer("test_existing.py", PASSING),
            "src/m4.py": answer("link/evil_test.py", PASSING),
            "src/m5.py": answer("a/../../../.github/workflows/ci.yml", "on: push\n"),
            "src/calc.py": answer("test_calc.py", PASSING),
        }
    )

    pull = next(iter(origin.state.pulls.values()))
    assert committed_files(origin, pull["head"]) == ["tests/generated/test_calc.py"]
    refused = pull["body"].split("### Refused paths", 1)[1]
    for source, reason in [
        ("src/m0.py", "'..' climbs out of output_dir"),
        ("src/m1.py", "touches .github/"),
        ("src/m2.py", "absolute path"),
        ("src/m3.py", "would overwrite tests/generated/test_existing.py"),
        ("src/m4.py", "resolves outside tests/generated"),
        ("src/m5.py", "'..' climbs out of output_dir"),
    ]:
        assert f"| `{source}` |" in refused and reason in refused, (source, refused)
    assert "6 refused" in result.published.detail
    assert not (repo.parent / "escape.py").exists()


def test_verify_command_keeps_passing_tests_and_drops_failing_ones(
    generate: Collect, origin: GitHubEmulator, checkout: Path
) -> None:
    command = f"{shlex.quote(sys.executable)} -m pytest {{path}} -q -p no:cacheprovider"
    generate(
        {
            "src/calc.py": answer("test_calc.py", PASSING),
            "src/a.py": answer("test_a.py", FAILING),
            "src/b.py": answer("test_env.py", NO_SECRETS),
        },
        verify_command=command,
    )

    pull = next(iter(origin.state.pulls.values()))
    assert committed_files(origin, pull["head"]) == [
        "tests/generated/test_calc.py",
        "tests/generated/test_env.py",
    ]
    body = pull["body"]
    assert "| `src/calc.py` | `tests/generated/test_calc.py` | passed |" in body
    assert "| `src/b.py` | `tests/generated/test_env.py` | passed |" in body
    dropped = body.split("### Dropped: failed verification", 1)[1]
    assert "| `src/a.py` | `tests/generated/test_a.py` | failed (exit 1) |" in dropped
    assert SECRET not in body
    assert git(checkout, "status", "--porcelain", "--untracked-files=all") == ""


def test_failing_tests_are_kept_and_marked_when_configured(
    generate: Collect, origin: GitHubEmulator
) -> None:
    command = f"{shlex.quote(sys.executable)} -m pytest {{path}} -q -p no:cacheprovider"
    generate(
        {"src/a.py": answer("test_a.py", FAILING)},
        verify_command=command,
        keep_failing_tests=True,
    )

    pull = next(iter(origin.state.pulls.values()))
    content = git(origin.git.repo_dir, "show", f"{pull['head']}:tests/generated/test_a.py")
    assert "failed verification when it was generated (failed (exit 1))" in content
    assert "| kept failing: failed (exit 1) |" in pull["body"]


def test_an_answer_off_schema_is_a_reported_failure_not_a_crash(
    generate: Collect, origin: GitHubEmulator
) -> None:
    result, _ = generate(
        {
            "src/a.py": Reply.json({"target_path": "test_a.py"}),
            "src/b.py": Reply.text("here are your tests!"),
            "src/calc.py": answer("test_calc.py", PASSING),
        }
    )

    reasons = {f.path: f.reason for f in result.failures}
    assert "does not match the output schema" in reasons["src/a.py"]
    assert "not the JSON" in reasons["src/b.py"]
    body = next(iter(origin.state.pulls.values()))["body"]
    assert "### Not generated" in body and "`src/a.py`" in body


def test_a_collection_with_no_results_publishes_nothing(
    checkout: Path, repository: Any, origin: GitHubEmulator
) -> None:
    from ci_reviewer.batch.jobs.base import Collection

    config = JobConfig(kind="test-generation")
    publisher = PullRequestPublisher(repository, Redactor())
    kind = TestGenerationKind("nightly", config, checkout, Delivery(publisher, "7"))
    empty = Collection("nightly", "c0ffee", ("msgbatch_1",), (), (), ())

    assert kind.publish(empty) is None
    assert origin.state.pulls == {}


def test_the_pull_request_names_each_file_asked_again_and_why(
    generate: Collect, origin: GitHubEmulator
) -> None:
    result, _ = generate(
        {
            "src/a.py": Reply.error("overloaded_error", "Overloaded"),
            "src/b.py": Reply.error("api_error", "Internal server error"),
            "src/calc.py": answer("test_calc.py", PASSING),
        }
    )

    assert result.retried == 2
    body = next(iter(origin.state.pulls.values()))["body"]
    assert "### Asked again on the next run" in body
    assert "| `src/a.py` | errored (overloaded_error) (next: attempt 2) |" in body
    assert "| `src/b.py` | errored (api_error) (next: attempt 2) |" in body
    assert "will be asked again" not in body


def test_a_pull_request_updated_by_a_later_run_describes_every_file_it_holds(
    generate: Collect, origin: GitHubEmulator
) -> None:
    generate(
        {
            "src/a.py": answer("test_a.py", "def test_a():\n    pass\n", notes="first run"),
            "src/b.py": Reply.error("overloaded_error", "Overloaded"),
            "src/calc.py": answer("test_calc.py", PASSING),
        },
        run_id="101",
    )
    generate(
        {
            "src/a.py": Reply.error("api_error", "Internal server error"),
            "src/b.py": answer("test_b.py", "def test_b():\n    pass\n"),
            "src/calc.py": answer("test_calc.py", PASSING, notes="second run"),
        },
        run_id="102",
    )

    assert len(origin.state.pulls) == 1
    pull = next(iter(origin.state.pulls.values()))
    assert committed_files(origin, pull["head"]) == [
        "tests/generated/test_a.py",
        "tests/generated/test_b.py",
        "tests/generated/test_calc.py",
    ]
    body = pull["body"]
    assert pull["title"] == "ci-reviewer nightly: 3 generated test file(s)"
    # The first run's test is still described, beside what the second run made of its source.
    assert "| `src/a.py` | `tests/generated/test_a.py` | not verified | first run |" in body
    assert "| `src/b.py` | `tests/generated/test_b.py` | not verified |  |" in body
    assert "| `src/calc.py` | `tests/generated/test_calc.py` | not verified | second run |" in body
    assert body.count("`tests/generated/test_calc.py`") == 1
    assert "| `src/a.py` | errored (api_error) (next: attempt 2) |" in body
    assert "`src/b.py` | errored (overloaded_error)" not in body  # answered since
    assert "also holds 1 earlier run(s)" in body
