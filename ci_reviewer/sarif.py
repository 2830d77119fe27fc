"""SARIF 2.1.0, the format GitHub code scanning reads: one run, one rule per category, one
result per finding. Generic over anything shaped like a finding (the review's findings and
the security audit's), so both publish the same way."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol

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
    items = list(findings)
    categories = sorted({finding.category for finding in items})
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
                "results": [_result(finding, index) for finding in items],
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
