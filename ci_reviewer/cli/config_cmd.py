"""`ci-reviewer config ...`: look at the configuration."""

from __future__ import annotations

import json

import click
import yaml

from ci_reviewer.cli.context import (
    common_options,
    diagnostic,
    emit,
    format_option,
    output_option,
    settings,
)


@click.group()
def config() -> None:
    """Validate and show the configuration."""


@config.command("check")
@common_options
@format_option("yaml", "json", "text", default="yaml")
@output_option
@click.pass_context
def check(ctx: click.Context, output_format: str, output_file: str | None) -> int:
    """Validate the config and print the effective one (defaults filled in)."""
    run = settings(ctx)
    effective = run.config.model_dump(mode="json", exclude_none=True)
    if output_format == "json":
        text = json.dumps(effective, indent=2, sort_keys=True)
    else:
        text = yaml.safe_dump(effective, sort_keys=False).rstrip()
    source = run.config_path if run.config_path.exists() else "defaults (no config file)"
    diagnostic(f"config ok: {source}", run.redact)
    emit(text, run.redact, output_file)
    return 0
