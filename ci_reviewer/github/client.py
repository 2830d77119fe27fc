"""PyGithub construction and the translation of its exceptions at this edge.

The client honours GITHUB_API_URL (GitHub Enterprise, the local emulator) and retries with
PyGithub's own `GithubRetry` (5xx), waits rate limits out as GitHub says (`retry.py`), and
never resends blindly a write GitHub may have carried out: `write_once` looks first.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

from ci_reviewer.errors import GitHubAPIError, InputError
from ci_reviewer.github.rate_limit import RateLimit

if TYPE_CHECKING:
    import github
    from github.GitRef import GitRef
    from github.Repository import Repository

T = TypeVar("T")
_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
# urllib3 waits factor * 2**(n-1) s before retry n: 0, 1, 2, 4, 8, 16 s for six retries of
# a failing GitHub. Read when a GitHubSettings is made, so a test can make it short.
RETRY_BACKOFF_FACTOR = 0.5
# GitHub: after a secondary rate limit without retry-after, "wait for at least one minute".
# Read when a GitHubSettings is made, so a test can make it short.
SECONDARY_RATE_WAIT = 60.0
_MAX_BACKOFF = 120.0  # urllib3's cap on one wait
_TOO_MANY = re.compile(r"too many (\d{3}) error responses")
_RATE_LIMIT_HINT = (
    "GitHub limits how fast and how much one token may ask; run again after the time above "
    "(jobs sharing the token at the same time use the same budget)"
)


@dataclass(frozen=True)
class GitHubSettings:
    """How to reach GitHub; the token never leaves this record except into the client."""

    api_url: str
    token: str
    total_retries: int = 6
    backoff_factor: float = field(default_factory=lambda: RETRY_BACKOFF_FACTOR)
    secondary_rate_wait: float = field(default_factory=lambda: SECONDARY_RATE_WAIT)
    # A longer wait (a spent hourly budget) is not begun: the run stops saying when it resets.
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
    # PyGithub writes every 403 to stderr at INFO from its retry ("Request GET ... failed
    # with 403: Forbidden", on a handler it installs itself): refusals the product expects
    # (the doctor's probes, a protection the token cannot read) would spam the log, and one
    # it does not expect is reported by the product with GitHub's own message. Rate limits
    # are waited out by `ReportingRetry`, which logs nothing of its own either.
    logging.getLogger("github.GithubRetry").setLevel(logging.WARNING)
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
        # One line: GitHub words some refusals over several ("...found\n\nCannot ...").
        said = f"HTTP {error.status}: {' '.join(str(message or 'no message').split())}"
        limit = rate_limit_of(error)
        return said if limit is None else f"{limit.describe(time.time())} ({said})"
    return f"{type(error).__name__}: {error}"


def rate_limit_of(error: github.GithubException) -> RateLimit | None:
    """The rate limit a PyGithub failure shows in its status and headers, if any; a limit
    the retry did not wait out because that would exceed `max_rate_limit_wait` included."""
    import github

    limit = RateLimit.of(error.status, error.headers)
    if limit is None and isinstance(error, github.RateLimitExceededExceedsMaxWait):
        limit = RateLimit.secondary(error.status, error.headers)
    return limit


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
        hint = _RATE_LIMIT_HINT if rate_limit_of(error) is not None else None
        raise GitHubAPIError(f"{action}: {describe(error)}", hint=hint) from None
    except requests.exceptions.RetryError as error:
        limited = getattr(_exhausted_reason(error), "limit", None) is not None
        hint = _RATE_LIMIT_HINT if limited else None
        raise GitHubAPIError(f"{action}: {describe_exhausted_retries(error)}", hint=hint) from None
    except requests.RequestException as error:
        raise GitHubAPIError(f"{action}: {describe_unreachable(error)}") from None


def describe_unreachable(error: Exception) -> str:
    """Where GitHub could not be reached and how, once the transport's retries ran out:
    "cannot reach GitHub at 127.0.0.1:9 (connection refused)". The host and port only (a
    URL's user and password, if any, are left out), and the cause told by the exception's
    type, never its wording."""
    url = getattr(getattr(error, "request", None), "url", None)
    parts = urlsplit(url) if isinstance(url, str) else None
    host = parts.hostname if parts is not None else None
    if parts is not None and host and parts.port:
        host = f"{host}:{parts.port}"
    at = f" at {host}" if host else ""
    return f"cannot reach GitHub{at} ({_transport_cause(error)})"


def _transport_cause(error: Exception) -> str:
    """The first cause of a transport failure that says what happened (requests wraps
    urllib3's MaxRetryError, whose reason wraps the socket's error)."""
    import socket

    seen: list[object] = [error]
    visited: set[int] = set()
    while seen:
        cause = seen.pop()
        if id(cause) in visited:  # a chain may loop back (a context set by a handler)
            continue
        visited.add(id(cause))
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused"
        if isinstance(cause, socket.gaierror):
            return "host name not found"
        if isinstance(cause, TimeoutError):
            return "timed out"
        if isinstance(cause, BaseException):
            nested = [cause.__cause__, cause.__context__, getattr(cause, "reason", None)]
            nested += [a for a in cause.args if isinstance(a, BaseException)]
            seen += [n for n in nested if n is not None]
    return type(error).__name__


def describe_exhausted_retries(error: Exception) -> str:
    """What GitHub kept answering when PyGithub's retries ran out.

    requests wraps urllib3's MaxRetryError, whose reason is a ResponseError worded "too many
    502 error responses" (the status is only in that text); the retry count is on the
    `ExhaustedRetries` reason our own retry class substitutes (see `make_github`).
    """
    reason = _exhausted_reason(error)
    status = getattr(reason, "status", None)
    if status is None:
        found = _TOO_MANY.search(str(reason or error))
        status = int(found.group(1)) if found else None
    retries = getattr(reason, "retries", None)
    after = " after retries" if retries is None else _after(retries)
    limit = getattr(reason, "limit", None)
    if isinstance(limit, RateLimit):
        said = limit.describe(time.time())
        head, _, tail = said.partition(";")
        return f"{head}{after};{tail}" if tail else f"{head}{after}"
    if status is None:
        return f"GitHub kept failing{after}"
    return f"GitHub answered {status} ({_status_phrase(status)}){after}"


def _exhausted_reason(error: Exception) -> object:
    exhausted = error.args[0] if error.args else None
    return getattr(exhausted, "reason", None)


def _after(retries: int) -> str:
    return f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""


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


# -- writes GitHub may carry out and fail to confirm -------------------------------------------
@dataclass(frozen=True)
class WritePolicy:
    """How often a write is tried again, and the backoff between tries: the client's own."""

    retries: int
    backoff_factor: float

    @classmethod
    def of(cls, handle: Any) -> WritePolicy:
        """The retry budget of the client that made `handle` (any PyGithub object)."""
        retry = handle.requester.kwargs.get("retry")
        total = getattr(retry, "total", retry)
        retries = total if isinstance(total, int) and not isinstance(total, bool) else 0
        return cls(max(retries, 0), float(getattr(retry, "backoff_factor", 0.0) or 0.0))

    def pause(self, retry: int) -> None:
        """urllib3's schedule: no wait before the first retry, then factor * 2**(n-1) s."""
        if retry > 1 and self.backoff_factor > 0:
            time.sleep(min(self.backoff_factor * 2 ** (retry - 1), _MAX_BACKOFF))


def send_again() -> None:
    """The `find` of a write that is harmless to repeat: an edit setting the same content,
    a content-addressed git object. It never reports the write as landed."""
    return None


def write_once(action: str, handle: Any, send: Callable[[], T], find: Callable[[], T | None]) -> T:
    """`send()`; after a failure that leaves open whether GitHub carried it out (a 5xx, a
    dropped connection), `find()` looks for what it meant to create, and only when that is
    not there is it sent again, within the client's retry budget. Exhausted: GitHubAPIError
    (exit 3) naming GitHub's last answer. Other failures (422, 403, 404) reach the caller.
    """
    policy = WritePolicy.of(handle)
    failure: Exception | None = None
    for attempt in range(policy.retries + 1):
        if failure is not None:
            policy.pause(attempt)
            with github_errors(f"{action} (looking whether it landed)"):
                found = find()
            if found is not None:
                return found
        try:
            return send()
        except Exception as error:
            if not is_unconfirmed(error):
                raise
            failure = error
    raise GitHubAPIError(f"{action}: {_unconfirmed(failure, policy.retries)}")


def is_unconfirmed(error: Exception) -> bool:
    """Whether GitHub may have carried out the write although the call failed."""
    import github
    import requests

    if isinstance(error, github.GithubException):
        return isinstance(error.status, int) and error.status >= 500
    unanswered = (
        requests.ConnectionError,
        requests.Timeout,
        requests.exceptions.ChunkedEncodingError,
    )
    return isinstance(error, unanswered)


def _unconfirmed(error: Exception | None, retries: int) -> str:
    import github

    after = _after(retries)
    if isinstance(error, github.GithubException):
        return f"GitHub answered {error.status} ({_status_phrase(error.status)}){after}"
    return f"GitHub did not answer ({type(error).__name__}){after}"


def written(
    action: str,
    handle: Any,
    send: Callable[[], T],
    find: Callable[[], T | None] = send_again,
) -> T:
    """`write_once` with every failure translated into GitHubAPIError (exit 3)."""
    with github_errors(action):
        return write_once(action, handle, send, find)


def create_ref(repo: Repository, name: str, sha: str) -> GitRef:
    """The ref `refs/<name>` at `sha`; one GitHub created without saying so is found again."""
    import github

    def landed() -> GitRef | None:
        try:
            ref = repo.get_git_ref(name)
        except github.GithubException as error:
            if error.status == 404:
                return None
            raise
        return ref if ref.object.sha == sha else None

    create = partial(repo.create_git_ref, f"refs/{name}", sha)
    return write_once(f"create the ref {name}", repo, create, landed)
