"""`review` on a pull request whose run GitHub gave no Claude key (a fork's, Dependabot's):
read what decides it from the environment and the event payload, and write why no review
ran (the decision and the wording live in `ci_reviewer.github.withheld_secrets`)."""

from __future__ import annotations

from collections.abc import Mapping

import click

from ci_reviewer.cli.context import Settings, diagnostic, emit
from ci_reviewer.github.actions import (
    ActionsEnv,
    annotation,
    append_summary,
    load_event,
    write_outputs,
)
from ci_reviewer.github.review_source import PullRequestRef
from ci_reviewer.github.withheld_secrets import WithheldSecrets, withheld_secrets


def withheld_secrets_of(
    run: Settings, env: ActionsEnv, ref: PullRequestRef
) -> WithheldSecrets | None:
    """A fork's or Dependabot's pull request, to whose run GitHub gave no Claude key."""
    has_key = bool(run.environ.get("ANTHROPIC_API_KEY") or run.environ.get("ANTHROPIC_AUTH_TOKEN"))
    if has_key or not env.event_path:
        return None
    payload = load_event(env.event_path)
    pull = payload.get("pull_request")
    if not isinstance(pull, Mapping) or pull.get("number") != ref.number:
        return None  # --pr names another pull request than the event's
    actor = run.environ.get("GITHUB_ACTOR") or None
    return withheld_secrets(ref.event_name, payload, actor=actor, has_key=has_key)


def no_review_without_secrets(
    run: Settings,
    env: ActionsEnv,
    withheld: WithheldSecrets,
    output_format: str,
    output_file: str | None,
) -> int:
    """No review, exit 0: an annotation, the job summary and stdout say why."""
    notice = annotation("notice", withheld.notice(), title="ci-reviewer: no review")
    click.echo(run.redact(notice))
    diagnostic(f"ci-reviewer: {withheld.reason}", run.redact)
    emit(withheld.formatted(output_format), run.redact, output_file)
    nothing = {"findings-count": "0", "highest-severity": "none", "cost-usd": "0.0000"}
    write_outputs(env.output_file, {**nothing, "review-url": ""})
    append_summary(env.summary_file, withheld.job_summary())
    return 0
