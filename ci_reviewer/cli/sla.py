"""`ci-reviewer sla`: the batch submission cadence for an SLA."""

from __future__ import annotations

import click

from ci_reviewer.cli.context import emit, format_option, output_option, settings
from ci_reviewer.planning.render import as_json, sla_text
from ci_reviewer.planning.sla import (
    BATCH_PROCESSING_HOURS,
    DEFAULT_MARGIN_HOURS,
    DEFAULT_POLL_HOURS,
    SlaTerms,
    plan_submissions,
)

_HOURS = click.FloatRange(min=0)


# No --config, --workdir, --repo or --model: the cadence depends on the SLA terms alone, and
# an option the command would ignore must not be offered.
@click.command()
@click.option("--hours", "sla_hours", type=float, required=True, help="The SLA in hours.")
@click.option(
    "--poll-hours",
    type=_HOURS,
    default=DEFAULT_POLL_HOURS,
    show_default=True,
    help="How often pending batches are collected.",
)
@click.option(
    "--margin-hours",
    type=_HOURS,
    default=DEFAULT_MARGIN_HOURS,
    show_default=True,
    help="Safety margin kept out of the schedule (runner queues, retries).",
)
@click.option(
    "--processing-hours",
    type=_HOURS,
    default=BATCH_PROCESSING_HOURS,
    show_default=True,
    help="The longest a batch may take before it expires.",
)
@format_option("text", "json")
@output_option
@click.pass_context
def sla(
    ctx: click.Context,
    *,
    sla_hours: float,
    poll_hours: float,
    margin_hours: float,
    processing_hours: float,
    output_format: str,
    output_file: str | None,
) -> int:
    """Submission interval and cron for a batch job that must land within --hours."""
    run = settings(ctx, load=False)
    plan = plan_submissions(SlaTerms(sla_hours, poll_hours, margin_hours, processing_hours))
    text = as_json(plan.as_json()) if output_format == "json" else sla_text(plan)
    emit(text, run.redact, output_file)
    return 0
