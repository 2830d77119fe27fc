"""`--dry-run` needs no credentials and no network (DESIGN.md 9): `answer --dry-run`, `review
--dry-run` on a comment event (which is the answer's dry run) and `review --dry-run` on a pull
request, run with no GITHUB_TOKEN, no ANTHROPIC_API_KEY and both APIs' URLs on a closed port
(nothing listens: any request would fail), build the request from GitHub's recorded webhook
payloads and the checkout, write it, and say what only the real run can check."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from tests.emulators.github_fixtures import commit_files, git, git_repo
from tests.github.webhook_payloads import issue_comment_payload, review_comment_payload

__all__ = ["git_repo"]
REPO = "octo/demo"
QUESTION = "@ci-reviewer is this really exploitable? the input is from our own CLI"
HUNK = "@@ -3,5 +3,5 @@\n line 3\n line 4\n-line 5\n+eval(input())\n line 6"
PLACEHOLDER_START = "[ci-reviewer dry run placeholder: the thread's first comment"


def closed_port_url() -> str:
    """An address where nothing listens: the port was bound, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def offline(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    repo: Path,
    event: str,
    payload: dict[str, Any],
    args: list[str],
) -> tuple[int, str, str]:
    path = repo.parent / f"{event}.json"
    path.write_text(json.dumps(payload), encoding="utf-8")
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    env = {
        "GITHUB_API_URL": closed_port_url(),
        "ANTHROPIC_BASE_URL": closed_port_url(),
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_EVENT_NAME": event,
        "GITHUB_EVENT_PATH": str(path),
        "GITHUB_WORKSPACE": str(repo),
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    code = run_guarded(lambda: cli.main(args=args, prog_name="ci-reviewer", standalone_mode=False))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def reply_payload() -> dict[str, Any]:
    """A reply under inline comment 7001 on app.py, as GitHub sends it."""
    root = {"id": 7001, "path": "app.py", "diff_hunk": HUNK}
    payload = review_comment_payload(
        REPO, 3, root, body=QUESTION, author="octocat", comment_id=7002
    )
    payload["pull_request"]["title"] = "Read the command from stdin"
    return payload


def prompt_of(requests: Path) -> str:
    (line,) = requests.read_text(encoding="utf-8").splitlines()
    request = json.loads(line)
    assert request["model"] == "claude-sonnet-5-5"
    return str(request["messages"][0]["content"][0]["text"])


@pytest.mark.parametrize("command", ["answer", "review"])
def test_a_reply_is_dry_run_from_its_payload_with_the_finding_left_to_the_real_run(
    git_repo: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    requests = git_repo.parent / "answer.jsonl"
    args = [command, "--dry-run", "--requests-file", str(requests)]

    code, out, err = offline(
        monkeypatch, capsys, git_repo, "pull_request_review_comment", reply_payload(), args
    )

    assert code == 0, err
    prompt = prompt_of(requests)
    assert prompt.startswith("Pull request: Read the command from stdin\n\n")
    assert "Your earlier finding on `app.py`:\n\n" + PLACEHOLDER_START in prompt
    assert f"The diff hunk it is on:\n\n```diff\n\n{HUNK}\n\n```" in prompt
    assert prompt.endswith(f"@octocat asks:\n\n<question>\n\n{QUESTION}\n\n</question>")
    assert out.startswith("dry run: nothing sent, nothing posted. comment 7002 by @octocat")
    assert "no ANTHROPIC_API_KEY to ask count_tokens" in out
    checked = out[out.index("checked by the real run:") :]
    assert "whether @octocat has write access to octo/demo" in checked
    assert "whether comment 7002 was answered before" in checked
    assert "the thread's first comment (7001)" in checked


def test_a_mention_on_the_pull_request_carries_no_finding(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = issue_comment_payload(
        REPO, 3, body="@ci-reviewer summarise the risk", author="octocat", comment_id=42
    )
    payload["issue"]["title"] = "Read the command from stdin"
    requests = git_repo.parent / "answer.jsonl"

    code, out, err = offline(
        monkeypatch,
        capsys,
        git_repo,
        "issue_comment",
        payload,
        ["answer", "--dry-run", "--requests-file", str(requests)],
    )

    assert code == 0, err
    assert prompt_of(requests) == (
        "Pull request: Read the command from stdin\n\n@octocat asks:\n\n<question>\n\n"
        "@ci-reviewer summarise the risk\n\n</question>"
    )
    assert "whether comment 42 was answered before" in out
    assert "first comment" not in out


def test_a_comment_without_the_mention_gets_no_request(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    payload = issue_comment_payload(REPO, 3, body="LGTM", author="octocat", comment_id=42)
    requests = git_repo.parent / "answer.jsonl"

    code, out, err = offline(
        monkeypatch,
        capsys,
        git_repo,
        "issue_comment",
        payload,
        ["review", "--dry-run", "--requests-file", str(requests)],
    )

    assert code == 0, err
    assert out.strip() == "dry run: nothing sent; the comment would get no answer"
    assert "does not mention @ci-reviewer" in err
    assert not requests.exists()


def pull_payload(repo: Path, head: str, number: int = 3) -> dict[str, Any]:
    return {
        "action": "synchronize",
        "number": number,
        "pull_request": {
            "number": number,
            "state": "open",
            "merged": False,
            "title": "Read the command from stdin",
            "body": "",
            "base": {"sha": git(repo, "rev-parse", "main")},
            "head": {"sha": head},
        },
        "repository": {"full_name": REPO},
    }


def test_review_dry_run_on_a_pull_request_diffs_the_payloads_commits_in_the_checkout(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    git(git_repo, "checkout", "-q", "-b", "feature")
    lines = "".join("eval(input())\n" if i == 5 else f"line {i}\n" for i in range(1, 41))
    head = commit_files(git_repo, {"app.py": lines, "lib.py": "y = 2\n"}, "read stdin")
    git(git_repo, "checkout", "-q", "main")  # the base checked out: the head read from git
    requests = git_repo.parent / "review.jsonl"

    code, out, err = offline(
        monkeypatch,
        capsys,
        git_repo,
        "pull_request",
        pull_payload(git_repo, head),
        ["review", "--dry-run", "--requests-file", str(requests), "--format", "json"],
    )

    assert code == 0, err
    document = json.loads(out)
    assert document["files"] == ["app.py", "lib.py"]
    assert document["tokens_counted_by"] != "count_tokens"
    written = [json.loads(line) for line in requests.read_text(encoding="utf-8").splitlines()]
    assert len(written) == 2
    assert "no GITHUB_TOKEN: the pull request is read from the event payload" in err


def test_review_dry_run_of_a_pull_request_the_payload_does_not_describe_is_exit_2(
    git_repo: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = offline(
        monkeypatch,
        capsys,
        git_repo,
        "pull_request",
        pull_payload(git_repo, git(git_repo, "rev-parse", "HEAD")),
        ["review", "--dry-run", "--pr", "9", "--repo", REPO],
    )

    assert code == 2
    assert "reads pull request #9 from the event payload" in err and "GITHUB_TOKEN" in err
