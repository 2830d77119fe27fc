"""The record every check returns, and how a run's checks become its exit code."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ci_reviewer.errors import EXIT_API, EXIT_OK, EXIT_USAGE

# ok: passes; warning: passes, with something to know; problem: the scheduled run would
# fail (exit 2); unreachable: an API could not be asked, after retries (exit 3).
Status = Literal["ok", "warning", "problem", "unreachable"]
STATUSES: tuple[Status, ...] = ("ok", "warning", "problem", "unreachable")


@dataclass(frozen=True)
class Check:
    """One check's verdict: what was checked, what was found, and how to fix it."""

    name: str
    status: Status
    detail: str
    fix: str = ""

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status, "detail": self.detail, "fix": self.fix}


def ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def warning(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "warning", detail, fix)


def problem(name: str, detail: str, fix: str) -> Check:
    return Check(name, "problem", detail, fix)


def unreachable(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, "unreachable", detail, fix or "run doctor again once the API answers")


def exit_code(checks: Iterable[Check]) -> int:
    """3 when an API could not be reached (the other verdicts may be incomplete), else 2
    when a problem was found, else 0."""
    found = {check.status for check in checks}
    if "unreachable" in found:
        return EXIT_API
    if "problem" in found:
        return EXIT_USAGE
    return EXIT_OK
