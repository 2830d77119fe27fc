"""The `security-audit` kind: findings per file (with the local modules it imports as
context), published as one issue per collection run grouped by severity, or as SARIF 2.1.0
for code scanning (`output: sarif`).

Each finding carries a fingerprint (path, CWE and title, not the line, which moves as code
is edited) so a later audit links a finding still open in an earlier issue instead of
repeating it.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ci_reviewer.batch.caching import MessageParts
from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs import repair
from ci_reviewer.batch.jobs.account import failures_table, retried_table, table_cell
from ci_reviewer.batch.jobs.base import (
    Accepted,
    Collection,
    Published,
    Rejected,
    structured_output,
    with_instructions,
)
from ci_reviewer.batch.jobs.context import (
    RepositoryContext,
    RunAccount,
    UsageLedger,
)
from ci_reviewer.batch.jobs.numbering import numbered as _numbered
from ci_reviewer.batch.jobs.package_context import PackageContext
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.config import JobConfig
from ci_reviewer.github.markers import fingerprint_marker
from ci_reviewer.github.publish_issue import (
    EarlierFinding,
    IssueDraft,
    IssuePublisher,
)
from ci_reviewer.sarif import rule_id, streamed_sarif, to_sarif, write_sarif
from ci_reviewer.secret_policy import SecretPolicy
from ci_reviewer.structured import sendable_schema

SEVERITIES = ("critical", "high", "medium", "low", "info")
FINDING_FIELDS = (
    "path",
    "line",
    "severity",
    "cwe",
    "title",
    "description",
    "recommendation",
    "confidence",
)
SYSTEM = (
    "You are a security auditor. Report only real, exploitable weaknesses in the file you "
    "are given (the modules it imports are shown for context; report on them only where the "
    "given file makes them exploitable). For each finding give the path and line, a severity, "
    "the CWE identifier (CWE-<number>), a short title, what is wrong, how to fix it, and your "
    "confidence. Report nothing rather than guess: an empty list is a good answer."
)
# The whole contract of an answer; `SCHEMA` (what is sent) has the bounds the API cannot
# enforce moved into descriptions, and `_AuditAnswer` enforces every one of them.
CONSTRAINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "findings": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string", "description": "the audited file's path"},
                    "line": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "the line the weakness is on (0: the whole file)",
                    },
                    "severity": {"type": "string", "enum": list(SEVERITIES)},
                    "cwe": {
                        "type": "string",
                        "pattern": "^CWE-[0-9]+$",
                        "description": "the CWE identifier, written CWE-<number>, e.g. CWE-89",
                    },
                    "title": {
                        "type": "string",
                        "minLength": 1,
                        "description": "a short title, never empty",
                    },
                    "description": {"type": "string"},
                    "recommendation": {"type": "string"},
                    "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
                },
                "required": list(FINDING_FIELDS),
                "additionalProperties": False,
            },
        }
    },
    "required": ["findings"],
    "additionalProperties": False,
}
SCHEMA: dict[str, Any] = sendable_schema(CONSTRAINTS)


class _FindingAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    line: int = Field(ge=0)
    severity: Literal["critical", "high", "medium", "low", "info"]
    cwe: str = Field(pattern=r"^CWE-[0-9]+$")
    title: str = Field(min_length=1)
    description: str
    recommendation: str
    confidence: Literal["low", "medium", "high"]


class _AuditAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    findings: list[_FindingAnswer]


@dataclass(frozen=True, slots=True)
class AuditFinding:
    """One finding; shaped as `sarif.SarifFinding` so the generic SARIF writer takes it.
    Slotted, with its fingerprint hashed once when it is made (deduplication, SARIF and
    the issue each ask for it): a large audit holds ~300,000 until it publishes."""

    path: str
    line: int
    severity: str
    cwe: str
    title: str
    description: str
    recommendation: str
    confidence: str
    fingerprint: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        title = " ".join(self.title.lower().split())
        key = f"{self.path}\0{self.cwe}\0{title}"
        object.__setattr__(self, "fingerprint", hashlib.sha256(key.encode()).hexdigest()[:16])

    @property
    def end_line(self) -> int | None:
        return None

    @property
    def category(self) -> str:
        return self.cwe

    @property
    def body(self) -> str:
        return f"{self.description}\n\nRecommendation: {self.recommendation}".strip()


class SecurityAuditKind:
    """Findings per file; `publish` writes the run's issue, or a SARIF file."""

    prefix = "audit"

    def __init__(
        self,
        name: str,
        job: JobConfig,
        workdir: Path,
        issues: IssuePublisher | None,
        sarif_path: Path | None = None,
        *,
        policy: SecretPolicy | None = None,
    ) -> None:
        self.name = name
        self.job = job
        self.workdir = workdir
        self.issues = issues
        self.sarif_path = sarif_path or workdir / f"ci-reviewer-{name}.sarif"
        self.repository = RepositoryContext(workdir, policy)
        self.package = PackageContext(self.repository)
        self.ledger = UsageLedger()
        # custom_id -> why each of its dropped findings was dropped (a replayed result
        # replaces its entry, so nothing is counted twice)
        self.dropped: dict[str, tuple[str, ...]] = {}

    def system_prompt(self, job: JobConfig) -> str:
        return with_instructions(SYSTEM, job)

    def output_schema(self) -> Mapping[str, Any]:
        return SCHEMA

    def skip_reason(self, source: SourceFile) -> str | None:
        return None  # every collected file is asked about

    def user_message(self, source: SourceFile) -> str:
        return self.message_parts(source).joined()

    def message_parts(self, source: SourceFile) -> MessageParts:
        """The message, with the context its directory shares first (one cached prefix)."""
        return self.package.message_parts(
            source.path, source.text, lambda skip: self._own(source, skip)
        )

    def _own(self, source: SourceFile, skip: frozenset[str]) -> str:
        lines = [f"Audit {source.path}.", "", f'<file path="{source.path}">']
        lines += [_numbered(source.text), "</file>"]
        for imported in self.repository.imports_of(source.path, source.text, skip):
            cut = " (cut)" if imported.truncated else ""
            lines += ["", f'<imported path="{imported.path}"{cut}>\n{imported.text}\n</imported>']
        return "\n".join(lines)

    def withheld_context(self) -> tuple[tuple[str, str], ...]:
        return self.repository.take_withheld()

    def accept(
        self, custom_id: str, entry: ManifestEntry, message: Mapping[str, Any]
    ) -> Accepted | Rejected:
        """The file's findings. A finding that breaks the schema after repair
        (`repair.finding`) is dropped alone and counted; the others are kept."""
        self.ledger.record(message)
        value = structured_output(message)
        if isinstance(value, Rejected):
            return value
        raw = value.get("findings")
        if not isinstance(raw, list) or set(value) != {"findings"}:
            return Rejected("the answer does not match the output schema (findings: a list)")
        kept: list[AuditFinding] = []
        dropped: list[str] = []
        for number, item in enumerate(raw):
            if _as_promised(item):
                kept.append(self._finding(item, entry.path))
                continue
            try:
                f = _FindingAnswer.model_validate(repair.finding(item))
            except ValidationError as error:
                dropped.append(f"{entry.path}: finding {number + 1}, {_problem(error)}")
                continue
            kept.append(self._finding(f.model_dump(), entry.path))
        self.dropped[custom_id] = tuple(dropped)
        return Accepted(custom_id, entry, tuple(kept))

    def _finding(self, f: Mapping[str, Any], audited: str) -> AuditFinding:
        """`f`, a finding as the schema promises it, as published. Its few-valued words are
        interned: each decoded answer makes its own copies, held by every finding till the
        end (~50 MB over 300,000 findings)."""
        return AuditFinding(
            path=self._finding_path(f["path"], audited),
            line=max(1, f["line"]),
            severity=sys.intern(f["severity"]),
            cwe=sys.intern(f["cwe"]),
            title=f["title"].strip(),
            description=f["description"].strip(),
            recommendation=f["recommendation"].strip(),
            confidence=sys.intern(f["confidence"]),
        )

    def _finding_path(self, proposed: str, audited: str) -> str:
        """The model's path when it names a tracked file, else the audited file's."""
        clean = proposed.strip().lstrip("./")
        if not clean or "//" in clean or "/." in clean or clean.endswith("/"):
            # Only these have a `.` part, a doubled or trailing slash for PurePosixPath to
            # take out (it is ~15 us a finding, so the plain paths skip it).
            clean = PurePosixPath(clean).as_posix()
        return clean if clean in self.repository.index.paths else audited

    def publish(self, collection: Collection) -> Published | None:
        if not (collection.accepted or collection.failures):
            return None
        published = self._publish(collection)
        dropped = [r for a in collection.accepted for r in self.dropped.get(a.custom_id, ())]
        if not dropped:
            return published
        return replace(published, warnings=(*published.warnings, dropped_line(dropped)))

    def _publish(self, collection: Collection) -> Published:
        findings = _unique(
            f for a in collection.accepted if isinstance(a.payload, tuple) for f in a.payload
        )
        if self.job.effective_output == "sarif":
            return self._write_sarif(findings)
        if self.issues is None:
            raise ValueError("a security audit published as an issue needs an IssuePublisher")
        earlier = self.issues.open_fingerprints(self.name, collection.collection_id)
        fresh = [f for f in findings if f.fingerprint not in earlier]
        known = [(f, earlier[f.fingerprint]) for f in findings if f.fingerprint in earlier]
        if not fresh and not collection.failures:
            if not findings:
                return Published("", "no findings: no issue opened")
            return Published("", f"{len(findings)} finding(s), all already open: no new issue")
        dropped = [r for a in collection.accepted for r in self.dropped.get(a.custom_id, ())]
        body = render_issue(
            self.name,
            self.job,
            collection,
            fresh=fresh,
            known=known,
            ledger=self.ledger,
            dropped=dropped,
        )
        title = f"ci-reviewer {self.name}: {len(fresh)} security finding(s)"
        draft = IssueDraft(self.name, collection.collection_id, title, body, self.job.labels)
        issue = self.issues.publish(draft)
        verb = "opened" if issue.created else "updated"
        return Published(issue.url, f"issue #{issue.number} {verb}: {len(fresh)} new finding(s)")

    def _write_sarif(self, findings: list[AuditFinding]) -> Published:
        self.sarif_path.parent.mkdir(parents=True, exist_ok=True)
        # orjson, one result at a time (`write_sarif`): `json.dumps` with an indent falls
        # back to its pure-Python encoder, which took over half of collecting a large audit,
        # and the whole log held as dicts was most of its peak memory. UTF-8, indented.
        log = _security_rules(streamed_sarif(findings, tool_name=_TOOL))
        with self.sarif_path.open("wb", buffering=_SARIF_BUFFER) as sink:
            write_sarif(log, sink)
        return Published(str(self.sarif_path), f"{len(findings)} finding(s) in SARIF")


_TOOL = "ci-reviewer security audit"
_SARIF_BUFFER = 1 << 20


def sarif_log(findings: list[AuditFinding]) -> dict[str, Any]:
    """The generic SARIF log, with what code scanning reads for security rules: the CWE as
    an `external/cwe/cwe-N` tag, and `security` on every rule."""
    return _security_rules(to_sarif(findings, tool_name=_TOOL))


def _security_rules(log: dict[str, Any]) -> dict[str, Any]:
    for rule in log["runs"][0]["tool"]["driver"]["rules"]:
        cwe = rule["id"].removeprefix(rule_id("").removesuffix("general"))
        number = cwe.removeprefix("CWE-")
        rule["properties"] = {"tags": ["security", f"external/cwe/cwe-{number}"]}
        rule["helpUri"] = f"https://cwe.mitre.org/data/definitions/{number}.html"
    return log


_FIELD_NAMES = frozenset(FINDING_FIELDS)
_SEVERITY_NAMES = frozenset(SEVERITIES)
_CONFIDENCES = frozenset(("low", "medium", "high"))


def _as_promised(item: Any) -> bool:
    """Whether `item` is a finding exactly as the schema promises it, which `repair.finding`
    leaves unchanged and `_FindingAnswer` accepts as it is: plain checks on the decoded JSON,
    a tenth of the cost of a repair and a validation, and what nearly every answer is. Any
    other finding takes that path, which also words why it is dropped."""
    if type(item) is not dict or item.keys() != _FIELD_NAMES:
        return False
    line, cwe, title = item["line"], item["cwe"], item["title"]
    severity, confidence = item["severity"], item["confidence"]
    digits = cwe[4:] if type(cwe) is str and cwe.startswith("CWE-") else ""
    return (
        type(line) is int  # not a bool, nor a float
        and 0 <= line < 1 << 63
        and digits.isdigit()
        and digits.isascii()
        and (digits[0] != "0" or digits == "0")  # repair writes CWE-089 as CWE-89
        and type(title) is str
        and title.strip() != ""  # repair derives a blank title from the description
        and type(severity) is str
        and severity in _SEVERITY_NAMES  # lower case, unpadded: as repair writes it
        and type(confidence) is str
        and confidence in _CONFIDENCES
        and type(item["path"]) is str
        and type(item["description"]) is str
        and type(item["recommendation"]) is str
    )


def _problem(error: ValidationError) -> str:
    problem = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"]) or "finding"
    return f"{where}: {problem['msg']}"


def dropped_line(reasons: Sequence[str]) -> str:
    """How many findings were dropped for breaking the schema, and why (bounded)."""
    shown = "; ".join(reasons[:5]) + (f"; and {len(reasons) - 5} more" if len(reasons) > 5 else "")
    return f"{len(reasons)} finding(s) dropped (the answer broke the output schema): {shown}"


def _unique(findings: Any) -> list[AuditFinding]:
    by_print: dict[str, AuditFinding] = {}
    for finding in findings:
        by_print.setdefault(finding.fingerprint, finding)
    order = {severity: rank for rank, severity in enumerate(SEVERITIES)}
    return sorted(by_print.values(), key=lambda f: (order[f.severity], f.path, f.line))


def audited_table(collection: Collection) -> list[str]:
    """Every file this collection audited, with how many findings it holds (last: cut first
    when the body passes GitHub's limit)."""
    counts = {
        a.entry.path: len(a.payload) for a in collection.accepted if isinstance(a.payload, tuple)
    }
    if not counts:
        return []
    lines = ["### Audited files", "", "| file | findings |", "|---|---|"]
    lines += [f"| `{path}` | {counts[path] or 'none'} |" for path in sorted(counts)]
    return [*lines, ""]


def render_issue(
    name: str,
    job: JobConfig,
    collection: Collection,
    *,
    fresh: list[AuditFinding],
    known: list[tuple[AuditFinding, EarlierFinding]],
    ledger: UsageLedger,
    dropped: Sequence[str] = (),
) -> str:
    asked = "security findings (path, line, severity, CWE, recommendation, confidence)"
    lines = [f"## Security audit: {name}", ""]
    lines += RunAccount(asked, job.instructions, collection, ledger).markdown()
    if dropped:
        lines.append(f"**Dropped:** {table_cell(dropped_line(dropped), 1500)}  ")
    lines.append("")
    if not fresh:
        lines += ["No new findings.", ""]
    for severity in SEVERITIES:
        group = [f for f in fresh if f.severity == severity]
        if not group:
            continue
        lines += [f"### {severity.title()} ({len(group)})", ""]
        for f in group:
            lines += [
                f"- **{table_cell(f.title)}** `{f.path}:{f.line}` ({f.cwe}, "
                f"{f.confidence} confidence) {fingerprint_marker(f.fingerprint)}",
                f"  {table_cell(f.description, 1000)}",
                f"  *Fix:* {table_cell(f.recommendation, 1000)}",
            ]
        lines.append("")
    if known:
        lines += ["### Still open from earlier audits", ""]
        lines += [
            f"- {table_cell(f.title)} `{f.path}`: see #{where.issue_number}" for f, where in known
        ]
        lines.append("")
    lines += failures_table(collection, "### Not audited")
    lines += retried_table(collection, "### Audited again on the next run")
    lines += audited_table(collection)
    return "\n".join(lines).rstrip() + "\n"
