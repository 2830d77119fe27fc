"""`ci-reviewer review`: the synchronous pre-merge review.

This module parses, picks the diff source, builds the Anthropic client once, calls
`run_review` and formats; the review itself lives in `ci_reviewer.review`. The diff comes from
local git (`--local --base REF`) or from a pull request on GitHub, whose loader lives in its
own module (`github/review_source.py`) and is imported only when used.
"""

from __future__ import annotations

import contextlib
import json
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ci_reviewer.cli.context import (
    Settings,
    common_options,
    diagnostic,
    emit,
    format_option,
    output_option,
    review_client,
    settings,
)
from ci_reviewer.cli.model_setting import check_before_sending, model_setting, review_choice
from ci_reviewer.errors import ClaudeAPIError, UsageError

if TYPE_CHECKING:
    from ci_reviewer.flows.review_pr import FlowOutcome

FAIL_ON = ("none", "info", "low", "medium", "high", "critical")


@click.command()
@common_options
@click.option("--local", is_flag=True, help="Review local commits only (no GitHub); needs --base.")
@click.option("--base", default=None, help="With --local: review `git diff BASE...HEAD`.")
@click.option("--pr", "pr_number", type=int, default=None, help="PR number (default: event).")
@click.option("--fail-on", type=click.Choice(FAIL_ON), default=None, help="Blocking severity.")
@click.option("--max-turns", type=click.IntRange(1, 50), default=None, help="Turns per file.")
@format_option("text", "markdown", "json", "sarif")
@output_option
@click.option(
    "--dry-run",
    is_flag=True,
    help="Build every file's first request, write them as JSONL, estimate cost, send nothing "
    "(on a comment event: the answer's dry run). Without GITHUB_TOKEN, no network: the PR is "
    "read from the event payload and the checkout.",
)
@click.option(
    "--requests-file",
    "--requests-out",
    "requests_file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Where --dry-run writes the requests (default: ci-reviewer-review-requests.jsonl in "
    "the runner's or the system's temporary directory, never the checkout).",
)
@click.option("--full", is_flag=True, help="Review every file, even if reviewed at this SHA.")
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Keep the month's review spend in this directory (default: on the state branch "
    "ci-reviewer-state, when it exists).",
)
@click.pass_context
def review(
    ctx: click.Context,
    *,
    local: bool,
    base: str | None,
    pr_number: int | None,
    fail_on: str | None,
    max_turns: int | None,
    output_format: str,
    output_file: str | None,
    dry_run: bool,
    requests_file: str | None,
    full: bool,
    state_dir: str | None,
) -> int:
    """Review a pull request (or local commits) with Claude; exit 1 when blocking."""
    from dataclasses import replace

    from ci_reviewer.git import ensure_checkout

    run = settings(ctx)
    # The tools read the whole checkout, whatever subdirectory --workdir names.
    run = replace(run, workdir=ensure_checkout(run.workdir))
    if _comment_event(run) and not (local or base or pr_number):
        # A comment: answered in its thread (DESIGN.md 9); its dry run is the answer's.
        from ci_reviewer.cli.answer import answer_dry_run, run_answer

        return answer_dry_run(run, requests_file) if dry_run else run_answer(run)
    choice = review_choice(run)
    check_before_sending(run, choice)
    with model_setting(run, choice):
        return _review_command(
            run,
            choice.model,
            local=local,
            base=base,
            pr_number=pr_number,
            fail_on=fail_on,
            max_turns=max_turns,
            output_format=output_format,
            output_file=output_file,
            dry_run=dry_run,
            requests_file=requests_file,
            full=full,
            state_dir=state_dir,
        )


def _comment_event(run: Settings) -> bool:
    from ci_reviewer.github.mention_event import MENTION_EVENTS

    return run.environ.get("GITHUB_EVENT_NAME") in MENTION_EVENTS


def _review_command(
    run: Settings,
    model: str,
    *,
    local: bool,
    base: str | None,
    pr_number: int | None,
    fail_on: str | None,
    max_turns: int | None,
    output_format: str,
    output_file: str | None,
    dry_run: bool,
    requests_file: str | None,
    full: bool,
    state_dir: str | None = None,
) -> int:
    from ci_reviewer.globs import PathFilter
    from ci_reviewer.review.diff import select_reviewable

    config = run.config.review
    if not local and not base and not dry_run:
        return _github_review(
            run,
            pr_number,
            model=model,
            fail_on=fail_on or config.fail_on,
            max_turns=max_turns,
            full=full,
            output_format=output_format,
            output_file=output_file,
            state_dir=state_dir,
        )
    source = _load_source(run, local, base, pr_number)
    if source.not_open:
        message = f"the pull request is {source.not_open}: a review would skip it; nothing sent"
        diagnostic(f"ci-reviewer: {message}", run.redact)
        if output_format == "json":
            document = {"dry_run": True, "skipped": source.not_open, "files": []}
            emit(json.dumps(document, indent=2), run.redact, output_file)
        else:
            emit(message, run.redact, output_file)
        return 0
    if source.head_files is not None:
        diagnostic(f"ci-reviewer: {source.head_files.note}", run.redact)
    path_filter = PathFilter.build(config.include, config.exclude, config.skip_generated)
    source = select_reviewable(
        source,
        path_filter,
        run.workdir,
        skip_generated=config.skip_generated,
        policy=run.config.secret_policy,
    )
    for skipped in source.skipped:
        diagnostic(f"skipped {skipped.path}: {skipped.reason}", run.redact)
    if dry_run:
        from ci_reviewer.cli.review_dry_run import dry_run as dry_run_review

        return dry_run_review(
            run,
            source,
            model,
            output_format=output_format,
            output_file=output_file,
            requests_file=requests_file,
        )
    return _review(
        run,
        source,
        model=model,
        fail_on=fail_on or config.fail_on,
        max_turns=max_turns,
        output_format=output_format,
        output_file=output_file,
    )


def _load_source(run: Settings, local: bool, base: str | None, pr_number: int | None) -> Any:
    from ci_reviewer.review.diff import diff_from_git

    if local:
        if not base:
            raise UsageError("--local needs --base REF", hint="e.g. --local --base origin/main")
        return diff_from_git(run.workdir, base)
    if base:
        raise UsageError("--base is only used with --local")
    # Imported when used: PyGithub is not needed for a local review.
    from ci_reviewer.github.review_source import github_settings, pull_request_source

    if not github_settings(run.environ).token:
        from ci_reviewer.github.payload_source import OFFLINE_NOTE

        diagnostic(f"ci-reviewer: {OFFLINE_NOTE}", run.redact)

    return pull_request_source(
        run.environ, run.repo, pr_number, workdir=run.workdir, config_path=run.config_path
    )


def _review(
    run: Settings,
    source: Any,
    *,
    model: str,
    fail_on: str,
    max_turns: int | None,
    output_format: str,
    output_file: str | None,
) -> int:
    from ci_reviewer.review.engine import nothing_to_review, run_review
    from ci_reviewer.review.report import format_result, headline

    if not source.files:
        result = nothing_to_review(source, model=model, fail_on=fail_on)
        diagnostic(f"ci-reviewer: {headline(result)}", run.redact)
        emit(format_result(result, output_format), run.redact, output_file)
        return 0
    api_key = claude_api_key(run)
    with review_client(run, api_key) as client:
        result = run_review(
            client,
            source,
            run.config.review,
            model=model,
            workdir=run.workdir,
            fail_on=fail_on,
            max_turns=max_turns,
            policy=run.config.secret_policy,
        )
    for warning in result.warnings:
        diagnostic(f"warning: {warning}", run.redact)
    diagnostic(f"ci-reviewer: {headline(result)}", run.redact)
    emit(format_result(result, output_format), run.redact, output_file)
    if result.api_error:
        if run.config.review.on_api_error == "neutral":
            diagnostic(
                f"the Claude API failed; on_api_error: neutral, so exit 0: {result.api_error}",
                run.redact,
            )
            return 0
        raise ClaudeAPIError(result.api_error)
    return 1 if result.blocking else 0


def claude_api_key(run: Settings) -> str:
    """The run's Claude API key; a usage error (exit 2) saying how to set it when missing."""
    api_key = run.environ.get("ANTHROPIC_API_KEY") or run.environ.get("ANTHROPIC_AUTH_TOKEN")
    if not api_key:
        raise UsageError(
            "ANTHROPIC_API_KEY is not set",
            hint="export it (in Actions: env: ANTHROPIC_API_KEY: ${{ secrets.ANTHROPIC_API_KEY }})"
            ", or use --dry-run to see the requests without sending them",
        )
    return api_key


def _github_review(
    run: Settings,
    pr_number: int | None,
    *,
    model: str,
    fail_on: str,
    max_turns: int | None,
    full: bool,
    output_format: str,
    output_file: str | None,
    state_dir: str | None = None,
) -> int:
    """The review of a pull request on GitHub (`ci_reviewer.flows.review_pr`); this edge
    builds the clients and writes what the flow returns: workflow commands on stdout, then
    the formatted result; diagnostics on stderr; step outputs and the job summary."""
    from ci_reviewer.cli.review_withheld import no_review_without_secrets, withheld_secrets_of
    from ci_reviewer.flows.review_pr import FlowOptions, run_github_review
    from ci_reviewer.github.actions import ActionsEnv, append_summary, write_outputs
    from ci_reviewer.github.client import make_github
    from ci_reviewer.github.review_source import (
        config_file_in_checkout,
        github_settings,
        pull_request_ref,
    )
    from ci_reviewer.review.report import format_result, headline

    env = ActionsEnv.from_environ(run.environ)
    ref = pull_request_ref(env, run.repo, pr_number)
    withheld = withheld_secrets_of(run, env, ref)
    if withheld is not None:
        return no_review_without_secrets(run, env, withheld, output_format, output_file)
    config = run.config.review

    def reviewer(source: Any) -> Any:
        from ci_reviewer.review.engine import run_review

        api_key = claude_api_key(run)
        with review_client(run, api_key) as client:
            return run_review(
                client,
                source,
                config,
                model=model,
                workdir=run.workdir,
                fail_on=fail_on,
                max_turns=max_turns,
                policy=run.config.secret_policy,
            )

    options = FlowOptions(
        config,
        model,
        fail_on,
        run.workdir,
        full=full,
        config_file=config_file_in_checkout(run.config_path, run.workdir),
        policy=run.config.secret_policy,
        spend_state=_spend_state(config.month_spend, state_dir),
    )
    gh = make_github(github_settings(run.environ))
    loading = _load_sdk_meanwhile()
    try:
        outcome = run_github_review(gh, ref, options, reviewer, run.redact)
    finally:
        gh.close()
        loading.join()
    for command in outcome.commands:
        click.echo(run.redact(command))
    for line in outcome.diagnostics:
        diagnostic(f"ci-reviewer: {line}", run.redact)
    if outcome.result is not None:
        for warning in outcome.result.warnings:
            diagnostic(f"warning: {warning}", run.redact)
        diagnostic(f"ci-reviewer: {headline(outcome.result)}", run.redact)
        text = format_result(outcome.result, output_format)
        if output_format == "text" and outcome.outputs.get("review-url"):
            text += f"\nreview: {outcome.outputs['review-url']}"
        emit(text, run.redact, output_file)
    elif outcome.status:
        # Nothing was reviewed again (no new commit): still one answer in the asked format,
        # so `| jq` and a reader both get something.
        emit(_status_only(outcome, output_format), run.redact, output_file)
    write_outputs(env.output_file, {k: run.redact(v) for k, v in outcome.outputs.items()})
    if outcome.job_summary:
        append_summary(env.summary_file, outcome.job_summary)
    if outcome.error is not None:
        raise outcome.error
    return outcome.exit_code


def _spend_state(month_spend: bool, state_dir: str | None) -> Path | str | None:
    """Where the review adds its cost to the month's spend (`FlowOptions.spend_state`)."""
    if not month_spend:
        return None
    return Path(state_dir) if state_dir else "branch"


def _load_sdk_meanwhile() -> threading.Thread:
    """Import the anthropic SDK on a thread while the pull request is read: the import is most
    of the start-up, and reading mostly waits on GitHub. PyGithub is imported already, so the
    two imports share hardly a module; the engine's own import waits for this one."""

    def load() -> None:
        # A failed import is the review's to report, when it imports the SDK itself.
        with contextlib.suppress(Exception):
            import anthropic  # noqa: F401

    thread = threading.Thread(target=load, name="ci-reviewer-sdk-import", daemon=True)
    thread.start()
    return thread


def _status_only(outcome: FlowOutcome, output_format: str) -> str:
    """What a run that reviewed nothing prints: its status and the standing review."""
    url = outcome.outputs.get("review-url", "")
    if output_format in ("json", "sarif"):
        document = {
            "reviewed": False,
            "status": outcome.status,
            "findings_count": int(outcome.outputs.get("findings-count") or 0),
            "highest_severity": outcome.outputs.get("highest-severity", "none"),
            "review_url": url or None,
        }
        if output_format == "sarif":
            from ci_reviewer.sarif import to_sarif

            return json.dumps(to_sarif(()), indent=2)
        return json.dumps(document, indent=2)
    return outcome.status + (f"\nreview: {url}" if url else "")
