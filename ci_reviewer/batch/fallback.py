"""The job's fallback model: a request whose result came back `errored` with
`overloaded_error` (the API stayed overloaded), or `succeeded` with `stop_reason: "refusal"`
(the model declined it), is sent once more on the job's `fallback_model`, in the next
submission, as failed requests are sent again.

Once only: the request sent again carries the fallback model and why in its manifest entry,
so its own result is known for the fallback's. A refusal by the fallback too is a failure
for good, with both reasons; an overloaded fallback is sent again (on the fallback) like any
transient error, within the job's `max_attempts`. The first try and the fallback are billed
each at its own model's prices: the account reads the model from each answer.
"""

from __future__ import annotations

from dataclasses import replace

from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.batch.state import RetryItem

OVERLOADED = "overloaded_error"


def fallback_retry(
    entry: ManifestEntry, model: str, fallback: str | None, why: str
) -> RetryItem | None:
    """The retry of `entry` on `fallback`, or None when there is none to make: no fallback
    configured, the same model as the job's, or `entry` was already the fallback's try."""
    if not fallback or fallback == model or entry.model is not None:
        return None
    again = replace(entry, attempt=entry.attempt + 1, model=fallback, fallback=why)
    return RetryItem(entry=again, reason=f"{why}; sent again on {fallback}")


def overloaded_reason(model: str) -> str:
    return f"{model} stayed overloaded (errored: overloaded_error)"


def refused_reason(model: str) -> str:
    return f"{model} declined it (stop_reason: refusal)"


def refused_again(entry: ManifestEntry) -> str:
    """Why a file the fallback model declined too failed for good."""
    return (
        f"the fallback model {entry.model} declined it too (stop_reason: refusal), after: "
        f"{entry.fallback}; not sent again"
    )
