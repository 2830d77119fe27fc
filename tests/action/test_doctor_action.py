"""`command: doctor` through action.yml: the report reaches the log and the job summary, and
a problem fails the step with exit 2."""

from __future__ import annotations

from pathlib import Path

from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from tests.action.runner import run_action
from tests.emulators.github_fixtures import TOKEN, commit_files, git

KEY = "sk-ant-action-doctor-key"


def test_doctor_through_the_action_reports_to_the_job_summary(
    action_dir: Path, runner_temp: Path, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    git(checkout, "init", "-q", "-b", "main")
    config = "review:\n  max_retries: 0\njobs:\n  overnight:\n    kind: report\n    since: all\n"
    commit_files(checkout, {".github/ci-reviewer.yml": config, "src/a.py": "x = 1\n"}, "code")
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(bare))
    with GitHubEmulator(bare, token=TOKEN) as origin, ClaudeEmulator(api_key=KEY) as claude:
        origin.set_token_scopes({"contents": "write", "pull-requests": "write", "checks": "write"})
        env = {
            "GITHUB_WORKSPACE": str(checkout),
            "GITHUB_REPOSITORY": "octo/demo",
            "GITHUB_API_URL": origin.url,
            "ANTHROPIC_BASE_URL": claude.url,
        }
        inputs = {"command": "doctor", "anthropic-api-key": KEY, "github-token": TOKEN}
        run = run_action(action_dir, inputs, env, runner_temp)

    assert run.returncode == 2, run.stderr  # the report job's issue cannot be opened
    assert "PROBLEM     github token issues: write" in run.stdout
    assert "ok          model claude-sonnet-5-5" in run.stdout
    assert "## ci-reviewer doctor" in run.summary
    assert "| ❌ | github token issues: write |" in run.summary
    assert origin.state.issues == {}
