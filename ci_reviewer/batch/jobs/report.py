"""The `report` kind in its simplest form: a short digest of each file, written as one
Markdown file per collection run. It proves the pipeline; richer delivery (issues, PRs,
SARIF) plugs in through the same interface."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs.account import (
    failures_table,
    noise_line,
    retried_table,
    withheld_line,
)
from ci_reviewer.batch.jobs.base import (
    Accepted,
    Collection,
    Published,
    Rejected,
    structured_output,
    with_instructions,
)
from ci_reviewer.batch.jobs.context import (
    RunAccount,
    UsageLedger,
)
from ci_reviewer.batch.manifest import ManifestEntry
from ci_reviewer.config import JobConfig
from ci_reviewer.github.publish_issue import IssueDraft, IssuePublisher
from ci_reviewer.structured import sendable_schema

SYSTEM = (
    "You write concise technical reports about source files for the maintainers of a "
    "repository. For the file you are given, summarise what it does in one or two sentences "
    "and list notable points (risks, debt, missing tests), each with a severity."
)

CONSTRAINTS: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "notes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "severity": {"type": "string", "enum": ["info", "low", "medium", "high"]},
                    "text": {"type": "string"},
                },
                "required": ["severity", "text"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["summary", "notes"],
    "additionalProperties": False,
}
SCHEMA: dict[str, Any] = sendable_schema(CONSTRAINTS)


@dataclass(frozen=True)
class FileDigest:
    path: str
    summary: str
    notes: tuple[tuple[str, str], ...]


class ReportKind:
    """Digest per file; `publish` opens (or, on a replay, edits) the collection's issue, or
    with no issue publisher writes `<output_dir>/<job>-<collection_id>.md`."""

    prefix = "report"

    def __init__(
        self,
        output_dir: Path,
        issues: IssuePublisher | None = None,
        job: tuple[str, JobConfig] | None = None,
    ) -> None:
        self.output_dir = output_dir
        self.issues = issues
        self.job = job
        self.ledger = UsageLedger()

    def system_prompt(self, job: JobConfig) -> str:
        return with_instructions(SYSTEM, job)

    def output_schema(self) -> Mapping[str, Any]:
        return SCHEMA

    def skip_reason(self, source: SourceFile) -> str | None:
        return None  # every collected file is asked about

    def user_message(self, source: SourceFile) -> str:
        return f"File: {source.path}\n\n<file>\n{source.text}\n</file>"

    def withheld_context(self) -> tuple[tuple[str, str], ...]:
        return ()  # the file alone: no context to withhold

    def accept(
        self, custom_id: str, entry: ManifestEntry, message: Mapping[str, Any]
    ) -> Accepted | Rejected:
        self.ledger.record(message)
        value = structured_output(message)
        if isinstance(value, Rejected):
            return value
        notes = tuple(
            (str(note.get("severity", "info")), str(note.get("text", "")))
            for note in value.get("notes") or ()
            if isinstance(note, dict)  # decoded JSON: a dict check is far cheaper than Mapping
        )
        digest = FileDigest(entry.path, str(value.get("summary", "")), notes)
        return Accepted(custom_id, entry, digest)

    def publish(self, collection: Collection) -> Published | None:
        if not (collection.accepted or collection.failures):
            return None
        if self.issues is not None:
            return self._publish_issue(self.issues, collection)
        self.output_dir.mkdir(parents=True, exist_ok=True)
        target = self.output_dir / f"{collection.job}-{collection.collection_id}.md"
        target.write_text(render(collection), encoding="utf-8")
        return Published(str(target), f"{len(collection.accepted)} file(s) reported")

    def _publish_issue(self, issues: IssuePublisher, collection: Collection) -> Published:
        name, job = self.job or (collection.job, None)
        account = RunAccount(
            "a short report of what the file does and its notable risks",
            job.instructions if job else "",
            collection,
            self.ledger,
        ).markdown()
        body = "\n".join([*account, "", render(collection)])
        labels = job.labels if job else ()
        title = f"ci-reviewer {name}: report of {len(collection.accepted)} file(s)"
        issue = issues.publish(IssueDraft(name, collection.collection_id, title, body, labels))
        verb = "opened" if issue.created else "updated"
        return Published(issue.url, f"issue #{issue.number} {verb}")


def render(collection: Collection) -> str:
    lines = [f"# Report: {collection.job}", ""]
    digests = sorted(
        (a.payload for a in collection.accepted if isinstance(a.payload, FileDigest)),
        key=lambda d: d.path,
    )
    for digest in digests:
        lines += [f"## `{digest.path}`", "", digest.summary or "(no summary)", ""]
        lines += [f"- **{severity}**: {text}" for severity, text in digest.notes]
        if digest.notes:
            lines.append("")
    if collection.withheld:
        lines += [withheld_line(collection.withheld), ""]
    if collection.noise:
        lines += [noise_line(collection.noise), ""]
    lines += failures_table(collection, "## Not reported")
    lines += retried_table(collection, "## Reported on the next run")
    return "\n".join(lines).rstrip() + "\n"
