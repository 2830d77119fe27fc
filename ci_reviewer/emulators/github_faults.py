"""Faults that answer as GitHub's rate limits do: the real message and headers (from
data/github_answers.json), with the reset time and `retry-after` a test chooses."""

from __future__ import annotations

import time

from ci_reviewer.emulators.server import Fault


def rate_limited(
    route: str,
    *,
    primary: bool = False,
    status: int = 403,
    retry_after: int | None = None,
    reset_in: float = 3600.0,
    times: int = 1,
    method: str | None = None,
    content_creation: bool = False,
) -> Fault:
    """The next `times` calls matching `route` refused by a rate limit, as GitHub answers:

    - primary: the hour's budget is spent (`x-ratelimit-remaining: 0`) until
      `x-ratelimit-reset`, `reset_in` seconds from now;
    - secondary (the default): too many requests at once or too fast, with `retry-after`
      when given (GitHub sends whole seconds) and otherwise only the usual rate headers;
      `content_creation` gives the message GitHub uses for too many writes.

    GitHub answers either with 403 or 429 (docs: "Rate limits for the REST API").
    """
    if primary:
        key = "primary-rate-limit"
    elif content_creation:
        key = "secondary-rate-limit-content-creation"
    else:
        key = "secondary-rate-limit"
    reset = str(int(time.time() + reset_in))
    return Fault(
        route,
        status=status,
        times=times,
        retry_after=retry_after,
        method=method,
        headers={"x-ratelimit-reset": reset},
        answer=key,
    )
