"""The review result as the user reads it: text (terminal), Markdown (job summary, PR
comment), JSON (machines) and SARIF (code scanning)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from ci_reviewer.review.findings import Finding
from ci_reviewer.sarif import to_sarif

if TYPE_CHECKING:
    from ci_reviewer.review.engine import ReviewResult

NOTHING_TO_REVIEW = "nothing to review: no changed file is in scope"
_ICONS = {"critical": "🔴", "high": "🟠", "medium": "🟡", "low": "🔵", "info": "⚪"}


def format_result(result: ReviewResult, output_format: str) -> str:
    if output_format == "json":
        return json.dumps(result.to_json(), indent=2, ensure_ascii=False)
    if output_format == "sarif":
        return json.dumps(to_sarif(result.findings), indent=2, ensure_ascii=False)
    if output_format == "markdown":
        return format_markdown(result)
    return format_text(result)


def headline(result: ReviewResult) -> str:
    if result.nothing_to_review:
        return f"{NOTHING_TO_REVIEW} ({len(result.skipped)} skipped)"
    count = len(result.findings)
    text = f"{count} finding{'s' if count != 1 else ''} in {len(result.files)} file"
    text += "s" if len(result.files) != 1 else ""
    if result.highest_severity:
        text += f" (highest: {result.highest_severity})"
    unreviewed = sum(review.status != "reviewed" for review in result.files)
    if unreviewed:
        # "0 findings in 3000 files" must not read as a clean bill when 2999 were not read.
        budgets = ", ".join(result.budgets_exhausted)
        text += f"; {unreviewed} not reviewed" + (f" ({budgets} reached)" if budgets else "")
    if result.blocking:
        text += f"; blocking at fail-on {result.fail_on}"
    return text


def usage_line(result: ReviewResult) -> str:
    usage = result.usage.usage
    cost = "unknown" if result.cost_usd is None else f"${result.cost_usd:.4f}"
    return (
        f"{result.usage.calls} API calls; tokens: input {usage.input_tokens}, output "
        f"{usage.output_tokens}, cache write {usage.cache_creation_input_tokens}, cache read "
        f"{usage.cache_read_input_tokens}; cost {cost}; {result.duration_s:.1f} s"
    )


def _unreviewed(result: ReviewResult) -> list[str]:
    return [
        f"{review.path}: {review.status} ({review.reason})"
        for review in result.files
        if review.status != "reviewed" or review.reason
    ]


def format_text(result: ReviewResult) -> str:
    lines = [f"ci-reviewer: {headline(result)}"]
    for finding in result.findings:
        lines += ["", _text_finding(finding)]
    if result.dropped:
        lines += [
            "",
            f"Dropped, the code they quote not being in the file ({len(result.dropped)}):",
        ]
        lines += [
            f"  {d.finding.path}:{d.finding.line} {d.finding.title}: {d.reason}"
            for d in result.dropped
        ]
    notes = _unreviewed(result)
    if notes:
        lines += ["", "Not fully reviewed:", *(f"  {note}" for note in notes)]
    if result.skipped:
        lines += ["", "Skipped:", *(f"  {s.path}: {s.reason}" for s in result.skipped)]
    if result.budgets_exhausted:
        lines += ["", f"Budgets reached: {', '.join(result.budgets_exhausted)}"]
    if result.files:
        lines += ["", f"Usage: {usage_line(result)}"]
    return "\n".join(lines)


def _text_finding(finding: Finding) -> str:
    where = f"{finding.path}:{finding.line}"
    if finding.end_line:
        where += f"-{finding.end_line}"
    out = [f"[{finding.severity.upper()}] {where} {finding.category}: {finding.title}"]
    # The code it quotes, found there (grounded): what the reader checks the finding against.
    out += [f"    > {line}" for line in finding.excerpt.splitlines()]
    out += [f"    {line}" for line in finding.body.splitlines()]
    if finding.suggestion is not None:
        out.append("    suggested replacement:")
        out += [f"      {line}" for line in finding.suggestion.splitlines()]
    return "\n".join(out)


def format_markdown(result: ReviewResult) -> str:
    lines = ["## ci-reviewer", "", f"**{headline(result)}**"]
    if result.findings:
        lines += ["", "| severity | location | finding |", "|---|---|---|"]
        for finding in result.findings:
            icon = _ICONS.get(finding.severity, "")
            title = finding.title.replace("|", "\\|")
            lines.append(
                f"| {icon} {finding.severity} | `{finding.path}:{finding.line}` | {title} |"
            )
        for finding in result.findings:
            lines += ["", f"### `{finding.path}:{finding.line}` {finding.title}", finding.body]
            if finding.suggestion is not None:
                lines += ["", "```suggestion", finding.suggestion, "```"]
    notes = _unreviewed(result)
    if notes:
        lines += ["", "**Not fully reviewed**", *(f"- {note}" for note in notes)]
    if result.skipped:
        lines += ["", "<details><summary>Skipped files</summary>", ""]
        lines += [f"- `{s.path}`: {s.reason}" for s in result.skipped]
        lines += ["", "</details>"]
    if result.files:
        lines += ["", f"<sub>{result.model}: {usage_line(result)}</sub>"]
    return "\n".join(lines)
