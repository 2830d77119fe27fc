"""`ci-reviewer doctor`: the preflight of a real setup (`ci_reviewer.doctor`)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import click

from ci_reviewer.cli.context import (
    Settings,
    common_options,
    diagnostic,
    emit,
    format_option,
    output_option,
    review_client,
)
from ci_reviewer.cli.context import settings as resolve_settings


@click.command()
@common_options
@format_option("text", "markdown", "json")
@output_option
@click.pass_context
def doctor(ctx: click.Context, *, output_format: str, output_file: str | None) -> int:
    """Check keys, models, batch access, token permissions, repository settings, checkout
    depth, state branch and workflows before the first run (exit 0 ok, 2 problem, 3 API)."""
    from ci_reviewer.doctor.check import exit_code
    from ci_reviewer.doctor.render import as_json, as_markdown, as_text, summary_line
    from ci_reviewer.doctor.run import DoctorSetup, run_doctor
    from ci_reviewer.github.actions import append_summary

    run = resolve_settings(ctx)
    setup = DoctorSetup(
        run.config, run.workdir, run.repo, run.model, now=datetime.now(timezone.utc)
    )
    claude, gh = _claude(run), _github(run)
    try:
        checks = run_doctor(setup, claude, gh)
    finally:
        if claude is not None:
            claude.close()
        if gh is not None:
            gh.close()
    render = {"json": as_json, "markdown": as_markdown}.get(output_format, as_text)
    emit(render(checks), run.redact, output_file)
    append_summary(run.environ.get("GITHUB_STEP_SUMMARY"), run.redact(as_markdown(checks)))
    code = exit_code(checks)
    if code != 0:
        diagnostic(f"{summary_line(checks)}; exit {code}", run.redact)
    return code


def _claude(run: Settings) -> Any:
    api_key = run.environ.get("ANTHROPIC_API_KEY", "").strip()
    return review_client(run, api_key) if api_key else None


def _github(run: Settings) -> Any:
    from ci_reviewer.github.client import make_github
    from ci_reviewer.github.review_source import github_settings

    settings = github_settings(run.environ)
    return make_github(settings) if settings.token else None
