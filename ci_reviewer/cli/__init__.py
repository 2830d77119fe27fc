"""The `ci-reviewer` command line: the group, lazy subcommands and the one error boundary.

Subcommands live one per module under `ci_reviewer.cli` and are imported only when run (or
listed by `--help`), so `ci-reviewer --help` never imports the anthropic or github SDKs:
command modules import those inside their functions.
"""

from __future__ import annotations

import gc
import importlib
import sys
from typing import Any

import click

from ci_reviewer import __version__
from ci_reviewer.cli.errors import run_guarded

# name -> "module:attribute"; a command's module is imported only when it is needed.
COMMANDS: dict[str, str] = {
    "review": "ci_reviewer.cli.review:review",
    "answer": "ci_reviewer.cli.answer:answer",
    "batch": "ci_reviewer.cli.batch:batch",
    "plan": "ci_reviewer.cli.plan:plan",
    "sla": "ci_reviewer.cli.sla:sla",
    "config": "ci_reviewer.cli.config_cmd:config",
    "init": "ci_reviewer.cli.init:init",
    "emulate": "ci_reviewer.cli.emulate:emulate",
    "doctor": "ci_reviewer.cli.doctor:doctor",
    "eval": "ci_reviewer.cli.eval:eval_command",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(name for name in COMMANDS if self._load(name) is not None)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        return self._load(cmd_name)

    @staticmethod
    def _load(name: str) -> click.Command | None:
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as error:
            if error.name == module_name:
                return None  # a command not built yet is simply not offered
            raise
        command: click.Command = getattr(module, attribute)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ci-reviewer")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Config file (default .github/ci-reviewer.yml in the workdir; absent = defaults).",
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    default=None,
    help="The checkout (default $GITHUB_WORKSPACE or the current directory).",
)
@click.option("--repo", default=None, help="OWNER/NAME (default $GITHUB_REPOSITORY).")
@click.option("--model", default=None, help="Model id, overriding the config.")
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["text", "markdown", "json", "sarif", "yaml"]),
    default=None,
    help="Output format for the command (each command offers its own subset).",
)
@click.pass_context
def cli(
    ctx: click.Context,
    *,
    config_path: str | None,
    workdir: str | None,
    repo: str | None,
    model: str | None,
    output_format: str | None,
) -> None:
    """Put Claude into CI: blocking pre-merge review (synchronous Messages API, multi-turn
    tool calling) and cheap scheduled work (Message Batches API, half price)."""
    import os

    from ci_reviewer.cli.context import Globals, mask_secrets_in_actions

    mask_secrets_in_actions(os.environ)
    ctx.obj = Globals.from_options(config_path, workdir, repo, model, output_format)


def main(argv: list[str] | None = None) -> Any:
    """Console-script entry point: run the group and map every outcome to an exit code."""
    code = run_guarded(lambda: cli.main(args=argv, prog_name="ci-reviewer", standalone_mode=False))
    if argv is None:
        # The process's own command line (console script, `python -m`): the process ends
        # here, and what is left dies with it, so the collections at exit need not walk the
        # SDKs' objects (seconds on a busy runner). Exit handlers still run, output is flushed.
        gc.freeze()
    sys.exit(code)
