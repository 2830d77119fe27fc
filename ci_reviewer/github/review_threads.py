"""A pull request's review threads, read and resolved through GitHub's GraphQL API (REST
has neither a thread's resolution nor a way to resolve one).

The calls go through PyGithub's own requester (`graphql_query`, `graphql_named_mutation`), so
authentication, the base URL (GitHub Enterprise: `/api/graphql`) and retries are the SDK's.
GitHub answers GraphQL failures with HTTP 200 and an `errors` list; PyGithub raises them
(404 for a lone NOT_FOUND, else 400) with that list in `.data`. What to do is decided on each
error's `type`, never on its message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ci_reviewer.errors import GitHubAPIError
from ci_reviewer.github.client import github_errors

if TYPE_CHECKING:
    from github.PullRequest import PullRequest

_THREADS = """
query ReviewThreads($owner: String!, $name: String!, $number: Int!, $after: String) {
  repository(owner: $owner, name: $name) {
    pullRequest(number: $number) {
      reviewThreads(first: 100, after: $after) {
        pageInfo { hasNextPage endCursor }
        nodes {
          id
          isResolved
          path
          comments(first: 100) {
            pageInfo { hasNextPage }
            nodes { databaseId author { login } url }
          }
        }
      }
    }
  }
}
"""
# Pages of 100 threads; a pull request with more than this many is read this far.
_MAX_PAGES = 50


@dataclass(frozen=True)
class ThreadComment:
    database_id: int | None  # the REST id of the comment
    author: str | None  # GraphQL's login: a bot's has no `[bot]`; None for a deleted account
    url: str


@dataclass(frozen=True)
class ReviewThread:
    id: str
    is_resolved: bool
    path: str
    comments: tuple[ThreadComment, ...]
    more_comments: bool = False  # over the 100 read

    @property
    def first(self) -> ThreadComment | None:
        return self.comments[0] if self.comments else None

    @property
    def replied(self) -> bool:
        """Whether anyone but the thread's author wrote in it."""
        first = self.first
        if first is None or first.author is None or self.more_comments:
            return True
        return any(comment.author != first.author for comment in self.comments[1:])


class ThreadsRefused(Exception):
    """GitHub refused the token (`FORBIDDEN`): a read-only token, or a workflow without
    `pull-requests: write`."""


def review_threads(pull: PullRequest, full_name: str) -> list[ReviewThread]:
    """Every review thread of `pull` (paginated)."""
    owner, _, name = full_name.partition("/")
    threads: list[ReviewThread] = []
    after: str | None = None
    for _ in range(_MAX_PAGES):
        variables = {"owner": owner, "name": name, "number": pull.number, "after": after}
        action = f"reading the review threads of pull request #{pull.number}"
        try:
            data = _graphql(action, lambda v=variables: _query(pull, v))
        except _NotFound:
            raise GitHubAPIError(f"{action}: GitHub answered NOT_FOUND") from None
        connection = _dig(data, "data", "repository", "pullRequest", "reviewThreads")
        threads += [_thread(node) for node in connection.get("nodes") or [] if node]
        page = connection.get("pageInfo") or {}
        after = page.get("endCursor")
        if not page.get("hasNextPage") or not after:
            break
    return threads


def resolve_thread(pull: PullRequest, thread_id: str) -> bool:
    """Resolve the thread; False when GitHub no longer has it (NOT_FOUND: deleted)."""
    action = f"resolving a review thread of pull request #{pull.number}"
    try:
        _graphql(
            action,
            lambda: pull.requester.graphql_named_mutation(
                "resolveReviewThread", {"threadId": thread_id}, "thread { id isResolved }"
            ),
        )
    except _NotFound:
        return False
    return True


def _query(pull: PullRequest, variables: dict[str, Any]) -> Any:
    return pull.requester.graphql_query(_THREADS, variables)[1]


class _NotFound(Exception):
    pass


def _graphql(action: str, call: Any) -> Any:
    import github

    with github_errors(action):
        try:
            return call()
        except github.GithubException as error:
            types = error_types(error.data)
            if "FORBIDDEN" in types:
                raise ThreadsRefused(f"{action}: GitHub refused the token (FORBIDDEN)") from None
            if types == {"NOT_FOUND"}:
                raise _NotFound from None
            raise


def _dig(data: Any, *keys: str) -> dict[str, Any]:
    for key in keys:
        data = data.get(key) if isinstance(data, dict) else None
    return data if isinstance(data, dict) else {}


def error_types(data: Any) -> set[str]:
    """The `type` of each error of a GraphQL answer."""
    errors = data.get("errors") if isinstance(data, dict) else None
    return {str(e.get("type")) for e in errors or [] if isinstance(e, dict) and e.get("type")}


def _thread(node: dict[str, Any]) -> ReviewThread:
    comments = node.get("comments") or {}
    return ReviewThread(
        id=str(node["id"]),
        is_resolved=bool(node.get("isResolved")),
        path=str(node.get("path") or ""),
        comments=tuple(_comment(c) for c in comments.get("nodes") or [] if c),
        more_comments=bool((comments.get("pageInfo") or {}).get("hasNextPage")),
    )


def _comment(node: dict[str, Any]) -> ThreadComment:
    author = node.get("author") or {}
    database_id = node.get("databaseId")
    return ThreadComment(
        database_id=database_id if isinstance(database_id, int) else None,
        author=author.get("login"),
        url=str(node.get("url") or ""),
    )
