"""What the configured setup will ask of the services: which models, whether batches, and
what the GitHub token must be allowed to do.

The workflows say what runs: when some step runs the review or a batch command, the needs
are those of the review (if a step runs it) and of the jobs the batch steps name; with no
such step (a local run before the workflows exist, or only `plan` and `doctor` steps),
those of the review and of every configured job. The key is checked with the config's
model when nothing else names one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ci_reviewer.config import Config, JobConfig
from ci_reviewer.planning.first_run import STATE_BRANCH
from ci_reviewer.planning.workflows import Workflow

__all__ = ["STATE_BRANCH", "Needs", "TokenNeed", "needs_of"]


@dataclass(frozen=True)
class TokenNeed:
    """A permission the token must have (a workflow `permissions:` key and level), and why."""

    scope: str
    level: str  # read | write
    why: str


@dataclass(frozen=True)
class Needs:
    review: bool
    jobs: tuple[tuple[str, JobConfig], ...]
    models: tuple[str, ...]
    token: tuple[TokenNeed, ...]

    @property
    def batches(self) -> bool:
        return any(job.api == "batch" for _, job in self.jobs)

    @property
    def state_branch(self) -> bool:
        return bool(self.jobs)

    @property
    def pull_requests(self) -> tuple[str, ...]:
        """The jobs whose results are opened as pull requests."""
        return tuple(name for name, job in self.jobs if job.effective_output == "pull-request")


def needs_of(config: Config, workflows: Sequence[Workflow], model: str | None = None) -> Needs:
    steps = [
        step
        for workflow in workflows
        for step in workflow.steps
        if step.command == "review" or step.command.startswith("batch ")
    ]
    if steps:
        review = any(step.command == "review" for step in steps)
        named = {step.job_name for step in steps if step.command.startswith("batch")}
        jobs = tuple((name, job) for name, job in config.jobs.items() if name in named)
    else:
        review, jobs = True, tuple(config.jobs.items())
    models = [model or config.review.model or config.model] if review else []
    models += [config.model_for(model, job=name) for name, _ in jobs]
    models = models or [model or config.model]
    # The fallback models are asked for too, when the others fail: they must be served.
    fallbacks = [config.review.fallback_model] if review else []
    fallbacks += [job.fallback_model for _, job in jobs]
    models += [fallback for fallback in fallbacks if fallback]
    return Needs(review, jobs, tuple(dict.fromkeys(models)), _token_needs(review, jobs))


def _token_needs(review: bool, jobs: Sequence[tuple[str, JobConfig]]) -> tuple[TokenNeed, ...]:
    wanted = [TokenNeed("contents", "read", "reading the repository")]
    if review:
        wanted += [
            TokenNeed("pull-requests", "read", "reading the pull request"),
            TokenNeed("pull-requests", "write", "the review, its comments and the summary"),
            TokenNeed("checks", "write", "the ci-reviewer check run"),
        ]
    if jobs:
        wanted.append(TokenNeed("contents", "write", f"the batch state on {STATE_BRANCH}"))
    for name, job in jobs:
        output = job.effective_output
        if output == "pull-request":
            wanted += [
                TokenNeed("contents", "write", f"the branch of job {name!r}"),
                TokenNeed("pull-requests", "write", f"the pull request of job {name!r}"),
            ]
        elif output == "issue":
            wanted.append(TokenNeed("issues", "write", f"the issue of job {name!r}"))
    return _merged(wanted)


def _merged(wanted: Sequence[TokenNeed]) -> tuple[TokenNeed, ...]:
    merged: dict[tuple[str, str], TokenNeed] = {}
    for need in wanted:
        key = (need.scope, need.level)
        was = merged.get(key)
        merged[key] = need if was is None else TokenNeed(*key, f"{was.why}; {need.why}")
    return tuple(merged.values())
