"""PyGithub's retry policy, made to say how it gave up.

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
from urllib3.exceptions import MaxRetryError, ResponseError


class ExhaustedRetries(ResponseError):
    """The last status GitHub answered and how many retries preceded it."""

    def __init__(self, status: int, retries: int) -> None:
        super().__init__(ResponseError.SPECIFIC_ERROR.format(status_code=status))
        self.status = status
        self.retries = retries


class ReportingRetry(github.GithubRetry):
    """`GithubRetry` whose exhaustion names GitHub's last status and the retries made."""

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
