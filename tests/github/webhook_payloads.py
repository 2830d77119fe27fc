"""GitHub's recorded webhook payloads (@octokit/webhooks-examples, fetched by the test
session), for the tests that run `answer` on them: a recorded payload with only what names
the test's own world changed (repository, numbers, the comment's id, author and body)."""

from __future__ import annotations

import copy
import json
import os
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_INDEX = (
    REPO_ROOT
    / ".ci-cache/webhooks-examples/node_modules/@octokit/webhooks-examples/api.github.com"
    / "index.json"
)


@cache
def _examples() -> dict[str, list[dict[str, Any]]]:
    configured = os.environ.get("CI_REVIEWER_WEBHOOK_EXAMPLES")
    path = Path(configured) if configured else DEFAULT_INDEX
    if not path.is_file():
        pytest.fail(f"webhook examples not found at {path}: run scripts/fetch-webhook-examples.sh")
    return {entry["name"]: entry["examples"] for entry in json.loads(path.read_text())}


def recorded(event: str, action: str = "created") -> dict[str, Any]:
    """The first recorded `event` payload with `action`, as GitHub sent it."""
    found = next(e for e in _examples()[event] if e.get("action") == action)
    return copy.deepcopy(found)


def review_comment_payload(
    repository: str,
    number: int,
    comment: dict[str, Any],
    *,
    body: str,
    author: str,
    comment_id: int,
    action: str = "created",
) -> dict[str, Any]:
    """A recorded pull_request_review_comment payload: a reply by `author` under `comment`
    (the emulator's first comment of the thread)."""
    payload = recorded("pull_request_review_comment", action)
    payload["repository"]["full_name"] = repository
    payload["pull_request"]["number"] = number
    recorded_comment = payload["comment"]
    recorded_comment |= {
        "id": comment_id,
        "body": body,
        "in_reply_to_id": comment["id"],
        "path": comment["path"],
        "diff_hunk": comment["diff_hunk"],
    }
    recorded_comment["user"] |= {"login": author, "type": "User"}
    return payload


def issue_comment_payload(
    repository: str, number: int, *, body: str, author: str, comment_id: int
) -> dict[str, Any]:
    """A recorded issue_comment payload on pull request `number`: GitHub marks an issue that
    is a pull request with `issue.pull_request`."""
    payload = recorded("issue_comment")
    payload["repository"]["full_name"] = repository
    payload["issue"]["number"] = number
    payload["issue"]["pull_request"] = {
        "url": f"https://api.github.com/repos/{repository}/pulls/{number}"
    }
    payload["comment"] |= {"id": comment_id, "body": body}
    payload["comment"]["user"] |= {"login": author, "type": "User"}
    return payload
