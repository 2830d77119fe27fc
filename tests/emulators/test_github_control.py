"""The GitHub emulator's control route for a person's reply (`POST /_emulator/pulls/N/replies`):
the reply is stored as one by that person in the thread, as the REST API shows it, and the
answer is the `pull_request_review_comment` webhook payload GitHub would deliver, with the
top-level keys of GitHub's recorded payload, which the product reads as its event."""

from __future__ import annotations

import subprocess
from pathlib import Path

import github
import requests

from ci_reviewer.emulators.github import GitHubEmulator
from ci_reviewer.github.mention_event import mention_event
from tests.emulators.github_fixtures import client, commit_files, git
from tests.github.webhook_payloads import recorded

QUESTION = "Why is this wrong? @ci-reviewer"


def _pull_with_a_finding(emulator: GitHubEmulator, gh: github.Github, repo_dir: Path) -> int:
    git(repo_dir, "checkout", "-q", "-b", "feature")
    commit_files(repo_dir, {"app.py": "line 1 changed\n"}, "change")
    git(repo_dir, "checkout", "-q", "main")
    number = emulator.open_pull("feature")
    pull = gh.get_repo("octo/demo").get_pull(number)
    head = gh.get_repo("octo/demo").get_commit(pull.head.sha)
    pull.create_review_comment("A finding", head, "app.py", line=1)
    return number


def test_a_persons_reply_is_stored_and_answered_with_its_webhook_payload(
    git_repo: Path, emulator: GitHubEmulator
) -> None:
    gh = client(emulator, retry=None)
    try:
        number = _pull_with_a_finding(emulator, gh, git_repo)
        sent = requests.post(
            f"{emulator.url}/_emulator/pulls/{number}/replies",
            params={"as": "octocat"},
            data=QUESTION.encode(),
            timeout=30,
        )
        comments = list(gh.get_repo("octo/demo").get_pull(number).get_review_comments())
    finally:
        gh.close()

    assert sent.status_code == 201
    assert sent.headers["X-GitHub-Event"] == "pull_request_review_comment"
    payload = sent.json()
    finding, reply = comments
    assert (reply.user.login, reply.body, reply.in_reply_to_id) == ("octocat", QUESTION, finding.id)
    assert set(payload) <= set(recorded("pull_request_review_comment"))
    event = mention_event("pull_request_review_comment", payload)
    assert (event.action, event.repository, event.number) == ("created", "octo/demo", number)
    assert (event.comment_id, event.in_reply_to, event.author) == (reply.id, finding.id, "octocat")
    assert not event.author_is_bot and event.mentions("@ci-reviewer")
    assert event.diff_hunk == finding.diff_hunk and event.path == "app.py"


def test_a_reply_to_no_comment_is_not_found(git_repo: Path, emulator: GitHubEmulator) -> None:
    subprocess.run(["git", "-C", str(git_repo), "branch", "feature"], check=True)
    number = emulator.open_pull("feature")
    for path, to in (
        (f"/_emulator/pulls/{number}/replies", None),
        ("/_emulator/pulls/99/replies", None),
        (f"/_emulator/pulls/{number}/replies", "12345"),
    ):
        sent = requests.post(
            emulator.url + path, params={"to": to} if to else {}, data=b"hello", timeout=30
        )
        assert sent.status_code == 404, path
        assert sent.json()["message"] == "Not Found"
