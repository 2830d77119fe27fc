"""Pull request reviews and review comments, anchored on lines of the real diff.

A review is atomic as on GitHub: if one inline comment cannot be placed on the diff, the
whole request fails with 422 and none of its comments is created. Nor is the review, unless
the `keep_body_of_refused_review` quirk is on: GitHub has been seen to keep the review's body
while answering that 422 (see `Quirks`). Every refusal is one of GitHub's recorded answers.
"""

from __future__ import annotations

from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_diff import Anchor, UnresolvableLine, resolve
from ci_reviewer.emulators.github_pulls import get_pull, head_sha, pull_files
from ci_reviewer.emulators.github_routes import (
    Context,
    Router,
    invalid_field,
    json_body,
    not_found,
    paginate,
)
from ci_reviewer.emulators.server import Request, Response

router = Router()

_STATES = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED"}


def _anchor(
    ctx: Context, pull: dict[str, Any], commit: str, comment: dict[str, Any]
) -> Anchor | str:
    """Where a comment lands, or the key of GitHub's answer when it cannot."""
    patches = {f.filename: f.patch for f in pull_files(ctx, pull, commit)}
    if comment.get("path") not in patches:
        return "review-path-unresolved"
    try:
        return resolve(patches[comment["path"]], comment)
    except UnresolvableLine:
        return "review-line-unresolved"


def _render_comment(
    ctx: Context,
    number: int,
    review_id: int | None,
    commit: str,
    *,
    data: dict[str, Any],
    anchor: Anchor,
) -> dict[str, Any]:
    comment_id = ctx.state.new_id()
    url = f"{ctx.links.api}/pulls/comments/{comment_id}"
    html = f"{ctx.links.html}/pull/{number}#discussion_r{comment_id}"
    pull_url = f"{ctx.links.api}/pulls/{number}"
    now = ctx.now()
    body = {
        "url": url,
        "pull_request_review_id": review_id,
        "id": comment_id,
        "node_id": f"PRRC_{comment_id}",
        "diff_hunk": anchor.diff_hunk,
        "path": data["path"],
        "position": anchor.position,
        "original_position": anchor.position,
        "commit_id": commit,
        "original_commit_id": commit,
        "user": ctx.links.user(ctx.actor),
        "body": str(data.get("body") or ""),
        "created_at": now,
        "updated_at": now,
        "html_url": html,
        "pull_request_url": pull_url,
        "author_association": "MEMBER",
        "_links": {
            "self": {"href": url},
            "html": {"href": html},
            "pull_request": {"href": pull_url},
        },
        "start_line": anchor.start_line,
        "original_start_line": anchor.start_line,
        "start_side": anchor.start_side,
        "line": anchor.line,
        "original_line": anchor.line,
        "side": anchor.side,
        "subject_type": "line",
    }
    if data.get("in_reply_to") is not None:
        body["in_reply_to_id"] = data["in_reply_to"]
    return body


def _render_review(
    ctx: Context, number: int, review_id: int, data: dict[str, Any], commit: str
) -> dict[str, Any]:
    event = str(data.get("event") or "").upper()
    html = f"{ctx.links.html}/pull/{number}#pullrequestreview-{review_id}"
    pull_url = f"{ctx.links.api}/pulls/{number}"
    review: dict[str, Any] = {
        "id": review_id,
        "node_id": f"PRR_{review_id}",
        "user": ctx.links.user(ctx.actor),
        "body": str(data.get("body") or ""),
        "state": _STATES.get(event, "PENDING"),
        "html_url": html,
        "pull_request_url": pull_url,
        "_links": {"html": {"href": html}, "pull_request": {"href": pull_url}},
        "commit_id": commit,
        "author_association": "MEMBER",
    }
    if event in _STATES:
        review["submitted_at"] = ctx.now()
    return review


def _refusal(
    ctx: Context, pull: dict[str, Any], data: dict[str, Any], commit: str
) -> Response | None:
    """GitHub's answer when it refuses this review as a whole, before looking at its
    comments."""
    event = str(data.get("event") or "").upper()
    if event and event not in _STATES:
        return answer("review-invalid-event", event=event)
    if event == "REQUEST_CHANGES" and pull["user"] == ctx.actor:
        return answer("review-own-pull-request")
    if event in ("REQUEST_CHANGES", "COMMENT") and not (data.get("body") or data.get("comments")):
        return answer("review-body-required")
    if ctx.git.object_type(commit) != "commit":
        return answer("review-commit-unresolved")
    return None


@router.add("POST", r"/pulls/(?P<number>\d+)/reviews")
def create_review(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    data = json_body(request)
    number = pull["number"]
    commit = str(data.get("commit_id") or head_sha(ctx, pull))
    refused = _refusal(ctx, pull, data, commit)
    if refused is not None:
        return refused
    anchors = []
    for comment in data.get("comments") or []:
        anchor = _anchor(ctx, pull, commit, comment)
        if isinstance(anchor, str):
            # Atomic: none of the comments is stored; the body only under the quirk.
            if ctx.quirks.keep_body_of_refused_review:
                kept = _render_review(ctx, number, ctx.state.new_id(), data, commit)
                ctx.state.reviews.setdefault(number, []).append(kept)
            return answer(anchor)
        anchors.append((comment, anchor))
    review = _render_review(ctx, number, ctx.state.new_id(), data, commit)
    comments = [
        _render_comment(ctx, number, review["id"], commit, data=comment, anchor=anchor)
        for comment, anchor in anchors
    ]
    ctx.state.reviews.setdefault(number, []).append(review)
    ctx.state.review_comments.setdefault(number, []).extend(comments)
    return Response(200, review)


@router.add("GET", r"/pulls/(?P<number>\d+)/reviews")
def list_reviews(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    return paginate(ctx, request, ctx.state.reviews.get(pull["number"], []))


@router.add("PUT", r"/pulls/(?P<number>\d+)/reviews/(?P<review>\d+)")
def update_review(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    """The summary of a review: its body, the only part of a submitted review that changes."""
    reviews = ctx.state.reviews.get(int(params["number"]), [])
    review = next((r for r in reviews if r["id"] == int(params["review"])), None)
    if review is None:
        return not_found()
    data = json_body(request)
    if not isinstance(data.get("body"), str):
        # The OpenAPI description gives this route's 422 string errors, as a review's create.
        return answer("review-body-required")
    review["body"] = data["body"]
    return Response(200, review)


@router.add("GET", r"/pulls/(?P<number>\d+)/reviews/(?P<review>\d+)/comments")
def list_review_comments_of(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    comments = ctx.state.review_comments.get(int(params["number"]), [])
    review_id = int(params["review"])
    if not any(r["id"] == review_id for r in ctx.state.reviews.get(int(params["number"]), [])):
        return not_found()
    mine = [c for c in comments if c["pull_request_review_id"] == review_id]
    return paginate(ctx, request, mine)


@router.add("GET", r"/pulls/(?P<number>\d+)/comments")
def list_review_comments(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    return paginate(ctx, request, ctx.state.review_comments.get(pull["number"], []))


@router.add("POST", r"/pulls/(?P<number>\d+)/comments")
def create_review_comment(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    data = json_body(request)
    number = pull["number"]
    commit = str(data.get("commit_id") or head_sha(ctx, pull))
    anchor = _anchor(ctx, pull, commit, data)
    if isinstance(anchor, str):
        return answer("review-comment-line-outside-diff")
    review = _render_review(ctx, number, ctx.state.new_id(), {"event": "COMMENT"}, commit)
    comment = _render_comment(ctx, number, review["id"], commit, data=data, anchor=anchor)
    ctx.state.reviews.setdefault(number, []).append(review)
    ctx.state.review_comments.setdefault(number, []).append(comment)
    return Response(201, comment)


@router.add("POST", r"/pulls/(?P<number>\d+)/comments/(?P<comment>\d+)/replies")
def reply_to_review_comment(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    """A reply in the thread of a top-level review comment, anchored where it is."""
    pull = get_pull(ctx, params["number"])
    if pull is None:
        return not_found()
    number = pull["number"]
    wanted = int(params["comment"])
    root = next((c for c in ctx.state.review_comments.get(number, []) if c["id"] == wanted), None)
    if root is None:
        return not_found()
    data = json_body(request)
    if not isinstance(data.get("body"), str) or not data["body"]:
        return invalid_field("PullRequestReviewComment", "body")
    anchor = Anchor(
        root["line"],
        root["side"],
        root["start_line"],
        root["start_side"],
        root["position"],
        root["diff_hunk"],
    )
    review = _render_review(
        ctx, number, ctx.state.new_id(), {"event": "COMMENT"}, root["commit_id"]
    )
    reply = {"path": root["path"], "body": data["body"], "in_reply_to": root["id"]}
    comment = _render_comment(
        ctx, number, review["id"], root["commit_id"], data=reply, anchor=anchor
    )
    ctx.state.reviews.setdefault(number, []).append(review)
    ctx.state.review_comments.setdefault(number, []).append(comment)
    return Response(201, comment)


@router.add("GET", r"/pulls/comments/(?P<comment>\d+)")
def get_review_comment(ctx: Context, _request: Request, params: dict[str, str]) -> Response:
    wanted = int(params["comment"])
    for comments in ctx.state.review_comments.values():
        for comment in comments:
            if comment["id"] == wanted:
                return Response(200, comment)
    return not_found()
