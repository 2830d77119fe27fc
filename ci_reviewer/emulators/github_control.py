"""The GitHub emulator's own control route, outside the API's paths: how someone trying
`ci-reviewer emulate` from a shell plays a person on a pull request, and gets the webhook
payload GitHub would hand a workflow for it.

    POST /_emulator/pulls/{n}/replies?as=LOGIN&to=ID   body: the reply's text (Markdown)

posts a reply by LOGIN (default `octocat`) in the thread of review comment ID (default: the
pull request's first inline comment), through the REST route's own handler, so it is stored
and shown as any reply is; and answers 201 with the `pull_request_review_comment` payload
(`action: created`) that GitHub delivers for it, with the `X-GitHub-Event` header its
deliveries carry. `ci-reviewer answer` reads that payload from GITHUB_EVENT_PATH, as in a
workflow. No token is asked: a person's own account is not the workflow's.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from ci_reviewer.emulators.github_pulls import get_pull, render_pull
from ci_reviewer.emulators.github_reviews import reply_to_review_comment
from ci_reviewer.emulators.github_routes import Context, not_found
from ci_reviewer.emulators.server import Request, Response

PREFIX = "/_emulator/pulls/"
_REPLIES = re.compile(r"/_emulator/pulls/(?P<number>\d+)/replies/?")
DEFAULT_PERSON = "octocat"
EVENT = "pull_request_review_comment"


def is_control(method: str, path: str) -> bool:
    return method == "POST" and path.startswith(PREFIX)


def handle(ctx: Context, request: Request) -> Response:
    """A person's reply, and the webhook payload for it (see the module docstring)."""
    found = _REPLIES.fullmatch(request.path.split("?", 1)[0])
    pull = get_pull(ctx, found["number"]) if found else None
    if pull is None:
        return not_found()
    number = pull["number"]
    login = request.param("as") or DEFAULT_PERSON
    to = request.param("to")
    comments = ctx.state.review_comments.get(number, [])
    firsts = [c for c in comments if c.get("in_reply_to_id") is None]
    root = next((c for c in firsts if str(c["id"]) == to), None) if to else None
    root = root if to else (firsts[0] if firsts else None)
    if root is None:
        return not_found()
    person = replace(ctx, actor=login)
    text = request.body.decode("utf-8").strip()
    rest = Request(
        "POST",
        f"/pulls/{number}/comments/{root['id']}/replies",
        {},
        request.headers,
        json.dumps({"body": text}).encode(),
    )
    posted = reply_to_review_comment(
        person, rest, {"number": str(number), "comment": str(root["id"])}
    )
    if posted.status != 201:
        return posted
    payload = {
        "action": "created",
        "comment": posted.body,
        "pull_request": render_pull(person, pull),
        "repository": ctx.links.repo(full=True),
        "sender": ctx.links.user(login),
    }
    return Response(201, payload, {"X-GitHub-Event": EVENT})
