"""Every way a command can end, as the user sees it: the exit code (0 ok, 1 blocking, 2 the
user's mistake, 3 an API fault or a bug, 130 interrupted) and the exact text on stderr; and an
error raised in a worker process reaches the user whole (message, hint, where, exit code)."""

from __future__ import annotations

import pickle

import click
import pytest

from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.errors import (
    APIError,
    CIReviewerError,
    ConfigError,
    GitHubAPIError,
    InputError,
    Location,
    UnknownModelError,
    UsageError,
    exit_code_for,
)


def _raise(error: BaseException) -> object:
    raise error


@click.command()
@click.option("--count", type=int)
def tool(count: int | None) -> None:
    """A command of click's, to see click's own usage errors pass through."""


def _outcome(invoke: object, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run_guarded(invoke)  # type: ignore[arg-type]
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_an_error_with_a_hint_prints_both(capsys: pytest.CaptureFixture[str]) -> None:
    error = InputError("no event payload", hint="run inside GitHub Actions")

    assert _outcome(lambda: _raise(error), capsys) == (
        2,
        "",
        "error: no event payload\n  hint: run inside GitHub Actions\n",
    )


def test_an_error_without_a_hint_prints_its_message_only(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _outcome(lambda: _raise(GitHubAPIError("502 after 3 tries")), capsys) == (
        3,
        "",
        "error: 502 after 3 tries\n",
    )


def test_a_usage_mistake_click_finds_prints_clicks_usage_and_help_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    invoke = lambda: tool.main(["--count", "many"], prog_name="tool", standalone_mode=False)  # noqa: E731

    assert _outcome(invoke, capsys) == (
        2,
        "",
        "Usage: tool [OPTIONS]\nTry 'tool --help' for help.\n\n"
        "error: Invalid value for '--count': 'many' is not a valid integer.\n",
    )


def test_a_click_error_outside_a_command_prints_its_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _outcome(lambda: _raise(click.ClickException("cannot open x")), capsys) == (
        2,
        "",
        "error: cannot open x\n",
    )


def test_help_ends_with_its_own_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _outcome(
        lambda: tool.main(["--help"], prog_name="tool", standalone_mode=False), capsys
    )

    assert (code, err) == (0, "")
    assert out.startswith("Usage: tool [OPTIONS]\n")
    assert _outcome(lambda: _raise(click.exceptions.Exit(4)), capsys) == (4, "", "")


@pytest.mark.parametrize(
    ("interruption", "said"), [(KeyboardInterrupt(), "interrupted"), (click.Abort(), "aborted")]
)
def test_an_interrupted_run_exits_130_with_one_word(
    interruption: BaseException, said: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _outcome(lambda: _raise(interruption), capsys) == (130, "", f"{said}\n")


def test_output_cut_short_by_the_reader_is_not_an_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # `ci-reviewer plan | head -1`: the pipe closes before the output ends.
    assert _outcome(lambda: _raise(BrokenPipeError()), capsys) == (0, "", "")


def test_a_bug_ends_with_the_report_request_as_its_last_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _outcome(lambda: _raise(KeyError("missing")), capsys)

    assert (code, out) == (3, "")
    lines = err.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[-2] == "KeyError: 'missing'"
    assert lines[-1] == (
        "This is a bug in ci-reviewer, not in your configuration. Please report it with the "
        "traceback above (it holds no secrets: they are masked)."
    )


def test_a_command_returns_its_exit_code() -> None:
    assert run_guarded(lambda: 1) == 1
    assert run_guarded(lambda: 0) == 0
    assert run_guarded(lambda: "done") == 0


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (CIReviewerError("x"), 2),
        (UsageError("x"), 2),
        (UnknownModelError("claude-x", "x"), 2),
        (APIError("x"), 3),
        (GitHubAPIError("x"), 3),
        (ValueError("x"), 2),  # not one of ours: a bug, never a success
    ],
)
def test_exit_code_for_each_error(error: BaseException, code: int) -> None:
    assert exit_code_for(error) == code


@pytest.mark.parametrize(
    ("location", "text"),
    [
        (Location("ci.yml"), "ci.yml"),
        (Location("ci.yml", 3), "ci.yml:3"),
        (Location("ci.yml", 3, 7), "ci.yml:3:7"),
        (Location("ci.yml", None, 7), "ci.yml"),  # a column without a line says nothing
    ],
)
def test_a_location_reads_file_line_column(location: Location, text: str) -> None:
    assert str(location) == text


def test_a_config_error_starts_with_where_it_is() -> None:
    error = ConfigError("unknown key 'x'", Location("ci.yml", 3, 7), hint="did you mean 'y'?")

    assert str(error) == "ci.yml:3:7: unknown key 'x'\n  hint: did you mean 'y'?"
    assert str(ConfigError("no jobs")) == "no jobs"


# Built inside the test, not at collection: the error's own construction is under test.
WORKER_ERRORS = {
    "input": lambda: InputError("bad path", hint="give a relative path"),
    "github": lambda: GitHubAPIError("502 after 3 tries"),
    "config": lambda: ConfigError(
        "unknown key 'x'", Location("ci.yml", 3, 7), hint="did you mean 'y'?"
    ),
    "model": lambda: UnknownModelError(
        "claude-x", "the API does not serve claude-x", hint="change model"
    ),
}


@pytest.mark.parametrize("kind", WORKER_ERRORS)
def test_an_error_from_a_worker_process_arrives_whole(kind: str) -> None:
    error: CIReviewerError = WORKER_ERRORS[kind]()
    # A batch fan-out worker's error is pickled back to the process that reports it.
    arrived = pickle.loads(pickle.dumps(error))

    assert type(arrived) is type(error)
    assert str(arrived) == str(error)
    assert (arrived.message, arrived.hint) == (error.message, error.hint)
    assert arrived.args == error.args == (error.message,)
    assert exit_code_for(arrived) == exit_code_for(error)
    assert vars(arrived) == vars(error)  # the location of a config error, the model id


def test_an_unknown_model_keeps_the_id_sent_and_the_words_to_show() -> None:
    error = UnknownModelError("claude-x", "the API does not serve claude-x", hint="change model")

    assert (error.model, error.message, error.hint) == (
        "claude-x",
        "the API does not serve claude-x",
        "change model",
    )
    assert error.args == ("the API does not serve claude-x",)
    assert str(error) == "the API does not serve claude-x\n  hint: change model"


def test_a_config_error_keeps_where_it_is() -> None:
    where = Location("ci.yml", 3, 7)

    assert ConfigError("unknown key 'x'", where).location == where
    assert ConfigError("unknown key 'x'").args == ("unknown key 'x'",)
