"""`ci-reviewer doctor` finds each way a first scheduled run would fail, from the services'
own answers, with the exit code a workflow acts on: 0 all passed, 2 a problem, 3 an API
that could not be reached."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ci_reviewer.cli import main
from ci_reviewer.emulators.server import Fault
from ci_reviewer.github import client as github_client
from tests.doctor.conftest import AUDIT_WORKFLOW, Outcome, World
from tests.emulators.github_fixtures import git

__all__ = ["World"]
ALL_WRITE = {"contents": "write", "pull-requests": "write", "checks": "write", "issues": "write"}


def test_a_ready_setup_passes_every_check(world: World) -> None:
    outcome = world.run("--format", "json")

    assert outcome.code == 0, outcome.stderr
    # A workflow's token cannot read the Actions setting: said, not counted as a problem.
    assert outcome.not_ok() == {"actions may open pull requests": "warning"}
    assert set(outcome.statuses()) == {
        "model claude-sonnet-5-5",
        "message batches",
        "github repository",
        "github token contents: read",
        "github token pull-requests: read",
        "github token pull-requests: write",
        "github token checks: write",
        "github token contents: write",
        "github token issues: write",
        "actions may open pull requests",
        "state branch ci-reviewer-state",
        "checkout depth for weekly-audit",
        "checkout depth for nightly-tests",
    }
    assert outcome.document["exit_code"] == 0
    assert world.github.state.issues == {} and world.github.state.pulls == {}
    assert world.github.state.check_runs == []
    assert "refs/heads/ci-reviewer-state" not in world.github.git.refs("refs/heads/")


def test_a_rejected_key_is_a_problem_with_its_fix(world: World) -> None:
    world.claude.api_key = "sk-ant-another-key"

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    key = outcome.checks()["anthropic key"]
    assert key["status"] == "problem"
    assert "401" in key["detail"] and "ANTHROPIC_API_KEY" in key["fix"]
    assert not any(name.startswith("model ") for name in outcome.statuses())


def test_an_unknown_model_is_named_with_models_the_api_serves(world: World) -> None:
    world.config("model: claude-sonnet-9\nreview:\n  max_retries: 0\n")

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    model = outcome.checks()["model claude-sonnet-9"]
    assert model["status"] == "problem"
    assert "404 not_found_error" in model["detail"]
    assert "claude-sonnet-5-5" in model["fix"] and "models.json" in model["fix"]


def test_a_batches_api_that_keeps_failing_is_unreachable(world: World) -> None:
    world.claude.inject(Fault(route=r"^/v1/messages/batches", status=529, times=10))

    outcome = world.run("--format", "json")

    assert outcome.code == 3
    assert outcome.statuses()["message batches"] == "unreachable"
    assert outcome.statuses()["model claude-sonnet-5-5"] == "ok"


def test_an_unreachable_api_exits_3(world: World) -> None:
    outcome = world.run("--format", "json", env={"ANTHROPIC_BASE_URL": "http://127.0.0.1:9"})

    assert outcome.code == 3
    assert outcome.statuses()["model claude-sonnet-5-5"] == "unreachable"
    assert outcome.statuses()["github repository"] == "ok"  # the other checks still ran


@pytest.mark.parametrize("scope", ["contents", "pull-requests", "checks", "issues"])
def test_a_token_lacking_a_write_permission_is_found(world: World, scope: str) -> None:
    world.github.set_token_scopes({**ALL_WRITE, scope: "read"})

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    assert {n: s for n, s in outcome.not_ok().items() if s == "problem"} == {
        f"github token {scope}: write": "problem"
    }
    check = outcome.checks()[f"github token {scope}: write"]
    assert "403" in check["detail"]
    # GitHub's x-accepted-github-permissions names what the call accepts.
    assert f"`{scope}: write`" in check["fix"]
    assert f"{scope.replace('-', '_')}=write" in check["fix"]
    assert world.github.state.issues == {} and world.github.state.check_runs == []


def test_pull_requests_by_actions_turned_off_is_a_problem(world: World) -> None:
    world.github.actor = "octocat"  # a token that may read the repository's settings
    world.github.set_workflow_permissions(can_approve_pull_request_reviews=False)

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    check = outcome.checks()["actions may open pull requests"]
    assert check["status"] == "problem" and "'nightly-tests'" in check["detail"]
    assert "Allow GitHub Actions to create and approve pull requests" in check["fix"]


def test_a_person_s_classic_token_with_repo_passes_every_check(world: World) -> None:
    world.github.actor = "octocat"  # may read the Actions setting, which allows pull requests
    world.github.oauth_scopes = "repo, workflow"

    outcome = world.run("--format", "json")

    assert outcome.code == 0
    assert outcome.not_ok() == {}


def test_a_shallow_checkout_under_a_since_window_is_a_problem(world: World) -> None:
    checkout = world.tmp / "checkout"
    _clone(world, checkout, "--depth", "1")

    outcome = world.run("--format", "json", workdir=checkout)

    assert outcome.code == 2
    audit = outcome.checks()["checkout depth for weekly-audit"]
    assert audit["status"] == "problem" and "since: 7d" in audit["detail"]
    assert "fetch-depth: 0" in audit["fix"]
    assert outcome.statuses()["checkout depth for nightly-tests"] == "warning"


def test_a_protected_state_branch_is_a_problem(world: World) -> None:
    _state_branch(world)
    world.github.protect_branch("ci-reviewer-state")
    world.github.actor = "octocat"  # may read the protection's rules

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    check = outcome.checks()["state branch ci-reviewer-state"]
    assert check["status"] == "problem"
    assert "pull request reviews are required" in check["detail"]


def test_a_protected_state_branch_whose_rules_the_token_cannot_read(world: World) -> None:
    _state_branch(world)
    world.github.protect_branch("ci-reviewer-state", reviews=False, checks=("ci",))

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    check = outcome.checks()["state branch ci-reviewer-state"]
    assert check["status"] == "problem" and "cannot read" in check["detail"]


def test_an_unprotected_existing_state_branch_passes(world: World) -> None:
    _state_branch(world)
    world.github.actor = "octocat"

    outcome = world.run("--format", "json")

    assert outcome.statuses()["state branch ci-reviewer-state"] == "ok"
    assert "exists" in outcome.checks()["state branch ci-reviewer-state"]["detail"]


def test_a_ruleset_restricting_creation_stops_the_first_state_commit(world: World) -> None:
    world.github.restrict_ref_creation("refs/heads/ci-reviewer-*")

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    check = outcome.checks()["state branch ci-reviewer-state"]
    assert check["status"] == "problem" and "`creation` rule" in check["detail"]


def test_a_ruleset_restricting_updates_of_the_state_branch(world: World) -> None:
    _state_branch(world)
    world.github.add_branch_rule("refs/heads/ci-reviewer-state", "update")

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    assert "`update` rule" in outcome.checks()["state branch ci-reviewer-state"]["detail"]


def test_a_workflow_without_contents_write_is_a_problem(world: World) -> None:
    world.workflow("audit.yml", AUDIT_WORKFLOW.replace("contents: write", "contents: read"))

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    check = outcome.checks()["workflow .github/workflows/audit.yml"]
    assert check["status"] == "problem"
    assert "`contents: write`" in check["detail"] and "audit.yml:9" in check["detail"]


def test_a_workflow_with_what_it_needs_passes(world: World) -> None:
    world.workflow("audit.yml", AUDIT_WORKFLOW)

    outcome = world.run("--format", "json")

    assert outcome.code == 0
    assert outcome.statuses()["workflow .github/workflows/audit.yml"] == "ok"
    # Only the audit runs: neither the review's nor the test job's needs are asked.
    assert "github token checks: write" not in outcome.statuses()
    assert "actions may open pull requests" not in outcome.statuses()


def _clone(world: World, checkout: Path, *args: str) -> None:
    """A clone as actions/checkout makes it, with the world's config in it."""
    git(world.tmp, "clone", "-q", *args, f"file://{world.repo}", str(checkout))
    (checkout / ".github").mkdir(exist_ok=True)
    config = world.repo / ".github" / "ci-reviewer.yml"
    (checkout / ".github" / "ci-reviewer.yml").write_text(config.read_text())


def _state_branch(world: World) -> None:
    git(world.repo, "branch", "ci-reviewer-state")


def test_text_on_stdout_and_markdown_in_the_job_summary(world: World) -> None:
    world.claude.api_key = "sk-ant-another-key"
    summary = world.tmp / "summary.md"
    summary.write_text("earlier step\n")

    outcome = world.run(env={"GITHUB_STEP_SUMMARY": str(summary)})

    assert outcome.code == 2
    assert outcome.stderr.strip().endswith("1 problem; exit 2")  # said where a log shows it
    lines = outcome.stdout.splitlines()
    assert lines[0].startswith("ci-reviewer doctor: ") and "1 problem" in lines[0]
    assert any(line.startswith("  PROBLEM     anthropic key: ") for line in lines)
    assert any(line.strip().startswith("fix: set ANTHROPIC_API_KEY") for line in lines)
    written = summary.read_text()
    assert written.startswith("earlier step\n## ci-reviewer doctor\n")  # appended
    assert "| ❌ | anthropic key |" in written
    assert "| ✅ | github repository | the token can read octo/demo |  |" in written


def test_a_classic_token_without_the_repo_scope_is_a_problem(world: World) -> None:
    world.github.actor = "octocat"
    world.github.oauth_scopes = "gist, read:org, workflow"

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    check = outcome.checks()["github token scopes"]
    assert check["status"] == "problem"
    assert "gist, read:org, workflow" in check["detail"] and "public_repo" in check["fix"]


def test_a_doctor_workflow_alone_checks_everything_configured(world: World) -> None:
    doctor_only = AUDIT_WORKFLOW.replace("command: batch-run", "command: doctor").replace(
        "          job: weekly-audit\n", ""
    )
    world.workflow("doctor.yml", doctor_only)

    outcome = world.run("--format", "json")

    assert outcome.code == 0, outcome.stdout
    checked = set(outcome.statuses())
    assert {"github token checks: write", "github token issues: write"} <= checked
    assert {"checkout depth for weekly-audit", "checkout depth for nightly-tests"} <= checked
    assert outcome.statuses()["workflow .github/workflows/doctor.yml"] == "ok"


def test_refusals_the_doctor_expects_leave_no_library_log_lines(world: World) -> None:
    """The probes are answered 403 on purpose here (a write the token may not make, the
    Actions setting a workflow token cannot read, a branch protection it cannot read):
    each is a finding in the report, and PyGithub's own INFO record of every 403 ("Request
    GET ... failed with 403: Forbidden", `github.GithubRetry`) is not in the output."""
    _state_branch(world)
    world.github.protect_branch("ci-reviewer-state", reviews=False, checks=("ci",))
    world.github.set_token_scopes({**ALL_WRITE, "contents": "read"})

    report, text = world.run("--format", "json"), world.run()

    for outcome in (report, text):
        assert outcome.code == 2
        output = outcome.stdout + outcome.stderr
        assert "failed with 403" not in output and "Request GET" not in output
    checks = report.checks()
    assert "403" in checks["github token contents: write"]["detail"]
    assert checks["actions may open pull requests"]["status"] == "warning"
    assert "cannot read" in checks["state branch ci-reviewer-state"]["detail"]
    assert text.stderr.strip() == "ci-reviewer doctor: 10 ok, 1 warning, 2 problem; exit 2"


def _closed_port() -> int:
    """A local port nothing listens on: a connection to it is refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_github_exits_3_naming_the_address_it_tried(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """GitHub refusing every connection: each GitHub check is "unreachable", the others
    still run, and the run exits 3. In this process, with the client's backoff set to none
    (the retries still happen: six a call, each refused at once), not the ~31 s a call of
    the real backoff."""
    monkeypatch.setattr(github_client, "RETRY_BACKOFF_FACTOR", 0.0)
    port = _closed_port()
    monkeypatch.setenv("GITHUB_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", world.claude.url)
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    args = ["doctor", "--repo", "octo/demo", "--workdir", str(world.repo), "--format", "json"]

    with pytest.raises(SystemExit) as done:
        main(args)
    out, err = capsys.readouterr()

    assert done.value.code == 3
    report = Outcome(3, out, err)
    assert report.document["exit_code"] == 3
    check = report.checks()["github repository"]
    assert check == {
        "name": "github repository",
        "status": "unreachable",
        "detail": (
            f"ask GitHub GET /repos/octo/demo: cannot reach GitHub at 127.0.0.1:{port} "
            "(connection refused)"
        ),
        "fix": "run doctor again once the API answers",
    }
    # The checks that need no GitHub still ran and passed.
    assert report.statuses() == {
        "model claude-sonnet-5-5": "ok",
        "message batches": "ok",
        "github repository": "unreachable",
        "checkout depth for weekly-audit": "ok",
        "checkout depth for nightly-tests": "ok",
    }
    assert err == "ci-reviewer doctor: 4 ok, 1 unreachable; exit 3\n"  # no trace, no log line


def test_a_fallback_model_the_api_does_not_serve_is_a_problem(world: World) -> None:
    """A fallback model is asked for only when the others fail: doctor looks it up now."""
    world.config(
        "review:\n  max_retries: 0\n  fallback_model: claude-haiku-9\n"
        "jobs:\n  digest:\n    kind: report\n    fallback_model: claude-haiku-5-5\n"
    )

    outcome = world.run("--format", "json")

    assert outcome.code == 2
    statuses = outcome.statuses()
    assert statuses["model claude-haiku-5-5"] == "ok"
    assert statuses["model claude-haiku-9"] == "problem"
    assert "404 not_found_error" in outcome.checks()["model claude-haiku-9"]["detail"]
