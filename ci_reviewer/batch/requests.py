"""One single-shot Messages request per file, as a Message Batches request.

Every request of a job starts with the same system block (the kind's prompt and the job's
instructions), marked for caching with the 1-hour TTL: batches run for hours, so the 5-minute
default would expire between requests. The answer is constrained by the kind's JSON schema.
No request declares tools: a batch request cannot run one.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs.base import BatchJobKind
from ci_reviewer.batch.manifest import ManifestEntry, custom_id
from ci_reviewer.config import BATCH_TOOLS_REASON, JobConfig
from ci_reviewer.errors import UsageError

CACHE_1H = {"type": "ephemeral", "ttl": "1h"}


@dataclass(frozen=True)
class BatchRequest:
    """A request ready to serialize, and the manifest entry its custom_id stands for."""

    custom_id: str
    entry: ManifestEntry
    line: bytes  # `{"custom_id": ..., "params": ...}` as one JSON line, without newline


def refuse_tools(job_name: str, job: JobConfig) -> None:
    """A batch job that would need tools cannot run: say why (exit 2)."""
    if job.tools:
        raise UsageError(
            f"job {job_name!r} declares tools: {BATCH_TOOLS_REASON}",
            hint="remove `tools` from the job, or run the work synchronously "
            "(`ci-reviewer review` for pull requests)",
        )
    if job.api != "batch":
        raise UsageError(
            f"job {job_name!r} has api: {job.api}; `ci-reviewer batch` runs only batch jobs",
            hint="set `api: batch` for this job",
        )


class RequestBuilder:
    """Builds the requests of one job; the shared prefix is encoded once."""

    def __init__(self, kind: BatchJobKind, job: JobConfig, model: str) -> None:
        self.kind = kind
        self._head = json.dumps(
            {
                "model": model,
                "max_tokens": job.max_tokens,
                "system": [
                    {"type": "text", "text": kind.system_prompt(job), "cache_control": CACHE_1H}
                ],
                "output_config": {
                    "format": {"type": "json_schema", "schema": dict(kind.output_schema())}
                },
            },
            ensure_ascii=False,
        )[:-1]

    def build(self, source: SourceFile, attempt: int = 1) -> BatchRequest:
        entry = ManifestEntry(path=source.path, content_hash=source.blob_sha, attempt=attempt)
        cid = custom_id(self.kind.prefix, entry)
        messages = json.dumps(
            [{"role": "user", "content": self.kind.user_message(source)}], ensure_ascii=False
        )
        # The shared head is spliced in rather than re-encoded for every file.
        line = f'{{"custom_id": "{cid}", "params": {self._head}, "messages": {messages}}}}}'
        return BatchRequest(cid, entry, line.encode("utf-8"))


def params_of(line: bytes) -> Mapping[str, Any]:
    """The params of a serialized request (for estimates and inspection)."""
    value: Mapping[str, Any] = json.loads(line)["params"]
    return value
