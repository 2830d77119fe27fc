"""Which BatchJobKind serves a configured `kind`."""

from __future__ import annotations

from pathlib import Path

from ci_reviewer.batch.jobs.base import BatchJobKind
from ci_reviewer.batch.jobs.report import ReportKind
from ci_reviewer.errors import UsageError


def kind_for(kind: str, output_dir: Path) -> BatchJobKind:
    """The kind plug-in; `output_dir` is where file-publishing kinds write."""
    if kind == "report":
        return ReportKind(output_dir)
    raise UsageError(
        f"job kind {kind!r} cannot be run by this version of ci-reviewer's batch pipeline",
        hint="use kind: report, or upgrade ci-reviewer",
    )
