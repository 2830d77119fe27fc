"""`ci-reviewer answer`: answer a comment that mentions the reviewer, in its thread.

Run on `issue_comment` and `pull_request_review_comment` events (`init` writes the workflow).
This module builds the clients and the answerer (the review's read-only tools over the
checkout, its budgets and model) and writes what the flow returns; the decisions live in
`ci_reviewer.github.answer_flow`. Interactive work: synchronous, never batched.
"""

from __future__ import annotations

from typing import Any

import click

from ci_reviewer.cli.context import (
    Settings,
    common_options,
    diagnostic,
    review_client,
    settings,
)
from ci_reviewer.cli.model_setting import check_before_sending, model_setting, review_choice


@click.command()
@common_options
@click.pass_context
def answer(ctx: click.Context) -> int:
    """Answer a PR comment or review reply that mentions the reviewer, in its thread."""
    return run_answer(settings(ctx))


def run_answer(run: Settings) -> int:
    """The answer to the event's comment (also what `review` runs on a comment event)."""
    from ci_reviewer.github.actions import ActionsEnv, load_event, write_outputs
    from ci_reviewer.github.answer_flow import answer_on_github
    from ci_reviewer.github.client import make_github
    from ci_reviewer.github.mention_event import mention_event
    from ci_reviewer.github.review_source import github_settings

    env = ActionsEnv.from_environ(run.environ)
    event = mention_event(env.event_name, load_event(env.event_path))
    choice = review_choice(run)
    check_before_sending(run, choice)
    gh = make_github(github_settings(run.environ))
    try:
        with model_setting(run, choice):
            outcome = answer_on_github(
                gh, event, run.config.review.mention, _answerer(run, choice.model), run.redact
            )
    finally:
        gh.close()
    for line in outcome.diagnostics:
        diagnostic(f"ci-reviewer: {line}", run.redact)
    cost = "" if outcome.cost_usd is None else f"{outcome.cost_usd:.4f}"
    write_outputs(env.output_file, {"answer-url": outcome.url, "cost-usd": cost})
    return 0


def _answerer(run: Settings, model: str) -> Any:
    from ci_reviewer.cli.review import claude_api_key
    from ci_reviewer.review.agent import Budgets
    from ci_reviewer.review.sandbox import Sandbox
    from ci_reviewer.review.thread_answer import Mention, ThreadAnswer, answer_mention
    from ci_reviewer.review.tools import RepoTools

    config = run.config.review
    budgets = Budgets(
        max_turns=config.max_turns,
        max_tool_calls=config.max_tool_calls,
        max_bytes_fetched=config.max_bytes_fetched,
        max_tokens=config.max_tokens,
    )

    def answerer(mention: Mention, base_sha: str) -> ThreadAnswer:
        api_key = claude_api_key(run)
        tools = RepoTools(Sandbox(run.workdir, run.config.secret_policy), base_sha)
        with review_client(run, api_key) as client:
            return answer_mention(
                client,
                mention,
                tools,
                model=model,
                budgets=budgets,
                max_cost_usd=config.max_cost_usd,
            )

    return answerer
