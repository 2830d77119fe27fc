"""GitHub's rate-limit refusals, read from the status and headers as GitHub documents them.

"Rate limits for the REST API": a refused request is answered 403 or 429. With `retry-after`,
wait that many seconds; with `x-ratelimit-remaining: 0` (the primary limit, the hour's
budget), wait until `x-ratelimit-reset` (UTC epoch seconds); otherwise (a secondary limit)
wait at least a minute. Only a 403 that carries neither header needs its message to be told
from a permission refusal; that reading is left to PyGithub's `GithubRetry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone

RATE_LIMIT_STATUSES = frozenset({403, 429})


@dataclass(frozen=True)
class RateLimit:
    """One rate-limit refusal: which limit, and what GitHub said about when to come back."""

    status: int
    primary: bool
    retry_after: float | None
    reset: float | None  # UTC epoch seconds

    @classmethod
    def of(cls, status: int, headers: Mapping[str, str] | None) -> RateLimit | None:
        """The refusal that `status` and `headers` show, or None when they show none."""
        if status not in RATE_LIMIT_STATUSES:
            return None
        found = {name.lower(): value for name, value in (headers or {}).items()}
        retry_after = _seconds(found.get("retry-after"))
        primary = (found.get("x-ratelimit-remaining") or "").strip() == "0"
        if retry_after is None and not primary and status != 429:
            return None  # a 403 with no sign of a limit: a refusal, unless its message says so
        return cls(status, primary, retry_after, _seconds(found.get("x-ratelimit-reset")))

    @classmethod
    def secondary(cls, status: int, headers: Mapping[str, str] | None) -> RateLimit:
        """A refusal known to be a secondary limit although its headers do not show it."""
        found = {name.lower(): value for name, value in (headers or {}).items()}
        return cls(status, False, None, _seconds(found.get("x-ratelimit-reset")))

    def wait(self, now: float, secondary_wait: float) -> float:
        """Seconds to wait before asking again, as GitHub says."""
        if self.retry_after is not None:
            return self.retry_after
        if self.primary and self.reset is not None:
            # The reset is a whole second; asking within it may meet the old window.
            return max(self.reset - now, 0.0) + 1.0
        return secondary_wait

    def describe(self, now: float) -> str:
        """Which limit refused, and when GitHub said it lifts."""
        name = (
            "primary rate limit (the token's hourly budget)"
            if self.primary
            else ("secondary rate limit")
        )
        said = f"GitHub's {name} refused the request (HTTP {self.status})"
        if self.retry_after is not None:
            said += f"; GitHub asked to wait {self.retry_after:g} s (retry-after)"
        elif not self.primary:
            said += "; GitHub asks to wait at least a minute"
        if self.reset is not None:
            said += f"; it resets at {_clock(self.reset)} ({_from_now(self.reset - now)})"
        return said


def _seconds(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _clock(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _from_now(seconds: float) -> str:
    if seconds <= 0:
        return "now"
    minutes, secs = divmod(round(seconds), 60)
    if minutes >= 60:
        return f"in {minutes // 60} h {minutes % 60} min"
    return f"in {minutes} min {secs} s" if minutes else f"in {secs} s"
