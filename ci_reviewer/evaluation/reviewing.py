"""Reviewing a fetched PR exactly as `review --local --base BASE` reviews local commits:
the same diff, the same file selection (include/exclude, generated files, secret policy),
the same engine and config."""

from __future__ import annotations

from typing import Any

from ci_reviewer.config import Config
from ci_reviewer.evaluation.fetch import BASE_REF, Checkout
from ci_reviewer.globs import PathFilter
from ci_reviewer.review.diff import diff_from_git, select_reviewable
from ci_reviewer.review.engine import ReviewResult, nothing_to_review, run_review


def review_checkout(client: Any, checkout: Checkout, config: Config, model: str) -> ReviewResult:
    review = config.review
    source = diff_from_git(checkout.path, BASE_REF)
    path_filter = PathFilter.build(review.include, review.exclude, review.skip_generated)
    source = select_reviewable(
        source,
        path_filter,
        checkout.path,
        skip_generated=review.skip_generated,
        policy=config.secret_policy,
    )
    if not source.files:
        return nothing_to_review(source, model=model, fail_on=review.fail_on)
    return run_review(
        client, source, review, model=model, workdir=checkout.path, policy=config.secret_policy
    )
