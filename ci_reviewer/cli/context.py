"""What every command shares: the common options (accepted before or after the command
name), the resolved workdir and config, the environment, and writing the result."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import click

from ci_reviewer.config import DEFAULT_CONFIG_PATH, Config, load_config
from ci_reviewer.errors import InputError
from ci_reviewer.secrets import Redactor

F = TypeVar("F", bound=Callable[..., Any])
_META = "ci_reviewer.options"


@dataclass(frozen=True)
class Globals:
    """Options given to the group, before the command name."""

    config_path: str | None = None
    workdir: str | None = None
    repo: str | None = None
    model: str | None = None
    output_format: str | None = None

    @classmethod
    def from_options(
        cls,
        config_path: str | None,
        workdir: str | None,
        repo: str | None,
        model: str | None,
        output_format: str | None = None,
    ) -> Globals:
        return cls(config_path, workdir, repo, model, output_format)


@dataclass(frozen=True)
class Settings:
    """The resolved common settings of one command run."""

    workdir: Path
    config_path: Path
    # True when --config named the file (then it must exist); False for the default path.
    config_explicit: bool
    config: Config
    repo: str | None
    model: str | None
    environ: Mapping[str, str]
    redact: Redactor


def _store(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    if value is not None and param.name:
        ctx.meta.setdefault(_META, {})[param.name] = value
    return value


def common_options(func: F) -> F:
    """Add --config, --workdir, --repo and --model to a subcommand."""
    options = [
        click.option(
            "--config",
            "config_path",
            type=click.Path(dir_okay=False),
            expose_value=False,
            callback=_store,
            help=f"Config file (default {DEFAULT_CONFIG_PATH} in the workdir).",
        ),
        click.option(
            "--workdir",
            type=click.Path(file_okay=False),
            expose_value=False,
            callback=_store,
            help="The checkout (default $GITHUB_WORKSPACE or .).",
        ),
        click.option(
            "--repo",
            expose_value=False,
            callback=_store,
            help="OWNER/NAME (default $GITHUB_REPOSITORY).",
        ),
        click.option(
            "--model", expose_value=False, callback=_store, help="Model id, overriding the config."
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def format_option(*choices: str, default: str = "text") -> Callable[[F], F]:
    """`--format` of a command; without it, the group's `--format` (given before the command
    name) applies when this command offers that format, else the command's default."""

    def resolve(ctx: click.Context, param: click.Parameter, value: str | None) -> str:
        if value is not None:
            return value
        group = ctx.find_object(Globals)
        chosen = group.output_format if group is not None else None
        if chosen is None:
            return default
        if chosen not in choices:
            raise click.BadParameter(
                f"{chosen!r} is not a format of this command (choose from {', '.join(choices)})",
                ctx=ctx,
                param_hint="--format",
            )
        return chosen

    return click.option(
        "--format",
        "output_format",
        type=click.Choice(choices),
        default=None,
        callback=resolve,
        help=f"Output format on stdout (default {default}).",
    )


def output_option(func: F) -> F:
    return click.option(
        "--output",
        "output_file",
        type=click.Path(dir_okay=False),
        default=None,
        help="Also write the formatted result to this file.",
    )(func)


def settings(ctx: click.Context, *, load: bool = True) -> Settings:
    """Merge group and command options with the environment; load the config."""
    environ = os.environ
    group = ctx.find_object(Globals) or Globals()
    local = ctx.meta.get(_META, {})
    workdir_text = local.get("workdir") or group.workdir or environ.get("GITHUB_WORKSPACE") or "."
    workdir = Path(workdir_text)
    if not workdir.is_dir():
        raise InputError(
            f"workdir {workdir_text} is not a directory",
            hint="pass --workdir with the path of your checkout",
        )
    explicit = local.get("config_path") or group.config_path
    config_path = Path(explicit) if explicit else workdir / DEFAULT_CONFIG_PATH
    config = load_config(config_path, required=bool(explicit)) if load else Config()
    return Settings(
        workdir=workdir,
        config_path=config_path,
        config_explicit=bool(explicit),
        config=config,
        repo=local.get("repo") or group.repo or environ.get("GITHUB_REPOSITORY") or None,
        model=local.get("model") or group.model,
        environ=environ,
        redact=Redactor.from_environment(environ),
    )


def emit(text: str, redact: Redactor, output_file: str | None = None) -> None:
    """Write the formatted result to stdout (and to --output), secrets masked."""
    safe = redact(text)
    click.echo(safe)
    if output_file:
        try:
            Path(output_file).write_text(
                safe if safe.endswith("\n") else safe + "\n", encoding="utf-8"
            )
        except OSError as error:
            raise InputError(f"cannot write --output {output_file}: {error.strerror}") from None


def mask_secrets_in_actions(environ: Mapping[str, str]) -> None:
    """In GitHub Actions, tell the runner to mask every credential of this run in the log
    (`::add-mask::`), before anything else is printed; the runner consumes these lines."""
    from ci_reviewer.github.actions import add_mask
    from ci_reviewer.secrets import SECRET_VARIABLES

    if environ.get("GITHUB_ACTIONS") != "true":
        return
    for name in SECRET_VARIABLES:
        value = environ.get(name, "").strip()
        if value:
            click.echo(add_mask(value))


def diagnostic(text: str, redact: Redactor) -> None:
    """A line for the human on stderr."""
    click.echo(redact(text), err=True)


def review_client(run: Settings, api_key: str) -> Any:
    """The Anthropic client with the review config's timeout and retry budget, for the
    synchronous commands (review, answer, eval, doctor). The SDK is imported here, only when
    a client is made: it takes longer to import than a small run takes."""
    from ci_reviewer.claude import build_client, tracing_requested

    config = run.config.review
    return build_client(
        api_key,
        run.environ.get("ANTHROPIC_BASE_URL") or None,
        max_retries=config.max_retries,
        timeout=config.timeout_seconds,
        tracing=tracing_requested(run.environ),
    )
