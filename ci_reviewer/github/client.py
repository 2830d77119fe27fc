"""PyGithub construction and the translation of its exceptions at this edge.

The client honours GITHUB_API_URL (GitHub Enterprise, the local emulator) and retries with
PyGithub's own `GithubRetry` (5xx, and 403/429 secondary rate limits with retry-after).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ci_reviewer.errors import GitHubAPIError, InputError

if TYPE_CHECKING:
    import github

T = TypeVar("T")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# urllib3 waits factor * 2**(n-1) s before retry n: 0, 1, 2, 4, 8, 16 s for six retries of
# a failing GitHub. Read when a GitHubSettings is made, so a test can make it short.
RETRY_BACKOFF_FACTOR = 0.5
_TOO_MANY = re.compile(r"too many (\d{3}) error responses")


@dataclass(frozen=True)
class GitHubSettings:
    """How to reach GitHub; the token never leaves this record except into the client."""

    api_url: str
    token: str
    total_retries: int = 6
    backoff_factor: float = field(default_factory=lambda: RETRY_BACKOFF_FACTOR)
    secondary_rate_wait: float = 60.0
    max_rate_limit_wait: float = 300.0
    timeout: int = 30

    @property
    def is_local(self) -> bool:
        return urlsplit(self.api_url).hostname in _LOOPBACK


def make_github(settings: GitHubSettings) -> github.Github:
    """A PyGithub client for `settings`. Throttling between requests (GitHub's guidance
    against secondary rate limits on github.com) is off for a loopback emulator."""
    import github

    from ci_reviewer.github.retry import ReportingRetry

    if not settings.token:
        raise InputError(
            "GITHUB_TOKEN is not set",
            hint="pass `github-token` to the action, or export GITHUB_TOKEN for a local run",
        )
    retry = ReportingRetry(
        total=settings.total_retries,
        backoff_factor=settings.backoff_factor,
        secondary_rate_wait=settings.secondary_rate_wait,
        max_rate_limit_wait=settings.max_rate_limit_wait,
    )
    throttle = None if settings.is_local else 0.25
    return github.Github(
        base_url=settings.api_url,
        auth=github.Auth.Token(settings.token),
        retry=retry,
        timeout=settings.timeout,
        per_page=100,
        seconds_between_requests=throttle,
        seconds_between_writes=None if settings.is_local else 1.0,
    )


def describe(error: Exception) -> str:
    """A one-line account of a PyGithub failure, with GitHub's own message."""
    import github

    if isinstance(error, github.GithubException):
        data: Any = error.data
        message = data.get("message") if isinstance(data, dict) else None
        return f"HTTP {error.status}: {message or 'no message'}"
    return f"{type(error).__name__}: {error}"


@contextmanager
def github_errors(action: str) -> Iterator[None]:
    """Turn any PyGithub or transport failure inside the block into GitHubAPIError (exit 3)."""
    import github
    import requests

    try:
        yield
    except github.BadCredentialsException as error:
        raise GitHubAPIError(
            f"{action}: GitHub rejected the token ({describe(error)})",
            hint="check GITHUB_TOKEN / the action's github-token input",
        ) from None
    except github.GithubException as error:
        raise GitHubAPIError(f"{action}: {describe(error)}") from None
    except requests.exceptions.RetryError as error:
        raise GitHubAPIError(f"{action}: {describe_exhausted_retries(error)}") from None
    except requests.RequestException as error:
        raise GitHubAPIError(f"{action}: cannot reach GitHub ({type(error).__name__})") from None


def describe_exhausted_retries(error: Exception) -> str:
    """What GitHub kept answering when PyGithub's retries ran out.

    requests wraps urllib3's MaxRetryError, whose reason is a ResponseError worded "too many
    502 error responses" (the status is only in that text); the retry count is on the
    `ExhaustedRetries` reason our own retry class substitutes (see `make_github`).
    """
    exhausted = error.args[0] if error.args else None
    reason = getattr(exhausted, "reason", None)
    status = getattr(reason, "status", None)
    if status is None:
        found = _TOO_MANY.search(str(reason or error))
        status = int(found.group(1)) if found else None
    retries = getattr(reason, "retries", None)
    if retries is None:
        after = " after retries"
    else:
        after = f" after {retries} {'retry' if retries == 1 else 'retries'}"
    if status is None:
        return f"GitHub kept failing{after}"
    return f"GitHub answered {status} ({_status_phrase(status)}){after}"


def _status_phrase(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"


def call(action: str, func: Callable[[], T]) -> T:
    """`func()` with its GitHub failures translated; for one-line calls."""
    with github_errors(action):
        return func()
