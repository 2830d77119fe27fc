"""PyGithub's retry policy, made safe for writes and made to say how it gave up.

`github.GithubRetry` resends a POST that GitHub answered with a 5xx or a dropped connection;
but GitHub may have carried it out (a proxy's 502 after the write), and a blind resend posts
a second review, issue or pull request. Here the transport resends POST and PATCH only after
a rate-limit refusal (403/429: GitHub acted on nothing); their other failures reach
`client.write_once`, which looks for the write before sending it again. GET, PUT (the state
file's compare-and-swap) and DELETE keep the transport's retries.

urllib3 reports exhausted status retries as `MaxRetryError(reason=ResponseError("too many 502
error responses"))`: the status is only in the text and the number of attempts is lost. This
subclass keeps the policy of `github.GithubRetry` unchanged and swaps that reason for an
`ExhaustedRetries` carrying both, so the user reads "GitHub answered 502 ... after 6 retries".

Rate limits are waited out as GitHub documents (see `rate_limit`), decided on status and
headers: `GithubRetry` honours `retry-after`, and reads the message of a 403 without it, but
gives a 429 without `retry-after` up at once and waits out a spent primary limit only when
the message's wording says so. Here a 403/429 with `retry-after` or `x-ratelimit-remaining:
0`, and every 429, is waited out from its headers (a secondary limit at least
`secondary_rate_wait`); a wait longer than `max_rate_limit_wait` is not begun but reported
with the reset time, as is a limit that outlasts the retries.
Imported only by `client.make_github` (it imports PyGithub at module level).
"""

from __future__ import annotations

import json
import time
from types import TracebackType
from typing import Any

import github
from urllib3 import Retry
from urllib3.exceptions import MaxRetryError, ResponseError

from ci_reviewer.github.rate_limit import RATE_LIMIT_STATUSES, RateLimit

# Writes that GitHub may carry out and still fail to confirm.
UNCONFIRMED_WRITES = frozenset({"POST", "PATCH"})
# Refusals that come before GitHub acts on anything: secondary and primary rate limits.
_REFUSED_UNDONE = RATE_LIMIT_STATUSES


class ExhaustedRetries(ResponseError):
    """The last status GitHub answered, how many retries preceded it, and the rate limit
    that answer showed, if any."""

    def __init__(self, status: int, retries: int, limit: RateLimit | None = None) -> None:
        super().__init__(ResponseError.SPECIFIC_ERROR.format(status_code=status))
        self.status = status
        self.retries = retries
        self.limit = limit


class ReportingRetry(github.GithubRetry):
    """`GithubRetry` that resends a write only after a rate-limit refusal, waits rate limits
    out from their headers, and whose exhaustion names GitHub's last status, the retries
    made and the rate limit."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allowed_methods", Retry.DEFAULT_ALLOWED_METHODS)
        # 429 is always a rate limit, with or without retry-after (GithubRetry adds 403).
        kwargs.setdefault("status_forcelist", [*range(500, 600), 429])
        super().__init__(**kwargs)
        self.rate_wait: float | None = None  # set on the retry that follows a rate limit

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        if method.upper() in UNCONFIRMED_WRITES and status_code in _REFUSED_UNDONE:
            # Judged as a read would be: GithubRetry then tells a rate limit from a refusal.
            return super().is_retry("GET", status_code, has_retry_after)
        return super().is_retry(method, status_code, has_retry_after)

    def increment(
        self,
        method: str | None = None,
        url: str | None = None,
        response: Any = None,
        error: Exception | None = None,
        _pool: Any = None,
        _stacktrace: TracebackType | None = None,
    ) -> Any:
        status = getattr(response, "status", None)
        headers = getattr(response, "headers", None)
        limit = RateLimit.of(status, headers) if isinstance(status, int) else None
        try:
            if limit is not None:
                return self._wait_out(limit, method, url, response, error, _pool, _stacktrace)
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as exhausted:
            if not isinstance(exhausted.reason, ResponseError) or not isinstance(status, int):
                raise
            if limit is None and status in _REFUSED_UNDONE:
                # GithubRetry retries a 403 without rate headers only when it reads a limit.
                limit = RateLimit.secondary(status, headers)
            reason = ExhaustedRetries(status, len(self.history), limit)
            raise MaxRetryError(_pool, url, reason) from exhausted

    def _wait_out(
        self,
        limit: RateLimit,
        method: str | None,
        url: str | None,
        response: Any,
        error: Exception | None,
        _pool: Any,
        _stacktrace: TracebackType | None,
    ) -> Any:
        wait = limit.wait(time.time(), self.secondary_rate_wait)
        if self.max_rate_limit_wait is not None and wait > self.max_rate_limit_wait:
            raise github.RateLimitExceededExceedsMaxWait(
                limit.status, _body(response, url), dict(response.headers), wait=wait
            )
        # urllib3's own step: GithubRetry's would read the message to decide again.
        retry = Retry.increment(self, method, url, response, error, _pool, _stacktrace)
        retry.rate_wait = max(wait, retry.get_backoff_time())
        return retry

    def sleep(self, response: Any = None) -> None:
        if self.rate_wait is None:
            super().sleep(response)
        elif self.rate_wait > 0:
            time.sleep(self.rate_wait)


def _body(response: Any, url: str | None) -> Any:
    """The JSON GitHub sent with a refusal, for the exception PyGithub's callers read."""
    try:
        return json.loads(github.GithubRetry.get_content(response, url or ""))
    except ValueError:
        return None
