"""One REST call whose refusal is an answer, not a failure: for checks that judge a token
by what GitHub answers it (`ci-reviewer doctor`).

A 4xx comes back as an `Answer` with its status and headers (GitHub names the permission an
endpoint accepts in `x-accepted-github-permissions`); a 5xx, a rate limit or no connection,
once PyGithub's own retries are spent, is GitHubAPIError (exit 3), as everywhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ci_reviewer.github.client import github_errors, rate_limit_of

if TYPE_CHECKING:
    import github

ACCEPTED_PERMISSIONS = "x-accepted-github-permissions"


@dataclass(frozen=True)
class Answer:
    """GitHub's answer to one call: its status, headers (lower-cased names) and body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: Any = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def accepted_permissions(self) -> tuple[tuple[str, ...], ...]:
        """The permission sets the endpoint accepts, each `name=level` ("contents=write"):
        GitHub separates the sets with `;` and a set's permissions with `,`."""
        raw = self.headers.get(ACCEPTED_PERMISSIONS, "")
        sets = (tuple(p.strip() for p in part.split(",") if p.strip()) for part in raw.split(";"))
        return tuple(found for found in sets if found)


def ask(
    gh: github.Github,
    method: str,
    path: str,
    *,
    body: Mapping[str, Any] | None = None,
    query: Mapping[str, Any] | None = None,
) -> Answer:
    """`method path` (relative to the API root); a 4xx is returned, not raised."""
    import github

    action = f"ask GitHub {method} {path}"
    sent = None if body is None else dict(body)
    with github_errors(action):
        try:
            headers, data = gh.requester.requestJsonAndCheck(
                method, path, parameters=dict(query or {}), input=sent
            )
        except github.GithubException as error:
            if not 400 <= error.status < 500 or rate_limit_of(error) is not None:
                raise
            return Answer(error.status, _lower(error.headers), error.data)
    return Answer(200, _lower(headers), data)


def _lower(headers: Mapping[str, Any] | None) -> dict[str, str]:
    return {str(k).lower(): str(v) for k, v in (headers or {}).items()}
