"""`ci-reviewer review` on a pull request, end to end through the CLI with the Actions
environment pointing at the emulators: exit codes, stdout, step outputs, the job summary."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.emulators.server import Fault
from tests.github.test_review_fixtures import World, numbered, world

__all__ = ["world"]
SECRET = "sk-ant-test-key-123456"


def ci_reviewer(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    env: dict[str, str],
) -> tuple[int, str, str]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = run_guarded(lambda: cli.main(args=args, prog_name="ci-reviewer", standalone_mode=False))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_blocking_review_end_to_end(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings(
        "app.py",
        {"line": 5, "title": "eval of user input", "severity": "critical", "body": SECRET},
    )

    code, out, err = ci_reviewer(
        world, monkeypatch, capsys, ["review", "--format", "json"], world.env(number)
    )

    assert code == 1
    document = json.loads("\n".join(x for x in out.splitlines() if not x.startswith("::")))
    assert document["head_sha"] == head and document["blocking"] is True
    (review,) = world.reviews(number)
    outputs = world.outputs()
    assert outputs["findings-count"] == "1"
    assert outputs["highest-severity"] == "critical"
    assert outputs["review-url"] == review["html_url"]
    assert float(outputs["cost-usd"]) > 0
    job_summary = (world.tmp / "summary.md").read_text(encoding="utf-8")
    assert "eval of user input" in job_summary and head[:12] in job_summary
    assert [run["head_sha"] for run in world.check_runs()] == [head]  # never GITHUB_SHA
    assert "1 finding in 1 file" in err
    assert SECRET not in out + err + job_summary
    state = world.github.state
    posted = [state.reviews, state.review_comments, state.issue_comments, state.check_runs]
    assert SECRET not in json.dumps([*posted, state.annotations])
    assert "***" in world.comments(number)[0]["body"]


def test_a_second_run_without_new_commits_refreshes(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    env = world.env(number)
    assert ci_reviewer(world, monkeypatch, capsys, ["review"], env)[0] == 0

    code, _, _ = ci_reviewer(world, monkeypatch, capsys, ["review"], env)

    assert code == 0
    assert len(world.summaries(number)) == 1
    assert f"no new changes since {head[:12]}" in world.summaries(number)[0]["body"]
    assert "no new changes" in (world.tmp / "summary.md").read_text(encoding="utf-8")


def _stdout_document(out: str) -> str:
    return "\n".join(x for x in out.splitlines() if not x.startswith("::"))


def test_a_rerun_with_nothing_new_still_prints_its_answer_in_each_format(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = world.push({"app.py": numbered({5: "x = eval(y)"})})
    number = world.open_pr()
    world.findings("app.py", {"line": 5, "title": "eval", "severity": "low", "body": "b"})
    env = world.env(number)
    code, first, _ = ci_reviewer(world, monkeypatch, capsys, ["review"], env)
    (review,) = world.reviews(number)
    assert code == 0 and f"review: {review['html_url']}" in first  # text names the review

    _, text, _ = ci_reviewer(world, monkeypatch, capsys, ["review"], env)
    _, out, _ = ci_reviewer(world, monkeypatch, capsys, ["review", "--format", "json"], env)

    assert f"no new changes since {head[:12]}" in _stdout_document(text)
    assert f"review: {review['html_url']}" in text
    document = json.loads(_stdout_document(out))  # what `| jq` reads
    assert document["reviewed"] is False
    assert document["review_url"] == review["html_url"]
    assert document["status"].startswith(f"no new changes since {head[:12]}")


def test_an_event_that_is_not_a_pull_request_is_exit_2_naming_it(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = world.env(1, event="push")
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"ref": "refs/heads/main"}))

    code, out, err = ci_reviewer(world, monkeypatch, capsys, ["review"], env)

    assert code == 2
    assert "'push' is not a pull-request event" in err and "--pr" in err
    assert out == ""


def test_workflow_dispatch_with_pr_and_repo(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    head = world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    env = world.env(number, event="workflow_dispatch")
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"inputs": {}}))
    monkeypatch.delenv("GITHUB_REPOSITORY", raising=False)
    del env["GITHUB_REPOSITORY"]

    code, _, _ = ci_reviewer(
        world, monkeypatch, capsys, ["review", "--pr", str(number), "--repo", "octo/demo"], env
    )

    assert code == 0
    assert [run["head_sha"] for run in world.check_runs()] == [head]


def test_pr_without_a_repository_is_exit_2(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = world.env(1)
    del env["GITHUB_REPOSITORY"]

    code, _, err = ci_reviewer(world, monkeypatch, capsys, ["review", "--pr", "1"], env)

    assert code == 2 and "--repo" in err


def test_a_merged_pull_request_is_skipped_with_exit_0(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    world.github.close_pull(number, merged=True)

    code, out, err = ci_reviewer(world, monkeypatch, capsys, ["review"], world.env(number))

    assert code == 0 and out == ""
    assert f"pull request #{number} is merged" in err


def test_claude_outage_under_neutral_exits_0_and_says_the_review_did_not_run(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    config = world.tmp / "ci-reviewer.yml"
    config.write_text("review:\n  on_api_error: neutral\n", encoding="utf-8")
    world.claude.inject(Fault(route="/v1/messages", status=529, times=50, retry_after=0.01))

    code, _, err = ci_reviewer(
        world, monkeypatch, capsys, ["review", "--config", str(config)], world.env(number)
    )

    assert code == 0
    assert "did not run" in err
    assert "did not run" in (world.tmp / "summary.md").read_text(encoding="utf-8")
    assert [run["conclusion"] for run in world.check_runs()] == ["neutral"]


def test_claude_outage_by_default_exits_3(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    world.claude.inject(Fault(route="/v1/messages", status=529, times=50, retry_after=0.01))

    code, _, err = ci_reviewer(world, monkeypatch, capsys, ["review"], world.env(number))

    assert code == 3 and "error:" in err


def test_a_read_only_fork_run_prints_annotations_and_keeps_the_gate(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr(fork=True, user="outsider")
    world.github.set_permissions(write=False)
    world.findings("app.py", {"line": 5, "title": "eval of user input", "severity": "high"})

    code, out, err = ci_reviewer(world, monkeypatch, capsys, ["review"], world.env(number))

    assert code == 1
    assert "::error file=app.py,line=5,endLine=5,title=high%3A eval of user input::" in out
    assert "Traceback" not in err and "no review posted" in err
    assert "eval of user input" in (world.tmp / "summary.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("merged", [False, True], ids=["closed", "merged"])
def test_dry_run_on_a_closed_pull_request_says_the_review_would_skip_it(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], merged: bool
) -> None:
    world.push({"app.py": numbered({5: "x = 1"})})
    number = world.open_pr()
    world.github.close_pull(number, merged=merged)
    reason = "merged" if merged else "closed"

    code, out, _ = ci_reviewer(
        world, monkeypatch, capsys, ["review", "--dry-run"], world.env(number)
    )
    _, as_json, _ = ci_reviewer(
        world, monkeypatch, capsys, ["review", "--dry-run", "--format", "json"], world.env(number)
    )

    assert code == 0
    assert f"the pull request is {reason}: a review would skip it" in out
    assert "dry run: nothing sent. 1 file" not in out  # not priced as if it would run
    assert json.loads(as_json) == {"dry_run": True, "skipped": reason, "files": []}
    assert world.claude.requests == []
    assert [r.method for r in world.github.log if r.method != "GET"] == []


def test_dry_run_on_a_pull_request_writes_nothing_to_github(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    world.push({"app.py": numbered({5: "x = 1"}), "lib.py": "y = 2\n"})
    number = world.open_pr()

    code, out, _ = ci_reviewer(
        world, monkeypatch, capsys, ["review", "--dry-run"], world.env(number)
    )

    assert code == 0
    assert "dry run: nothing sent. 2 files" in out and "lib.py" in out
    assert world.claude.requests == []
    assert [r.method for r in world.github.log if r.method != "GET"] == []


def test_a_pull_request_payload_without_a_number_is_exit_2(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    env = world.env(1)
    Path(env["GITHUB_EVENT_PATH"]).write_text(json.dumps({"pull_request": {"head": {}}}))

    code, _, err = ci_reviewer(world, monkeypatch, capsys, ["review"], env)

    assert code == 2 and "pull_request.number is missing" in err
