"""The fallback model: a file whose conversation the review's model could not finish, because
the API stayed overloaded (529 `overloaded_error`) after the SDK's own retries or because the
model declined it (`stop_reason: "refusal"`), is reviewed again from the start, once, on
`review.fallback_model`.

Once only, and from the start: the fallback conversation cannot continue the first one (a
refused turn has no answer to build on, and thinking blocks are bound to the model that wrote
them). Its calls go on the run's one meter at the fallback model's own prices, and the file
says why it was retried, for the summary. When the fallback fails too, its outcome is the
file's (a ClaudeAPIError still stops the run).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from ci_reviewer.errors import ClaudeOverloadedError
from ci_reviewer.review.agent import FileReview, ReviewContext
from ci_reviewer.review.diff import ChangedFile

ReviewOne = Callable[[ReviewContext, ChangedFile], FileReview]


def review_with_fallback(
    context: ReviewContext, changed: ChangedFile, review_one: ReviewOne
) -> FileReview:
    """`review_one(context, changed)`, retried once on the fallback model when it stayed
    overloaded or was refused (and a fallback model is configured)."""
    fallback = context.fallback_model
    try:
        first = review_one(context, changed)
    except ClaudeOverloadedError:
        if not fallback or fallback == context.model:
            raise
        why = f"{context.model} stayed overloaded (529 overloaded_error after retries)"
        return _again(context, changed, review_one, fallback, why)
    if first.status != "refused" or not fallback or fallback == context.model:
        return first
    return _again(context, changed, review_one, fallback, f"{context.model} declined it")


def _again(
    context: ReviewContext,
    changed: ChangedFile,
    review_one: ReviewOne,
    fallback: str,
    why: str,
) -> FileReview:
    # The fallback model has a cache of its own: the others need not wait on its first call.
    context.warmed.set()
    on_fallback = replace(context, model=fallback, fallback_model=None)
    review = review_one(on_fallback, changed)
    return replace(review, fallback=f"reviewed again on {fallback}: {why}")
