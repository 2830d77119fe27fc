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
    emit,
    review_client,
    settings,
)
from ci_reviewer.cli.model_setting import check_before_sending, model_setting, review_choice

ANSWER_REQUESTS_FILE = "ci-reviewer-answer-requests.jsonl"


@click.command()
@common_options
@click.option(
    "--dry-run",
    is_flag=True,
    help="Read the comment and its thread, write the first request the answer would send "
    "(one JSON line, secrets masked) and its estimated cost; send nothing, post nothing. "
    "Without GITHUB_TOKEN it reads only the event payload (no network).",
)
@click.option(
    "--requests-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where --dry-run writes the request (default: ci-reviewer-answer-requests.jsonl in "
    "the runner's or the system's temporary directory, never the checkout).",
)
@click.pass_context
def answer(ctx: click.Context, dry_run: bool, requests_file: str | None) -> int:
    """Answer a PR comment or review reply that mentions the reviewer, in its thread."""
    run = settings(ctx)
    if dry_run:
        return answer_dry_run(run, requests_file)
    return run_answer(run)


def run_answer(run: Settings) -> int:
    """The answer to the event's comment (also what `review` runs on a comment event)."""
    from datetime import datetime, timezone

    from ci_reviewer.flows.month_record import answer_recorder
    from ci_reviewer.github.actions import ActionsEnv, write_outputs
    from ci_reviewer.github.answer_flow import answer_on_github
    from ci_reviewer.github.client import make_github
    from ci_reviewer.github.review_source import github_settings

    env = ActionsEnv.from_environ(run.environ)
    event = _event(env)
    choice = review_choice(run)
    check_before_sending(run, choice)
    gh = make_github(github_settings(run.environ))
    spend = answer_recorder(run.config.review.month_spend, lambda: datetime.now(timezone.utc))
    try:
        with model_setting(run, choice):
            outcome = answer_on_github(
                gh,
                event,
                run.config.review.mention,
                _answerer(run, choice.model),
                run.redact,
                spend,
            )
    finally:
        gh.close()
    for command in outcome.commands:
        click.echo(run.redact(command))
    for line in outcome.diagnostics:
        diagnostic(f"ci-reviewer: {line}", run.redact)
    if outcome.url:
        click.echo(run.redact(f"answer: {outcome.url}"))
    cost = "" if outcome.cost_usd is None else f"{outcome.cost_usd:.4f}"
    write_outputs(env.output_file, {"answer-url": outcome.url, "cost-usd": cost})
    return 0


def _event(env: Any) -> Any:
    from ci_reviewer.github.actions import load_event
    from ci_reviewer.github.mention_event import mention_event

    return mention_event(env.event_name, load_event(env.event_path))


def answer_dry_run(run: Settings, requests_file: str | None) -> int:
    """What the answer would send; nothing sent to the Messages API, nothing posted. With a
    GitHub token, the thread, the author's permission and the pull request are read from
    GitHub as the real run reads them (reads only); without one, from the event payload, and
    what only GitHub can tell is said to be checked by the real run (DESIGN.md 9: a dry run
    needs no credentials and no network)."""
    from pathlib import Path

    from ci_reviewer.cli.review_dry_run import (
        default_requests_file,
        estimate_cost,
        output_line,
        write_requests,
    )
    from ci_reviewer.github.actions import ActionsEnv
    from ci_reviewer.github.answer_flow import AnswerOutcome
    from ci_reviewer.review.thread_answer import first_request

    env = ActionsEnv.from_environ(run.environ)
    event = _event(env)
    choice = review_choice(run)
    check_before_sending(run, choice)
    prepared = _prepared(run, event)
    if isinstance(prepared, AnswerOutcome):
        for line in prepared.diagnostics:
            diagnostic(f"ci-reviewer: {line}", run.redact)
        emit("dry run: nothing sent; the comment would get no answer", run.redact, None)
        return 0
    mention, unchecked = prepared
    request = first_request(mention, model=choice.model, budgets=_budgets(run))
    target = (
        Path(requests_file)
        if requests_file
        else default_requests_file(run.environ, ANSWER_REQUESTS_FILE)
    )
    write_requests(target, [request], run)
    counted = estimate_cost(run, [request], choice.model)
    usd = counted.estimate.usd
    cost = "unknown (model not in the price table)" if usd is None else f"${usd:.4f}"
    approx = "" if counted.counted_by == "count_tokens" else "~"
    how = counted.counted_by + (f" ({counted.why})" if counted.why else "")
    turns = run.config.review.max_turns
    lines = [
        f"dry run: nothing sent, nothing posted. comment {event.comment_id} by "
        f"@{event.author} would be answered with {choice.model}.",
        f"first turn: {approx}{counted.estimate.input_tokens} input tokens, counted by {how}; "
        f"estimated {cost} (the answer may take up to {turns} turns)",
        *output_line(counted.estimate),
        f"request (one JSON line, its first turn): {target}",
    ]
    if unchecked:
        from ci_reviewer.github.answer_offline import UNCHECKED_NOTE

        lines.append(f"read from the event payload (no GITHUB_TOKEN); {UNCHECKED_NOTE}:")
        lines += [f"  {item}" for item in unchecked]
    emit("\n".join(lines), run.redact, None)
    return 0


def _prepared(run: Settings, event: Any) -> Any:
    """(the mention, what is left to the real run), or an AnswerOutcome: why no answer."""
    from ci_reviewer.github.review_source import github_settings

    access = github_settings(run.environ)
    if not access.token:
        from ci_reviewer.github.answer_offline import OfflineMention, offline_mention

        offline = offline_mention(event, run.config.review.mention, run.redact)
        if isinstance(offline, OfflineMention):
            return offline.mention, offline.unchecked
        return offline
    from ci_reviewer.github.answer_flow import Prepared, prepare_answer
    from ci_reviewer.github.client import make_github

    gh = make_github(access)
    try:
        prepared = prepare_answer(gh, event, run.config.review.mention, run.redact)
    finally:
        gh.close()
    return (prepared.mention, ()) if isinstance(prepared, Prepared) else prepared


def _budgets(run: Settings) -> Any:
    from ci_reviewer.review.agent import Budgets

    config = run.config.review
    return Budgets(
        max_turns=config.max_turns,
        max_tool_calls=config.max_tool_calls,
        max_bytes_fetched=config.max_bytes_fetched,
        max_tokens=config.max_tokens,
    )


def _answerer(run: Settings, model: str) -> Any:
    from ci_reviewer.cli.review import claude_api_key
    from ci_reviewer.review.sandbox import Sandbox
    from ci_reviewer.review.thread_answer import Mention, ThreadAnswer, answer_mention
    from ci_reviewer.review.tools import RepoTools

    config = run.config.review
    budgets = _budgets(run)

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
