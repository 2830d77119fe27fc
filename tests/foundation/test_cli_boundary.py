"""The one place where outcomes become exit codes, and what the user reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded
from ci_reviewer.errors import (
    ClaudeAPIError,
    ConfigError,
    GitHubAPIError,
    InputError,
    Location,
    UsageError,
)

SECRET = "sk-ant-api03-VERYSECRETVALUE-1234567890"


def _raise(error: BaseException) -> object:
    raise error


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (UsageError("bad flag"), 2),
        (ConfigError("bad key", Location("c.yml", 3, 4)), 2),
        (InputError("no payload"), 2),
        (ClaudeAPIError("overloaded after 3 tries"), 3),
        (GitHubAPIError("502 after retries"), 3),
    ],
)
def test_errors_map_to_exit_codes(
    error: Exception, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_guarded(lambda: _raise(error)) == code
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("error: ")
    assert "Traceback" not in captured.err


def test_return_value_is_the_exit_code() -> None:
    assert run_guarded(lambda: 1) == 1
    assert run_guarded(lambda: None) == 0


def test_config_error_names_location_and_hint(capsys: pytest.CaptureFixture[str]) -> None:
    run_guarded(
        lambda: _raise(
            ConfigError("unknown key 'x'", Location("c.yml", 3, 4), hint="did you mean 'y'?")
        )
    )
    assert (
        capsys.readouterr().err == "error: c.yml:3:4: unknown key 'x'\n  hint: did you mean 'y'?\n"
    )


def test_bug_prints_traceback_and_report_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert run_guarded(lambda: _raise(ZeroDivisionError("boom"))) == 3
    err = capsys.readouterr().err
    assert "Traceback" in err and "ZeroDivisionError: boom" in err
    assert "Please report it" in err


def test_secrets_are_redacted_from_messages_and_tracebacks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_TOKENVALUE0123456789")
    run_guarded(lambda: _raise(InputError(f"bad key {SECRET} and ghs_TOKENVALUE0123456789")))
    run_guarded(lambda: _raise(RuntimeError(f"crash with {SECRET}")))
    err = capsys.readouterr().err
    assert SECRET not in err
    assert "ghs_TOKENVALUE0123456789" not in err
    assert err.count("***") >= 3


def test_help_does_not_import_the_sdks() -> None:
    code = (
        "import sys\n"
        "from ci_reviewer.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0, e.code\n"
        "loaded = [m for m in ('anthropic', 'github', 'httpx2', 'pydantic') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    last = done.stdout.strip().splitlines()[-1]
    assert "anthropic" not in last and "github" not in last
    assert "Usage: ci-reviewer" in done.stdout


def test_version_and_module_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ci_reviewer", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert done.stdout.startswith("ci-reviewer, version ")


def test_unknown_option_is_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ci_reviewer", "--bogus"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 2
    assert "No such option '--bogus'" in done.stderr
    assert done.stdout == ""


def test_in_actions_credentials_are_masked_before_any_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    monkeypatch.setenv("GITHUB_TOKEN", "ghs_TOKENVALUE0123456789")
    code = run_guarded(
        lambda: cli.main(
            ["--workdir", str(tmp_path), "sla", "--hours", "30"], standalone_mode=False
        )
    )
    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[:2] == [f"::add-mask::{SECRET}", "::add-mask::ghs_TOKENVALUE0123456789"]
    assert "0 */4 * * *" in "\n".join(lines[2:])


def test_outside_actions_nothing_is_announced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    run_guarded(
        lambda: cli.main(
            ["--workdir", str(tmp_path), "sla", "--hours", "30"], standalone_mode=False
        )
    )
    assert "::add-mask::" not in capsys.readouterr().out


def test_format_given_before_the_command_applies_to_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--workdir", str(tmp_path), "--format", "json", "sla", "--hours", "30"]
    assert run_guarded(lambda: cli.main(args, standalone_mode=False)) == 0
    assert '"cron": "0 */4 * * *"' in capsys.readouterr().out


def test_group_format_the_command_lacks_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--workdir", str(tmp_path), "--format", "sarif", "sla", "--hours", "30"]
    assert run_guarded(lambda: cli.main(args, standalone_mode=False)) == 2
    assert (
        "'sarif' is not a format of this command (choose from text, json)"
        in capsys.readouterr().err
    )
