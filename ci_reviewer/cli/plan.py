"""`ci-reviewer plan`: which API fits each workflow step, SLA cadence, cost, anti-patterns."""

from __future__ import annotations

from datetime import datetime, timezone

import click

from ci_reviewer.cli.context import (
    common_options,
    diagnostic,
    emit,
    format_option,
    output_option,
    settings,
)
from ci_reviewer.config import DEFAULT_CONFIG_PATH
from ci_reviewer.git import ensure_checkout
from ci_reviewer.planning.checkout import read_checkout
from ci_reviewer.planning.plan import PlanOptions, build_plan
from ci_reviewer.planning.render import as_json, plan_json, plan_text
from ci_reviewer.planning.sla import DEFAULT_MARGIN_HOURS, DEFAULT_POLL_HOURS
from ci_reviewer.planning.workflows import DEFAULT_PROTECTED_BRANCHES


@click.command()
@common_options
@click.option(
    "--protected-branch",
    "protected",
    multiple=True,
    default=DEFAULT_PROTECTED_BRANCHES,
    show_default=True,
    help="A branch whose pushes someone waits on (repeatable).",
)
@click.option(
    "--poll-hours",
    type=click.FloatRange(min=0),
    default=DEFAULT_POLL_HOURS,
    show_default=True,
    help="How often pending batches are collected.",
)
@click.option(
    "--margin-hours",
    type=click.FloatRange(min=0),
    default=DEFAULT_MARGIN_HOURS,
    show_default=True,
    help="Safety margin kept out of every SLA.",
)
@format_option("text", "json")
@output_option
@click.pass_context
def plan(
    ctx: click.Context,
    *,
    protected: tuple[str, ...],
    poll_hours: float,
    margin_hours: float,
    output_format: str,
    output_file: str | None,
) -> int:
    """Match every workflow step to the API that fits it; flag anti-patterns (exit 2 on errors)."""
    run = settings(ctx, load=False)
    # The workflows, the config and the history it prices are the checkout's: elsewhere it
    # would find nothing and call that a clean plan.
    ensure_checkout(run.workdir)
    explicit = run.config_path != run.workdir / DEFAULT_CONFIG_PATH
    repository, early = read_checkout(
        run.workdir, run.config_path, required=explicit, now=datetime.now(timezone.utc)
    )
    result = build_plan(repository, PlanOptions(tuple(protected), poll_hours, margin_hours), early)
    text = as_json(plan_json(result)) if output_format == "json" else plan_text(result)
    emit(text, run.redact, output_file)
    if result.has_errors:
        diagnostic("plan found error-level problems (see above); exit 2", run.redact)
        return 2
    return 0
