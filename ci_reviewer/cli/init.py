"""`ci-reviewer init`: write a commented config and example workflows into a repository."""

from __future__ import annotations

import click

from ci_reviewer.cli.context import common_options, diagnostic, emit, settings
from ci_reviewer.planning.action_ref import action_uses, pin_note
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
@click.option(
    "--action-ref",
    metavar="OWNER/REPO@SHA",
    default=None,
    help="The action the workflows run (a commit SHA, or only the SHA of "
    "claude-ci-reviewer/claude-ci-reviewer); default: a placeholder to replace.",
)
@click.pass_context
def init(ctx: click.Context, sla_hours: float, action_ref: str | None) -> int:
    """Write a commented config and the example workflows; never overwrite a file."""
    from ci_reviewer.git import run_git

    run = settings(ctx, load=False)
    uses = action_uses(action_ref)
    if run_git(run.workdir, ["rev-parse", "--git-dir"], check=False).returncode != 0:
        # Still written (a repository may be made here next), but the user should know that
        # workflows outside a repository's .github/ never run.
        diagnostic(
            f"warning: {run.workdir} is not a git repository: the workflows run only once "
            "these files are committed to your GitHub repository",
            run.redact,
        )
    written = write_scaffold(run.workdir, scaffold(sla_hours, uses))
    emit("\n".join(written), run.redact)
    diagnostic(cadence_note(sla_hours), run.redact)
    note = pin_note(uses)
    if note is not None:
        diagnostic(f"note: {note}", run.redact)
    diagnostic("next: set the ANTHROPIC_API_KEY secret, then run `ci-reviewer plan`", run.redact)
    return 0
