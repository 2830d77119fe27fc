"""The doctor's checks as text (a terminal), Markdown (the job summary) or JSON."""

from __future__ import annotations

import json
from collections.abc import Sequence

from ci_reviewer.doctor.check import STATUSES, Check, exit_code

_TEXT_LABEL = {"ok": "ok", "warning": "warning", "problem": "PROBLEM", "unreachable": "UNREACHABLE"}
_MARK = {"ok": "✅", "warning": "⚠️", "problem": "❌", "unreachable": "🔌"}


def summary_line(checks: Sequence[Check]) -> str:
    counts = {status: sum(c.status == status for c in checks) for status in STATUSES}
    said = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    return f"ci-reviewer doctor: {said or 'nothing to check'}"


def as_text(checks: Sequence[Check]) -> str:
    lines = [summary_line(checks)]
    for check in checks:
        lines.append(f"  {_TEXT_LABEL[check.status]:<11} {check.name}: {check.detail}")
        if check.fix and check.status != "ok":
            lines.append(f"  {'':<11} fix: {check.fix}")
    return "\n".join(lines)


def as_markdown(checks: Sequence[Check]) -> str:
    lines = [
        "## ci-reviewer doctor",
        "",
        summary_line(checks).removeprefix("ci-reviewer doctor: ").capitalize() + ".",
        "",
        "| | check | found | fix |",
        "|---|---|---|---|",
    ]
    for check in checks:
        cells = [check.name, check.detail, check.fix if check.status != "ok" else ""]
        lines.append(f"| {_MARK[check.status]} | " + " | ".join(map(_cell, cells)) + " |")
    return "\n".join(lines)


def as_json(checks: Sequence[Check]) -> str:
    document = {
        "exit_code": exit_code(checks),
        "summary": {status: sum(c.status == status for c in checks) for status in STATUSES},
        "checks": [check.as_json() for check in checks],
    }
    return json.dumps(document, indent=2)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
