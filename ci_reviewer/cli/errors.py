"""The one place where outcomes become exit codes and errors become messages."""

from __future__ import annotations

import os
import traceback
from collections.abc import Callable
from typing import Any

import click

from ci_reviewer.errors import EXIT_API, EXIT_OK, EXIT_USAGE, CIReviewerError
from ci_reviewer.secrets import Redactor

BUG_REPORT = (
    "This is a bug in ci-reviewer, not in your configuration. Please report it with the "
    "traceback above (it holds no secrets: they are masked)."
)


def run_guarded(invoke: Callable[[], Any]) -> int:  # noqa: PLR0911 - one return per outcome
    """Run the CLI and return its exit code: 0 ok, 1 blocking, 2 usage/input, 3 API/bug."""
    redact = Redactor.from_environment(os.environ)
    try:
        result = invoke()
    except CIReviewerError as error:
        _err(redact(f"error: {error}"))
        return error.exit_code
    except click.exceptions.Exit as done:
        return int(done.exit_code)
    except click.exceptions.Abort:
        _err("aborted")
        return 130
    except click.ClickException as error:
        _err(redact(_click_message(error)))
        return EXIT_USAGE
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except BrokenPipeError:
        # stdout closed early (`| head`): not an error of ours.
        return EXIT_OK
    except Exception:  # noqa: BLE001 - the last resort: any other exception is a bug
        _err(redact(traceback.format_exc()).rstrip())
        _err(BUG_REPORT)
        return EXIT_API
    if isinstance(result, int):
        return result
    return EXIT_OK


def _click_message(error: click.ClickException) -> str:
    """Click's own usage text plus its message, as click would print it."""
    if isinstance(error, click.UsageError) and error.ctx is not None:
        usage = error.ctx.get_usage()
        hint = f"Try '{error.ctx.command_path} {error.ctx.help_option_names[0]}' for help."
        return f"{usage}\n{hint}\n\nerror: {error.format_message()}"
    return f"error: {error.format_message()}"


def _err(text: str) -> None:
    click.echo(text, err=True)
