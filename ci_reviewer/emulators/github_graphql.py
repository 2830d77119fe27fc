"""`POST /graphql` for what the product asks of GitHub's GraphQL API: a pull request's review
threads with their comments, and `resolveReviewThread`.

Answered as GitHub answers: HTTP 200 with `data` and, when something failed, an `errors` list
whose entries carry a `type` (`NOT_FOUND`, `FORBIDDEN`) and the `path` of the field; a
document naming a field the emulator does not model is refused whole, as GitHub refuses a
field its schema lacks, so a product query that needs more fails its test. A bot's
login has no `[bot]` suffix in GraphQL (REST: `github-actions[bot]`, GraphQL:
`github-actions`; lhpaul/ai-dev-framework-template#739, zxkane/autonomous-dev-team#395).

The documents themselves are checked against GitHub's published schema by the test suite.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ci_reviewer.emulators.github_answers import graphql_error
from ci_reviewer.emulators.github_permissions import graphql_mutation_scope
from ci_reviewer.emulators.github_routes import Context, Router, json_body
from ci_reviewer.emulators.graphql_query import Field, GraphQLSyntaxError, parse
from ci_reviewer.emulators.server import Request, Response

router = Router()
_MAX_FIRST = 100
Path = list[str | int]


@dataclass
class _Run:
    """One document being answered: its variables and the errors met so far."""

    ctx: Context
    variables: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)

    def fail(self, key: str, path: Path, where: Field, **fields: str) -> None:
        self.errors.append(graphql_error(key, path, where.line, where.column, **fields))


Resolver = Callable[[_Run, Any, Field, Path], Any]
# type -> field -> (the type of its value, None for a scalar; how to get it)
_TYPES: dict[str, dict[str, tuple[str | None, Resolver]]] = {}


def _field(type_name: str, name: str, of: str | None = None) -> Callable[[Resolver], Resolver]:
    def register(resolver: Resolver) -> Resolver:
        _TYPES.setdefault(type_name, {})[name] = (of, resolver)
        return resolver

    return register


def _key(type_name: str, name: str) -> None:
    """A scalar field read off the emulator's dict for the object."""
    _TYPES.setdefault(type_name, {})[name] = (None, lambda _r, value, _f, _p: value[name])


# -- the endpoint ------------------------------------------------------------------------------
@router.add("POST", r"/graphql", repo_scoped=False)
def graphql(ctx: Context, request: Request, _params: dict[str, str]) -> Response:
    body = json_body(request)
    try:
        operation = parse(str(body.get("query") or ""))
    except GraphQLSyntaxError as bad:
        token = str(bad).rsplit(" ", 1)[-1]
        at = {"at_line": str(bad.line), "at_column": str(bad.column)}
        error = graphql_error("graphql-parse-error", None, bad.line, bad.column, token=token, **at)
        return Response(200, {"errors": [error]})
    root = "Mutation" if operation.kind == "mutation" else "Query"
    head = operation.kind + (f" {operation.name}" if operation.name else "")
    undefined = _undefined(root, operation.selections, [head])
    if undefined:
        return Response(200, {"errors": undefined})
    variables = body.get("variables") if isinstance(body.get("variables"), dict) else {}
    run = _Run(ctx, variables or {})
    data = _select(run, root, None, operation.selections, [])
    answer: dict[str, Any] = {"data": data}
    if run.errors:
        answer["errors"] = run.errors
    return Response(200, answer)


def _undefined(type_name: str, selections: tuple[Field, ...], path: Path) -> list[dict[str, Any]]:
    """GitHub's refusal of each field its schema (here: the emulator) does not have."""
    errors = []
    for item in selections:
        if item.name == "__typename":
            continue
        entry = _TYPES[type_name].get(item.name)
        if entry is None:
            errors.append(
                graphql_error(
                    "graphql-undefined-field",
                    [*path, item.key],
                    item.line,
                    item.column,
                    field=item.name,
                    type_name=type_name,
                )
            )
            continue
        child = entry[0]
        if child is not None:
            errors += _undefined(child, item.selections, [*path, item.key])
    return errors


def _select(
    run: _Run, type_name: str, value: Any, selections: tuple[Field, ...], path: Path
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in selections:
        where = [*path, item.key]
        if item.name == "__typename":
            out[item.key] = _typename(type_name, value)
            continue
        child, resolver = _TYPES[type_name][item.name]
        result = resolver(run, value, item, where)
        if child is None or result is None:
            out[item.key] = result
        elif isinstance(result, list):
            out[item.key] = [
                _select(run, child, element, item.selections, [*where, index])
                for index, element in enumerate(result)
            ]
        else:
            out[item.key] = _select(run, child, result, item.selections, where)
    return out


def _typename(type_name: str, value: Any) -> str:
    if type_name == "Actor":
        return "Bot" if str(value["login"]).endswith("[bot]") else "User"
    return type_name


# -- Query ----------------------------------------------------------------------------------
@_field("Query", "repository", "Repository")
def _repository(run: _Run, _root: Any, item: Field, path: Path) -> Any:
    owner = str(item.argument("owner", run.variables, ""))
    name = str(item.argument("name", run.variables, ""))
    if f"{owner}/{name}".lower() != run.ctx.links.full_name.lower():
        run.fail("graphql-repository-not-found", path, item, owner=owner, name=name)
        return None
    return run.ctx.links.full_name


_TYPES.setdefault("Repository", {})["nameWithOwner"] = (
    None,
    lambda _r, full_name, _f, _p: full_name,
)


@_field("Repository", "pullRequest", "PullRequest")
def _pull_request(run: _Run, _repo: Any, item: Field, path: Path) -> Any:
    number = item.argument("number", run.variables)
    pull = run.ctx.state.pulls.get(number) if isinstance(number, int) else None
    if pull is None:
        run.fail("graphql-pull-request-not-found", path, item, number=str(number))
    return pull


_key("PullRequest", "number")
_TYPES.setdefault("PullRequest", {})["id"] = (None, lambda _r, pull, _f, _p: f"PR_{pull['number']}")


@_field("PullRequest", "reviewThreads", "PullRequestReviewThreadConnection")
def _review_threads(run: _Run, pull: dict[str, Any], item: Field, path: Path) -> Any:
    return _page(run, _threads(run.ctx, pull["number"]), item, path)


@dataclass(frozen=True)
class _Thread:
    number: int
    comments: tuple[dict[str, Any], ...]
    resolved: bool

    @property
    def id(self) -> str:
        return f"PRRT_{self.comments[0]['id']}"


def _threads(ctx: Context, number: int) -> list[_Thread]:
    """A pull request's review threads: each first comment with the replies to it."""
    every = ctx.state.review_comments.get(number, [])
    threads = []
    for first in (c for c in every if c.get("in_reply_to_id") is None):
        replies = [c for c in every if c.get("in_reply_to_id") == first["id"]]
        resolved = first["id"] in ctx.state.resolved_threads
        threads.append(_Thread(number, (first, *replies), resolved))
    return threads


# -- connections ------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Page:
    nodes: list[Any]
    has_next: bool
    end_cursor: str | None
    total: int


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index}".encode()).decode()


def _offset(cursor: Any) -> int:
    try:
        return int(base64.b64decode(str(cursor)).decode().rsplit(":", 1)[1]) + 1
    except (ValueError, IndexError):
        return 0


def _page(run: _Run, items: list[Any], item: Field, path: Path) -> _Page | None:
    connection = item.name
    first = item.argument("first", run.variables)
    if first is None:
        run.fail("graphql-missing-pagination", path, item, connection=connection)
        return None
    if not isinstance(first, int) or first > _MAX_FIRST or first < 0:
        count = str(first)
        run.fail("graphql-excessive-pagination", path, item, connection=connection, count=count)
        return None
    after = item.argument("after", run.variables)
    start = _offset(after) if after else 0
    chunk = items[start : start + first]
    end = _cursor(start + len(chunk) - 1) if chunk else None
    return _Page(chunk, start + len(chunk) < len(items), end, len(items))


for _connection, _node in (
    ("PullRequestReviewThreadConnection", "PullRequestReviewThread"),
    ("PullRequestReviewCommentConnection", "PullRequestReviewComment"),
):
    _TYPES[_connection] = {
        "nodes": (_node, lambda _r, page, _f, _p: page.nodes),
        "totalCount": (None, lambda _r, page, _f, _p: page.total),
        "pageInfo": ("PageInfo", lambda _r, page, _f, _p: page),
    }
_TYPES["PageInfo"] = {
    "hasNextPage": (None, lambda _r, page, _f, _p: page.has_next),
    "endCursor": (None, lambda _r, page, _f, _p: page.end_cursor),
}


# -- threads and their comments ----------------------------------------------------------------
_TYPES["PullRequestReviewThread"] = {
    "id": (None, lambda _r, thread, _f, _p: thread.id),
    "isResolved": (None, lambda _r, thread, _f, _p: thread.resolved),
    "path": (None, lambda _r, thread, _f, _p: thread.comments[0]["path"]),
    "line": (None, lambda _r, thread, _f, _p: thread.comments[0].get("line")),
}


@_field("PullRequestReviewThread", "comments", "PullRequestReviewCommentConnection")
def _thread_comments(run: _Run, thread: _Thread, item: Field, path: Path) -> Any:
    return _page(run, list(thread.comments), item, path)


_TYPES["PullRequestReviewComment"] = {
    "id": (None, lambda _r, comment, _f, _p: comment["node_id"]),
    "databaseId": (None, lambda _r, comment, _f, _p: comment["id"]),
    "body": (None, lambda _r, comment, _f, _p: comment["body"]),
    "url": (None, lambda _r, comment, _f, _p: comment["html_url"]),
    "path": (None, lambda _r, comment, _f, _p: comment["path"]),
    "author": ("Actor", lambda _r, comment, _f, _p: comment["user"]),
}
_TYPES["Actor"] = {
    # GraphQL names a bot without the `[bot]` REST puts after its login.
    "login": (None, lambda _r, user, _f, _p: str(user["login"]).removesuffix("[bot]")),
}


# -- Mutation ---------------------------------------------------------------------------------
@_field("Mutation", "resolveReviewThread", "ResolveReviewThreadPayload")
def _resolve_review_thread(run: _Run, _root: Any, item: Field, path: Path) -> Any:
    given = item.argument("input", run.variables) or {}
    thread_id = str(given.get("threadId") or "") if isinstance(given, dict) else ""
    thread = _thread_by_id(run.ctx, thread_id)
    if thread is None:
        run.fail("graphql-node-not-found", path, item, id=thread_id)
        return None
    if not run.ctx.may_write(graphql_mutation_scope(item.name)):
        run.fail("graphql-forbidden", path, item)
        return None
    run.ctx.state.resolved_threads[thread.comments[0]["id"]] = run.ctx.actor
    client = given.get("clientMutationId")
    return {"clientMutationId": client, "thread": _thread_by_id(run.ctx, thread_id)}


def _thread_by_id(ctx: Context, thread_id: str) -> _Thread | None:
    for number in ctx.state.pulls:
        for thread in _threads(ctx, number):
            if thread.id == thread_id:
                return thread
    return None


_TYPES["ResolveReviewThreadPayload"] = {
    "clientMutationId": (None, lambda _r, payload, _f, _p: payload["clientMutationId"]),
    "thread": ("PullRequestReviewThread", lambda _r, payload, _f, _p: payload["thread"]),
}
