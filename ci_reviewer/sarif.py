"""SARIF 2.1.0, the format GitHub code scanning reads: one run, one rule per category, one
result per finding. Generic over anything shaped like a finding (the review's findings and
the security audit's), so both publish the same way.

A large audit's log (tens of thousands of results) is written with `write_sarif`, one result
at a time: held as dicts it took several times the memory of the findings themselves."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, BinaryIO, Protocol

import orjson

from ci_reviewer import __version__

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
# GitHub ranks code-scanning alerts by this CVSS-like score (critical >= 9, high >= 7, ...).
_SECURITY_SEVERITY = {
    "critical": "9.5",
    "high": "8.0",
    "medium": "5.5",
    "low": "3.0",
    "info": "1.0",
}


class SarifFinding(Protocol):
    @property
    def path(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def end_line(self) -> int | None: ...
    @property
    def severity(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def fingerprint(self) -> str: ...


def rule_id(category: str) -> str:
    return f"ci-reviewer/{category or 'general'}"


def to_sarif(findings: Iterable[SarifFinding], *, tool_name: str = "ci-reviewer") -> dict[str, Any]:
    """The SARIF log (a JSON-ready dict) for `findings`."""
    log = streamed_sarif(list(findings), tool_name=tool_name)
    run = log["runs"][0]
    run["results"] = list(run["results"])
    return log


def streamed_sarif(
    findings: Sequence[SarifFinding], *, tool_name: str = "ci-reviewer"
) -> dict[str, Any]:
    """`to_sarif`, with the run's results an iterator that makes each one as it is taken
    (for `write_sarif`)."""
    categories = sorted({finding.category for finding in findings})
    rules = [
        {
            "id": rule_id(category),
            "name": category.title().replace("-", ""),
            "shortDescription": {"text": f"{category} finding reported by Claude"},
        }
        for category in categories
    ]
    index = {rule_id(category): number for number, category in enumerate(categories)}
    return {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": tool_name,
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "results": (_result(finding, index) for finding in findings),
            }
        ],
    }


def _result(finding: SarifFinding, index: dict[str, int]) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": max(1, finding.line)}
    if finding.end_line and finding.end_line > finding.line:
        region["endLine"] = finding.end_line
    rule = rule_id(finding.category)
    text = f"{finding.title}\n\n{finding.body}".strip()
    return {
        "ruleId": rule,
        "ruleIndex": index[rule],
        "level": _LEVELS.get(finding.severity, "warning"),
        "message": {"text": text},
        "locations": [
            {
                "physicalLocation": {
                    "artifactLocation": {"uri": finding.path, "uriBaseId": "%SRCROOT%"},
                    "region": region,
                }
            }
        ],
        "partialFingerprints": {"ciReviewer/v1": finding.fingerprint},
        "properties": {
            "severity": finding.severity,
            "security-severity": _SECURITY_SEVERITY.get(finding.severity, "5.5"),
        },
    }


_SLOT = "\0ci-reviewer: the results go here\0"
_INDENT = orjson.OPT_INDENT_2


def write_sarif(log: dict[str, Any], sink: BinaryIO) -> None:
    """Write `log` (from `streamed_sarif`) to `sink` as `orjson.dumps(log, option=
    OPT_INDENT_2)` followed by a newline would, byte for byte, the results of its run encoded
    one at a time as the iterator yields them (JSON text holds no raw newline inside a string,
    so each result's lines only need the indent of the place it goes)."""
    run = log["runs"][0]
    results: Iterator[dict[str, Any]] = iter(run["results"])
    first = next(results, None)
    if first is None:  # written whole: orjson writes an empty list as []
        run["results"] = []
        sink.write(orjson.dumps(log, option=_INDENT) + b"\n")
        return
    run["results"] = [_SLOT]
    try:
        frame = orjson.dumps(log, option=_INDENT)
    finally:
        run["results"] = results
    # The results are the log's last value, so the slot is the last string in the frame.
    at = frame.rindex(orjson.dumps(_SLOT))
    start = frame.rindex(b"\n", 0, at) + 1
    indent = frame[start:at]
    newline = b"\n" + indent
    sink.write(frame[:start])
    sink.write(indent + orjson.dumps(first, option=_INDENT).replace(b"\n", newline))
    for result in results:
        sink.write(b"," + newline)
        sink.write(orjson.dumps(result, option=_INDENT).replace(b"\n", newline))
    sink.write(frame[at + len(orjson.dumps(_SLOT)) :] + b"\n")
