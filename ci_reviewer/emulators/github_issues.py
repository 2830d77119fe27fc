"""Issues, issue comments, labels and issue search.

Pull requests are issues on GitHub (one number space; comments and labels go through the
issues API), so issue endpoints also answer for a PR's number, as GitHub's do.
"""

from __future__ import annotations

import re
import shlex
from typing import Any

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_payloads import stable_id
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
# GitHub takes a label's colour as six hexadecimal digits, without the leading '#'.
_COLOR = re.compile(r"[0-9a-fA-F]{6}")


def _issue_urls(ctx: Context, number: int) -> dict[str, Any]:
    url = f"{ctx.links.api}/issues/{number}"
    return {
        "url": url,
        "repository_url": ctx.links.api,
        "labels_url": f"{url}/labels{{/name}}",
        "comments_url": f"{url}/comments",
        "events_url": f"{url}/events",
        "id": stable_id("issue", number),
        "node_id": f"I_{number}",
        "number": number,
    }


def issue_view(ctx: Context, number: int) -> dict[str, Any] | None:
    """The issue record for `number`, refreshed; a PR's issue side for a PR's number."""
    issue = ctx.state.issues.get(number)
    if issue is not None:
        issue["comments"] = len(ctx.state.issue_comments.get(number, []))
        return issue
    pull = ctx.state.pulls.get(number)
    if pull is None:
        return None
    view = {
        **_issue_urls(ctx, number),
        "html_url": f"{ctx.links.html}/pull/{number}",
        "title": pull["title"],
        "body": pull["body"],
        "user": ctx.links.user(pull["user"]),
        "labels": pull["labels"],
        "state": pull["state"],
        "state_reason": None,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": len(ctx.state.issue_comments.get(number, [])),
        "created_at": pull["created_at"],
        "updated_at": pull["updated_at"],
        "closed_at": pull["closed_at"],
        "author_association": "MEMBER",
        "pull_request": {
            "url": f"{ctx.links.api}/pulls/{number}",
            "html_url": f"{ctx.links.html}/pull/{number}",
            "diff_url": f"{ctx.links.html}/pull/{number}.diff",
            "patch_url": f"{ctx.links.html}/pull/{number}.patch",
            "merged_at": pull["merged_at"],
        },
    }
    return view


def _labels(ctx: Context, names: list[Any]) -> list[dict[str, Any]]:
    labels = []
    for item in names:
        name = str(item["name"] if isinstance(item, dict) else item)
        if name not in ctx.state.labels:  # GitHub creates unknown labels on the fly
            ctx.state.labels[name] = ctx.links.label(name)
        labels.append(ctx.state.labels[name])
    return labels


def _set_labels(ctx: Context, number: int, labels: list[dict[str, Any]]) -> None:
    record = ctx.state.issues.get(number) or ctx.state.pulls[number]
    record["labels"] = labels


@router.add("POST", r"/issues")
def create_issue(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    if not data.get("title"):
        return invalid_field("Issue", "title")
    number = ctx.state.new_number()
    now = ctx.now()
    ctx.state.issues[number] = {
        **_issue_urls(ctx, number),
        "html_url": f"{ctx.links.html}/issues/{number}",
        "title": str(data["title"]),
        "body": data.get("body"),
        "user": ctx.links.user(ctx.actor),
        "labels": _labels(ctx, data.get("labels") or []),
        "state": "open",
        "state_reason": None,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": 0,
        "created_at": now,
        "updated_at": now,
        "closed_at": None,
        "author_association": "MEMBER",
    }
    return Response(201, ctx.state.issues[number])


def _matches(issue: dict[str, Any], request: Request) -> bool:
    state = request.param("state", "open")
    if state != "all" and issue["state"] != state:
        return False
    wanted = [w for w in (request.param("labels") or "").split(",") if w]
    names = {label["name"] for label in issue["labels"]}
    if any(w not in names for w in wanted):
        return False
    creator = request.param("creator")
    return not (creator and issue["user"]["login"] != creator)


@router.add("GET", r"/issues")
def list_issues(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    numbers = sorted(set(ctx.state.issues) | set(ctx.state.pulls), reverse=True)
    views = [v for n in numbers if (v := issue_view(ctx, n)) is not None]
    if request.param("direction") == "asc":
        views.reverse()
    return paginate(ctx, request, [v for v in views if _matches(v, request)])


@router.add("GET", r"/issues/(?P<number>\d+)")
def read_issue(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    view = issue_view(ctx, int(params["number"]))
    return Response(200, view) if view else not_found()


@router.add("PATCH", r"/issues/(?P<number>\d+)")
def edit_issue(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    number = int(params["number"])
    if issue_view(ctx, number) is None:
        return not_found()
    record = ctx.state.issues.get(number) or ctx.state.pulls[number]
    data = json_body(request)
    for key in ("title", "body"):
        if key in data:
            record[key] = data[key]
    if "labels" in data:
        record["labels"] = _labels(ctx, data["labels"] or [])
    if data.get("state") in ("open", "closed") and data["state"] != record["state"]:
        record["state"] = data["state"]
        record["closed_at"] = ctx.now() if data["state"] == "closed" else None
        if number in ctx.state.issues:
            record["state_reason"] = "completed" if data["state"] == "closed" else "reopened"
    record["updated_at"] = ctx.now()
    return Response(200, issue_view(ctx, number))


@router.add("POST", r"/issues/(?P<number>\d+)/labels")
def add_labels(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    number = int(params["number"])
    view = issue_view(ctx, number)
    if view is None:
        return not_found()
    data = request.json()
    names = data.get("labels", []) if isinstance(data, dict) else data or []
    merged = {label["name"]: label for label in [*view["labels"], *_labels(ctx, names)]}
    _set_labels(ctx, number, list(merged.values()))
    return Response(200, list(merged.values()))


@router.add("GET", r"/labels")
def list_labels(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    return paginate(ctx, request, list(ctx.state.labels.values()))


@router.add("POST", r"/labels")
def create_label(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    data = json_body(request)
    name = str(data.get("name") or "")
    if not name:
        return invalid_field("Label", "name")
    if name in ctx.state.labels:
        return invalid_field("Label", "name", "already_exists")
    color = str(data.get("color") or "ededed")
    if not _COLOR.fullmatch(color):
        return answer("label-color-invalid")
    label = ctx.links.label(name, color, data.get("description"))
    ctx.state.labels[name] = label
    return Response(201, label)


@router.add("GET", r"/labels/(?P<name>[^/]+)")
def read_label(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    label = ctx.state.labels.get(params["name"])
    return Response(200, label) if label else not_found()


# -- issue comments ------------------------------------------------------------------------
def _find_comment(ctx: Context, comment_id: int) -> dict[str, Any] | None:
    for comments in ctx.state.issue_comments.values():
        for comment in comments:
            if comment["id"] == comment_id:
                return comment
    return None


@router.add("GET", r"/issues/(?P<number>\d+)/comments")
def list_comments(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    number = int(params["number"])
    if issue_view(ctx, number) is None:
        return not_found()
    return paginate(ctx, request, ctx.state.issue_comments.get(number, []))


@router.add("POST", r"/issues/(?P<number>\d+)/comments")
def create_comment(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    number = int(params["number"])
    view = issue_view(ctx, number)
    if view is None:
        return not_found()
    data = json_body(request)
    if not data.get("body"):
        return invalid_field("IssueComment", "body")
    comment_id = ctx.state.new_id()
    now = ctx.now()
    comment = {
        "id": comment_id,
        "node_id": f"IC_{comment_id}",
        "url": f"{ctx.links.api}/issues/comments/{comment_id}",
        "html_url": f"{view['html_url']}#issuecomment-{comment_id}",
        "issue_url": view["url"],
        "body": str(data["body"]),
        "user": ctx.links.user(ctx.actor),
        "created_at": now,
        "updated_at": now,
        "author_association": "MEMBER",
    }
    ctx.state.issue_comments.setdefault(number, []).append(comment)
    return Response(201, comment)


@router.add("GET", r"/issues/comments/(?P<id>\d+)")
def read_comment(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    comment = _find_comment(ctx, int(params["id"]))
    return Response(200, comment) if comment else not_found()


@router.add("PATCH", r"/issues/comments/(?P<id>\d+)")
def edit_comment(ctx: Context, request: Request, params: dict[str, str]) -> Response:
    comment = _find_comment(ctx, int(params["id"]))
    if comment is None:
        return not_found()
    data = json_body(request)
    if not data.get("body"):
        return invalid_field("IssueComment", "body")
    comment["body"] = str(data["body"])
    comment["updated_at"] = ctx.now()
    return Response(200, comment)


@router.add("DELETE", r"/issues/comments/(?P<id>\d+)")
def delete_comment(ctx: Context, _: Request, params: dict[str, str]) -> Response:
    comment = _find_comment(ctx, int(params["id"]))
    if comment is None:
        return not_found()
    for comments in ctx.state.issue_comments.values():
        if comment in comments:
            comments.remove(comment)
    return Response(204)


# -- search ----------------------------------------------------------------------------------
def _search_filter(ctx: Context, query: str) -> list[dict[str, Any]]:
    """Issues matching GitHub's qualifiers: repo:, is:, state:, label:, author:, in:, text."""
    terms = shlex.split(query)
    views = [issue_view(ctx, n) for n in sorted(set(ctx.state.issues) | set(ctx.state.pulls))]
    found = []
    for view in views:
        if view is None:
            continue
        if all(_term_matches(ctx, view, term, terms) for term in terms):
            found.append({**view, "score": 1.0})
    return found[::-1]


def _qualifier(ctx: Context, view: dict[str, Any], key: str, value: str) -> bool | None:
    """Whether `key:value` holds for `view`; None when `key` is not a qualifier we know."""
    kind = "pr" if "pull_request" in view else "issue"
    checks: dict[str, Any] = {
        "repo": lambda: value.lower() == ctx.links.full_name.lower(),
        "is": lambda: value in (kind, view["state"]),
        "type": lambda: value in (kind, "pull-request" if kind == "pr" else kind),
        "state": lambda: view["state"] == value,
        "label": lambda: value in {label["name"] for label in view["labels"]},
        "author": lambda: view["user"]["login"] == value,
        "in": lambda: True,  # a scope for the free-text terms, applied in _term_matches
    }
    check = checks.get(key)
    return None if check is None else bool(check())


def _term_matches(ctx: Context, view: dict[str, Any], term: str, terms: list[str]) -> bool:
    key, sep, value = term.partition(":")
    if sep:
        verdict = _qualifier(ctx, view, key, value.strip('"'))
        if verdict is not None:
            return verdict
    scopes = ",".join(t.partition(":")[2] for t in terms if t.startswith("in:"))
    fields = [f for f in ("title", "body") if not scopes or f in scopes]
    return any(term.lower() in str(view.get(f) or "").lower() for f in fields)


@router.add("GET", r"/search/issues", repo_scoped=False)
def search_issues(ctx: Context, request: Request, _: dict[str, str]) -> Response:
    query = request.param("q") or ""
    if not query.strip():
        return invalid_field("Search", "q")
    found = _search_filter(ctx, query)

    def wrap(items: list[Any]) -> dict[str, Any]:
        return {
            "total_count": len(found),
            "incomplete_results": False,
            "items": items,
            "search_type": "lexical",
        }

    return paginate(ctx, request, found, wrap)
