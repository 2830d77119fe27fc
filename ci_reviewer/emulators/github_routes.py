"""Routing, shared state and `Link` pagination for the GitHub emulator's endpoint modules.

Each endpoint module registers handlers on a `Router` with a regex relative to
`/repos/{owner}/{repo}` (or absolute, for `/search/...`); a handler takes the request
context and the regex's named groups and returns a `Response`.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import quote, urlencode

from ci_reviewer.emulators.github_answers import answer
from ci_reviewer.emulators.github_git import GitStore, Person
from ci_reviewer.emulators.github_payloads import DOCS, Links, error
from ci_reviewer.emulators.server import Request, Response

MAX_PER_PAGE = 100
# Who a workflow's GITHUB_TOKEN acts as: the emulator's default caller.
ACTIONS_BOT = "github-actions[bot]"


@dataclass
class EmulatorState:
    """What the emulated GitHub holds besides git; tests read it to assert effects."""

    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)
    issues: dict[int, dict[str, Any]] = field(default_factory=dict)
    reviews: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    review_comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    issue_comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    check_runs: list[dict[str, Any]] = field(default_factory=list)
    annotations: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    labels: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Settings -> Actions -> General -> Workflow permissions. GitHub's default for a new
    # repository is "read" and False (no pull requests by Actions); the emulator starts
    # permissive because its tests and demo act as a token that may do both, and a test or
    # `ci-reviewer emulate --no-actions-pull-requests` turns them off.
    default_workflow_permissions: str = "write"
    can_approve_pull_request_reviews: bool = True
    # Rulesets refusing ref creation: (ref_name pattern, key of the answer GitHub gives).
    creation_rules: list[tuple[str, str]] = field(default_factory=list)
    # Other ruleset rules, reported by GET /rules/branches/{branch}: (ref_name pattern, type).
    branch_rules: list[tuple[str, str]] = field(default_factory=list)
    # Branch protections: branch -> (pull request reviews required, required status checks).
    branch_protections: dict[str, tuple[bool, tuple[str, ...]]] = field(default_factory=dict)
    # (ref pattern, answer key): branches whose protection refuses contents writes.
    protected_branches: list[tuple[str, str]] = field(default_factory=list)
    # Review threads resolved (GraphQL resolveReviewThread): first comment's id -> by whom.
    resolved_threads: dict[int, str] = field(default_factory=dict)
    # login -> role on the repository (admin, maintain, write, triage, read).
    collaborators: dict[str, str] = field(default_factory=dict)
    next_number: int = 1
    next_id: int = 1

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def new_number(self) -> int:
        number = self.next_number
        self.next_number += 1
        return number


@dataclass(frozen=True)
class Quirks:
    """Ways real GitHub is seen to answer that a test switches on, each with its source."""

    # A review refused with 422 "Line could not be resolved" can still leave a review with
    # its body and none of its comments (max-sixty/tend#123: a second posting then made two
    # reviews); other times nothing is kept (max-sixty/tend#252), which is the default.
    keep_body_of_refused_review: bool = False


@dataclass(frozen=True)
class Context:
    """What a handler needs: the repo's links and git store, the state, who calls, and
    which quirks of GitHub's are switched on."""

    links: Links
    git: GitStore
    state: EmulatorState
    actor: str
    lock: threading.RLock
    quirks: Quirks = field(default_factory=Quirks)
    # Whether the token may write a scope (`pull_requests`); for GraphQL mutations, which
    # carry no REST path to check.
    may_write: Callable[[str], bool] = lambda _scope: True

    def now(self) -> str:
        return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    def person(self) -> Person:
        return Person(self.actor, f"{self.actor}@users.noreply.emulator", self.now())


Handler = Callable[[Context, Request, dict[str, str]], Response]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    repo_scoped: bool


class Router:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, pattern: str, repo_scoped: bool = True
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            compiled = re.compile(f"^{pattern}$")
            self.routes.append(Route(method, compiled, handler, repo_scoped))
            return handler

        return register

    def match(
        self, method: str, path: str, repo_scoped: bool
    ) -> tuple[Handler, dict[str, str]] | None:
        for route in self.routes:
            if route.method != method or route.repo_scoped != repo_scoped:
                continue
            found = route.pattern.match(path)
            if found:
                return route.handler, found.groupdict()
        return None


def not_found() -> Response:
    return answer("not-found")


def unprocessable(message: str, errors: list[Any] | None = None) -> Response:
    body = error(message, f"{DOCS}", status="422")
    if errors is not None:
        body["errors"] = errors
    return Response(422, body)


def invalid_field(resource: str, field_name: str, code: str = "missing_field") -> Response:
    """GitHub's 'Validation Failed' body for a missing or invalid request field."""
    return answer("validation-failed-field", resource=resource, field=field_name, code=code)


def json_body(request: Request) -> dict[str, Any]:
    try:
        body = request.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def paginate(
    ctx: Context,
    request: Request,
    items: list[Any],
    wrap: Callable[[list[Any]], Any] | None = None,
) -> Response:
    """One page of `items`, with GitHub's `Link` header (prev, next, last, first)."""
    try:
        per_page = min(max(int(request.param("per_page") or 30), 1), MAX_PER_PAGE)
        page = max(int(request.param("page") or 1), 1)
    except ValueError:
        return unprocessable("Validation Failed")
    last = max((len(items) + per_page - 1) // per_page, 1)
    chunk = items[(page - 1) * per_page : page * per_page]
    headers = {}
    links = []
    if page > 1:
        links.append((min(page - 1, last), "prev"))
    if page < last:
        links += [(page + 1, "next"), (last, "last")]
    if page > 1:
        links.append((1, "first"))
    if links:
        headers["Link"] = ", ".join(
            f'<{_page_url(ctx, request, number, per_page)}>; rel="{rel}"' for number, rel in links
        )
    return Response(200, wrap(chunk) if wrap else chunk, headers)


def _page_url(ctx: Context, request: Request, page: int, per_page: int) -> str:
    params = [(k, v[0]) for k, v in request.query.items() if k not in {"page", "per_page"}]
    params += [("per_page", str(per_page)), ("page", str(page))]
    return f"{ctx.links.base}{quote(request.path)}?{urlencode(params)}"
