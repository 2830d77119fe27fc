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
Imported only by `client.make_github` (it imports PyGithub at module level).
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

import github
from urllib3 import Retry
from urllib3.exceptions import MaxRetryError, ResponseError

# Writes that GitHub may carry out and still fail to confirm.
UNCONFIRMED_WRITES = frozenset({"POST", "PATCH"})
# Refusals that come before GitHub acts on anything: secondary and primary rate limits.
_REFUSED_UNDONE = frozenset({403, 429})


class ExhaustedRetries(ResponseError):
    """The last status GitHub answered and how many retries preceded it."""

    def __init__(self, status: int, retries: int) -> None:
        super().__init__(ResponseError.SPECIFIC_ERROR.format(status_code=status))
        self.status = status
        self.retries = retries


class ReportingRetry(github.GithubRetry):
    """`GithubRetry` that resends a write only after a rate-limit refusal, and whose
    exhaustion names GitHub's last status and the retries made."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("allowed_methods", Retry.DEFAULT_ALLOWED_METHODS)
        super().__init__(**kwargs)

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
        try:
            return super().increment(method, url, response, error, _pool, _stacktrace)
        except MaxRetryError as exhausted:
            status = getattr(response, "status", None)
            if not isinstance(exhausted.reason, ResponseError) or not isinstance(status, int):
                raise
            reason = ExhaustedRetries(status, len(self.history))
            raise MaxRetryError(_pool, url, reason) from exhausted
