"""`ci-reviewer init`: write a commented config and example workflows into a repository."""

from __future__ import annotations

import click

from ci_reviewer.cli.context import common_options, diagnostic, emit, settings
from ci_reviewer.planning.scaffold import cadence_note, scaffold, write_scaffold


@click.command()
@common_options
@click.option(
    "--sla-hours",
    type=float,
    default=30,
    show_default=True,
    help="SLA of the nightly test-generation job; its schedule is derived from it.",
)
@click.pass_context
def init(ctx: click.Context, sla_hours: float) -> int:
    """Write a commented config and the example workflows; never overwrite a file."""
    run = settings(ctx, load=False)
    written = write_scaffold(run.workdir, scaffold(sla_hours))
    emit("\n".join(written), run.redact)
    diagnostic(cadence_note(sla_hours), run.redact)
    diagnostic("next: set the ANTHROPIC_API_KEY secret, then run `ci-reviewer plan`", run.redact)
    return 0
