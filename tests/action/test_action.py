"""action.yml executed as the runner would, against the emulators: the wiring of inputs,
env, installation, the CLI call and the outputs is tested, not only the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from ci_reviewer.emulators.claude import ClaudeEmulator
from ci_reviewer.emulators.github import GitHubEmulator
from tests.action.runner import ActionRun, run_action
from tests.action.workspace import own_checkout
from tests.emulators.github_fixtures import TOKEN, commit_files, emulator, git, git_repo
from tests.github.test_review_fixtures import World, numbered, world

__all__ = ["emulator", "git_repo", "world"]  # fixtures used here

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_command_fails_with_an_annotation(
    action_dir: Path, runner_temp: Path, tmp_path: Path
) -> None:
    run = run_action(
        action_dir,
        {"command": "deploy"},
        {"GITHUB_WORKSPACE": str(own_checkout(tmp_path))},
        runner_temp,
    )
    assert run.returncode == 2
    assert "::error title=ci-reviewer::unknown command input" in run.stdout


def test_plan_runs_through_the_action(action_dir: Path, runner_temp: Path, tmp_path: Path) -> None:
    workspace = own_checkout(tmp_path)
    run: ActionRun = run_action(
        action_dir,
        {"command": "plan", "args": "--format json"},
        {"GITHUB_WORKSPACE": str(workspace)},
        runner_temp,
    )
    assert run.returncode == 0, run.stderr
    start = run.stdout.index("{\n")  # after whatever the install steps printed
    plan, _ = json.JSONDecoder().raw_decode(run.stdout[start:])
    # One planned step per example workflow copied in; the review and the answer to a
    # mention (someone waits on each) are the ones on the synchronous API, as each
    # workflow's own `command:` says.
    examples = sorted(p.name for p in (ROOT / ".github" / "workflows").glob("ci-reviewer-*.yml"))
    steps = {Path(step["workflow"]).name: step for step in plan["steps"]}
    assert sorted(steps) == examples
    for name, step in steps.items():
        command = _command_of(ROOT / ".github" / "workflows" / name)
        # The action's `command` input names the CLI command with a dash for the space.
        assert step["command"] == command.replace("-", " ")
        assert step["api"] == ("sync" if command in ("review", "answer") else "batch"), name


def _command_of(workflow: Path) -> str:
    """The `command:` input of the workflow's step that uses the action, read with PyYAML."""
    document = yaml.safe_load(workflow.read_text())
    for job in document["jobs"].values():
        for step in job.get("steps", []):
            if "with" in step and "command" in step["with"]:
                return str(step["with"]["command"])
    raise AssertionError(f"{workflow.name} has no step with a command input")


def test_inputs_reach_the_cli_only_through_env(
    action_dir: Path, runner_temp: Path, tmp_path: Path
) -> None:
    """A hostile input is data, never script: no command substitution happens."""
    marker = tmp_path / "pwned"
    run = run_action(
        action_dir,
        {
            "command": "plan",
            "model": f"$(touch {marker})",
            "args": f"--format json ;touch {marker}",
        },
        {"GITHUB_WORKSPACE": str(own_checkout(tmp_path))},
        runner_temp,
    )
    assert not marker.exists()
    assert run.returncode == 2  # `;touch` is an unexpected argument to the CLI, not a command


def test_review_through_the_action_posts_and_gates(
    action_dir: Path, runner_temp: Path, world: World
) -> None:
    world.push({"app.py": numbered({5: "eval(user_input)"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "severity": "high", "title": "eval of user input"})
    env = world.env(number)
    secrets = {
        "ANTHROPIC_API_KEY": env.pop("ANTHROPIC_API_KEY"),
        "GITHUB_TOKEN": env.pop("GITHUB_TOKEN"),
    }
    for name in ("GITHUB_OUTPUT", "GITHUB_STEP_SUMMARY"):
        env.pop(name)  # the runner gives each step its own files

    run = run_action(
        action_dir,
        {
            "command": "review",
            "fail-on": "high",
            "anthropic-api-key": secrets["ANTHROPIC_API_KEY"],
            "github-token": secrets["GITHUB_TOKEN"],
        },
        env,
        runner_temp,
    )

    assert run.returncode == 1, run.stderr  # a high finding blocks the merge
    assert run.outputs["findings-count"] == "1"
    assert run.outputs["highest-severity"] == "high"
    [review] = world.reviews(number)
    assert run.outputs["review-url"] == review["html_url"]
    assert review["state"] == "CHANGES_REQUESTED"
    assert "::add-mask::" in run.stdout
    assert "eval of user input" in run.summary
    # The runner consumes ::add-mask:: lines (that is how a value gets masked); nothing else
    # may carry a secret.
    shown = "\n".join(
        line for line in run.stdout.splitlines() if not line.startswith("::add-mask::")
    )
    for secret in secrets.values():
        assert f"::add-mask::{secret}" in run.stdout
        assert secret not in shown + run.stderr + run.summary
        assert all(secret not in value for value in run.outputs.values())


def test_batch_run_through_the_action_submits_then_publishes(
    action_dir: Path, runner_temp: Path, tmp_path: Path
) -> None:
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    git(checkout, "init", "-q", "-b", "main")
    commit_files(
        checkout,
        {
            ".github/ci-reviewer.yml": "jobs:\n  overnight:\n    kind: report\n",
            "src/calc.py": "def add(a, b):\n    return a + b\n",
        },
        "code",
    )
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(checkout), str(bare))
    with GitHubEmulator(bare, token=TOKEN) as origin, ClaudeEmulator() as claude:
        env = {
            "GITHUB_WORKSPACE": str(checkout),
            "GITHUB_REPOSITORY": "octo/demo",
            "GITHUB_API_URL": origin.url,
            "GITHUB_RUN_ID": "77",
            "ANTHROPIC_BASE_URL": claude.url,
        }
        inputs = {
            "command": "batch-run",
            "job": "overnight",
            "anthropic-api-key": "sk-ant-action-batch-key",
            "github-token": TOKEN,
        }
        first = run_action(action_dir, inputs, env, runner_temp)
        assert first.returncode == 0, first.stderr
        [batch_id] = first.outputs["batch-ids"].split(",")
        assert batch_id.startswith("msgbatch_")
        assert float(first.outputs["cost-usd"]) > 0
        assert not [i for i in origin.state.issues.values() if "pull_request" not in i]

        second = run_action(action_dir, inputs, env, runner_temp)
        assert second.returncode == 0, second.stderr
        [issue] = [i for i in origin.state.issues.values() if "pull_request" not in i]
        assert batch_id in issue["body"]
        assert [label["name"] for label in issue["labels"]] == ["overnight"]
        assert "overnight" in second.summary


def test_a_forks_pull_request_ends_the_step_green_with_a_notice(
    action_dir: Path, runner_temp: Path, tmp_path: Path, git_repo: Path
) -> None:
    """On a fork's pull request GitHub gives `secrets.ANTHROPIC_API_KEY` as an empty string:
    the step passes (exit 0) and the notice and job summary say why no review ran."""
    from tests.github.test_withheld_secrets import FORK, notices, recorded_event

    event_path = tmp_path / "event.json"
    event_path.write_text(json.dumps(recorded_event(FORK)), encoding="utf-8")
    run = run_action(
        action_dir,
        {"command": "review", "fail-on": "high", "anthropic-api-key": ""},
        {
            "GITHUB_WORKSPACE": str(git_repo),
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_EVENT_PATH": str(event_path),
            "GITHUB_REPOSITORY": "PyGithub/PyGithub",
            "GITHUB_ACTOR": "Ferada",
            "GITHUB_TOKEN": "ghs_readonlyForkToken000000000000000",
        },
        runner_temp,
    )

    assert run.returncode == 0, run.stderr
    [(title, message)] = notices(run.stdout)
    assert title == "ci-reviewer: no review"
    assert "comes from the fork Ferada/PyGithub" in message
    assert "## ci-reviewer: no review of pull request #1171" in run.summary
    assert run.outputs["findings-count"] == "0"
