"""One single-shot Messages request per file, as a Message Batches request.

Every request is laid out shared-first for prompt caching (`caching.py`): the system block
(the kind's prompt and the job's instructions, the same for every request), then the context
the file's directory shares (kinds that have one: `message_parts`), then the file's own part;
breakpoints (1-hour TTL) only where the prefix reaches the model's minimum cacheable length
and enough requests of the submission read it (`expect`). The answer is constrained by the
kind's JSON schema. No request declares tools: a batch request cannot run one.

Serialization is the hot path of a large first run: the shared head is encoded once, each
file's message is encoded once (orjson, straight to UTF-8 bytes) and spliced in; a group's
shared context, the same block for every file of the group, is encoded once per group.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import Any, NamedTuple

import orjson

from ci_reviewer.batch.caching import Breakpoint, CacheLayout, MessageParts
from ci_reviewer.batch.collect import SourceFile
from ci_reviewer.batch.jobs.base import BatchJobKind
from ci_reviewer.batch.manifest import ManifestEntry, custom_id_of, id_prefix
from ci_reviewer.config import BATCH_TOOLS_REASON, JobConfig
from ci_reviewer.errors import UsageError

_OPEN = b'{"custom_id":"'
_CLOSE = b"}]}}"


class BatchRequest(NamedTuple):
    """A request ready to send, and what its custom_id stands for (kept as plain fields:
    one of these is built per file, and a manifest entry only when the state needs it)."""

    custom_id: str
    path: str
    content_hash: str
    attempt: int
    line: bytes  # `{"custom_id": ..., "params": ...}` as one JSON line, without newline
    cache: tuple[Breakpoint, ...] = ()  # its cached prefixes, for the estimate

    @property
    def size(self) -> int:
        return len(self.line)

    @property
    def entry(self) -> ManifestEntry:
        return ManifestEntry(path=self.path, content_hash=self.content_hash, attempt=self.attempt)


class PlannedRequest(NamedTuple):
    """A request as planning needs it: its custom_id, what the id stands for, and the exact
    size of its line. The line itself is built again when its batch is sent."""

    custom_id: str
    path: str
    content_hash: str
    attempt: int
    size: int
    cache: tuple[Breakpoint, ...] = ()


def refuse_tools(job_name: str, job: JobConfig) -> None:
    """A job that would need tools cannot run: say why (exit 2). A job with `api: sync`
    runs: its single-shot requests go to the synchronous Messages API instead."""
    if job.tools:
        raise UsageError(
            f"job {job_name!r} declares tools: {BATCH_TOOLS_REASON}",
            hint="remove `tools` from the job, or run the work synchronously "
            "(`ci-reviewer review` for pull requests)",
        )


class RequestBuilder:
    """Builds the requests of one job; the shared prefix is encoded once."""

    def __init__(self, kind: BatchJobKind, job: JobConfig, model: str) -> None:
        self.kind = kind
        self._prefix = id_prefix(kind.prefix)
        self._job = job
        self._model = model
        self._system = kind.system_prompt(job)
        self._frame_with(CacheLayout.of(model, self._system))

    def expect(self, members: Mapping[str, Collection[str]]) -> None:
        """Lay the requests out for a submission whose groups send these files
        (`caching.group_of` -> paths): a prefix is marked only where enough of them read
        it. A request built again when its batch is sent must see the same files."""
        self._frame_with(self.layout.expect(members))

    def _frame_with(self, layout: CacheLayout) -> None:
        self.layout = layout
        # The last group's shared block and its encoding (the layout decides its marks).
        self._shared: tuple[dict[str, Any], bytes] | None = None
        head = orjson.dumps(
            {
                "model": self._model,
                "max_tokens": self._job.max_tokens,
                "system": layout.system_blocks(self._system),
                "output_config": {
                    "format": {"type": "json_schema", "schema": dict(self.kind.output_schema())}
                },
            }
        )
        # Everything between the custom_id and the user message, without re-encoding per file.
        self._middle = head[:-1] + b',"messages":[{"role":"user","content":'
        self._middle = b'","params":' + self._middle
        self._frame = len(_OPEN) + len(self._middle) + len(_CLOSE)

    def build(self, source: SourceFile, attempt: int = 1) -> BatchRequest:
        cid = custom_id_of(self._prefix, source.path, source.blob_sha, attempt)
        content, marks = self._content(source)
        line = b"".join((_OPEN, cid.encode(), self._middle, *content, _CLOSE))
        return BatchRequest(cid, source.path, source.blob_sha, attempt, line, marks)

    def plan(self, source: SourceFile, attempt: int = 1) -> PlannedRequest:
        """`build`, without joining the line: its size is all planning needs."""
        cid = custom_id_of(self._prefix, source.path, source.blob_sha, attempt)
        content, marks = self._content(source)
        size = self._frame + len(cid) + sum(map(len, content))
        return PlannedRequest(cid, source.path, source.blob_sha, attempt, size, marks)

    def _content(self, source: SourceFile) -> tuple[tuple[bytes, ...], tuple[Breakpoint, ...]]:
        """The message content's JSON, as pieces that join into it, and the breakpoints."""
        split = getattr(self.kind, "message_parts", None)
        parts = split(source) if split else MessageParts("", "", self.kind.user_message(source))
        content, marks = self.layout.content(parts)
        try:
            if isinstance(content, list) and len(content) == 2:
                # [shared, own]: orjson writes a list as "[" a "," b "]", so the shared
                # block's encoding (tens of KB, the same for every file of the group) is
                # spliced in, and only the file's own block is encoded per file.
                return (b"[", self._shared_block(content[0]), b",", _json(content[1]), b"]"), marks
            return (_json(content),), marks
        except orjson.JSONEncodeError:
            # A lone surrogate (an undecodable name in a kind's context): escaped, not dropped.
            return (json.dumps(content).encode(),), marks

    def _shared_block(self, block: dict[str, Any]) -> bytes:
        if self._shared is None or self._shared[0] != block:
            self._shared = (block, _json(block))
        return self._shared[1]


_json = orjson.dumps
