from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from ci_reviewer.cli import cli
from ci_reviewer.cli.errors import run_guarded


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@pytest.fixture
def run_cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., Outcome]:
    """Run `ci-reviewer ARGS...` in-process through the real error boundary."""

    def run(*args: str) -> Outcome:
        capsys.readouterr()
        code = run_guarded(lambda: cli.main(args=list(args), standalone_mode=False))
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return run
