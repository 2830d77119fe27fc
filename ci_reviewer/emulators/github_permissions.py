"""The permission each emulated write needs from a GITHUB_TOKEN, as GitHub checks it.

A workflow job's token carries only the scopes its `permissions:` names (`set_token_scopes`
on the emulator). GitHub refuses a write whose scope is missing with 403 "Resource not
accessible by integration" and names the permission it accepts in the
`x-accepted-github-permissions` header (`contents=write`). The scopes here are GitHub's
("Permissions required for GitHub Apps"): git data and contents need `contents`, pull requests
and their reviews `pull_requests`, check runs `checks`, issues `issues`; an issue-API call on a
pull request (a comment, a label) is keyed on its target, so a pull request's needs
`pull_requests`. Reads are not checked: the emulated repository is read with any token, as a
public one is. Writes are checked as on a private repository (on a public one GitHub lets any
token with access open an issue).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ci_reviewer.emulators.github_routes import EmulatorState

Rule = Callable[[re.Match[str], EmulatorState], str]


def _fixed(scope: str) -> Rule:
    return lambda _match, _state: scope


def _issue_or_pull(match: re.Match[str], state: EmulatorState) -> str:
    return "pull_requests" if int(match["number"]) in state.pulls else "issues"


def _comment_target(match: re.Match[str], state: EmulatorState) -> str:
    wanted = int(match["id"])
    for number, comments in state.issue_comments.items():
        if any(comment.get("id") == wanted for comment in comments):
            return "pull_requests" if number in state.pulls else "issues"
    return "issues"


# (methods, path relative to /repos/{owner}/{repo}, the scope that must be `write`)
_RULES: tuple[tuple[frozenset[str], re.Pattern[str], Rule], ...] = tuple(
    (frozenset(methods.split()), re.compile(pattern), rule)
    for methods, pattern, rule in (
        ("POST PATCH DELETE", r"^/git/.+$", _fixed("contents")),
        ("PUT DELETE", r"^/contents/.+$", _fixed("contents")),
        ("POST", r"^/pulls$", _fixed("pull_requests")),
        ("PATCH", r"^/pulls/\d+$", _fixed("pull_requests")),
        ("POST", r"^/pulls/\d+/(?:reviews|comments)$", _fixed("pull_requests")),
        ("POST", r"^/pulls/\d+/comments/\d+/replies$", _fixed("pull_requests")),
        ("PUT", r"^/pulls/\d+/reviews/\d+$", _fixed("pull_requests")),
        ("POST PATCH", r"^/check-runs(?:/\d+)?$", _fixed("checks")),
        ("POST", r"^/issues$", _fixed("issues")),
        ("POST", r"^/labels$", _fixed("issues")),
        ("PATCH", r"^/issues/(?P<number>\d+)$", _issue_or_pull),
        ("POST", r"^/issues/(?P<number>\d+)/(?:labels|comments)$", _issue_or_pull),
        ("PATCH DELETE", r"^/issues/comments/(?P<id>\d+)$", _comment_target),
    )
)


def required_scope(method: str, path: str, state: EmulatorState) -> str | None:
    """The scope a write needs (`write` level), or None for a read or an unlisted route."""
    for methods, pattern, rule in _RULES:
        match = pattern.match(path)
        if method in methods and match:
            return rule(match, state)
    return None


def writes_listed(method: str, path: str) -> bool:
    """Whether a write route has a rule (every emulated write route must)."""
    return any(method in methods and pattern.match(path) for methods, pattern, _ in _RULES)


# Reads needing a scope beyond the repository's metadata: (path relative to
# /repos/{owner}/{repo}, the scope that must be `read`, the key of GitHub's refusal). The
# rules of a branch (GET /rules/branches/{branch}) need only metadata: not listed.
_READ_RULES: tuple[tuple[re.Pattern[str], str, str], ...] = tuple(
    (re.compile(pattern), scope, refusal)
    for pattern, scope, refusal in (
        (r"^/branches/.+/protection$", "administration", "branch-protection-needs-administration"),
        (
            r"^/actions/permissions/workflow$",
            "administration",
            "workflow-permissions-need-administration",
        ),
    )
)


def required_read_scope(path: str) -> tuple[str, str] | None:
    """(scope, refusal answer key) of a read that needs more than repository access."""
    for pattern, scope, refusal in _READ_RULES:
        if pattern.match(path):
            return scope, refusal
    return None


# GraphQL mutations the emulator answers -> the scope that must be `write`. Resolving a
# review thread is a write to the pull request ("Permissions required for GitHub Apps":
# pull requests, review threads), as posting a review comment is.
_GRAPHQL_MUTATIONS = {"resolveReviewThread": "pull_requests"}


def graphql_mutation_scope(name: str) -> str:
    return _GRAPHQL_MUTATIONS[name]
