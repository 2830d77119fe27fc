"""`ci-reviewer review` with a model the API does not serve, or a max_tokens above the model's
limit: exit 2 naming the setting to change (config file:line, or --model), with the models
to choose from or the model's limit; refused before sending when the model table knows.

The expected figures are the model table's documented ones (Claude Haiku 4.5: 64K output
tokens) and the API's documented 404 (`model: <id>`).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ci_reviewer.emulators.claude import ClaudeEmulator
from tests.review.conftest import CALC_BASE, CALC_HEAD, RepoFactory
from tests.review.test_local_cli import env, run_cli

__all__ = ["env"]  # the fixture, imported for its use below


def _configure(repo: Path, text: str) -> Path:
    (repo / ".github").mkdir(exist_ok=True)
    path = repo / ".github" / "ci-reviewer.yml"
    path.write_text(text)
    return path


def _review(repo: Path, *extra: str) -> int:
    return run_cli("review", "--local", "--base", "main", "--workdir", str(repo), *extra)


def test_an_unknown_model_in_the_config_is_exit_2_at_its_line(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    config = _configure(repo, "# ours\nmodel: claude-sonet-5-5\nreview:\n  on_api_error: neutral\n")

    assert _review(repo) == 2  # not 3, and not swallowed by on_api_error: neutral

    err = capsys.readouterr().err
    assert f"error: {config}:2:1: model: the Claude API does not serve the model" in err
    assert "404 not_found_error: model: claude-sonet-5-5" in err
    assert "hint: set `model` to one of: claude-fable-5-2, " in err
    assert "claude-sonnet-5-5" in err and "claude-mythos-preview" not in err  # retired
    assert "bug in ci-reviewer" not in err
    assert [call.status for call in env.requests] == [404]  # the other files did not ask


def test_an_unknown_model_option_names_the_option(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)

    assert _review(repo, "--model", "claude-opus-6") == 2

    err = capsys.readouterr().err
    assert "error: --model claude-opus-6: the Claude API does not serve the model" in err
    assert "hint: pass --model with one of: claude-fable-5-2, " in err


def test_a_retired_model_is_refused_before_sending(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    config = _configure(repo, "review:\n  model: claude-mythos-preview\n")

    assert _review(repo) == 2

    err = capsys.readouterr().err
    assert f"{config}:2:3: review.model: the model claude-mythos-preview is retired" in err
    assert env.requests == []


def test_max_tokens_above_the_models_limit_is_refused_before_sending(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    config = _configure(repo, "model: claude-haiku-4-5\nreview:\n  max_tokens: 100000\n")

    assert _review(repo) == 2

    err = capsys.readouterr().err
    assert (
        "review.max_tokens is 100000, above the 64000 output tokens claude-haiku-4-5 allows" in err
    )
    assert f"`review.max_tokens` at {config}:3:3" in err
    assert f"the model by `model` at {config}:1:1" in err
    assert "hint: lower `review.max_tokens` to at most 64000" in err
    assert env.requests == []


def test_the_default_max_tokens_fits_and_a_dry_run_is_refused_too(
    env: ClaudeEmulator, make_repo: RepoFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = make_repo(CALC_BASE, CALC_HEAD)
    _configure(repo, "review:\n  max_tokens: 70000\n")

    assert _review(repo, "--dry-run", "--model", "claude-sonnet-4-5") == 2
    err = capsys.readouterr().err
    assert "review.max_tokens is 70000, above the 64000 output tokens" in err
    assert "the model by the --model option" in err
    assert _review(repo, "--dry-run", "--model", "claude-sonnet-5-5") == 0
