"""`ci-reviewer answer` on GitHub's recorded webhook payloads: a mention of the reviewer gets
one answer in its thread (a re-run answers nothing twice), a mention by an author without
write access gets none, a withdrawn finding's thread is resolved, a fix comes as a
suggestion, and a mention on the pull request is answered on the pull request. `answer
--dry-run` writes the very request the answer then sends, and posts nothing; a token GitHub
refuses the author's permission (403) answers nothing and stops with exit 2, saying what
access to grant."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.emulators.claude import Reply
from ci_reviewer.review.thread_answer import SYSTEM
from tests.github.test_review_fixtures import REPO, World, numbered, world
from tests.github.test_review_threads import EVAL, reply_as
from tests.github.webhook_payloads import issue_comment_payload, review_comment_payload

__all__ = ["world"]
QUESTION = "@ci-reviewer is this really exploitable? the input is from our own CLI"


def reviewed(world: World) -> tuple[int, dict[str, Any]]:
    """A PR reviewed once: one inline finding (eval of user input on app.py line 5)."""
    world.push({"app.py": numbered({5: "eval(input())"})})
    number = world.open_pr()
    world.findings("app.py", EVAL)
    world.run(number)
    (comment,) = world.comments(number)
    return number, comment


def answers_with(world: World, decision: str, reply: str, suggestion: str | None = None) -> None:
    """The model answers a mention (and reviews files as the world says)."""
    review = world.answer

    def respond(body: Mapping[str, Any]) -> Reply | None:
        if body.get("system") == SYSTEM:
            document = {"reply": reply, "decision": decision, "suggestion": suggestion}
            return Reply.json(document)
        return review(body)

    world.claude.responder = respond


def asked(world: World) -> list[Mapping[str, Any]]:
    return [c.body for c in world.claude.requests if c.body.get("system") == SYSTEM]


def answer(
    world: World,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    event: str,
    payload: dict[str, Any],
    command: str | list[str] = "answer",
) -> tuple[int, str]:
    path = world.tmp / f"{event}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    env = world.env(1, event) | {"GITHUB_EVENT_PATH": str(path), "GITHUB_EVENT_NAME": event}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    args = [command] if isinstance(command, str) else command
    code = run_guarded(lambda: cli.main(args=args, prog_name="ci-reviewer", standalone_mode=False))
    return code, capsys.readouterr().err


def mention_in_thread(
    world: World, number: int, root: dict[str, Any], author: str
) -> dict[str, Any]:
    """`author` replies under our finding with the question; the payload GitHub sends."""
    reply_as(world, number, root["id"], author, QUESTION)
    mine = [c for c in world.comments(number) if c.get("in_reply_to_id") == root["id"]]
    return review_comment_payload(
        REPO, number, root, body=QUESTION, author=author, comment_id=mine[-1]["id"]
    )


def answers_in(world: World, number: int, root: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        c
        for c in world.comments(number)
        if c.get("in_reply_to_id") == root["id"] and c["user"]["login"] == "github-actions[bot]"
    ]


def test_a_mention_gets_one_answer_in_its_thread_and_a_rerun_no_second(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, root = reviewed(world)
    world.github.set_collaborator("octocat", "maintain")  # GitHub reports it as `write`
    payload = mention_in_thread(world, number, root, "octocat")
    answers_with(world, "explain", "It is: `input()` reads whatever the caller pipes in.")

    code, err = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)
    again, _ = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)

    assert code == again == 0, err
    (posted,) = answers_in(world, number, root)
    assert posted["body"].startswith("It is: `input()` reads whatever the caller pipes in.")
    assert f"<!-- ci-reviewer:answer:{payload['comment']['id']} -->" in posted["body"]
    assert root["id"] not in world.github.state.resolved_threads  # explained, not withdrawn
    (request,) = asked(world)  # the re-run asked the model nothing
    prompt = request["messages"][0]["content"][0]["text"]
    assert "eval of user input" in prompt and root["diff_hunk"] in prompt and QUESTION in prompt
    assert {tool["name"] for tool in request["tools"]} >= {"read_file", "search_code"}


def test_a_mention_by_an_author_without_write_access_gets_no_answer(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, root = reviewed(world)
    world.github.set_collaborator("visitor", "triage")  # GitHub reports it as `read`
    payload = mention_in_thread(world, number, root, "visitor")
    answers_with(world, "explain", "should never be posted")

    code, err = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)

    assert code == 0
    assert answers_in(world, number, root) == [] and asked(world) == []
    assert "@visitor has read access; only write access gets an answer" in err


def test_a_withdrawn_finding_resolves_its_thread(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, root = reviewed(world)
    world.github.set_collaborator("octocat", "write")
    payload = mention_in_thread(world, number, root, "octocat")
    answers_with(world, "withdraw", "You are right: the value never leaves this process.")

    code, err = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)

    assert code == 0, err
    assert root["id"] in world.github.state.resolved_threads
    (posted,) = answers_in(world, number, root)
    assert "_Finding withdrawn; this thread is resolved._" in posted["body"]


def test_a_fix_is_posted_as_a_suggestion(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, root = reviewed(world)
    world.github.set_collaborator("octocat", "admin")
    payload = mention_in_thread(world, number, root, "octocat")
    answers_with(world, "fix", "Parse it instead:", "value = int(input())")

    answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)

    (posted,) = answers_in(world, number, root)
    assert "Parse it instead:\n\n```suggestion\nvalue = int(input())\n```" in posted["body"]


def test_a_mention_on_the_pull_request_is_answered_there_once(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, _ = reviewed(world)
    world.github.set_collaborator("octocat", "write")
    payload = issue_comment_payload(
        REPO,
        number,
        body="Hey @CI-Reviewer, what does this PR risk?",
        author="octocat",
        comment_id=987654,
    )
    answers_with(world, "explain", "Mostly the eval on line 5.")

    answer(world, monkeypatch, capsys, "issue_comment", payload)
    answer(world, monkeypatch, capsys, "issue_comment", payload)

    comments = world.github.state.issue_comments.get(number, [])
    answered = [c for c in comments if "<!-- ci-reviewer:answer:987654 -->" in c["body"]]
    assert len(answered) == 1 and answered[0]["body"].startswith("Mostly the eval on line 5.")
    assert len(asked(world)) == 1


def test_a_comment_that_names_another_handle_is_not_a_mention(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, _ = reviewed(world)
    payload = issue_comment_payload(
        REPO, number, body="cc @ci-reviewer-team", author="octocat", comment_id=5
    )

    code, err = answer(world, monkeypatch, capsys, "issue_comment", payload)

    assert code == 0 and asked(world) == []
    assert "does not mention @ci-reviewer" in err


def test_review_run_on_a_comment_event_answers_the_mention(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, _ = reviewed(world)
    world.github.set_collaborator("octocat", "write")
    payload = issue_comment_payload(
        REPO, number, body="@ci-reviewer summarise the risk", author="octocat", comment_id=42
    )
    answers_with(world, "explain", "One eval, on line 5.")

    code, err = answer(world, monkeypatch, capsys, "issue_comment", payload, command="review")

    assert code == 0, err
    comments = world.github.state.issue_comments.get(number, [])
    assert [c["body"].split("\n")[0] for c in comments if "ci-reviewer:answer:42" in c["body"]] == [
        "One eval, on line 5."
    ]


def test_the_dry_run_writes_the_request_the_answer_then_sends_and_posts_nothing(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, root = reviewed(world)
    world.github.set_collaborator("octocat", "write")
    payload = mention_in_thread(world, number, root, "octocat")
    answers_with(world, "explain", "It is: `input()` reads whatever the caller pipes in.")
    written = world.tmp / "answer-requests.jsonl"
    dry = ["answer", "--dry-run", "--requests-file", str(written)]

    code, err = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload, dry)
    posted_after_dry_run = answers_in(world, number, root)
    asked_after_dry_run = asked(world)
    again, _ = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)

    assert code == again == 0, err
    assert posted_after_dry_run == [] and asked_after_dry_run == []  # nothing sent or posted
    (line,) = written.read_text(encoding="utf-8").splitlines()
    (sent,) = asked(world)  # the real run's first (and only) request
    assert json.loads(line) == sent
    (posted,) = answers_in(world, number, root)
    assert posted["body"].startswith("It is:")


def test_a_token_that_may_not_read_permissions_answers_nothing_and_says_what_to_grant(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    number, root = reviewed(world)
    world.github.set_collaborator("octocat", "write")
    payload = mention_in_thread(world, number, root, "octocat")
    answers_with(world, "explain", "should never be posted")
    # A person's token (not the workflow's), whose account only reads the repository: GitHub
    # answers 403 to its permission lookup (recorded: "Must have push access ...").
    world.github.set_collaborator("reader", "read")
    world.github.actor = "reader"

    code, err = answer(world, monkeypatch, capsys, "pull_request_review_comment", payload)

    world.github.actor = "github-actions[bot]"
    assert code == 2  # a setup to change (DESIGN.md: exit codes), not an API fault (3)
    assert answers_in(world, number, root) == [] and asked(world) == []
    assert f"comment {payload['comment']['id']} not answered" in err
    assert "(403)" in err and "cannot be verified" in err
    assert "push access" in err and "GITHUB_TOKEN" in err
